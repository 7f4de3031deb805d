#include "hygiene.h"
#include "taskqueue.h"

#include <QTest>
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <memory>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace poolscope;

namespace {

// Message i: its index (4 bytes) then a size that varies with i, filled with a pattern.
Bytes message(std::uint32_t i)
{
    Bytes m(4 + (i * 37) % 300, std::uint8_t(i * 7 + 1));
    std::memcpy(m.data(), &i, 4);
    return m;
}

std::uint32_t indexOf(const Bytes& m)
{
    std::uint32_t i = 0;
    std::memcpy(&i, m.data(), 4);
    return i;
}

const auto kAlive = [] {
    return true;
};

} // namespace

class TestTaskQueue : public QObject
{
    Q_OBJECT

private slots:
    void init() { m_hygiene.baseline(); }
    void cleanup() { m_hygiene.check(); }

    void fifoOneReader()
    {
        TaskQueue q = TaskQueue::create(4096);
        QVERIFY(q.fd() >= 0);
        QCOMPARE(q.capacity(), std::size_t(4096));
        Bytes out;
        std::uint32_t next = 0;
        // Fill until full, drain, repeat: the stream wraps around the end many times.
        for (std::uint32_t i = 0; i < 2000;) {
            while (i < 2000 && q.tryPush(message(i)))
                ++i;
            QVERIFY(q.pendingBytes() > 0);
            while (q.pendingBytes() > 0) {
                QVERIFY(q.pop(1, out, kAlive));
                QCOMPARE(out, message(next));
                ++next;
            }
        }
        QCOMPARE(next, 2000u);
    }

    void tryPushRefusesWhatDoesNotFit()
    {
        TaskQueue q = TaskQueue::create(64);
        QVERIFY(q.tryPush(Bytes(60, 1))); // 4 + 60 = the whole capacity
        QCOMPARE(q.pendingBytes(), std::size_t(64));
        QVERIFY(!q.tryPush(Bytes(1, 2)));
        QVERIFY(!q.tryPush(Bytes()));
        Bytes out;
        QVERIFY(q.pop(1, out, kAlive));
        QCOMPARE(out, Bytes(60, 1));
        QVERIFY(q.tryPush(Bytes())); // an empty message is a message
        QVERIFY(q.pop(1, out, kAlive));
        QVERIFY(out.empty());
    }

