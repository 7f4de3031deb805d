// ResultRing: a worker's reports to the parent through shared memory. Bytes arrive whole and in
// order between real processes, also when a write is larger than the ring (it streams); the
// doorbell rings once each time the reader sleeps, and never while it is awake, so that a
// sleeping reader is always woken (a lost wake-up would hang the cross-process test, which
// bounds each sleep); a writer waits for room and goes on, and gives up when the reader has
// gone. TaskQueue holds one ring per worker slot, shared with a process that attaches it.
#include "hygiene.h"
#include "resultring.h"
#include "taskqueue.h"

#include <QTest>
#include <atomic>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace poolscope;

namespace {

// A ring of `capacity` bytes in a shared anonymous mapping (fork children share it).
class SharedRing
{
public:
    explicit SharedRing(std::size_t capacity)
        : m_bytes(4096 + capacity), m_memory(::mmap(nullptr, m_bytes, PROT_READ | PROT_WRITE,
                                                    MAP_SHARED | MAP_ANONYMOUS, -1, 0))
    {
        if (m_memory == MAP_FAILED)
            qFatal("mmap failed");
        ResultRing::construct(m_memory);
        m_ring = ResultRing(m_memory, static_cast<std::uint8_t*>(m_memory) + 4096, capacity);
    }
    ~SharedRing() { ::munmap(m_memory, m_bytes); }
    SharedRing(const SharedRing&) = delete;
    SharedRing& operator=(const SharedRing&) = delete;
    ResultRing& ring() { return m_ring; }

private:
    std::size_t m_bytes;
    void* m_memory;
    ResultRing m_ring;
};

// Message i: a size that varies with i (up to 2.5x the test ring), filled with a pattern.
std::vector<std::uint8_t> message(std::uint32_t i)
{
    std::vector<std::uint8_t> m(1 + (i * 613) % 10'000);
    for (std::size_t k = 0; k < m.size(); ++k)
        m[k] = std::uint8_t(i * 31 + k * 7);
    return m;
}

const std::function<bool()> kAlive = [] {
    return true;
};

} // namespace

class TestResultRing : public QObject
{
    Q_OBJECT

private slots:
    void init() { m_hygiene.baseline(); }
    void cleanup() { m_hygiene.check(); }

