#include "taskregistry.h"

#include "childsetup.h"
#include "clock.h"
#include "systemexit.h"
#include "taskerror.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cmath>
#include <csignal>
#include <ctime>
#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

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

// What a task prints, as Python's print() would: one write(2) of the whole line to descriptor 1,
// so that the lines of concurrent workers never interleave (a pipe write of up to PIPE_BUF bytes
// is atomic). Errors are ignored; a reader that went away must not kill the worker, so SIGPIPE
// is blocked around the write and the one it raised, if any, is consumed.
void printLine(const std::string& line)
{
    sigset_t pipeSet;
    sigset_t old;
    sigemptyset(&pipeSet);
    sigaddset(&pipeSet, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipeSet, &old);
    sigset_t pending;
    sigpending(&pending);
    const bool wasPending = sigismember(&pending, SIGPIPE) == 1;
    ssize_t n;
    do {
        n = ::write(1, line.data(), line.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EPIPE && !wasPending) {
        const timespec zero{};
        while (::sigtimedwait(&pipeSet, nullptr, &zero) < 0 && errno == EINTR) {
        }
    }
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

// Python's f"{x:.2f}", independent of the C locale (a Qt parent may have set one).
std::string fixed2(double x)
{
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::fixed, 2);
    return std::string(buf, r.ptr);
}

std::int64_t squareInt(std::int64_t x, TaskContext&)
{
    return x * x;
}

Value square(const Value::List& a, TaskContext& ctx)
{
    expectArgs("square", a, 1);
    return Value(squareInt(intArg("square", a[0]), ctx));
}

std::int64_t cubeInt(std::int64_t x, TaskContext&)
{
    return x * x * x;
}

Value cube(const Value::List& a, TaskContext& ctx)
{
    expectArgs("cube", a, 1);
    return Value(cubeInt(intArg("cube", a[0]), ctx));
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
    const std::int64_t start = monotonicNs();
    scaledSleep(ctx.delaySeconds, ctx.options);
    const double slept = double(monotonicNs() - start) / 1e9;
    const Value result(x * x);
    // The article's print(f"Task {n} finished in {delay:.2f}s -> {result}"), with the time
    // actually slept.
    printLine("Task " + a[0].str() + " finished in " + fixed2(slept) + "s -> " + result.str() +
              "\n");
    return result;
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

std::int64_t boomInt(std::int64_t x, TaskContext& ctx)
{
    if (ctx.index == ctx.options.failAt)
        throw TaskError("ValueError", "boom");
    return x * x;
}

Value boom(const Value::List& a, TaskContext& ctx)
{
    expectArgs("boom", a, 1);
    if (ctx.index == ctx.options.failAt)
        throw TaskError("ValueError", "boom");
    return Value(boomInt(intArg("boom", a[0]), ctx));
}

// The article's callbacks example: sleeps a second, raises ValueError("boom") for 5.
Value work(const Value::List& a, TaskContext& ctx)
{
    expectArgs("work", a, 1);
    const auto x = intArg("work", a[0]);
    ctx.delaySeconds = 1.0;
    scaledSleep(ctx.delaySeconds, ctx.options);
    if (x == 5)
        throw TaskError("ValueError", "boom");
    return Value(x * x);
}

// The article's start-method example: print(f"Worker received {x}").
Value greet(const Value::List& a, TaskContext&)
{
    expectArgs("greet", a, 1);
    printLine("Worker received " + a[0].repr() + "\n");
    return Value();
}

// The article's Process lifecycle example: announces itself, sleeps a second, says done.
Value lifecycleWork(const Value::List& a, TaskContext& ctx)
{
    expectArgs("lifecycle_work", a, 1);
    const std::string name = currentProcess().name;
    printLine("[" + name + "] PID=" + std::to_string(::getpid()) + " start with n=" + a[0].str() +
              "\n");
    ctx.delaySeconds = 1.0;
    scaledSleep(ctx.delaySeconds, ctx.options);
    printLine("[" + name + "] done\n");
    return Value();
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

// The start-methods lesson, run in a child: what did it get from its parent? Prints
// "global=G descriptor=open|closed threads=T lock=free|held": lessonGlobal(), whether
// descriptor fd is the parent's file (device dev, inode ino: not just any file that happens to
// have that number), how many threads this process has, and whether lessonLock() can be taken
// within `wait` seconds (scaled; 0: a single try). Never blocks longer than that.
Value inheritedState(const Value::List& a, TaskContext& ctx)
{
    expectArgs("inherited_state", a, 4);
    const auto fd = intArg("inherited_state", a[0]);
    const auto dev = intArg("inherited_state", a[1]);
    const auto ino = intArg("inherited_state", a[2]);
    const double wait = std::max(0.0, numberArg("inherited_state", a[3]) * ctx.options.timeScale);
    struct stat st
    {};
    const bool open = fd >= 0 && fd <= INT_MAX && ::fstat(int(fd), &st) == 0 &&
                      std::int64_t(st.st_dev) == dev && std::int64_t(st.st_ino) == ino;
    int threads = 0;
    if (DIR* dir = ::opendir("/proc/self/task")) {
        while (const dirent* e = ::readdir(dir))
            threads += e->d_name[0] != '.';
        ::closedir(dir);
    }
    // Polls try_lock() instead of a timed lock: the same answer, and sanitizers see every
    // acquisition (ThreadSanitizer does not intercept pthread_mutex_clocklock).
    const std::int64_t deadline = monotonicNs() + std::int64_t(wait * 1e9);
    bool lockFree = lessonLock().try_lock();
    while (!lockFree && monotonicNs() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        lockFree = lessonLock().try_lock();
    }
    if (lockFree)
        lessonLock().unlock();
    printLine("global=" + std::to_string(lessonGlobal().load()) +
              " descriptor=" + (open ? "open" : "closed") + " threads=" + std::to_string(threads) +
              " lock=" + (lockFree ? "free" : "held") + "\n");
    return Value();
}

TaskRegistry makeBuiltins()
{
    TaskRegistry r;
    r.add("square", square, runIntTasks<squareInt>);
    r.add("cube", cube, runIntTasks<cubeInt>);
    r.add("is_prime", isPrimeTask);
    r.add("slow_square", slowSquare);
    r.add("sleep", sleepTask);
    r.add("boom", boom, runIntTasks<boomInt>);
    r.add("add", add);
    r.add("exit_with", exitWith);
    r.add("raise_error", raiseError);
    r.add("work", work);
    r.add("greet", greet);
    r.add("lifecycle_work", lifecycleWork);
    r.add("inherited_state", inheritedState);
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

std::atomic<std::int64_t>& lessonGlobal()
{
    static std::atomic<std::int64_t> value{0};
    return value;
}

std::mutex& lessonLock()
{
    static std::mutex lock;
    return lock;
}

const TaskRegistry& TaskRegistry::builtins()
{
    static const TaskRegistry registry = makeBuiltins();
    return registry;
}

void TaskRegistry::add(std::string name, TaskFunction fn, IntKernel kernel)
{
    m_tasks[std::move(name)] = Entry{fn, kernel};
}

TaskFunction TaskRegistry::find(std::string_view name) const
{
    auto it = m_tasks.find(name);
    return it == m_tasks.end() ? nullptr : it->second.fn;
}

IntKernel TaskRegistry::findKernel(std::string_view name) const
{
    auto it = m_tasks.find(name);
    return it == m_tasks.end() ? nullptr : it->second.kernel;
}

std::vector<std::string> TaskRegistry::names() const
{
    std::vector<std::string> out;
    for (const auto& [name, fn] : m_tasks)
        out.push_back(name);
    return out;
}

} // namespace poolscope
