#pragma once

#include <stdexcept>
#include <string>

namespace poolscope {

// Misuse of a Process or a failure to start one. type() is the Python exception type a Python
// program would see: "AssertionError" (start twice), "ValueError" (closed process),
// "PicklingError" (cannot serialize the target for spawn/forkserver), "OSError".
class ProcessError : public std::runtime_error
{
public:
    ProcessError(std::string type, const std::string& message)
        : std::runtime_error(message), m_type(std::move(type))
    {}
    const std::string& type() const { return m_type; }

private:
    std::string m_type;
};

} // namespace poolscope
