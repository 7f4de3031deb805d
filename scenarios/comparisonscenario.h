#pragma once

#include "scenario.h"

namespace poolscope {

// The article's two summary tables, measured: the start methods (start-up of a Pool(2) under
// each, and whose child a worker is) and the pool APIs (map, imap, imap_unordered, apply,
// apply_async on one workload: when the call returned, when results arrived, in what order).
class ComparisonScenario : public Scenario
{
public:
    std::string id() const override { return "comparison"; }
    std::string title() const override
    {
        return "Comparison: start methods and pool APIs, measured instead of described";
    }
    std::vector<ParameterSpec> parameters() const override;
    void run(ScenarioRun& run) const override;
};

} // namespace poolscope
