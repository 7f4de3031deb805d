#include "taskqueue.h"

#include "sharedmemory.h"
#include "sparemapping.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

namespace poolscope {

// The first page of the mapping; then the workers' status slots (slotCount of them, kSlotStride
// bytes apart, in whole pages); then the stream's bytes; then the workers' result rings' bytes.
// Positions count bytes since creation (64-bit: they never wrap); byte p of the stream lives at
// data[p % capacity].
struct TaskQueue::Control
{
    static constexpr std::uint32_t kWaiters = 1u << 31;
    std::atomic<std::uint32_t> lockWord{0};      // 0: free, else the holder's id (| kWaiters)
    std::atomic<std::uint32_t> dataSeq{0};       // futex: idle readers wait for a message
    std::atomic<std::uint32_t> holderSeq{0};     // futex: the lock holder waits for more bytes
    std::atomic<std::uint32_t> holderWaiting{0}; //
    std::atomic<std::uint32_t> spaceSeq{0};      // futex: the writer waits for room
    std::atomic<std::uint32_t> writerWaiting{0}; //
    std::uint32_t magic = 0;
    // Idle readers asleep, or about to be: the low half counts those nobody has woken yet, the
    // high half those woken (claimed by a waker) that have not left their sleep yet. A waker
    // claims sleepers before it wakes them, so that one sleeper is woken once, however many
    // messages arrive before it runs (a worker popping chunks one after the other woke its
    // sleeping peer after every pop until the peer ran: hundreds of system calls per map).
    std::atomic<std::uint64_t> sleepers{0};
    std::atomic<std::uint64_t> readerWakeUps{0}; // futex wake calls for idle readers
    std::atomic<std::uint64_t> writePos{0};      // bytes written (the writer's)
    std::atomic<std::uint64_t> readPos{0};       // bytes taken (the lock holder's)
    std::atomic<std::uint64_t> messageEnd{0};    // the holder's message ends here
    std::atomic<std::uint64_t> skipTo{0};        // set for a dead holder: its message ends here
    std::uint64_t capacity = 0;
    std::uint64_t slotCount = 0;

