#pragma once

#include <stdexcept>
#include <string>

namespace poolscope {

// Thrown by a task to raise a Python-style exception: TaskError("ValueError", "boom").
class TaskError : public std::runtime_error
{
public:
    TaskError(std::string type, std::string message)
        : std::runtime_error(type + ": " + message), m_type(std::move(type)),
          m_message(std::move(message))
    {}
    const std::string& type() const { return m_type; }
    const std::string& message() const { return m_message; }

private:
    std::string m_type;
    std::string m_message;
};

} // namespace poolscope
