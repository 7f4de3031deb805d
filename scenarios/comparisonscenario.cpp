#include "comparisonscenario.h"

#include "apitrial.h"
#include "clock.h"
#include "pool.h"
#include "scenariorun.h"
#include "startmethodtrial.h"
#include "texttable.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <unistd.h>

namespace poolscope {

namespace {

constexpr int kStartRepeats = 3;
constexpr double kDelayMin = 0.2; // slow_square's delay range here, seconds (before scaling)
constexpr double kDelayMax = 0.8;
const Value::List kItems{1, 2, 3, 4, 5, 6};

std::string secondsText(double s)
{
    return TextTable::fixed(s, 3) + " s";
}

std::string msText(double s)
{
    return TextTable::fixed(s * 1e3, 1) + " ms";
}

std::string joined(const Value::List& values)
{
    std::string out;
    for (const auto& v : values)
        out += (out.empty() ? "" : ", ") + v.repr();
    return out;
}

double median(std::vector<double> v)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

Value::List squaresOf(const Value::List& items)
{
    Value::List out;
    for (const auto& x : items)
        out.emplace_back(x.asInt() * x.asInt());
    return out;
}

// The run's task options (seed, time scale) with this scenario's delay range.
TaskOptions taskOptionsOf(const ScenarioRun& run)
{
    TaskOptions o = run.taskOptions();
    o.delayMin = kDelayMin;
    o.delayMax = kDelayMax;
    return o;
}

// --- start methods ------------------------------------------------------------------------

StartMethodTrial startTrial(ScenarioRun& run, StartMethod method)
{
    StartMethodTrial t;
    t.method = method;
    const EventLog& log = *run.log();
    for (int r = 0; r < kStartRepeats && !run.cancelled(); ++r) {
        const std::size_t before = log.size();
        const std::int64_t start = monotonicNs();
        PoolOptions o = run.poolOptions(2);
        o.method = method;
        {
            Pool pool(o);
            pool.waitForWorkers();
            t.results.push_back(pool.map("square", {1, 2}));
            pool.close();
            pool.join();
        }
        std::int64_t lastUp = start;
        for (std::size_t i = before; i < log.size(); ++i) {
            if (log.kindAt(i) != EventKind::WorkerStarted)
                continue;
            const Event e = log.at(i);
            ++t.workersUp;
            lastUp = std::max(lastUp, e.tNs);
            t.workerStartSeconds.push_back(double(e.a) / 1e9);
            t.parentPids.push_back(e.ppid);
        }
        t.readySeconds.push_back(double(lastUp - start) / 1e9);
    }
    return t;
}

std::string parentOf(const StartMethodTrial& t)
{
    const int self = int(::getpid());
    if (t.parentPids.empty())
        return "?";
    if (std::all_of(t.parentPids.begin(), t.parentPids.end(), [&](int p) { return p == self; }))
        return "main process";
    const int first = t.parentPids.front();
    if (std::all_of(t.parentPids.begin(), t.parentPids.end(), [&](int p) { return p == first; }))
        return "fork server (" + std::to_string(first) + ")";
    return "mixed";
}

void startMethodsPart(ScenarioRun& run)
{
    struct Row
    {
        StartMethod method;
        const char* defaultOn;
        const char* startsAs;
    };
    // The article's order; "default on" and "child starts as" are CPython's documented facts,
    // the rest is measured below.
    const Row rows[] = {
        {StartMethod::Spawn, "Windows, macOS", "a fresh program; named tasks only"},
        {StartMethod::Fork, "Linux (Python < 3.14)", "a copy of the parent, threads' locks too"},
        {StartMethod::ForkServer, "Linux (Python 3.14+)", "a copy of the clean fork server"},
    };
    run.print("--- Start methods: Pool(2) started " + std::to_string(kStartRepeats) +
              " times with each ---");
    TextTable table({"method", "default on", "1st Pool(2) up", "median up", "worker start",
                     "workers' parent", "child starts as"},
                    {TextTable::Align::Left, TextTable::Align::Left, TextTable::Align::Right,
                     TextTable::Align::Right, TextTable::Align::Right, TextTable::Align::Left,
                     TextTable::Align::Left});
    std::vector<StartMethodTrial> trials;
    for (const auto& row : rows) {
        if (run.cancelled())
            return;
        StartMethodTrial t = startTrial(run, row.method);
        table.addRow({std::string(startMethodName(row.method)), row.defaultOn,
                      t.readySeconds.empty() ? "-" : msText(t.readySeconds.front()),
                      msText(median(t.readySeconds)), msText(median(t.workerStartSeconds)),
                      parentOf(t), row.startsAs});
        trials.push_back(std::move(t));
    }
    if (run.cancelled())
        return;
    for (const auto& line : table.lines())
        run.print(line);

    const int self = int(::getpid());
    std::string speeds;
    for (const auto& t : trials) {
        const std::string name(startMethodName(t.method));
        const bool mapsOk = std::all_of(t.results.begin(), t.results.end(), [](const auto& r) {
            return r == Value::List{1, 4};
        });
        run.check(t.workersUp == 2 * kStartRepeats && int(t.results.size()) == kStartRepeats &&
                      mapsOk,
                  name + ": Pool(2) started " + std::to_string(kStartRepeats) +
                      " times, both workers came up and map(square, [1, 2]) gave [1, 4] each time",
                  std::to_string(t.workersUp) + " workers up");
        const bool fromServer = t.method == StartMethod::ForkServer;
        const bool parentOk =
            !t.parentPids.empty() &&
            std::all_of(t.parentPids.begin(), t.parentPids.end(), [&](int p) {
                return fromServer ? p != self && p == t.parentPids.front() : p == self;
            });
        run.check(
            parentOk,
            name + " workers are children of " +
                (fromServer ? "the fork server, not of the main process" : "the main process"),
            "parent " + parentOf(t));
        speeds += (speeds.empty() ? "" : ", ") + name + " " + msText(median(t.workerStartSeconds));
    }
    run.note("median worker start: " + speeds +
             " (the first forkserver pool of a process also starts the server)");
}

// --- pool APIs ----------------------------------------------------------------------------

// The jobs submitted from index `from` on, in submission order, and the order their results
// reached the parent (job, chunk).
struct JobTrace
{
    std::vector<int> jobs;
    std::vector<std::pair<int, int>> arrivals;
};

JobTrace traceFrom(const EventLog& log, std::size_t from, std::size_t to)
{
    JobTrace t;
    for (std::size_t i = from; i < to; ++i) {
        const EventKind kind = log.kindAt(i);
        if (kind != EventKind::JobSubmitted && kind != EventKind::ChunkResult)
            continue;
        const Event e = log.at(i);
        if (kind == EventKind::JobSubmitted)
            t.jobs.push_back(e.job);
        else
            t.arrivals.emplace_back(e.job, e.chunk);
    }
    return t;
}

// Runs one API on a fresh, warmed-up Pool(workers); the log tells the rest.
ApiTrial apiTrial(ScenarioRun& run, const std::string& api, int workers)
{
    ApiTrial t;
    t.api = api;
    const EventLog& log = *run.log();
    PoolOptions o = run.poolOptions(workers);
    o.taskOptions = taskOptionsOf(run);
    Pool pool(o);
    pool.waitForWorkers();
    run.print("- " + api);
    t.logFrom = log.size();
    t.startNs = monotonicNs();

    if (api == "map") {
        t.received = pool.map("slow_square", kItems);
        t.returnedNs = t.firstNs = t.lastNs = monotonicNs();
        // Every chunk's result was logged before map returned.
        const JobTrace j = traceFrom(log, t.logFrom, log.size());
        const std::size_t cs = std::size_t(Pool::defaultChunksize(kItems.size(), workers));
        t.returnedWithResults = j.arrivals.size() == (kItems.size() + cs - 1) / cs;
    } else if (api == "imap" || api == "imap_unordered") {
        auto it = api == "imap" ? pool.imap("slow_square", kItems, 1)
                                : pool.imapUnordered("slow_square", kItems, 1);
        t.returnedNs = monotonicNs();
        while (!run.cancelled()) {
            auto v = it->next();
            if (!v)
                break;
            t.lastNs = monotonicNs();
            if (t.received.empty())
                t.firstNs = t.lastNs;
            t.received.push_back(std::move(*v));
        }
    } else if (api == "apply") {
        t.returnedWithResults = true;
        for (const auto& x : kItems) {
            if (run.cancelled())
                break;
            const std::size_t callFrom = log.size();
            t.received.push_back(pool.apply("slow_square", {x}));
            t.byCall.push_back(t.received.back());
            t.lastNs = monotonicNs();
            if (t.received.size() == 1)
                t.returnedNs = t.firstNs = t.lastNs;
            const JobTrace j = traceFrom(log, callFrom, log.size());
            t.returnedWithResults = t.returnedWithResults && j.jobs.size() == 1 &&
                                    j.arrivals.size() == 1 && j.arrivals[0].first == j.jobs[0];
        }
    } else if (api == "apply_async") {
        struct Arrivals
        {
            std::mutex mutex;
            Value::List values;
            std::vector<std::int64_t> times;
        };
        auto arrivals = std::make_shared<Arrivals>();
        std::vector<std::shared_ptr<AsyncResult>> futures;
        for (const auto& x : kItems) {
            futures.push_back(pool.applyAsync("slow_square", {x}, [arrivals](const Value& v) {
                std::lock_guard lock(arrivals->mutex);
                arrivals->values.push_back(v);
                arrivals->times.push_back(monotonicNs());
            }));
            if (futures.size() == 1)
                t.returnedNs = monotonicNs();
        }
        for (const auto& f : futures) {
            while (!run.cancelled() && !f->ready())
                f->wait(0.05);
        }
        std::lock_guard lock(arrivals->mutex);
        t.received = arrivals->values;
        if (!arrivals->times.empty()) {
            t.firstNs = arrivals->times.front();
            t.lastNs = arrivals->times.back();
        }
        for (const auto& f : futures) {
            if (f->ready())
                t.byCall.push_back(f->get());
        }
    }
    t.complete = t.received.size() == kItems.size();
    if (t.complete) {
        pool.close();
        pool.join();
    }
    t.logTo = log.size();
    return t;
}

// The results in the order they reached the parent (chunksize 1: one result per chunk).
Value::List arrivalOrder(const EventLog& log, const ApiTrial& t)
{
    const JobTrace j = traceFrom(log, t.logFrom, t.logTo);
    std::map<int, std::size_t> inputOfJob; // apply*: a job per call, submitted in input order
    for (std::size_t k = 0; k < j.jobs.size(); ++k)
        inputOfJob[j.jobs[k]] = k;
    Value::List order;
    for (const auto& [job, chunk] : j.arrivals) {
        const std::size_t index = j.jobs.size() == 1 ? std::size_t(chunk) : inputOfJob[job];
        if (index < kItems.size())
            order.emplace_back(kItems[index].asInt() * kItems[index].asInt());
    }
    return order;
}

void apisPart(ScenarioRun& run, int workers)
{
    run.print("--- Pool APIs: slow_square over 1..6 on Pool(" + std::to_string(workers) +
              "), delays " + TextTable::fixed(kDelayMin, 1) + "-" + TextTable::fixed(kDelayMax, 1) +
              " s (seed " + std::to_string(run.seed()) + ") ---");
    const std::vector<std::string> apis{"map", "imap", "imap_unordered", "apply", "apply_async"};
    std::vector<ApiTrial> trials;
    for (const auto& api : apis) {
        if (run.cancelled())
            return;
        trials.push_back(apiTrial(run, api, workers));
    }
    if (run.cancelled())
        return;

    const Value::List expected = squaresOf(kItems);
    TextTable table({"API", "call returned", "first result", "all results", "blocked?",
                     "input order?", "results, as received"},
                    {TextTable::Align::Left, TextTable::Align::Right, TextTable::Align::Right,
                     TextTable::Align::Right, TextTable::Align::Left, TextTable::Align::Left,
                     TextTable::Align::Left});
    for (const auto& t : trials) {
        // Blocked: the call came back no sooner than the first result did.
        const bool blocked = t.returnedNs >= t.firstNs;
        table.addRow({t.api, secondsText(t.seconds(t.returnedNs)),
                      secondsText(t.seconds(t.firstNs)), secondsText(t.seconds(t.lastNs)),
                      blocked ? "yes" : "no", t.received == expected ? "yes" : "no",
                      joined(t.received)});
    }
    for (const auto& line : table.lines())
        run.print(line);

    const EventLog& log = *run.log();
    auto sorted = [](Value::List v) {
        std::sort(v.begin(), v.end(),
                  [](const Value& a, const Value& b) { return a.asInt() < b.asInt(); });
        return v;
    };
    const auto& map = trials[0];
    run.check(map.received == expected && map.returnedWithResults,
              "map returned " + Value(expected).repr() +
                  " in input order, once all 6 results had reached the parent",
              "got " + Value(map.received).repr());
    run.check(trials[1].received == expected, "imap handed out the results in input order",
              "got " + joined(trials[1].received));
    const auto& unordered = trials[2];
    run.check(unordered.complete && sorted(unordered.received) == expected &&
                  unordered.received == arrivalOrder(log, unordered),
              "imap_unordered handed out the same 6 results, in the order they reached the parent",
              "got " + joined(unordered.received) + ", arrived " +
                  joined(arrivalOrder(log, unordered)));
    run.check(trials[3].byCall == expected && trials[3].returnedWithResults,
              "each apply returned its task's value, once that result had reached the parent",
              "got " + joined(trials[3].received));
    const auto& async = trials[4];
    run.check(async.complete && sorted(async.received) == expected &&
                  async.received == arrivalOrder(log, async) && async.byCall == expected,
              "apply_async's callbacks got the 6 values in the order the results arrived, and "
              "get() returned each call's own value",
              "callbacks " + joined(async.received) + ", arrived " +
                  joined(arrivalOrder(log, async)) + ", get() " + joined(async.byCall));

    run.note("map kept the caller waiting " + secondsText(map.seconds(map.returnedNs)) +
             "; imap returned after " + secondsText(trials[1].seconds(trials[1].returnedNs)) +
             " and handed out its first result after " +
             secondsText(trials[1].seconds(trials[1].firstNs)) + ", imap_unordered after " +
             secondsText(unordered.seconds(unordered.firstNs)));
    run.note("apply ran the 6 tasks one after another: " +
             secondsText(trials[3].seconds(trials[3].lastNs)) + " in all, against " +
             secondsText(async.seconds(async.lastNs)) + " for apply_async on " +
             std::to_string(workers) + " workers");
    run.note("apply and apply_async tasks each sleep the delay drawn for task 0 (" +
             TextTable::fixed(taskOptionsOf(run).delayFor(0), 2) +
             " s before scaling): every call is a job of its own, with one task");
}

} // namespace

std::vector<ParameterSpec> ComparisonScenario::parameters() const
{
    using N = ParameterSpec::Name;
    return {
        {N::Workers, 3, 1, 16, "pool size for the API comparison (the start methods use Pool(2))"},
        {N::StartMethod, 0, 0, 2, "how the workers of the API comparison start"},
        {N::Seed, 10, 0, 4294967295.0, "seeds slow_square's delays"},
        {N::TimeScale, 1, 0, 10, "multiplies slow_square's 0.2-0.8 s delays"},
    };
}

void ComparisonScenario::run(ScenarioRun& run) const
{
    const int workers = run.workers();
    run.describeMainCall("slow_square", std::int64_t(kItems.size()), workers, 1);

    startMethodsPart(run);
    if (run.cancelled())
        return;
    apisPart(run, workers);
}

} // namespace poolscope
