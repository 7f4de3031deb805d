#pragma once

#include "scenario.h"

namespace poolscope {

// The article's multiprocessing.Process example: Worker-1 and Worker-2 start, are alive, print
// their pids, sleep a second and exit with 0. Then the other ends of a life: terminate()
// (-15), kill() (-9), and a join() with a timeout that returns while the child still runs.
class ProcessLifecycleScenario : public Scenario
{
public:
    std::string id() const override { return "process-lifecycle"; }
    std::string title() const override
    {
        return "Process lifecycle: start, is_alive, join, exit codes, terminate and kill";
    }
    std::vector<ParameterSpec> parameters() const override;
    void run(ScenarioRun& run) const override;
};

} // namespace poolscope
