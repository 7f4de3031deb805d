#pragma once

#include "scenario.h"
#include "speedupseries.h"

#include <cstdint>

namespace poolscope {

class EventLog;

// The article's CPU-bound pool: is_prime over four numbers near ten million with pool.map on one
// worker per CPU, timed; then the same map over a larger input on pools of 1..N workers, so that
// the speedup that processes buy is measured rather than claimed.
class PrimeTestingScenario : public Scenario
{
public:
    // The speedup series' input: kSeriesCount odd numbers from kSeriesFirst, large enough that
    // the division loops, not the messages, dominate (about 0.25 s of work on one core).
    static constexpr std::int64_t kSeriesFirst = 1'000'000'000'001;
    static constexpr std::int64_t kSeriesCount = 1'000;

    std::string id() const override { return "prime-testing"; }
    std::string title() const override
    {
        return "Pool.map on CPU-bound work: prime tests and the speedup per worker";
    }
    std::vector<ParameterSpec> parameters() const override;
    void run(ScenarioRun& run) const override;

    // The speedup series of a run of this scenario, from its event log (what a plot shows):
    // one point per pool size, in the order they ran.
    static SpeedupSeries speedupSeries(const EventLog& log);
};

} // namespace poolscope