    void messageLargerThanTheQueueStreams()
    {
        TaskQueue q = TaskQueue::create(4096);
        Bytes big(100'000);
        for (std::size_t i = 0; i < big.size(); ++i)
            big[i] = std::uint8_t(i * 31 + i / 251);
        Bytes received;
        std::thread reader([&] { q.pop(7, received, kAlive); });
        QVERIFY(q.push(big, [] { return false; }));
        QVERIFY(q.push(message(5), {}));
        reader.join();
        QCOMPARE(received, big);
        Bytes out;
        QVERIFY(q.pop(7, out, kAlive));
        QCOMPARE(out, message(5));
    }

    void readerThreadsTakeEachMessageOnceInOrder()
    {
        TaskQueue q = TaskQueue::create(2048);
        constexpr std::uint32_t kCount = 20'000;
        constexpr int kReaders = 3;
        std::vector<std::vector<std::uint32_t>> got(kReaders);
        std::atomic<bool> corrupt{false};
        std::vector<std::thread> readers;
        for (int r = 0; r < kReaders; ++r) {
            readers.emplace_back([&, r] {
                Bytes out;
                for (;;) {
                    if (!q.pop(std::uint32_t(100 + r), out, kAlive))
                        return;
                    if (out.size() == 1)
                        return; // stop message
                    if (out != message(indexOf(out)))
                        corrupt = true;
                    got[std::size_t(r)].push_back(indexOf(out));
                }
            });
        }
        for (std::uint32_t i = 0; i < kCount; ++i)
            QVERIFY(q.push(message(i), {}));
        for (int r = 0; r < kReaders; ++r)
            QVERIFY(q.push(Bytes{0}, {}));
        for (auto& t : readers)
            t.join();
        QVERIFY(!corrupt);
        std::vector<std::uint32_t> all;
        for (const auto& g : got) {
            QVERIFY(std::is_sorted(g.begin(), g.end())); // FIFO as each reader sees it
            all.insert(all.end(), g.begin(), g.end());
        }
        std::sort(all.begin(), all.end());
        QCOMPARE(all.size(), std::size_t(kCount));
        for (std::uint32_t i = 0; i < kCount; ++i)
            QCOMPARE(all[i], i);
    }

    void readerProcessesShareTheQueue_data()
    {
        QTest::addColumn<bool>("inherited");
        QTest::newRow("attached by descriptor") << false;
        QTest::newRow("inherited mapping") << true; // as a pool's fork workers do
    }

    void readerProcessesShareTheQueue()
    {
        QFETCH(bool, inherited);
        TaskQueue q = TaskQueue::create(4096);
        constexpr std::uint32_t kCount = 5000;
        int report[2];
        QCOMPARE(::pipe2(report, O_CLOEXEC), 0);
        std::vector<pid_t> children;
        for (int c = 0; c < 2; ++c) {
            const pid_t pid = ::fork();
            QVERIFY(pid >= 0);
            if (pid == 0) {
                ::close(report[0]);
                TaskQueue mine =
                    inherited ? TaskQueue::inherited(q.mapping()) : TaskQueue::attach(q.fd());
                Bytes out;
                while (mine.pop(std::uint32_t(::getpid()), out, kAlive) && out.size() > 1) {
                    const std::uint32_t i = indexOf(out);
                    if (out != message(i) || ::write(report[1], &i, 4) != 4)
                        ::_exit(3);
                }
                ::_exit(0);
            }
            children.push_back(pid);
        }
        ::close(report[1]);
        for (std::uint32_t i = 0; i < kCount; ++i)
            QVERIFY(q.push(message(i), {}));
        for (int c = 0; c < 2; ++c)
            QVERIFY(q.push(Bytes{0}, {}));
        std::vector<std::uint32_t> all(kCount + 1);
        std::size_t n = 0;
        std::uint32_t i = 0;
        while (::read(report[0], &i, 4) == 4)
            all[n++] = i;
        ::close(report[0]);
        for (pid_t pid : children) {
            int status = 0;
            QCOMPARE(::waitpid(pid, &status, 0), pid);
            QVERIFY(WIFEXITED(status));
            QCOMPARE(WEXITSTATUS(status), 0);
        }
        QCOMPARE(n, std::size_t(kCount));
        all.resize(n);
        std::sort(all.begin(), all.end());
        for (std::uint32_t k = 0; k < kCount; ++k)
            QCOMPARE(all[k], k);
    }

    // A reader asleep on the empty queue is woken once for a burst of messages, even when it
    // cannot run before the burst ends (here it is stopped): the writer no longer wakes it
    // again for every message until it has run (one system call each).
    void sleepingReaderIsWokenOnce()
    {
        TaskQueue q = TaskQueue::create(65536);
        constexpr std::uint32_t kCount = 50;
        const pid_t pid = ::fork();
        QVERIFY(pid >= 0);
        if (pid == 0) {
            Bytes out;
            std::uint32_t next = 0;
            while (q.pop(std::uint32_t(::getpid()), out, kAlive) && out.size() > 1) {
                if (out != message(next++))
                    ::_exit(3);
            }
            ::_exit(next == kCount ? 0 : 4);
        }
        // A failed check returns at once: the child, perhaps stopped, must not outlive it.
        bool reaped = false;
        const std::unique_ptr<void, std::function<void(void*)>> reap(this, [&](void*) {
            if (!reaped) {
                ::kill(pid, SIGKILL);
                ::waitpid(pid, nullptr, 0);
            }
        });
        // Asleep: blocked in futex(), as /proc/PID/syscall shows.
        const std::string syscallFile = "/proc/" + std::to_string(pid) + "/syscall";
        bool asleep = false;
        for (int tries = 0; tries < 10000 && !asleep; ++tries) {
            std::FILE* f = std::fopen(syscallFile.c_str(), "re");
            long number = -1;
            if (f) {
                if (std::fscanf(f, "%ld", &number) != 1)
                    number = -1;
                std::fclose(f);
            }
            asleep = number == SYS_futex;
            if (!asleep)
                ::usleep(1000);
        }
        QVERIFY2(asleep, "the reader never went to sleep on the empty queue");
        QCOMPARE(::kill(pid, SIGSTOP), 0);
        int status = 0;
        QCOMPARE(::waitpid(pid, &status, WUNTRACED), pid);
        QVERIFY(WIFSTOPPED(status));
        const std::uint64_t before = q.readerWakeUps();
        for (std::uint32_t i = 0; i < kCount; ++i)
            QVERIFY(q.tryPush(message(i)));
        QCOMPARE(q.readerWakeUps() - before, std::uint64_t(1));
        QCOMPARE(::kill(pid, SIGCONT), 0);
        QVERIFY(q.push(Bytes{0}, {}));
        QCOMPARE(::waitpid(pid, &status, 0), pid);
        reaped = true;
        QVERIFY(WIFEXITED(status));
        QCOMPARE(WEXITSTATUS(status), 0);
    }

    void deadReaderIsReleasedAndItsMessageSkipped()
    {
        TaskQueue q = TaskQueue::create(4096);
        // A 10,000-byte message of which only the first 4,092 bytes get written: the writer
        // is cancelled while it waits for room.
        int waits = 0;
        QVERIFY(!q.push(Bytes(10'000, 7), [&] { return ++waits > 0; }));
        QCOMPARE(q.pendingBytes(), std::size_t(4096));

        const pid_t child = ::fork();
        QVERIFY(child >= 0);
        if (child == 0) {
            TaskQueue mine = TaskQueue::attach(q.fd());
            Bytes out;
            mine.pop(std::uint32_t(::getpid()), out, kAlive); // holds the lock, waits for more
            ::_exit(0);
        }
        // The child takes everything there is, then waits for the rest of its message.
        for (int i = 0; i < 2000 && q.pendingBytes() != 0; ++i)
            ::usleep(1000);
        QCOMPARE(q.pendingBytes(), std::size_t(0));
        ::kill(child, SIGKILL);
        int status = 0;
        QCOMPARE(::waitpid(child, &status, 0), child);
        QVERIFY(WIFSIGNALED(status));

        QVERIFY(!q.releaseDeadReader(std::uint32_t(child) + 1)); // not the holder
        QVERIFY(q.releaseDeadReader(std::uint32_t(child)));
        QVERIFY(!q.releaseDeadReader(std::uint32_t(child))); // already released

        // The rest of the dead reader's message (a 5,904-byte message and its 4-byte header
        // stand in for its last 5,908 bytes), then a message that must come through whole.
        Bytes out;
        bool popped = false;
        std::thread reader([&] { popped = q.pop(1, out, kAlive); });
        QVERIFY(q.push(Bytes(10'000 - 4092 - 4, 9), {}));
        QVERIFY(q.push(message(42), {}));
        reader.join();
        QVERIFY(popped);
        QCOMPARE(out, message(42));
        QCOMPARE(q.pendingBytes(), std::size_t(0));
    }

    void readerStopsWhenTheParentHasGone()
    {
        TaskQueue q = TaskQueue::create(4096);
        int asked = 0;
        Bytes out;
        QVERIFY(!q.pop(1, out, [&] { return ++asked < 2; })); // idle: asks every 100 ms
        QCOMPARE(asked, 2);
    }

    void badReaderIdsAndMemoryAreRefused()
    {
        TaskQueue q = TaskQueue::create(4096);
        Bytes out;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, q.pop(0, out, kAlive));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, q.pop(0x80000001u, out, kAlive));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, TaskQueue::create(8));

        const int notAQueue = ::memfd_create("not-a-queue", MFD_CLOEXEC);
        QVERIFY(notAQueue >= 0);
        QCOMPARE(::ftruncate(notAQueue, 8192), 0);
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, TaskQueue::attach(notAQueue));
        ::close(notAQueue);
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, TaskQueue::attach(-1));

        QVERIFY_THROWS_EXCEPTION(std::runtime_error, TaskQueue::inherited(nullptr));
        std::vector<std::uint64_t> notAQueueMapping(1024, 0);
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, TaskQueue::inherited(notAQueueMapping.data()));
    }

    // The queue's memory also holds the workers' status slots: each process sees what the
    // others write there, the stream after them is unharmed, and a slot past the last is refused.
    void workerSlotsAreShared_data()
    {
        QTest::addColumn<bool>("inherited");
        QTest::newRow("attached by descriptor") << false;
        QTest::newRow("inherited mapping") << true;
    }

    void workerSlotsAreShared()
    {
        QFETCH(bool, inherited);
        TaskQueue q = TaskQueue::create(4096, 70); // 70 slots: more than a page of them
        QCOMPARE(q.slotCount(), std::size_t(70));
        for (std::size_t i = 0; i < 70; ++i) {
            QCOMPARE(q.slot(i)->state.load(), std::int32_t(WorkerSlot::Starting));
            QCOMPARE(q.slot(i)->task.load(), std::int64_t(-1));
        }
        QVERIFY_THROWS_EXCEPTION(std::out_of_range, q.slot(70));
        QVERIFY(q.tryPush(message(5)));
        const pid_t pid = ::fork();
        QVERIFY(pid >= 0);
        if (pid == 0) {
            TaskQueue mine =
                inherited ? TaskQueue::inherited(q.mapping()) : TaskQueue::attach(q.fd());
            Bytes out;
            const bool ok = mine.slotCount() == 70 && mine.pop(1, out, kAlive) && out == message(5);
            mine.slot(69)->task.store(ok ? 4242 : -7);
            mine.slot(69)->state.store(WorkerSlot::Running);
            ::_exit(ok ? 0 : 3);
        }
        int status = 0;
        QCOMPARE(::waitpid(pid, &status, 0), pid);
        QVERIFY(WIFEXITED(status));
        QCOMPARE(WEXITSTATUS(status), 0);
        QCOMPARE(q.slot(69)->state.load(), std::int32_t(WorkerSlot::Running));
        QCOMPARE(q.slot(69)->task.load(), std::int64_t(4242));
        QCOMPARE(q.slot(68)->state.load(), std::int32_t(WorkerSlot::Starting));
        QCOMPARE(q.pendingBytes(), std::size_t(0));
    }

    void inheritedViewLeavesTheMappingAlone()
    {
        TaskQueue q = TaskQueue::create(4096);
        {
            TaskQueue view = TaskQueue::inherited(q.mapping());
            QCOMPARE(view.fd(), -1);
            QCOMPARE(view.capacity(), q.capacity());
            QVERIFY(view.tryPush(message(1)));
        } // the view's end must not unmap the queue: q still reads and writes it below
        QVERIFY(q.tryPush(message(2)));
        Bytes out;
        QVERIFY(q.pop(1, out, kAlive));
        QCOMPARE(out, message(1));
        QVERIFY(q.pop(1, out, kAlive));
        QCOMPARE(out, message(2));
    }

    // A fork pool's queue: no descriptor; its mapping goes on to the next such queue of the
    // same size, which starts empty with fresh slots whatever the last one left there.
    void inheritedQueueKeepsItsMappingForTheNext()
    {
        void* first = nullptr;
        {
            TaskQueue q = TaskQueue::createInherited(4096, 3);
            QCOMPARE(q.fd(), -1);
            QCOMPARE(q.capacity(), std::size_t(4096));
            first = q.mapping();
            QVERIFY(q.tryPush(message(1)));
            QVERIFY(q.tryPush(message(2)));
            Bytes out;
            QVERIFY(q.pop(1, out, kAlive)); // message 2 stays unread
            q.slot(2)->state.store(WorkerSlot::Running);
            q.slot(2)->task.store(77);
        }
        {
            TaskQueue q = TaskQueue::createInherited(4096, 3);
            QCOMPARE(q.mapping(), first);
            QCOMPARE(q.pendingBytes(), std::size_t(0));
            for (std::size_t i = 0; i < 3; ++i) {
                QCOMPARE(q.slot(i)->state.load(), std::int32_t(WorkerSlot::Starting));
                QCOMPARE(q.slot(i)->task.load(), std::int64_t(-1));
            }
            QVERIFY(q.tryPush(message(9)));
            Bytes out;
            QVERIFY(q.pop(1, out, kAlive));
            QCOMPARE(out, message(9));
        }
        // Another size: a mapping of its own (the kept one does not fit).
        TaskQueue big = TaskQueue::createInherited(8192, 70);
        QCOMPARE(big.capacity(), std::size_t(8192));
        QCOMPARE(big.slotCount(), std::size_t(70));
        QCOMPARE(big.slot(69)->state.load(), std::int32_t(WorkerSlot::Starting));
        QVERIFY(big.tryPush(Bytes(6000, 5)));
        Bytes out;
        QVERIFY(big.pop(1, out, kAlive));
        QCOMPARE(out, Bytes(6000, 5));
    }

    // The kept mapping is shared with fork children made since: a child's own queue must never
    // be its parent's kept one, or two pools would share one stream.
    void forkChildNeverTakesItsParentsKeptMapping()
    {
        void* kept = nullptr;
        {
            TaskQueue q = TaskQueue::createInherited(4096, 2);
            kept = q.mapping();
        }
        const pid_t pid = ::fork();
        QVERIFY(pid >= 0);
        if (pid == 0) {
            TaskQueue mine = TaskQueue::createInherited(4096, 2);
            const bool own = mine.mapping() != kept && mine.tryPush(message(3));
            ::_exit(own ? 0 : 3);
        }
        int status = 0;
        QCOMPARE(::waitpid(pid, &status, 0), pid);
        QVERIFY(WIFEXITED(status));
        QCOMPARE(WEXITSTATUS(status), 0);
        TaskQueue q = TaskQueue::createInherited(4096, 2);
        QCOMPARE(q.mapping(), kept); // still this process's own
        QCOMPARE(q.pendingBytes(), std::size_t(0));
    }

private:
    Hygiene m_hygiene;
};

QTEST_GUILESS_MAIN(TestTaskQueue)
#include "tst_taskqueue.moc"
