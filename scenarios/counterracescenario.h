#pragma once

#include "scenario.h"

namespace poolscope {

// The article's first example: a global counter bumped 100,000 times by each of two threads,
// then by each of two processes. Threads share memory (without a lock, updates get lost; with
// one, the count is exact); processes each count in their own copy and the parent sees 0.
class CounterRaceScenario : public Scenario
{
public:
    std::string id() const override { return "counter-race"; }
    std::string title() const override
    {
        return "Threads vs processes: one counter, shared or copied";
    }
    std::vector<ParameterSpec> parameters() const override;
    void run(ScenarioRun& run) const override;
};

} // namespace poolscope
