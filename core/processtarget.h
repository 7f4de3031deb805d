#pragma once

#include "taskoptions.h"
#include "value.h"
#include "wire.h"

#include <functional>
#include <string>

namespace poolscope {

// What a child process runs.
class ProcessTarget
{
public:
    enum class Kind
    {
        Callable,
        Task,
        Entry
    };

    // Any C++ callable: fork only (nothing is serialized). Under spawn and forkserver, start()
    // refuses it with a "cannot serialize" ProcessError, as pickling a lambda fails in Python.
    // The child exits 0 when it returns, n on SystemExit{n}, 1 on any other exception (with a
    // traceback-like message on stderr).
    static ProcessTarget callable(std::function<void()> fn);
    // A registered task (TaskRegistry::builtins()) and its arguments: works with every start
    // method. The result is discarded, like a Process target's return value.
    static ProcessTarget task(std::string name, Value::List args, TaskOptions options = {});
    // An internal entry point of the worker program ("pool-worker"), with its payload. The
    // entry receives the payload and the descriptor numbers of ProcessOptions::passFds as the
    // child sees them.
    static ProcessTarget entry(std::string name, Bytes payload);

    Kind kind() const { return m_kind; }
    const std::function<void()>& function() const { return m_function; }
    const std::string& name() const { return m_name; }
    const Value::List& args() const { return m_args; }
    const TaskOptions& options() const { return m_options; }
    const Bytes& payload() const { return m_payload; }

private:
    Kind m_kind = Kind::Callable;
    std::function<void()> m_function;
    std::string m_name;
    Value::List m_args;
    TaskOptions m_options;
    Bytes m_payload;
};

} // namespace poolscope
