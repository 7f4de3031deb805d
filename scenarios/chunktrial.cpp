#include "chunktrial.h"

#include "clock.h"
#include "pool.h"
#include "scenariorun.h"

namespace poolscope {

ChunkTrial ChunkTrial::run(ScenarioRun& run, std::string_view func, const Value::List& items,
                           int workers, int chunksize)
{
    ChunkTrial t;
    t.chunksize = chunksize;
    const EventLog& log = *run.log();
    const std::size_t before = log.size();
    {
        Pool pool(run.poolOptions(workers));
        pool.waitForWorkers();
        const std::int64_t start = monotonicNs();
        auto it = pool.imapUnordered(func, items, chunksize);
        while (!run.cancelled()) {
            auto v = it->next();
            if (!v) {
                t.complete = true;
                break;
            }
            if (t.results.empty())
                t.firstSeconds = double(monotonicNs() - start) / 1e9;
            t.results.push_back(std::move(*v));
        }
        t.totalSeconds = double(monotonicNs() - start) / 1e9;
        if (t.complete) {
            pool.close();
            pool.join();
        }
    } // a cancelled pass: leaving the block terminates the pool

    for (std::size_t i = before; i < log.size(); ++i) {
        const EventKind kind = log.kindAt(i);
        if (kind != EventKind::JobSubmitted && kind != EventKind::ChunkSubmitted &&
            kind != EventKind::ChunkResult)
            continue;
        const Event e = log.at(i);
        if (kind == EventKind::JobSubmitted && t.job < 0)
            t.job = e.job;
        else if (e.job != t.job)
            continue;
        else if (kind == EventKind::ChunkSubmitted)
            t.chunks.emplace_back(e.a, e.b);
        else if (kind == EventKind::ChunkResult)
            ++t.chunkResults;
    }
    return t;
}

bool ChunkTrial::slicesOf(std::int64_t n) const
{
    if (chunksize < 1)
        return false;
    const std::int64_t expected = (n + chunksize - 1) / chunksize;
    if (std::int64_t(chunks.size()) != expected)
        return false;
    for (std::size_t c = 0; c < chunks.size(); ++c) {
        const std::int64_t first = std::int64_t(c) * chunksize;
        const std::int64_t last = std::min(first + chunksize, n) - 1;
        if (chunks[c].first != first || chunks[c].second != last)
            return false;
    }
    return true;
}

std::string ChunkTrial::boundaries(std::size_t shown) const
{
    auto one = [&](std::size_t c) {
        const auto [first, last] = chunks[c];
        return first == last ? "[" + std::to_string(first) + "]"
                             : "[" + std::to_string(first) + ".." + std::to_string(last) + "]";
    };
    std::string out;
    for (std::size_t c = 0; c < chunks.size(); ++c) {
        if (chunks.size() > shown && c == 2) {
            out += " ...";
            c = chunks.size() - 1;
        }
        if (!out.empty())
            out += ' ';
        out += one(c);
    }
    return out;
}

} // namespace poolscope
