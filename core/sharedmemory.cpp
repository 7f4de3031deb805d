#include "sharedmemory.h"

#include <cerrno>
#include <ctime>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace poolscope {

bool sharedFutexWait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                     std::int64_t timeoutNs)
{
    timespec ts{time_t(timeoutNs / 1'000'000'000), long(timeoutNs % 1'000'000'000)};
    const long r = ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT,
                             expected, &ts, nullptr, 0);
    return !(r == -1 && errno == ETIMEDOUT);
}

void sharedFutexWake(std::atomic<std::uint32_t>& word, int count)
{
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE, count, nullptr,
              nullptr, 0);
}

} // namespace poolscope
