#include "counterracescenario.h"

#include "lostupdatecounter.h"
#include "process.h"
#include "processeventrecorder.h"
#include "reportpipe.h"
#include "scenariorun.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace poolscope {

namespace {

constexpr std::int64_t kIncrements = 100'000;
constexpr int kTrials = 5;
// How long the parent waits for a child's report before giving up (never hang on a lost child).
constexpr double kReportTimeoutSeconds = 30;

// The processes' counter: a plain global of this program, as `counter_process` in the article.
// Each fork child increments its own copy of it; the parent's copy is never touched.
std::int64_t g_processCounter = 0;

struct ThreadRound
{
    std::vector<std::int64_t> printed; // what each thread printed, in print order
    std::int64_t final = 0;
};

// `threads` threads each add kIncrements to one shared counter, with or without a lock around
// each increment, then print the counter as they see it. They start together: each announces
// itself and spins until all have, so that they really run at the same time on different cores.
// (100,000 increments take well under a millisecond; a thread that is merely woken up later
// would find the other one done, and nothing would be lost.)
ThreadRound bumpInThreads(ScenarioRun& run, int threads, bool withLock)
{
    LostUpdateCounter counter;
    std::mutex lock;
    std::mutex printMutex; // reading the counter and printing it is one step: lines in read order
    std::atomic<bool> abort{false};
    std::atomic<int> arrived{0};
    ThreadRound round;
    // Spinning keeps the early threads on their cores; with more threads than cores they must
    // yield, or the last ones might never get a core to arrive on.
    const bool spin = unsigned(threads) <= std::max(1u, std::thread::hardware_concurrency());
    auto bump = [&] {
        arrived.fetch_add(1);
        while (arrived.load() < threads) {
            if (abort.load())
                return;
            if (!spin)
                std::this_thread::yield();
        }
        for (std::int64_t i = 0; i < kIncrements; ++i) {
            if (withLock) {
                std::lock_guard guard(lock);
                counter.increment();
            } else {
                counter.increment();
            }
        }
        std::lock_guard guard(printMutex);
        const std::int64_t seen = counter.value();
        round.printed.push_back(seen);
        run.print("Thread's counter value: " + std::to_string(seen));
    };
    std::vector<std::thread> pool;
    try {
        for (int t = 0; t < threads; ++t)
            pool.emplace_back(bump);
    } catch (...) {
        abort.store(true);
        for (auto& t : pool)
            t.join();
        throw;
    }
    for (auto& t : pool)
        t.join();
    round.final = counter.value();
    return round;
}

// What the fork child runs: the article's bump_process. It prints its count (to the console,
// through the output pipe) and reports it to the parent through the report pipe: the parent
// cannot look into the child's memory, it has to be told (IPC).
void bumpInChild(int reportFd)
{
    for (std::int64_t i = 0; i < kIncrements; ++i)
        ++g_processCounter;
    const std::string line = "Process's counter value: " + std::to_string(g_processCounter) + "\n";
    (void)!::write(1, line.data(), line.size());
    const std::string report = std::to_string(g_processCounter) + "\n";
    (void)!::write(reportFd, report.data(), report.size());
}

std::string joined(const std::vector<std::int64_t>& values)
{
    std::string s;
    for (const auto v : values)
        s += (s.empty() ? "" : ", ") + std::to_string(v);
    return s;
}

} // namespace

std::vector<ParameterSpec> CounterRaceScenario::parameters() const
{
    using N = ParameterSpec::Name;
    return {
        {N::Workers, 2, 1, 16, "number of threads, and of processes (each adds 100000)"},
    };
}

