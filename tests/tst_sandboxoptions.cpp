#include "sandboxapi.h"
#include "sandboxoptions.h"
#include "usageerror.h"

#include <QRegularExpression>
#include <QTest>
#include <limits>

using namespace poolscope;

Q_DECLARE_METATYPE(poolscope::SandboxOptions)

namespace {

std::vector<std::string> toArgs(const QStringList& list)
{
    std::vector<std::string> out;
    for (const auto& s : list)
        out.push_back(s.toStdString());
    return out;
}

// Every field, so that a failing comparison shows what differs.
QString describe(const SandboxOptions& o)
{
    auto opt = [](const auto& v) {
        return v ? QString::number(*v) : QStringLiteral("none");
    };
    return QStringLiteral("help=%1 api=%2 func=%3 items=%4 workers=%5 chunksize=%6 start=%7 "
                          "seed=%8 delay=%9..%10 scale=%11 failAt=%12 crashAt=%13 death=%14 "
                          "timeout=%15 trace=%16")
        .arg(o.help)
        .arg(QString::fromUtf8(sandboxApiName(o.api).data(),
                               qsizetype(sandboxApiName(o.api).size())))
        .arg(QString::fromStdString(o.func))
        .arg(o.items)
        .arg(opt(o.workers))
        .arg(opt(o.chunksize))
        .arg(QString::fromUtf8(startMethodName(o.startMethod).data(),
                               qsizetype(startMethodName(o.startMethod).size())))
        .arg(o.seed)
        .arg(o.delayMin)
        .arg(o.delayMax)
        .arg(o.timeScale)
        .arg(o.failAt)
        .arg(opt(o.crashAt))
        .arg(o.onWorkerDeath == WorkerDeathPolicy::Hang ? "hang" : "fail")
        .arg(opt(o.timeout))
        .arg(QString::fromStdString(o.tracePath));
}

SandboxOptions base(SandboxApi api = SandboxApi::Map, std::string func = "square",
                    std::int64_t items = 5)
{
    SandboxOptions o;
    o.api = api;
    o.func = std::move(func);
    o.items = items;
    return o;
}

QStringList words(const QString& line)
{
    return line.split(QLatin1Char(' '), Qt::SkipEmptyParts);
}

} // namespace

class TestSandboxOptions : public QObject
{
    Q_OBJECT

private slots:
    void defaults()
    {
        const auto o = SandboxOptions::parse(toArgs(words("--api map --func square --items 5")));
        QVERIFY(!o.help);
        QVERIFY(!o.workers);
        QVERIFY(!o.chunksize);
        QCOMPARE(o.startMethod, StartMethod::Fork);
        QCOMPARE(o.seed, std::uint64_t(0));
        QCOMPARE(o.delayMin, 0.5);
        QCOMPARE(o.delayMax, 2.0);
        QCOMPARE(o.timeScale, 1.0);
        QCOMPARE(o.failAt, std::int64_t(5));
        QVERIFY(!o.crashAt);
        QCOMPARE(o.onWorkerDeath, WorkerDeathPolicy::Fail);
        QVERIFY(!o.timeout);
        QVERIFY(o.tracePath.empty());
    }

    void valid_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<SandboxOptions>("expected");

        QTest::newRow("minimal") << words("--api map --func square --items 5") << base();
        QTest::newRow("any order") << words("--items 5 --func square --api map") << base();
        QTest::newRow("inline values") << words("--api=map --func=square --items=5") << base();
        QTest::newRow("zero items")
            << words("--api map --func square --items 0") << base(SandboxApi::Map, "square", 0);
        QTest::newRow("max items") << words("--api imap --func cube --items 10000000")
                                   << base(SandboxApi::Imap, "cube", 10'000'000);

