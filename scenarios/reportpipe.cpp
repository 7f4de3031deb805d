#include "reportpipe.h"

#include "clock.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <stdexcept>
#include <unistd.h>

namespace poolscope {

ReportPipe::ReportPipe()
{
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0)
        throw std::runtime_error(std::string("cannot create a pipe: ") + std::strerror(errno));
    m_read.reset(p[0]);
    m_write.reset(p[1]);
}

std::optional<std::string> ReportPipe::readLine(double timeoutSeconds)
{
    const std::int64_t deadline = monotonicNs() + std::int64_t(timeoutSeconds * 1e9);
    for (;;) {
        if (const auto nl = m_buffer.find('\n'); nl != std::string::npos) {
            std::string line = m_buffer.substr(0, nl);
            m_buffer.erase(0, nl + 1);
            return line;
        }
        if (m_eof) {
            if (m_buffer.empty())
                return std::nullopt;
            return std::exchange(m_buffer, {});
        }
        const std::int64_t left = deadline - monotonicNs();
        if (left <= 0)
            return std::nullopt;
        pollfd p{m_read.get(), POLLIN, 0};
        const int ready = ::poll(&p, 1, int(left / 1'000'000) + 1);
        if (ready < 0 && errno != EINTR)
            throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
        if (ready <= 0)
            continue;
        char buf[512];
        const ssize_t n = ::read(m_read.get(), buf, sizeof buf);
        if (n > 0)
            m_buffer.append(buf, std::size_t(n));
        else if (n == 0)
            m_eof = true;
        else if (errno != EINTR && errno != EAGAIN)
            throw std::runtime_error(std::string("read: ") + std::strerror(errno));
    }
}

} // namespace poolscope
