#pragma once

namespace poolscope {

// What the pool does when a worker dies in the middle of a chunk (crash, SIGKILL).
enum class WorkerDeathPolicy
{
    // PoolScope's default: the lost chunk's tasks fail with WorkerLostError naming the task, the
    // worker and the signal; a replacement worker starts; the pool goes on.
    Fail,
    // CPython-compatible: a replacement starts, but the lost chunk never reports, so get()
    // without a timeout waits forever and get(timeout) raises TimeoutError (bpo-22393).
    Hang,
};

} // namespace poolscope
