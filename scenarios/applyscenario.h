#pragma once

#include "scenario.h"

namespace poolscope {

// The article's Pool.apply: cube(5) on Pool(3). apply blocks the main process until the worker
// has sent the result back; only then does the program go on.
class ApplyScenario : public Scenario
{
public:
    std::string id() const override { return "apply"; }
    std::string title() const override { return "Pool.apply: cube(5), and the main process waits"; }
    std::vector<ParameterSpec> parameters() const override;
    void run(ScenarioRun& run) const override;
};

} // namespace poolscope
