// End-to-end tests of `poolscope pool ...`: the real binary, a real pool, real processes.
// Asserts what is printed, where, and the exit status; after every run, that nothing the
// command started is still alive.
#include "tracefile.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <map>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace poolscope;

namespace {

struct Run
{
    int exitCode = -1;
    bool crashed = false;
    QByteArray out;
    QByteArray err;
    qint64 pid = 0;

    QList<QByteArray> outLines() const { return out.split('\n').mid(0, out.count('\n')); }
    QList<QByteArray> errLines() const { return err.trimmed().split('\n'); }
    QByteArray lastErrLine() const { return errLines().last(); }
    QString describe() const
    {
        return QStringLiteral("exit %1%2\n--- stdout:\n%3--- stderr:\n%4")
            .arg(exitCode)
            .arg(crashed ? " (crashed)" : "")
            .arg(QString::fromUtf8(out))
            .arg(QString::fromUtf8(err));
    }
};

struct ProcInfo
{
    int pid = 0;
    int ppid = 0;
    char state = '?';
    QByteArray comm;
};

std::vector<ProcInfo> processes()
{
    std::vector<ProcInfo> out;
    const auto entries = QDir("/proc").entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const auto& name : entries) {
        bool ok = false;
        const int pid = name.toInt(&ok);
        if (!ok)
            continue;
        QFile f(QStringLiteral("/proc/%1/stat").arg(pid));
        if (!f.open(QIODevice::ReadOnly))
            continue; // it exited meanwhile
        const QByteArray stat = f.readAll();
        // "pid (comm) S ppid ...": comm may hold spaces and parentheses.
        const auto open = stat.indexOf('(');
        const auto close = stat.lastIndexOf(')');
        if (open < 0 || close < 0)
            continue;
        const auto rest = stat.mid(close + 2).split(' ');
        if (rest.size() < 2)
            continue;
        out.push_back({pid, rest[1].toInt(), rest[0].isEmpty() ? '?' : rest[0][0],
                       stat.mid(open + 1, close - open - 1)});
    }
    return out;
}

QString apiOf(const QStringList& args)
{
    const auto i = args.indexOf("--api");
    return i >= 0 && i + 1 < args.size() ? args[i + 1] : QString();
}

// Naive trial division, independent of the core's, for the expected is_prime results.
bool referenceIsPrime(qint64 n)
{
    if (n < 2)
        return false;
    for (qint64 f = 2; f * f <= n; ++f) {
        if (n % f == 0)
            return false;
    }
    return true;
}

QByteArray gotResultLines(const QList<qint64>& values)
{
    QByteArray out;
    for (auto v : values)
        out += "Got result: " + QByteArray::number(v) + "\n";
    return out;
}

} // namespace

class TestSandboxCli : public QObject
{
    Q_OBJECT

    QString m_binary;

    // Runs poolscope to completion (or kills it after a generous limit: a hang is a failure),
    // then checks that it left no process behind.
    Run run(const QStringList& args, bool closedStdout = false)
    {
        Run r;
        QProcess p;
        // A stdout nobody reads: a pipe whose read end is already closed, so that every write
        // fails with EPIPE, as after `| head -1`.
        int pipeFds[2] = {-1, -1};
        if (closedStdout) {
            if (::pipe2(pipeFds, O_CLOEXEC) != 0) {
                qWarning("pipe2 failed");
                return r;
            }
            ::close(pipeFds[0]);
            const int writeEnd = pipeFds[1];
            p.setChildProcessModifier([writeEnd] { ::dup2(writeEnd, STDOUT_FILENO); });
        }
        p.start(m_binary, args);
        if (closedStdout)
            ::close(pipeFds[1]);
        if (!p.waitForStarted(10000)) {
            qWarning("cannot start %s", qPrintable(m_binary));
            return r;
        }
        r.pid = p.processId();
        if (!p.waitForFinished(40000)) {
            qWarning("poolscope %s did not finish: killed", qPrintable(args.join(' ')));
            p.kill();
            p.waitForFinished(5000);
            r.crashed = true;
        }
        r.exitCode = p.exitCode();
        r.crashed = r.crashed || p.exitStatus() == QProcess::CrashExit;
        r.out = p.readAllStandardOutput();
        r.err = p.readAllStandardError();
        checkNothingLeft(args);
        return r;
    }

