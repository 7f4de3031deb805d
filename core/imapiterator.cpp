#include "imapiterator.h"

#include "clock.h"
#include "eventlog.h"
#include "poolerror.h"

#include <algorithm>
#include <chrono>
#include <sched.h>

namespace poolscope {

ImapIterator::ImapIterator(int job, bool ordered, bool endsAfterError,
                           std::shared_ptr<EventLog> log)
    : m_job(job), m_ordered(ordered), m_endsAfterError(endsAfterError), m_log(std::move(log))
{}

void ImapIterator::deliverChunk(std::int64_t chunk, std::vector<Item> items)
{
    {
        std::lock_guard lock(m_mutex);
        ++m_chunksDelivered;
        if (!m_ordered) {
            for (auto& item : items)
                m_ready.push_back(std::move(item));
            ++m_chunksReady;
        } else if (chunk != m_nextChunk) {
            m_early.emplace(chunk, std::move(items)); // held back until its predecessors arrive
        } else {
            for (auto& item : items)
                m_ready.push_back(std::move(item));
            ++m_nextChunk;
            ++m_chunksReady;
            for (auto it = m_early.find(m_nextChunk); it != m_early.end();
                 it = m_early.find(m_nextChunk)) {
                for (auto& item : it->second)
                    m_ready.push_back(std::move(item));
                m_early.erase(it);
                ++m_nextChunk;
                ++m_chunksReady;
            }
        }
    }
    // After the unlock: a caller looking at the counter then finds the mutex free.
    m_changes.fetch_add(1, std::memory_order_release);
    m_cv.notify_all();
}

void ImapIterator::setChunkCount(std::int64_t chunks)
{
    {
        std::lock_guard lock(m_mutex);
        m_chunkCount = chunks;
        m_changes.fetch_add(1, std::memory_order_release);
    }
    m_cv.notify_all();
}

std::optional<Value> ImapIterator::next(std::optional<double> timeoutSeconds)
{
    std::unique_lock lock(m_mutex);
    auto available = [this] {
        return m_finished || !m_ready.empty() || (m_chunkCount && m_chunksReady >= *m_chunkCount);
    };
    // A caller that keeps up with a stream of results (imap with chunksize 1) finds none ready
    // now and then, and would sleep and be woken for each such one: a futex wake-up on both
    // sides, 20-30 us when the caller's vCPU has halted. It looks again first, yielding its
    // core to whatever else is ready to run (a worker, the result thread) between looks, for up
    // to kSpinNs (and never past the timeout), then sleeps as before.
    if (!available()) {
        const std::int64_t spinNs =
            timeoutSeconds ? std::min<std::int64_t>(
                                 kSpinNs, std::int64_t(std::max(0.0, *timeoutSeconds) * 1e9))
                           : kSpinNs;
        const std::int64_t spinUntil = monotonicNs() + spinNs;
        while (!available() && monotonicNs() < spinUntil) {
            // Between looks only the change counter is read, not the mutex, which the result
            // thread takes for each delivery.
            const std::uint64_t seen = m_changes.load(std::memory_order_acquire);
            lock.unlock();
            do
                ::sched_yield();
            while (m_changes.load(std::memory_order_acquire) == seen && monotonicNs() < spinUntil);
            lock.lock();
        }
    }
    if (!timeoutSeconds) {
        m_cv.wait(lock, available);
    } else if (!m_cv.wait_for(lock, std::chrono::duration<double>(std::max(0.0, *timeoutSeconds)),
                              available)) {
        throw PoolTimeoutError();
    }
    if (m_finished || m_ready.empty())
        return std::nullopt; // StopIteration
    Item item = std::move(m_ready.front());
    m_ready.pop_front();
    const RemoteError* error = std::get_if<RemoteError>(&item.result);
    if (error && m_endsAfterError)
        m_finished = true;
    lock.unlock();

    if (m_log) {
        Event e;
        e.tNs = monotonicNs();
        e.kind = EventKind::ResultYielded;
        e.job = m_job;
        e.task = item.task;
        e.ok = !error;
        if (error)
            e.text = error->text();
        else
            e.value = std::get<Value>(item.result);
        m_log->append(std::move(e));
    }
    if (error)
        throw PoolError(*error);
    return std::get<Value>(std::move(item.result));
}

} // namespace poolscope
