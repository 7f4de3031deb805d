#pragma once

#include "resultring.h"
#include "wirebuffers.h"
#include "workerslot.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace poolscope {

// A pool's shared task queue: one byte stream in shared memory (a memfd that the parent and
// every worker map; for fork workers only, a mapping they inherit), written by the parent, read by
// the workers one whole message at a time under a lock word that lives in the same memory. This is
// CPython's inqueue (a pipe that workers read under a lock), so the first idle worker takes the
// next message, in FIFO order. Unlike a pipe or a socket, a message costs no system call while both
// sides are busy: a side calls futex() only to sleep when it must wait, or to wake a side that
// sleeps.
//
// Messages of any size pass: one larger than the free space is streamed, the reader holding
// the lock while it arrives. A reader that dies while it holds the lock is cleaned up by the
// parent (releaseDeadReader), which drops the rest of the message it was reading.
//
// Waits are bounded (100 ms) so that a reader notices a parent that has gone (readerAlive
// callback) and a writer notices cancellation.
//
// The same memory holds the pool's worker status slots (WorkerSlot) and result rings
// (ResultRing), one of each per worker that can be alive at once: one memfd for a whole pool,
// made once, rather than one per worker.
class TaskQueue
{
public:
    static constexpr std::size_t kDefaultCapacity = std::size_t(1) << 20; // 1 MiB of stream

    // The parent's queue: a new memfd (O_CLOEXEC), mapped, with `slots` worker slots (all
    // WorkerSlot::Starting). Throws std::runtime_error (std::invalid_argument for a capacity
    // under 64 bytes or more than 2^20 slots).
    static TaskQueue create(std::size_t capacity = kDefaultCapacity, std::size_t slots = 0);
    // The parent's queue for fork children only: a shared anonymous mapping and no descriptor
    // (fd() is -1), which the children inherit (inherited()). When such a queue is destroyed,
    // its process keeps the mapping for its next one of the same size, made anew in it: a pool
    // then maps and unmaps nothing. Throws as create() does.
    static TaskQueue createInherited(std::size_t capacity = kDefaultCapacity,
                                     std::size_t slots = 0);
    // A worker's view of the parent's queue. Does not own fd. Throws std::runtime_error.
    static TaskQueue attach(int fd);
    // A fork child's view of the queue its parent had mapped at `mapping` (mapping()): the
    // child inherited that mapping, so it maps nothing, and leaves the mapping to the exit of
    // its process. Throws std::runtime_error when no queue is there.
    static TaskQueue inherited(void* mapping);

    TaskQueue() = default;
    TaskQueue(TaskQueue&& other) noexcept;
    TaskQueue& operator=(TaskQueue&& other) noexcept;
    TaskQueue(const TaskQueue&) = delete;
    TaskQueue& operator=(const TaskQueue&) = delete;
    ~TaskQueue();

    bool isValid() const { return m_control != nullptr; }
    int fd() const { return m_fd; } // -1 when attached, inherited or createInherited()
    void* mapping() const { return m_control; }
    std::size_t capacity() const;
    std::size_t slotCount() const;
    WorkerSlot* slot(std::size_t index) const; // throws std::out_of_range past slotCount()
    // The result ring of the worker on slot `index` (ResultRing: its reports to the parent).
    ResultRing resultRing(std::size_t index) const; // throws std::out_of_range likewise

    // Writer side: one writer thread at a time (the caller serializes).
    // Appends the whole message if it fits now; false (nothing written) when it does not.
    // With notify false, a sleeping reader is not woken: the writer calls notify() once after
    // a burst (each wake-up is a system call, and an inter-processor interrupt in a VM).
    bool tryPush(std::span<const std::uint8_t> message, bool notify = true);
    // Wakes up to `readers` sleeping readers (and a reader waiting for the rest of a message).
    void notify(std::size_t readers);
    // Appends the message, waiting for room and streaming it if it is larger than the free
    // space. Returns false when cancelled() became true while waiting (the stream is then
    // unusable: the queue is being torn down).
    bool push(std::span<const std::uint8_t> message, const std::function<bool()>& cancelled);
    // Wakes a writer waiting for room in push(), so that it checks cancelled().
    void wakeWriter();

    // Reader side (a worker; readerId is its pid, never 0): blocks until it has taken the
    // next whole message into out. Returns false when alive() says the parent has gone.
    bool pop(std::uint32_t readerId, Bytes& out, const std::function<bool()>& alive);

    // The parent, after reader readerId died: if it held the read lock, the lock is freed and
    // the rest of the message it was reading will be skipped. Returns true if it held it.
    bool releaseDeadReader(std::uint32_t readerId);

    // Bytes written and not yet taken (for tests and diagnostics).
    std::size_t pendingBytes() const;
    // How many times idle readers were woken (futex wake calls; for tests and diagnostics). A
    // sleeping reader is woken once, however many messages arrive before it runs.
    std::uint64_t readerWakeUps() const;

private:
    struct Control;
    // What the destructor does with the mapping.
    enum class Mapping
    {
        Unmap,     // create(), attach()
        KeepSpare, // createInherited(): kept for the next one
        Inherited, // inherited(): left to the process's exit
    };
    TaskQueue(Control* control, std::size_t mappedBytes, int fd, Mapping mapping);
    static void checkSize(std::size_t capacity, std::size_t slots);
    // Makes a new queue (control block and slots) at the start of mapped `memory`.
    static Control* construct(void* memory, std::size_t capacity, std::size_t slots);

    bool lock(std::uint32_t id, const std::function<bool()>& alive);
    void unlock();
    // Waits until the stream holds more than `pos` bytes (as the lock holder). false: gone.
    bool waitForBytes(std::uint64_t pos, const std::function<bool()>& alive);
    bool readBytes(std::uint8_t* dst, std::size_t n, const std::function<bool()>& alive);
    void publish(std::uint64_t writePos, std::size_t wake);
    void copyIn(std::uint64_t pos, const std::uint8_t* src, std::size_t n);
    void copyOut(std::uint64_t pos, std::uint8_t* dst, std::size_t n) const;
    void freed(); // after the reader advanced: wake a writer waiting for room

    Control* m_control = nullptr;
    std::uint8_t* m_data = nullptr;
    std::size_t m_mappedBytes = 0;
    int m_fd = -1;
    Mapping m_mapping = Mapping::Unmap;
};

} // namespace poolscope
