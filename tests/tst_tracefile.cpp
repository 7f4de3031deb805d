#include "tracefile.h"

#include <QDir>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>

using namespace poolscope;

namespace {

constexpr int kMainPid = 4000;
const char* const kLostText =
    "Worker ForkPoolWorker-1 (pid 4001) died with exitcode -9 while running chunk 2 of job 0";

// Builds a log the way the pool reports a run: times advance by odd nanosecond steps so that
// sub-microsecond parts are exercised.
class LogBuilder
{
public:
    explicit LogBuilder(EventLog& log) : m_log(log) {}

    // Appends an event of `kind`, `step` ns after the previous one, filled in by `fill`.
    void add(EventKind kind, const std::function<void(Event&)>& fill, std::int64_t step = 1'234'567)
    {
        m_t += step;
        Event e;
        e.tNs = m_t;
        e.kind = kind;
        fill(e);
        m_log.append(std::move(e));
    }

private:
    EventLog& m_log;
    std::int64_t m_t = 7'000'000'123;
};

TraceMetadata realisticMeta()
{
    TraceMetadata m;
    m.version = "0.1.0";
    m.api = "imap";
    m.func = "square";
    m.items = 5;
    m.workers = 2;
    m.chunksize = 2;
    m.startMethod = "fork";
    m.seed = 42;
    m.timeScale = 0.5;
    m.mainPid = kMainPid;
    return m;
}

// A pool of 2 workers: imap(square, range(5), chunksize=2) where task 3 raises and task 1
// sleeps; an apply_async with a callback and one with an error_callback; worker 1 is killed
// while running task 4 (its chunk is lost) and replaced; close, then terminate.
void fillRealisticLog(EventLog& log)
{
    LogBuilder b(log);
    auto worker = [](Event& e, int w) {
        e.worker = w;
        e.pid = kMainPid + w;
    };
    auto task = [&](EventKind kind, int job, int chunk, int t, int w, Value v) {
        b.add(kind, [&](Event& e) {
            e.job = job, e.chunk = chunk, e.task = t, e.value = v;
            worker(e, w);
        });
    };
    b.add(EventKind::PoolCreated, [](Event& e) { e.a = 2, e.text = "fork"; });
    for (int w = 1; w <= 2; ++w) {
        b.add(EventKind::WorkerStarted, [&](Event& e) {
            worker(e, w);
            e.ppid = kMainPid, e.a = 812'345 + w, e.text = "ForkPoolWorker-" + std::to_string(w);
        });
    }
    b.add(EventKind::JobSubmitted,
          [](Event& e) { e.job = 0, e.a = 5, e.b = 2, e.text = "imap square"; });
    for (int c = 0; c < 3; ++c) {
        b.add(EventKind::ChunkSubmitted,
              [&](Event& e) { e.job = 0, e.chunk = c, e.a = 2 * c, e.b = std::min(2 * c + 1, 4); });
    }
    // Timestamped by worker 1 before the parent submitted chunk 2, but logged after it.
    b.add(
        EventKind::ChunkTaken, [&](Event& e) { e.job = 0, e.chunk = 0, worker(e, 1); }, -1'234'000);
    task(EventKind::TaskStarted, 0, 0, 0, 1, 0);
    b.add(EventKind::ChunkTaken, [&](Event& e) { e.job = 0, e.chunk = 1, worker(e, 2); });
    task(EventKind::TaskStarted, 0, 1, 2, 2, 2);
    task(EventKind::TaskFinished, 0, 0, 0, 1, 0);
    task(EventKind::TaskStarted, 0, 0, 1, 1, 1);
    b.add(EventKind::TaskFinished, [&](Event& e) { // timed in a group of up to 8 tasks
        e.job = 0, e.chunk = 1, e.task = 2, e.value = 4, e.a = 8;
        worker(e, 2);
    });
    task(EventKind::TaskStarted, 0, 1, 3, 2, 3);
    b.add(EventKind::TaskFinished, [&](Event& e) {
        e.job = 0, e.chunk = 1, e.task = 3, e.ok = false, e.text = "ValueError: boom";
        worker(e, 2);
    });
    b.add(EventKind::TaskFinished, [&](Event& e) {
        e.job = 0, e.chunk = 0, e.task = 1, e.value = 1, e.delay = 0.25;
        worker(e, 1);
    });
    b.add(EventKind::ChunkResult, [&](Event& e) { e.job = 0, e.chunk = 0, e.worker = 1; });
    b.add(EventKind::ResultYielded, [](Event& e) { e.job = 0, e.task = 0, e.value = 0; });
    // Same timestamp as the previous yield: the log's order must survive.
    b.add(
        EventKind::ResultYielded, [](Event& e) { e.job = 0, e.task = 1, e.value = 1; }, 0);
    b.add(EventKind::ChunkResult,
          [&](Event& e) { e.job = 0, e.chunk = 1, e.worker = 2, e.ok = false; });
    b.add(EventKind::ResultYielded, [](Event& e) { e.job = 0, e.task = 2, e.value = 4; });
    b.add(EventKind::ResultYielded,
          [](Event& e) { e.job = 0, e.task = 3, e.ok = false, e.text = "ValueError: boom"; });
    b.add(EventKind::ChunkTaken, [&](Event& e) { e.job = 0, e.chunk = 2, worker(e, 1); });
    task(EventKind::TaskStarted, 0, 2, 4, 1, 4); // never finishes: worker 1 is killed

    b.add(EventKind::JobSubmitted,
          [](Event& e) { e.job = 1, e.a = 1, e.b = 1, e.text = "apply_async square"; });
    b.add(EventKind::ChunkSubmitted, [](Event& e) { e.job = 1, e.chunk = 0; });
    b.add(EventKind::ChunkTaken, [&](Event& e) { e.job = 1, e.chunk = 0, worker(e, 2); });
    task(EventKind::TaskStarted, 1, 0, 0, 2, Value::tuple({7}));
    task(EventKind::TaskFinished, 1, 0, 0, 2, 49);
    b.add(EventKind::ChunkResult, [](Event& e) { e.job = 1, e.chunk = 0, e.worker = 2; });
    b.add(EventKind::Callback, [](Event& e) { e.job = 1, e.task = 0; });

    b.add(EventKind::JobSubmitted,
          [](Event& e) { e.job = 2, e.a = 1, e.b = 1, e.text = "apply_async boom"; });
    b.add(EventKind::ChunkSubmitted, [](Event& e) { e.job = 2, e.chunk = 0; });
    b.add(EventKind::ChunkTaken, [&](Event& e) { e.job = 2, e.chunk = 0, worker(e, 2); });
    task(EventKind::TaskStarted, 2, 0, 0, 2, Value::tuple({3}));
    b.add(EventKind::TaskFinished, [&](Event& e) {
        e.job = 2, e.chunk = 0, e.task = 0, e.ok = false, e.text = "ValueError: boom";
        worker(e, 2);
    });
    b.add(EventKind::ChunkResult,
          [](Event& e) { e.job = 2, e.chunk = 0, e.worker = 2, e.ok = false; });
    b.add(EventKind::ErrorCallback,
          [](Event& e) { e.job = 2, e.task = 0, e.text = "ValueError: boom"; });

    b.add(EventKind::WorkerExited, [&](Event& e) { worker(e, 1), e.a = -9; });
    b.add(EventKind::WorkerLost,
          [&](Event& e) { worker(e, 1), e.job = 0, e.chunk = 2, e.text = kLostText; });
    b.add(EventKind::WorkerStarted, [&](Event& e) {
        worker(e, 3), e.ppid = kMainPid, e.a = 900'001, e.text = "ForkPoolWorker-3";
    });
    b.add(EventKind::PoolClosed, [](Event&) {});
    b.add(EventKind::PoolTerminated, [](Event&) {});
    b.add(EventKind::WorkerExited, [&](Event& e) { worker(e, 2), e.a = -15; });
    b.add(EventKind::WorkerExited, [&](Event& e) { worker(e, 3), e.a = -15; });
}

// What reading back must give: the log sorted by time (stable), times from the earliest.
std::vector<Event> expectedEvents(const EventLog& log)
{
    std::vector<Event> events;
    std::int64_t origin = std::numeric_limits<std::int64_t>::max();
    for (std::size_t i = 0; i < log.size(); ++i) {
        events.push_back(log.at(i));
        origin = std::min(origin, log.at(i).tNs);
    }
    for (Event& e : events)
        e.tNs -= origin;
    std::stable_sort(events.begin(), events.end(),
                     [](const Event& x, const Event& y) { return x.tNs < y.tNs; });
    return events;
}

QString eventDiff(const Event& x, const Event& y)
{
    QStringList d;
    auto cmp = [&](const char* name, auto a, auto b) {
        if (a != b)
            d << QStringLiteral("%1 %2 != %3").arg(name).arg(a).arg(b);
    };
    cmp("tNs", x.tNs, y.tNs);
    cmp("kind", int(x.kind), int(y.kind));
    cmp("ok", x.ok, y.ok);
    cmp("job", x.job, y.job);
    cmp("chunk", x.chunk, y.chunk);
    cmp("worker", x.worker, y.worker);
    cmp("pid", x.pid, y.pid);
    cmp("ppid", x.ppid, y.ppid);
    cmp("task", x.task, y.task);
    cmp("a", x.a, y.a);
    cmp("b", x.b, y.b);
    cmp("delay", x.delay, y.delay);
    if (!(x.value == y.value))
        d << QStringLiteral("value %1 != %2")
                 .arg(QString::fromStdString(x.value.repr()),
                      QString::fromStdString(y.value.repr()));
    if (x.text != y.text)
        d << QStringLiteral("text '%1' != '%2'")
                 .arg(QString::fromStdString(x.text), QString::fromStdString(y.text));
    return d.join(", ");
}

// Empty when equal, else the first difference.
QString compareEvents(const std::vector<Event>& actual, const std::vector<Event>& expected)
{
    if (actual.size() != expected.size())
        return QStringLiteral("%1 events, expected %2").arg(actual.size()).arg(expected.size());
    for (std::size_t i = 0; i < actual.size(); ++i) {
        const QString d = eventDiff(actual[i], expected[i]);
        if (!d.isEmpty())
            return QStringLiteral("event %1 (%2): %3")
                .arg(i)
                .arg(QString::fromUtf8(eventKindName(expected[i].kind)))
                .arg(d);
    }
    return {};
}

// The TraceError's message, or a note saying that none (or something else) was thrown.
QString errorOf(const std::function<void()>& f)
{
    try {
        f();
    } catch (const TraceError& e) {
        return QString::fromStdString(e.what());
    } catch (const std::exception& e) {
        return QStringLiteral("<not a TraceError: %1>").arg(e.what());
    }
    return QStringLiteral("<no exception>");
}

QStringList listTree(const QString& dir)
{
    QStringList out;
    QDirIterator it(dir, QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot,
                    QDirIterator::Subdirectories);
    while (it.hasNext())
        out << it.next();
    out.sort();
    return out;
}

int openFds()
{
    return int(QDir("/proc/self/fd")
                   .entryList(QDir::AllEntries | QDir::System | QDir::Hidden | QDir::NoDotAndDotDot)
                   .size());
}

QJsonObject parseObject(const std::string& json)
{
    QJsonParseError err;
    const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(json), &err);
    if (err.error != QJsonParseError::NoError)
        qWarning() << "QJsonDocument:" << err.errorString() << "at" << err.offset;
    return doc.object();
}

