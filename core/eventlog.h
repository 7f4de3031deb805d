#pragma once

#include "event.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>

namespace poolscope {

// Append-only, thread-safe log of a run's events, in the order the parent learned of them.
// Writers serialize on a mutex; readers never lock: an event at an index below size() is
// complete and never changes, so a view can read [seen, size()) in batches from another thread
// while the pool runs.
//
// Storage is compact: an event is kept as a fixed-size plain record (80 bytes) with None, bool,
// int and float values inline; strings, lists, tuples and error texts go to a side array. at()
// rebuilds the Event. A pool records two events per task, so this is what recording costs.
// The storage is not inherited by fork children (MADV_DONTFORK): a child never reads the log.
class EventLog
{
public:
    EventLog();
    ~EventLog();
    EventLog(const EventLog&) = delete;
    EventLog& operator=(const EventLog&) = delete;

    void append(const Event& event);
    void append(std::span<const Event> events); // one lock and one publication for a batch

    // Appends under one lock, published together when the batch ends: for a writer that makes
    // many events at once (a worker's report of a whole chunk) and reuses one Event for them.
    class Batch
    {
    public:
        explicit Batch(EventLog& log);
        ~Batch();
        Batch(const Batch&) = delete;
        Batch& operator=(const Batch&) = delete;
        void add(const Event& event) { m_log.appendLocked(event); }

    private:
        EventLog& m_log;
        std::lock_guard<std::mutex> m_lock;
    };

    std::size_t size() const;
    // Valid for index < size() as observed by this thread.
    Event at(std::size_t index) const;
    // The same fields without rebuilding the whole event (for lookups by time or kind).
    std::int64_t timeAt(std::size_t index) const;
    EventKind kindAt(std::size_t index) const;

    // The run's time origin: the timestamp of the first event (0 while empty).
    std::int64_t startNs() const;

    static constexpr std::size_t kSegmentSize = std::size_t(1) << 13; // events per segment

private:
    struct Record;
    struct Storage;
    void appendLocked(const Event& event);

    std::unique_ptr<Storage> m_storage;
    std::mutex m_writeMutex;
};

} // namespace poolscope
