#include "eventlog.h"

#include <cstdint>
#include <new>
#include <stdexcept>
#include <sys/mman.h>

namespace poolscope {

namespace {

constexpr std::size_t kSegmentBytes = EventLog::kSegmentSize * sizeof(Event);

// Raw storage for one segment. Events are constructed in place as they are appended, so the
// untouched part of the last segment costs nothing. (Huge pages were tried: zeroing 2 MiB at
// a time made recording slower here, not faster.)
Event* allocateSegment()
{
    void* p =
        ::mmap(nullptr, kSegmentBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        throw std::bad_alloc();
    return static_cast<Event*>(p);
}

} // namespace

EventLog::EventLog() : m_segments(new std::atomic<Event*>[kMaxSegments])
{
    for (std::size_t i = 0; i < kMaxSegments; ++i)
        m_segments[i].store(nullptr, std::memory_order_relaxed);
}

EventLog::~EventLog()
{
    const std::size_t n = m_size.load(std::memory_order_acquire);
    for (std::size_t i = 0; i < n; ++i)
        at(i).~Event();
    for (std::size_t i = 0; i < kMaxSegments; ++i) {
        if (Event* segment = m_segments[i].load(std::memory_order_relaxed))
            ::munmap(segment, kSegmentBytes);
    }
}

void EventLog::appendLocked(Event&& event)
{
    const std::size_t n = m_size.load(std::memory_order_relaxed);
    const std::size_t seg = n >> kSegmentBits;
    if (seg >= kMaxSegments)
        throw std::length_error("event log is full");
    Event* segment = m_segments[seg].load(std::memory_order_relaxed);
    if (!segment) {
        segment = allocateSegment();
        m_segments[seg].store(segment, std::memory_order_release);
    }
    new (&segment[n & (kSegmentSize - 1)]) Event(std::move(event));
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