// A valid metadata block for hand-written traces.
const std::string kMetaJson =
    R"("otherData":{"tool":"PoolScope","version":"0.1.0","api":"map","func":"square",)"
    R"("items":2,"workers":1,"chunksize":1,"start_method":"fork","seed":1,"time_scale":1.0,)"
    R"("main_pid":10})";

std::string doc(const std::string& events)
{
    return R"({"traceEvents":[)" + events + "]," + kMetaJson + "}";
}

const std::string kTaskX =
    R"({"name":"square","cat":"task","ph":"X","ts":1.5,"dur":2,"pid":11,"tid":11,)"
    R"("args":{"job":0,"chunk":0,"task":0,"worker_id":1,"pid":11,"input":3,"ok":true,"result":9}})";
const std::string kYield = R"({"name":"yield","ph":"i","s":"t","ts":4,"pid":10,"tid":10,)"
                           R"("args":{"job":0,"task":0,"ok":true,"value":9}})";

} // namespace

class TestTraceFile : public QObject
{
    Q_OBJECT

private slots:
    void jsonStructure()
    {
        EventLog log;
        fillRealisticLog(log);
        const TraceMetadata meta = realisticMeta();
        const QJsonObject root = parseObject(TraceFile::toJson(log, meta));
        QVERIFY(root.value("traceEvents").isArray());
        QCOMPARE(root.value("displayTimeUnit").toString(), QStringLiteral("ms"));
        const QJsonObject other = root.value("otherData").toObject();
        QCOMPARE(other.value("tool").toString(), QStringLiteral("PoolScope"));
        QCOMPARE(other.value("version").toString(), QStringLiteral("0.1.0"));
        QCOMPARE(other.value("api").toString(), QStringLiteral("imap"));
        QCOMPARE(other.value("func").toString(), QStringLiteral("square"));
        QCOMPARE(other.value("items").toInt(), 5);
        QCOMPARE(other.value("workers").toInt(), 2);
        QCOMPARE(other.value("chunksize").toInt(), 2);
        QCOMPARE(other.value("start_method").toString(), QStringLiteral("fork"));
        QCOMPARE(other.value("seed").toInt(), 42);
        QCOMPARE(other.value("time_scale").toDouble(), 0.5);
        QCOMPARE(other.value("main_pid").toInt(), kMainPid);

        const std::vector<Event> sorted = expectedEvents(log);
        std::map<int, QString> processNames;
        std::set<int> threadNames;
        std::map<QString, int> instantCount;
        std::vector<QJsonObject> slices;
        std::map<QString, std::vector<QJsonObject>> instants;
        double lastTs = -1;
        int index = 0;
        int takeChunk0 = -1, submitChunk2 = -1;
        for (const QJsonValue& v : root.value("traceEvents").toArray()) {
            const QJsonObject ev = v.toObject();
            const QString ph = ev.value("ph").toString();
            const QJsonObject args = ev.value("args").toObject();
            ++index;
            if (ph == "M") {
                if (ev.value("name") == "process_name")
                    processNames[ev.value("pid").toInt()] = args.value("name").toString();
                if (ev.value("name") == "thread_name")
                    threadNames.insert(ev.value("tid").toInt());
                continue;
            }
            // Sorted by time, whatever the log's order.
            const double ts = ev.value("ts").toDouble();
            QVERIFY2(ts >= lastTs,
                     qPrintable(QStringLiteral("ts %1 after %2").arg(ts).arg(lastTs)));
            lastTs = ts;
            if (ph == "X") {
                slices.push_back(ev);
                continue;
            }
            QCOMPARE(ph, QStringLiteral("i"));
            QVERIFY(ev.value("s") == "t" || ev.value("s") == "p");
            QCOMPARE(ev.value("pid").toInt(), kMainPid);
            QVERIFY(ev.value("cat").isString());
            const QString name = ev.value("name").toString();
            instants[name].push_back(ev);
            if (name == "take" && args.value("job").toInt() == 0 &&
                args.value("chunk").toInt() == 0)
                takeChunk0 = index;
            if (name == "submit" && args.value("job").toInt() == 0 &&
                args.value("chunk").toInt() == 2)
                submitChunk2 = index;
        }
        QVERIFY(takeChunk0 > 0 && takeChunk0 < submitChunk2);

        const std::map<int, QString> wantNames = {{kMainPid, "MainProcess"},
                                                  {kMainPid + 1, "ForkPoolWorker-1"},
                                                  {kMainPid + 2, "ForkPoolWorker-2"},
                                                  {kMainPid + 3, "ForkPoolWorker-3"}};
        QCOMPARE(processNames, wantNames);
        QVERIFY(threadNames.count(kMainPid));

        // Every kind other than the task events is an instant, one per event.
        std::map<QString, int> wantCount;
        for (const Event& e : sorted) {
            if (e.kind != EventKind::TaskStarted && e.kind != EventKind::TaskFinished)
                ++wantCount[QString::fromUtf8(eventKindName(e.kind))];
        }
        for (const auto& [name, list] : instants)
            instantCount[name] = int(list.size());
        QCOMPARE(instantCount, wantCount);
        QCOMPARE(wantCount.size(), std::size_t(13));

        // One complete event per task, matched to the log's TaskStarted / TaskFinished.
        std::vector<const Event*> starts;
        for (const Event& e : sorted) {
            if (e.kind == EventKind::TaskStarted)
                starts.push_back(&e);
        }
        QCOMPARE(slices.size(), starts.size());
        QCOMPARE(slices.size(), std::size_t(7));
        for (std::size_t i = 0; i < slices.size(); ++i) {
            const QJsonObject& x = slices[i];
            const QJsonObject args = x.value("args").toObject();
            const Event& s = *starts[i];
            QCOMPARE(x.value("cat").toString(), QStringLiteral("task"));
            QCOMPARE(x.value("name").toString(), QStringLiteral("square"));
            QCOMPARE(x.value("pid").toInt(), s.pid);
            QCOMPARE(x.value("tid").toInt(), s.pid);
            QCOMPARE(processNames[s.pid], args.value("worker").toString());
            QCOMPARE(args.value("task").toInt(), int(s.task));
            QCOMPARE(args.value("chunk").toInt(), s.chunk);
            QCOMPARE(args.value("job").toInt(), s.job);
            QCOMPARE(args.value("worker").toString(),
                     QStringLiteral("ForkPoolWorker-%1").arg(s.worker));
            QVERIFY(std::abs(x.value("ts").toDouble() - (s.tNs) / 1000.0) < 1e-6);
            if (s.value.isTuple())
                QCOMPARE(args.value("input").toObject().value("tuple").toArray(),
                         QJsonArray({int(s.value.asTuple().at(0).asInt())}));
            else
                QCOMPARE(args.value("input").toInt(), int(s.value.asInt()));

            const Event* f = nullptr;
            for (const Event& e : sorted) {
                if (e.kind == EventKind::TaskFinished && e.job == s.job && e.task == s.task)
                    f = &e;
            }
            if (!f) { // the task killed with its worker: ends where the worker was lost
                QCOMPARE(args.value("unfinished").toBool(), true);
                QCOMPARE(args.value("error").toString(), QString::fromUtf8(kLostText));
                QVERIFY(!args.contains("result"));
                const Event& lost = *std::find_if(sorted.begin(), sorted.end(), [](const Event& e) {
                    return e.kind == EventKind::WorkerLost;
                });
                QVERIFY(std::abs(x.value("dur").toDouble() - (lost.tNs - s.tNs) / 1000.0) < 1e-6);
                continue;
            }
            QVERIFY(std::abs(x.value("dur").toDouble() - (f->tNs - s.tNs) / 1000.0) < 1e-6);
            QVERIFY(x.value("dur").toDouble() > 0);
            if (f->ok) {
                QCOMPARE(args.value("result").toInt(), int(f->value.asInt()));
                QVERIFY(!args.contains("error"));
            } else {
                QCOMPARE(args.value("error").toString(), QStringLiteral("ValueError: boom"));
                QVERIFY(!args.contains("result"));
            }
            QCOMPARE(args.contains("delay_s"), f->delay >= 0);
            if (f->delay >= 0)
                QCOMPARE(args.value("delay_s").toDouble(), 0.25);
            // Timed in a group of tasks: clock_group says of how many (absent: timed alone).
            QCOMPARE(args.contains("clock_group"), f->a != 0);
            if (f->a != 0)
                QCOMPARE(args.value("clock_group").toInt(), int(f->a));
        }

        // Instants and their args.
        const auto& submits = instants["submit"];
        QCOMPARE(submits.size(), std::size_t(5));
        const QJsonObject sub2 = submits[2].value("args").toObject();
        QCOMPARE(sub2.value("job").toInt(), 0);
        QCOMPARE(sub2.value("chunk").toInt(), 2);
        QCOMPARE(sub2.value("first").toInt(), 4);
        QCOMPARE(sub2.value("last").toInt(), 4);
        for (const auto& take : instants["take"]) {
            const QJsonObject a = take.value("args").toObject();
            QVERIFY(a.contains("chunk") && a.contains("job"));
            QVERIFY(a.value("worker").toString().startsWith("ForkPoolWorker-"));
        }
        for (const auto& result : instants["result"]) {
            const QJsonObject a = result.value("args").toObject();
            QVERIFY(a.contains("chunk") && a.contains("job"));
            QVERIFY(a.value("worker").toString().startsWith("ForkPoolWorker-"));
        }
        QStringList yields;
        for (const auto& y : instants["yield"]) {
            const QJsonObject a = y.value("args").toObject();
            yields << QStringLiteral("%1:%2")
                          .arg(a.value("task").toInt())
                          .arg(a.contains("error") ? a.value("error").toString()
                                                   : QString::number(a.value("value").toInt()));
        }
        QCOMPARE(yields, QStringList({"0:0", "1:1", "2:4", "3:ValueError: boom"}));
        QCOMPARE(instants["callback"][0].value("args").toObject().value("task").toInt(), 0);
        QCOMPARE(instants["callback"][0].value("args").toObject().value("job").toInt(), 1);
        const QJsonObject errCb = instants["error_callback"][0].value("args").toObject();
        QCOMPARE(errCb.value("task").toInt(), 0);
        QCOMPARE(errCb.value("job").toInt(), 2);
        QCOMPARE(errCb.value("error").toString(), QStringLiteral("ValueError: boom"));
        const QJsonObject ws = instants["worker_start"][0].value("args").toObject();
        QCOMPARE(ws.value("worker").toString(), QStringLiteral("ForkPoolWorker-1"));
        QCOMPARE(ws.value("pid").toInt(), kMainPid + 1);
        QCOMPARE(ws.value("ppid").toInt(), kMainPid);
        QCOMPARE(ws.value("start_method").toString(), QStringLiteral("fork"));
        QCOMPARE(ws.value("latency_us").toDouble(), 812.346);
        const QJsonObject wx = instants["worker_exit"][0].value("args").toObject();
        QCOMPARE(wx.value("worker").toString(), QStringLiteral("ForkPoolWorker-1"));
        QCOMPARE(wx.value("pid").toInt(), kMainPid + 1);
        QCOMPARE(wx.value("exitcode").toInt(), -9);
        const QJsonObject wl = instants["worker_lost"][0].value("args").toObject();
        QCOMPARE(wl.value("chunk").toInt(), 2);
        QCOMPARE(wl.value("job").toInt(), 0);
        const QJsonObject pc = instants["pool_created"][0].value("args").toObject();
        QCOMPARE(pc.value("processes").toInt(), 2);
        QCOMPARE(pc.value("start_method").toString(), QStringLiteral("fork"));
        const QJsonObject job = instants["job"][0].value("args").toObject();
        QCOMPARE(job.value("items").toInt(), 5);
        QCOMPARE(job.value("chunksize").toInt(), 2);
        // The earliest event is the run's start.
        QCOMPARE(instants["pool_created"][0].value("ts").toDouble(), 0.0);
    }

