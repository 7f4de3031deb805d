#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace poolscope {

// Helpers for the byte streams that processes share (TaskQueue, ResultRing).

// futex() on a word in memory that several processes map (not FUTEX_PRIVATE). Waits while the
// word holds `expected`, at most timeoutNs; returns false when the wait timed out.
bool sharedFutexWait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                     std::int64_t timeoutNs);
// Wakes up to `count` waiters on the word.
void sharedFutexWake(std::atomic<std::uint32_t>& word, int count);

// A ring of `capacity` bytes at `data`, stream position pos at data[pos % capacity]: copies n
// bytes in at pos, or out from pos, wrapping around the end. n may be 0 (src, dst unused: an
// empty message's span may hold no pointer at all). Inline: on every message's path.
inline void copyIntoRing(std::uint8_t* data, std::size_t capacity, std::uint64_t pos,
                         const std::uint8_t* src, std::size_t n)
{
    if (n == 0)
        return;
    const std::size_t at = std::size_t(pos % capacity);
    const std::size_t first = std::min(n, capacity - at);
    std::memcpy(data + at, src, first);
    std::memcpy(data, src + first, n - first);
}

inline void copyOutOfRing(const std::uint8_t* data, std::size_t capacity, std::uint64_t pos,
                          std::uint8_t* dst, std::size_t n)
{
    if (n == 0)
        return;
    const std::size_t at = std::size_t(pos % capacity);
    const std::size_t first = std::min(n, capacity - at);
    std::memcpy(dst, data + at, first);
    std::memcpy(dst + first, data, n - first);
}

} // namespace poolscope
