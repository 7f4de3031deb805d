#include "adaptivemutex.h"

#include <cerrno>
#include <system_error>

namespace poolscope {

AdaptiveMutex::AdaptiveMutex()
{
    pthread_mutexattr_t attr;
    ::pthread_mutexattr_init(&attr);
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
    ::pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
    const int rc = ::pthread_mutex_init(&m_mutex, &attr);
    ::pthread_mutexattr_destroy(&attr);
    if (rc != 0)
        throw std::system_error(rc, std::generic_category(), "pthread_mutex_init");
}

AdaptiveMutex::~AdaptiveMutex()
{
    ::pthread_mutex_destroy(&m_mutex);
}

void AdaptiveMutex::lock()
{
    const int rc = ::pthread_mutex_lock(&m_mutex);
    if (rc != 0)
        throw std::system_error(rc, std::generic_category(), "pthread_mutex_lock");
}

bool AdaptiveMutex::try_lock()
{
    return ::pthread_mutex_trylock(&m_mutex) == 0;
}

void AdaptiveMutex::unlock()
{
    ::pthread_mutex_unlock(&m_mutex);
}

} // namespace poolscope
