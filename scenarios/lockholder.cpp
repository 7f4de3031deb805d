#include "lockholder.h"

namespace poolscope {

LockHolder::LockHolder(std::mutex& lock) : m_lock(lock)
{
    // Always m_lock before m_mutex, in this thread as in any other: no lock-order inversion.
    m_thread = std::thread([this] {
        m_lock.lock();
        std::unique_lock state(m_mutex);
        m_held = true;
        m_cv.notify_all();
        m_cv.wait(state, [this] { return m_release; });
        state.unlock();
        m_lock.unlock();
    });
    std::unique_lock state(m_mutex);
    m_cv.wait(state, [this] { return m_held; });
}

LockHolder::~LockHolder()
{
    release();
}

void LockHolder::release()
{
    if (!m_thread.joinable())
        return;
    {
        std::lock_guard state(m_mutex);
        m_release = true;
    }
    m_cv.notify_all();
    m_thread.join();
}

} // namespace poolscope