    // This test is a child subreaper, so whatever poolscope orphaned was reparented to it: any
    // child of ours now is a leftover (running or dead but never reaped by poolscope).
    void checkNothingLeft(const QStringList& args)
    {
        QStringList left;
        for (const auto& p : processes()) {
            if (p.ppid != int(::getpid()))
                continue;
            left << QStringLiteral("%1 %2 (%3)")
                        .arg(p.pid)
                        .arg(QString::fromUtf8(p.comm))
                        .arg(QChar(p.state));
            ::kill(p.pid, SIGKILL);
            ::waitpid(p.pid, nullptr, 0);
        }
        if (!left.isEmpty()) {
            m_leftovers
                << QStringLiteral("after `poolscope %1`: %2").arg(args.join(' '), left.join(", "));
        }
    }
    QStringList m_leftovers;

    static void addMethods()
    {
        QTest::addColumn<QString>("method");
        for (const char* m : {"fork", "spawn", "forkserver"})
            QTest::newRow(m) << QString::fromLatin1(m);
    }

private slots:
    void initTestCase()
    {
        QVERIFY(::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
        m_binary = QCoreApplication::applicationDirPath() + "/poolscope";
        QVERIFY2(QFileInfo(m_binary).isExecutable(), qPrintable(m_binary));
        QVERIFY(
            QFileInfo(QCoreApplication::applicationDirPath() + "/poolscope-worker").isExecutable());
    }

    void init() { m_leftovers.clear(); }

    // Every test ends by asserting that no run left a process behind.
    void cleanup() { QVERIFY2(m_leftovers.isEmpty(), qPrintable(m_leftovers.join('\n'))); }

    void help()
    {
        auto r = run({"--help"});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains("poolscope pool --help"));
        QVERIFY(r.err.isEmpty());

        r = run({"pool", "--help"});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.err.isEmpty());
        for (const char* option :
             {"--api", "--func", "--items", "--workers", "--chunksize", "--start-method", "--seed",
              "--delay-min", "--delay-max", "--time-scale", "--fail-at", "--crash-at",
              "--on-worker-death", "--timeout", "--trace"})
            QVERIFY2(r.out.contains(option), option);

