#pragma once

#include <cstddef>
#include <utility>

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

} // namespace poolscope
