#include "resultring.h"

#include "sharedmemory.h"

#include <algorithm>
#include <new>

namespace poolscope {

// The writer's and the reader's fields on cache lines of their own: each side writes its own.
struct ResultRing::Header
{
    alignas(64) std::atomic<std::uint64_t> writePos{0}; // bytes published (the writer's)
    std::atomic<std::uint32_t> spaceSeq{0};             // futex: the writer waits for room
    std::atomic<std::uint32_t> writerWaiting{0};        //
    alignas(64) std::atomic<std::uint64_t> readPos{0};  // bytes taken (the reader's)
    std::atomic<std::uint32_t> readerAsleep{0};         // 1: ring the doorbell
};
static_assert(sizeof(ResultRing::Header) <= ResultRing::kHeaderBytes);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free &&
                  std::atomic<std::uint32_t>::is_always_lock_free,
              "shared-memory atomics must be lock-free");

namespace {

constexpr std::int64_t kWaitNs = 100'000'000; // re-check the reader's liveness this often

} // namespace

void ResultRing::construct(void* memory)
{
    new (memory) Header();
}

ResultRing::ResultRing(void* header, std::uint8_t* data, std::size_t capacity)
    : m_header(std::launder(static_cast<Header*>(header))), m_data(data), m_capacity(capacity)
{}

bool ResultRing::write(std::span<const std::uint8_t> bytes, const std::function<bool()>& doorbell,
                       const std::function<bool()>& alive)
{
    Header& h = *m_header;
    std::uint64_t w = h.writePos.load(std::memory_order_relaxed);
    while (!bytes.empty()) {
        const std::uint64_t r = h.readPos.load(std::memory_order_acquire);
        const std::size_t room = m_capacity - std::size_t(w - r);
        if (room == 0) {
            // Full: sleep until the reader has taken some (it wakes us: read()).
            const std::uint32_t seq = h.spaceSeq.load(std::memory_order_acquire);
            h.writerWaiting.store(1, std::memory_order_seq_cst);
            if (h.readPos.load(std::memory_order_seq_cst) == r) {
                sharedFutexWait(h.spaceSeq, seq, kWaitNs);
                if (h.readPos.load(std::memory_order_acquire) == r && alive && !alive())
                    return false;
            }
            h.writerWaiting.store(0, std::memory_order_relaxed);
            continue;
        }
        const std::size_t n = std::min(room, bytes.size());
        copyIntoRing(m_data, m_capacity, w, bytes.data(), n);
        w += n;
        bytes = bytes.subspan(n);
        // Pairs with sleepUnlessData(): either the reader sees these bytes before it sleeps,
        // or this sees it asleep and rings (and only one of the writes that see it does).
        h.writePos.store(w, std::memory_order_seq_cst);
        if (h.readerAsleep.load(std::memory_order_seq_cst) &&
            h.readerAsleep.exchange(0, std::memory_order_seq_cst) && doorbell && !doorbell())
            return false;
    }
    return true;
}

std::size_t ResultRing::available() const
{
    return std::size_t(m_header->writePos.load(std::memory_order_acquire) -
                       m_header->readPos.load(std::memory_order_relaxed));
}

std::size_t ResultRing::read(std::uint8_t* dst, std::size_t max)
{
    Header& h = *m_header;
    const std::uint64_t r = h.readPos.load(std::memory_order_relaxed);
    const std::uint64_t w = h.writePos.load(std::memory_order_acquire);
    const std::size_t n = std::min<std::size_t>(max, std::size_t(w - r));
    if (n == 0)
        return 0;
    copyOutOfRing(m_data, m_capacity, r, dst, n);
    h.readPos.store(r + n, std::memory_order_seq_cst);
    if (h.writerWaiting.load(std::memory_order_seq_cst)) {
        h.writerWaiting.store(0, std::memory_order_relaxed);
        h.spaceSeq.fetch_add(1, std::memory_order_release);
        sharedFutexWake(h.spaceSeq, 1);
    }
    return n;
}

bool ResultRing::sleepUnlessData()
{
    Header& h = *m_header;
    h.readerAsleep.store(1, std::memory_order_seq_cst);
    if (h.writePos.load(std::memory_order_seq_cst) == h.readPos.load(std::memory_order_relaxed))
        return true;
    h.readerAsleep.store(0, std::memory_order_relaxed);
    return false;
}

void ResultRing::awake()
{
    m_header->readerAsleep.store(0, std::memory_order_relaxed);
}

void ResultRing::reset()
{
    Header& h = *m_header;
    h.writePos.store(0, std::memory_order_relaxed);
    h.readPos.store(0, std::memory_order_relaxed);
    h.writerWaiting.store(0, std::memory_order_relaxed);
    h.readerAsleep.store(0, std::memory_order_release);
}

} // namespace poolscope
