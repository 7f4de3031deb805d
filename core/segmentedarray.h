#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <new>
#include <stdexcept>
#include <sys/mman.h>
#include <type_traits>
#include <utility>

namespace poolscope {

// An append-only array whose elements never move: a fixed directory of fixed-size segments,
// each mapped on first use. One writer at a time (the caller serializes appends); readers on
// other threads may read any index below the size they observed with an acquire load, without
// a lock. The storage under EventLog. The directory is small on purpose (4,096 segments: 33.5M
// elements of 8,192 per segment), since every log pays for it up front.
template <class T, std::size_t SegmentBits = 13, std::size_t MaxSegments = (std::size_t(1) << 12)>
class SegmentedArray
{
public:
    static constexpr std::size_t kSegmentSize = std::size_t(1) << SegmentBits;

    SegmentedArray() : m_segments(new std::atomic<T*>[MaxSegments])
    {
        for (std::size_t i = 0; i < MaxSegments; ++i)
            m_segments[i].store(nullptr, std::memory_order_relaxed);
    }
    ~SegmentedArray()
    {
        const std::size_t n = m_size.load(std::memory_order_acquire);
        if constexpr (!std::is_trivially_destructible_v<T>) {
            for (std::size_t i = 0; i < n; ++i)
                (*this)[i].~T();
        }
        for (std::size_t i = 0; i < MaxSegments; ++i) {
            if (T* segment = m_segments[i].load(std::memory_order_relaxed))
                ::munmap(segment, kSegmentBytes);
        }
    }
    SegmentedArray(const SegmentedArray&) = delete;
    SegmentedArray& operator=(const SegmentedArray&) = delete;

    std::size_t size() const { return m_size.load(std::memory_order_acquire); }

    // Writer only. Constructs the element in place; it becomes visible to readers at publish().
    template <class... Args> T& emplace(Args&&... args)
    {
        const std::size_t n = m_pending;
        const std::size_t seg = n >> SegmentBits;
        if (seg >= MaxSegments)
            throw std::length_error("event log is full");
        T* segment = m_segments[seg].load(std::memory_order_relaxed);
        if (!segment) {
            segment = allocateSegment(seg > 0);
            m_segments[seg].store(segment, std::memory_order_release);
        }
        T* slot = new (&segment[n & (kSegmentSize - 1)]) T(std::forward<Args>(args)...);
        ++m_pending;
        return *slot;
    }
    // Writer only: makes every element emplaced so far visible to readers.
    void publish() { m_size.store(m_pending, std::memory_order_release); }
    // Writer only: the number of elements emplaced, published or not.
    std::size_t pending() const { return m_pending; }

    // Valid for index < size() as observed by this thread (or < pending() for the writer).
    const T& operator[](std::size_t index) const
    {
        const T* segment = m_segments[index >> SegmentBits].load(std::memory_order_acquire);
        return segment[index & (kSegmentSize - 1)];
    }

private:
    static constexpr std::size_t kSegmentBytes = kSegmentSize * sizeof(T);

    // populate (MAP_POPULATE): one system call maps the whole segment instead of one page fault
    // per page as elements fill it (page faults are expensive in a VM). Only for the second
    // segment on: most logs are small (a pool's start-up, a scenario), and populating the first
    // segment would cost them the whole segment up front.
    static T* allocateSegment(bool populate)
    {
        void* p = ::mmap(nullptr, kSegmentBytes, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | (populate ? MAP_POPULATE : 0), -1, 0);
        if (p == MAP_FAILED)
            throw std::bad_alloc();
        // Children forked later (fork start method) never read the log: not copying its page
        // tables keeps fork fast however long the log has grown. (A fork child that touched
        // this memory would fault; nothing in a child does.)
        ::madvise(p, kSegmentBytes, MADV_DONTFORK);
        return static_cast<T*>(p);
    }

    std::unique_ptr<std::atomic<T*>[]> m_segments;
    std::atomic<std::size_t> m_size{0};
    std::size_t m_pending = 0; // the writer's count
};

} // namespace poolscope
