#pragma once

#include "scenario.h"

namespace poolscope {

// The article's three start methods: the same tiny task under spawn, fork and forkserver, then
// what the summary table claims, measured: start latency over repeated starts, what a child
// inherits (a global, a descriptor, threads), the fork hazard (a lock held by another thread
// stays held in a fork child), and which targets can be sent at all.
class StartMethodsScenario : public Scenario
{
public:
    std::string id() const override { return "start-methods"; }
    std::string title() const override
    {
        return "Start methods: spawn, fork and forkserver compared";
    }
    std::vector<ParameterSpec> parameters() const override;
    void run(ScenarioRun& run) const override;
};

} // namespace poolscope
