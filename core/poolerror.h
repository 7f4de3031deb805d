#pragma once

#include "remoteerror.h"

#include <stdexcept>

namespace poolscope {

// What the pool API throws when a call raised: a task's exception carried back from a worker
// (ValueError: boom), a lost worker, or a misuse of the pool (ValueError: Pool not running).
class PoolError : public std::runtime_error
{
public:
    explicit PoolError(RemoteError error)
        : std::runtime_error(error.text()), m_error(std::move(error))
    {}
    PoolError(std::string type, std::string message)
        : PoolError(RemoteError{std::move(type), std::move(message), {}})
    {}
    const RemoteError& error() const { return m_error; }
    const std::string& type() const { return m_error.type; }

private:
    RemoteError m_error;
};

// multiprocessing.TimeoutError: distinct from every other failure.
class PoolTimeoutError : public PoolError
{
public:
    PoolTimeoutError() : PoolError("TimeoutError", "") {}
};

} // namespace poolscope