    void roundTripInMemory()
    {
        EventLog log;
        fillRealisticLog(log);
        const TraceMetadata meta = realisticMeta();
        const Trace trace = TraceFile::fromJson(TraceFile::toJson(log, meta));
        QCOMPARE(trace.metadata, meta);
        const QString diff = compareEvents(trace.events, expectedEvents(log));
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
    }

    void roundTripThroughFile()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        EventLog log;
        fillRealisticLog(log);
        TraceMetadata meta = realisticMeta();
        meta.seed = std::numeric_limits<std::uint64_t>::max(); // needs the full 64 bits
        meta.timeScale = 0.1;
        const std::string path = dir.filePath("run.json").toStdString();
        const int fds = openFds();
        TraceFile::write(path, log, meta);
        QCOMPARE(listTree(dir.path()), QStringList({dir.filePath("run.json")})); // no temp left
        const Trace trace = TraceFile::read(path);
        QCOMPARE(trace.metadata, meta);
        const QString diff = compareEvents(trace.events, expectedEvents(log));
        QVERIFY2(diff.isEmpty(), qPrintable(diff));

        // Writing again replaces the file whole.
        EventLog small;
        LogBuilder b(small);
        b.add(EventKind::PoolCreated, [](Event& e) { e.a = 1, e.text = "spawn"; });
        TraceFile::write(path, small, meta);
        QCOMPARE(listTree(dir.path()), QStringList({dir.filePath("run.json")}));
        QCOMPARE(TraceFile::read(path).events.size(), std::size_t(1));
        QCOMPARE(openFds(), fds);
    }

    // Events with equal timestamps come back in the log's order, also the end of a task, which
    // shares one slice with its start.
    void equalTimestampsKeepLogOrder()
    {
        EventLog log;
        LogBuilder b(log);
        b.add(EventKind::TaskStarted, [](Event& e) {
            e.job = 0, e.chunk = 0, e.task = 0, e.worker = 1, e.pid = 11, e.value = 2;
        });
        b.add(
            EventKind::ChunkResult, [](Event& e) { e.job = 0, e.chunk = 5, e.worker = 2; }, 0);
        b.add(
            EventKind::TaskFinished,
            [](Event& e) {
                e.job = 0, e.chunk = 0, e.task = 0, e.worker = 1, e.pid = 11, e.value = 4;
            },
            0);
        b.add(
            EventKind::ResultYielded, [](Event& e) { e.job = 0, e.task = 0, e.value = 4; }, 0);
        const Trace trace = TraceFile::fromJson(TraceFile::toJson(log, TraceMetadata()));
        const QString diff = compareEvents(trace.events, expectedEvents(log));
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
    }

    // map and starmap hand over the whole list in one yield: task -1, a = the list's size.
    void wholeListYield()
    {
        EventLog log;
        LogBuilder b(log);
        b.add(EventKind::ResultYielded, [](Event& e) {
            e.job = 0, e.a = 3, e.value = Value::List{1, 4, 9};
        });
        const std::string json = TraceFile::toJson(log, TraceMetadata());
        const Trace trace = TraceFile::fromJson(json);
        const QString diff = compareEvents(trace.events, expectedEvents(log));
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
        const QJsonObject args = parseObject(json)
                                     .value("traceEvents")
                                     .toArray()
                                     .last()
                                     .toObject()
                                     .value("args")
                                     .toObject();
        QCOMPARE(args.value("task").toInt(), -1);
        QCOMPARE(args.value("size").toInt(), 3);
        QCOMPARE(args.value("value").toArray(), QJsonArray({1, 4, 9}));
    }

    void emptyLog()
    {
        EventLog log;
        const TraceMetadata meta = realisticMeta();
        const Trace trace = TraceFile::fromJson(TraceFile::toJson(log, meta));
        QCOMPARE(trace.metadata, meta);
        QVERIFY(trace.events.empty());
    }

    // Every kind with every field set to a non-default value: nothing may be lost, even for
    // fields the kind does not use, and task events that cannot share one slice.
    void unusualFieldsSurvive()
    {
        EventLog log;
        LogBuilder b(log);
        for (int k = 0; k <= int(EventKind::PoolTerminated); ++k) {
            b.add(EventKind(k), [&](Event& e) {
                e.ok = false, e.job = 7, e.chunk = 8, e.worker = 1, e.pid = 11, e.ppid = 12;
                e.task = 9, e.a = 13 + k, e.b = -14, e.delay = 0.125;
                e.value = Value::List{Value(k), Value("v")}, e.text = "t" + std::to_string(k);
            });
        }
        // A task event that shares nothing with the others, and a finish without a start.
        b.add(EventKind::TaskStarted, [](Event& e) {
            e.job = 3, e.task = 1, e.worker = 2, e.pid = 12, e.text = "odd", e.ppid = 5;
        });
        b.add(EventKind::TaskFinished,
              [](Event& e) { e.job = 4, e.task = 1, e.worker = 2, e.pid = 12, e.value = "x"; });
        // Defaults everywhere, in particular worker -1 and value None where a value is required.
        for (int k = 0; k <= int(EventKind::PoolTerminated); ++k)
            b.add(
                EventKind(k), [](Event&) {}, 0);
        TraceMetadata meta;
        const Trace trace = TraceFile::fromJson(TraceFile::toJson(log, meta));
        QCOMPARE(trace.metadata, meta);
        const QString diff = compareEvents(trace.events, expectedEvents(log));
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
    }

    void valuesRoundTrip()
    {
        const double inf = std::numeric_limits<double>::infinity();
        const std::int64_t big = std::numeric_limits<std::int64_t>::max();
        const std::vector<Value> values = {
            Value(),
            Value(true),
            Value(false),
            Value(0),
            Value(-1),
            Value(big),
            Value(std::numeric_limits<std::int64_t>::min()),
            Value(1.5),
            Value(2.0),
            Value(0.1),
            Value(-1e300),
            Value(5e-324),
            Value(inf),
            Value(-inf),
            Value(std::string()),
            Value("h\u00e9llo \u2713 \"quoted\" 'single'\n\ttab\\"),
            Value(R"({"tuple":[1]})"),
            Value(Value::List{}),
            Value(Value::List{1, 2.5, "x", Value(), Value::List{Value::tuple({})}}),
            Value::tuple({}),
            Value::tuple({1}),
            Value::tuple({Value::tuple({1, 2}), Value::List{3}, "s", true}),
        };
        EventLog log;
        LogBuilder b(log);
        for (std::size_t i = 0; i < values.size(); ++i) {
            const Value& v = values[i];
            b.add(EventKind::TaskStarted, [&](Event& e) {
                e.job = 0, e.chunk = int(i), e.task = std::int64_t(i), e.worker = 1, e.value = v;
            });
            b.add(EventKind::TaskFinished, [&](Event& e) {
                e.job = 0, e.chunk = int(i), e.task = std::int64_t(i), e.worker = 1, e.value = v;
            });
            b.add(EventKind::ResultYielded,
                  [&](Event& e) { e.job = 0, e.task = int(i), e.value = v; });
        }
        const std::string json = TraceFile::toJson(log, TraceMetadata());
        const Trace trace = TraceFile::fromJson(json);
        const QString diff = compareEvents(trace.events, expectedEvents(log));
        QVERIFY2(diff.isEmpty(), qPrintable(diff));

        // NaN equals nothing, not even itself: checked on its own.
        EventLog nanLog;
        LogBuilder nb(nanLog);
        nb.add(EventKind::ResultYielded,
               [](Event& e) { e.job = 0, e.task = 0, e.value = Value::List{std::nan("")}; });
        const Trace nanTrace = TraceFile::fromJson(TraceFile::toJson(nanLog, TraceMetadata()));
        QCOMPARE(nanTrace.events.size(), std::size_t(1));
        QVERIFY(std::isnan(nanTrace.events[0].value.asList().at(0).asFloat()));

        // The documented encodings.
        const QJsonObject root = parseObject(json);
        QJsonObject tupleInput;
        for (const QJsonValue& v : root.value("traceEvents").toArray()) {
            const QJsonObject args = v.toObject().value("args").toObject();
            if (v.toObject().value("ph") == "X" && args.value("task").toInt() == 20)
                tupleInput = args.value("input").toObject();
        }
        QCOMPARE(tupleInput.keys(), QStringList({"tuple"}));
        QCOMPARE(tupleInput.value("tuple").toArray(), QJsonArray({1}));
        QVERIFY(json.find(R"({"float":"inf"})") != std::string::npos);
        QVERIFY(json.find(R"({"float":"-inf"})") != std::string::npos);
    }

    // A trace written by hand (no seq): the format is what the brief says, not only what the
    // writer happens to emit. Also the base that the malformed cases below break.
    void handWrittenTraceReads()
    {
        const Trace trace = TraceFile::fromJson(doc(kYield + "," + kTaskX));
        QCOMPARE(trace.metadata.func, std::string("square"));
        QCOMPARE(trace.metadata.mainPid, 10);
        QCOMPARE(trace.events.size(), std::size_t(3));
        QCOMPARE(trace.events[0].kind, EventKind::TaskStarted);
        QCOMPARE(trace.events[0].tNs, std::int64_t(1500));
        QCOMPARE(trace.events[0].value, Value(3));
        QCOMPARE(trace.events[0].worker, 1);
        QCOMPARE(trace.events[1].kind, EventKind::TaskFinished);
        QCOMPARE(trace.events[1].tNs, std::int64_t(3500));
        QCOMPARE(trace.events[1].value, Value(9));
        QCOMPARE(trace.events[1].delay, -1.0);
        QCOMPARE(trace.events[2].kind, EventKind::ResultYielded);
        QCOMPARE(trace.events[2].tNs, std::int64_t(4000));
    }

    void malformed_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("expected"); // a part of the message

        auto row = [](const char* name, const std::string& json, const char* expected) {
            QTest::newRow(name) << QByteArray::fromStdString(json) << QString(expected);
        };
        auto replaced = [](std::string s, const std::string& from, const std::string& to) {
            const auto p = s.find(from);
            if (p == std::string::npos)
                qFatal("test fixture: '%s' not found", from.c_str());
            return s.replace(p, from.size(), to);
        };
        row("empty", "", "empty");
        row("not JSON", "this is not JSON", "not valid JSON");
        row("not an object", "[1, 2]", "must be a JSON object");
        row("no traceEvents", "{" + kMetaJson + "}", "traceEvents");
        row("traceEvents not array", R"({"traceEvents":{},)" + kMetaJson + "}",
            "traceEvents must be an array");
        row("no otherData", R"({"traceEvents":[]})", "otherData");
        row("otherData wrong type", replaced(doc(""), "\"workers\":1", "\"workers\":\"one\""),
            "otherData.workers");
        row("otherData missing key", replaced(doc(""), "\"main_pid\":10", "\"pid\":10"),
            "otherData.main_pid is missing");
        row("event not object", doc(kTaskX + ",42"), "traceEvents[1] must be an object");
        row("missing ph", doc(replaced(kYield, R"("ph":"i",)", "")), "ph is missing");
        row("unknown ph", doc(kYield + "," + replaced(kTaskX, R"("ph":"X")", R"("ph":"B")")),
            "traceEvents[1] (\"square\"): unknown ph \"B\"");
        row("negative dur", doc(replaced(kTaskX, R"("dur":2)", R"("dur":-2)")), "dur is negative");
        row("missing dur", doc(replaced(kTaskX, R"("dur":2,)", "")), "dur is missing");
        row("negative ts", doc(replaced(kYield, R"("ts":4)", R"("ts":-4)")), "ts is negative");
        row("ts not number", doc(replaced(kYield, R"("ts":4)", R"("ts":"4")")),
            "ts must be a number");
        row("missing args", doc(replaced(kTaskX, R"(,"args":{)", R"(,"margs":{)")),
            "args is missing");
        row("missing task", doc(replaced(kTaskX, R"("task":0,)", "")), "args.task is missing");
        row("task wrong type", doc(replaced(kTaskX, R"("task":0,)", R"("task":"zero",)")),
            "args.task must be an integer");
        row("worker_id out of range",
            doc(replaced(kTaskX, R"("worker_id":1)", R"("worker_id":99999999999)")),
            "args.worker_id is out of range");
        row("ok wrong type", doc(replaced(kTaskX, R"("ok":true)", R"("ok":1)")),
            "args.ok must be a boolean");
        row("error missing", doc(replaced(kYield, R"("ok":true)", R"("ok":false)")),
            "traceEvents[0] (\"yield\"): args.error is missing");
        row("unknown instant", doc(replaced(kYield, R"("yield")", R"("explode")")),
            "unknown event name \"explode\"");
        row("bad value object", doc(replaced(kTaskX, R"("input":3)", R"("input":{"set":[3]})")),
            "args.input: an object value must be");
        row("value too deep",
            doc(replaced(kTaskX, R"("input":3)",
                         "\"input\":" + std::string(500, '[') + std::string(500, ']'))),
            "nested deeper");
        row("integer too big",
            doc(replaced(kTaskX, R"("result":9)", R"("result":18446744073709551615)")),
            "out of range");
        row("bad seq", doc(replaced(kYield, R"("value":9)", R"("value":9,"seq":-1)")),
            "args.seq must be");
        row("deep document",
            "{\"traceEvents\":" + std::string(100000, '[') + std::string(100000, ']') + "," +
                kMetaJson + "}",
            "traceEvents[0] must be an object");
        row("trailing garbage", doc("") + "}", "not valid JSON");

        // The real file cut short at several lengths.
        EventLog log;
        fillRealisticLog(log);
        const std::string full = TraceFile::toJson(log, realisticMeta());
        for (const std::size_t cut : {std::size_t(1), std::size_t(20), full.size() / 4,
                                      full.size() / 2, full.size() * 3 / 4, full.size() - 2}) {
            row(qPrintable(QStringLiteral("truncated at %1 of %2").arg(cut).arg(full.size())),
                full.substr(0, cut), "truncated");
        }
    }

    void malformed()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, expected);
        const QString error = errorOf([&] { TraceFile::fromJson(json.toStdString()); });
        QVERIFY2(
            error.contains(expected),
            qPrintable(QStringLiteral("got: %1\nexpected it to contain: %2").arg(error, expected)));
    }

    void malformedFileNamesPath()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath("cut.json");
        EventLog log;
        fillRealisticLog(log);
        const std::string full = TraceFile::toJson(log, realisticMeta());
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(full.data(), qint64(full.size() / 2));
        f.close();
        const QString error = errorOf([&] { TraceFile::read(path.toStdString()); });
        QVERIFY2(error.contains(path) && error.contains("truncated"), qPrintable(error));
    }

    void missingFile()
    {
        const int fds = openFds();
        const std::string path = "/nonexistent-poolscope-dir/missing.json";
        const QString error = errorOf([&] { TraceFile::read(path); });
        QVERIFY2(error.contains(QString::fromStdString(path)), qPrintable(error));
        QVERIFY2(error.contains("No such file"), qPrintable(error));
        // A directory is not a trace either.
        QTemporaryDir dir;
        const QString dirError = errorOf([&] { TraceFile::read(dir.path().toStdString()); });
        QVERIFY2(dirError.contains(dir.path()), qPrintable(dirError));
        QCOMPARE(openFds(), fds);
    }

    void unwritable_data()
    {
        QTest::addColumn<QString>("path"); // "@" stands for the test's temporary directory
        QTest::newRow("missing directory") << "@/missing/sub/trace.json";
        QTest::newRow("under /proc") << "/proc/poolscope-tst-tracefile.json";
        QTest::newRow("file as directory") << "@/plain.txt/trace.json";
        QTest::newRow("existing directory") << "@/adir";
        QTest::newRow("trailing slash") << "@/newdir/";
    }

    void unwritable()
    {
        QFETCH(QString, path);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QFile plain(dir.filePath("plain.txt"));
        QVERIFY(plain.open(QIODevice::WriteOnly));
        plain.close();
        QVERIFY(QDir(dir.path()).mkdir("adir"));
        path.replace("@", dir.path());
        const QStringList before = listTree(dir.path());
        const int fds = openFds();

        const QString checkError = errorOf([&] { TraceFile::checkWritable(path.toStdString()); });
        QVERIFY2(checkError.startsWith("cannot write trace file '" + path + "'"),
                 qPrintable(checkError));
        EventLog log;
        fillRealisticLog(log);
        const QString writeError =
            errorOf([&] { TraceFile::write(path.toStdString(), log, realisticMeta()); });
        QVERIFY2(writeError.contains(path), qPrintable(writeError));
        QCOMPARE(listTree(dir.path()), before);
        QCOMPARE(openFds(), fds);
        if (path.startsWith("/proc"))
            QVERIFY(!QFile::exists(path));
    }

    void emptyPath()
    {
        const QString error = errorOf([] { TraceFile::checkWritable(""); });
        QVERIFY2(error.contains("empty"), qPrintable(error));
    }

    void checkWritableLeavesNothing()
    {
        QTemporaryDir dir;
        const QString fresh = dir.filePath("fresh.json");
        TraceFile::checkWritable(fresh.toStdString());
        QVERIFY(listTree(dir.path()).isEmpty());

        const QString existing = dir.filePath("existing.json");
        QFile f(existing);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("keep me");
        f.close();
        TraceFile::checkWritable(existing.toStdString());
        QCOMPARE(listTree(dir.path()), QStringList({existing}));
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), QByteArray("keep me"));

        // A relative path: the directory is the current one.
        const QString cwd = QDir::currentPath();
        QVERIFY(QDir::setCurrent(dir.path()));
        TraceFile::checkWritable("relative.json");
        QVERIFY(QDir::setCurrent(cwd));
        QCOMPARE(listTree(dir.path()), QStringList({existing}));
    }

    // map over 100,000 tasks in chunks of 10 on 4 workers: write, read back, compare all.
    void largeLog()
    {
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
        // Sanitizers make the JSON work 20-50x slower; 20,000 tasks still cross many segments.
        constexpr int kTasks = 20'000;
#else
        constexpr int kTasks = 100'000;
#endif
        constexpr int kChunk = 10;
        constexpr int kWorkers = 4;
        EventLog log;
        LogBuilder b(log);
        b.add(EventKind::PoolCreated, [](Event& e) { e.a = kWorkers, e.text = "fork"; });
        for (int w = 1; w <= kWorkers; ++w) {
            b.add(EventKind::WorkerStarted, [&](Event& e) {
                e.worker = w, e.pid = kMainPid + w, e.ppid = kMainPid, e.a = 1000 * w;
                e.text = "ForkPoolWorker-" + std::to_string(w);
            });
        }
        b.add(EventKind::JobSubmitted,
              [](Event& e) { e.job = 0, e.a = kTasks, e.b = kChunk, e.text = "map square"; });
        for (int c = 0; c < kTasks / kChunk; ++c) {
            const int w = 1 + c % kWorkers;
            b.add(
                EventKind::ChunkSubmitted,
                [&](Event& e) {
                    e.job = 0, e.chunk = c, e.a = c * kChunk, e.b = c * kChunk + kChunk - 1;
                },
                1001);
            b.add(
                EventKind::ChunkTaken,
                [&](Event& e) { e.job = 0, e.chunk = c, e.worker = w, e.pid = kMainPid + w; }, 333);
            for (int t = c * kChunk; t < (c + 1) * kChunk; ++t) {
                b.add(
                    EventKind::TaskStarted,
                    [&](Event& e) {
                        e.job = 0, e.chunk = c, e.task = t, e.worker = w, e.pid = kMainPid + w;
                        e.value = t;
                    },
                    17);
                b.add(
                    EventKind::TaskFinished,
                    [&](Event& e) {
                        e.job = 0, e.chunk = c, e.task = t, e.worker = w, e.pid = kMainPid + w;
                        e.value = std::int64_t(t) * t;
                    },
                    2345);
            }
            b.add(
                EventKind::ChunkResult, [&](Event& e) { e.job = 0, e.chunk = c, e.worker = w; },
                99);
        }
        // map hands over the whole list at once.
        b.add(EventKind::ResultYielded, [&](Event& e) {
            Value::List results;
            for (std::int64_t t = 0; t < kTasks; ++t)
                results.emplace_back(t * t);
            e.job = 0, e.a = kTasks, e.value = std::move(results);
        });
        b.add(EventKind::PoolClosed, [](Event&) {});

        QTemporaryDir dir;
        const std::string path = dir.filePath("large.json").toStdString();
        TraceMetadata meta = realisticMeta();
        meta.items = kTasks;
        QElapsedTimer timer;
        timer.start();
        TraceFile::write(path, log, meta);
        const qint64 writeMs = timer.restart();
        const Trace trace = TraceFile::read(path);
        const qint64 readMs = timer.elapsed();
        qInfo("%zu events, %lld bytes: write %lld ms, read %lld ms", log.size(),
              QFileInfo(QString::fromStdString(path)).size(), writeMs, readMs);
        QCOMPARE(trace.metadata, meta);
        const QString diff = compareEvents(trace.events, expectedEvents(log));
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
    }
};

QTEST_GUILESS_MAIN(TestTraceFile)
#include "tst_tracefile.moc"
