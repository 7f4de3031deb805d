#pragma once

#include "event.h"

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <span>

namespace poolscope {

// Append-only, thread-safe log of a run's events, in the order the parent learned of them.
// Writers serialize on a mutex; readers never lock: an event at an index below size() is
// complete and never moves (storage is a fixed directory of fixed-size segments), so a view
// can read [seen, size()) in batches from another thread while the pool runs.
class EventLog
{
public:
    EventLog();
    ~EventLog();
    EventLog(const EventLog&) = delete;
    EventLog& operator=(const EventLog&) = delete;

    void append(Event event);
    void append(std::span<Event> events); // one lock for a batch; moves the events out

    std::size_t size() const { return m_size.load(std::memory_order_acquire); }
    // Valid for index < size() as observed by this thread.
    const Event& at(std::size_t index) const;

    // The run's time origin: the timestamp of the first event (0 while empty).
    std::int64_t startNs() const;

    static constexpr std::size_t kSegmentBits = 13;
    static constexpr std::size_t kSegmentSize = std::size_t(1) << kSegmentBits;
    static constexpr std::size_t kMaxSegments = std::size_t(1) << 14; // 134M events

private:
    void appendLocked(Event&& event);

    std::unique_ptr<std::atomic<Event*>[]> m_segments;
    std::mutex m_writeMutex;
    std::atomic<std::size_t> m_size{0};
};

} // namespace poolscope