    static_assert(std::atomic<std::uint64_t>::is_always_lock_free &&
                      std::atomic<std::uint32_t>::is_always_lock_free,
                  "shared-memory atomics must be lock-free");
};

namespace {

constexpr std::size_t kControlBytes = 4096;
// Per worker: its status (a cache line it writes), then its result ring's header (a line the
// worker writes, a line the parent writes).
constexpr std::size_t kSlotStride = 256;
constexpr std::size_t kRingHeaderOffset = 64;
static_assert(sizeof(WorkerSlot) <= kRingHeaderOffset);
static_assert(kRingHeaderOffset + ResultRing::kHeaderBytes <= kSlotStride);
constexpr std::size_t kRingBytes = ResultRing::kDefaultCapacity;

std::size_t slotAreaBytes(std::uint64_t slots)
{
    return std::size_t((slots * kSlotStride + kControlBytes - 1) / kControlBytes * kControlBytes);
}

// The whole mapping: control page, slots, stream, one result ring's bytes per slot.
std::size_t mappingBytes(std::uint64_t slots, std::uint64_t capacity)
{
    return kControlBytes + slotAreaBytes(slots) + std::size_t(capacity) +
           std::size_t(slots) * kRingBytes;
}
constexpr std::uint32_t kMagic = 0x50535451;  // "PSTQ"
constexpr std::int64_t kWaitNs = 100'000'000; // re-check liveness / cancellation this often
constexpr std::uint32_t kMaxMessageBytes = 256u << 20;

// The words live in memory mapped by several processes (sharedmemory.h). Returns false on
// timeout.
bool futexWait(std::atomic<std::uint32_t>& a, std::uint32_t expected)
{
    return sharedFutexWait(a, expected, kWaitNs);
}

void futexWake(std::atomic<std::uint32_t>& a, int count)
{
    sharedFutexWake(a, count);
}

// Claims up to n of the idle readers that nobody has woken yet (see Control::sleepers); returns
// how many, for the caller to wake.
std::uint32_t claimSleepers(std::atomic<std::uint64_t>& sleepers, std::size_t n)
{
    std::uint64_t v = sleepers.load(std::memory_order_seq_cst);
    for (;;) {
        const auto asleep = std::uint32_t(v);
        const auto k = std::uint32_t(std::min<std::size_t>(asleep, n));
        if (k == 0)
            return 0;
        const std::uint64_t claimed = v - k + (std::uint64_t(k) << 32);
        if (sleepers.compare_exchange_weak(v, claimed, std::memory_order_seq_cst))
            return k;
    }
}

// Wakes n idle readers that claimSleepers() claimed.
void wakeClaimed(std::atomic<std::uint32_t>& dataSeq, std::atomic<std::uint64_t>& wakeUps,
                 std::uint32_t n)
{
    dataSeq.fetch_add(1, std::memory_order_release);
    wakeUps.fetch_add(1, std::memory_order_relaxed);
    futexWake(dataSeq, int(std::min<std::uint32_t>(n, INT_MAX)));
}

// An idle reader leaves its sleep: it takes a claim made for one of the sleepers, if there is
// one, else it counts itself out as not woken.
void leaveSleep(std::atomic<std::uint64_t>& sleepers)
{
    std::uint64_t v = sleepers.load(std::memory_order_relaxed);
    for (;;) {
        const std::uint64_t left = (v >> 32) ? v - (std::uint64_t(1) << 32) : v - 1;
        if (sleepers.compare_exchange_weak(v, left, std::memory_order_seq_cst))
            return;
    }
}

// A message's 4-byte little-endian length, written before it in the stream.
std::array<std::uint8_t, 4> lengthHeader(std::size_t size)
{
    const auto n = std::uint32_t(size);
    return {std::uint8_t(n), std::uint8_t(n >> 8), std::uint8_t(n >> 16), std::uint8_t(n >> 24)};
}

[[noreturn]] void sysFail(const std::string& what)
{
    throw std::runtime_error("task queue: " + what + ": " + std::strerror(errno));
}

// The mapping of the last createInherited() queue destroyed, kept for the next one: each
// pool's own cost it about 20-40 us of a Pool(2) with fork, start to join (~680 us on this
// project's 2-CPU VM). The queue's workers are gone by then (a pool's queue outlives them), so
// nothing else uses the memory; fork children made since inherit it shared, and never take it.
SpareMapping g_spareQueue;

} // namespace

TaskQueue::TaskQueue(Control* control, std::size_t mappedBytes, int fd, Mapping mapping)
    : m_control(control), m_data(reinterpret_cast<std::uint8_t*>(control) + kControlBytes +
                                 slotAreaBytes(control->slotCount)),
      m_mappedBytes(mappedBytes), m_fd(fd), m_mapping(mapping)
{}

void TaskQueue::checkSize(std::size_t capacity, std::size_t slots)
{
    static_assert(sizeof(Control) <= kControlBytes);
    if (capacity < 64)
        throw std::invalid_argument("task queue: capacity too small");
    if (slots > (std::size_t(1) << 20))
        throw std::invalid_argument("task queue: too many worker slots");
}

TaskQueue::Control* TaskQueue::construct(void* memory, std::size_t capacity, std::size_t slots)
{
    auto* control = new (memory) Control();
    control->capacity = capacity;
    control->slotCount = slots;
    for (std::size_t i = 0; i < slots; ++i) {
        auto* slot = static_cast<std::uint8_t*>(memory) + kControlBytes + i * kSlotStride;
        new (slot) WorkerSlot();
        ResultRing::construct(slot + kRingHeaderOffset);
    }
    control->magic = kMagic;
    return control;
}

TaskQueue TaskQueue::create(std::size_t capacity, std::size_t slots)
{
    checkSize(capacity, slots);
    const int fd = ::memfd_create("poolscope-tasks", MFD_CLOEXEC);
    if (fd < 0)
        sysFail("memfd_create");
    const std::size_t bytes = mappingBytes(slots, capacity);
    if (::ftruncate(fd, off_t(bytes)) != 0) {
        const int err = errno;
        ::close(fd);
        errno = err;
        sysFail("ftruncate");
    }
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        const int err = errno;
        ::close(fd);
        errno = err;
        sysFail("mmap");
    }
    return TaskQueue(construct(p, capacity, slots), bytes, fd, Mapping::Unmap);
}

TaskQueue TaskQueue::createInherited(std::size_t capacity, std::size_t slots)
{
    checkSize(capacity, slots);
    const std::size_t bytes = mappingBytes(slots, capacity);
    void* p = g_spareQueue.take(bytes);
    if (!p) {
        // Fork children inherit the mapping (a shared mapping: fork() copies no page tables
        // for it), and a pool's fork workers use it as it is (inherited()).
        p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            sysFail("mmap");
    }
    return TaskQueue(construct(p, capacity, slots), bytes, -1, Mapping::KeepSpare);
}

