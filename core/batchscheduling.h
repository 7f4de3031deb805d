#pragma once

namespace poolscope {

// A pool's result thread yields the CPU to the workers. Each report a worker writes wakes the
// result thread; as SCHED_OTHER it then preempts a worker at once when every core is busy
// (2 workers on 2 cores), and a CPU-bound map's chunks are cut into eight times a call. As
// SCHED_BATCH (sched(7)) a wake-up preempts nothing: the thread runs at once on a free core,
// else when a core frees or at the next scheduler tick, with its fair share of the CPU as
// before. What is only a thread's policy stays with the thread: a process it starts while
// batch (a replacement worker) is started with the policy it had before (Suspend), so that no
// child inherits SCHED_BATCH.
class BatchScheduling
{
public:
    // The calling thread becomes SCHED_BATCH, when it is SCHED_OTHER (a policy someone chose
    // for it stays). Returns whether it did. Unprivileged: a thread may move between these two.
    static bool enter();
    // Whether enter() made the calling thread batch (and no Suspend undoes it now).
    static bool active();

    // While alive, a thread that enter() made batch is SCHED_OTHER again; elsewhere nothing.
    class Suspend
    {
    public:
        Suspend();
        ~Suspend();
        Suspend(const Suspend&) = delete;
        Suspend& operator=(const Suspend&) = delete;

    private:
        bool m_suspended = false;
    };
};

} // namespace poolscope
