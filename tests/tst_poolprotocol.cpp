// The pool's messages: chunks (parent to workers, through the task queue) and reports (workers
// to parent, over the result pipe). Round trips of every kind, decoding into a reused report
// (nothing left over from the previous one), and bad bytes: a WireError, never a crash.
#include "inheritedworker.h"
#include "poolprotocol.h"
#include "poolworker.h"
#include "wire.h"

#include <QTest>
#include <cstring>
#include <limits>
#include <random>
#include <unistd.h>

using namespace poolscope;

namespace {

// Timing for the report's first n tasks, as a worker groups it: the first four timed alone,
// then groups of 16 (the last one shorter), 1 us a task from 123,456,789 ns.
void timeTasks(WorkerReport& r, std::int64_t n)
{
    r.groupsStartNs = 123456789;
    r.groupEndNs.clear();
    r.groupTasks.clear();
    for (std::int64_t done = 0; done < n;) {
        const std::int64_t t = done < 4 ? 1 : std::min<std::int64_t>(16, n - done);
        done += t;
        r.groupTasks.push_back(t);
        r.groupEndNs.push_back(123456789 + 1000 * done);
    }
}

WorkerReport resultReport()
{
    WorkerReport r;
    r.kind = WorkerReport::Kind::Result;
    r.job = 7;
    r.chunk = 3;
    r.first = 300;
    r.takenNs = 123456789;
    r.fromTask = 300;
    for (int i = 0; i < 100; ++i) // long enough for the packed form of the results
        r.values.emplace_back((300 + i) * (300 + i));
    timeTasks(r, 100);
    r.finished = 100;
    r.groupFrom = 4; // tasks 4..99 timed in groups of up to 16
    r.groupEnd = 100;
    r.groupSize = 16;
    return r;
}

// A report's results as Values, whichever form they are in: a list of 8 or more ints travels
// packed, and is decoded into intValues.
Value::List resultsOf(const WorkerReport& r)
{
    if (!r.intResults)
        return r.values;
    Value::List out;
    for (const std::int64_t x : r.intValues)
        out.emplace_back(static_cast<long long>(x));
    return out;
}

void compareReports(const WorkerReport& a, const WorkerReport& b)
{
    QCOMPARE(int(a.kind), int(b.kind));
    QCOMPARE(a.pid, b.pid);
    QCOMPARE(a.ppid, b.ppid);
    QCOMPARE(a.readyNs, b.readyNs);
    QCOMPARE(a.job, b.job);
    QCOMPARE(a.chunk, b.chunk);
    QCOMPARE(a.first, b.first);
    QCOMPARE(a.takenNs, b.takenNs);
    QCOMPARE(a.fromTask, b.fromTask);
    QCOMPARE(a.groupsStartNs, b.groupsStartNs);
    QCOMPARE(a.groupEndNs, b.groupEndNs);
    QCOMPARE(a.groupTasks, b.groupTasks);
    QCOMPARE(resultsOf(a), resultsOf(b));
    QCOMPARE(a.delays, b.delays);
    QCOMPARE(a.currentStartNs, b.currentStartNs);
    QCOMPARE(a.finished, b.finished);
    QCOMPARE(a.ok, b.ok);
    QVERIFY(a.error == b.error);
    QCOMPARE(a.groupFrom, b.groupFrom);
    QCOMPARE(a.groupEnd, b.groupEnd);
    QCOMPARE(a.groupSize, b.groupSize);
}

std::vector<WorkerReport> samples()
{
    WorkerReport ready;
    ready.kind = WorkerReport::Kind::Ready;
    ready.pid = 4242;
    ready.ppid = 4200;
    ready.readyNs = 987654321;

    WorkerReport initFailed;
    initFailed.kind = WorkerReport::Kind::InitFailed;
    initFailed.pid = 4243;
    initFailed.ok = false;
    initFailed.error = {"ValueError", "bad initializer", "Traceback ...\n"};

    WorkerReport progress;
    progress.kind = WorkerReport::Kind::Progress;
    progress.job = 1;
    progress.chunk = 0;
    progress.takenNs = 1000;
    progress.groupsStartNs = 1000;
    progress.groupEndNs = {1500, 2500};
    progress.groupTasks = {1, 1};
    progress.values = {Value("a string"), Value::tuple({1, 2.5})};
    progress.delays = {0.5, -1};
    progress.currentStartNs = 2500;

    WorkerReport failed = resultReport();
    failed.values.resize(40);
    timeTasks(failed, 41); // the failing task ended, and has no value
    failed.finished = 41;
    failed.groupEnd = 41;
    failed.ok = false;
    failed.error = {"ValueError", "boom", "Traceback (most recent call last):\n  boom\n"};

    return {ready, initFailed, progress, resultReport(), failed};
}

} // namespace

