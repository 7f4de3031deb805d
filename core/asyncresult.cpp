#include "asyncresult.h"

#include "clock.h"
#include "eventlog.h"
#include "poolerror.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace poolscope {

AsyncResult::AsyncResult(int job, std::shared_ptr<EventLog> log, ResultCallback callback,
                         ErrorCallback errorCallback)
    : m_job(job), m_log(std::move(log)), m_callback(std::move(callback)),
      m_errorCallback(std::move(errorCallback))
{}

namespace {

inline void cpuRelax()
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

// A callback that throws must not take the pool down with it. CPython's result handler thread
// dies in that case and no later result ever arrives; PoolScope reports the exception on
// stderr (as Python's threading excepthook would), records it, and goes on.
template <typename Fn, typename Arg>
bool runCallback(const Fn& fn, const Arg& arg, std::string& failure)
{
    try {
        fn(arg);
        return true;
    } catch (const std::exception& e) {
        failure = e.what();
    } catch (...) {
        failure = "unknown exception";
    }
    std::fprintf(stderr, "Exception in pool callback: %s\n", failure.c_str());
    return false;
}

} // namespace

namespace {

// Runs a callback in the result thread and records that it ran (and whether it raised).
template <typename Fn, typename Arg>
void runRecorded(EventLog* log, int job, std::int64_t task, EventKind kind, const Fn& fn,
                 const Arg& arg, std::string text)
{
    Event e;
    e.tNs = monotonicNs();
    e.kind = kind;
    e.job = job;
    e.task = task;
    std::string failure;
    e.ok = runCallback(fn, arg, failure);
    e.text = failure.empty() ? std::move(text)
             : text.empty()  ? failure
                             : text + " (the callback raised: " + failure + ")";
    if (log)
        log->append(std::move(e));
}

} // namespace

void AsyncResult::complete(Value value)
{
    if (m_callback)
        runRecorded(m_log.get(), m_job, m_yieldsItems ? -1 : m_yieldTask, EventKind::Callback,
                    m_callback, value, {});
    {
        std::lock_guard lock(m_mutex);
        m_value = std::move(value);
        m_ready = true;
        m_readyFlag.store(true, std::memory_order_release);
    }
    m_cv.notify_all();
}

void AsyncResult::fail(RemoteError error)
{
    if (m_errorCallback)
        runRecorded(m_log.get(), m_job, m_yieldsItems ? -1 : m_yieldTask, EventKind::ErrorCallback,
                    m_errorCallback, error, error.text());
    {
        std::lock_guard lock(m_mutex);
        m_error = std::move(error);
        m_ready = true;
        m_readyFlag.store(true, std::memory_order_release);
    }
    m_cv.notify_all();
}

void AsyncResult::wait(std::optional<double> timeoutSeconds)
{
    // A short task's result (an apply round trip: tens of microseconds) is usually here before
    // a sleeping thread could even be woken: spin briefly first, so that the result thread
    // hands it over without a futex wake-up of the caller. Bounded by kSpinNs and by the
    // timeout, then the caller sleeps as before. Not for a job of several chunks
    // (setSpinWait).
    if (m_spinWait) {
        constexpr std::int64_t kSpinNs = 50'000;
        const std::int64_t spinNs =
            timeoutSeconds ? std::min<std::int64_t>(
                                 kSpinNs, std::int64_t(std::max(0.0, *timeoutSeconds) * 1e9))
                           : kSpinNs;
        const std::int64_t spinUntil = monotonicNs() + spinNs;
        for (int i = 0; !m_readyFlag.load(std::memory_order_acquire); ++i) {
            if (m_spinAssist) {
                m_spinAssist(); // a system call or two: the clock is worth reading each time
                if (monotonicNs() >= spinUntil)
                    break;
                continue;
            }
            if ((i & 63) == 63 && monotonicNs() >= spinUntil)
                break;
            cpuRelax();
        }
    }
    std::unique_lock lock(m_mutex);
    if (!timeoutSeconds) {
        m_cv.wait(lock, [this] { return m_ready; });
        return;
    }
    m_cv.wait_for(lock, std::chrono::duration<double>(std::max(0.0, *timeoutSeconds)),
                  [this] { return m_ready; });
}

Value AsyncResult::get(std::optional<double> timeoutSeconds)
{
    wait(timeoutSeconds);
    {
        std::lock_guard lock(m_mutex);
        if (!m_ready)
            throw PoolTimeoutError();
    }
    handOut();
    return *m_value;
}

Value AsyncResult::take()
{
    wait();
    const bool first = handOut();
    if (!first || !m_value)
        return Value();
    return std::move(*m_value); // the caller is the only reader (see the header)
}

bool AsyncResult::handOut()
{
    std::unique_lock lock(m_mutex);
    const bool first = !m_yielded;
    m_yielded = true;
    lock.unlock();
    // m_value / m_error never change once ready.
    if (first)
        recordYield(m_value, m_error ? &*m_error : nullptr);
    if (m_error)
        throw PoolError(*m_error);
    return first;
}

bool AsyncResult::ready() const
{
    std::lock_guard lock(m_mutex);
    return m_ready;
}

bool AsyncResult::successful() const
{
    std::lock_guard lock(m_mutex);
    if (!m_ready)
        throw PoolError("ValueError", "<AsyncResult job " + std::to_string(m_job) + "> not ready");
    return !m_error;
}

void AsyncResult::recordYield(const std::optional<Value>& value, const RemoteError* error) const
{
    if (!m_log)
        return;
    Event e;
    e.tNs = monotonicNs();
    e.kind = EventKind::ResultYielded;
    e.job = m_job;
    e.ok = !error;
    if (error) {
        e.text = error->text();
        e.task = m_yieldsItems ? -1 : m_yieldTask;
    } else if (m_yieldsItems) {
        // map hands the whole list over at once, in input order: one event for all of it,
        // a = the number of items (the values are the job's task results).
        e.task = -1;
        e.a = value && value->isList() ? std::int64_t(value->asList().size()) : 0;
    } else {
        e.task = m_yieldTask;
        if (value)
            e.value = *value;
    }
    m_log->append(std::move(e));
}

} // namespace poolscope
