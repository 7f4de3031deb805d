#include "processtarget.h"

namespace poolscope {

ProcessTarget ProcessTarget::callable(std::function<void()> fn)
{
    ProcessTarget t;
    t.m_kind = Kind::Callable;
    t.m_function = std::move(fn);
    return t;
}

ProcessTarget ProcessTarget::task(std::string name, Value::List args, TaskOptions options)
{
    ProcessTarget t;
    t.m_kind = Kind::Task;
    t.m_name = std::move(name);
    t.m_args = std::move(args);
    t.m_options = options;
    return t;
}

ProcessTarget ProcessTarget::entry(std::string name, Bytes payload)
{
    ProcessTarget t;
    t.m_kind = Kind::Entry;
    t.m_name = std::move(name);
    t.m_payload = std::move(payload);
    return t;
}

} // namespace poolscope
