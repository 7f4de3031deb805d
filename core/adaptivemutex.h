#pragma once

#include <pthread.h>

namespace poolscope {

// A mutex that, when it finds itself taken, tries again for a short while before it sleeps
// (glibc's adaptive mutex, PTHREAD_MUTEX_ADAPTIVE_NP), where std::mutex goes straight to the
// kernel. For locks held for a few hundred nanoseconds by two busy threads, such as the event
// log's between the result thread and a caller: sleeping there costs a futex() call on both
// sides, and a wake-up of 20-30 us when the sleeper's vCPU halts. Meets Lockable, so that
// std::lock_guard and std::unique_lock take it (std::condition_variable does not: use
// std::condition_variable_any, or keep std::mutex where a thread waits on a condition).
class AdaptiveMutex
{
public:
    AdaptiveMutex();
    ~AdaptiveMutex();
    AdaptiveMutex(const AdaptiveMutex&) = delete;
    AdaptiveMutex& operator=(const AdaptiveMutex&) = delete;

    void lock();
    bool try_lock();
    void unlock();

private:
    pthread_mutex_t m_mutex;
};

} // namespace poolscope
