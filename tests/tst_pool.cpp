// Pool semantics, checked against CPython's observable behaviour
// (shared/reference/cpython-semantics.md, section 9 lists CPython's own checks), for each start
// method, on real worker processes.
#include "eventlog.h"
#include "hygiene.h"
#include "pool.h"
#include "poolerror.h"
#include "process.h"
#include "processerror.h"
#include "processtestutil.h"
#include "taskerror.h"
#include "valuetestutil.h"

#include <QTest>
#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <sched.h>
#include <set>
#include <sys/resource.h>
#include <thread>

using namespace poolscope;

Q_DECLARE_METATYPE(poolscope::StartMethod)

namespace {

Value::List range(int from, int to) // [from, to)
{
    Value::List l;
    for (int i = from; i < to; ++i)
        l.emplace_back(i);
    return l;
}

Value::List squares(const Value::List& in)
{
    Value::List out;
    for (const auto& v : in)
        out.emplace_back(v.asInt() * v.asInt());
    return out;
}

std::vector<Event> eventsOf(const EventLog& log, EventKind kind)
{
    std::vector<Event> out;
    for (std::size_t i = 0; i < log.size(); ++i)
        if (log.at(i).kind == kind)
            out.push_back(log.at(i));
    return out;
}

// The state letter of /proc/<pid>/stat ('T': stopped); 0 when it cannot be read.
char processState(pid_t pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(in, line);
    const auto paren = line.rfind(')'); // the name may hold spaces and parentheses
    return paren != std::string::npos && paren + 2 < line.size() ? line[paren + 2] : '\0';
}

PoolOptions options(StartMethod method, int processes, std::shared_ptr<EventLog> log = nullptr)
{
    PoolOptions o;
    o.method = method;
    o.processes = processes;
    o.record = log != nullptr;
    o.log = std::move(log);
    return o;
}

int threadCount() // of this process
{
    int n = 0;
    for ([[maybe_unused]] const auto& entry :
         std::filesystem::directory_iterator("/proc/self/task"))
        ++n;
    return n;
}

QString errorType(const std::function<void()>& fn)
{
    try {
        fn();
    } catch (const PoolError& e) {
        return QString::fromStdString(e.type()) + ": " + QString::fromStdString(e.error().message);
    }
    return "no error";
}

} // namespace

class TestPool : public QObject
{
    Q_OBJECT

    Hygiene m_hygiene;

    void addMethods()
    {
        QTest::addColumn<StartMethod>("method");
        QTest::newRow("fork") << StartMethod::Fork;
        QTest::newRow("spawn") << StartMethod::Spawn;
        QTest::newRow("forkserver") << StartMethod::ForkServer;
    }

private slots:
    void initTestCase()
    {
        // Bring the fork server up once, so that it counts in the baseline: it lives as long
        // as this process, like CPython's.
        Pool warm(options(StartMethod::ForkServer, 1));
        QCOMPARE(warm.map("square", {3}), Value::List{9});
    }

    void init() { m_hygiene.baseline(); }

    // Every test leaves no process and no descriptor behind.
    void cleanup() { m_hygiene.check(); }

    void defaultChunksize_data()
    {
        QTest::addColumn<int>("items");
        QTest::addColumn<int>("workers");
        QTest::addColumn<int>("expected");
        QTest::newRow("10/2") << 10 << 2 << 2;
        QTest::newRow("100/2") << 100 << 2 << 13;
        QTest::newRow("100/3") << 100 << 3 << 9;
        QTest::newRow("100/4") << 100 << 4 << 7;
        QTest::newRow("100/8") << 100 << 8 << 4;
        QTest::newRow("1000/3") << 1000 << 3 << 84;
        QTest::newRow("8/2 exact") << 8 << 2 << 1;
        QTest::newRow("1/4") << 1 << 4 << 1;
        QTest::newRow("empty") << 0 << 2 << 0;
    }
    void defaultChunksize()
    {
        QFETCH(int, items);
        QFETCH(int, workers);
        QFETCH(int, expected);
        QCOMPARE(Pool::defaultChunksize(std::size_t(items), workers), expected);
    }

    void invalidPools()
    {
        QCOMPARE(errorType([] { Pool p(options(StartMethod::Fork, 0)); }),
                 "ValueError: Number of processes must be at least 1");
        QCOMPARE(errorType([] { Pool p(options(StartMethod::Fork, -1)); }),
                 "ValueError: Number of processes must be at least 1");
        QCOMPARE(errorType([] {
                     PoolOptions o = options(StartMethod::Fork, 1);
                     o.maxtasksperchild = 0;
                     Pool p(o);
                 }),
                 "ValueError: maxtasksperchild must be a positive int or None");
    }

    void defaultProcessesIsCpuCount()
    {
        PoolOptions o;
        Pool p(o);
        QCOMPARE(p.processes(), int(sysconf(_SC_NPROCESSORS_ONLN)));
        QCOMPARE(int(p.workers().size()), p.processes());
    }

    void mapEqualsSequentialMap_data() { addMethods(); }
    void mapEqualsSequentialMap()
    {
        QFETCH(StartMethod, method);
        Pool pool(options(method, 2));
        const auto in = range(0, 100);
        QCOMPARE(pool.map("square", in), squares(in));
        QCOMPARE(pool.map("square", in, 20), squares(in));
        QCOMPARE(pool.map("square", {1, 2, 3, 4, 5}), (Value::List{1, 4, 9, 16, 25}));
        QCOMPARE(pool.starmap("add", {Value::tuple({1, 2}), Value::tuple({3, 4})}),
                 (Value::List{3, 7}));
        QCOMPARE(pool.apply("cube", {5}), Value(125));
    }

    // A fork child's copy of a pool is not a pool: each call there raises RuntimeError (before,
    // the child died of SIGSEGV on memory its parent keeps to itself), and ending the copy
    // there (a callable that destroys it) neither stops nor disturbs the parent's workers,
    // which go on serving the parent.
    void aForkChildCannotUseItsParentsPool_data() { addMethods(); }
    void aForkChildCannotUseItsParentsPool()
    {
        QFETCH(StartMethod, method);
        auto pool = std::make_unique<Pool>(options(method, 2));
        QCOMPARE(pool->map("square", range(0, 4)), squares(range(0, 4)));
        std::set<pid_t> before;
        for (const auto& w : pool->workers())
            before.insert(w.pid);
        pt::Pipe out;
        Process child(ProcessTarget::callable([&] {
            std::string said;
            const std::function<void()> calls[] = {
                [&] { pool->map("square", range(0, 2)); }, [&] { pool->close(); },
                [&] { pool->terminate(); }, [&] { pool->join(); },
                [&] {
                    pool->workers();
                }};
            for (const auto& call : calls) {
                try {
                    call();
                    said += "no error;";
                } catch (const PoolError& e) {
                    said += e.type() + ";";
                }
            }
            pool.reset(); // the child's copy ends
            said += "ended";
            (void)!::write(out.w, said.data(), said.size());
        }));
        child.start();
        out.closeWrite();
        const auto said = pt::readAll(out.r);
        child.join(30);
        QCOMPARE(child.exitcode(), std::optional<int>(0));
        QVERIFY(said);
        QCOMPARE(QString::fromStdString(*said),
                 QString("RuntimeError;RuntimeError;RuntimeError;RuntimeError;RuntimeError;ended"));
        QCOMPARE(pool->map("square", range(0, 6)), squares(range(0, 6)));
        std::set<pid_t> after;
        for (const auto& w : pool->workers())
            after.insert(w.pid);
        QCOMPARE(after, before); // none was stopped or replaced
    }

    void emptyInputDoesNotStall_data() { addMethods(); }
    void emptyInputDoesNotStall()
    {
        QFETCH(StartMethod, method);
        Pool pool(options(method, 2));
        QCOMPARE(pool.map("square", {}), Value::List{});
        auto it = pool.imap("square", Value::List{});
        QVERIFY(!it->next(5.0).has_value());
        auto un = pool.imapUnordered("square", Value::List{});
        QVERIFY(!un->next(5.0).has_value());
    }

