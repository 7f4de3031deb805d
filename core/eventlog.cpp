#include "eventlog.h"

#include <stdexcept>

namespace poolscope {

EventLog::EventLog() : m_segments(new std::atomic<Event*>[kMaxSegments])
{
    for (std::size_t i = 0; i < kMaxSegments; ++i)
        m_segments[i].store(nullptr, std::memory_order_relaxed);
}

EventLog::~EventLog()
{
    for (std::size_t i = 0; i < kMaxSegments; ++i)
        delete[] m_segments[i].load(std::memory_order_relaxed);
}

void EventLog::appendLocked(Event&& event)
{
    const std::size_t n = m_size.load(std::memory_order_relaxed);
    const std::size_t seg = n >> kSegmentBits;
    if (seg >= kMaxSegments)
        throw std::length_error("event log is full");
    Event* segment = m_segments[seg].load(std::memory_order_relaxed);
    if (!segment) {
        segment = new Event[kSegmentSize];
        m_segments[seg].store(segment, std::memory_order_release);
    }
    segment[n & (kSegmentSize - 1)] = std::move(event);
    m_size.store(n + 1, std::memory_order_release);
}

void EventLog::append(Event event)
{
    std::lock_guard lock(m_writeMutex);
    appendLocked(std::move(event));
}

void EventLog::append(std::span<Event> events)
{
    std::lock_guard lock(m_writeMutex);
    for (auto& e : events)
        appendLocked(std::move(e));
}

const Event& EventLog::at(std::size_t index) const
{
    const Event* segment = m_segments[index >> kSegmentBits].load(std::memory_order_acquire);
    return segment[index & (kSegmentSize - 1)];
}

std::int64_t EventLog::startNs() const
{
    return size() ? at(0).tNs : 0;
}

} // namespace poolscope