TaskQueue TaskQueue::attach(int fd)
{
    struct stat st = {};
    if (::fstat(fd, &st) != 0)
        sysFail("fstat");
    const auto bytes = std::size_t(st.st_size);
    if (bytes <= kControlBytes)
        throw std::runtime_error("task queue: the shared memory is too small");
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        sysFail("mmap");
    auto* control = static_cast<Control*>(p); // constructed by the creator
    if (control->magic != kMagic || control->slotCount > (std::uint64_t(1) << 20) ||
        bytes != mappingBytes(control->slotCount, control->capacity)) {
        ::munmap(p, bytes);
        throw std::runtime_error("task queue: the shared memory is not a task queue");
    }
    return TaskQueue(control, bytes, -1, Mapping::Unmap);
}

TaskQueue TaskQueue::inherited(void* mapping)
{
    auto* control = static_cast<Control*>(mapping);
    if (!control || control->magic != kMagic)
        throw std::runtime_error("task queue: no task queue at the inherited address");
    return TaskQueue(control, mappingBytes(control->slotCount, control->capacity), -1,
                     Mapping::Inherited);
}

std::size_t TaskQueue::slotCount() const
{
    return m_control ? std::size_t(m_control->slotCount) : 0;
}

WorkerSlot* TaskQueue::slot(std::size_t index) const
{
    if (index >= slotCount())
        throw std::out_of_range("task queue: no worker slot " + std::to_string(index));
    return std::launder(reinterpret_cast<WorkerSlot*>(reinterpret_cast<std::uint8_t*>(m_control) +
                                                      kControlBytes + index * kSlotStride));
}

ResultRing TaskQueue::resultRing(std::size_t index) const
{
    std::uint8_t* slotBytes = reinterpret_cast<std::uint8_t*>(slot(index)); // checks the bound
    return ResultRing(slotBytes + kRingHeaderOffset,
                      m_data + m_control->capacity + index * kRingBytes, kRingBytes);
}

TaskQueue::TaskQueue(TaskQueue&& other) noexcept
    : m_control(other.m_control), m_data(other.m_data), m_mappedBytes(other.m_mappedBytes),
      m_fd(other.m_fd), m_mapping(other.m_mapping)
{
    other.m_control = nullptr;
    other.m_data = nullptr;
    other.m_mappedBytes = 0;
    other.m_fd = -1;
}

TaskQueue& TaskQueue::operator=(TaskQueue&& other) noexcept
{
    if (this != &other) {
        this->~TaskQueue();
        new (this) TaskQueue(std::move(other));
    }
    return *this;
}

TaskQueue::~TaskQueue()
{
    if (m_control && m_mapping == Mapping::Unmap)
        ::munmap(m_control, m_mappedBytes);
    else if (m_control && m_mapping == Mapping::KeepSpare)
        g_spareQueue.keep(m_control, m_mappedBytes);
    if (m_fd >= 0)
        ::close(m_fd);
}

std::uint64_t TaskQueue::readerWakeUps() const
{
    return m_control ? m_control->readerWakeUps.load(std::memory_order_relaxed) : 0;
}

std::size_t TaskQueue::capacity() const
{
    return m_control ? std::size_t(m_control->capacity) : 0;
}

std::size_t TaskQueue::pendingBytes() const
{
    return std::size_t(m_control->writePos.load() - m_control->readPos.load());
}

void TaskQueue::copyIn(std::uint64_t pos, const std::uint8_t* src, std::size_t n)
{
    copyIntoRing(m_data, m_control->capacity, pos, src, n);
}

void TaskQueue::copyOut(std::uint64_t pos, std::uint8_t* dst, std::size_t n) const
{
    copyOutOfRing(m_data, m_control->capacity, pos, dst, n);
}

// ---------------------------------------------------------------------------------------------
// Writer

void TaskQueue::publish(std::uint64_t writePos, std::size_t wake)
{
    m_control->writePos.store(writePos, std::memory_order_seq_cst);
    if (wake > 0)
        notify(wake);
}

void TaskQueue::notify(std::size_t readers)
{
    Control& c = *m_control;
    // Pairs with the seq_cst store of holderWaiting / sleepers and the re-check after it: either
    // the reader sees the new bytes (stored before this call), or the writer sees the reader
    // waiting and wakes it.
    if (c.holderWaiting.load(std::memory_order_seq_cst)) {
        c.holderWaiting.store(0, std::memory_order_relaxed);
        c.holderSeq.fetch_add(1, std::memory_order_release);
        futexWake(c.holderSeq, 1);
        return; // the holder wakes the next reader when it is done
    }
    if (const std::uint32_t claimed = claimSleepers(c.sleepers, readers))
        wakeClaimed(c.dataSeq, c.readerWakeUps, claimed);
}

