#include "imapvsunorderedscenario.h"

#include "clock.h"
#include "pool.h"
#include "scenariorun.h"
#include "texttable.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <string>

namespace poolscope {

namespace {

const Value::List kItems{1, 2, 3, 4, 5};

std::string secondsSince(std::int64_t fromNs, std::int64_t toNs)
{
    return TextTable::fixed(double(toNs - fromNs) / 1e9, 2) + " s";
}

template <typename T> std::string joined(const std::vector<T>& v)
{
    std::string s;
    for (const auto& x : v)
        s += (s.empty() ? "" : ", ") + std::to_string(x);
    return s;
}

// What the events say about one pass's job, in the order the parent logged them.
struct JobEvents
{
    std::map<std::int64_t, Event> finished; // by task index
    std::size_t finishedEvents = 0;         // a task reported twice would count twice
    std::vector<Event> arrivals;            // ChunkResult, in the order the parent received them
    std::vector<std::int64_t> yieldedTasks; // ResultYielded, in the caller's order
};

JobEvents eventsOf(const EventLog& log, int job)
{
    JobEvents j;
    for (std::size_t i = 0; i < log.size(); ++i) {
        const Event e = log.at(i);
        if (e.job != job)
            continue;
        if (e.kind == EventKind::TaskFinished) {
            j.finished[e.task] = e;
            ++j.finishedEvents;
        } else if (e.kind == EventKind::ChunkResult)
            j.arrivals.push_back(e);
        else if (e.kind == EventKind::ResultYielded)
            j.yieldedTasks.push_back(e.task);
    }
    return j;
}

// "task 3", or "tasks 3-4" for a chunk of several.
std::string chunkLabel(std::int64_t chunk, int chunksize)
{
    const std::int64_t first = chunk * chunksize + 1;
    const std::int64_t last = std::min<std::int64_t>(first + chunksize - 1, kItems.size());
    return first == last ? "task " + std::to_string(first)
                         : "tasks " + std::to_string(first) + "-" + std::to_string(last);
}

// The tasks (as the article's "Task N") in the order their chunks were finished by the workers
// (worker clocks; a chunk is done when its last task is): with chunksize 1, simply the order the
// tasks finished in.
std::vector<std::int64_t> finishOrder(const JobEvents& j, int chunksize)
{
    std::map<std::int64_t, std::int64_t> doneNs; // chunk -> when its last task finished
    for (const auto& [task, e] : j.finished)
        doneNs[task / chunksize] = std::max(doneNs[task / chunksize], e.tNs);
    std::vector<std::pair<std::int64_t, std::int64_t>> chunks; // (done, chunk)
    for (const auto& [chunk, t] : doneNs)
        chunks.emplace_back(t, chunk);
    std::stable_sort(chunks.begin(), chunks.end());
    std::vector<std::int64_t> order;
    for (const auto& [t, chunk] : chunks) {
        for (const auto& [task, e] : j.finished) {
            if (task / chunksize == chunk)
                order.push_back(task + 1);
        }
    }
    return order;
}

// The task order imap_unordered must hand out: chunk by chunk as they reached the parent, each
// chunk's items in input order.
std::vector<std::int64_t> arrivalTaskOrder(const JobEvents& j, int chunksize)
{
    std::vector<std::int64_t> order;
    for (const auto& e : j.arrivals) {
        const std::int64_t first = std::int64_t(e.chunk) * chunksize;
        for (std::int64_t t = first; t < first + chunksize && t < std::int64_t(kItems.size()); ++t)
            order.push_back(t);
    }
    return order;
}

// What depends on timing: the delays, the orders seen, how long imap held results back.
void noteTimings(ScenarioRun& run, const ImapPass& ordered, const ImapPass& unordered,
                 const JobEvents& o, const JobEvents& u, int chunksize, const std::string& delays)
{
    run.note("delays for seed " + std::to_string(run.seed()) + ", before the time scale (" +
             TextTable::fixed(run.timeScale(), 2) + "): " + delays);
    const auto orderedFinish = finishOrder(o, chunksize);
    const auto unorderedFinish = finishOrder(u, chunksize);
    run.note(std::string(chunksize > 1 ? "tasks finished, chunk by chunk," : "tasks finished") +
             " in the order " + joined(orderedFinish) + " (imap pass) and " +
             joined(unorderedFinish) + " (imap_unordered pass)");
    std::vector<std::int64_t> unorderedTasks;
    for (auto t : u.yieldedTasks)
        unorderedTasks.push_back(t + 1);
    run.note("imap_unordered handed out " + joined(unordered.values) + " (tasks " +
             joined(unorderedTasks) + ")" +
             (unorderedTasks == unorderedFinish
                  ? std::string(": the order the ") + (chunksize > 1 ? "chunks" : "tasks") +
                        " finished in"
                  : ": not quite the finish order; results finishing close together reach the "
                    "parent in the order it reads the workers' pipes"));

    // imap holds back a chunk that arrives before an earlier one: from its arrival until every
    // earlier chunk is there.
    std::map<std::int64_t, std::int64_t> arrival;
    for (const auto& e : o.arrivals)
        arrival[e.chunk] = e.tNs;
    std::int64_t readyNs = 0;
    std::int64_t totalHeld = 0;
    std::string held;
    for (const auto& [chunk, t] : arrival) {
        readyNs = std::max(readyNs, t);
        if (readyNs > t) {
            totalHeld += readyNs - t;
            held += std::string(held.empty() ? "" : ", ") + chunkLabel(chunk, chunksize) + " for " +
                    secondsSince(t, readyNs);
        }
    }
    run.note(held.empty() ? "imap held nothing back: the results arrived in input order"
                          : "imap held back results that came early: " + held + " (" +
                                secondsSince(0, totalHeld) + " in all)");
    run.note("first result after " + secondsSince(ordered.submitNs, ordered.firstResultNs) +
             " with imap, " + secondsSince(unordered.submitNs, unordered.firstResultNs) +
             " with imap_unordered; all five after " +
             secondsSince(ordered.submitNs, ordered.doneNs) + " and " +
             secondsSince(unordered.submitNs, unordered.doneNs));
}

} // namespace

std::vector<ParameterSpec> ImapVsUnorderedScenario::parameters() const
{
    using N = ParameterSpec::Name;
    return {
        {N::Workers, 3, 1, 16, "pool size (the article's Pool(3))"},
        {N::Chunksize, 1, 1, 5, "tasks per chunk for both imap calls (the article's 1)"},
        {N::StartMethod, 0, 0, 2, "how the workers start"},
        {N::Seed, 10, 0, 4294967295.0, "seeds the delays; both passes draw the same ones"},
        {N::TimeScale, 1, 0, 10, "multiplies the 0.5-2.0 s delays"},
    };
}

ImapPass ImapVsUnorderedScenario::runPass(ScenarioRun& run, bool ordered, int workers,
                                          int chunksize) const
{
    ImapPass pass;
    run.print(ordered ? "--- Using imap (ordered results) ---"
                      : "--- Using imap_unordered (unordered results) ---");
    const std::string label = ordered ? "Got result (ordered): " : "Got result (unordered): ";
    Pool pool(run.poolOptions(workers));
    const std::size_t before = run.log()->size();
    pass.submitNs = monotonicNs();
    const auto results = ordered ? pool.imap("slow_square", kItems, chunksize)
                                 : pool.imapUnordered("slow_square", kItems, chunksize);
    while (!run.cancelled()) {
        const auto value = results->next();
        if (!value) {
            pass.doneNs = monotonicNs();
            pass.complete = true;
            break;
        }
        if (pass.values.empty())
            pass.firstResultNs = monotonicNs();
        pass.values.push_back(value->asInt());
        run.print(label + value->str());
    }
    for (std::size_t i = before; i < run.log()->size() && pass.job < 0; ++i) {
        const Event e = run.log()->at(i);
        if (e.kind == EventKind::JobSubmitted)
            pass.job = e.job;
    }
    if (pass.complete) {
        pool.close();
        pool.join();
    }
    return pass; // a cancelled pass leaves the pool to its destructor: terminate()
}

void ImapVsUnorderedScenario::run(ScenarioRun& run) const
{
    const int workers = run.workers();
    const int chunksize = run.chunksize().value_or(1);
    run.describeMainCall("slow_square", std::int64_t(kItems.size()), workers, chunksize,
                         "imap, imap_unordered");

    const ImapPass ordered = runPass(run, true, workers, chunksize);
    if (!ordered.complete)
        return;
    const ImapPass unordered = runPass(run, false, workers, chunksize);
    if (!unordered.complete)
        return;

    const auto& log = *run.log();
    const JobEvents o = eventsOf(log, ordered.job);
    const JobEvents u = eventsOf(log, unordered.job);

    // --- facts: what holds on every run ---
    const std::vector<std::int64_t> squares{1, 4, 9, 16, 25};
    run.check(ordered.values == squares, "imap yielded 1, 4, 9, 16, 25: input order",
              "got " + joined(ordered.values));
    auto sorted = unordered.values;
    std::sort(sorted.begin(), sorted.end());
    run.check(sorted == squares, "imap_unordered yielded the same five squares",
              "got " + joined(unordered.values));

    const auto expectedTasks = arrivalTaskOrder(u, chunksize);
    run.check(u.yieldedTasks == expectedTasks && expectedTasks.size() == kItems.size(),
              "imap_unordered handed out each result in the order its chunk reached the parent",
              "yielded tasks " + joined(u.yieldedTasks) + ", arrival order " +
                  joined(expectedTasks));

    // Causality, on the clock all processes share: a result handed out by imap needs its own
    // task and every earlier one finished.
    bool heldBack = o.yieldedTasks.size() == kItems.size();
    std::string late;
    for (std::size_t i = 0; i < log.size(); ++i) {
        const Event e = log.at(i);
        if (e.job != ordered.job || e.kind != EventKind::ResultYielded)
            continue;
        for (std::int64_t t = 0; t <= e.task; ++t) {
            const auto f = o.finished.find(t);
            if (f == o.finished.end() || f->second.tNs > e.tNs) {
                heldBack = false;
                late += " result of task " + std::to_string(e.task + 1) + " before task " +
                        std::to_string(t + 1) + " finished;";
            }
        }
    }
    run.check(heldBack,
              "imap handed out each result only after its own task and every earlier one had "
              "finished",
              late);

    const TaskOptions options = run.taskOptions();
    bool sameDelays = o.finishedEvents == kItems.size() && u.finishedEvents == kItems.size();
    std::string delays;
    for (std::int64_t t = 0; t < std::int64_t(kItems.size()); ++t) {
        const double expected = options.delayFor(t);
        const auto a = o.finished.find(t);
        const auto b = u.finished.find(t);
        sameDelays = sameDelays && a != o.finished.end() && b != u.finished.end() &&
                     std::abs(a->second.delay - expected) < 1e-9 &&
                     std::abs(b->second.delay - expected) < 1e-9;
        delays +=
            (t ? ", " : "") + std::to_string(t + 1) + ": " + TextTable::fixed(expected, 2) + " s";
    }
    run.check(sameDelays,
              "both passes drew the same seeded delays for tasks 1..5 (seed " +
                  std::to_string(run.seed()) + ")",
              "one task finished twice, not at all, or with another delay");

    noteTimings(run, ordered, unordered, o, u, chunksize, delays);
}

} // namespace poolscope
