#pragma once

#include <string>

namespace poolscope {

// An exception raised in another process (or by the pool on a task's behalf), as the caller
// sees it: Python's type name, its message and the remote traceback text.
struct RemoteError
{
    std::string type;      // "ValueError", "WorkerLostError", ...
    std::string message;   // "boom"
    std::string traceback; // the worker's account of where it happened

    // "ValueError: boom", as Python prints an exception.
    std::string text() const { return message.empty() ? type : type + ": " + message; }
    bool operator==(const RemoteError&) const = default;
};

} // namespace poolscope