    void chunkBoundaries()
    {
        auto log = std::make_shared<EventLog>();
        Pool pool(options(StartMethod::Fork, 2, log));
        pool.map("square", range(0, 100));
        const auto submits = eventsOf(*log, EventKind::ChunkSubmitted);
        QCOMPARE(submits.size(), std::size_t(8)); // 7 x 13 + 9
        for (std::size_t c = 0; c < submits.size(); ++c) {
            QCOMPARE(submits[c].chunk, int(c)); // FIFO
            QCOMPARE(submits[c].a, std::int64_t(c * 13));
            QCOMPARE(submits[c].b, std::int64_t(std::min<std::size_t>(c * 13 + 12, 99)));
        }
    }

    void mapChunksizeZeroQuirk()
    {
        Pool pool(options(StartMethod::Fork, 1));
        QCOMPARE(pool.map("square", {1, 2, 3}, 0), (Value::List{Value(), Value(), Value()}));
    }

    void imapOrderedWithStopAtEnd_data() { addMethods(); }
    void imapOrderedWithStopAtEnd()
    {
        QFETCH(StartMethod, method);
        Pool pool(options(method, 3));
        const auto in = range(0, 40);
        for (int chunksize : {1, 7, 100}) {
            auto it = pool.imap("square", in, chunksize);
            Value::List got;
            while (auto v = it->next(10.0))
                got.push_back(*v);
            QCOMPARE(got, squares(in));
            QVERIFY(!it->next(1.0).has_value()); // StopIteration again
        }
        QCOMPARE(errorType([&] { pool.imap("square", in, 0); }),
                 "ValueError: Chunksize must be 1+, not 0");
        QCOMPARE(errorType([&] { pool.imapUnordered("square", in, -3); }),
                 "ValueError: Chunksize must be 1+, not -3");
    }

    // next(timeout) raises TimeoutError when no result comes in time, a timeout of 0 included,
    // and the iteration goes on after it, as with CPython's IMapIterator.next(timeout).
    void imapNextTimesOut_data() { addMethods(); }
    void imapNextTimesOut()
    {
        QFETCH(StartMethod, method);
        Pool pool(options(method, 2));
        for (bool ordered : {true, false}) {
            const Value::List in{0.4, 0.0}; // seconds
            auto it = ordered ? pool.imap("sleep", in) : pool.imapUnordered("sleep", in);
            if (!ordered) // the short task's result comes first, in arrival order
                QCOMPARE(it->next(10.0), std::optional<Value>(Value()));
            for (double timeout : {0.0, 0.01})
                QCOMPARE(errorType([&] { it->next(timeout); }), "TimeoutError: ");
            QCOMPARE(it->next(10.0), std::optional<Value>(Value()));
            if (ordered)
                QCOMPARE(it->next(0.0), std::optional<Value>(Value())); // already here
            QVERIFY(!it->next(10.0).has_value());
        }
    }

    // imap holds early results back; imap_unordered hands each out as it arrives. With seeded
    // random delays the arrival order is recorded in the log (ChunkResult events), and:
    // imap yields in input order whatever the arrival order; imap_unordered yields in arrival
    // order.
    void imapVersusUnordered_data() { addMethods(); }
    void imapVersusUnordered()
    {
        QFETCH(StartMethod, method);
        for (bool ordered : {true, false}) {
            auto log = std::make_shared<EventLog>();
            PoolOptions o = options(method, 3, log);
            o.taskOptions.seed = 7;
            o.taskOptions.timeScale = 0.05; // 25-100 ms per task
            Pool pool(o);
            auto it = ordered ? pool.imap("slow_square", range(1, 9))
                              : pool.imapUnordered("slow_square", range(1, 9));
            std::vector<std::int64_t> yielded;
            while (auto v = it->next(30.0)) {
                const auto yields = eventsOf(*log, EventKind::ResultYielded);
                yielded.push_back(yields.back().task);
                QCOMPARE(*v, Value((yields.back().task + 1) * (yields.back().task + 1)));
            }
            std::vector<std::int64_t> arrival;
            for (const auto& e : eventsOf(*log, EventKind::ChunkResult))
                arrival.push_back(e.chunk); // chunksize 1: chunk == task
            QCOMPARE(yielded.size(), std::size_t(8));
            if (ordered) {
                QVERIFY(std::is_sorted(yielded.begin(), yielded.end()));
            } else {
                QCOMPARE(yielded, arrival);
            }
        }
    }

    // CPython: an input iterable that raises at item 7 yields 6 results then the error with
    // chunksize 2, and 4 then the error with chunksize 4.
    void inputIterableRaises_data()
    {
        QTest::addColumn<int>("chunksize");
        QTest::addColumn<int>("results");
        QTest::newRow("chunksize 1") << 1 << 7;
        QTest::newRow("chunksize 2") << 2 << 6;
        QTest::newRow("chunksize 4") << 4 << 4;
    }
    void inputIterableRaises()
    {
        QFETCH(int, chunksize);
        QFETCH(int, results);
        Pool pool(options(StartMethod::Fork, 2));
        int i = 0;
        auto it = pool.imap(
            "square",
            [&i]() -> std::optional<Value> {
                if (i == 7)
                    throw TaskError("SayWhenError", "Somebody said when");
                return Value(i++);
            },
            chunksize);
        int got = 0;
        QString error;
        try {
            while (auto v = it->next(10.0)) {
                QCOMPARE(*v, Value(got * got));
                ++got;
            }
        } catch (const PoolError& e) {
            error = QString::fromStdString(e.type());
        }
        QCOMPARE(got, results);
        QCOMPARE(error, "SayWhenError");
        QVERIFY(!it->next(1.0).has_value());
    }

    void imapErrors()
    {
        PoolOptions o = options(StartMethod::Fork, 2);
        o.taskOptions.failAt = 2;
        Pool pool(o);
        // chunksize 1: the error is raised at its own position and iteration can go on.
        auto it = pool.imap("boom", range(1, 6));
        QCOMPARE(*it->next(10.0), Value(1));
        QCOMPARE(*it->next(10.0), Value(4));
        QCOMPARE(errorType([&] { it->next(10.0); }), "ValueError: boom");
        QCOMPARE(*it->next(10.0), Value(16));
        QCOMPARE(*it->next(10.0), Value(25));
        QVERIFY(!it->next(10.0).has_value());
        // chunksize 2: the failing chunk [2, 3] is one error, and it ends the iteration.
        auto chunked = pool.imap("boom", range(1, 6), 2);
        QCOMPARE(*chunked->next(10.0), Value(1));
        QCOMPARE(*chunked->next(10.0), Value(4));
        QCOMPARE(errorType([&] { chunked->next(10.0); }), "ValueError: boom");
        QVERIFY(!chunked->next(10.0).has_value());
    }

    // map is ready only when every chunk has reported, even after a failure.
    void mapWaitsForEveryTaskAfterFailure_data() { addMethods(); }
    void mapWaitsForEveryTaskAfterFailure()
    {
        QFETCH(StartMethod, method);
        auto log = std::make_shared<EventLog>();
        PoolOptions o = options(method, 2, log);
        o.taskOptions.failAt = 0;
        Pool pool(o);
        QCOMPARE(errorType([&] { pool.map("boom", range(1, 21), 1); }), "ValueError: boom");
        QCOMPARE(eventsOf(*log, EventKind::ChunkResult).size(), std::size_t(20));
        QCOMPARE(eventsOf(*log, EventKind::TaskFinished).size(), std::size_t(20));
        const auto errors = eventsOf(*log, EventKind::ResultYielded);
        QCOMPARE(errors.size(), std::size_t(1));
        QVERIFY(!errors[0].ok);
        QCOMPARE(QString::fromStdString(errors[0].text), "ValueError: boom");
    }

