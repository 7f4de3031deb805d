#pragma once

#include <atomic>
#include <cstdint>

namespace poolscope {

// A pool worker's status, in a page of shared memory (a memfd both sides map). The worker
// writes it with plain atomic stores, no system call; when the worker dies, the parent reads it
// to learn which chunk and task were lost.
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

// Owns one mapping of a WorkerSlot memfd.
class WorkerSlotMapping
{
public:
    static WorkerSlotMapping create();       // a new memfd (O_CLOEXEC), zeroed; throws on failure
    static WorkerSlotMapping attach(int fd); // maps an existing memfd; does not own fd
    // A fork child's view of the slot its parent had mapped (slot()): the child inherited the
    // mapping, so it maps nothing, and leaves the mapping to the exit of its process.
    static WorkerSlotMapping inherited(WorkerSlot* slot);

    WorkerSlotMapping() = default;
    WorkerSlotMapping(WorkerSlotMapping&& other) noexcept;
    WorkerSlotMapping& operator=(WorkerSlotMapping&& other) noexcept;
    ~WorkerSlotMapping();

    WorkerSlot* slot() const { return m_slot; }
    int fd() const { return m_fd; } // the memfd when created here; -1 when attached
    void closeFd();

private:
    WorkerSlot* m_slot = nullptr;
    int m_fd = -1;
    bool m_ownsMapping = true;
};

} // namespace poolscope
