#pragma once

#include <atomic>
#include <cstdint>

namespace poolscope {

// A pool worker's status, in shared memory (the pool's TaskQueue memfd, which both sides map).
// The worker writes it with plain atomic stores, no system call; when the worker dies, the
// parent reads it to learn which chunk and task were lost.
struct WorkerSlot
{
    enum State : std::int32_t
    {
        Starting = 0,
        Idle = 1,
        Running = 2,
        Stopped = 3,
        Retired = 4
    };
    std::atomic<std::int32_t> state{Starting};
    std::atomic<std::int32_t> job{-1};
    std::atomic<std::int32_t> chunk{-1};
    std::atomic<std::int64_t> task{-1};
    std::atomic<std::int64_t> taskStartNs{0};

    static_assert(std::atomic<std::int64_t>::is_always_lock_free,
                  "shared-memory atomics must be lock-free");
};

} // namespace poolscope
