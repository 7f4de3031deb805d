#pragma once

#include "scenario.h"

#include <cstdint>
#include <memory>

namespace poolscope {

class AsyncResult;
class Pool;

// The article's Pool.apply_async: a 2-second square(5) in the background, collected three ways:
// get() (blocks), a ready() polling loop (never blocks), and wait() followed by get().
class ApplyAsyncScenario : public Scenario
{
public:
    std::string id() const override { return "apply-async"; }
    std::string title() const override
    {
        return "Pool.apply_async: get(), a ready() loop, wait() then get()";
    }
    std::vector<ParameterSpec> parameters() const override;
    void run(ScenarioRun& run) const override;

private:
    void blockingGet(ScenarioRun& run, Pool& pool) const;
    void pollingLoop(ScenarioRun& run, Pool& pool) const;
    void waitThenGet(ScenarioRun& run, Pool& pool) const;
};

} // namespace poolscope