class TestPoolProtocol : public QObject
{
    Q_OBJECT

private slots:
    void reportsRoundTrip()
    {
        for (const WorkerReport& r : samples())
            compareReports(decodeReport(encodeReport(r)), r);
    }

    // Clock readings travel as distances: the groups' start from the take, each group's end
    // from the one before. A report of a one-task chunk taken at a clock reading of about
    // 1.7e18 ns then fits 56 bytes (72 with the readings whole), and any readings, however
    // far apart, come back exactly (the distances wrap).
    void timingTravelsAsDistances()
    {
        WorkerReport r;
        r.kind = WorkerReport::Kind::Result;
        r.job = 2;
        r.chunk = 4321;
        r.first = 4321;
        r.fromTask = 4321;
        r.takenNs = 1'700'000'000'123'456'789;
        r.groupsStartNs = r.takenNs;
        r.groupEndNs = {r.takenNs + 140};
        r.groupTasks = {1};
        r.values = {Value(4321 * 4321)};
        r.finished = 1;
        Bytes frame;
        encodeReportFrame(r, frame);
        QVERIFY2(frame.size() <= 56, qPrintable(QString::number(frame.size())));
        compareReports(decodeReport({frame.data() + 4, frame.size() - 4}), r);

        constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
        constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
        r.takenNs = kMax;
        r.groupsStartNs = kMin;
        r.groupEndNs = {kMin, -1, 0, kMax};
        r.groupTasks = {1, 1, 1, 1};
        r.values = {Value(1), Value(2), Value(3), Value(4)};
        r.finished = 4;
        compareReports(decodeReport(encodeReport(r)), r);
    }

    // A worker encodes each report as a whole frame into one buffer it reuses: the same bytes
    // as appendFrame() of the report, whatever the buffer held before; a frame read back
    // through a pipe decodes to the report.
    void reportFramesInAReusedBuffer()
    {
        Bytes frame{1, 2, 3, 4, 5, 6, 7, 8, 9};
        int fds[2];
        QVERIFY(::pipe(fds) == 0);
        for (const WorkerReport& r : samples()) {
            encodeReportFrame(r, frame);
            Bytes expected;
            appendFrame(expected, encodeReport(r));
            QCOMPARE(frame, expected);
            QVERIFY(writeAll(fds[1], frame.data(), frame.size()));
            Bytes payload;
            QVERIFY(readFrame(fds[0], payload));
            compareReports(decodeReport(payload), r);
        }
        ::close(fds[0]);
        ::close(fds[1]);
        Bytes tooShort{1, 2};
        QVERIFY_THROWS_EXCEPTION(WireError, sealFrame(tooShort));
    }

    // The result thread decodes every report into the same object: each decode replaces all
    // of it, whatever the previous report held (an error, delays, more values).
    void decodeIntoAReusedReport()
    {
        const auto all = samples();
        WorkerReport into;
        for (int pass = 0; pass < 2; ++pass) {
            for (std::size_t i = 0; i < all.size(); ++i) {
                const WorkerReport& r = all[pass == 0 ? i : all.size() - 1 - i];
                decodeReport(encodeReport(r), into);
                QCOMPARE(into.groupsStartNs, r.groupsStartNs);
                QCOMPARE(into.groupEndNs, r.groupEndNs);
                QCOMPARE(into.groupTasks, r.groupTasks);
                QCOMPARE(resultsOf(into), resultsOf(r));
                QVERIFY(into.intResults ? into.values.empty() : into.intValues.empty());
                QCOMPARE(into.delays, r.delays);
                QCOMPARE(into.ok, r.ok);
                QVERIFY(into.error == r.error);
                QCOMPARE(int(into.kind), int(r.kind));
            }
        }
    }