        const std::pair<const char*, SandboxApi> apis[] = {
            {"map", SandboxApi::Map},
            {"starmap", SandboxApi::Starmap},
            {"map_async", SandboxApi::MapAsync},
            {"imap", SandboxApi::Imap},
            {"imap_unordered", SandboxApi::ImapUnordered},
            {"apply", SandboxApi::Apply},
            {"apply_async", SandboxApi::ApplyAsync},
        };
        for (const auto& [name, api] : apis) {
            QTest::addRow("api %s", name)
                << words(QStringLiteral("--api %1 --func cube --items 3").arg(name))
                << base(api, "cube", 3);
        }
        for (const auto& f : SandboxOptions::functions()) {
            QTest::addRow("func %s", f.c_str())
                << words(QStringLiteral("--api map --func %1 --items 2").arg(f.c_str()))
                << base(SandboxApi::Map, f, 2);
        }
        for (auto m : {StartMethod::Fork, StartMethod::Spawn, StartMethod::ForkServer}) {
            auto o = base();
            o.startMethod = m;
            QTest::addRow("start method %s", startMethodName(m).data())
                << words(QStringLiteral("--api map --func square --items 5 --start-method %1")
                             .arg(startMethodName(m).data()))
                << o;
        }
        {
            auto o = base(SandboxApi::ImapUnordered, "slow_square", 12);
            o.workers = 4;
            o.chunksize = 3;
            o.startMethod = StartMethod::Spawn;
            o.seed = 42;
            o.delayMin = 0.25;
            o.delayMax = 0.75;
            o.timeScale = 0.01;
            o.crashAt = 7;
            o.onWorkerDeath = WorkerDeathPolicy::Hang;
            o.timeout = 2.5;
            o.tracePath = "/tmp/run.json";
            const QString line = "--api imap_unordered --func slow_square --items 12 --workers 4 "
                                 "--chunksize 3 --start-method spawn --seed 42 --delay-min 0.25 "
                                 "--delay-max 0.75 --time-scale 0.01 --crash-at 7 "
                                 "--on-worker-death hang --timeout 2.5 --trace /tmp/run.json";
            QTest::newRow("everything") << words(line) << o;
            QString inlined = line;
            inlined.replace(QRegularExpression(" (?=[^-])"), "=");
            QTest::newRow("everything inline") << words(inlined) << o;
        }
        {
            auto o = base(SandboxApi::Imap, "boom", 8);
            o.failAt = 0;
            QTest::newRow("fail-at 0")
                << words("--api imap --func boom --items 8 --fail-at 0") << o;
            o.failAt = 100;
            QTest::newRow("fail-at beyond the items: nothing fails")
                << words("--api imap --func boom --items 8 --fail-at 100") << o;
        }
        {
            auto o = base();
            o.crashAt = 5;
            o.onWorkerDeath = WorkerDeathPolicy::Hang;
            QTest::newRow("hang without timeout when the crash is beyond the items")
                << words("--api map --func square --items 5 --crash-at 5 --on-worker-death hang")
                << o;
            o.crashAt.reset();
            QTest::newRow("hang without a crash")
                << words("--api map --func square --items 5 --on-worker-death hang") << o;
        }
        {
            auto o = base();
            o.crashAt = 0;
            QTest::newRow("crash-at 0, default policy")
                << words("--api map --func square --items 5 --crash-at 0") << o;
        }
        {
            auto o = base(SandboxApi::Map, "slow_square", 5);
            o.timeScale = 0;
            o.delayMin = 1;
            o.delayMax = 1;
            QTest::newRow("time scale 0, equal delays")
                << words("--api map --func slow_square --items 5 --time-scale 0 --delay-min 1 "
                         "--delay-max 1")
                << o;
        }
        {
            auto o = base();
            o.delayMin = 0;
            o.delayMax = 0;
            QTest::newRow("zero delays")
                << words("--api map --func square --items 5 --delay-max 0 --delay-min 0") << o;
        }
        {
            auto o = base();
            o.seed = std::numeric_limits<std::uint64_t>::max();
            QTest::newRow("largest seed")
                << words("--api map --func square --items 5 --seed 18446744073709551615") << o;
        }
        {
            auto o = base(SandboxApi::ApplyAsync, "sleep", 3);
            o.timeout = 0.001;
            o.workers = 256;
            QTest::newRow("tiny timeout, most workers")
                << words("--api apply_async --func sleep --items 3 --timeout 1e-3 --workers 256")
                << o;
        }
        {
            auto o = base(SandboxApi::Map, "square", 5);
            o.tracePath = "a file=with equals.json";
            QTest::newRow("trace path with '=' and spaces")
                << QStringList{"--api",
                               "map",
                               "--func",
                               "square",
                               "--items",
                               "5",
                               "--trace=a file=with equals.json"}
                << o;
        }
        {
            SandboxOptions help;
            help.help = true;
            QTest::newRow("--help") << words("--help") << help;
            QTest::newRow("-h") << words("-h") << help;
            QTest::newRow("help wins over bad arguments")
                << words("--api nope --workers 0 --help") << help;
        }
    }

    void valid()
    {
        QFETCH(QStringList, args);
        QFETCH(SandboxOptions, expected);
        SandboxOptions got;
        try {
            got = SandboxOptions::parse(toArgs(args));
        } catch (const UsageError& e) {
            QFAIL(qPrintable(QStringLiteral("unexpected UsageError: ") + e.what()));
        }
        QCOMPARE(describe(got), describe(expected));
        QVERIFY(got == expected);
    }

    void invalid_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message"); // the whole message, or its start when it ends in ...

        const QString ok = "--api map --func square --items 5 ";
        auto row = [&](const char* name, const QString& line, const QString& message) {
            QTest::newRow(name) << words(line) << message;
        };
        row("nothing", "", "--api is required ...");
        row("no --api", "--func square --items 5", "--api is required ...");
        row("no --func", "--api map --items 5", "--func is required ...");
        row("no --items", "--api map --func square", "--items is required ...");
        row("unknown option", ok + "--wrokers 2", "unknown option '--wrokers'");
        row("unknown inline option", ok + "--wrokers=2", "unknown option '--wrokers'");
        row("single dash", ok + "-w 2", "unexpected argument '-w' ...");
        row("positional", "--api map square --items 5", "unexpected argument 'square' ...");
        row("bare --", ok + "--", "unexpected argument '--' ...");
        row("missing value at the end", "--api map --func square --items", "--items needs a value");
        row("missing value before an option", "--api map --func --items 5", "--func needs a value");
        row("empty inline value", "--api map --func= --items 5", "--func needs a value");
        row("empty trace", ok + "--trace=", "--trace needs a value");
        row("given twice", ok + "--workers 2 --workers 3", "--workers is given more than once");
        row("given twice inline", ok + "--seed=1 --seed 2", "--seed is given more than once");
        row("unknown api", "--api mapp --func square --items 5",
            "--api must be one of map, starmap, map_async, imap, imap_unordered, apply, "
            "apply_async; got 'mapp'");
        row("unknown func", "--api map --func sqrt --items 5",
            "--func must be one of square, cube, is_prime, slow_square, sleep, boom; got 'sqrt'");
        row("two-argument task", "--api map --func add --items 5", "--func must be one of ...");
        row("items not a number", "--api map --func square --items abc",
            "--items must be an integer >= 0, got 'abc'");
        row("items negative", "--api map --func square --items -1",
            "--items must be an integer >= 0, got '-1'");
        row("items fractional", "--api map --func square --items 1.5",
            "--items must be an integer >= 0, got '1.5'");
        row("items too many", "--api map --func square --items 10000001",
            "--items must be at most 10000000, got '10000001'");
        row("items overflow", "--api map --func square --items 99999999999999999999",
            "--items must be an integer >= 0, got '99999999999999999999'");
        row("workers 0", ok + "--workers 0", "--workers must be an integer >= 1, got '0'");
        row("workers -1", ok + "--workers -1", "--workers must be an integer >= 1, got '-1'");
        row("workers trailing junk", ok + "--workers 4x",
            "--workers must be an integer >= 1, got '4x'");
        row("workers too many", ok + "--workers 257", "--workers must be at most 256, got '257'");
        row("chunksize 0", ok + "--chunksize 0", "--chunksize must be an integer >= 1, got '0'");
        row("chunksize too big", ok + "--chunksize 2147483648",
            "--chunksize must be at most 2147483647, got '2147483648'");
        row("chunksize with apply", "--api apply --func cube --items 3 --chunksize 2",
            "--chunksize does not apply to --api apply ...");
        row("chunksize with apply_async", "--api apply_async --func cube --items 3 --chunksize 2",
            "--chunksize does not apply to --api apply_async ...");
        row("unknown start method", ok + "--start-method vfork",
            "--start-method must be one of fork, spawn, forkserver; got 'vfork'");
        row("start method case", ok + "--start-method Fork",
            "--start-method must be one of fork, spawn, forkserver; got 'Fork'");
        row("unknown death policy", ok + "--on-worker-death ignore",
            "--on-worker-death must be fail or hang; got 'ignore'");
        row("seed negative", ok + "--seed -1", "--seed must be an integer from 0 to ...");
        row("seed overflow", ok + "--seed 18446744073709551616",
            "--seed must be an integer from 0 to 18446744073709551615, got "
            "'18446744073709551616'");
        row("fail-at negative", "--api map --func boom --items 8 --fail-at -1",
            "--fail-at must be an integer >= 0, got '-1'");
        row("fail-at without boom", ok + "--fail-at 2",
            "--fail-at applies only to --func boom, not square");
        row("crash-at negative", ok + "--crash-at -2",
            "--crash-at must be an integer >= 0, got '-2'");
        row("crash-at not a number", ok + "--crash-at x",
            "--crash-at must be an integer >= 0, got 'x'");
        row("delay-min above delay-max", ok + "--delay-min 3",
            "--delay-min (3.0) must not exceed --delay-max (2.0)");
        row("delay-max below delay-min", ok + "--delay-min 1 --delay-max 0.5",
            "--delay-min (1.0) must not exceed --delay-max (0.5)");
        row("delay-min negative", ok + "--delay-min -0.5",
            "--delay-min must be a number >= 0, got '-0.5'");
        row("delay-max nan", ok + "--delay-max nan",
            "--delay-max must be a number >= 0, got 'nan'");
        row("time-scale negative", ok + "--time-scale -1",
            "--time-scale must be a number >= 0, got '-1'");
        row("time-scale infinite", ok + "--time-scale inf",
            "--time-scale must be a number >= 0, got 'inf'");
        row("time-scale huge", ok + "--time-scale 1e9",
            "--time-scale must be at most 1000, got '1e9'");
        row("timeout 0", ok + "--timeout 0", "--timeout must be a number > 0, got '0'");
        row("timeout negative", ok + "--timeout -1", "--timeout must be a number > 0, got '-1'");
        row("timeout words", ok + "--timeout soon", "--timeout must be a number > 0, got 'soon'");
        row("timeout huge", ok + "--timeout 1e7", "--timeout must be at most 1000000, got '1e7'");
        row("hang after a crash needs a timeout", ok + "--crash-at 2 --on-worker-death hang",
            "--on-worker-death hang with --crash-at needs --timeout ...");
    }

    void invalid()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        try {
            const auto o = SandboxOptions::parse(toArgs(args));
            QFAIL(qPrintable("accepted: " + describe(o)));
        } catch (const UsageError& e) {
            const QString got = QString::fromUtf8(e.what());
            QVERIFY2(!got.contains(QLatin1Char('\n')), qPrintable("not one line: " + got));
            if (message.endsWith(QLatin1String("...")))
                QVERIFY2(got.startsWith(message.chopped(3)), qPrintable(got));
            else
                QCOMPARE(got, message);
        }
    }

    void inputs_data()
    {
        QTest::addColumn<QString>("func");
        QTest::addColumn<int>("items");
        QTest::addColumn<QString>("expected");
        QTest::newRow("square 5") << "square" << 5 << "[1, 2, 3, 4, 5]";
        QTest::newRow("sleep 3") << "sleep" << 3 << "[1, 2, 3]";
        QTest::newRow("none") << "cube" << 0 << "[]";
        QTest::newRow("is_prime") << "is_prime" << 4 << "[10000019, 10000021, 10000023, 10000025]";
    }

    void inputs()
    {
        QFETCH(QString, func);
        QFETCH(int, items);
        QFETCH(QString, expected);
        auto o = base(SandboxApi::Map, func.toStdString(), items);
        QCOMPARE(QString::fromStdString(Value(o.inputs()).repr()), expected);
    }

    void taskOptions()
    {
        auto o = SandboxOptions::parse(
            toArgs(words("--api map --func boom --items 8 --fail-at 3 --crash-at 6 --seed 9 "
                         "--delay-min 0.1 --delay-max 0.2 --time-scale 0.5")));
        TaskOptions expected;
        expected.failAt = 3;
        expected.crashAt = 6;
        expected.seed = 9;
        expected.delayMin = 0.1;
        expected.delayMax = 0.2;
        expected.timeScale = 0.5;
        QVERIFY(o.taskOptions() == expected);

        // Only boom fails; no crash unless asked for.
        o = SandboxOptions::parse(toArgs(words("--api map --func square --items 8")));
        QCOMPARE(o.taskOptions().failAt, std::int64_t(-1));
        QCOMPARE(o.taskOptions().crashAt, std::int64_t(-1));
        o = SandboxOptions::parse(toArgs(words("--api map --func boom --items 8")));
        QCOMPARE(o.taskOptions().failAt, std::int64_t(5));
    }

    void apiNames()
    {
        for (auto api :
             {SandboxApi::Map, SandboxApi::Starmap, SandboxApi::MapAsync, SandboxApi::Imap,
              SandboxApi::ImapUnordered, SandboxApi::Apply, SandboxApi::ApplyAsync}) {
            QCOMPARE(parseSandboxApi(sandboxApiName(api)), std::optional(api));
        }
        QVERIFY(!parseSandboxApi("Map"));
        QVERIFY(isMapFamily(SandboxApi::MapAsync));
        QVERIFY(!isMapFamily(SandboxApi::Imap));
        QVERIFY(isImapFamily(SandboxApi::ImapUnordered));
        QVERIFY(!isImapFamily(SandboxApi::ApplyAsync));
    }

    // The help names every option, API and function.
    void usageIsComplete()
    {
        const QString usage = QString::fromStdString(SandboxOptions::usage());
        const char* needles[] = {"--api",
                                 "--func",
                                 "--items",
                                 "--workers",
                                 "--chunksize",
                                 "--start-method",
                                 "--seed",
                                 "--delay-min",
                                 "--delay-max",
                                 "--time-scale",
                                 "--fail-at",
                                 "--crash-at",
                                 "--on-worker-death",
                                 "--timeout",
                                 "--trace",
                                 "--help",
                                 "map_async",
                                 "imap_unordered",
                                 "apply_async",
                                 "starmap",
                                 "forkserver",
                                 "spawn",
                                 "hang",
                                 "multiprocessing.context.TimeoutError",
                                 "Exit status"};
        for (const char* n : needles)
            QVERIFY2(usage.contains(QLatin1String(n)), n);
        for (const auto& f : SandboxOptions::functions())
            QVERIFY2(usage.contains(QString::fromStdString(f)), f.c_str());
    }
};

QTEST_GUILESS_MAIN(TestSandboxOptions)
#include "tst_sandboxoptions.moc"
