#pragma once

#include "value.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace poolscope {

class ScenarioRun;

// One pass of the chunksize scenario: pool.imap_unordered(func, items, chunksize) on a fresh
// pool, consumed to the end. Times come from the caller's clock; the chunks and the messages
// from the pool's events, read once the pool has been joined (so that every event is in).
struct ChunkTrial
{
    int chunksize = 0;
    int job = -1;
    Value::List results;     // in the order they were handed out
    double firstSeconds = 0; // from the call to the first result in the caller's hands
    double totalSeconds = 0; // from the call to the end of the iteration
    std::vector<std::pair<std::int64_t, std::int64_t>> chunks; // (first, last) task index each
    int chunkResults = 0;  // result messages the parent received
    bool complete = false; // iterated to the end (not cancelled)

    // Starts Pool(workers) with the run's options and waits until every worker is up, so that
    // start-up is not counted; then runs and times the pass, closes and joins the pool.
    static ChunkTrial run(ScenarioRun& run, std::string_view func, const Value::List& items,
                          int workers, int chunksize);

    // A task message out and a result message back per chunk.
    int messages() const { return int(chunks.size()) + chunkResults; }
    // Whether the chunks were consecutive slices of chunksize items covering n inputs.
    bool slicesOf(std::int64_t n) const;
    // "[0..1249] [1250..2499] ... [8750..9999]": every chunk when there are at most `shown`,
    // else the first two and the last.
    std::string boundaries(std::size_t shown = 8) const;
};

} // namespace poolscope
