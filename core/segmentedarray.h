#pragma once

#include "sparemapping.h"
#include "sparepointer.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <stdexcept>
#include <sys/mman.h>
#include <sys/types.h>
#include <type_traits>
#include <unistd.h>
#include <utility>

namespace poolscope {

// An append-only array whose elements never move: a fixed directory of fixed-size segments,
// each mapped on first use. One writer at a time (the caller serializes appends); readers on
// other threads may read any index below the size they observed with an acquire load, without
// a lock. The storage under EventLog. The directory is small on purpose (4,096 segments: 33.5M
// elements of 8,192 per segment by default), since every log pays for it up front.
template <class T, std::size_t SegmentBits = 13, std::size_t MaxSegments = (std::size_t(1) << 12)>
class SegmentedArray
{
public:
    static constexpr std::size_t kSegmentSize = std::size_t(1) << SegmentBits;

    SegmentedArray() : m_segments(takeDirectory()), m_owner(::getpid()) {}
    ~SegmentedArray()
    {
        // A fork child's copy of an array has no segments to end: they are not mapped there
        // (MADV_DONTFORK). Its elements are left as they are, and its directory is cleared for
        // the next array of the child.
        const bool own = ::getpid() == m_owner;
        const std::size_t n = own ? m_size.load(std::memory_order_acquire) : 0;
        if constexpr (!std::is_trivially_destructible_v<T>) {
            for (std::size_t i = 0; i < n; ++i)
                (*this)[i].~T();
        }
        // Segments are mapped in order, up to the one that holds element m_pending at most.
        const std::size_t mapped = std::min(MaxSegments, (m_pending >> SegmentBits) + 1);
        for (std::size_t i = 0; i < mapped; ++i) {
            T* segment = m_segments[i].load(std::memory_order_relaxed);
            if (!segment)
                continue;
            if (own && i == 0)
                spareFirst().keep(segment, kSegmentBytes);
            else if (own)
                ::munmap(segment, kSegmentBytes);
            m_segments[i].store(nullptr, std::memory_order_relaxed);
        }
        releaseDirectory(std::move(m_segments)); // all null again
    }
    SegmentedArray(const SegmentedArray&) = delete;
    SegmentedArray& operator=(const SegmentedArray&) = delete;

    std::size_t size() const { return m_size.load(std::memory_order_acquire); }