    void errorCarriesRemoteTraceback()
    {
        PoolOptions o = options(StartMethod::Spawn, 1);
        o.taskOptions.failAt = 3;
        Pool pool(o);
        try {
            pool.map("boom", range(1, 6));
            QFAIL("no error");
        } catch (const PoolError& e) {
            QCOMPARE(QString::fromStdString(e.type()), "ValueError");
            QCOMPARE(QString(e.what()), "ValueError: boom");
            const auto tb = QString::fromStdString(e.error().traceback);
            QVERIFY2(tb.contains("SpawnPoolWorker-") && tb.contains("boom") &&
                         tb.contains("task 3"),
                     qPrintable(tb));
        }
        // The same through boom's int kernel: a chunk of 8 or more ints runs without Values.
        auto log = std::make_shared<EventLog>();
        PoolOptions k = options(StartMethod::Fork, 1, log);
        k.taskOptions.failAt = 13;
        Pool kernelPool(k);
        try {
            kernelPool.map("boom", range(1, 41), 20);
            QFAIL("no error");
        } catch (const PoolError& e) {
            QCOMPARE(QString(e.what()), "ValueError: boom");
            const auto tb = QString::fromStdString(e.error().traceback);
            QVERIFY2(tb.contains("ForkPoolWorker-") && tb.contains("task 13, input 14"),
                     qPrintable(tb));
        }
        // Tasks 0..12 of the failing chunk ran and are logged with their results; the chunk
        // stopped at task 13, which failed; the other chunk ran whole.
        std::map<std::int64_t, Event> finished;
        for (const Event& e : eventsOf(*log, EventKind::TaskFinished))
            finished.emplace(e.task, e);
        QCOMPARE(finished.size(), std::size_t(14 + 20));
        for (std::int64_t t = 0; t < 13; ++t)
            QCOMPARE(finished[t].value, Value((t + 1) * (t + 1)));
        QVERIFY(!finished[13].ok);
        QCOMPARE(finished[13].text, std::string("ValueError: boom"));
        QVERIFY(finished.count(14) == 0);
        QCOMPARE(finished[39].value, Value(40 * 40));
    }

    void asyncResult_data() { addMethods(); }
    void asyncResult()
    {
        QFETCH(StartMethod, method);
        PoolOptions o = options(method, 2);
        o.taskOptions.timeScale = 1.0;
        Pool pool(o);
        auto slow = pool.applyAsync("sleep", {0.3});
        QCOMPARE(errorType([&] { slow->successful(); }).left(11), "ValueError:");
        QVERIFY(!slow->ready());
        try {
            slow->get(0.01);
            QFAIL("no timeout");
        } catch (const PoolTimeoutError&) {
        }
        slow->wait();
        QVERIFY(slow->ready());
        QVERIFY(slow->successful());
        QCOMPARE(slow->get(), Value());
        auto sq = pool.applyAsync("square", {5});
        QCOMPARE(sq->get(10.0), Value(25));
        auto m = pool.mapAsync("square", range(0, 10));
        QCOMPARE(m->get(10.0), Value(squares(range(0, 10))));
    }

    void callbacks_data() { addMethods(); }
    void callbacks()
    {
        QFETCH(StartMethod, method);
        auto log = std::make_shared<EventLog>();
        PoolOptions o = options(method, 3, log);
        o.taskOptions.failAt = 0; // apply jobs have one task each: index 0
        Pool pool(o);
        std::mutex mutex;
        std::multiset<std::int64_t> ok;
        std::vector<std::string> errors;
        std::vector<std::shared_ptr<AsyncResult>> futures;
        for (int x = 0; x < 8; ++x) {
            const char* func = x == 5 ? "boom" : "square";
            futures.push_back(pool.applyAsync(
                func, {x},
                [&](const Value& v) {
                    std::lock_guard lock(mutex);
                    ok.insert(v.asInt());
                },
                [&](const RemoteError& e) {
                    std::lock_guard lock(mutex);
                    errors.push_back(e.text());
                }));
        }
        for (auto& f : futures)
            f->wait();
        QCOMPARE(ok, (std::multiset<std::int64_t>{0, 1, 4, 9, 16, 36, 49}));
        QCOMPARE(errors, std::vector<std::string>{"ValueError: boom"});      // exactly once
        QCOMPARE(errorType([&] { futures[5]->get(); }), "ValueError: boom"); // get still raises
        QCOMPARE(eventsOf(*log, EventKind::Callback).size(), std::size_t(7));
        QCOMPARE(eventsOf(*log, EventKind::ErrorCallback).size(), std::size_t(1));
    }

    // CPython's result handler dies when a callback raises, and no later result arrives;
    // PoolScope reports it (stderr and a Callback event with ok = false) and goes on.
    void callbackThatRaises()
    {
        auto log = std::make_shared<EventLog>();
        Pool pool(options(StartMethod::Fork, 1, log));
        auto r = pool.applyAsync("square", {4},
                                 [](const Value&) { throw std::runtime_error("bad callback"); });
        QCOMPARE(r->get(10.0), Value(16));
        QCOMPARE(pool.apply("square", {5}), Value(25)); // later results still arrive
        const auto callbacks = eventsOf(*log, EventKind::Callback);
        QCOMPARE(callbacks.size(), std::size_t(1));
        QVERIFY(!callbacks[0].ok);
        QCOMPARE(QString::fromStdString(callbacks[0].text), "bad callback");
    }

    void lifecycle()
    {
        auto log = std::make_shared<EventLog>();
        auto pool = std::make_unique<Pool>(options(StartMethod::Fork, 2, log));
        QCOMPARE(errorType([&] { pool->join(); }), "ValueError: Pool is still running");
        pool->map("square", range(0, 10));
        pool->close();
        QCOMPARE(errorType([&] { pool->map("square", {1}); }), "ValueError: Pool not running");
        QCOMPARE(errorType([&] { pool->applyAsync("square", {1}); }),
                 "ValueError: Pool not running");
        QCOMPARE(errorType([&] { pool->imap("square", Value::List{1}); }),
                 "ValueError: Pool not running");
        pool->join();
        const auto exits = eventsOf(*log, EventKind::WorkerExited);
        QCOMPARE(exits.size(), std::size_t(2));
        for (const auto& e : exits)
            QCOMPARE(e.a, 0); // closed workers finish their work and exit normally
        QCOMPARE(eventsOf(*log, EventKind::PoolClosed).size(), std::size_t(1));
        QCOMPARE(eventsOf(*log, EventKind::PoolTerminated).size(), std::size_t(0));
        QCOMPARE(errorType([&] { pool->apply("square", {1}); }), "ValueError: Pool not running");
    }

    // close() from another thread while a large map is still handing its chunks over (they go
    // in batches): every chunk of a job submitted before close() runs before the workers get
    // their stop messages, as in CPython, whose task handler sends the sentinels after the
    // tasks queued before them. Used to lose the chunks queued after the stops, and the map
    // never finished.
    void closeWhileAMapIsSubmitting_data()
    {
        QTest::addColumn<bool>("joinAtOnce");
        QTest::newRow("close") << false;
        QTest::newRow("close, join") << true; // join() waits for the submission to end
    }
    void closeWhileAMapIsSubmitting()
    {
        QFETCH(bool, joinAtOnce);
        auto log = std::make_shared<EventLog>();
        Pool pool(options(StartMethod::Fork, 2, log));
        const Value::List items = range(0, 60000); // 60,000 chunks of one: 235 batches
        std::shared_ptr<AsyncResult> result;
        std::thread submitter([&] { result = pool.mapAsync("square", items, 1); });
        // Close as soon as the first chunks are out, while the rest are being encoded.
        while (eventsOf(*log, EventKind::ChunkSubmitted).empty())
            std::this_thread::yield();
        pool.close();
        if (joinAtOnce)
            pool.join();
        submitter.join();
        QVERIFY(result);
        result->wait(30.0);
        QVERIFY(result->ready());
        QCOMPARE(result->get(), Value(squares(items)));
        pool.join();
        const auto exits = eventsOf(*log, EventKind::WorkerExited);
        QCOMPARE(exits.size(), std::size_t(2));
        for (const auto& e : exits)
            QCOMPARE(e.a, 0);
        // Every chunk went out before the first stop message was taken.
        QCOMPARE(eventsOf(*log, EventKind::ChunkSubmitted).size(), items.size());
    }

    void unknownFunction()
    {
        Pool pool(options(StartMethod::Fork, 1));
        QCOMPARE(errorType([&] { pool.map("no_such_task", {1}); }).left(14), "PicklingError:");
    }

    // terminate with 10,000 pending sleeps returns promptly: the pending work is dropped and the
    // workers are SIGTERMed (exit code -15).
    void terminateWithPendingWork_data() { addMethods(); }
    void terminateWithPendingWork()
    {
        QFETCH(StartMethod, method);
        auto log = std::make_shared<EventLog>();
        Pool pool(options(method, 2, log));
        Value::List sleeps(10000, Value(1.0));
        auto result = pool.mapAsync("sleep", sleeps, 1);
        pool.terminate();
        pool.join();
        QVERIFY(!result->ready()); // pending jobs never become ready
        const auto exits = eventsOf(*log, EventKind::WorkerExited);
        QCOMPARE(exits.size(), std::size_t(2));
        for (const auto& e : exits)
            QCOMPARE(e.a, -15);
        QCOMPARE(eventsOf(*log, EventKind::PoolTerminated).size(), std::size_t(1));
        QCOMPARE(errorType([&] { pool.map("square", {1}); }), "ValueError: Pool not running");
    }