bool TaskQueue::tryPush(std::span<const std::uint8_t> message, bool notify)
{
    Control& c = *m_control;
    if (message.size() > kMaxMessageBytes)
        throw std::length_error("task queue: message too large");
    const std::uint64_t w = c.writePos.load(std::memory_order_relaxed);
    const std::uint64_t r = c.readPos.load(std::memory_order_acquire);
    if (c.capacity - (w - r) < 4 + message.size())
        return false;
    const auto header = lengthHeader(message.size());
    copyIn(w, header.data(), 4);
    copyIn(w + 4, message.data(), message.size());
    publish(w + 4 + message.size(), notify ? 1 : 0);
    return true;
}

bool TaskQueue::push(std::span<const std::uint8_t> message, const std::function<bool()>& cancelled)
{
    if (tryPush(message))
        return true;
    Control& c = *m_control;
    const auto header = lengthHeader(message.size());
    std::uint64_t w = c.writePos.load(std::memory_order_relaxed);
    auto stream = [&](const std::uint8_t* p, std::size_t n) {
        while (n > 0) {
            const std::uint64_t room = c.capacity - (w - c.readPos.load(std::memory_order_acquire));
            if (room == 0) {
                const std::uint32_t seq = c.spaceSeq.load(std::memory_order_acquire);
                c.writerWaiting.store(1, std::memory_order_seq_cst);
                if (c.capacity - (w - c.readPos.load(std::memory_order_seq_cst)) == 0)
                    futexWait(c.spaceSeq, seq);
                c.writerWaiting.store(0, std::memory_order_relaxed);
                if (cancelled && cancelled())
                    return false;
                continue;
            }
            const std::size_t k = std::min<std::uint64_t>(n, room);
            copyIn(w, p, k);
            w += k;
            p += k;
            n -= k;
            publish(w, 1);
        }
        return true;
    };
    return stream(header.data(), 4) && stream(message.data(), message.size());
}

void TaskQueue::wakeWriter()
{
    m_control->spaceSeq.fetch_add(1, std::memory_order_release);
    futexWake(m_control->spaceSeq, INT_MAX);
}

// ---------------------------------------------------------------------------------------------
// Readers

bool TaskQueue::lock(std::uint32_t id, const std::function<bool()>& alive)
{
    Control& c = *m_control;
    std::uint32_t v = 0;
    if (c.lockWord.compare_exchange_strong(v, id, std::memory_order_acquire))
        return true;
    for (;;) {
        v = c.lockWord.load(std::memory_order_relaxed);
        if (v == 0) {
            // Taken after waiting: others may be waiting too, so unlock() must wake one.
            if (c.lockWord.compare_exchange_weak(v, id | Control::kWaiters,
                                                 std::memory_order_acquire))
                return true;
            continue;
        }
        if (!(v & Control::kWaiters)) {
            if (!c.lockWord.compare_exchange_weak(v, v | Control::kWaiters,
                                                  std::memory_order_relaxed))
                continue;
            v |= Control::kWaiters;
        }
        if (!futexWait(c.lockWord, v) && alive && !alive())
            return false;
    }
}

void TaskQueue::unlock()
{
    Control& c = *m_control;
    if (c.lockWord.exchange(0, std::memory_order_release) & Control::kWaiters)
        futexWake(c.lockWord, 1);
}

void TaskQueue::freed()
{
    Control& c = *m_control;
    if (c.writerWaiting.load(std::memory_order_seq_cst)) {
        c.writerWaiting.store(0, std::memory_order_relaxed);
        c.spaceSeq.fetch_add(1, std::memory_order_release);
        futexWake(c.spaceSeq, 1);
    }
}

bool TaskQueue::waitForBytes(std::uint64_t pos, const std::function<bool()>& alive)
{
    Control& c = *m_control;
    for (;;) {
        if (c.writePos.load(std::memory_order_acquire) > pos)
            return true;
        const std::uint32_t seq = c.holderSeq.load(std::memory_order_acquire);
        c.holderWaiting.store(1, std::memory_order_seq_cst);
        bool timedOut = false;
        if (c.writePos.load(std::memory_order_seq_cst) <= pos)
            timedOut = !futexWait(c.holderSeq, seq);
        c.holderWaiting.store(0, std::memory_order_relaxed);
        if (timedOut && alive && !alive())
            return false;
    }
}