    // Writer only. Constructs the element in place; it becomes visible to readers at publish().
    template <class... Args> T& emplace(Args&&... args)
    {
        T* slot = new (nextSlot()) T(std::forward<Args>(args)...);
        ++m_pending;
        return *slot;
    }
    // Writer only. Appends n elements, element k made by make(k) (returning a T), written
    // segment by segment: for runs of many elements (a worker's report of a whole chunk).
    template <class Make> void emplaceRun(std::size_t n, Make&& make)
    {
        for (std::size_t k = 0; k < n;) {
            T* out = nextSlot();
            const std::size_t run =
                std::min(n - k, kSegmentSize - (m_pending & (kSegmentSize - 1)));
            for (std::size_t i = 0; i < run; ++i)
                new (out + i) T(make(k + i));
            m_pending += run;
            k += run;
        }
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

    // Where element m_pending goes, its segment mapped if it is the first there.
    T* nextSlot()
    {
        const std::size_t seg = m_pending >> SegmentBits;
        if (seg >= MaxSegments)
            throw std::length_error("event log is full");
        T* segment = m_segments[seg].load(std::memory_order_relaxed);
        if (!segment) {
            segment = allocateSegment(seg > 0);
            m_segments[seg].store(segment, std::memory_order_release);
        }
        return segment + (m_pending & (kSegmentSize - 1));
    }

    // Memory is cheap to reserve and dear to touch: a page fault costs microseconds in a VM. The
    // first segment is mapped plainly, so that a small log (a pool's start-up, a scenario)
    // touches only the pages it fills. Later segments are mapped whole at once: one system call
    // instead of a fault per page; and a segment of 2 MiB or more starts at a 2 MiB boundary,
    // so that its whole 2 MiB are backed by huge pages where the kernel allows (transparent
    // huge pages, "madvise" or "always"): one clearing of 2 MiB (about 30 us here) instead of
    // populating 512 pages (about 600 us). The rest of it, if any, gets plain pages.
    //
    // The first segment of an array that has ended is kept for the next array of its kind
    // (spareFirst): a log made per pool (a pool's own, or the bench's) then maps nothing for
    // its first events, and faults no page that an earlier log touched. Its old elements are
    // dead (destroyed); new ones are constructed over them.
    static T* allocateSegment(bool later)
    {
        if (!later) {
            if (void* kept = spareFirst().take(kSegmentBytes))
                return static_cast<T*>(kept); // already MADV_DONTFORK
        }
        void* p = (later && kSegmentBytes >= kHugePage) ? mapHuge() : nullptr;
        if (!p) {
            p = ::mmap(nullptr, kSegmentBytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | (later ? MAP_POPULATE : 0), -1, 0);
            if (p == MAP_FAILED)
                throw std::bad_alloc();
        }
        // Children forked later (fork start method) never read the log: not copying its page
        // tables keeps fork fast however long the log has grown. (A fork child that touched
        // this memory would fault; nothing in a child does.)
        ::madvise(p, kSegmentBytes, MADV_DONTFORK);
        return static_cast<T*>(p);
    }

    static SpareMapping& spareFirst()
    {
        static SpareMapping spare;
        return spare;
    }

    // The directory of an ended array, all null again, is kept for the next array of its kind
    // too: 32 KiB that a new log would otherwise zero, and scan when it ends (24 us for a log
    // of a few events, made and ended), and in a process that has forked since, fault in page by
    // page. It is private memory: a fork child's copy is its own, fit to take.
    using Directory = std::unique_ptr<std::atomic<T*>[]>;
    static void freeDirectory(std::atomic<T*>* directory) { delete[] directory; }
    static SparePointer<std::atomic<T*>, freeDirectory>& spareDirectory()
    {
        static SparePointer<std::atomic<T*>, freeDirectory> spare;
        return spare;
    }
    static Directory takeDirectory()
    {
        if (std::atomic<T*>* kept = spareDirectory().take())
            return Directory(kept);
        Directory directory(new std::atomic<T*>[MaxSegments]);
        for (std::size_t i = 0; i < MaxSegments; ++i)
            directory[i].store(nullptr, std::memory_order_relaxed);
        return directory;
    }
    static void releaseDirectory(Directory directory)
    {
        spareDirectory().keep(directory.release());
    }

    // kSegmentBytes at a 2 MiB boundary, asked to be huge pages (whole 2 MiB of it) and
    // populated; null when the mapping fails (the caller falls back to plain pages).
    static void* mapHuge()
    {
        const std::size_t span = kSegmentBytes + kHugePage;
        void* raw =
            ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (raw == MAP_FAILED)
            return nullptr;
        const auto base = reinterpret_cast<std::uintptr_t>(raw);
        const std::uintptr_t start = (base + kHugePage - 1) & ~std::uintptr_t(kHugePage - 1);
        if (start > base)
            ::munmap(raw, start - base);
        if (const std::size_t tail = base + span - (start + kSegmentBytes); tail > 0)
            ::munmap(reinterpret_cast<void*>(start + kSegmentBytes), tail);
        void* p = reinterpret_cast<void*>(start);
        ::madvise(p, kSegmentBytes, MADV_HUGEPAGE);  // no-op where huge pages are off
        ::madvise(p, kSegmentBytes, kPopulateWrite); // else faulted in on first use
        return p;
    }

    static constexpr std::size_t kHugePage = std::size_t(2) << 20;
#ifdef MADV_POPULATE_WRITE
    static constexpr int kPopulateWrite = MADV_POPULATE_WRITE;
#else
    static constexpr int kPopulateWrite = 23; // Linux 5.14; older kernels answer EINVAL
#endif

    Directory m_segments;
    pid_t m_owner; // the process that made the array, and maps its segments
    std::atomic<std::size_t> m_size{0};
    std::size_t m_pending = 0; // the writer's count
};

} // namespace poolscope
