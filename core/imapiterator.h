#pragma once

#include "adaptivemutex.h"
#include "remoteerror.h"
#include "value.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <variant>

namespace poolscope {

class EventLog;

// The iterator imap and imap_unordered return. next() blocks for the next result: a value, or
// a PoolError for a task that raised (iteration can go on after it, as in Python), or
// std::nullopt at the end (StopIteration). next(timeout) throws PoolTimeoutError.
// Ordered: a result that arrives before its predecessors is held back until they arrive.
// Unordered: each result is handed out as soon as it arrives (a chunk's items together).
class ImapIterator
{
public:
    std::optional<Value> next(std::optional<double> timeoutSeconds = std::nullopt);

    // --- used by the pool ---
    struct Item
    {
        std::int64_t task = -1;
        std::variant<Value, RemoteError> result;
    };
    // endsAfterError: with chunksize > 1 Python's imap is a generator over chunks, so the
    // first error ends the iteration; with chunksize 1 iteration can go on after an error.
    ImapIterator(int job, bool ordered, bool endsAfterError, std::shared_ptr<EventLog> log);
    int job() const { return m_job; }
    // The results of one chunk (in task order); a failed chunk delivers one error item.
    void deliverChunk(std::int64_t chunk, std::vector<Item> items);
    // The total number of chunks once known (input fully consumed); until then next() cannot
    // report the end.
    void setChunkCount(std::int64_t chunks);

private:
    // How long next() looks for a result without sleeping (see next()): about twice the
    // wake-up of a thread on a halted vCPU of this project's VM, as AsyncResult's.
    static constexpr std::int64_t kSpinNs = 50'000;

    const int m_job;
    const bool m_ordered;
    const bool m_endsAfterError;
    std::shared_ptr<EventLog> m_log;

    // Taken by the caller for each result and by the result thread for each delivery, a few
    // hundred nanoseconds each: it tries again before it sleeps (AdaptiveMutex).
    AdaptiveMutex m_mutex;
    std::condition_variable_any m_cv;
    std::deque<Item> m_ready;                          // handed out in this order
    std::map<std::int64_t, std::vector<Item>> m_early; // ordered mode: chunks that came early
    std::int64_t m_nextChunk = 0; // ordered mode: the chunk the caller waits for
    std::int64_t m_chunksDelivered = 0;
    std::optional<std::int64_t> m_chunkCount;
    std::int64_t m_chunksReady = 0;          // chunks moved to m_ready (or handed out)
    bool m_finished = false;                 // an error ended the iteration
    std::atomic<std::uint64_t> m_changes{0}; // counts deliveries, for next()'s looks
};

} // namespace poolscope
