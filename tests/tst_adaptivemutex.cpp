// AdaptiveMutex: mutual exclusion between threads that contend for it hard (an unguarded
// read-modify-write of a plain counter loses no increment), try_lock refused while another
// thread holds the lock and granted once it is free, and use with std::condition_variable_any.
#include "adaptivemutex.h"

#include <QTest>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

using namespace poolscope;

class TestAdaptiveMutex : public QObject
{
    Q_OBJECT

private slots:
    void excludesContendingThreads()
    {
        AdaptiveMutex mutex;
        long long counter = 0; // plain: only the mutex keeps the increments whole
        int inside = 0;
        int overlaps = 0;
        constexpr int kThreads = 4;
        constexpr int kRounds = 200'000;
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&] {
                for (int i = 0; i < kRounds; ++i) {
                    std::lock_guard lock(mutex);
                    overlaps += ++inside != 1;
                    counter = counter + 1;
                    --inside;
                }
            });
        }
        for (auto& t : threads)
            t.join();
        QCOMPARE(counter, static_cast<long long>(kThreads) * kRounds);
        QCOMPARE(overlaps, 0);
    }

    void tryLockIsRefusedWhileHeld()
    {
        AdaptiveMutex mutex;
        std::atomic<int> step{0};
        bool refused = false;
        bool grantedAfter = false;
        std::thread other([&] {
            while (step.load() != 1)
                std::this_thread::yield();
            refused = !mutex.try_lock();
            step.store(2);
            while (step.load() != 3)
                std::this_thread::yield();
            grantedAfter = mutex.try_lock();
            if (grantedAfter)
                mutex.unlock();
        });
        mutex.lock();
        step.store(1);
        while (step.load() != 2)
            std::this_thread::yield();
        mutex.unlock();
        step.store(3);
        other.join();
        QVERIFY(refused);
        QVERIFY(grantedAfter);
        QVERIFY(mutex.try_lock()); // and free again
        mutex.unlock();
    }

    void waitsOnAConditionVariable()
    {
        AdaptiveMutex mutex;
        std::condition_variable_any cv;
        int produced = 0;
        int consumed = 0;
        constexpr int kItems = 10'000;
        std::thread producer([&] {
            for (int i = 0; i < kItems; ++i) {
                {
                    std::lock_guard lock(mutex);
                    ++produced;
                }
                cv.notify_all();
            }
        });
        {
            std::unique_lock lock(mutex);
            while (consumed < kItems) {
                cv.wait(lock, [&] { return produced > consumed; });
                consumed = produced;
            }
        }
        producer.join();
        QCOMPARE(consumed, kItems);
    }
};

QTEST_APPLESS_MAIN(TestAdaptiveMutex)
#include "tst_adaptivemutex.moc"
