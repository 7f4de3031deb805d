#include "applyasyncscenario.h"

#include "clock.h"
#include "pool.h"
#include "scenariorun.h"
#include "texttable.h"

#include <charconv>
#include <optional>
#include <string>

namespace poolscope {

namespace {

// The article's square sleeps 2 s: slow_square with its delay range pinned to [2, 2].
constexpr double kTaskSeconds = 2.0;
constexpr double kPollSeconds = 0.5;

std::int64_t scaledNs(const ScenarioRun& run, double seconds)
{
    return std::int64_t(seconds * run.timeScale() * 1e9);
}

// The job's TaskFinished event (the worker's timestamp), if the parent has logged it.
std::optional<Event> taskFinished(const EventLog& log, int job)
{
    for (std::size_t i = 0; i < log.size(); ++i) {
        const Event e = log.at(i);
        if (e.job == job && e.kind == EventKind::TaskFinished)
            return e;
    }
    return std::nullopt;
}

// Did the worker finish the job's task no later than `ns` (the shared CLOCK_MONOTONIC)?
bool finishedBy(const EventLog& log, int job, std::int64_t ns)
{
    const auto f = taskFinished(log, job);
    return f && f->ok && f->tNs <= ns;
}

} // namespace

std::vector<ParameterSpec> ApplyAsyncScenario::parameters() const
{
    using N = ParameterSpec::Name;
    return {
        {N::Workers, 2, 1, 64, "pool size (the article's Pool(2)); one worker does each job"},
        {N::StartMethod, 0, 0, 2, "how the workers start"},
        {N::TimeScale, 1, 0, 10, "multiplies the 2 s task and the 0.5 s polling interval"},
    };
}

void ApplyAsyncScenario::run(ScenarioRun& run) const
{
    const int workers = run.workers();
    run.describeMainCall("slow_square", 1, workers, 1, "apply_async");

    PoolOptions options = run.poolOptions(workers);
    options.taskOptions.delayMin = kTaskSeconds;
    options.taskOptions.delayMax = kTaskSeconds;
    Pool pool(options);
    blockingGet(run, pool);
    if (run.cancelled())
        return;
    pollingLoop(run, pool);
    if (run.cancelled())
        return;
    waitThenGet(run, pool);
    pool.close();
    pool.join();
}

void ApplyAsyncScenario::blockingGet(ScenarioRun& run, Pool& pool) const
{
    run.print("--- get(): blocks until the worker is done ---");
    const std::int64_t calledNs = monotonicNs();
    const auto result = pool.applyAsync("slow_square", {5});
    const std::int64_t returnedNs = monotonicNs();
    run.print("Main keeps running...");
    const std::int64_t getNs = monotonicNs();
    const Value value = result->get();
    const std::int64_t gotNs = monotonicNs();
    run.print("Result: " + value.str());

    run.check(value == Value(25), "get() returned 25", "got " + value.repr());
    run.check(finishedBy(*run.log(), result->job(), gotNs),
              "get() returned only after the worker had finished the task");
    run.note("apply_async returned after " + TextTable::duration(returnedNs - calledNs) +
             "; get() then blocked for " + TextTable::duration(gotNs - getNs) +
             " (the task sleeps " + TextTable::duration(scaledNs(run, kTaskSeconds)) + ")");
}

void ApplyAsyncScenario::pollingLoop(ScenarioRun& run, Pool& pool) const
{
    run.print("--- ready(): poll without blocking ---");
    const std::int64_t submitNs = monotonicNs();
    const auto result = pool.applyAsync("slow_square", {5});
    int notReady = 0;
    std::int64_t trueAnsweredNs = 0; // when the ready() that answered True returned
    for (;;) {
        const bool ready = result->ready();
        if (ready) {
            trueAnsweredNs = monotonicNs();
            break;
        }
        ++notReady;
        run.print("Still working...");
        if (!run.sleep(kPollSeconds))
            return;
    }
    const Value value = result->get();
    run.print("Done: " + value.str());

    run.check(value == Value(25), "the ready() loop ended with Done: 25", "got " + value.repr());
    // ready() never blocks, and it never says True early.
    run.check(finishedBy(*run.log(), result->job(), trueAnsweredNs),
              "ready() answered True only after the worker had finished the task");
    run.check(result->successful(), "successful() was True once ready() was");
    const auto finished = taskFinished(*run.log(), result->job());
    run.note("ready() answered False " + std::to_string(notReady) + " time" +
             (notReady == 1 ? "" : "s") + ", once every " +
             TextTable::duration(scaledNs(run, kPollSeconds)) + ", then True " +
             TextTable::duration(trueAnsweredNs - submitNs) +
             " after apply_async; the worker had finished the task " +
             (finished ? TextTable::duration(finished->tNs - submitNs) : std::string("?")) +
             " after apply_async");
}

void ApplyAsyncScenario::waitThenGet(ScenarioRun& run, Pool& pool) const
{
    run.print("--- wait(), then get() ---");
    const auto result = pool.applyAsync("slow_square", {5});
    const std::int64_t waitNs = monotonicNs();
    result->wait();
    const std::int64_t waitedNs = monotonicNs();
    const bool readyAfterWait = result->ready();
    const bool successful = readyAfterWait && result->successful();
    const Value value = result->get();
    const std::int64_t gotNs = monotonicNs();
    run.print("Now safe to get: " + value.str());

    run.check(readyAfterWait, "ready() was True right after wait() returned");
    run.check(successful, "successful() was True after wait()");
    run.check(finishedBy(*run.log(), result->job(), waitedNs),
              "wait() returned only after the worker had finished the task");
    run.check(value == Value(25), "get() after wait() returned 25", "got " + value.repr());
    run.note("wait() blocked for " + TextTable::duration(waitedNs - waitNs) +
             " and returned nothing; get() then took " + TextTable::duration(gotNs - waitedNs));
}

} // namespace poolscope
