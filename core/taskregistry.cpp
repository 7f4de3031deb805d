#include "taskregistry.h"

#include "systemexit.h"
#include "taskerror.h"

#include <cmath>
#include <thread>

namespace poolscope {

namespace {

void expectArgs(const char* name, const Value::List& args, std::size_t n)
{
    if (args.size() != n) {
        throw TaskError("TypeError", std::string(name) + "() takes " + std::to_string(n) +
                                         " positional argument" + (n == 1 ? "" : "s") + " but " +
                                         std::to_string(args.size()) +
                                         (args.size() == 1 ? " was" : " were") + " given");
    }
}

std::int64_t intArg(const char* name, const Value& v)
{
    if (v.isInt())
        return v.asInt();
    if (v.isBool())
        return v.asBool() ? 1 : 0;
    throw TaskError("TypeError", std::string(name) + "() needs an int, not " + v.repr());
}

double numberArg(const char* name, const Value& v)
{
    if (v.isFloat())
        return v.asFloat();
    return double(intArg(name, v));
}

void scaledSleep(double seconds, const TaskOptions& o)
{
    const double s = seconds * o.timeScale;
    if (s > 0)
        std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

Value square(const Value::List& a, TaskContext&)
{
    expectArgs("square", a, 1);
    const auto x = intArg("square", a[0]);
    return Value(x * x);
}

Value cube(const Value::List& a, TaskContext&)
{
    expectArgs("cube", a, 1);
    const auto x = intArg("cube", a[0]);
    return Value(x * x * x);
}

Value isPrimeTask(const Value::List& a, TaskContext&)
{
    expectArgs("is_prime", a, 1);
    return Value(isPrime(intArg("is_prime", a[0])));
}

Value slowSquare(const Value::List& a, TaskContext& ctx)
{
    expectArgs("slow_square", a, 1);
    const auto x = intArg("slow_square", a[0]);
    ctx.delaySeconds = ctx.options.delayFor(ctx.index);
    scaledSleep(ctx.delaySeconds, ctx.options);
    return Value(x * x);
}

Value sleepTask(const Value::List& a, TaskContext& ctx)
{
    expectArgs("sleep", a, 1);
    ctx.delaySeconds = numberArg("sleep", a[0]);
    if (ctx.delaySeconds < 0)
        throw TaskError("ValueError", "sleep length must be non-negative");
    scaledSleep(ctx.delaySeconds, ctx.options);
    return Value();
}

Value boom(const Value::List& a, TaskContext& ctx)
{
    expectArgs("boom", a, 1);
    if (ctx.index == ctx.options.failAt)
        throw TaskError("ValueError", "boom");
    const auto x = intArg("boom", a[0]);
    return Value(x * x);
}

Value add(const Value::List& a, TaskContext&)
{
    expectArgs("add", a, 2);
    return Value(intArg("add", a[0]) + intArg("add", a[1]));
}

Value exitWith(const Value::List& a, TaskContext&)
{
    expectArgs("exit_with", a, 1);
    throw SystemExit{int(intArg("exit_with", a[0]))};
}

Value raiseError(const Value::List& a, TaskContext&)
{
    throw TaskError("RuntimeError", a.empty() ? "raised on purpose" : a[0].str());
}

TaskRegistry makeBuiltins()
{
    TaskRegistry r;
    r.add("square", square);
    r.add("cube", cube);
    r.add("is_prime", isPrimeTask);
    r.add("slow_square", slowSquare);
    r.add("sleep", sleepTask);
    r.add("boom", boom);
    r.add("add", add);
    r.add("exit_with", exitWith);
    r.add("raise_error", raiseError);
    return r;
}

} // namespace

bool isPrime(std::int64_t n)
{
    if (n < 2)
        return false;
    if (n % 2 == 0)
        return n == 2;
    const auto r = static_cast<std::int64_t>(std::sqrt(double(n)));
    for (std::int64_t f = 3; f <= r + 1 && f * f <= n; f += 2) {
        if (n % f == 0)
            return false;
    }
    return true;
}

const TaskRegistry& TaskRegistry::builtins()
{
    static const TaskRegistry registry = makeBuiltins();
    return registry;
}

void TaskRegistry::add(std::string name, TaskFunction fn)
{
    m_tasks[std::move(name)] = fn;
}

TaskFunction TaskRegistry::find(std::string_view name) const
{
    auto it = m_tasks.find(name);
    return it == m_tasks.end() ? nullptr : it->second;
}

std::vector<std::string> TaskRegistry::names() const
{
    std::vector<std::string> out;
    for (const auto& [name, fn] : m_tasks)
        out.push_back(name);
    return out;
}

} // namespace poolscope