    void chunksRoundTrip()
    {
        Value::List items;
        for (int i = 0; i < 50; ++i)
            items.emplace_back(i);
        items.push_back(Value::tuple({Value("x"), Value(2)}));
        ChunkMessage msg;
        msg.job = 9;
        msg.chunk = 4;
        msg.first = 20;
        msg.func = "square";
        msg.star = false;
        const EncodedChunk chunk = encodeChunk(msg, items, 20, 51);
        const ChunkMessage back = decodeChunk(chunk.bytes);
        QVERIFY(!back.stop);
        QCOMPARE(back.job, 9);
        QCOMPARE(back.chunk, 4);
        QCOMPARE(back.first, std::int64_t(20));
        QCOMPARE(back.func, std::string("square"));
        QVERIFY(!back.packedInts);
        QCOMPARE(back.items, Value::List(items.begin() + 20, items.end()));
        QCOMPARE(back.size(), std::size_t(31));
        QVERIFY(decodeChunk(encodeStop().bytes).stop);

        // A chunk of ints (8 or more: they travel packed) arrives as ints, not Values; fewer
        // arrive as Values.
        const ChunkMessage ints = decodeChunk(encodeChunk(msg, items, 10, 50).bytes);
        QVERIFY(ints.packedInts);
        QVERIFY(ints.items.empty());
        QCOMPARE(ints.size(), std::size_t(40));
        for (std::size_t i = 0; i < 40; ++i)
            QCOMPARE(ints.ints[i], std::int64_t(10 + i));
        const ChunkMessage few = decodeChunk(encodeChunk(msg, items, 0, 3).bytes);
        QVERIFY(!few.packedInts);
        QCOMPARE(few.items, Value::List(items.begin(), items.begin() + 3));
    }

    // A task message cut short, or with bytes changed, is refused with a WireError (or, by
    // chance, still reads), never a crash.
    void badChunksAreRefused()
    {
        Value::List items;
        for (int i = 0; i < 40; ++i)
            items.emplace_back(i);
        items.push_back(Value("mixed"));
        ChunkMessage msg;
        msg.func = "square";
        const std::vector<Bytes> encodings{encodeChunk(msg, items, 0, 40).bytes,
                                           encodeChunk(msg, items, 0, 41).bytes};
        for (const Bytes& bytes : encodings) {
            for (std::size_t n = 0; n < bytes.size(); ++n) {
                const Bytes prefix(bytes.begin(), bytes.begin() + std::ptrdiff_t(n));
                QVERIFY_THROWS_EXCEPTION(WireError, decodeChunk(prefix));
            }
        }
        std::mt19937 rng(20261126);
        int decoded = 0;
        int refused = 0;
        for (int round = 0; round < 3000; ++round) {
            Bytes b = encodings[rng() % encodings.size()];
            const std::size_t at = 1 + rng() % (b.size() - 1);
            if (rng() % 2)
                b[at] = std::uint8_t(rng());
            else
                b.erase(b.begin() + std::ptrdiff_t(at));
            try {
                decodeChunk(b);
                ++decoded;
            } catch (const WireError&) {
                ++refused;
            }
        }
        QVERIFY(decoded > 0);
        QVERIFY(refused > 0);
    }

