#include "callbacksscenario.h"

#include "clock.h"
#include "pool.h"
#include "poolerror.h"
#include "scenariorun.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

namespace poolscope {

namespace {

constexpr int kTasks = 8;   // work(x) for x in range(8)
constexpr int kFailing = 5; // work(5) raises ValueError("boom")
constexpr double kTaskSeconds = 1.0;

// Locale-independent fixed-point text (a Qt parent may have set a locale with a decimal comma).
std::string seconds(std::int64_t ns)
{
    char buf[64];
    const auto r =
        std::to_chars(buf, buf + sizeof buf, double(ns) / 1e9, std::chars_format::fixed, 2);
    return std::string(buf, r.ptr) + " s";
}

std::string joined(const std::vector<std::string>& v)
{
    std::string s;
    for (const auto& x : v)
        s += (s.empty() ? "" : ", ") + x;
    return s;
}

// How long a pitfall waits for something PoolScope always delivers, so that a broken pool
// fails a fact instead of hanging the run (CPython's would hang there).
double patience(const ScenarioRun& run)
{
    return 5.0 + 4 * kTaskSeconds * run.timeScale();
}

} // namespace

std::vector<ParameterSpec> CallbacksScenario::parameters() const
{
    using N = ParameterSpec::Name;
    return {
        {N::Workers, 3, 1, 64, "pool size (the article's Pool(3))"},
        {N::StartMethod, 0, 0, 2, "how the workers start"},
        {N::TimeScale, 1, 0, 10, "multiplies the 1 s each task sleeps"},
    };
}

void CallbacksScenario::run(ScenarioRun& run) const
{
    const int workers = run.workers();
    run.describeMainCall("work", kTasks, workers, 1, "apply_async");

    articleExample(run, workers);
    if (run.cancelled())
        return;
    lostErrorPitfall(run, workers);
    if (run.cancelled())
        return;
    raisingCallbackPitfall(run, workers);
}

void CallbacksScenario::articleExample(ScenarioRun& run, int workers) const
{
    // Written by the callbacks, on the pool's result thread.
    std::mutex mutex;
    std::vector<std::string> seen; // "16" or "error: boom", in the order the callbacks ran
    std::vector<std::int64_t> values;
    std::vector<RemoteError> errors;
    std::int64_t firstCallbackNs = 0;

    auto onOk = [&](const Value& result) {
        const std::int64_t now = monotonicNs();
        run.print("Result ready: " + result.str());
        std::lock_guard lock(mutex);
        firstCallbackNs = firstCallbackNs ? firstCallbackNs : now;
        seen.push_back(result.str());
        values.push_back(result.asInt());
    };
    auto onErr = [&](const RemoteError& error) {
        const std::int64_t now = monotonicNs();
        run.print("Error: " + error.message); // Python's print("Error:", err) prints str(err)
        std::lock_guard lock(mutex);
        firstCallbackNs = firstCallbackNs ? firstCallbackNs : now;
        seen.push_back("error: " + error.message);
        errors.push_back(error);
    };

    std::vector<std::shared_ptr<AsyncResult>> futures;
    std::int64_t startNs = 0, mainPrintedNs = 0, doneNs = 0;
    std::size_t callbacksBeforeEnd = 0;
    std::optional<RemoteError> getRaised;
    {
        Pool pool(run.poolOptions(workers));
        startNs = monotonicNs();
        for (int x = 0; x < kTasks; ++x)
            futures.push_back(pool.applyAsync("work", {x}, onOk, onErr));
        mainPrintedNs = monotonicNs(); // taken before printing, as the callbacks' times are
        run.print("Main can do other stuff while workers run...");
        for (const auto& f : futures)
            f->wait();
        doneNs = monotonicNs();
        {
            std::lock_guard lock(mutex);
            callbacksBeforeEnd = seen.size();
        }
        run.print("All tasks completed");
        pool.close();
        pool.join();
    }
    try {
        futures[kFailing]->get(); // with an error_callback, get() still raises
    } catch (const PoolError& e) {
        getRaised = e.error();
    }

    // --- facts ---
    run.check(values.size() == kTasks - 1 && errors.size() == 1,
              "7 tasks reached the callback and 1 the error callback",
              std::to_string(values.size()) + " results, " + std::to_string(errors.size()) +
                  " errors");
    run.check(errors.size() == 1 && errors.front().type == "ValueError" &&
                  errors.front().message == "boom",
              "the error was reported exactly once, as ValueError: boom",
              errors.empty() ? "never" : errors.front().text());
    auto sorted = values;
    std::sort(sorted.begin(), sorted.end());
    run.check(sorted == std::vector<std::int64_t>{0, 1, 4, 9, 16, 36, 49},
              "the results were the squares of 0..7 except 5: 0, 1, 4, 9, 16, 36, 49");
    run.check(callbacksBeforeEnd == kTasks,
              "\"All tasks completed\" came after every callback had run",
              std::to_string(callbacksBeforeEnd) + " callbacks before it");
    run.check(getRaised && getRaised->text() == "ValueError: boom",
              "get() on work(5) still raises ValueError: boom after its error callback ran",
              getRaised ? getRaised->text() : "it returned");

    // Callbacks run on the result thread as each result arrives: their order is the order of
    // the ChunkResult events of these jobs, and the Callback events say the same.
    std::map<int, int> xOfJob;
    for (int x = 0; x < kTasks; ++x)
        xOfJob[futures[std::size_t(x)]->job()] = x;
    std::vector<std::string> arrived, called;
    bool callbackEventsOk = true;
    for (std::size_t i = 0; i < run.log()->size(); ++i) {
        const Event e = run.log()->at(i);
        const auto it = xOfJob.find(e.job);
        if (it == xOfJob.end())
            continue;
        const int x = it->second;
        const std::string outcome =
            x == kFailing ? "error: boom" : std::to_string(std::int64_t(x) * x);
        if (e.kind == EventKind::ChunkResult) {
            arrived.push_back(outcome);
        } else if (e.kind == EventKind::Callback || e.kind == EventKind::ErrorCallback) {
            called.push_back(outcome);
            callbackEventsOk =
                callbackEventsOk && e.ok && (e.kind == EventKind::ErrorCallback) == (x == kFailing);
        }
    }
    run.check(seen == arrived && called == arrived && callbackEventsOk,
              "the callbacks ran one at a time, in the order the results reached the parent",
              "callbacks [" + joined(seen) + "], arrivals [" + joined(arrived) +
                  "], callback events [" + joined(called) + "]");

    // --- notes ---
    run.note("callback order: " + joined(seen));
    if (firstCallbackNs)
        run.note(std::string("\"Main can do other stuff...\" was printed ") +
                 (mainPrintedNs <= firstCallbackNs
                      ? seconds(firstCallbackNs - mainPrintedNs) + " before the first callback"
                      : seconds(mainPrintedNs - firstCallbackNs) + " after the first callback"));
    run.note("the " + std::to_string(kTasks) + " tasks took " + seconds(doneNs - startNs) + " on " +
             std::to_string(workers) + " workers (each sleeps " +
             seconds(std::int64_t(kTaskSeconds * run.timeScale() * 1e9)) + ")");
}

void CallbacksScenario::lostErrorPitfall(ScenarioRun& run, int workers) const
{
    run.print("--- Pitfall 1: apply_async without error_callback and without get() ---");
    std::shared_ptr<AsyncResult> lost;
    {
        Pool pool(run.poolOptions(workers));
        lost = pool.applyAsync("work", {kFailing});
        pool.close();
        pool.join(); // the queued task runs to its end first
    }
    run.print("close() and join() returned; no error was shown");

    bool failureLogged = false, anyoneSawIt = false;
    for (std::size_t i = 0; i < run.log()->size(); ++i) {
        const Event e = run.log()->at(i);
        if (e.job != lost->job())
            continue;
        failureLogged = failureLogged || (e.kind == EventKind::TaskFinished && !e.ok &&
                                          e.text == "ValueError: boom");
        anyoneSawIt =
            anyoneSawIt || e.kind == EventKind::ErrorCallback || e.kind == EventKind::ResultYielded;
    }
    run.check(failureLogged,
              "the lost task did fail: the event log has work(5) finishing with ValueError: boom");
    run.check(!anyoneSawIt, "nobody was told: no error callback ran and no get() handed it out");
    run.check(lost->ready() && !lost->successful(),
              "the error waited in the AsyncResult all along (ready() True, successful() False)");
}

void CallbacksScenario::raisingCallbackPitfall(ScenarioRun& run, int workers) const
{
    run.print("--- Pitfall 2: a callback that raises ---");
    std::mutex mutex;
    std::vector<std::int64_t> laterValues;
    std::shared_ptr<AsyncResult> bad, later;
    std::optional<Value> laterValue;
    bool badReady = false;
    {
        Pool pool(run.poolOptions(workers));
        bad = pool.applyAsync("work", {2}, [&run](const Value& result) {
            run.print("Callback got " + result.str() + " and raises");
            throw std::runtime_error("RuntimeError: callback failed");
        });
        bad->wait(patience(run));
        badReady = bad->ready();
        run.print(std::string("Task of the raising callback ready? ") +
                  (badReady ? "True" : "False"));
        later = pool.applyAsync("work", {3}, [&](const Value& result) {
            run.print("Result ready: " + result.str());
            std::lock_guard lock(mutex);
            laterValues.push_back(result.asInt());
        });
        try {
            laterValue = later->get(patience(run));
            run.print("Next task: " + laterValue->str());
        } catch (const PoolTimeoutError&) {
            run.print("Next task: no result in time: the result handler is dead");
        }
        pool.close();
        pool.join();
    }

    bool recorded = false;
    for (std::size_t i = 0; i < run.log()->size(); ++i) {
        const Event e = run.log()->at(i);
        recorded = recorded || (e.job == bad->job() && e.kind == EventKind::Callback && !e.ok &&
                                e.text.find("callback failed") != std::string::npos);
    }
    run.check(recorded, "the raising callback was recorded: a Callback event with ok = false");
    run.check(badReady && bad->successful(),
              "its task still became ready: PoolScope's result thread survives the exception");
    run.check(laterValue == Value(9) && laterValues == std::vector<std::int64_t>{9},
              "the pool went on: the next task's callback ran and get() returned 9");
}

} // namespace poolscope