        r = run({"--version"});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.out, QByteArray("poolscope " POOLSCOPE_VERSION "\n"));
    }

    void badCommand_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("named");
        QTest::newRow("no command") << QStringList{} << "poolscope --help";
        QTest::newRow("unknown command") << QStringList{"frobnicate"} << "'frobnicate'";
        QTest::newRow("unknown option") << QStringList{"--frob"} << "'--frob'";
    }
    void badCommand()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, named);
        const auto r = run(args);
        QCOMPARE(r.exitCode, 2);
        QVERIFY(r.out.isEmpty());
        QVERIFY2(r.err.contains(named.toUtf8()), qPrintable(r.describe()));
        QVERIFY2(r.err.contains("poolscope --help"), qPrintable(r.describe())); // the hint
    }

    void mapSquare_data() { addMethods(); }
    void mapSquare()
    {
        QFETCH(QString, method);
        const auto r = run({"pool", "--api", "map", "--func", "square", "--items", "5", "--workers",
                            "2", "--start-method", method});
        QVERIFY2(r.exitCode == 0 && !r.crashed, qPrintable(r.describe()));
        QCOMPARE(r.out, QByteArray("[1, 4, 9, 16, 25]\n"));
        QCOMPARE(r.err, QByteArray());
    }

    void imapSquare_data() { addMethods(); }
    void imapSquare()
    {
        QFETCH(QString, method);
        const auto r = run({"pool", "--api", "imap", "--func", "square", "--items", "5",
                            "--workers", "3", "--start-method", method});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(r.out, gotResultLines({1, 4, 9, 16, 25}));
        QCOMPARE(r.err, QByteArray());
    }

    void imapUnorderedSlowSquare_data() { addMethods(); }
    void imapUnorderedSlowSquare()
    {
        QFETCH(QString, method);
        const auto r = run({"pool", "--api", "imap_unordered", "--func", "slow_square", "--items",
                            "8", "--workers", "3", "--seed", "3", "--time-scale", "0.01",
                            "--start-method", method});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        // The workers print "Task N finished in X.XXs -> N*N" to the same stdout, each before
        // sending the result that the parent then prints.
        static const QRegularExpression taskLine(R"(^Task (\d+) finished in \d+\.\d\ds -> (\d+)$)");
        QList<qint64> printed;
        QList<qint64> got;
        for (const auto& line : r.outLines()) {
            if (const auto m = taskLine.match(QString::fromUtf8(line)); m.hasMatch()) {
                const qint64 n = m.captured(1).toLongLong();
                QCOMPARE(m.captured(2).toLongLong(), n * n);
                printed << n * n;
                continue;
            }
            QVERIFY2(line.startsWith("Got result: "), line.constData());
            bool ok = false;
            got << line.mid(12).toLongLong(&ok);
            QVERIFY2(ok, line.constData());
            QVERIFY2(printed.contains(got.last()), qPrintable(r.describe()));
        }
        std::sort(got.begin(), got.end());
        std::sort(printed.begin(), printed.end());
        QCOMPARE(got, (QList<qint64>{1, 4, 9, 16, 25, 36, 49, 64}));
        QCOMPARE(printed, got);
    }

    // The other APIs print what their Python counterparts print.
    void otherApis_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QByteArray>("expected");
        const QStringList two{"--workers", "2"};
        QTest::newRow("apply cube")
            << (QStringList{"--api", "apply", "--func", "cube", "--items", "3"} + two)
            << gotResultLines({1, 8, 27});
        QTest::newRow("apply cube with timeout")
            << (QStringList{"--api", "apply", "--func", "cube", "--items", "3", "--timeout", "20"} +
                two)
            << gotResultLines({1, 8, 27});
        QTest::newRow("apply_async square")
            << (QStringList{"--api", "apply_async", "--func", "square", "--items", "4"} + two)
            << gotResultLines({1, 4, 9, 16});
        QTest::newRow("map_async square")
            << (QStringList{"--api", "map_async", "--func", "square", "--items", "5"} + two)
            << QByteArray("[1, 4, 9, 16, 25]\n");
        QTest::newRow("starmap cube, chunksize 2")
            << (QStringList{"--api", "starmap", "--func", "cube", "--items", "4", "--chunksize",
                            "2"} +
                two)
            << QByteArray("[1, 8, 27, 64]\n");
        QTest::newRow("map with timeout")
            << (QStringList{"--api", "map", "--func", "square", "--items", "3", "--timeout", "20"} +
                two)
            << QByteArray("[1, 4, 9]\n");
        QTest::newRow("map, no items")
            << (QStringList{"--api", "map", "--func", "square", "--items", "0"} + two)
            << QByteArray("[]\n");
        QTest::newRow("imap, no items")
            << (QStringList{"--api", "imap", "--func", "square", "--items", "0"} + two)
            << QByteArray();
        QTest::newRow("map sleep, no sleeping")
            << (QStringList{"--api", "map", "--func", "sleep", "--items", "3", "--time-scale",
                            "0"} +
                two)
            << QByteArray("[None, None, None]\n");
        QTest::newRow("boom beyond the items: nothing fails")
            << (QStringList{"--api", "map", "--func", "boom", "--items", "5"} + two)
            << QByteArray("[1, 4, 9, 16, 25]\n");
        QTest::newRow("crash beyond the items: nothing dies")
            << (QStringList{"--api", "imap", "--func", "cube", "--items", "2", "--crash-at", "2"} +
                two)
            << gotResultLines({1, 8});
        QByteArray primes = "[";
        for (qint64 i = 0; i < 4; ++i)
            primes +=
                QByteArray(i ? ", " : "") + (referenceIsPrime(10000019 + 2 * i) ? "True" : "False");
        QTest::newRow("map is_prime")
            << (QStringList{"--api", "map", "--func", "is_prime", "--items", "4"} + two)
            << primes + "]\n";
    }
    void otherApis()
    {
        QFETCH(QStringList, args);
        QFETCH(QByteArray, expected);
        const auto r = run(QStringList{"pool"} + args);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(r.out, expected);
        QCOMPARE(r.err, QByteArray());
    }

    void mapBoom_data() { addMethods(); }
    void mapBoom()
    {
        QFETCH(QString, method);
        const auto r = run({"pool", "--api", "map", "--func", "boom", "--items", "8", "--workers",
                            "2", "--start-method", method});
        QVERIFY2(r.exitCode == 1 && !r.crashed, qPrintable(r.describe()));
        QCOMPARE(r.out, QByteArray());
        QCOMPARE(r.lastErrLine(), QByteArray("ValueError: boom"));
        QVERIFY(r.err.contains("Traceback (most recent call last):"));
    }

    // imap raises at the failing position: the results before it are printed first.
    void imapBoom_data() { addMethods(); }
    void imapBoom()
    {
        QFETCH(QString, method);
        const auto r = run({"pool", "--api", "imap", "--func", "boom", "--items", "8",
                            "--chunksize", "1", "--workers", "2", "--start-method", method});
        QVERIFY2(r.exitCode == 1, qPrintable(r.describe()));
        QCOMPARE(r.out, gotResultLines({1, 4, 9, 16, 25}));
        QCOMPARE(r.lastErrLine(), QByteArray("ValueError: boom"));
    }

    void failAtOtherApis_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QByteArray>("expectedOut");
        QTest::newRow("apply_async, fail-at 0")
            << QStringList{"--api",   "apply_async", "--func",    "boom",
                           "--items", "3",           "--fail-at", "0"}
            << QByteArray();
        QTest::newRow("apply, fail-at 0")
            << QStringList{"--api", "apply", "--func", "boom", "--items", "3", "--fail-at", "0"}
            << QByteArray();
        QTest::newRow("starmap, fail-at 0")
            << QStringList{"--api", "starmap", "--func", "boom", "--items", "3", "--fail-at", "0"}
            << QByteArray();
        QTest::newRow("imap_unordered, only item fails")
            << QStringList{"--api", "imap_unordered", "--func", "boom", "--items",
                           "1",     "--fail-at",      "0"}
            << QByteArray();
    }
    void failAtOtherApis()
    {
        QFETCH(QStringList, args);
        QFETCH(QByteArray, expectedOut);
        const auto r = run(QStringList{"pool", "--workers", "2"} + args);
        QVERIFY2(r.exitCode == 1, qPrintable(r.describe()));
        QCOMPARE(r.out, expectedOut);
        QCOMPARE(r.lastErrLine(), QByteArray("ValueError: boom"));
    }

    void crashFails_data() { addMethods(); }
    void crashFails()
    {
        QFETCH(QString, method);
        const auto r = run({"pool", "--api", "map", "--func", "square", "--items", "5", "--workers",
                            "2", "--crash-at", "2", "--start-method", method});
        QVERIFY2(r.exitCode == 1 && !r.crashed, qPrintable(r.describe()));
        QCOMPARE(r.out, QByteArray());
        const QByteArray last = r.lastErrLine();
        QVERIFY2(last.startsWith("WorkerLostError"), qPrintable(r.describe()));
        QVERIFY2(last.contains("SIGKILL"), qPrintable(r.describe()));
    }

    void crashHangs_data() { addMethods(); }
    void crashHangs()
    {
        QFETCH(QString, method);
        const auto r = run({"pool", "--api", "map", "--func", "square", "--items", "5", "--workers",
                            "2", "--crash-at", "2", "--on-worker-death", "hang", "--timeout", "1",
                            "--start-method", method});
        QVERIFY2(r.exitCode == 1 && !r.crashed, qPrintable(r.describe()));
        QCOMPARE(r.out, QByteArray());
        QCOMPARE(r.lastErrLine(), QByteArray("multiprocessing.context.TimeoutError"));
    }

    // A timeout while tasks still sleep: the pool is terminated, the sleeping workers go.
    void timeoutWhileWorking_data()
    {
        QTest::addColumn<QString>("api");
        QTest::addColumn<QByteArray>("expectedOut");
        QTest::newRow("imap") << "imap" << QByteArray();
        QTest::newRow("apply_async") << "apply_async" << QByteArray();
        QTest::newRow("map_async") << "map_async" << QByteArray();
        QTest::newRow("apply") << "apply" << QByteArray();
    }
    void timeoutWhileWorking()
    {
        QFETCH(QString, api);
        QFETCH(QByteArray, expectedOut);
        // sleep's input is seconds: 1 and 2, scaled to 100 s and 200 s.
        const auto r = run({"pool", "--api", api, "--func", "sleep", "--items", "2", "--workers",
                            "2", "--time-scale", "100", "--timeout", "0.3"});
        QVERIFY2(r.exitCode == 1 && !r.crashed, qPrintable(r.describe()));
        QCOMPARE(r.out, expectedOut);
        QCOMPARE(r.lastErrLine(), QByteArray("multiprocessing.context.TimeoutError"));
    }

    void trace_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<int>("chunksize");
        QTest::addColumn<QList<qint64>>("finished"); // tasks that must have finished
        QTest::addColumn<QList<qint64>>("failed");   // those of them that raised
        const QList<qint64> none;
        // map's default chunksize: ceil(n / (4 * workers)) = ceil(20 / 8).
        QList<qint64> twenty;
        for (qint64 i = 0; i < 20; ++i)
            twenty << i;
        QTest::newRow("map fork") << QStringList{"--api",   "map", "--func",    "square",
                                                 "--items", "20",  "--workers", "2"}
                                  << 0 << 3 << twenty << none;
        QTest::newRow("imap spawn, seeded")
            << QStringList{"--api",        "imap", "--func",         "slow_square", "--items", "4",
                           "--workers",    "2",    "--start-method", "spawn",       "--seed",  "11",
                           "--time-scale", "0.001"}
            << 0 << 1 << QList<qint64>{0, 1, 2, 3} << none;
        QTest::newRow("map_async forkserver, chunksize 2")
            << QStringList{"--api",       "map_async", "--func",         "cube",
                           "--items",     "5",         "--workers",      "2",
                           "--chunksize", "2",         "--start-method", "forkserver"}
            << 0 << 2 << QList<qint64>{0, 1, 2, 3, 4} << none;
        // map waits for every task even after a failure.
        QTest::newRow("boom: written although the call raised")
            << QStringList{"--api", "map", "--func", "boom", "--items", "8", "--workers", "2"} << 1
            << 1 << QList<qint64>{0, 1, 2, 3, 4, 5, 6, 7} << QList<qint64>{5};
        QTest::newRow("timeout: written although the call timed out")
            << QStringList{"--api",     "imap", "--func",       "sleep", "--items",   "1",
                           "--workers", "1",    "--time-scale", "100",   "--timeout", "0.2"}
            << 1 << 1 << none << none;
    }
    void trace()
    {
        QFETCH(QStringList, args);
        QFETCH(int, exitCode);
        QFETCH(int, chunksize);
        QFETCH(QList<qint64>, finished);
        QFETCH(QList<qint64>, failed);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath("run.json");
        const auto r = run(QStringList{"pool", "--trace", path} + args);
        QVERIFY2(r.exitCode == exitCode, qPrintable(r.describe()));

        Trace t;
        try {
            t = TraceFile::read(path.toStdString());
        } catch (const TraceError& e) {
            QFAIL(e.what());
        }
        const auto& m = t.metadata;
        auto value = [&](const char* option) {
            const auto i = args.indexOf(option);
            return i >= 0 ? args[i + 1] : QString();
        };
        QCOMPARE(QString::fromStdString(m.tool), QStringLiteral("PoolScope"));
        QCOMPARE(QString::fromStdString(m.version), QStringLiteral(POOLSCOPE_VERSION));
        QCOMPARE(QString::fromStdString(m.api), apiOf(args));
        QCOMPARE(QString::fromStdString(m.func), value("--func"));
        QCOMPARE(qint64(m.items), value("--items").toLongLong());
        QCOMPARE(m.workers, value("--workers").toInt());
        QCOMPARE(m.chunksize, chunksize);
        QCOMPARE(QString::fromStdString(m.startMethod), value("--start-method").isEmpty()
                                                            ? QStringLiteral("fork")
                                                            : value("--start-method"));
        QCOMPARE(quint64(m.seed), value("--seed").isEmpty() ? 0 : value("--seed").toULongLong());
        QCOMPARE(m.timeScale,
                 value("--time-scale").isEmpty() ? 1.0 : value("--time-scale").toDouble());
        QCOMPARE(qint64(m.mainPid), r.pid);
        QVERIFY(!t.events.empty());
        // The run's own story: the pool was created by this process and terminated at the end.
        QCOMPARE(t.events.front().kind, EventKind::PoolCreated);
        QVERIFY(std::any_of(t.events.begin(), t.events.end(),
                            [](const Event& e) { return e.kind == EventKind::PoolTerminated; }));
        QList<qint64> gotFinished;
        QList<qint64> gotFailed;
        for (const auto& e : t.events) {
            if (e.kind != EventKind::TaskFinished)
                continue;
            gotFinished << e.task;
            if (!e.ok)
                gotFailed << e.task;
        }
        std::sort(gotFinished.begin(), gotFinished.end());
        std::sort(gotFailed.begin(), gotFailed.end());
        QCOMPARE(gotFinished, finished);
        QCOMPARE(gotFailed, failed);
    }

    // Same seed, same delays (whatever the start method); another seed, other delays.
    void seededDelays()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        auto delays = [&](const QString& seed, const QString& method) {
            const QString path = dir.filePath(seed + method + ".json");
            const auto r = run({"pool", "--api", "imap_unordered", "--func", "slow_square",
                                "--items", "6", "--workers", "2", "--time-scale", "0", "--seed",
                                seed, "--start-method", method, "--trace", path});
            std::map<std::int64_t, double> out;
            if (r.exitCode != 0) {
                qWarning("%s", qPrintable(r.describe()));
                return out;
            }
            for (const auto& e : TraceFile::read(path.toStdString()).events) {
                if (e.kind == EventKind::TaskFinished)
                    out[e.task] = e.delay;
            }
            return out;
        };
        const auto a = delays("7", "fork");
        QCOMPARE(a.size(), std::size_t(6));
        for (const auto& [task, d] : a)
            QVERIFY2(d >= 0.5 && d <= 2.0, qPrintable(QString::number(d)));
        QCOMPARE(delays("7", "spawn"), a);
        QVERIFY(delays("8", "fork") != a);
    }

    void badArguments_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("named");
        const QStringList ok{"--api", "map", "--func", "square", "--items", "5"};
        auto row = [&](const char* name, const QStringList& args, const char* named) {
            QTest::newRow(name) << args << QString::fromLatin1(named);
        };
        row("unknown option", ok + QStringList{"--wrokers", "2"}, "--wrokers");
        row("missing value", QStringList{"--api", "map", "--func", "square", "--items"}, "--items");
        row("missing --api", QStringList{"--func", "square", "--items", "5"}, "--api");
        row("missing --func", QStringList{"--api", "map", "--items", "5"}, "--func");
        row("missing --items", QStringList{"--api", "map", "--func", "square"}, "--items");
        row("items not a number", QStringList{"--api", "map", "--func", "square", "--items", "x"},
            "--items");
        row("items negative", QStringList{"--api", "map", "--func", "square", "--items", "-3"},
            "--items");
        row("workers 0", ok + QStringList{"--workers", "0"}, "--workers");
        row("workers not a number", ok + QStringList{"--workers", "two"}, "--workers");
        row("chunksize 0", ok + QStringList{"--chunksize", "0"}, "--chunksize");
        row("chunksize with apply",
            QStringList{"--api", "apply", "--func", "cube", "--items", "3", "--chunksize", "2"},
            "--chunksize");
        row("unknown api", QStringList{"--api", "reduce", "--func", "square", "--items", "5"},
            "--api");
        row("unknown func", QStringList{"--api", "map", "--func", "sqrt", "--items", "5"},
            "--func");
        row("unknown start method", ok + QStringList{"--start-method", "vfork"}, "--start-method");
        row("unknown death policy", ok + QStringList{"--on-worker-death", "retry"},
            "--on-worker-death");
        row("fail-at negative",
            QStringList{"--api", "map", "--func", "boom", "--items", "8", "--fail-at", "-1"},
            "--fail-at");
        row("crash-at negative", ok + QStringList{"--crash-at", "-1"}, "--crash-at");
        row("delay-min above delay-max", ok + QStringList{"--delay-min", "2", "--delay-max", "1"},
            "--delay-min");
        row("time scale negative", ok + QStringList{"--time-scale", "-0.5"}, "--time-scale");
        row("timeout 0", ok + QStringList{"--timeout", "0"}, "--timeout");
        row("timeout negative", ok + QStringList{"--timeout", "-2"}, "--timeout");
        row("seed not a number", ok + QStringList{"--seed", "abc"}, "--seed");
        row("given twice", ok + QStringList{"--items", "6"}, "--items");
        row("positional", ok + QStringList{"extra"}, "extra");
        row("hang after a crash without timeout",
            ok + QStringList{"--crash-at", "1", "--on-worker-death", "hang"}, "--timeout");
    }
    void badArguments()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, named);
        const auto r = run(QStringList{"pool"} + args);
        QVERIFY2(r.exitCode == 2 && !r.crashed, qPrintable(r.describe()));
        QCOMPARE(r.out, QByteArray());
        QCOMPARE(r.err.count('\n'), 1); // one line
        QVERIFY2(r.err.startsWith("poolscope pool: "), r.err.constData());
        QVERIFY2(r.err.contains(named.toUtf8()), r.err.constData());
    }

    // Checked before anything starts: exit 2, the path named, nothing run, nothing created.
    void unwritableTrace()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QFile file(dir.filePath("plain-file"));
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.close();
        // A path below a regular file cannot be created, even by root.
        const QString path = dir.filePath("plain-file/trace.json");
        const auto r =
            run({"pool", "--api", "imap", "--func", "square", "--items", "5", "--trace", path});
        QVERIFY2(r.exitCode == 2 && !r.crashed, qPrintable(r.describe()));
        QCOMPARE(r.out, QByteArray());
        QVERIFY2(r.err.contains(path.toUtf8()), r.err.constData());
        QCOMPARE(r.err.count('\n'), 1);
        QVERIFY(!QFileInfo::exists(path));

        const QString missingDir = dir.filePath("no/such/dir/trace.json");
        const auto r2 = run(
            {"pool", "--api", "map", "--func", "square", "--items", "5", "--trace", missingDir});
        QVERIFY2(r2.exitCode == 2, qPrintable(r2.describe()));
        QCOMPARE(r2.out, QByteArray());
        QVERIFY2(r2.err.contains(missingDir.toUtf8()), r2.err.constData());
    }

    // A reader that goes away (`poolscope pool ... | head -1`) ends the call cleanly: no
    // SIGPIPE death, the pool terminated, no worker left.
    void closedStdout()
    {
        const auto r = run({"pool", "--api", "imap", "--func", "sleep", "--items", "4", "--workers",
                            "2", "--time-scale", "0.05"},
                           /*closedStdout=*/true);
        QVERIFY2(!r.crashed, qPrintable(r.describe()));
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(r.lastErrLine(), QByteArray("BrokenPipeError: [Errno 32] Broken pipe"));
    }
};

QTEST_GUILESS_MAIN(TestSandboxCli)
#include "tst_sandboxcli.moc"
