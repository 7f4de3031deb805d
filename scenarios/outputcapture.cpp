#include "outputcapture.h"

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <fcntl.h>
#include <poll.h>
#include <stdexcept>
#include <string.h>
#include <string_view>
#include <sys/eventfd.h>
#include <unistd.h>

namespace poolscope {

namespace {
// Written by sync() through the parent's own end of the pipe; never shown. One write of a few
// bytes is atomic on a pipe, so it never splits; it can land after a child's unfinished line.
constexpr std::string_view kMarker = "\x1epoolscope-sync\n";
} // namespace

OutputCapture::OutputCapture(Console& console) : m_console(console)
{
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0)
        throw std::runtime_error(std::string("cannot create the output pipe: ") +
                                 ::strerror(errno));
    m_readFd = p[0];
    m_writeFd = p[1];
    m_stopFd = ::eventfd(0, EFD_CLOEXEC);
    if (m_stopFd < 0) {
        ::close(m_readFd);
        ::close(m_writeFd);
        throw std::runtime_error(std::string("cannot create an eventfd: ") + ::strerror(errno));
    }
    m_reader = std::thread([this] { readLoop(); });
}

OutputCapture::~OutputCapture()
{
    finish(m_graceSeconds.load());
}

void OutputCapture::finish(double graceSeconds)
{
    if (!m_reader.joinable())
        return;
    {
        std::lock_guard lock(m_syncMutex);
        ::close(m_writeFd);
        m_writeFd = -1;
    }
    m_graceSeconds = graceSeconds; // read by the reader after the eventfd wakes it
    const std::uint64_t one = 1;
    (void)!::write(m_stopFd, &one, sizeof one);
    m_reader.join();
    ::close(m_readFd);
    ::close(m_stopFd);
    m_readFd = m_stopFd = -1;
}

void OutputCapture::sync()
{
    std::unique_lock lock(m_syncMutex);
    if (m_writeFd < 0 || m_readerDone)
        return;
    const std::uint64_t mine = ++m_syncSent;
    if (::write(m_writeFd, kMarker.data(), kMarker.size()) != ssize_t(kMarker.size()))
        return;
    m_synced.wait_for(lock, std::chrono::seconds(1),
                      [&] { return m_syncSeen >= mine || m_readerDone; });
}

void OutputCapture::emitLines(std::string& pending, bool all)
{
    std::size_t start = 0;
    for (;;) {
        const std::size_t nl = pending.find('\n', start);
        if (nl == std::string::npos)
            break;
        std::string line = pending.substr(start, nl - start);
        start = nl + 1;
        const std::string_view token = kMarker.substr(0, kMarker.size() - 1);
        if (const auto at = line.find(token); at != std::string::npos) {
            line.erase(at, token.size());
            if (!line.empty())
                m_console.print(ConsoleLine::Source::Child, std::move(line));
            std::lock_guard lock(m_syncMutex);
            ++m_syncSeen;
            m_synced.notify_all();
            continue;
        }
        m_console.print(ConsoleLine::Source::Child, std::move(line));
    }
    pending.erase(0, start);
    if (all && !pending.empty()) {
        m_console.print(ConsoleLine::Source::Child, pending);
        pending.clear();
    }
}

void OutputCapture::readLoop()
{
    using Clock = std::chrono::steady_clock;
    std::string pending;
    char buf[4096];
    bool finishing = false;
    Clock::time_point deadline;
    for (;;) {
        struct pollfd fds[2] = {{m_readFd, POLLIN, 0}, {m_stopFd, POLLIN, 0}};
        int timeoutMs = -1;
        if (finishing) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0)
                break; // a child still holds the pipe: stop listening to it
            timeoutMs = int(left.count()) + 1;
        }
        const int n = ::poll(fds, finishing ? 1 : 2, timeoutMs);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (!finishing && (fds[1].revents & POLLIN)) {
            finishing = true; // the parent's end is closed: read on until EOF or the deadline
            deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(m_graceSeconds.load()));
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            const ssize_t got = ::read(m_readFd, buf, sizeof buf);
            if (got > 0) {
                pending.append(buf, std::size_t(got));
                emitLines(pending, false);
                continue;
            }
            if (got < 0 && errno == EINTR)
                continue;
            break; // EOF: every writer closed its end
        }
    }
    emitLines(pending, true);
    std::lock_guard lock(m_syncMutex);
    m_readerDone = true;
    m_synced.notify_all();
}

} // namespace poolscope