    // A report carries its tasks' timing as the worker's groups; the parent gets each task's
    // end back as its share of its group (TaskClock::splitEvenly). Groups that go back in
    // time, an empty group, or groups without their task counts are refused.
    void timingGroupsGiveEachTaskItsShare()
    {
        WorkerReport r = resultReport();
        r.groupsStartNs = 1000;
        r.groupEndNs = {1000, 1010, 1010, 2000};
        r.groupTasks = {2, 1, 3, 4};
        r.values.resize(10);
        r.finished = 10;
        r.groupFrom = r.groupEnd = r.groupSize = 0;
        WorkerReport back = decodeReport(encodeReport(r));
        QCOMPARE(back.timedTasks(), std::int64_t(10));
        back.expandEnds();
        const std::vector<std::int64_t> ends{1000, 1000, 1010, 1010, 1010,
                                             1010, 1257, 1505, 1752, 2000};
        QCOMPARE(back.ends, ends);

        const auto refused = [](WorkerReport bad) {
            try {
                decodeReport(encodeReport(bad));
            } catch (const WireError&) {
                return true;
            }
            return false;
        };
        WorkerReport back1 = r;
        back1.groupEndNs = {1000, 999, 1010, 2000};
        QVERIFY(refused(back1));
        WorkerReport beforeStart = r;
        beforeStart.groupsStartNs = 1001;
        QVERIFY(refused(beforeStart));
        WorkerReport empty = r;
        empty.groupTasks = {2, 0, 3, 4};
        QVERIFY(refused(empty));
        WorkerReport unpaired = r;
        unpaired.groupTasks = {2, 1, 3};
        QVERIFY(refused(unpaired));
        QVERIFY(!refused(r));
    }

