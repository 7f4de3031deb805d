#pragma once

#include "scenario.h"

namespace poolscope {

// The article's apply_async with callbacks: work(x) for x in 0..7 on Pool(3), each sleeping a
// second, 5 raising ValueError("boom"); callback and error_callback print as results arrive.
// Then two pitfalls: a failure nobody asks about is lost silently, and a callback that raises.
class CallbacksScenario : public Scenario
{
public:
    std::string id() const override { return "callbacks"; }
    std::string title() const override
    {
        return "apply_async callbacks: results as they arrive, one error, two pitfalls";
    }
    std::vector<ParameterSpec> parameters() const override;
    void run(ScenarioRun& run) const override;

private:
    void articleExample(ScenarioRun& run, int workers) const;
    void lostErrorPitfall(ScenarioRun& run, int workers) const;
    void raisingCallbackPitfall(ScenarioRun& run, int workers) const;
};

} // namespace poolscope