    void streamsBetweenProcessesAndWakesTheSleepingReader()
    {
        SharedRing shared(4096);
        ResultRing& ring = shared.ring();
        int bell[2];
        QCOMPARE(::pipe2(bell, O_CLOEXEC), 0);
        constexpr std::uint32_t kMessages = 3000;
        const pid_t child = ::fork();
        QVERIFY(child >= 0);
        if (child == 0) {
            ::close(bell[0]);
            const std::function<bool()> doorbell = [&] {
                const std::uint8_t b = 1;
                return ::write(bell[1], &b, 1) == 1;
            };
            for (std::uint32_t i = 0; i < kMessages; ++i)
                if (!ring.write(message(i), doorbell, kAlive))
                    ::_exit(3);
            ::_exit(0);
        }
        ::close(bell[1]);
        std::vector<std::uint8_t> expected;
        for (std::uint32_t i = 0; i < kMessages; ++i) {
            const auto m = message(i);
            expected.insert(expected.end(), m.begin(), m.end());
        }
        std::vector<std::uint8_t> got;
        std::vector<std::uint8_t> buf(1000); // smaller than the ring: partial reads too
        int sleeps = 0;
        int lost = 0;
        bool eof = false;
        while (got.size() < expected.size() && lost == 0) {
            const std::size_t n = ring.read(buf.data(), buf.size());
            if (n > 0) {
                got.insert(got.end(), buf.begin(), buf.begin() + std::ptrdiff_t(n));
                continue;
            }
            if (!ring.sleepUnlessData())
                continue;
            ++sleeps;
            pollfd p{bell[0], POLLIN, 0};
            // The writer always has more to send here: without its doorbell within 10 s, the
            // wake-up was lost.
            if (::poll(&p, 1, 10'000) != 1) {
                ++lost;
            } else {
                std::uint8_t drain[64];
                const ssize_t r = ::read(bell[0], drain, sizeof drain);
                eof = eof || r == 0;
            }
            ring.awake();
        }
        if (lost != 0)
            ::kill(child, SIGKILL); // it waits for room that will not come
        int status = 0;
        QCOMPARE(::waitpid(child, &status, 0), child);
        ::close(bell[0]);
        QCOMPARE(lost, 0);
        QVERIFY(WIFEXITED(status));
        QCOMPARE(WEXITSTATUS(status), 0);
        QCOMPARE(got.size(), expected.size());
        QVERIFY(got == expected);
        QCOMPARE(ring.available(), std::size_t(0));
        QVERIFY(sleeps > 0); // the reader did sleep, and was woken each time
        QVERIFY(!eof);
    }

    void doorbellRingsOnceForEachSleep()
    {
        SharedRing shared(256);
        ResultRing& ring = shared.ring();
        int rings = 0;
        const std::function<bool()> doorbell = [&] {
            return ++rings, true;
        };
        const std::uint8_t bytes[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        std::uint8_t out[256];

        QVERIFY(ring.write(bytes, doorbell, kAlive)); // the reader is awake
        QCOMPARE(rings, 0);
        QVERIFY(!ring.sleepUnlessData()); // bytes are there: do not sleep
        QVERIFY(ring.write(bytes, doorbell, kAlive));
        QCOMPARE(rings, 0); // and the doorbell stayed disarmed
        QCOMPARE(ring.read(out, sizeof out), std::size_t(20));
        QCOMPARE(out[19], std::uint8_t(10));

        QVERIFY(ring.sleepUnlessData()); // empty: sleep
        QVERIFY(ring.write(bytes, doorbell, kAlive));
        QCOMPARE(rings, 1);
        QVERIFY(ring.write(bytes, doorbell, kAlive));
        QCOMPARE(rings, 1); // once a sleep
        ring.awake();
        QCOMPARE(ring.read(out, 5), std::size_t(5)); // partial reads keep the order
        QCOMPARE(out[4], std::uint8_t(5));
        QCOMPARE(ring.read(out, sizeof out), std::size_t(15));
        QCOMPARE(out[0], std::uint8_t(6));

        QVERIFY(ring.sleepUnlessData());
        ring.awake(); // woke for another reason
        QVERIFY(ring.write(bytes, doorbell, kAlive));
        QCOMPARE(rings, 1);
        ring.reset();
        QCOMPARE(ring.available(), std::size_t(0));
    }

    void writerWaitsForRoomAndGoesOn()
    {
        SharedRing shared(1024);
        ResultRing& ring = shared.ring();
        std::vector<std::uint8_t> big(3000);
        for (std::size_t k = 0; k < big.size(); ++k)
            big[k] = std::uint8_t(k * 13);
        std::atomic<bool> done{false};
        bool ok = false;
        std::thread writer([&] {
            ok = ring.write(big, nullptr, kAlive);
            done.store(true);
        });
        // The writer fills the ring and must then wait: it cannot finish before a read.
        while (ring.available() < ring.capacity())
            std::this_thread::yield();
        QVERIFY(!done.load());
        std::vector<std::uint8_t> got;
        std::uint8_t buf[700];
        while (got.size() < big.size()) {
            const std::size_t n = ring.read(buf, sizeof buf);
            got.insert(got.end(), buf, buf + n);
            if (n == 0)
                std::this_thread::yield();
        }
        writer.join();
        QVERIFY(ok);
        QVERIFY(got == big);
    }

    void writerGivesUpWhenTheReaderHasGone()
    {
        SharedRing shared(128);
        ResultRing& ring = shared.ring();
        std::vector<std::uint8_t> big(300, 7);
        int asked = 0;
        const std::function<bool()> gone = [&] {
            return ++asked, false;
        };
        QVERIFY(!ring.write(big, nullptr, gone)); // waits 100 ms, asks, gives up
        QVERIFY(asked >= 1);
        QCOMPARE(ring.available(), std::size_t(128)); // what fitted was published

        SharedRing second(128);
        QVERIFY(second.ring().sleepUnlessData());
        const std::function<bool()> broken = [] {
            return false;
        }; // a doorbell write failed
        QVERIFY(!second.ring().write(big, broken, kAlive));
    }

    void taskQueueHoldsOneRingPerSlot()
    {
        TaskQueue q = TaskQueue::create(4096, 3);
        QCOMPARE(q.resultRing(0).capacity(), ResultRing::kDefaultCapacity);
        QVERIFY_THROWS_EXCEPTION(std::out_of_range, q.resultRing(3));
        TaskQueue other = TaskQueue::attach(q.fd()); // a spawned worker's view
        const std::uint8_t a[3] = {1, 2, 3};
        const std::uint8_t b[2] = {9, 8};
        ResultRing w1 = other.resultRing(1);
        ResultRing w2 = other.resultRing(2);
        QVERIFY(w1.write(a, nullptr, kAlive));
        QVERIFY(w2.write(b, nullptr, kAlive));
        QCOMPARE(q.resultRing(0).available(), std::size_t(0));
        std::uint8_t out[8];
        QCOMPARE(q.resultRing(1).read(out, sizeof out), std::size_t(3));
        QCOMPARE(out[2], std::uint8_t(3));
        QCOMPARE(q.resultRing(2).read(out, sizeof out), std::size_t(2));
        QCOMPARE(out[0], std::uint8_t(9));
        // The slots' status is untouched by the rings beside it.
        QCOMPARE(q.slot(1)->state.load(), std::int32_t(WorkerSlot::Starting));
    }

private:
    Hygiene m_hygiene;
};

QTEST_GUILESS_MAIN(TestResultRing)
#include "tst_resultring.moc"
