// End-to-end tests of `poolscope list` and `poolscope run ID ...`: the real binary, real pools.
// Asserts what is printed, the exit status, the trace it writes, and that nothing it started is
// left alive.
#include "processprobe.h"
#include "scenariocatalog.h"
#include "tracefile.h"

#include <QCoreApplication>
#include <QFileInfo>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

using namespace poolscope;

namespace {

struct Run
{
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
    QList<QByteArray> lines() const { return out.split('\n').mid(0, out.count('\n')); }
    QString describe() const
    {
        return QStringLiteral("exit %1\n--- stdout:\n%2--- stderr:\n%3")
            .arg(exitCode)
            .arg(QString::fromUtf8(out), QString::fromUtf8(err));
    }
};

} // namespace

class TestScenarioCli : public QObject
{
    Q_OBJECT

    QString m_binary;
    std::size_t m_descendants = 0;

    Run run(const QStringList& args)
    {
        QProcess p;
        p.start(m_binary, args);
        Run r;
        if (!p.waitForStarted(10000) || !p.waitForFinished(120000)) {
            p.kill();
            p.waitForFinished();
            return r;
        }
        r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
        r.out = p.readAllStandardOutput();
        r.err = p.readAllStandardError();
        return r;
    }

private slots:
    void initTestCase()
    {
        m_binary = QCoreApplication::applicationDirPath() + "/poolscope";
        QVERIFY2(QFileInfo(m_binary).isExecutable(), qPrintable(m_binary));
    }
    void init() { m_descendants = probe::descendants().size(); }
    // The command's pools and processes died with it: no descendant of this test is left.
    void cleanup() { QCOMPARE(probe::descendants().size(), m_descendants); }

    void listShowsEveryScenarioInOrder()
    {
        const auto r = run({"list"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        const auto catalog = ScenarioCatalog::article();
        const auto lines = r.lines();
        QCOMPARE(std::size_t(lines.size()), catalog.all().size());
        for (std::size_t i = 0; i < catalog.all().size(); ++i) {
            const auto& s = *catalog.all()[i];
            QVERIFY2(lines[int(i)].startsWith(QByteArray::fromStdString(s.id() + " ")),
                     lines[int(i)].constData());
            QVERIFY(lines[int(i)].endsWith(QByteArray::fromStdString(s.title())));
        }
        QCOMPARE(run({"list", "extra"}).exitCode, 2);
    }

    void runPrintsTheProgramThenTheFacts_data()
    {
        QTest::addColumn<QString>("method");
        QTest::newRow("fork") << "fork";
        QTest::newRow("spawn") << "spawn";
        QTest::newRow("forkserver") << "forkserver";
    }

    void runPrintsTheProgramThenTheFacts()
    {
        QFETCH(QString, method);
        const auto r = run({"run", "pool-map", "--workers", "2", "--start-method", method});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        const auto lines = r.lines();
        QVERIFY(lines.size() >= 4);
        QCOMPARE(lines[0], QByteArray("[1, 4, 9, 16, 25]"));
        QVERIFY(lines.contains("ok: map returned [1, 4, 9, 16, 25], in input order"));
        QVERIFY(lines.contains("ok: map cut the 5 items into 5 chunks of up to 1 (chunksize "
                               "ceil(5 / (4 x 2)))"));
        bool factsBegan = false;
        for (const auto& l : lines) {
            const bool verdict = l.startsWith("ok: ") || l.startsWith("note: ");
            QVERIFY2(!l.startsWith("FAILED"), l.constData());
            QVERIFY2(verdict || !factsBegan, "a program line after the facts");
            factsBegan = factsBegan || verdict;
        }
        QVERIFY(r.err.isEmpty());
    }

    void quietPrintsOnlyTheVerdicts()
    {
        const auto r = run({"run", "apply", "--quiet"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QVERIFY(!r.lines().isEmpty());
        for (const auto& l : r.lines())
            QVERIFY2(l.startsWith("ok: ") || l.startsWith("note: "), l.constData());
    }

    void traceIsWrittenAndReadsBack()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath("run.json");
        const auto r = run(
            {"run", "imap-vs-unordered", "--time-scale", "0.02", "--seed", "3", "--trace", path});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        const Trace trace = TraceFile::read(path.toStdString());
        QCOMPARE(trace.metadata.seed, std::uint64_t(3));
        QCOMPARE(trace.metadata.timeScale, 0.02);
        QCOMPARE(trace.metadata.func, std::string("slow_square"));
        int finished = 0;
        for (const auto& e : trace.events)
            finished += e.kind == EventKind::TaskFinished;
        QCOMPARE(finished, 10); // five tasks, imap then imap_unordered
    }

    void badArguments_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message");
        QTest::newRow("no id") << QStringList{"run"} << "missing scenario id";
        QTest::newRow("unknown id") << QStringList{"run", "nope"} << "unknown scenario 'nope'";
        QTest::newRow("option it does not take") << QStringList{"run", "apply", "--chunksize", "2"}
                                                 << "--chunksize does not apply to scenario apply";
        QTest::newRow("out of range") << QStringList{"run", "pool-map", "--workers", "0"}
                                      << "--workers must be an integer >= 1";
        QTest::newRow("above the range") << QStringList{"run", "pool-map", "--chunksize", "6"}
                                         << "--chunksize must be at most 5";
        QTest::newRow("bad start method")
            << QStringList{"run", "pool-map", "--start-method", "vfork"}
            << "--start-method must be one of fork, spawn, forkserver";
        QTest::newRow("negative time scale")
            << QStringList{"run", "imap-vs-unordered", "--time-scale", "-1"} << "--time-scale";
        QTest::newRow("flag with a value")
            << QStringList{"run", "apply", "--quiet=yes"} << "--quiet takes no value";
        QTest::newRow("missing value")
            << QStringList{"run", "apply", "--workers"} << "--workers needs a value";
        QTest::newRow("twice") << QStringList{"run", "apply", "--workers", "2", "--workers", "3"}
                               << "--workers is given more than once";
        QTest::newRow("unwritable trace")
            << QStringList{"run", "apply", "--trace", "/nonexistent-dir/x.json"}
            << "/nonexistent-dir/x.json";
    }

    void badArguments()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        const auto r = run(args);
        QVERIFY2(r.exitCode == 2, qPrintable(r.describe()));
        QVERIFY2(r.out.isEmpty(), qPrintable(r.describe())); // nothing ran
        QVERIFY2(QString::fromUtf8(r.err).contains(message), qPrintable(r.describe()));
        QCOMPARE(r.err.count('\n'), 1); // one line
    }

    void helpListsEveryScenario()
    {
        const auto r = run({"run", "--help"});
        QCOMPARE(r.exitCode, 0);
        const auto catalog = ScenarioCatalog::article();
        for (const auto& s : catalog.all())
            QVERIFY(r.out.contains(QByteArray::fromStdString("  " + s->id() + "\n")));
    }
};

QTEST_GUILESS_MAIN(TestScenarioCli)
#include "tst_scenariocli.moc"