    // An int kernel's results travel as the same list as Values would.
    void intResultsRoundTrip()
    {
        for (std::size_t n : {std::size_t(0), std::size_t(3), std::size_t(100)}) {
            WorkerReport r = resultReport();
            timeTasks(r, std::int64_t(n));
            r.values.clear();
            r.intResults = true;
            for (std::size_t i = 0; i < n; ++i)
                r.intValues.push_back(std::int64_t(i) * -1'000'000'007);
            r.groupFrom = r.groupEnd = 0;
            r.finished = std::int64_t(n);
            const WorkerReport back = decodeReport(encodeReport(r));
            // Packed (8 or more) they arrive as ints, else as Values.
            QCOMPARE(back.intResults, n >= 8);
            QCOMPARE(back.intResults ? back.values.size() : back.intValues.size(), std::size_t(0));
            QCOMPARE(resultsOf(back), resultsOf(r));
        }
    }

    // Every truncation of every report fails with WireError; seeded mutations decode or fail
    // with WireError, and never crash (run under ASan/UBSan too).
    // Timing groups that do not fit the report's tasks are refused.
    void badTimingGroupsAreRefused_data()
    {
        QTest::addColumn<int>("from");
        QTest::addColumn<int>("end");
        QTest::addColumn<int>("size");
        QTest::newRow("end past the tasks") << 0 << 101 << 8;
        QTest::newRow("end before from") << 10 << 9 << 8;
        QTest::newRow("negative from") << -1 << 5 << 8;
        QTest::newRow("negative size") << 0 << 5 << -2;
        QTest::newRow("tasks without a size") << 0 << 5 << 0;
    }

    void badTimingGroupsAreRefused()
    {
        QFETCH(int, from);
        QFETCH(int, end);
        QFETCH(int, size);
        WorkerReport r = resultReport();
        r.groupFrom = from;
        r.groupEnd = end;
        r.groupSize = size;
        QVERIFY_THROWS_EXCEPTION(WireError, decodeReport(encodeReport(r)));
        r.groupFrom = r.groupEnd = 100; // none of its tasks: fine
        r.groupSize = 8;
        compareReports(decodeReport(encodeReport(r)), r);
    }

    void workerConfigRoundTrips()
    {
        PoolWorkerConfig c;
        c.taskOptions.failAt = 5;
        c.maxTasks = 3;
        c.initializer = "square";
        c.initargs = {Value(2)};
        c.recording = false;
        c.tscClock = true;
        c.slot = 3;
        c.inheritedQueue = 0x7ffd'0000'1000; // where a fork parent has the queue mapped
        c.clockBase = {123'456'789'012, 987'654'321'098};
        const PoolWorkerConfig d = PoolWorkerConfig::decode(c.encode());
        QCOMPARE(d.taskOptions.failAt, c.taskOptions.failAt);
        QCOMPARE(d.maxTasks, 3);
        QCOMPARE(d.initializer, std::string("square"));
        QCOMPARE(d.initargs.size(), std::size_t(1));
        QCOMPARE(d.initargs[0].asInt(), 2);
        QCOMPARE(d.recording, false);
        QCOMPARE(d.tscClock, true);
        QCOMPARE(d.slot, std::int64_t(3));
        QCOMPARE(d.inheritedQueue, c.inheritedQueue);
        QCOMPARE(d.clockBase.ns, c.clockBase.ns);
        QCOMPARE(d.clockBase.ticks, c.clockBase.ticks);

        const PoolWorkerConfig plain = PoolWorkerConfig::decode(PoolWorkerConfig{}.encode());
        QCOMPARE(plain.slot, std::int64_t(0));
        QCOMPARE(plain.inheritedQueue, std::uint64_t(0)); // spawn and forkserver: map the memfd

        // A configuration from before the inherited mappings (six fields) is refused.
        const Bytes old = encodeValue(Value(Value::List{TaskOptions{}.toValue(), 0LL, std::string(),
                                                        Value(Value::List{}), true, false}));
        QVERIFY_THROWS_EXCEPTION(WireError, PoolWorkerConfig::decode(old));
    }

    void inheritedWorkerPayloadNamesItsObject()
    {
        // A fork worker's payload is the address of what the parent prepared for it (the
        // child has the same memory); anything else is an encoded configuration, or nothing.
        PoolWorkerConfig c;
        c.initializer = "square";
        c.slot = 1;
        const InheritedWorker w(c);
        QCOMPARE(w.config.initializer, std::string("square"));
        QCOMPARE(w.config.slot, std::int64_t(1));
        QVERIFY(w.frame.capacity() >= 256); // a Ready report and a stop need no allocation
        QVERIFY(w.input.capacity() >= 256);
        QCOMPARE(InheritedWorker::fromPayload(w.payload()), &w);

        QCOMPARE(InheritedWorker::fromPayload(c.encode()), nullptr);
        QCOMPARE(InheritedWorker::fromPayload(Bytes{}), nullptr);
        Bytes wrongMagic = w.payload();
        wrongMagic[0] ^= 0xff;
        QCOMPARE(InheritedWorker::fromPayload(wrongMagic), nullptr);
        // The right tag, but the address holds no prepared worker.
        alignas(InheritedWorker) std::uint8_t zeros[sizeof(InheritedWorker)] = {};
        Bytes stray = w.payload();
        const auto address = reinterpret_cast<std::uintptr_t>(zeros);
        std::memcpy(stray.data() + sizeof InheritedWorker::kMagic, &address, sizeof address);
        QCOMPARE(InheritedWorker::fromPayload(stray), nullptr);
        const Bytes whole = w.payload();
        QCOMPARE(InheritedWorker::fromPayload(std::span(whole).first(8)), nullptr);
    }

    void badReportsAreRefused()
    {
        std::vector<Bytes> encodings;
        for (const WorkerReport& r : samples())
            encodings.push_back(encodeReport(r));
        WorkerReport into = resultReport();
        for (const Bytes& bytes : encodings) {
            for (std::size_t n = 0; n < bytes.size(); ++n) {
                const Bytes prefix(bytes.begin(), bytes.begin() + std::ptrdiff_t(n));
                QVERIFY_THROWS_EXCEPTION(WireError, decodeReport(prefix, into));
            }
        }
        std::mt19937 rng(20261126);
        int decoded = 0;
        int refused = 0;
        for (int round = 0; round < 5000; ++round) {
            Bytes b = encodings[rng() % encodings.size()];
            for (int k = 0, edits = 1 + int(rng() % 3); k < edits && !b.empty(); ++k) {
                const std::size_t at = rng() % b.size();
                if (rng() % 2)
                    b[at] = std::uint8_t(rng());
                else
                    b.erase(b.begin() + std::ptrdiff_t(at));
            }
            try {
                decodeReport(b, into);
                ++decoded;
            } catch (const WireError&) {
                ++refused;
            }
        }
        QVERIFY(decoded > 0);
        QVERIFY(refused > 0);
    }
};

QTEST_APPLESS_MAIN(TestPoolProtocol)
#include "tst_poolprotocol.moc"
