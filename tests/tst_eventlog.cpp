#include "eventlog.h"

#include <QTest>
#include <atomic>
#include <thread>
#include <vector>

using namespace poolscope;

class TestEventLog : public QObject
{
    Q_OBJECT

private slots:
    void appendAndRead()
    {
        EventLog log;
        QCOMPARE(log.size(), std::size_t(0));
        QCOMPARE(log.startNs(), 0);
        Event e;
        e.tNs = 100;
        e.kind = EventKind::TaskFinished;
        e.value = Value(25);
        log.append(e);
        QCOMPARE(log.size(), std::size_t(1));
        QCOMPARE(log.at(0).value, Value(25));
        QCOMPARE(log.startNs(), 100);
    }

    // Several writers and one reader that walks the log while it grows: the reader must see
    // every event complete, each writer's events in its own order, and nothing lost.
    void concurrentWritersAndReader()
    {
        EventLog log;
        constexpr int kWriters = 4;
        constexpr int kPerWriter = 3 * int(EventLog::kSegmentSize) + 17; // crosses segments
        std::atomic<bool> done{false};
        std::vector<std::thread> writers;
        for (int w = 0; w < kWriters; ++w) {
            writers.emplace_back([&log, w] {
                std::vector<Event> batch;
                for (int i = 0; i < kPerWriter; ++i) {
                    Event e;
                    e.worker = w;
                    e.task = i;
                    e.text = "w" + std::to_string(w);
                    if (i % 3 == 0) {
                        log.append(std::span<Event>(batch)); // keep the writer's own order
                        batch.clear();
                        log.append(std::move(e));
                    } else {
                        batch.push_back(std::move(e));
                        if (batch.size() == 7) {
                            log.append(std::span<Event>(batch));
                            batch.clear();
                        }
                    }
                }
                log.append(std::span<Event>(batch));
            });
        }
        std::vector<std::int64_t> next(kWriters, 0);
        std::size_t seen = 0;
        bool ordered = true;
        auto readNew = [&] {
            const std::size_t n = log.size();
            for (; seen < n; ++seen) {
                const Event& e = log.at(seen);
                ordered = ordered && e.text == "w" + std::to_string(e.worker);
                ordered = ordered && e.task >= next[e.worker];
                next[e.worker] = e.task + 1;
            }
        };
        std::thread reader([&] {
            while (!done.load())
                readNew();
        });
        for (auto& t : writers)
            t.join();
        done = true;
        reader.join();
        readNew();
        QVERIFY(ordered);
        QCOMPARE(log.size(), std::size_t(kWriters * kPerWriter));
        for (int w = 0; w < kWriters; ++w)
            QCOMPARE(next[w], std::int64_t(kPerWriter));
    }
};

QTEST_GUILESS_MAIN(TestEventLog)
#include "tst_eventlog.moc"
