#include "processbackend.h"

#include "clock.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <csignal>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace poolscope {

ProcessBackend::~ProcessBackend()
{
    close();
}

std::optional<int> ProcessBackend::wait(std::optional<double> timeoutSeconds)
{
    if (m_returncode)
        return m_returncode;
    if (!timeoutSeconds)
        return collect(true);
    // As CPython's Popen.wait: wait for the sentinel, then collect (without blocking for a
    // zero timeout, so that join(0) returns at once). A child without one (a fork child
    // started with ProcessOptions::sentinel false) is waited for on a pidfd.
    if (m_sentinel < 0)
        return waitWithoutSentinel(*timeoutSeconds);
    if (!waitReadable(m_sentinel, timeoutSeconds))
        return std::nullopt;
    return collect(*timeoutSeconds > 0);
}

std::optional<int> ProcessBackend::waitWithoutSentinel(double timeoutSeconds)
{
    if (const auto code = collect(false))
        return code;
    const int pidfd = int(::syscall(SYS_pidfd_open, m_pid, 0));
    if (pidfd >= 0) {
        const bool ended = waitReadable(pidfd, timeoutSeconds);
        ::close(pidfd);
        return ended ? collect(true) : collect(false);
    }
    // No pidfd (a kernel before 5.3): look every millisecond.
    const std::int64_t deadline =
        monotonicNs() + std::int64_t(std::min(std::max(0.0, timeoutSeconds), 1e7) * 1e9);
    while (monotonicNs() < deadline) {
        ::usleep(1000);
        if (const auto code = collect(false))
            return code;
    }
    return collect(false);
}

void ProcessBackend::sendSignal(int sig)
{
    // A direct child stays a zombie until collected, so its pid cannot be reused before poll()
    // has seen it end; a fork-server child is collected by the server, which reports first.
    if (poll())
        return;
    ::kill(m_pid, sig); // ESRCH: it ended in between, nothing to do
}

void ProcessBackend::close()
{
    if (m_sentinel >= 0) {
        ::close(m_sentinel);
        m_sentinel = -1;
    }
}

int ProcessBackend::exitCodeFromStatus(int status)
{
    if (WIFSIGNALED(status))
        return -WTERMSIG(status);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 255;
}

std::optional<int> ProcessBackend::collectChild(bool block)
{
    if (m_returncode)
        return m_returncode;
    int status = 0;
    pid_t r;
    do {
        r = ::waitpid(m_pid, &status, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == m_pid)
        m_returncode = exitCodeFromStatus(status);
    else if (r < 0)
        m_returncode = 255; // ECHILD: reaped by someone else (SIGCHLD ignored); status unknown
    return m_returncode;
}

bool waitReadable(int fd, std::optional<double> timeoutSeconds)
{
    const std::int64_t deadline =
        timeoutSeconds ? monotonicNs() + std::int64_t(std::max(0.0, *timeoutSeconds) * 1e9) : 0;
    for (;;) {
        int timeoutMs = -1;
        if (timeoutSeconds) {
            const std::int64_t left = deadline - monotonicNs();
            // Round up so that a positive remainder never becomes a busy zero-timeout poll.
            timeoutMs =
                left <= 0 ? 0 : int(std::min<std::int64_t>((left + 999'999) / 1'000'000, INT_MAX));
        }
        pollfd p{fd, POLLIN, 0};
        const int n = ::poll(&p, 1, timeoutMs);
        if (n > 0)
            return true; // POLLIN, POLLHUP or POLLERR: all mean "look now"
        if (n == 0)
            return false;
        if (errno != EINTR)
            return true; // let the caller's read report the problem
    }
}

} // namespace poolscope
