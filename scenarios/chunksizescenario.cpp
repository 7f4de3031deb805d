#include "chunksizescenario.h"

#include "chunktrial.h"
#include "pool.h"
#include "scenariorun.h"
#include "texttable.h"

#include <algorithm>
#include <string>

namespace poolscope {

namespace {

constexpr int kTinyCount = 10'000;
constexpr double kLongTask = 0.8;  // seconds, the uneven part's first task
constexpr double kShortTask = 0.1; // the 15 others
constexpr int kUnevenCount = 16;

struct Variant
{
    int chunksize = 1;
    std::string label; // "1", "1250 (map default)", ...
};

// chunksize 1, map's default ceil(n / (4 x workers)), and the large one: the user's, else one
// chunk per worker.
std::vector<Variant> variantsFor(std::size_t n, int workers, std::optional<int> given)
{
    const int fallback = int((n + std::size_t(workers) - 1) / std::size_t(workers));
    const int large = given.value_or(fallback);
    return {
        {1, "1"},
        {Pool::defaultChunksize(n, workers),
         std::to_string(Pool::defaultChunksize(n, workers)) + " (map default)"},
        {large, std::to_string(large) + (given ? " (given)" : " (1 chunk per worker)")},
    };
}

std::string ms(double seconds)
{
    return TextTable::fixed(seconds * 1e3, 1) + " ms";
}

// Runs the three variants of one part, printing the table row by row; returns the trials
// (fewer when cancelled).
std::vector<ChunkTrial> runPart(ScenarioRun& run, const std::string& func, const Value::List& items,
                                int workers)
{
    TextTable table({"chunksize", "chunks", "messages", "first result", "total", "boundaries"},
                    {TextTable::Align::Left, TextTable::Align::Right, TextTable::Align::Right,
                     TextTable::Align::Right, TextTable::Align::Right, TextTable::Align::Left});
    const auto variants = variantsFor(items.size(), workers, run.chunksize());
    std::size_t labelWidth = 0;
    for (const auto& v : variants)
        labelWidth = std::max(labelWidth, v.label.size());
    table.setMinWidth(0, labelWidth);
    table.setMinWidth(1, std::to_string(items.size()).size());
    table.setMinWidth(2, std::to_string(2 * items.size()).size());
    table.setMinWidth(3, 12);
    table.setMinWidth(4, 10);
    run.print(table.lines().front());

    std::vector<ChunkTrial> trials;
    for (const auto& v : variants) {
        if (run.cancelled())
            break;
        ChunkTrial t = ChunkTrial::run(run, func, items, workers, v.chunksize);
        if (!t.complete)
            break;
        table.addRow({v.label, std::to_string(t.chunks.size()), std::to_string(t.messages()),
                      ms(t.firstSeconds), ms(t.totalSeconds), t.boundaries(4)});
        run.print(table.line(trials.size()));
        trials.push_back(std::move(t));
    }
    return trials;
}

// The facts every variant of a part shows: its chunks and messages, then the results.
void checkPart(ScenarioRun& run, const std::string& part, const std::vector<ChunkTrial>& trials,
               const Value::List& items, const Value::List& sortedExpected)
{
    const auto n = std::int64_t(items.size());
    bool sameResults = !trials.empty();
    std::string seen;
    for (const auto& t : trials) {
        const std::int64_t chunks = (n + t.chunksize - 1) / t.chunksize;
        run.check(t.slicesOf(n) && t.chunkResults == chunks && t.messages() == 2 * chunks,
                  part + ", chunksize " + std::to_string(t.chunksize) + ": " +
                      std::to_string(chunks) + " consecutive chunk" + (chunks == 1 ? "" : "s") +
                      " of up to " + std::to_string(t.chunksize) + " input" +
                      (t.chunksize == 1 ? "" : "s") + ", " + std::to_string(2 * chunks) +
                      " messages (one out and one back per chunk)",
                  std::to_string(t.chunks.size()) + " chunks sent (" + t.boundaries() + "), " +
                      std::to_string(t.chunkResults) + " results received");
        Value::List sorted = t.results;
        std::sort(sorted.begin(), sorted.end(), [](const Value& a, const Value& b) {
            return a.isInt() && b.isInt() ? a.asInt() < b.asInt() : a.repr() < b.repr();
        });
        if (sorted != sortedExpected) {
            sameResults = false;
            seen += " chunksize " + std::to_string(t.chunksize) + ": " +
                    std::to_string(t.results.size()) + " results;";
        }
    }
    run.check(sameResults,
              part + ": every chunksize returned the same " + std::to_string(n) +
                  " results (in arrival order; sorted, they are the expected ones)",
              seen);
}

void notePart(ScenarioRun& run, const std::string& part, const std::vector<ChunkTrial>& trials)
{
    if (trials.size() < 3)
        return;
    std::string text = part + ": first result after";
    for (std::size_t i = 0; i < trials.size(); ++i)
        text += (i ? ", " : " ") + ms(trials[i].firstSeconds);
    text += "; all done after";
    for (std::size_t i = 0; i < trials.size(); ++i)
        text += (i ? ", " : " ") + ms(trials[i].totalSeconds);
    text += " (chunksize " + std::to_string(trials[0].chunksize) + ", " +
            std::to_string(trials[1].chunksize) + ", " + std::to_string(trials[2].chunksize) + ")";
    run.note(text);
}

} // namespace

std::vector<ParameterSpec> ChunksizeScenario::parameters() const
{
    using N = ParameterSpec::Name;
    return {
        {N::Workers, 2, 1, 16, "pool size"},
        {N::Chunksize, 0, 1, kTinyCount,
         "the large chunksize compared with 1 and map's default (default: one chunk per worker)"},
        {N::StartMethod, 0, 0, 2, "how the workers start"},
        {N::TimeScale, 1, 0, 10, "multiplies the uneven tasks' sleeps"},
    };
}

void ChunksizeScenario::run(ScenarioRun& run) const
{
    const int workers = run.workers();
    run.describeMainCall("square", kTinyCount, workers,
                         Pool::defaultChunksize(kTinyCount, workers));

    // --- tiny tasks: squaring is nothing, the messages are everything ---
    Value::List numbers;
    Value::List squares;
    for (int i = 1; i <= kTinyCount; ++i) {
        numbers.emplace_back(i);
        squares.emplace_back(std::int64_t(i) * i);
    }
    run.print("--- Tiny tasks: square over " + TextTable::grouped(kTinyCount) + " numbers, Pool(" +
              std::to_string(workers) + "), imap_unordered ---");
    const auto tiny = runPart(run, "square", numbers, workers);
    checkPart(run, "tiny tasks", tiny, numbers, squares);
    notePart(run, "tiny tasks", tiny);
    if (run.cancelled())
        return;

    // --- uneven tasks: one long sleep first, then short ones ---
    Value::List delays{kLongTask};
    for (int i = 1; i < kUnevenCount; ++i)
        delays.emplace_back(kShortTask);
    run.print("--- Uneven tasks: sleep(" + TextTable::fixed(kLongTask, 1) + ") once, then sleep(" +
              TextTable::fixed(kShortTask, 1) + ") " + std::to_string(kUnevenCount - 1) +
              " times, Pool(" + std::to_string(workers) + "), imap_unordered ---");
    const auto uneven = runPart(run, "sleep", delays, workers);
    checkPart(run, "uneven tasks", uneven, delays, Value::List(delays.size()));
    notePart(run, "uneven tasks", uneven);
}

} // namespace poolscope