bool TaskQueue::readBytes(std::uint8_t* dst, std::size_t n, const std::function<bool()>& alive)
{
    Control& c = *m_control;
    std::uint64_t r = c.readPos.load(std::memory_order_relaxed);
    while (n > 0) {
        const std::uint64_t w = c.writePos.load(std::memory_order_acquire);
        if (w == r) {
            if (!waitForBytes(r, alive))
                return false;
            continue;
        }
        const std::size_t k = std::min<std::uint64_t>(n, w - r);
        if (dst) {
            copyOut(r, dst, k);
            dst += k;
        }
        r += k;
        n -= k;
        c.readPos.store(r, std::memory_order_seq_cst);
        freed();
    }
    return true;
}

bool TaskQueue::pop(std::uint32_t readerId, Bytes& out, const std::function<bool()>& alive)
{
    if (readerId == 0 || (readerId & Control::kWaiters))
        throw std::invalid_argument("task queue: bad reader id");
    Control& c = *m_control;
    for (;;) {
        // Idle: sleep until the stream holds bytes nobody has taken.
        if (c.writePos.load(std::memory_order_acquire) ==
            c.readPos.load(std::memory_order_acquire)) {
            const std::uint32_t seq = c.dataSeq.load(std::memory_order_acquire);
            c.sleepers.fetch_add(1, std::memory_order_seq_cst);
            bool timedOut = false;
            if (c.writePos.load(std::memory_order_seq_cst) ==
                c.readPos.load(std::memory_order_seq_cst))
                timedOut = !futexWait(c.dataSeq, seq);
            leaveSleep(c.sleepers);
            if (timedOut && alive && !alive())
                return false;
            continue;
        }
        if (!lock(readerId, alive))
            return false;
        std::uint64_t r = c.readPos.load(std::memory_order_relaxed);
        const std::uint64_t skip = c.skipTo.load(std::memory_order_acquire);
        if (skip > r) {
            // The rest of a message whose reader died: drop it.
            const bool ok = readBytes(nullptr, std::size_t(skip - r), alive);
            unlock();
            if (!ok)
                return false;
            continue;
        }
        if (c.writePos.load(std::memory_order_acquire) == r) {
            unlock(); // another reader took it first
            continue;
        }
        // The length, read without taking it, so that a reader dying here loses nothing.
        while (c.writePos.load(std::memory_order_acquire) - r < 4) {
            if (!waitForBytes(r + 3, alive)) {
                unlock();
                return false;
            }
        }
        std::uint8_t h[4];
        copyOut(r, h, 4);
        const std::uint32_t len = h[0] | (h[1] << 8) | (h[2] << 16) | (std::uint32_t(h[3]) << 24);
        if (len > kMaxMessageBytes) {
            unlock();
            throw std::runtime_error("task queue: corrupt message length " + std::to_string(len));
        }
        c.messageEnd.store(r + 4 + len, std::memory_order_release);
        c.readPos.store(r + 4, std::memory_order_seq_cst);
        freed();
        out.resize(len);
        const bool ok = readBytes(out.data(), len, alive);
        unlock();
        if (!ok)
            return false;
        // More is waiting and a reader sleeps: pass the turn on.
        if (c.writePos.load(std::memory_order_seq_cst) !=
                c.readPos.load(std::memory_order_seq_cst) &&
            claimSleepers(c.sleepers, 1) == 1)
            wakeClaimed(c.dataSeq, c.readerWakeUps, 1);
        return true;
    }
}

bool TaskQueue::releaseDeadReader(std::uint32_t readerId)
{
    Control& c = *m_control;
    for (;;) {
        std::uint32_t v = c.lockWord.load(std::memory_order_acquire);
        if ((v & ~Control::kWaiters) != readerId || readerId == 0)
            return false;
        const std::uint64_t end = c.messageEnd.load(std::memory_order_acquire);
        if (end > c.readPos.load(std::memory_order_acquire))
            c.skipTo.store(end, std::memory_order_release);
        if (c.lockWord.compare_exchange_strong(v, 0, std::memory_order_release)) {
            futexWake(c.lockWord, INT_MAX);
            c.dataSeq.fetch_add(1, std::memory_order_release);
            futexWake(c.dataSeq, INT_MAX);
            return true;
        }
    }
}

} // namespace poolscope
