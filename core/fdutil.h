#pragma once

#include <cstddef>
#include <span>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace poolscope {

// Owns one descriptor and closes it; -1 when empty.
class UniqueFd
{
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : m_fd(fd) {}
    ~UniqueFd() { reset(); }
    UniqueFd(UniqueFd&& other) noexcept : m_fd(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept
    {
        if (this != &other)
            reset(other.release());
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;

    int get() const { return m_fd; }
    explicit operator bool() const { return m_fd >= 0; }
    int release() { return std::exchange(m_fd, -1); }
    void reset(int fd = -1);

private:
    int m_fd = -1;
};

// send() on a socket until everything is written, retrying on EINTR, with MSG_NOSIGNAL: a gone
// peer gives false (EPIPE), never a SIGPIPE that would kill the parent. Never throws.
bool sendAll(int fd, const void* data, std::size_t size);
// recv() exactly size bytes; false on EOF or error (including EOF part-way). Never throws.
bool recvAll(int fd, void* data, std::size_t size);

// One sendmsg() of data with fds attached (SCM_RIGHTS; none when empty), retrying on EINTR.
// Returns what sendmsg() returns (bytes sent, or -1 with errno set; EINVAL for more than 253
// descriptors, as the kernel would say). flags go to sendmsg() as they are: the caller chooses
// MSG_NOSIGNAL and MSG_DONTWAIT, and handles EAGAIN and short sends.
ssize_t sendWithFds(int sock, const void* data, std::size_t size, std::span<const int> fds,
                    int flags);
// One recvmsg() into data, retrying on EINTR. The descriptors that came with the message are
// appended to fds, already O_CLOEXEC (MSG_CMSG_CLOEXEC) so that no exec can leak them. There is
// room for at least maxFds (up to 253); the kernel closes any that do not fit and sets
// MSG_CTRUNC. Returns what recvmsg() returns; *msgFlags (when given) gets the message's flags
// (MSG_TRUNC, MSG_CTRUNC) for the caller to judge.
ssize_t recvWithFds(int sock, void* data, std::size_t size, std::vector<UniqueFd>& fds,
                    std::size_t maxFds, int* msgFlags);

} // namespace poolscope
