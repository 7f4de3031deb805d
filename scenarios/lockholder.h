#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

namespace poolscope {

// Another thread of the parent that holds a lock until told to let go: the thread whose lock a
// fork child inherits in the fork-hazard demonstration. The constructor returns once the lock
// is held; release() (or the destructor) makes the thread unlock it, and joins the thread.
class LockHolder
{
public:
    explicit LockHolder(std::mutex& lock);
    ~LockHolder();
    LockHolder(const LockHolder&) = delete;
    LockHolder& operator=(const LockHolder&) = delete;

    void release();

private:
    std::mutex& m_lock;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_held = false;
    bool m_release = false;
    std::thread m_thread;
};

} // namespace poolscope
