#pragma once

#include "scenario.h"

namespace poolscope {

// The article's first pool: squares of [1, 2, 3, 4, 5] with pool.map on one worker per CPU.
class PoolMapScenario : public Scenario
{
public:
    std::string id() const override { return "pool-map"; }
    std::string title() const override { return "Pool.map: the squares of 1..5"; }
    std::vector<ParameterSpec> parameters() const override;
    void run(ScenarioRun& run) const override;
};

} // namespace poolscope
