#pragma once

#include "remoteerror.h"
#include "value.h"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

namespace poolscope {

class EventLog;
using ResultCallback = std::function<void(const Value&)>;
using ErrorCallback = std::function<void(const RemoteError&)>;

// multiprocessing.pool.AsyncResult (apply_async) and MapResult (map_async: the value is the
// list). Thread-safe. Outlives the pool that made it.
class AsyncResult
{
public:
    // Blocks until ready; returns the value or throws PoolError with the task's exception.
    // With a timeout that expires: throws PoolTimeoutError.
    Value get(std::optional<double> timeoutSeconds = std::nullopt);
    // get() for the one reader of a result that nobody else holds (Pool's blocking map, starmap
    // and apply): the value is moved out, not copied. Only the first call returns it.
    Value take();
    // Blocks until ready or the timeout expires; returns nothing either way (Python's wait()).
    void wait(std::optional<double> timeoutSeconds = std::nullopt);
    bool ready() const;
    // Throws PoolError("ValueError", "... not ready") before ready, as Python does.
    bool successful() const;

    // --- used by the pool ---
    AsyncResult(int job, std::shared_ptr<EventLog> log, ResultCallback callback,
                ErrorCallback errorCallback);
    int job() const { return m_job; }
    // Runs the callback (or error callback) first, then makes the result ready, as CPython's
    // result handler does. Called once, from the pool's result thread.
    void complete(Value value);
    void fail(RemoteError error);
    // For get(): the task index recorded on the yield events (-1 for a map's whole list).
    void setYieldTask(std::int64_t task) { m_yieldTask = task; }
    // map results record one yield event per item when get() hands them out.
    void setYieldsItems(bool items) { m_yieldsItems = items; }
    // Whether wait() spins briefly before it sleeps: for a job of one chunk, which one worker
    // runs while a core is free. A job of several chunks keeps every core busy, and a caller
    // spinning on one of them keeps a worker that was just woken from running there.
    void setSpinWait(bool spin) { m_spinWait = spin; }
    // Called over and over while wait() spins: the pool reads its workers' reports in the
    // waiting thread, when no other thread is reading them (PoolEngine's reader gate).
    void setSpinAssist(std::function<void()> assist) { m_spinAssist = std::move(assist); }
    // Whether a callback or error callback runs when the result completes.
    bool hasCallbacks() const { return bool(m_callback) || bool(m_errorCallback); }

private:
    void recordYield(const std::optional<Value>& value, const RemoteError* error) const;
    // Once ready: records the yield on the first hand-out (true), then throws the error if the
    // job failed.
    bool handOut();

    const int m_job;
    std::shared_ptr<EventLog> m_log;
    ResultCallback m_callback;
    ErrorCallback m_errorCallback;
    std::int64_t m_yieldTask = 0;
    bool m_yieldsItems = false;
    bool m_spinWait = true;
    std::function<void()> m_spinAssist;

    mutable std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_ready = false;
    std::atomic<bool> m_readyFlag{false}; // m_ready, for wait()'s short spin without the lock
    bool m_yielded = false;
    std::optional<Value> m_value;
    std::optional<RemoteError> m_error;
};

} // namespace poolscope