void CounterRaceScenario::run(ScenarioRun& run) const
{
    const int n = run.workers();
    const std::int64_t total = n * kIncrements;
    run.describeMainCall("bump", kIncrements, n, 0);

    // 1. Threads without a lock, several trials: how many updates are lost varies.
    run.print("--- threads without a lock: " + std::to_string(n) + " x " +
              std::to_string(kIncrements) + " increments, " + std::to_string(kTrials) +
              " trials ---");
    std::vector<std::int64_t> finals;
    bool neverAbove = true;
    for (int trial = 1; trial <= kTrials && !run.cancelled(); ++trial) {
        run.print("Trial " + std::to_string(trial) + ":");
        const ThreadRound r = bumpInThreads(run, n, false);
        run.print("Threads see counter in same memory: " + std::to_string(r.final));
        finals.push_back(r.final);
        neverAbove = neverAbove && r.final <= total &&
                     std::all_of(r.printed.begin(), r.printed.end(),
                                 [&](std::int64_t v) { return v <= total; });
    }
    const auto lossy =
        std::count_if(finals.begin(), finals.end(), [&](std::int64_t v) { return v < total; });
    run.print("Updates were lost in " + std::to_string(lossy) + " of " +
              std::to_string(finals.size()) + " trials");
    run.check(neverAbove && !finals.empty(),
              "without a lock the counter never exceeded " + std::to_string(total),
              "final counts: " + joined(finals));
    run.note("without a lock, updates were lost in " + std::to_string(lossy) + " of " +
             std::to_string(finals.size()) + " trials (final counts: " + joined(finals) +
             "; expected " + std::to_string(total) + " without losses)" +
             (lossy == 0 ? "; the threads did not overlap enough this time, run it again" : ""));
    if (run.cancelled())
        return;

    // 2. The same threads with a lock around each increment: exact.
    run.print("--- threads with a lock ---");
    const ThreadRound locked = bumpInThreads(run, n, true);
    run.check(locked.final == total, "with a lock the counter is exactly " + std::to_string(total),
              "got " + std::to_string(locked.final));
    run.check(!locked.printed.empty() && locked.printed.back() == total,
              "the last thread to finish printed " + std::to_string(total),
              "printed: " + joined(locked.printed));
    if (run.cancelled())
        return;

    // 3. Processes: each child bumps its own copy of the global. Fork only: the child runs a
    // C++ callable, which cannot be sent to a spawned or fork-server child (see the lesson).
    run.print("--- processes (fork) ---");
    ReportPipe reports;
    ProcessEventRecorder recorder(run.log());
    std::vector<std::unique_ptr<Process>> children;
    for (int i = 0; i < n; ++i) {
        const int fd = reports.writeFd();
        children.push_back(
            std::make_unique<Process>(ProcessTarget::callable([fd] { bumpInChild(fd); }),
                                      run.processOptions({}, StartMethod::Fork)));
    }
    for (int i = 0; i < n; ++i)
        recorder.start(*children[std::size_t(i)], i + 1);
    reports.closeWriteEnd();
    std::vector<std::int64_t> childCounts;
    while (int(childCounts.size()) < n) {
        const auto line = reports.readLine(kReportTimeoutSeconds);
        if (!line)
            break;
        std::int64_t v = -1;
        std::from_chars(line->data(), line->data() + line->size(), v);
        childCounts.push_back(v);
    }
    std::vector<int> exitCodes;
    for (int i = 0; i < n; ++i) {
        auto& p = *children[std::size_t(i)];
        p.join(kReportTimeoutSeconds);
        recorder.exited(p, i + 1);
        exitCodes.push_back(p.exitcode().value_or(-999));
    }
    run.print("Process does not see counter in same memory: " + std::to_string(g_processCounter));
    run.print("Threads see counter in same memory: " + std::to_string(locked.final));

    std::string codes;
    for (const int c : exitCodes)
        codes += (codes.empty() ? "" : " ") + (c == -999 ? std::string("None") : std::to_string(c));
    run.check(std::all_of(exitCodes.begin(), exitCodes.end(), [](int c) { return c == 0; }),
              "every process exited with code 0", "exit codes: " + codes);
    run.check(int(childCounts.size()) == n &&
                  std::all_of(childCounts.begin(), childCounts.end(),
                              [](std::int64_t v) { return v == kIncrements; }),
              "each process counted to " + std::to_string(kIncrements) + " in its own memory",
              "children reported: " + joined(childCounts));
    run.check(g_processCounter == 0, "the parent's counter stayed 0",
              "got " + std::to_string(g_processCounter));
}

} // namespace poolscope
