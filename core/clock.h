#pragma once

#include <cstdint>
#include <ctime>
#include <sys/syscall.h>
#include <unistd.h>

namespace poolscope {

// The one clock of every PoolScope process: CLOCK_MONOTONIC is system-wide, so timestamps
// taken in the parent, in workers and in the fork server compare directly. Nanoseconds.
inline std::int64_t monotonicNs()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// The same clock read by a system call rather than through the vDSO: for a fork child's first
// reading, where the vDSO (and libc's clock_gettime() in front of it) would be two pages of
// code to fault in, about 3 us each with their unmapping at exit; the system call costs well
// under one.
inline std::int64_t monotonicNsBySyscall()
{
    timespec ts{};
    ::syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
    return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

} // namespace poolscope