    // A worker that cannot act on SIGTERM (here: stopped, which keeps the signal pending; in
    // the wild: a fork child stuck before it unblocked its signals) gets SIGKILL after
    // PoolEngine's grace period, so that terminate() returns where CPython's would hang.
    void terminateKillsAWorkerThatCannotTakeSigterm_data() { addMethods(); }
    void terminateKillsAWorkerThatCannotTakeSigterm()
    {
        QFETCH(StartMethod, method);
        auto log = std::make_shared<EventLog>();
        Pool pool(options(method, 2, log));
        QVERIFY(pool.waitForWorkers());
        const auto workers = pool.workers();
        QCOMPARE(workers.size(), std::size_t(2));
        const pid_t stopped = workers[0].pid;
        QCOMPARE(::kill(stopped, SIGSTOP), 0);
        QTRY_VERIFY_WITH_TIMEOUT(processState(stopped) == 'T', 10000);
        auto done = std::async(std::launch::async, [&] {
            pool.terminate();
            pool.join();
        });
        const bool returned = done.wait_for(std::chrono::seconds(30)) == std::future_status::ready;
        if (!returned)
            ::kill(stopped, SIGKILL); // lets a terminate() that waits for ever return
        done.get();
        QVERIFY(returned);
        std::map<pid_t, long long> codes;
        for (const auto& e : eventsOf(*log, EventKind::WorkerExited))
            codes[e.pid] = e.a;
        QCOMPARE(codes.size(), std::size_t(2));
        QCOMPARE(codes[stopped], -SIGKILL);
        QCOMPARE(codes[workers[1].pid], -SIGTERM);
    }

    void destructorTerminates()
    {
        std::shared_ptr<AsyncResult> pending;
        {
            Pool pool(options(StartMethod::Fork, 2));
            pending = pool.applyAsync("sleep", {10.0});
        } // like leaving `with Pool() as p:`: terminate, not close + join
        QVERIFY(!pending->ready());
    }

    void maxtasksperchildReplacesWorkers_data() { addMethods(); }
    void maxtasksperchildReplacesWorkers()
    {
        QFETCH(StartMethod, method);
        auto log = std::make_shared<EventLog>();
        PoolOptions o = options(method, 2, log);
        o.maxtasksperchild = 2;
        Pool pool(o);
        const auto before = pool.workers();
        QCOMPARE(pool.map("square", range(0, 10), 1), squares(range(0, 10)));
        pool.close();
        pool.join();
        const auto starts = eventsOf(*log, EventKind::WorkerStarted);
        std::set<int> pids;
        for (const auto& s : starts)
            pids.insert(s.pid);
        // 10 chunks, 2 per worker: at least 5 workers ran them, each with its own pid.
        QVERIFY2(pids.size() >= 5, qPrintable(QString::number(pids.size())));
        for (const auto& e : eventsOf(*log, EventKind::WorkerExited))
            QCOMPARE(e.a, 0);
        QVERIFY(before.size() == 2);
    }

