#include "batchscheduling.h"

#include <sched.h>

namespace poolscope {

namespace {

thread_local bool t_batch = false; // enter() made this thread batch, and no Suspend is alive

bool setPolicy(int policy)
{
    sched_param param{};
    return ::sched_setscheduler(0, policy, &param) == 0; // 0: the calling thread (Linux)
}

} // namespace

bool BatchScheduling::enter()
{
    if (t_batch)
        return true;
    if (::sched_getscheduler(0) != SCHED_OTHER)
        return false;
    t_batch = setPolicy(SCHED_BATCH);
    return t_batch;
}

bool BatchScheduling::active()
{
    return t_batch;
}

BatchScheduling::Suspend::Suspend()
{
    if (t_batch && setPolicy(SCHED_OTHER)) {
        t_batch = false;
        m_suspended = true;
    }
}

BatchScheduling::Suspend::~Suspend()
{
    if (m_suspended)
        t_batch = setPolicy(SCHED_BATCH);
}

} // namespace poolscope
