#pragma once

#include "scenario.h"

namespace poolscope {

// The article's note on chunksize made measurable: the same imap_unordered workload with
// chunksize 1, map's default and one chunk per worker, once with ten thousand tiny tasks (the
// messages are the cost) and once with one long task among short ones (the balance is).
class ChunksizeScenario : public Scenario
{
public:
    std::string id() const override { return "chunksize"; }
    std::string title() const override
    {
        return "chunksize: messages, first result and total time for 1, the default and large";
    }
    std::vector<ParameterSpec> parameters() const override;
    void run(ScenarioRun& run) const override;
};

} // namespace poolscope
