#include "fdutil.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

namespace poolscope {

void UniqueFd::reset(int fd)
{
    if (m_fd >= 0)
        ::close(m_fd);
    m_fd = fd;
}

bool sendAll(int fd, const void* data, std::size_t size)
{
    const auto* p = static_cast<const std::uint8_t*>(data);
    while (size > 0) {
        const ssize_t n = ::send(fd, p, size, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        p += n;
        size -= std::size_t(n);
    }
    return true;
}

bool recvAll(int fd, void* data, std::size_t size)
{
    auto* p = static_cast<std::uint8_t*>(data);
    while (size > 0) {
        const ssize_t n = ::recv(fd, p, size, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        size -= std::size_t(n);
    }
    return true;
}

namespace {

// The kernel's SCM_MAX_FD: no message carries more descriptors.
constexpr std::size_t kMaxPassedFds = 253;

void initMessage(msghdr& msg, iovec& iov, char* control, std::size_t fds)
{
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (fds > 0) {
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds);
        std::memset(control, 0, msg.msg_controllen);
    }
}

} // namespace

ssize_t sendWithFds(int sock, const void* data, std::size_t size, std::span<const int> fds,
                    int flags)
{
    if (fds.size() > kMaxPassedFds) {
        errno = EINVAL; // what sendmsg() would say
        return -1;
    }
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxPassedFds)];
    iovec iov{const_cast<void*>(data), size};
    msghdr msg{};
    initMessage(msg, iov, control, fds.size());
    if (!fds.empty()) {
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    ssize_t n;
    do {
        n = ::sendmsg(sock, &msg, flags);
    } while (n < 0 && errno == EINTR);
    return n;
}

ssize_t recvWithFds(int sock, void* data, std::size_t size, std::vector<UniqueFd>& fds,
                    std::size_t maxFds, int* msgFlags)
{
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxPassedFds)];
    iovec iov{data, size};
    msghdr msg{};
    initMessage(msg, iov, control, std::min(maxFds, kMaxPassedFds));
    ssize_t n;
    do {
        n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return n;
    if (msgFlags)
        *msgFlags = msg.msg_flags;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            fds.emplace_back(fd);
        }
    }
    return n;
}

} // namespace poolscope
