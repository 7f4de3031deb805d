#include "eventlog.h"
#include "taskclock.h"
#include "taskregistry.h"

#include <QTest>
#include <array>
#include <atomic>
#include <cmath>
#include <limits>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace poolscope;

Q_DECLARE_METATYPE(std::vector<std::int64_t>)
Q_DECLARE_METATYPE(poolscope::Value::List)

namespace {

// Runs readNew over and over on a reader thread until every writer has finished, then once more
// on this thread: what a view does while a pool runs, and after.
template <class ReadNew> void readWhileWriting(std::vector<std::thread>& writers, ReadNew& readNew)
{
    std::atomic<bool> done{false};
    std::thread reader([&] {
        while (!done.load())
            readNew();
    });
    for (auto& t : writers)
        t.join();
    done = true;
    reader.join();
    readNew();
}

// n tasks one after another from 1,000 ns, 9 ns each: their end times, for span.endNs.
std::vector<std::int64_t> endsEvery9ns(std::size_t n)
{
    std::vector<std::int64_t> ends;
    for (std::size_t k = 0; k < n; ++k)
        ends.push_back(1'000 + 9 * std::int64_t(k + 1));
    return ends;
}

// A span of those tasks (ends: endsEvery9ns), no results yet.
EventLog::TaskSpan spanFrom1000ns(std::span<const std::int64_t> ends)
{
    EventLog::TaskSpan span;
    span.firstStartNs = 1'000;
    span.endNs = ends;
    return span;
}

// Appends span to byValue with `ints` as its results given as Values, and to byInt with them
// given as ints (an int kernel's): the two forms that must read back alike.
void appendBothWays(EventLog::TaskSpan span, std::span<const std::int64_t> ints, EventLog& byValue,
                    EventLog& byInt)
{
    Value::List asValues;
    for (const std::int64_t x : ints)
        asValues.emplace_back(static_cast<long long>(x));
    span.results = asValues;
    EventLog::Batch(byValue).add(span);
    span.results = {};
    span.intResults = ints;
    EventLog::Batch(byInt).add(span);
}

// A log of n events: worker starts with texts and pids, and task ends with int results.
void fillLog(EventLog& log, int n, int salt)
{
    for (int i = 0; i < n; ++i) {
        Event e;
        e.tNs = 1'000 * i + salt;
        e.kind = i % 2 ? EventKind::TaskFinished : EventKind::WorkerStarted;
        e.task = i;
        e.pid = salt + i;
        e.ok = true;
        e.value = Value(std::int64_t(salt) * i);
        e.text = i % 2 ? "" : "ForkPoolWorker-" + std::to_string(salt + i);
        log.append(e);
    }
}

// Whether `log` holds exactly fillLog(n, salt)'s events.
bool holdsLog(const EventLog& log, int n, int salt)
{
    if (log.size() != std::size_t(n))
        return false;
    for (int i = 0; i < n; ++i) {
        const Event e = log.at(std::size_t(i));
        const std::string text = i % 2 ? "" : "ForkPoolWorker-" + std::to_string(salt + i);
        if (e.tNs != 1'000 * i + salt || e.task != i || e.pid != salt + i ||
            e.value != Value(std::int64_t(salt) * i) || e.text != text)
            return false;
    }
    return true;
}

} // namespace

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
        readWhileWriting(writers, readNew);
        QVERIFY(ordered);
        QCOMPARE(log.size(), std::size_t(kWriters * kPerWriter));
        for (int w = 0; w < kWriters; ++w)
            QCOMPARE(next[w], std::int64_t(kPerWriter));
    }

    // A span reads back as the TaskStarted / TaskFinished events it stands for, between the
    // plain events around it, by index in any order, with timeAt / kindAt agreeing with at().
    void spansReadBackAsEvents()
    {
        EventLog log;
        auto inputs = std::make_shared<const Value::List>(
            Value::List{Value(10), Value(11), Value(12), Value(13), Value(14)});
        Event taken;
        taken.tNs = 1000;
        taken.kind = EventKind::ChunkTaken;
        taken.job = 3;
        taken.chunk = 0;
        taken.worker = 7;
        log.append(taken);
        const std::vector<std::int64_t> ends1{1100, 1250, 1300};
        const Value::List results1{Value(100), Value(true), Value(2.5)};
        const std::vector<std::int64_t> ends2{1400, 1500};
        const Value::List results2{Value(), Value(-4)};
        {
            EventLog::Batch batch(log);
            EventLog::TaskSpan span;
            span.job = 3;
            span.chunk = 0;
            span.worker = 7;
            span.pid = 4242;
            span.firstTask = 0;
            span.firstStartNs = 1000;
            span.endNs = ends1;
            span.results = results1;
            span.inputs = inputs;
            batch.add(span);
            // The next report of the chunk: task 3 was seen starting already (a live report).
            span.firstTask = 3;
            span.firstStartNs = 1300;
            span.firstStartLogged = true;
            span.endNs = ends2;
            span.results = results2;
            span.inputs = nullptr;
            batch.add(span);
            Event got;
            got.tNs = 1600;
            got.kind = EventKind::ChunkResult;
            got.job = 3;
            batch.add(got);
        }
        struct Expected
        {
            EventKind kind;
            std::int64_t tNs;
            std::int64_t task;
            Value value;
        };
        const std::vector<Expected> expected{
            {EventKind::ChunkTaken, 1000, -1, Value()},
            {EventKind::TaskStarted, 1000, 0, Value(10)},
            {EventKind::TaskFinished, 1100, 0, Value(100)},
            {EventKind::TaskStarted, 1100, 1, Value(11)},
            {EventKind::TaskFinished, 1250, 1, Value(true)},
            {EventKind::TaskStarted, 1250, 2, Value(12)},
            {EventKind::TaskFinished, 1300, 2, Value(2.5)},
            {EventKind::TaskFinished, 1400, 3, Value()}, // its start was logged before
            {EventKind::TaskStarted, 1400, 4, Value()},  // no inputs given: None
            {EventKind::TaskFinished, 1500, 4, Value(-4)},
            {EventKind::ChunkResult, 1600, -1, Value()},
        };
        QCOMPARE(log.size(), expected.size());
        // Backwards first (every lookup misses the reader's hint), then forwards.
        for (int pass = 0; pass < 2; ++pass) {
            for (std::size_t n = 0; n < expected.size(); ++n) {
                const std::size_t i = pass == 0 ? expected.size() - 1 - n : n;
                const Event e = log.at(i);
                const Expected& x = expected[i];
                QCOMPARE(int(e.kind), int(x.kind));
                QCOMPARE(e.tNs, x.tNs);
                QCOMPARE(e.task, x.task);
                QCOMPARE(e.value, x.value);
                QCOMPARE(e.job, 3);
                QVERIFY(e.ok);
                QCOMPARE(log.timeAt(i), x.tNs);
                QCOMPARE(int(log.kindAt(i)), int(x.kind));
                if (x.kind == EventKind::TaskStarted || x.kind == EventKind::TaskFinished) {
                    QCOMPARE(e.worker, 7);
                    QCOMPARE(e.pid, 4242);
                    QCOMPARE(e.chunk, 0);
                    QCOMPARE(e.delay, -1.0);
                    QVERIFY(e.text.empty());
                }
            }
        }
        QCOMPARE(log.startNs(), 1000);
    }

    // A span that carries its chunk's ChunkTaken and ChunkResult reads back exactly as the same
    // report logged as separate events: every field of every event, by index in any order.
    void chunkEventsFoldIntoTheSpan()
    {
        const std::vector<std::int64_t> ends{1100, 1250};
        const Value::List results{Value(100), Value(2.5)};
        auto inputs = std::make_shared<const Value::List>(Value::List{Value(10), Value("x")});
        EventLog::TaskSpan span;
        span.job = 3;
        span.chunk = 2;
        span.worker = 7;
        span.pid = 4242;
        span.firstTask = 0;
        span.firstStartNs = 1000;
        span.endNs = ends;
        span.results = results;
        span.inputs = inputs;
        Event taken;
        taken.tNs = 1000;
        taken.kind = EventKind::ChunkTaken;
        taken.job = 3;
        taken.chunk = 2;
        taken.worker = 7;
        taken.pid = 4242;
        Event got = taken;
        got.tNs = 1400;
        got.kind = EventKind::ChunkResult;

        EventLog separate;
        EventLog folded;
        Event before;
        before.tNs = 900;
        before.kind = EventKind::ChunkSubmitted;
        before.text = "around";
        for (int round = 0; round < 2; ++round) {
            separate.append(before);
            folded.append(before);
            {
                EventLog::Batch batch(separate);
                batch.add(taken);
                batch.add(span);
                batch.add(got);
            }
            {
                EventLog::Batch batch(folded);
                EventLog::TaskSpan carrying = span;
                carrying.taken = true;
                carrying.receivedNs = got.tNs;
                batch.add(carrying);
            }
        }
        QCOMPARE(folded.size(), separate.size());
        QCOMPARE(folded.size(), std::size_t(2 * 7));
        for (int pass = 0; pass < 2; ++pass) {
            for (std::size_t n = 0; n < folded.size(); ++n) {
                const std::size_t i = pass == 0 ? folded.size() - 1 - n : n;
                const Event a = separate.at(i);
                const Event b = folded.at(i);
                QCOMPARE(int(b.kind), int(a.kind));
                QCOMPARE(b.tNs, a.tNs);
                QCOMPARE(b.ok, a.ok);
                QCOMPARE(b.job, a.job);
                QCOMPARE(b.chunk, a.chunk);
                QCOMPARE(b.worker, a.worker);
                QCOMPARE(b.pid, a.pid);
                QCOMPARE(b.ppid, a.ppid);
                QCOMPARE(b.task, a.task);
                QCOMPARE(b.a, a.a);
                QCOMPARE(b.b, a.b);
                QCOMPARE(b.delay, a.delay);
                QCOMPARE(b.value, a.value);
                QCOMPARE(b.text, a.text);
                QCOMPARE(folded.timeAt(i), a.tNs);
                QCOMPARE(int(folded.kindAt(i)), int(a.kind));
            }
        }

        // The chunk's events need tasks to ride on, and a span that starts its chunk cannot
        // have had its first start logged already.
        EventLog::TaskSpan empty = span;
        empty.endNs = {};
        empty.results = {};
        empty.taken = true;
        EventLog::TaskSpan late = span;
        late.taken = true;
        late.firstStartLogged = true;
        {
            EventLog::Batch batch(folded);
            QVERIFY_THROWS_EXCEPTION(std::invalid_argument, batch.add(empty));
            QVERIFY_THROWS_EXCEPTION(std::invalid_argument, batch.add(late));
        }
        QCOMPARE(folded.size(), separate.size());
    }

    // Scalar inputs go into the log's cells, and the job's input list is not kept; a span whose
    // inputs include a list, a tuple or a string keeps the shared list instead. Both read back.
    void spanInputsAreCopiedWhenScalarElseShared()
    {
        EventLog log;
        const std::vector<std::int64_t> ends{10, 20, 30};
        const Value::List results{Value(1), Value(2), Value(3)};
        auto scalars = std::make_shared<const Value::List>(
            Value::List{Value(7), Value(2.5), Value(false), Value(), Value(-9)});
        auto mixed = std::make_shared<const Value::List>(
            Value::List{Value(1), Value::tuple({Value(2), Value(3)}), Value("four")});
        EventLog::TaskSpan span;
        span.job = 1;
        span.endNs = ends;
        span.results = results;
        span.firstTask = 1; // tasks 1..3 of the scalar list
        span.inputs = scalars;
        {
            EventLog::Batch batch(log);
            batch.add(span);
        }
        span.inputs = nullptr;
        QCOMPARE(scalars.use_count(), 1L); // the log copied the three inputs, kept no list
        span.firstTask = 0;
        span.inputs = mixed;
        {
            EventLog::Batch batch(log);
            batch.add(span);
        }
        span.inputs = nullptr;
        QCOMPARE(mixed.use_count(), 2L); // kept, shared
        const std::vector<Value> started{
            Value(2.5),   Value(false), Value(), Value(1), Value::tuple({Value(2), Value(3)}),
            Value("four")};
        std::vector<Value> seen;
        for (std::size_t i = 0; i < log.size(); ++i) {
            const Event e = log.at(i);
            if (e.kind == EventKind::TaskStarted)
                seen.push_back(e.value);
        }
        QCOMPARE(seen, started);
    }

    // A span is stored packed (32-bit words: end times after the span's start, results and
    // inputs in one or two words as their values need) when its results are of one kind, its
    // inputs too, and every end falls within 2^32 ns of its start; else in cells. Either way
    // every task reads back exactly: each row against the events the span stands for.
    void spansReadBackExactly_data()
    {
        QTest::addColumn<std::vector<std::int64_t>>("ends");
        QTest::addColumn<Value::List>("results");
        QTest::addColumn<Value::List>("inputs"); // empty: the span has none
        const std::int64_t i32max = std::numeric_limits<std::int32_t>::max();
        const std::int64_t i32min = std::numeric_limits<std::int32_t>::min();
        const std::int64_t u32max = std::numeric_limits<std::uint32_t>::max();
        const auto ints = [](std::initializer_list<std::int64_t> l) {
            Value::List out;
            for (auto v : l)
                out.emplace_back(static_cast<long long>(v));
            return out;
        };
        QTest::newRow("narrow ints") << std::vector<std::int64_t>{1010, 1020, 1030}
                                     << ints({i32max, i32min, -1}) << ints({0, -7, i32max});
        QTest::newRow("wide results, narrow inputs")
            << std::vector<std::int64_t>{1010, 1020, 1030}
            << ints({i32max + 1, std::numeric_limits<std::int64_t>::min(),
                     std::numeric_limits<std::int64_t>::max()})
            << ints({1, 2, 3});
        QTest::newRow("narrow results, wide inputs") << std::vector<std::int64_t>{1010, 1020, 1030}
                                                     << ints({1, 4, 9}) << ints({i32min - 1, 5, 6});
        QTest::newRow("floats") << std::vector<std::int64_t>{1001, 1002}
                                << Value::List{Value(-0.0), Value(1e300)}
                                << Value::List{Value(0.5), Value(-2.25)};
        QTest::newRow("bools and None") << std::vector<std::int64_t>{1001, 1002, 1003}
                                        << Value::List{Value(true), Value(false), Value(true)}
                                        << Value::List{Value(), Value(), Value()};
        QTest::newRow("no inputs")
            << std::vector<std::int64_t>{1005, 1006} << ints({-3, 3}) << Value::List{};
        QTest::newRow("non-scalar inputs") << std::vector<std::int64_t>{1005, 1006} << ints({4, 5})
                                           << Value::List{Value("a"), Value::tuple({Value(1)})};
        QTest::newRow("mixed result kinds (cells)")
            << std::vector<std::int64_t>{1001, 1002} << Value::List{Value(1), Value(2.0)}
            << ints({1, 2});
        QTest::newRow("mixed input kinds (cells)")
            << std::vector<std::int64_t>{1001, 1002} << ints({1, 2})
            << Value::List{Value(1), Value(true)};
        QTest::newRow("last end 2^32-1 ns after the start")
            << std::vector<std::int64_t>{1000, 1000 + u32max} << ints({1, 2}) << ints({1, 2});
        QTest::newRow("an end 2^32 ns after the start (cells)")
            << std::vector<std::int64_t>{1000, 1000 + u32max + 1} << ints({1, 2}) << ints({1, 2});
        QTest::newRow("an end before the start (cells)")
            << std::vector<std::int64_t>{999, 1500} << ints({1, 2}) << ints({1, 2});

        // One task (chunksize 1): kept in the record alone (kSingle) where result and input are
        // scalars, whatever their bits; else in the general forms.
        QTest::newRow("one task: int") << std::vector<std::int64_t>{1300} << ints({-9})
                                       << ints({std::numeric_limits<std::int64_t>::min()});
        QTest::newRow("one task: wide int, float input")
            << std::vector<std::int64_t>{1000 + u32max + 7}
            << ints({std::numeric_limits<std::int64_t>::max()}) << Value::List{Value(-0.0)};
        QTest::newRow("one task: float, bool input")
            << std::vector<std::int64_t>{999} << Value::List{Value(2.5)}
            << Value::List{Value(true)};
        QTest::newRow("one task: None, no inputs")
            << std::vector<std::int64_t>{1001} << Value::List{Value()} << Value::List{};
        QTest::newRow("one task: a string input (general form)")
            << std::vector<std::int64_t>{1001} << ints({4}) << Value::List{Value("x")};

        // Long spans, in PackedSpan's compact forms and out of them (blocks of 256 tasks).
        const auto generate = [](std::size_t n, const auto& f) {
            std::vector<std::int64_t> out;
            for (std::size_t k = 0; k < n; ++k)
                out.push_back(f(std::int64_t(k)));
            return out;
        };
        const auto asInts = [](const std::vector<std::int64_t>& v) {
            Value::List out;
            for (auto x : v)
                out.emplace_back(static_cast<long long>(x));
            return out;
        };
        const auto shortEnds = generate(700, [](std::int64_t k) { return 1009 + 9 * k + k % 7; });
        QTest::newRow("700 squares of a range (u16 ends, block results, step inputs)")
            << shortEnds
            << asInts(generate(700, [](std::int64_t k) { return (46000 + k) * (46000 + k); }))
            << asInts(generate(700, [](std::int64_t k) { return 46000 + k; }));
        QTest::newRow("257 tasks, odd and one past a block")
            << generate(257, [](std::int64_t k) { return 1001 + k; })
            << asInts(generate(257, [](std::int64_t k) { return -k * 5; }))
            << asInts(generate(257, [](std::int64_t k) { return 3 * k; }));
        QTest::newRow("a block's ends over 65,535 ns apart (u32 ends)")
            << generate(300, [](std::int64_t k) { return 1300 + 300 * k; })
            << asInts(generate(300, [](std::int64_t k) { return k; }))
            << asInts(generate(300, [](std::int64_t k) { return k; }));
        QTest::newRow("an end before its block's first (u32 ends)")
            << generate(300, [](std::int64_t k) { return k == 1 ? 1001 : 1100 + k; })
            << asInts(generate(300, [](std::int64_t k) { return k; })) << Value::List{};
        QTest::newRow("results too far apart for a block (two words each)")
            << shortEnds
            << asInts(generate(700,
                               [](std::int64_t k) {
                                   return k % 2 ? std::numeric_limits<std::int64_t>::max() - k
                                                : std::numeric_limits<std::int64_t>::min() + k;
                               }))
            << asInts(generate(700, [](std::int64_t k) { return k * k; }));
        QTest::newRow("wide results within a block of each other, wrapping")
            << generate(6, [](std::int64_t k) { return 1001 + k; })
            << asInts({std::numeric_limits<std::int64_t>::max(),
                       std::numeric_limits<std::int64_t>::min(),
                       std::numeric_limits<std::int64_t>::max() - 5, i32max + 1, i32max + 2,
                       std::numeric_limits<std::int64_t>::min() + 2})
            << Value::List{};
        QTest::newRow("inputs stepping down through the int64 range, wrapping")
            << generate(6, [](std::int64_t k) { return 1001 + k; }) << ints({1, 2, 3, 4, 5, 6})
            << ints({std::numeric_limits<std::int64_t>::min(),
                     std::numeric_limits<std::int64_t>::max(),
                     std::numeric_limits<std::int64_t>::max() - 1,
                     std::numeric_limits<std::int64_t>::max() - 2,
                     std::numeric_limits<std::int64_t>::max() - 3,
                     std::numeric_limits<std::int64_t>::max() - 4});
        QTest::newRow("inputs one off a run (one word each)")
            << generate(6, [](std::int64_t k) { return 1001 + k; }) << ints({1, 2, 3, 4, 5, 6})
            << ints({0, 1, 2, 3, 4, 6});
        QTest::newRow("a run of ints but for a bool with the run's bits (cells)")
            << generate(6, [](std::int64_t k) { return 1001 + k; }) << ints({1, 2, 3, 4, 5, 6})
            << Value::List{Value(1), Value(1), Value(1), Value(true), Value(1), Value(1)};
        QTest::newRow("700 inputs a run but for one in the third block (one word each)")
            << shortEnds << asInts(generate(700, [](std::int64_t k) { return k; }))
            << asInts(generate(700, [](std::int64_t k) { return k == 600 ? -1 : 5 * k; }));
        QTest::newRow("a negative end (cells)")
            << std::vector<std::int64_t>{-5, 1500} << ints({1, 2}) << ints({1, 2});
        QTest::newRow("bools of a long span")
            << shortEnds << Value::List(700, Value(true))
            << asInts(generate(700, [](std::int64_t k) { return 10'000'019 + 2 * k; }));

        // The block forms of results: a polynomial of degree 2 at most in the task's place in
        // its block, or offsets of the fewest bits from the block's least value.
        Value::List primality;
        for (std::int64_t k = 0; k < 700; ++k)
            primality.emplace_back(isPrime(10'000'019 + 2 * k));
        QTest::newRow("700 bools, mixed (a bit each)") << shortEnds << primality << Value::List{};
        QTest::newRow("700 None results")
            << shortEnds << Value::List(700, Value()) << Value::List{};
        QTest::newRow("700 cubes (too far apart in a block: two words each)")
            << shortEnds
            << asInts(generate(700,
                               [](std::int64_t k) { return (9000 + k) * (9000 + k) * (9000 + k); }))
            << Value::List{};
        QTest::newRow("700 small ints, shuffled (11-bit offsets, some across two words)")
            << shortEnds
            << asInts(generate(700, [](std::int64_t k) { return (k * 7919) % 2000 - 1000; }))
            << Value::List{};
        QTest::newRow("a downward curve, negative steps")
            << shortEnds
            << asInts(generate(700, [](std::int64_t k) { return 17 - 3 * k - 40 * k * k; }))
            << Value::List{};
        QTest::newRow("a curve wrapping through the int64 range")
            << shortEnds
            << asInts(generate(700,
                               [](std::int64_t k) {
                                   return std::int64_t(
                                       std::uint64_t(std::numeric_limits<std::int64_t>::max()) +
                                       std::uint64_t(k) * std::uint64_t(i32max) +
                                       std::uint64_t(k * k));
                               }))
            << Value::List{};
        QTest::newRow("offsets of 32 bits (a block's values 2^32 - 1 apart)")
            << shortEnds
            << asInts(
                   generate(700, [&](std::int64_t k) { return k % 3 == 1 ? u32max - k : k % 5; }))
            << Value::List{};
        QTest::newRow("a block 2^32 apart, the others close (two words each)")
            << shortEnds
            << asInts(generate(700, [&](std::int64_t k) { return k == 600 ? u32max + 1 : k % 3; }))
            << Value::List{};
        QTest::newRow("one block off its curve by one")
            << shortEnds
            << asInts(generate(700,
                               [](std::int64_t k) {
                                   return (std::int64_t(1) << 40) + k * k + (k == 300 ? 1 : 0);
                               }))
            << Value::List{};
    }

    void spansReadBackExactly()
    {
        QFETCH(std::vector<std::int64_t>, ends);
        QFETCH(Value::List, results);
        QFETCH(Value::List, inputs);
        const std::int64_t start = 1000;
        EventLog log;
        Event marker;
        marker.tNs = 1;
        marker.kind = EventKind::PoolCreated;
        EventLog::TaskSpan span;
        span.job = 2;
        span.chunk = 1;
        span.worker = 3;
        span.pid = 77;
        span.firstTask = 0;
        span.firstStartNs = start;
        span.endNs = ends;
        span.results = results;
        if (!inputs.empty())
            span.inputs = std::make_shared<const Value::List>(inputs);
        for (int round = 0; round < 3; ++round) { // records behind records: indices add up
            log.append(marker);
            EventLog::Batch batch(log);
            batch.add(span);
        }
        const std::size_t perRound = 1 + 2 * ends.size();
        QCOMPARE(log.size(), 3 * perRound);
        for (std::size_t i = 0; i < log.size(); ++i) {
            const Event e = log.at(i);
            const std::size_t local = i % perRound;
            QCOMPARE(log.timeAt(i), e.tNs);
            QCOMPARE(int(log.kindAt(i)), int(e.kind));
            if (local == 0) {
                QCOMPARE(int(e.kind), int(EventKind::PoolCreated));
                continue;
            }
            const std::size_t k = (local - 1) / 2;
            const bool finished = (local - 1) % 2;
            QCOMPARE(int(e.kind), int(finished ? EventKind::TaskFinished : EventKind::TaskStarted));
            QCOMPARE(e.task, std::int64_t(k));
            QCOMPARE(e.job, 2);
            QCOMPARE(e.chunk, 1);
            QCOMPARE(e.worker, 3);
            QCOMPARE(e.pid, 77);
            QVERIFY(e.ok);
            if (finished) {
                QCOMPARE(e.tNs, ends[k]);
                QCOMPARE(e.value, results[k]);
                QCOMPARE(e.value.kind(), results[k].kind());
                if (results[k].isFloat()) // -0.0 == 0.0: the bits must survive too
                    QCOMPARE(std::signbit(e.value.asFloat()), std::signbit(results[k].asFloat()));
            } else {
                QCOMPARE(e.tNs, k == 0 ? start : ends[k - 1]);
                const Value input = inputs.empty() ? Value() : inputs[k];
                QCOMPARE(e.value, input);
                QCOMPARE(e.value.kind(), input.kind());
                if (input.isFloat())
                    QCOMPARE(std::signbit(e.value.asFloat()), std::signbit(input.asFloat()));
            }
        }
    }

    // A report of one task whose result and input are scalars is its record alone: 88 bytes.
    void oneTaskSpansTakeTheirRecordOnly()
    {
        EventLog log;
        const auto inputs = std::make_shared<const Value::List>(Value::List{Value(3), Value("s")});
        const std::vector<std::int64_t> ends{2000};
        const std::vector<std::int64_t> result{9};
        EventLog::TaskSpan span;
        span.job = 1;
        span.worker = 1;
        span.firstStartNs = 1500;
        span.endNs = ends;
        span.intResults = result;
        span.inputs = inputs;
        span.taken = true;
        span.receivedNs = 2100;
        {
            EventLog::Batch batch(log);
            batch.add(span); // input 3: the record alone
        }
        QCOMPARE(log.storageBytes(), std::size_t(88));
        QCOMPARE(log.size(), std::size_t(4)); // taken, started, finished, received
        QCOMPARE(log.at(1).value, Value(3));
        QCOMPARE(log.at(2).value, Value(9));
        QCOMPARE(log.timeAt(2), 2000);
        QCOMPARE(log.timeAt(3), 2100);
        span.firstTask = 1; // input "s": the job's list is kept, the task in a cell or words
        {
            EventLog::Batch batch(log);
            batch.add(span);
        }
        QVERIFY(log.storageBytes() > 2 * 88);
        QCOMPARE(log.at(5).value, Value("s"));
    }

    // Runs of one-task chunks read back as the same events as the one-task spans carrying
    // their chunk's events that a worker's reports used to make, one by one: kept as a record
    // and 40 bytes a chunk where they fit, else as those spans. Each row: how the run is made.
    void oneTaskChunkRunsReadBackAsSpans_data()
    {
        QTest::addColumn<int>("chunks");
        QTest::addColumn<QString>("twist");
        QTest::addColumn<bool>("compact");
        QTest::newRow("many") << 500 << "" << true;
        QTest::newRow("two") << 2 << "" << true;
        QTest::newRow("one alone") << 1 << "" << false;
        QTest::newRow("takes out of order") << 300 << "shuffled" << true;
        QTest::newRow("no inputs") << 50 << "no inputs" << true;
        QTest::newRow("an end before its take") << 50 << "end before take" << false;
        QTest::newRow("a result before its end") << 50 << "received before end" << false;
        QTest::newRow("a take 5 s after the first") << 50 << "late take" << false;
        QTest::newRow("a task of 5 s") << 50 << "long task" << false;
        QTest::newRow("worker 70,000") << 50 << "big worker" << false;
    }

    void oneTaskChunkRunsReadBackAsSpans()
    {
        QFETCH(int, chunks);
        QFETCH(QString, twist);
        QFETCH(bool, compact);
        constexpr std::int64_t kChunksize = 3; // chunk c: task 3c (the last chunks of a map)
        Value::List inputs;
        for (int k = 0; k < 3 * chunks; ++k)
            inputs.push_back(k % 3 == 0 ? Value(k * 1.5) : Value(k)); // floats where they count
        auto run = std::vector<EventLog::OneTaskChunk>(std::size_t(chunks));
        for (int k = 0; k < chunks; ++k) {
            EventLog::OneTaskChunk& c = run[std::size_t(k)];
            c.chunk = k;
            c.worker = 1 + k % 2;
            c.pid = 4000 + k % 2;
            c.takenNs = 1'000'000 + 300 * std::int64_t(twist == "shuffled" ? (k * 7) % chunks : k);
            c.endNs = c.takenNs + 120 + k % 5;
            c.receivedNs = c.endNs + 400 + k % 3;
            // Ints (negative, wider than 32 bits), floats, bools and None.
            const int kind = k % 7;
            c.result = kind < 4   ? Value(static_cast<long long>(k) * k - 1'000'000'000'000)
                       : kind < 5 ? Value(k * -0.25)
                       : kind < 6 ? Value(k % 2 == 0)
                                  : Value();
            c.input = twist == "no inputs" ? nullptr : &inputs[std::size_t(3 * k)];
        }
        EventLog::OneTaskChunk& odd = run[std::size_t(chunks / 2)];
        if (twist == "end before take")
            odd.endNs = odd.takenNs - 1;
        else if (twist == "received before end")
            odd.receivedNs = odd.endNs - 1;
        else if (twist == "late take")
            odd.takenNs += 5'000'000'000, odd.endNs += 5'000'000'000,
                odd.receivedNs += 5'000'000'000;
        else if (twist == "long task")
            odd.endNs += 5'000'000'000, odd.receivedNs += 5'000'000'000;
        else if (twist == "big worker")
            odd.worker = 70'000;

        EventLog log;
        EventLog expected;
        {
            EventLog::Batch batch(log);
            Event before;
            before.kind = EventKind::PoolCreated;
            batch.add(before);
            batch.add(EventLog::OneTaskChunks{7, kChunksize, run});
            Event after;
            after.kind = EventKind::PoolClosed;
            batch.add(after);
        }
        {
            EventLog::Batch batch(expected);
            Event before;
            before.kind = EventKind::PoolCreated;
            batch.add(before);
            for (const EventLog::OneTaskChunk& c : run) {
                const std::int64_t end[] = {c.endNs};
                const Value result[] = {c.result};
                EventLog::TaskSpan span;
                span.job = 7;
                span.chunk = c.chunk;
                span.worker = c.worker;
                span.pid = c.pid;
                span.firstTask = c.chunk * kChunksize;
                span.firstStartNs = c.takenNs;
                span.endNs = end;
                span.results = result;
                if (c.input)
                    span.inputs = std::make_shared<const Value::List>(inputs);
                span.taken = true;
                span.receivedNs = c.receivedNs;
                batch.add(span);
            }
            Event after;
            after.kind = EventKind::PoolClosed;
            batch.add(after);
        }
        QCOMPARE(log.size(), std::size_t(2 + 4 * chunks));
        QCOMPARE(log.size(), expected.size());
        for (std::size_t i = 0; i < log.size(); ++i) {
            const Event a = log.at(i);
            const Event b = expected.at(i);
            QVERIFY2(a.tNs == b.tNs && a.kind == b.kind && a.ok == b.ok && a.job == b.job &&
                         a.chunk == b.chunk && a.worker == b.worker && a.pid == b.pid &&
                         a.task == b.task && a.a == b.a && a.b == b.b && a.delay == b.delay &&
                         a.value == b.value && a.value.kind() == b.value.kind() && a.text == b.text,
                     qPrintable(QString("event %1 differs").arg(i)));
            QCOMPARE(log.timeAt(i), b.tNs);
            QCOMPARE(log.kindAt(i), b.kind);
        }
        // 88 bytes a record: the two plain events, the run's, and 40 a chunk; or a record each.
        const std::size_t bytes =
            compact ? 3 * 88 + 40 * std::size_t(chunks) : (2 + std::size_t(chunks)) * 88;
        QCOMPARE(log.storageBytes(), bytes);
    }

    void badOneTaskChunkRunsAreRefused()
    {
        EventLog log;
        std::vector<EventLog::OneTaskChunk> run(2);
        run[1].chunk = 1;
        const Value list(Value::List{Value(1)});
        run[1].input = &list;
        EventLog::Batch batch(log);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 batch.add(EventLog::OneTaskChunks{1, 1, run}));
        run[1].input = nullptr;
        run[1].result = list;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 batch.add(EventLog::OneTaskChunks{1, 1, run}));
        run[1].result = Value(1);
        run[1].chunk = -1;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 batch.add(EventLog::OneTaskChunks{1, 1, run}));
        run[1].chunk = 1;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 batch.add(EventLog::OneTaskChunks{1, 0, run}));
        QCOMPARE(log.size(), std::size_t(0));
    }

    // A job's consecutive chunks submitted together go in as one SubmitRun: read back as the
    // same ChunkSubmitted events as appended one by one, in a record and 4 bytes a chunk;
    // event by event where the times go back or stray more than 4.29 s from the first.
    void submitRunsReadBackAsPlainEvents_data()
    {
        QTest::addColumn<int>("firstChunk");
        QTest::addColumn<int>("chunks");
        QTest::addColumn<qint64>("chunksize");
        QTest::addColumn<qint64>("items");
        QTest::addColumn<qint64>("gapNs"); // between two submits; after the 3rd: lateNs
        QTest::addColumn<qint64>("lateNs");
        QTest::addColumn<bool>("packed");
        QTest::newRow("chunksize 1")
            << 0 << 300 << qint64(1) << qint64(300) << qint64(90) << qint64(90) << true;
        QTest::newRow("the job's last chunk short")
            << 5 << 4 << qint64(3) << qint64(26) << qint64(1000) << qint64(1000) << true;
        QTest::newRow("one chunk")
            << 2 << 1 << qint64(10) << qint64(100) << qint64(5) << qint64(5) << false;
        QTest::newRow("a time that goes back")
            << 0 << 6 << qint64(2) << qint64(12) << qint64(50) << qint64(-500) << false;
        QTest::newRow("one 4.3 s later")
            << 0 << 6 << qint64(2) << qint64(12) << qint64(50) << qint64(4'300'000'000) << false;
    }

    void submitRunsReadBackAsPlainEvents()
    {
        QFETCH(int, firstChunk);
        QFETCH(int, chunks);
        QFETCH(qint64, chunksize);
        QFETCH(qint64, items);
        QFETCH(qint64, gapNs);
        QFETCH(qint64, lateNs);
        QFETCH(bool, packed);
        std::vector<std::int64_t> times;
        std::int64_t t = 5'000;
        for (int k = 0; k < chunks; ++k) {
            times.push_back(t);
            t += k == 2 ? lateNs : gapNs;
        }
        Event marker;
        marker.tNs = 1;
        marker.kind = EventKind::PoolCreated;
        EventLog plain;
        EventLog runs;
        for (int round = 0; round < 2; ++round) { // records behind records: indices add up
            plain.append(marker);
            runs.append(marker);
            for (int k = 0; k < chunks; ++k) {
                Event e;
                e.tNs = times[std::size_t(k)];
                e.kind = EventKind::ChunkSubmitted;
                e.job = 4;
                e.chunk = firstChunk + k;
                e.task = e.chunk * chunksize;
                e.a = e.task;
                e.b = std::min(e.task + chunksize, items) - 1;
                plain.append(e);
            }
            EventLog::SubmitRun run;
            run.job = 4;
            run.firstChunk = firstChunk;
            run.chunksize = chunksize;
            run.items = items;
            run.submittedNs = times;
            EventLog::Batch batch(runs);
            batch.add(run);
        }
        QCOMPARE(runs.size(), plain.size());
        for (std::size_t i = 0; i < runs.size(); ++i) {
            const Event a = runs.at(i);
            const Event b = plain.at(i);
            QCOMPARE(int(a.kind), int(b.kind));
            QCOMPARE(int(runs.kindAt(i)), int(b.kind));
            QCOMPARE(a.tNs, b.tNs);
            QCOMPARE(runs.timeAt(i), b.tNs);
            QCOMPARE(a.job, b.job);
            QCOMPARE(a.chunk, b.chunk);
            QCOMPARE(a.task, b.task);
            QCOMPARE(a.a, b.a);
            QCOMPARE(a.b, b.b);
            QCOMPARE(a.worker, b.worker);
            QCOMPARE(a.pid, b.pid);
            QCOMPARE(a.ok, b.ok);
            QCOMPARE(a.value, b.value);
            QCOMPARE(a.text, b.text);
        }
        if (packed) // two markers and two runs
            QCOMPARE(runs.storageBytes(), 2 * (88 + 88 + 4 * std::size_t(chunks - 1)));
        else
            QCOMPARE(runs.storageBytes(), plain.storageBytes());
    }

    void badSubmitRunsAreRefused()
    {
        EventLog log;
        const std::vector<std::int64_t> times{10, 20, 30};
        EventLog::SubmitRun run;
        run.job = 1;
        run.chunksize = 4;
        run.items = 8; // two chunks, three times
        run.submittedNs = times;
        {
            EventLog::Batch batch(log);
            QVERIFY_THROWS_EXCEPTION(std::invalid_argument, batch.add(run));
            run.items = 12;
            run.chunksize = 0;
            QVERIFY_THROWS_EXCEPTION(std::invalid_argument, batch.add(run));
            run.chunksize = 4;
            run.firstChunk = -1;
            QVERIFY_THROWS_EXCEPTION(std::invalid_argument, batch.add(run));
            run.firstChunk = 0;
            batch.add(run);
        }
        QCOMPARE(log.size(), std::size_t(3));
        QCOMPARE(log.storageBytes(), std::size_t(88 + 2 * 4));
        QCOMPARE(log.at(2).b, std::int64_t(11));
    }

    // A writer that knows a span's inputs to be an arithmetic run says so (inputsAreRun), and
    // the log keeps them as that run without reading them: the same events and the same bytes
    // as the span it classifies itself. Four tasks or fewer are never a run: the claim is left
    // aside and the inputs read.
    void claimedInputRunsAreKeptAsClassified_data()
    {
        QTest::addColumn<int>("tasks");
        QTest::newRow("298 tasks") << 300; // the span starts at the job's third task
        QTest::newRow("5 tasks") << 7;
        QTest::newRow("4 tasks: the claim is left aside") << 6;
    }

    void claimedInputRunsAreKeptAsClassified()
    {
        QFETCH(int, tasks);
        const auto n = std::size_t(tasks);
        std::vector<std::int64_t> ends(n);
        Value::List results;
        Value::List inputs;
        for (std::size_t k = 0; k < n; ++k) {
            ends[k] = 2000 + 10 * std::int64_t(k);
            inputs.emplace_back(static_cast<long long>(-40 + 3 * std::int64_t(k)));
            results.emplace_back(static_cast<long long>(k * k));
        }
        const auto makeSpan = [&] {
            EventLog::TaskSpan span;
            span.job = 1;
            span.worker = 1;
            span.pid = 5;
            span.firstTask = 2; // a report from inside its job: inputs from the third on
            span.firstStartNs = 1000;
            span.endNs = std::span<const std::int64_t>(ends).subspan(2);
            span.results = std::span<const Value>(results).subspan(2);
            span.inputs = std::make_shared<const Value::List>(inputs);
            return span;
        };
        EventLog classified;
        EventLog claimed;
        {
            EventLog::Batch batch(classified);
            batch.add(makeSpan());
        }
        EventLog::TaskSpan span = makeSpan();
        span.inputsAreRun = true;
        span.inputRunFirst = -40 + 3 * 2;
        span.inputRunStep = 3;
        if (n - 2 <= 4) // a false claim, to show that it is not used
            span.inputRunStep = 1000;
        {
            EventLog::Batch batch(claimed);
            batch.add(span);
        }
        QCOMPARE(claimed.size(), classified.size());
        QCOMPARE(claimed.storageBytes(), classified.storageBytes());
        for (std::size_t i = 0; i < claimed.size(); ++i) {
            const Event a = claimed.at(i);
            const Event b = classified.at(i);
            QCOMPARE(int(a.kind), int(b.kind));
            QCOMPARE(a.task, b.task);
            QCOMPARE(a.tNs, b.tNs);
            QCOMPARE(a.value, b.value);
            if (a.kind == EventKind::TaskStarted)
                QCOMPARE(a.value, inputs[std::size_t(a.task)]);
        }
    }

    // A worker's timing groups (group g's tasks share the time from its start to its end
    // evenly) read back as the same events as the span given task by task, with each task's
    // end its share (TaskClock::splitEvenly), whether the log keeps the groups (kGroupEnds) or
    // every end (groups it cannot keep: too small, out of order, before the span's start, too
    // long after it, mixed results).
    void groupedSpansReadBackAsTheirShares_data()
    {
        QTest::addColumn<std::int64_t>("groupsStart"); // the span starts at 1,000
        QTest::addColumn<std::vector<std::int64_t>>("groupEnds");
        QTest::addColumn<std::vector<std::int64_t>>("groupTasks");
        QTest::addColumn<bool>("mixedResults");
        QTest::addColumn<bool>("keptAsGroups"); // fewer bytes than 2 a task
        std::vector<std::int64_t> ends, tasks;
        std::int64_t at = 1'000;
        // A chunk of 12,500 squares: groups of 1, 2, 4, ... 1,024, then 1,024 each.
        for (std::int64_t left = 12'500, size = 1; left > 0;
             size = std::min<std::int64_t>(2 * size, 1024)) {
            const std::int64_t t = std::min(left, size);
            at += 3 * t + 7;
            ends.push_back(at);
            tasks.push_back(t);
            left -= t;
        }
        QTest::newRow("doubling groups of a chunk")
            << std::int64_t(1'000) << ends << tasks << false << true;
        QTest::newRow("one group of 300")
            << std::int64_t(1'050) << std::vector<std::int64_t>{1'050 + 299 * 5}
            << std::vector<std::int64_t>{300} << false << true;
        QTest::newRow("a group that takes no time")
            << std::int64_t(1'000) << std::vector<std::int64_t>{1'400, 1'400, 2'000}
            << std::vector<std::int64_t>{100, 100, 100} << false << true;
        QTest::newRow("groups of one (every end)")
            << std::int64_t(1'000) << std::vector<std::int64_t>{1'100, 1'200, 1'300}
            << std::vector<std::int64_t>{1, 1, 1} << false << false;
        QTest::newRow("a group ending before it starts (every end)")
            << std::int64_t(1'000) << std::vector<std::int64_t>{1'400, 1'300, 2'000}
            << std::vector<std::int64_t>{100, 100, 100} << false << false;
        QTest::newRow("groups starting before the span (every end)")
            << std::int64_t(990) << std::vector<std::int64_t>{1'400, 2'000}
            << std::vector<std::int64_t>{100, 100} << false << false;
        QTest::newRow("a group ending 2^32 ns after the span's start (every end)")
            << std::int64_t(1'000)
            << std::vector<std::int64_t>{1'400, 1'000 + (std::int64_t(1) << 32)}
            << std::vector<std::int64_t>{100, 100} << false << false;
        QTest::newRow("mixed results (every end, in cells)")
            << std::int64_t(1'000) << std::vector<std::int64_t>{1'400, 2'000}
            << std::vector<std::int64_t>{100, 100} << true << false;
    }
    void groupedSpansReadBackAsTheirShares()
    {
        QFETCH(std::int64_t, groupsStart);
        QFETCH(std::vector<std::int64_t>, groupEnds);
        QFETCH(std::vector<std::int64_t>, groupTasks);
        QFETCH(bool, mixedResults);
        QFETCH(bool, keptAsGroups);
        std::vector<std::int64_t> ends; // what the groups say, task by task
        TaskClock::splitGroups(groupsStart, groupEnds, groupTasks, ends);
        const std::size_t n = ends.size();
        Value::List results;
        auto inputs = std::make_shared<Value::List>();
        for (std::size_t k = 0; k < n; ++k) {
            results.emplace_back(static_cast<long long>((46'000 + k) * (46'000 + k)));
            inputs->emplace_back(static_cast<long long>(46'000 + k));
        }
        if (mixedResults)
            results[1] = Value(2.5);
        EventLog::TaskSpan span;
        span.job = 4;
        span.chunk = 2;
        span.worker = 1;
        span.pid = 99;
        span.firstTask = 0;
        span.firstStartNs = 1'000;
        span.results = results;
        span.inputs = inputs;
        span.taken = true;
        span.receivedNs = 5'000'000'000;
        span.groupFrom = 0;
        span.groupEnd = std::int32_t(n);
        span.groupSize = 1024;
        EventLog byTask, byGroup;
        span.endNs = ends;
        EventLog::Batch(byTask).add(span);
        span.endNs = {};
        span.groupsStartNs = groupsStart;
        span.groupEndNs = groupEnds;
        span.groupTasks = groupTasks;
        EventLog::Batch(byGroup).add(span);
        QCOMPARE(byGroup.size(), byTask.size());
        QCOMPARE(byGroup.size(), 2 * n + 2);
        for (std::size_t i = 0; i < byTask.size(); ++i) {
            const Event a = byTask.at(i);
            const Event b = byGroup.at(i);
            QCOMPARE(b.tNs, a.tNs);
            QCOMPARE(byGroup.timeAt(i), a.tNs);
            QCOMPARE(int(b.kind), int(a.kind));
            QCOMPARE(b.task, a.task);
            QCOMPARE(b.value, a.value);
            QCOMPARE(b.a, a.a);
            QCOMPARE(b.worker, a.worker);
        }
        QCOMPARE(byTask.at(2 * n).tNs, ends.back()); // the last TaskFinished
        const double perTask = double(byGroup.storageBytes()) / double(n);
        const double byTaskPerTask = double(byTask.storageBytes()) / double(n);
        QVERIFY2(keptAsGroups ? perTask < byTaskPerTask - 1.5 : perTask == byTaskPerTask,
                 qPrintable(QString("%1 against %2").arg(perTask).arg(byTaskPerTask)));
    }

    // What recording costs, in bytes a task: a chunk of 12,500 squares of a range, ending
    // nanoseconds apart, packs to about 2 (a u16 end; the squares a curve in each block, and the
    // inputs a run: nothing a task); the forms a span cannot take cost what they cost.
    void packedSpanSizes_data()
    {
        QTest::addColumn<bool>("shortTasks");     // ends within 65,535 ns of their block's first
        QTest::addColumn<bool>("rangeInputs");    // else shuffled
        QTest::addColumn<bool>("mixedResults");   // an int and a float: cells
        QTest::addColumn<double>("bytesPerTask"); // at most, and more than this minus 0.2
        QTest::newRow("squares of a range") << true << true << false << 2.2;
        QTest::newRow("inputs not a run") << true << false << false << 9.6; // 28-bit squares
        QTest::newRow("long tasks") << false << true << false << 4.2;
        QTest::newRow("mixed results (cells)") << true << true << true << 32.1;
    }
    void packedSpanSizes()
    {
        QFETCH(bool, shortTasks);
        QFETCH(bool, rangeInputs);
        QFETCH(bool, mixedResults);
        QFETCH(double, bytesPerTask);
        const std::size_t n = 12'500;
        auto inputs = std::make_shared<Value::List>();
        std::vector<std::int64_t> ends;
        Value::List results;
        for (std::size_t k = 0; k < n; ++k) {
            const auto x = std::int64_t(rangeInputs ? 50'000 + k : (k * 7919) % n);
            inputs->emplace_back(static_cast<long long>(x));
            results.emplace_back(static_cast<long long>(x * x));
            ends.push_back(1'000 + std::int64_t(k + 1) * (shortTasks ? 9 : 1'000));
        }
        if (mixedResults)
            results[7] = Value(1.5);
        EventLog log;
        EventLog::TaskSpan span;
        span.firstTask = 0;
        span.firstStartNs = 1'000;
        span.endNs = ends;
        span.results = results;
        span.inputs = inputs;
        {
            EventLog::Batch batch(log);
            batch.add(span);
        }
        const double perTask = double(log.storageBytes()) / double(n);
        QVERIFY2(perTask <= bytesPerTask && perTask > bytesPerTask - 0.2,
                 qPrintable(QString::number(perTask)));
        QCOMPARE(log.at(2 * n - 1).value, results.back()); // and reads back
        QCOMPARE(log.at(2 * n - 2).value, inputs->back());
    }

    // Which block form a long column of results takes shows in what the log keeps, in bytes a
    // task: about 2 for each task's end (a u16, and a word a block), and the results' own.
    void blockResultSizes_data()
    {
        QTest::addColumn<Value::List>("results");
        QTest::addColumn<double>("lowest");  // bytes a task, more than this
        QTest::addColumn<double>("highest"); // and at most this
        const std::size_t n = 2'560;         // ten blocks
        const auto make = [&](const auto& f) {
            Value::List out;
            for (std::size_t k = 0; k < n; ++k)
                out.push_back(f(std::int64_t(k)));
            return out;
        };
        const auto u32max = std::int64_t(std::numeric_limits<std::uint32_t>::max());
        // A block's header: 16 bytes, 1/16 of a byte a task; a curve's two words another 1/32.
        QTest::newRow("squares of a range: curves")
            << make([](std::int64_t k) { return Value(static_cast<long long>((k + 9) * (k + 9))); })
            << 2.1 << 2.15;
        QTest::newRow("None: width 0") << Value::List(n, Value()) << 2.0 << 2.1;
        QTest::newRow("bools: a bit each")
            << make([](std::int64_t k) { return Value(isPrime(10'000'019 + 2 * k)); }) << 2.15
            << 2.25;
        QTest::newRow("ints within 2^11: 11 bits each")
            << make([](std::int64_t k) { return Value(static_cast<long long>((k * 7919) % 2000)); })
            << 3.4 << 3.5;
        QTest::newRow("ints 2^32 - 1 apart: 32 bits each") << make([&](std::int64_t k) {
            return Value(static_cast<long long>(k % 2 ? u32max : 0));
        }) << 6.0 << 6.1;
        QTest::newRow("one block 2^32 apart: two words each") << make([&](std::int64_t k) {
            return Value(static_cast<long long>(k == 2'000 ? u32max + 1 : k % 3));
        }) << 10.0 << 10.05;
        // Six tasks: their ends take 4 words, their ints 6; the block form would take 11.
        QTest::newRow("six ints: a word each, fewer than the block form's")
            << Value::List{0, 1 << 30, 5, 1 << 29, 7, 3} << 6.6 << 6.7;
    }
    void blockResultSizes()
    {
        QFETCH(Value::List, results);
        QFETCH(double, lowest);
        QFETCH(double, highest);
        const std::vector<std::int64_t> ends = endsEvery9ns(results.size());
        EventLog log;
        EventLog::TaskSpan span = spanFrom1000ns(ends);
        span.results = results;
        EventLog::Batch(log).add(span);
        const double perTask = double(log.storageBytes() - 88) / double(results.size());
        QVERIFY2(perTask > lowest && perTask <= highest, qPrintable(QString::number(perTask)));
        for (std::size_t k = 0; k < results.size(); ++k)
            QCOMPARE(log.at(2 * k + 1).value, results[k]);
    }

    // Int results (an int kernel's) given as ints read back exactly as the same results given
    // as Values, packed or in cells; results in both forms at once are refused.
    void intResultSpans()
    {
        const std::int64_t u32max = std::numeric_limits<std::uint32_t>::max();
        const std::vector<std::int64_t> ints{1, -5, std::int64_t(1) << 40};
        Value::List asValues;
        for (auto x : ints)
            asValues.emplace_back(static_cast<long long>(x));
        for (const std::vector<std::int64_t>& ends :
             {std::vector<std::int64_t>{10, 20, 30},
              std::vector<std::int64_t>{10, 20, u32max + 1}}) {
            EventLog byValue;
            EventLog byInt;
            EventLog::TaskSpan span;
            span.endNs = ends;
            span.inputs = std::make_shared<const Value::List>(Value::List{7, 8, 9});
            appendBothWays(span, ints, byValue, byInt);
            QCOMPARE(byInt.size(), byValue.size());
            for (std::size_t i = 0; i < byInt.size(); ++i) {
                const Event a = byValue.at(i);
                const Event b = byInt.at(i);
                QCOMPARE(int(b.kind), int(a.kind));
                QCOMPARE(b.tNs, a.tNs);
                QCOMPARE(b.task, a.task);
                QCOMPARE(b.value, a.value);
            }
            span.results = asValues;
            span.intResults = ints;
            QVERIFY_THROWS_EXCEPTION(std::invalid_argument, EventLog::Batch(byInt).add(span));
        }
    }

    // A span's int results are kept exactly as the same results given as Values are, the
    // same words and all (the int path finds out whether they need two words each only when
    // it must: when they are not kept in blocks), and read back the same.
    void intResultsPackAsValuesDo_data()
    {
        QTest::addColumn<std::vector<std::int64_t>>("ints");
        const auto make = [](std::size_t n, auto f) {
            std::vector<std::int64_t> v(n);
            for (std::size_t k = 0; k < n; ++k)
                v[k] = f(std::int64_t(k));
            return v;
        };
        const std::int64_t u32max = std::numeric_limits<std::uint32_t>::max();
        QTest::newRow("squares of a range: curves")
            << make(700, [](std::int64_t k) { return k * k; });
        QTest::newRow("narrow, 11 bits each")
            << make(700, [](std::int64_t k) { return (k * 1237) % 2048 - 1000; });
        QTest::newRow("wide, 32 bits each in blocks") << make(
            700, [&](std::int64_t k) { return (std::int64_t(1) << 40) + (k % 2) * u32max; });
        QTest::newRow("wide, plain (2^33 apart)")
            << make(700, [](std::int64_t k) { return (k % 2) * (std::int64_t(1) << 33) + k; });
        QTest::newRow("narrow, plain (2^32 - 1 apart)") << make(700, [&](std::int64_t k) {
            return (k % 2) ? std::int64_t(std::numeric_limits<std::int32_t>::max())
                           : std::int64_t(std::numeric_limits<std::int32_t>::min()) + k;
        });
        QTest::newRow("five wide") << std::vector<std::int64_t>{1, -5, std::int64_t(1) << 40, 7, 9};
    }

    void intResultsPackAsValuesDo()
    {
        QFETCH(std::vector<std::int64_t>, ints);
        const std::vector<std::int64_t> ends = endsEvery9ns(ints.size());
        EventLog byValue;
        EventLog byInt;
        appendBothWays(spanFrom1000ns(ends), ints, byValue, byInt);
        QCOMPARE(byInt.storageBytes(), byValue.storageBytes());
        QCOMPARE(byInt.size(), 2 * ints.size());
        for (std::size_t k = 0; k < ints.size(); ++k)
            QCOMPARE(byInt.at(2 * k + 1).value, Value(static_cast<long long>(ints[k])));
    }

    // The tasks of a span that were timed in a group say so in their TaskFinished (a = the
    // group size), in cells and packed alike; a group outside the span is refused.
    void spanTimingGroups_data()
    {
        QTest::addColumn<Value::List>("results");
        QTest::newRow("packed") << Value::List{Value(1), Value(2), Value(3), Value(4)};
        QTest::newRow("cells") << Value::List{Value(1), Value(2.0), Value(3), Value(4)};
    }

    void spanTimingGroups()
    {
        QFETCH(Value::List, results);
        const std::vector<std::int64_t> ends{10, 20, 30, 40};
        EventLog log;
        EventLog::TaskSpan span;
        span.firstStartNs = 5;
        span.endNs = ends;
        span.results = results;
        span.groupFrom = 1;
        span.groupEnd = 3;
        span.groupSize = 4;
        {
            EventLog::Batch batch(log);
            batch.add(span);
            for (auto [from, end, size] : std::vector<std::array<int, 3>>{
                     {0, 5, 4}, {2, 1, 4}, {-1, 2, 4}, {0, 2, 0}, {0, 2, 70000}, {0, 2, -4}}) {
                EventLog::TaskSpan bad = span;
                bad.groupFrom = from;
                bad.groupEnd = end;
                bad.groupSize = size;
                QVERIFY_THROWS_EXCEPTION(std::invalid_argument, batch.add(bad));
            }
        }
        std::vector<std::int64_t> groups;
        for (std::size_t i = 0; i < log.size(); ++i) {
            const Event e = log.at(i);
            if (e.kind == EventKind::TaskFinished)
                groups.push_back(e.a);
            else
                QCOMPARE(e.a, std::int64_t(0));
        }
        QCOMPARE(groups, (std::vector<std::int64_t>{0, 4, 4, 0}));
    }

    // Spans of 5,000 tasks, enough of them to fill the first 2 MiB segment of their storage and
    // go on into huge-page segments, spans straddling each boundary: every task reads back. In
    // cells (32 bytes a task: results of two kinds keep a span out of the packed words), and
    // packed (4 words a task here: end, a two-word result, an input).
    void spansAcrossSegments_data()
    {
        QTest::addColumn<bool>("packed");
        QTest::newRow("cells") << false;
        QTest::newRow("packed words") << true;
    }

    void spansAcrossSegments()
    {
        QFETCH(bool, packed);
        EventLog log;
        constexpr int kSpan = 5000;
        constexpr int kSpans = 30; // 150,000 tasks: past 65,536 cells or 524,288 words
        const auto result = [&](std::int64_t task) {
            if (packed)
                return Value(static_cast<long long>(task * 3 + (std::int64_t(1) << 40)));
            return task % 2 ? Value(double(task)) : Value(static_cast<long long>(task * 3));
        };
        std::vector<std::int64_t> ends(kSpan);
        Value::List results(kSpan);
        Value::List all;
        for (int i = 0; i < kSpan * kSpans; ++i)
            all.emplace_back(i);
        auto inputs = std::make_shared<const Value::List>(std::move(all));
        for (int sp = 0; sp < kSpans; ++sp) {
            for (int k = 0; k < kSpan; ++k) {
                const std::int64_t task = std::int64_t(sp) * kSpan + k;
                ends[std::size_t(k)] = 10 * task + 10;
                results[std::size_t(k)] = result(task);
            }
            EventLog::TaskSpan span;
            span.job = 1;
            span.firstTask = std::int64_t(sp) * kSpan;
            span.firstStartNs = 10 * span.firstTask;
            span.endNs = ends;
            span.results = results;
            span.inputs = inputs;
            EventLog::Batch batch(log);
            batch.add(span);
        }
        QCOMPARE(log.size(), std::size_t(2 * kSpan * kSpans));
        for (std::int64_t task = 0; task < kSpan * kSpans; ++task) {
            const Event started = log.at(std::size_t(2 * task));
            const Event finished = log.at(std::size_t(2 * task + 1));
            QCOMPARE(int(started.kind), int(EventKind::TaskStarted));
            QCOMPARE(started.task, task);
            QCOMPARE(started.value, Value(static_cast<long long>(task)));
            QCOMPARE(started.tNs, 10 * task);
            QCOMPARE(int(finished.kind), int(EventKind::TaskFinished));
            QCOMPARE(finished.value, result(task));
            QCOMPARE(finished.tNs, 10 * task + 10);
        }
    }

    void spanWithBadResultsIsRefusedWhole()
    {
        EventLog log;
        const std::vector<std::int64_t> ends{1, 2};
        const Value::List listResult{Value(1), Value(Value::List{Value(2)})};
        const Value::List oneResult{Value(1)};
        EventLog::TaskSpan span;
        span.endNs = ends;
        span.results = listResult;
        {
            EventLog::Batch batch(log);
            QVERIFY_THROWS_EXCEPTION(std::invalid_argument, batch.add(span));
            span.results = oneResult;
            QVERIFY_THROWS_EXCEPTION(std::invalid_argument, batch.add(span));
            span.endNs = {};
            span.results = {};
            batch.add(span); // an empty span adds nothing
        }
        QCOMPARE(log.size(), std::size_t(0));
    }

    // A log takes the first segments and the segment directories that an ended log of this
    // process kept: it holds its own events only, whatever the old memory held.
    void aLogMadeAfterAnotherHoldsOnlyItsOwn()
    {
        constexpr int kPastASegment = int(EventLog::kSegmentSize) + 100;
        {
            EventLog old;
            fillLog(old, kPastASegment, 7);
            QVERIFY(holdsLog(old, kPastASegment, 7));
        }
        EventLog log;
        QCOMPARE(log.size(), std::size_t(0));
        fillLog(log, 3, 11);
        QVERIFY(holdsLog(log, 3, 11));
        {
            EventLog again; // maps a second segment of its own, where the old log had one
            fillLog(again, kPastASegment, 17);
            QVERIFY(holdsLog(again, kPastASegment, 17));
        }
        {
            EventLog another; // nothing kept now: maps its own
            fillLog(another, 2, 13);
            QVERIFY(holdsLog(another, 2, 13));
        }
        QVERIFY(holdsLog(log, 3, 11));
    }

    // The kept segments are not in a fork child at all (MADV_DONTFORK): a child that made a log
    // of its own in them would crash. It maps its own, and the parent's are still there for it.
    void aForkChildNeverTakesItsParentsKeptSegments()
    {
        {
            EventLog old;
            fillLog(old, 50, 3);
        }
        const pid_t pid = ::fork();
        QVERIFY(pid >= 0);
        if (pid == 0) {
            EventLog mine;
            fillLog(mine, 50, 5);
            ::_exit(holdsLog(mine, 50, 5) ? 0 : 3);
        }
        int status = 0;
        QCOMPARE(::waitpid(pid, &status, 0), pid);
        QVERIFY2(WIFEXITED(status), "the child died of a signal");
        QCOMPARE(WEXITSTATUS(status), 0);
        EventLog log;
        fillLog(log, 50, 9);
        QVERIFY(holdsLog(log, 50, 9));
    }

    // Writers appending spans among plain events while a reader walks the log: every task's
    // start comes before its end, each worker's tasks in order, nothing lost.
    void concurrentSpansAndReader()
    {
        EventLog log;
        constexpr int kWriters = 3;
        constexpr int kReports = 3000;
        constexpr int kPerReport = 5;
        std::vector<std::thread> writers;
        for (int w = 0; w < kWriters; ++w) {
            writers.emplace_back([&log, w] {
                std::vector<std::int64_t> ends(kPerReport);
                Value::List results(kPerReport);
                for (int r = 0; r < kReports; ++r) {
                    EventLog::Batch batch(log);
                    Event taken;
                    taken.kind = EventKind::ChunkTaken;
                    taken.worker = w;
                    taken.chunk = r;
                    batch.add(taken);
                    for (int k = 0; k < kPerReport; ++k) {
                        ends[std::size_t(k)] = r * 100 + k + 1;
                        results[std::size_t(k)] = Value(r * kPerReport + k);
                    }
                    EventLog::TaskSpan span;
                    span.worker = w;
                    span.chunk = r;
                    span.firstTask = std::int64_t(r) * kPerReport;
                    span.firstStartNs = r * 100;
                    span.endNs = ends;
                    span.results = results;
                    batch.add(span);
                }
            });
        }
        std::vector<std::int64_t> started(kWriters, -1);
        std::vector<std::int64_t> finished(kWriters, -1);
        std::size_t seen = 0;
        bool ordered = true;
        auto readNew = [&] {
            const std::size_t n = log.size();
            for (; seen < n; ++seen) {
                const Event e = log.at(seen);
                if (e.kind == EventKind::TaskStarted) {
                    ordered = ordered && e.task == started[e.worker] + 1 &&
                              finished[e.worker] == e.task - 1;
                    started[e.worker] = e.task;
                } else if (e.kind == EventKind::TaskFinished) {
                    ordered = ordered && e.task == started[e.worker] && e.value == Value(e.task);
                    finished[e.worker] = e.task;
                }
            }
        };
        readWhileWriting(writers, readNew);
        QVERIFY(ordered);
        QCOMPARE(log.size(), std::size_t(kWriters * kReports * (1 + 2 * kPerReport)));
        for (int w = 0; w < kWriters; ++w)
            QCOMPARE(finished[w], std::int64_t(kReports * kPerReport - 1));
    }
};

QTEST_GUILESS_MAIN(TestEventLog)
#include "tst_eventlog.moc"
