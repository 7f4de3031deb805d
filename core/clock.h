#pragma once

#include <cstdint>
#include <ctime>

namespace poolscope {

// The one clock of every PoolScope process: CLOCK_MONOTONIC is system-wide, so timestamps
// taken in the parent, in workers and in the fork server compare directly. Nanoseconds.
inline std::int64_t monotonicNs()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

} // namespace poolscope
