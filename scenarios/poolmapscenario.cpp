#include "poolmapscenario.h"

#include "pool.h"
#include "scenariorun.h"

#include <algorithm>
#include <string>

namespace poolscope {

std::vector<ParameterSpec> PoolMapScenario::parameters() const
{
    using N = ParameterSpec::Name;
    return {
        {N::Workers, 0, 1, 64, "pool size (default: one worker per CPU, as cpu_count())"},
        {N::Chunksize, 0, 1, 5, "items per chunk (default: ceil(5 / (4 x workers)))"},
        {N::StartMethod, 0, 0, 2, "how the workers start"},
    };
}

void PoolMapScenario::run(ScenarioRun& run) const
{
    const Value::List numbers{1, 2, 3, 4, 5};
    const int workers = run.workers();
    const auto chunksize = run.chunksize();
    const int expectedChunksize =
        chunksize.value_or(Pool::defaultChunksize(numbers.size(), workers));

    run.describeMainCall("square", std::int64_t(numbers.size()), run.workers(), expectedChunksize);

    Value::List results;
    int job = -1;
    {
        Pool pool(run.poolOptions(workers));
        const std::size_t before = run.log()->size();
        results = pool.map("square", numbers, chunksize);
        run.print(Value(results).repr());
        for (std::size_t i = before; i < run.log()->size() && job < 0; ++i) {
            const Event e = run.log()->at(i);
            if (e.kind == EventKind::JobSubmitted)
                job = e.job;
        }
        pool.close();
        pool.join();
    }

    Value::List expected;
    for (const auto& n : numbers)
        expected.emplace_back(n.asInt() * n.asInt());
    run.check(results == expected, "map returned [1, 4, 9, 16, 25], in input order",
              "got " + Value(results).repr());

    // The chunks map chose, from the events: consecutive slices of chunksize items.
    std::vector<std::pair<std::int64_t, std::int64_t>> chunks;
    std::vector<int> takenBy;
    for (std::size_t i = 0; i < run.log()->size(); ++i) {
        const Event e = run.log()->at(i);
        if (e.job != job)
            continue;
        if (e.kind == EventKind::ChunkSubmitted)
            chunks.emplace_back(e.a, e.b);
        else if (e.kind == EventKind::ChunkTaken)
            takenBy.push_back(e.worker);
    }
    bool slices = !chunks.empty();
    std::string seen;
    for (std::size_t c = 0; c < chunks.size(); ++c) {
        const auto first = std::int64_t(c) * expectedChunksize;
        const auto last = std::min<std::int64_t>(first + expectedChunksize, 5) - 1;
        slices = slices && chunks[c].first == first && chunks[c].second == last;
        seen +=
            " [" + std::to_string(chunks[c].first) + ".." + std::to_string(chunks[c].second) + "]";
    }
    const std::size_t expectedChunks = (numbers.size() + expectedChunksize - 1) / expectedChunksize;
    run.check(slices && chunks.size() == expectedChunks,
              "map cut the 5 items into " + std::to_string(expectedChunks) + " chunk" +
                  (expectedChunks == 1 ? "" : "s") + " of up to " +
                  std::to_string(expectedChunksize) + " (chunksize " +
                  (chunksize ? "given" : "ceil(5 / (4 x " + std::to_string(workers) + "))") + ")",
              "task index ranges:" + seen);
    run.check(takenBy.size() == chunks.size(), "every chunk was taken by exactly one worker",
              std::to_string(takenBy.size()) + " takes for " + std::to_string(chunks.size()) +
                  " chunks");

    std::sort(takenBy.begin(), takenBy.end());
    const auto distinct = std::unique(takenBy.begin(), takenBy.end()) - takenBy.begin();
    run.note(std::to_string(distinct) + " of " + std::to_string(workers) +
             " workers took a chunk (which ones is up to the scheduler)");
}

} // namespace poolscope
