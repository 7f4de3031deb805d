#include "applyscenario.h"

#include "clock.h"
#include "pool.h"
#include "scenariorun.h"
#include "texttable.h"

#include <charconv>
#include <optional>
#include <string>

namespace poolscope {

namespace {} // namespace

std::vector<ParameterSpec> ApplyScenario::parameters() const
{
    using N = ParameterSpec::Name;
    return {
        {N::Workers, 3, 1, 64, "pool size (the article's Pool(3)); one worker does the job"},
        {N::StartMethod, 0, 0, 2, "how the workers start"},
    };
}

void ApplyScenario::run(ScenarioRun& run) const
{
    const int workers = run.workers();
    run.describeMainCall("cube", 1, workers, 1, "apply");

    Pool pool(run.poolOptions(workers));
    const std::size_t before = run.log()->size();
    run.print("Sending task...");
    const std::int64_t calledNs = monotonicNs();
    const Value result = pool.apply("cube", {5});
    const std::int64_t returnedNs = monotonicNs();
    run.print("Got result: " + result.str());
    run.print("Main continues AFTER task is done.");
    pool.close();
    pool.join();

    run.check(result == Value(125), "apply(cube, (5,)) returned 125", "got " + result.repr());

    int job = -1;
    std::vector<Event> finished;
    std::optional<Event> started, yielded;
    for (std::size_t i = before; i < run.log()->size(); ++i) {
        const Event e = run.log()->at(i);
        if (e.kind == EventKind::JobSubmitted && job < 0)
            job = e.job;
        if (job < 0 || e.job != job)
            continue;
        if (e.kind == EventKind::TaskStarted)
            started = e;
        else if (e.kind == EventKind::TaskFinished && !yielded) // the log's order: before the yield
            finished.push_back(e);
        else if (e.kind == EventKind::ResultYielded)
            yielded = e;
    }
    run.check(finished.size() == 1 && finished.front().ok && yielded && yielded->value == result,
              "the worker finished cube(5) before apply handed 125 over (event log order)",
              std::to_string(finished.size()) +
                  " task(s) finished before the result was handed over");
    // The worker's timestamp and the parent's are on the same clock (CLOCK_MONOTONIC).
    run.check(finished.size() == 1 && finished.front().tNs <= returnedNs,
              "apply returned only after the worker's clock says the task had finished");

    if (finished.size() == 1 && started) {
        const Event& f = finished.front();
        run.note("apply blocked the main process for " +
                 TextTable::duration(returnedNs - calledNs) + "; cube(5) itself ran for " +
                 TextTable::duration(f.tNs - started->tNs) + " in worker " +
                 std::to_string(f.worker) + " (pid " + std::to_string(f.pid) +
                 "), the rest is sending the task and the result through the pipes");
    }
}

} // namespace poolscope