    // Several threads submit map, apply_async and imap_unordered jobs at once, on a pool whose
    // workers retire after three chunks (so replacements start while jobs run), then one of
    // them closes and joins: every result is right, every worker exits 0, nothing hangs.
    void concurrentSubmitters()
    {
        auto log = std::make_shared<EventLog>();
        PoolOptions o = options(StartMethod::Fork, 3, log);
        o.maxtasksperchild = 3;
        Pool pool(o);
        constexpr int kThreads = 4;
        constexpr int kJobs = 12;
        std::atomic<int> wrong{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                for (int j = 0; j < kJobs; ++j) {
                    const int n = 1 + (t * 7 + j * 13) % 40;
                    const Value::List items = range(j, j + n);
                    switch ((t + j) % 3) {
                    case 0:
                        if (pool.map("square", items, 1 + j % 4) != squares(items))
                            ++wrong;
                        break;
                    case 1:
                        if (pool.applyAsync("square", {j})->get(30.0) != Value(j * j))
                            ++wrong;
                        break;
                    default: {
                        auto it = pool.imapUnordered("square", items, 1 + j % 3);
                        Value::List got;
                        while (auto v = it->next(30.0))
                            got.push_back(std::move(*v));
                        std::sort(got.begin(), got.end(), [](const Value& a, const Value& b) {
                            return a.asInt() < b.asInt();
                        });
                        if (got != squares(items))
                            ++wrong;
                    }
                    }
                }
            });
        }
        for (auto& th : threads)
            th.join();
        pool.close();
        pool.join();
        QCOMPARE(wrong.load(), 0);
        const auto exits = eventsOf(*log, EventKind::WorkerExited);
        QVERIFY(exits.size() > 3); // workers retired and were replaced
        for (const auto& e : exits)
            QCOMPARE(e.a, 0);
    }

    // A caller waiting for an apply reads the workers' reports itself when the result thread
    // is not reading (PoolEngine's reader gate), and so handles other jobs' results too. The
    // callbacks of those jobs must still run on the result thread, as CPython's do, once each.
    void callbacksStayOnTheResultThreadWhileCallersRead()
    {
        auto log = std::make_shared<EventLog>();
        Pool pool(options(StartMethod::Fork, 2, log));
        std::atomic<bool> done{false};
        std::atomic<int> wrong{0};
        std::vector<std::thread::id> callers;
        std::mutex mutex;
        std::vector<std::thread> threads;
        for (int t = 0; t < 2; ++t) {
            threads.emplace_back([&, t] {
                {
                    std::lock_guard lock(mutex);
                    callers.push_back(std::this_thread::get_id());
                }
                for (int i = 0; !done.load(); ++i) {
                    const int x = t * 100000 + i;
                    if (pool.apply("square", {x}) != Value(std::int64_t(x) * x))
                        ++wrong;
                }
            });
        }
        std::vector<std::thread::id> ranOn;
        std::multiset<std::int64_t> values;
        std::vector<std::shared_ptr<AsyncResult>> futures;
        for (int x = 0; x < 200; ++x) {
            futures.push_back(pool.applyAsync("square", {x}, [&](const Value& v) {
                std::lock_guard lock(mutex);
                ranOn.push_back(std::this_thread::get_id());
                values.insert(v.asInt());
            }));
        }
        for (auto& f : futures)
            QVERIFY(f->get(30.0).isInt());
        done = true;
        for (auto& th : threads)
            th.join();
        QCOMPARE(wrong.load(), 0);
        std::multiset<std::int64_t> expected;
        for (int x = 0; x < 200; ++x)
            expected.insert(std::int64_t(x) * x);
        QCOMPARE(values, expected);
        const std::set<std::thread::id> threadsUsed(ranOn.begin(), ranOn.end());
        QCOMPARE(threadsUsed.size(), std::size_t(1)); // one result thread
        const std::thread::id resultThread = *threadsUsed.begin();
        QVERIFY(resultThread != std::this_thread::get_id());
        for (const auto& id : callers)
            QVERIFY(resultThread != id);
        QCOMPARE(eventsOf(*log, EventKind::Callback).size(), std::size_t(200));
    }

    // A blocking map reads the caller's list while it runs instead of copying it, unless the
    // event log may keep it (inputs that are not all scalars). Either way the log's events
    // still read the right inputs once the caller's list is gone (ASan checks the reads).
    void blockingMapsReadTheCallersList()
    {
        auto log = std::make_shared<EventLog>();
        Pool pool(options(StartMethod::Fork, 2, log));
        Value::List squaresOut;
        Value::List starOut;
        {
            const Value::List ints = range(0, 40);
            Value::List tuples;
            for (int i = 0; i < 40; ++i)
                tuples.push_back(Value::tuple({i}));
            const Value::List intsBefore = ints;
            squaresOut = pool.map("square", ints, 3);
            starOut = pool.starmap("square", tuples, 3);
            QCOMPARE(ints, intsBefore); // read, not taken
            QCOMPARE(tuples.size(), std::size_t(40));
        } // both lists are gone
        QCOMPARE(squaresOut, squares(range(0, 40)));
        QCOMPARE(starOut, squares(range(0, 40)));
        std::size_t started = 0;
        for (const Event& e : eventsOf(*log, EventKind::TaskStarted)) {
            ++started;
            QVERIFY(e.value == Value(e.task) || e.value == Value::tuple({e.task}));
        }
        QCOMPARE(started, std::size_t(80));
        const Value::List empty;
        QCOMPARE(pool.map("square", empty), Value::List{});
    }

    void workerNamesAndParents_data() { addMethods(); }
    void workerNamesAndParents()
    {
        QFETCH(StartMethod, method);
        auto log = std::make_shared<EventLog>();
        Pool pool(options(method, 2, log));
        pool.map("square", {1, 2}); // the workers have reported in by the time a job is done
        pool.close();
        pool.join();
        const QString prefix = method == StartMethod::Fork    ? "ForkPoolWorker-"
                               : method == StartMethod::Spawn ? "SpawnPoolWorker-"
                                                              : "ForkServerPoolWorker-";
        const auto starts = eventsOf(*log, EventKind::WorkerStarted);
        QCOMPARE(starts.size(), std::size_t(2));
        QVERIFY(starts[0].worker != starts[1].worker);
        for (const auto& s : starts) {
            QCOMPARE(QString::fromStdString(s.text), prefix + QString::number(s.worker));
            QVERIFY(s.a > 0); // start latency measured
            if (method == StartMethod::ForkServer)
                QVERIFY(s.ppid != getpid()); // the fork server is the parent, as in CPython
            else
                QCOMPARE(s.ppid, getpid());
        }
    }

    // A map's caller notes, chunk by chunk, how far its inputs are an arithmetic run of ints,
    // and the log takes a report's inputs on that word (InputRun). Whatever the inputs, each
    // task's TaskStarted must carry its own input.
    void loggedInputsAreTheTasksOwn_data()
    {
        QTest::addColumn<Value::List>("items");
        QTest::addColumn<int>("chunksize");
        QTest::addColumn<QString>("func");
        const auto ints = test::intRun;
        QTest::newRow("a range") << range(0, 1000) << 100 << "square";
        Value::List broken = range(0, 1000);
        broken[550] = Value(-1); // chunk 5 is off the run: it and every later chunk classified
        QTest::newRow("a range broken in chunk 5") << broken << 100 << "square";
        Value::List late = range(0, 1000);
        late[999] = Value(2.5); // the last task gets a float (and fails: square wants an int)
        QTest::newRow("a float last") << late << 100 << "square";
        QTest::newRow("stepping down") << ints(500, -3, 1000) << 64 << "square";
        // Even numbers (is_prime answers at once) from near int64's top, past it to its bottom.
        QTest::newRow("wrapping past int64's top")
            << ints(std::numeric_limits<std::int64_t>::max() - 405, 2, 300) << 50 << "is_prime";
        QTest::newRow("chunks of one") << range(10, 60) << 1 << "square";
        QTest::newRow("five items") << range(3, 8) << 2 << "square";
        Value::List second = range(0, 100);
        second[1] = Value(true); // a run cannot start: the step is not known
        QTest::newRow("a bool second") << second << 10 << "square";
    }

    void loggedInputsAreTheTasksOwn()
    {
        QFETCH(Value::List, items);
        QFETCH(int, chunksize);
        QFETCH(QString, func);
        auto log = std::make_shared<EventLog>();
        Pool pool(options(StartMethod::Fork, 2, log));
        auto result = pool.mapAsync(func.toStdString(), items, chunksize);
        result->wait(30.0);
        QVERIFY(result->ready());
        const auto starts = eventsOf(*log, EventKind::TaskStarted);
        QCOMPARE(starts.size(), items.size());
        std::vector<bool> seen(items.size());
        for (const Event& e : starts) {
            QVERIFY(e.task >= 0 && std::size_t(e.task) < items.size());
            const Value& input = items[std::size_t(e.task)];
            if (e.value.kind() != input.kind() || !(e.value == input))
                QFAIL(qPrintable(QString("task %1: logged input %2, the task's is %3")
                                     .arg(e.task)
                                     .arg(QString::fromStdString(e.value.repr()))
                                     .arg(QString::fromStdString(input.repr()))));
            seen[std::size_t(e.task)] = true;
        }
        QVERIFY(std::all_of(seen.begin(), seen.end(), [](bool b) { return b; }));
    }

    // Pool::map and starmap use the caller's list as it is, without a copy; the event log keeps
    // copies of the inputs it cannot keep inline (tuples, strings), so that they read back
    // after the caller's list has gone.
    void loggedInputsOutliveTheCallersList()
    {
        auto log = std::make_shared<EventLog>();
        Pool pool(options(StartMethod::Fork, 2, log));
        {
            Value::List tuples;
            for (int i = 0; i < 40; ++i)
                tuples.push_back(Value::tuple({Value(i)}));
            QCOMPARE(pool.starmap("square", tuples, 3).size(), std::size_t(40));
            for (Value& t : tuples) // overwrite the caller's list before it goes
                t = Value("gone");
        }
        std::vector<Value::List> clutter(64, Value::List(40, Value("x"))); // reuse its memory
        const auto starts = eventsOf(*log, EventKind::TaskStarted);
        QCOMPARE(starts.size(), std::size_t(40));
        for (const Event& e : starts)
            QCOMPARE(e.value, Value::tuple({Value(e.task)}));
        QVERIFY(!clutter.empty());
    }

    // A pool made on the main thread starts its result thread with its first job, or when it
    // is asked to wait for its workers. One closed and joined without work has none: join()
    // reads the workers' reports and reaps them itself, and the log has all of it.
    void theResultThreadStartsWithTheFirstJob()
    {
        const int before = threadCount();
        const auto kinds = [](const EventLog& log, EventKind kind) {
            return eventsOf(log, kind).size();
        };
        {
            auto log = std::make_shared<EventLog>();
            Pool pool(options(StartMethod::Fork, 2, log));
            QCOMPARE(threadCount(), before);
            QCOMPARE(pool.map("square", {1, 2, 3}), (Value::List{1, 4, 9}));
            QCOMPARE(threadCount(), before + 1);
        }
        QCOMPARE(threadCount(), before);
        {
            auto log = std::make_shared<EventLog>();
            Pool pool(options(StartMethod::Fork, 2, log));
            QVERIFY(pool.waitForWorkers());
            QCOMPARE(threadCount(), before + 1);
            QCOMPARE(kinds(*log, EventKind::WorkerStarted), std::size_t(2));
        }
        auto log = std::make_shared<EventLog>();
        {
            Pool pool(options(StartMethod::Fork, 2, log));
            pool.close();
            pool.join();
            QCOMPARE(threadCount(), before);
        }
        QCOMPARE(kinds(*log, EventKind::WorkerStarted), std::size_t(2));
        const auto exits = eventsOf(*log, EventKind::WorkerExited);
        QCOMPARE(exits.size(), std::size_t(2));
        for (const Event& e : exits)
            QCOMPARE(e.a, std::int64_t(0));
        QCOMPARE(kinds(*log, EventKind::PoolClosed), std::size_t(1));
        // A pool left unused ends with terminate(): the workers that were up by then are
        // logged as started, then as stopped by SIGTERM.
        auto unused = std::make_shared<EventLog>();
        {
            Pool pool(options(StartMethod::Fork, 2, unused));
            std::this_thread::sleep_for(std::chrono::milliseconds(500)); // they come up
        }
        QCOMPARE(threadCount(), before);
        QCOMPARE(kinds(*unused, EventKind::WorkerStarted), std::size_t(2));
        const auto stopped = eventsOf(*unused, EventKind::WorkerExited);
        QCOMPARE(stopped.size(), std::size_t(2));
        for (const Event& e : stopped)
            QCOMPARE(e.a, std::int64_t(-SIGTERM));
        // A pool that stops before its workers are up: the wait ends, and says so.
        Pool halted(options(StartMethod::Fork, 2, nullptr));
        halted.terminate();
        QVERIFY(!halted.waitForWorkers(30));
    }

    // The result thread is SCHED_BATCH (a worker's report does not preempt another worker);
    // the workers it starts, replacements included, are not: they run as this process does.
    void theResultThreadYieldsToTheWorkers_data() { addMethods(); }
    void theResultThreadYieldsToTheWorkers()
    {
        QFETCH(StartMethod, method);
        const auto batchThreads = [] {
            int n = 0;
            for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task"))
                n += ::sched_getscheduler(std::stoi(entry.path().filename())) == SCHED_BATCH;
            return n;
        };
        QCOMPARE(batchThreads(), 0);
        {
            auto log = std::make_shared<EventLog>();
            PoolOptions o = options(method, 2, log);
            o.maxtasksperchild = 1; // every chunk's worker is replaced, by the result thread
            Pool pool(o);
            QCOMPARE(pool.map("square", range(0, 6), 1), squares(range(0, 6)));
            // Six workers retired, and their six replacements came up (the last two are alive
            // now): no start is under way, and the result thread is batch again.
            QTRY_COMPARE_WITH_TIMEOUT(eventsOf(*log, EventKind::WorkerStarted).size(),
                                      std::size_t(8), 30000);
            QCOMPARE(batchThreads(), 1);
            QCOMPARE(::sched_getscheduler(0), SCHED_OTHER);
            QCOMPARE(pool.workers().size(), std::size_t(2));
            for (const WorkerInfo& w : pool.workers()) {
                const int policy = ::sched_getscheduler(w.pid);
                QVERIFY2(policy == SCHED_OTHER, qPrintable(QString("%1 (pid %2): %3 (%4)")
                                                               .arg(QString::fromStdString(w.name))
                                                               .arg(w.pid)
                                                               .arg(policy)
                                                               .arg(std::strerror(errno))));
            }
        }
        QCOMPARE(batchThreads(), 0);
        // A pool made on another thread: its result thread starts at once, batch, and forks
        // the first workers itself.
        std::unique_ptr<Pool> pool;
        std::thread([&] { pool = std::make_unique<Pool>(options(method, 2)); }).join();
        QVERIFY(pool->waitForWorkers());
        QCOMPARE(batchThreads(), 1);
        QCOMPARE(pool->workers().size(), std::size_t(2));
        for (const WorkerInfo& w : pool->workers())
            QCOMPARE(::sched_getscheduler(w.pid), SCHED_OTHER);
        pool.reset();
        QCOMPARE(batchThreads(), 0);
    }

    // The first chunk of every worker goes out in one burst, with one wake-up call for them all
    // (PoolEngine::enqueueChunks): sent one by one, a worker woken on the caller's core could
    // take it over and run its whole chunk before the caller woke the next worker. The log
    // gives the chunks of one burst one submit time, read before its first push.
    void theFirstChunkOfEveryWorkerGoesOutTogether()
    {
        auto log = std::make_shared<EventLog>();
        Pool pool(options(StartMethod::Fork, 3, log));
        QVERIFY(pool.waitForWorkers());
        QCOMPARE(pool.map("square", range(0, 40), 4), squares(range(0, 40)));
        const auto submitted = eventsOf(*log, EventKind::ChunkSubmitted);
        QCOMPARE(submitted.size(), std::size_t(10));
        for (std::size_t i = 0; i < submitted.size(); ++i)
            QCOMPARE(submitted[i].chunk, int(i));
        QCOMPARE(submitted[1].tNs, submitted[0].tNs);
        QCOMPARE(submitted[2].tNs, submitted[0].tNs);
        QVERIFY(submitted[3].tNs > submitted[2].tNs); // the rest: the next burst
        for (std::size_t i = 4; i < submitted.size(); ++i)
            QCOMPARE(submitted[i].tNs, submitted[3].tNs);
    }

    // The result thread polls its workers' pipes for a moment (50 us) before it sleeps, while
    // a report is due and a core is spare. It must not go on spinning: neither while one long
    // task runs (a report is due, a core is free), nor while the pool has no work.
    void theResultThreadDoesNotSpinWhileItWaits()
    {
        // CPU time of this process's threads other than this one (the pool's result and
        // feeder threads): the workers are other processes.
        const auto otherThreadsCpu = [] {
            rusage self{}, thread{};
            ::getrusage(RUSAGE_SELF, &self);
            ::getrusage(RUSAGE_THREAD, &thread);
            const auto us = [](const timeval& t) {
                return t.tv_sec * 1000000.0 + t.tv_usec;
            };
            return (us(self.ru_utime) + us(self.ru_stime) - us(thread.ru_utime) -
                    us(thread.ru_stime)) /
                   1e6;
        };
        Pool pool(options(StartMethod::Fork, 2));
        QVERIFY(pool.waitForWorkers());
        pool.map("square", range(0, 4)); // the result thread is up
        const double before = otherThreadsCpu();
        const auto started = std::chrono::steady_clock::now();
        // The first task's result wakes the result thread while the second runs on.
        QCOMPARE(pool.map("sleep", {0.0, 0.4}, 1), (Value::List{Value(), Value()}));
        std::this_thread::sleep_for(std::chrono::milliseconds(200)); // no work at all
        const double wall =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        const double cpu = otherThreadsCpu() - before;
        // A spin that did not stop would take one core for the whole 0.6 s.
        QVERIFY2(
            cpu < 0.05,
            qPrintable(QString("the pool's threads took %1 s of CPU in %2 s").arg(cpu).arg(wall)));
    }

    // imap's next() looks for a result without sleeping for a moment (50 us) before it sleeps.
    // It must not go on spinning while a long task runs: the waiting thread's own CPU time
    // stays small.
    void imapNextDoesNotSpinWhileItWaits()
    {
        const auto threadCpu = [] {
            rusage r{};
            ::getrusage(RUSAGE_THREAD, &r);
            return r.ru_utime.tv_sec + r.ru_stime.tv_sec +
                   (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
        };
        Pool pool(options(StartMethod::Fork, 2));
        QVERIFY(pool.waitForWorkers());
        for (bool ordered : {true, false}) {
            auto it =
                ordered ? pool.imap("sleep", {0.0, 0.4}) : pool.imapUnordered("sleep", {0.0, 0.4});
            QCOMPARE(it->next(10.0), std::optional<Value>(Value()));
            const double before = threadCpu();
            QCOMPARE(it->next(10.0), std::optional<Value>(Value())); // waits about 0.4 s
            const double cpu = threadCpu() - before;
            // A spin that did not stop would take this thread's core for the whole 0.4 s.
            QVERIFY2(cpu < 0.05, qPrintable(QString("next() took %1 s of CPU").arg(cpu)));
            QVERIFY(!it->next(10.0).has_value());
        }
    }

    // A worker sends a task's start as it happens once a millisecond has passed since its last
    // report, so that a slow task is seen running. A chunk taken after a quiet spell, that the
    // function's last tasks say will end within that millisecond, goes without: its result comes
    // as soon. The millisecond then counts from that chunk's first task.
    void aTaskStartGoesLiveUnlessItsChunkIsDueSooner()
    {
        auto log = std::make_shared<EventLog>();
        Pool pool(options(StartMethod::Fork, 1, log));
        const auto startsFrom = [&](std::size_t from) {
            std::vector<std::int64_t> tasks;
            for (std::size_t i = from; i < log->size(); ++i)
                if (log->kindAt(i) == EventKind::TaskStarted)
                    tasks.push_back(log->at(i).task);
            return tasks;
        };
        // Waits until `count` starts from `from` are in the log, or until the call is done.
        const auto seenLive = [&](std::size_t from, std::size_t count, AsyncResult& call) {
            while (!call.ready()) {
                if (startsFrom(from).size() >= count)
                    return !call.ready();
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
            }
            return false;
        };
        using Tasks = std::vector<std::int64_t>;
        constexpr double kSlow = 0.6; // seconds

        // After a quiet spell, a function new to the worker: its first task's start goes at once.
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        std::size_t from = log->size();
        auto call = pool.mapAsync("sleep", {kSlow});
        QVERIFY(seenLive(from, 1, *call));
        call->get();

        // sleep(0) tasks take microseconds: a chunk of two after a quiet spell is due within
        // the millisecond. Its second task's long sleep is not seen until the chunk ends.
        pool.map("sleep", {0});
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        from = log->size();
        call = pool.mapAsync("sleep", {0, kSlow}, 2);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        QCOMPARE(startsFrom(from), Tasks{});
        QVERIFY(!call->ready());
        call->get();
        QCOMPARE(startsFrom(from), (Tasks{0, 1}));

        // The same, but the slow task starts 2 ms into the chunk: it is seen running.
        pool.map("sleep", {0});
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        from = log->size();
        call = pool.mapAsync("sleep", {0, 0.002, kSlow}, 3);
        QVERIFY(seenLive(from, 3, *call));
        QCOMPARE(startsFrom(from), (Tasks{0, 1, 2}));
        call->get();

        // After slow tasks, a chunk's first start goes at once again.
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        from = log->size();
        call = pool.mapAsync("sleep", {kSlow}, 1);
        QVERIFY(seenLive(from, 1, *call));
        call->get();
    }

    // PR_SET_PDEATHSIG kills a child when the *thread* that forked it ends. A pool made on a
    // thread that ends before the pool does keeps its workers: they are not that thread's.
    void workersOutliveTheThreadThatMadeThePool_data() { addMethods(); }
    void workersOutliveTheThreadThatMadeThePool()
    {
        QFETCH(StartMethod, method);
        auto log = std::make_shared<EventLog>();
        std::unique_ptr<Pool> pool;
        std::thread maker([&] { pool = std::make_unique<Pool>(options(method, 2, log)); });
        maker.join();
        QCOMPARE(pool->map("square", range(1, 21), 1), squares(range(1, 21)));
        pool->close();
        pool->join();
        QCOMPARE(eventsOf(*log, EventKind::WorkerStarted).size(), std::size_t(2)); // none replaced
        const auto exits = eventsOf(*log, EventKind::WorkerExited);
        QCOMPARE(exits.size(), std::size_t(2));
        for (const auto& e : exits)
            QCOMPARE(e.a, 0); // not -9: no worker was killed with its creator
        pool.reset();
    }

    // The event sequence of one map: every task starts once and finishes once, in a causal
    // order on one clock shared by all processes.
    void eventSequence_data() { addMethods(); }
    void eventSequence()
    {
        QFETCH(StartMethod, method);
        auto log = std::make_shared<EventLog>();
        Pool pool(options(method, 2, log));
        QCOMPARE(pool.map("square", range(1, 11), 3), squares(range(1, 11)));
        std::map<std::int64_t, Event> submitted, taken, result, started, finished;
        for (std::size_t i = 0; i < log->size(); ++i) {
            const Event& e = log->at(i);
            switch (e.kind) {
            case EventKind::ChunkSubmitted:
                QVERIFY(submitted.emplace(e.chunk, e).second);
                break;
            case EventKind::ChunkTaken:
                QVERIFY(taken.emplace(e.chunk, e).second);
                break;
            case EventKind::ChunkResult:
                QVERIFY(result.emplace(e.chunk, e).second);
                break;
            case EventKind::TaskStarted:
                QVERIFY(started.emplace(e.task, e).second);
                break;
            case EventKind::TaskFinished:
                QVERIFY(finished.emplace(e.task, e).second);
                break;
            default:
                break;
            }
        }
        QCOMPARE(submitted.size(), std::size_t(4));
        for (std::int64_t c = 0; c < 4; ++c) { // chunks of 3 tasks, the last of one
            QCOMPARE(submitted[c].job, submitted[0].job);
            QCOMPARE(submitted[c].a, 3 * c);
            QCOMPARE(submitted[c].task, 3 * c);
            QCOMPARE(submitted[c].b, std::min<std::int64_t>(3 * c + 2, 9));
            if (c > 0)
                QVERIFY(submitted[c - 1].tNs <= submitted[c].tNs);
        }
        QCOMPARE(taken.size(), std::size_t(4));
        QCOMPARE(result.size(), std::size_t(4));
        QCOMPARE(started.size(), std::size_t(10));
        QCOMPARE(finished.size(), std::size_t(10));
        for (std::int64_t t = 0; t < 10; ++t) {
            const std::int64_t c = t / 3;
            QCOMPARE(started[t].chunk, int(c));
            QCOMPARE(started[t].value, Value(t + 1));
            QCOMPARE(finished[t].value, Value((t + 1) * (t + 1)));
            QCOMPARE(started[t].worker, taken[c].worker);
            QVERIFY(submitted[c].tNs <= taken[c].tNs);
            QVERIFY(taken[c].tNs <= started[t].tNs);
            QVERIFY(started[t].tNs <= finished[t].tNs);
            QVERIFY(finished[t].tNs <= result[c].tNs);
        }
        // map hands the whole list over at once, after the last chunk arrived.
        const auto yields = eventsOf(*log, EventKind::ResultYielded);
        QCOMPARE(yields.size(), std::size_t(1));
        QCOMPARE(yields[0].task, std::int64_t(-1));
        QCOMPARE(yields[0].a, std::int64_t(10));
        for (const auto& [chunk, e] : result)
            QVERIFY(yields[0].tNs >= e.tNs);
    }

    // Tasks far shorter than a clock reading are timed in groups: their TaskFinished says
    // so (a = the group size, a power of two up to 1024), the group's time is shared evenly,
    // and every task still has its start and end, in order on its worker's lane. Tasks that
    // sleep are timed alone.
    void shortTasksAreTimedInGroups()
    {
        auto log = std::make_shared<EventLog>();
        Pool pool(options(StartMethod::Fork, 2, log));
        const auto in = range(0, 20000);
        QCOMPARE(pool.map("square", in, 5000), squares(in));
        std::map<std::int64_t, Event> started, finished;
        for (std::size_t i = 0; i < log->size(); ++i) {
            const Event e = log->at(i);
            if (e.kind == EventKind::TaskStarted)
                QVERIFY(started.emplace(e.task, e).second);
            else if (e.kind == EventKind::TaskFinished)
                QVERIFY(finished.emplace(e.task, e).second);
        }
        QCOMPARE(started.size(), in.size());
        QCOMPARE(finished.size(), in.size());
        std::size_t grouped = 0;
        std::map<int, std::int64_t> laneEnd; // worker -> its last task's end
        for (std::int64_t t = 0; t < std::int64_t(in.size()); ++t) {
            const Event& s = started[t];
            const Event& f = finished[t];
            QCOMPARE(s.worker, f.worker);
            QVERIFY(s.tNs <= f.tNs);
            if (t % 5000 != 0) // within a chunk a task starts when its predecessor ended
                QCOMPARE(s.tNs, finished[t - 1].tNs);
            QVERIFY2(s.tNs >= laneEnd[s.worker], qPrintable(QString::number(t)));
            laneEnd[s.worker] = f.tNs;
            QCOMPARE(s.a, std::int64_t(0));
            if (f.a != 0) {
                QVERIFY2(f.a >= 2 && f.a <= 1024 && std::has_single_bit(std::uint64_t(f.a)),
                         qPrintable(QString::number(f.a)));
                ++grouped;
            }
        }
#if !defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__)
        // (Under the sanitizers every memory access is instrumented, and a square with its
        // bookkeeping takes 250 ns or more: nothing is grouped there, rightly.)
        QVERIFY2(grouped > in.size() / 2, qPrintable(QString::number(grouped)));
#endif

        const std::size_t from = log->size();
        const Value::List naps(40, Value(0.001));
        QCOMPARE(pool.map("sleep", naps, 20).size(), naps.size());
        std::size_t napped = 0;
        for (std::size_t i = from; i < log->size(); ++i) {
            const Event e = log->at(i);
            if (e.kind != EventKind::TaskFinished)
                continue;
            QCOMPARE(e.a, std::int64_t(0));
            QCOMPARE(e.delay, 0.001);
            ++napped;
        }
        QCOMPARE(napped, naps.size());
    }

    void recordingOff()
    {
        Pool pool(options(StartMethod::Fork, 2, nullptr));
        QVERIFY(!pool.eventLog());
        QCOMPARE(pool.map("square", range(0, 50), 1), squares(range(0, 50)));
    }

    void recordingIsOnByDefault()
    {
        PoolOptions o;
        o.processes = 1;
        Pool pool(o);
        QCOMPARE(pool.map("square", {2, 3}), (Value::List{4, 9}));
        QVERIFY(pool.eventLog());
        QCOMPARE(eventsOf(*pool.eventLog(), EventKind::TaskFinished).size(), std::size_t(2));
    }

    // The task queue holds 1 MiB: 4 chunks of 600 KB fill it (the feeder thread waits for
    // room), and a 2.4 MB chunk streams through it. Their reports stream back through each
    // worker's 256 KiB result ring likewise.
    void largeChunks_data()
    {
        addMethods();
    }
    void largeChunks()
    {
        QFETCH(StartMethod, method);
        Pool pool(options(method, 1));
        const auto in = range(0, 300000); // one worker: chunksize 75,000
        QCOMPARE(pool.map("square", in), squares(in));
        QCOMPARE(pool.map("square", in, 300000), squares(in));
    }

    // PoolScope's default: a worker that dies mid-task fails that task with a clear error, a
    // replacement starts, and the pool goes on. Also when the task is inside a chunk (the
    // fourth of chunk 0 with chunksize 8: a chunk of ints, run as a run of int tasks), whether
    // or not the pool records.
    void workerDeathFails_data()
    {
        QTest::addColumn<StartMethod>("method");
        QTest::addColumn<int>("chunksize");
        QTest::addColumn<bool>("record");
        for (const auto& [name, method] :
             {std::pair{"fork", StartMethod::Fork}, std::pair{"spawn", StartMethod::Spawn},
              std::pair{"forkserver", StartMethod::ForkServer}}) {
            QTest::addRow("%s", name) << method << 1 << true;
            QTest::addRow("%s, mid-chunk", name) << method << 8 << true;
        }
        QTest::addRow("fork, mid-chunk, not recording") << StartMethod::Fork << 8 << false;
    }
    void workerDeathFails()
    {
        QFETCH(StartMethod, method);
        QFETCH(int, chunksize);
        QFETCH(bool, record);
        auto log = record ? std::make_shared<EventLog>() : nullptr;
        PoolOptions o = options(method, 2, log);
        o.taskOptions.crashAt = 3;
        Pool pool(o);
        QString message;
        try {
            pool.map("square", range(1, 17), chunksize);
            QFAIL("no error");
        } catch (const PoolError& e) {
            QCOMPARE(QString::fromStdString(e.type()), "WorkerLostError");
            message = QString::fromStdString(e.error().message);
        }
        QVERIFY2(message.contains("SIGKILL") && message.contains("task 3") &&
                     message.contains("PoolWorker-") && message.contains("square(4)"),
                 qPrintable(message));
        if (!log) {
            QCOMPARE(pool.map("square", {1, 2, 3}), (Value::List{1, 4, 9}));
            return;
        }
        const auto lost = eventsOf(*log, EventKind::WorkerLost);
        QCOMPARE(lost.size(), std::size_t(1));
        QCOMPARE(lost[0].task, 3);
        bool killed = false;
        for (const auto& e : eventsOf(*log, EventKind::WorkerExited))
            killed = killed || (e.a == -9 && e.worker == lost[0].worker);
        QVERIFY(killed);
        // The lost task's start was recorded before the worker died.
        bool startSeen = false;
        for (const auto& e : eventsOf(*log, EventKind::TaskStarted))
            startSeen = startSeen || e.task == 3;
        QVERIFY(startSeen);
        // The pool goes on with a replacement worker (names count on).
        QCOMPARE(int(pool.workers().size()), 2);
        for (const auto& w : pool.workers())
            QVERIFY(w.number != lost[0].worker);
        QCOMPARE(pool.map("square", {1, 2, 3}), (Value::List{1, 4, 9}));
    }

    // Workers that retire after each chunk are replaced again and again, each replacement
    // taking the status slot of the worker it replaces: the death of one of them is still
    // told right, task and all.
    void workerDeathInAReplacementFails_data()
    {
        addMethods();
    }
    void workerDeathInAReplacementFails()
    {
        QFETCH(StartMethod, method);
        auto log = std::make_shared<EventLog>();
        PoolOptions o = options(method, 2, log);
        o.maxtasksperchild = 1;
        o.taskOptions.crashAt = 6;
        Pool pool(o);
        QString message;
        try {
            pool.map("square", range(1, 11), 1);
            QFAIL("no error");
        } catch (const PoolError& e) {
            QCOMPARE(QString::fromStdString(e.type()), "WorkerLostError");
            message = QString::fromStdString(e.error().message);
        }
        QVERIFY2(message.contains("task 6") && message.contains("square(7)"), qPrintable(message));
        const auto lost = eventsOf(*log, EventKind::WorkerLost);
        QCOMPARE(lost.size(), std::size_t(1));
        QCOMPARE(lost[0].task, 6);
        QVERIFY(eventsOf(*log, EventKind::WorkerStarted).size() >= 7); // replacements
        QCOMPARE(pool.map("square", {1, 2, 3}, 1), (Value::List{1, 4, 9}));
    }

    // CPython-compatible mode: the lost task never reports, get(timeout) times out, and the pool
    // itself stays usable.
    void workerDeathHangsInCPythonMode_data()
    {
        addMethods();
    }
    void workerDeathHangsInCPythonMode()
    {
        QFETCH(StartMethod, method);
        PoolOptions o = options(method, 2);
        o.taskOptions.crashAt = 1;
        o.onWorkerDeath = WorkerDeathPolicy::Hang;
        Pool pool(o);
        auto r = pool.mapAsync("square", range(1, 5), 1);
        try {
            r->get(0.5);
            QFAIL("no timeout");
        } catch (const PoolTimeoutError& e) {
            QCOMPARE(QString::fromStdString(e.type()), "TimeoutError");
        }
        QVERIFY(!r->ready());
        QCOMPARE(pool.apply("square", {7}), Value(49));
    }

    void initializerRuns()
    {
        PoolOptions o = options(StartMethod::Spawn, 2);
        o.initializer = "square";
        o.initargs = {3};
        Pool pool(o);
        QCOMPARE(pool.map("square", {2}), Value::List{4});
    }

    void initializerThatRaisesBreaksThePool_data()
    {
        addMethods();
    }
    void initializerThatRaisesBreaksThePool()
    {
        QFETCH(StartMethod, method);
        PoolOptions o = options(method, 2);
        o.initializer = "raise_error";
        o.initargs = {"bad init"};
        Pool pool(o);
        QCOMPARE(errorType([&] { pool.mapAsync("square", {1})->get(10.0); }),
                 "RuntimeError: bad init");
        pool.close();
        pool.join();
    }

    // Out of descriptors at each step of a pool's start in turn (RLIMIT_NOFILE a few above
    // what is open): the pool either starts and works, or its constructor raises OSError, and
    // either way no descriptor and no process is left behind (cleanup() checks).
    void startFailureLeavesNothingBehind_data()
    {
        addMethods();
    }
    void startFailureLeavesNothingBehind()
    {
        QFETCH(StartMethod, method);
        rlimit saved{};
        QCOMPARE(::getrlimit(RLIMIT_NOFILE, &saved), 0);
        QStringList outcomes;
        int refused = 0;
        int started = 0;
        for (int room = 0; room <= 24; ++room) {
            rlimit low = saved;
            low.rlim_cur = rlim_t(probe::fdLimitLeaving(room));
            QCOMPARE(::setrlimit(RLIMIT_NOFILE, &low), 0);
            QString outcome;
            try {
                Pool pool(options(method, 3));
                ::setrlimit(RLIMIT_NOFILE, &saved);
                outcome = pool.map("square", {1, 2, 3}) == Value::List{1, 4, 9} ? "started"
                                                                                : "wrong result";
                pool.close();
                pool.join();
            } catch (const PoolError& e) {
                outcome = QString::fromStdString(e.type() + ": " + e.error().message);
            } catch (const ProcessError& e) {
                outcome = QString::fromStdString(e.type() + ": " + e.what());
            }
            ::setrlimit(RLIMIT_NOFILE, &saved);
            outcomes << QString("%1: %2").arg(room).arg(outcome);
            if (outcome == "started")
                ++started;
            else if (outcome.startsWith("OSError: ") && outcome.endsWith(": Too many open files"))
                ++refused; // the message names the call that failed, and why
            else
                QFAIL(qPrintable(outcomes.join("\n")));
        }
        QVERIFY2(refused > 0 && started > 0, qPrintable(outcomes.join("\n")));
    }

    // A worker program that exits at once (here: /bin/false) must not hang the pool or leave
    // processes behind.
    void brokenWorkerProgram_data()
    {
        QTest::addColumn<StartMethod>("method");
        QTest::newRow("spawn") << StartMethod::Spawn;
    }
    void brokenWorkerProgram()
    {
        QFETCH(StartMethod, method);
        qputenv("POOLSCOPE_WORKER", "/bin/false");
        QString outcome;
        try {
            Pool pool(options(method, 2));
            outcome = errorType([&] { pool.mapAsync("square", {1})->get(10.0); });
        } catch (const std::exception& e) {
            outcome = QString("start failed: ") + e.what();
        }
        qunsetenv("POOLSCOPE_WORKER");
        QVERIFY2(!outcome.isEmpty() && outcome != "no error", qPrintable(outcome));
    }
};

QTEST_GUILESS_MAIN(TestPool)
#include "tst_pool.moc"
