// prime-testing: the article's four prime tests, and the speedup series over 1..N workers.
#include "primetestingscenario.h"
#include "scenariotestutil.h"
#include "taskregistry.h"

#include <regex>

using namespace poolscope;

class TestPrimeTestingScenario : public QObject
{
    Q_OBJECT

    scenariotest::Hygiene m_hygiene;

    static int count(const scenariotest::Outcome& o, EventKind kind)
    {
        int n = 0;
        for (std::size_t i = 0; i < o.log->size(); ++i)
            n += o.log->at(i).kind == kind;
        return n;
    }

private slots:
    void initTestCase() { scenariotest::Hygiene::startForkServer(); }
    void init() { m_hygiene.baseline(); }
    void cleanup() { m_hygiene.check(); }

    void printsTheVerdictsAndTheSeries_data()
    {
        QTest::addColumn<StartMethod>("method");
        QTest::addColumn<int>("workers");
        for (auto [name, m] :
             {std::pair{"fork", StartMethod::Fork}, std::pair{"spawn", StartMethod::Spawn},
              std::pair{"forkserver", StartMethod::ForkServer}})
            QTest::addRow("%s, 2 workers", name) << m << 2;
        QTest::addRow("fork, 1 worker") << StartMethod::Fork << 1;
        QTest::addRow("fork, 3 workers") << StartMethod::Fork << 3;
    }

    void printsTheVerdictsAndTheSeries()
    {
        QFETCH(StartMethod, method);
        QFETCH(int, workers);
        ScenarioParams p;
        p.startMethod = method;
        p.workers = workers;
        const auto o = scenariotest::run("prime-testing", p);
        QVERIFY2(o.held, o.describe().c_str());
        QCOMPARE(o.facts.size(), std::size_t(2));
        QVERIFY(o.hasFact("(2 of 4 prime)"));
        QVERIFY(o.hasFact("(1 to " + std::to_string(workers) + " workers)"));

        // The article's two lines, then the series: a title, a header and one row per pool size.
        QCOMPARE(o.main.size(), std::size_t(4 + workers));
        QCOMPARE(o.main[0],
                 "[(10000019, True), (10000079, True), (10000091, False), (10000099, False)]");
        const std::regex elapsed("Time elapsed: \\d+\\.\\d\\ds with " + std::to_string(workers) +
                                 " workers");
        QVERIFY2(std::regex_match(o.main[1], elapsed), o.main[1].c_str());
        QCOMPARE(o.main[2],
                 "--- Speedup: is_prime over 1,000 odd numbers from 1,000,000,000,001 ---");
        QCOMPARE(o.main[3], "workers  seconds  speedup");
        for (int w = 1; w <= workers; ++w) {
            const std::regex row("      " + std::to_string(w) +
                                 "  +\\d+\\.\\d{3}  +\\d+\\.\\d\\dx");
            const std::string& line = o.main[std::size_t(3 + w)];
            QVERIFY2(std::regex_match(line, row), line.c_str());
        }
        QVERIFY(o.main[4].ends_with(" 1.00x"));
        QVERIFY(o.child.empty()); // is_prime prints nothing

        // One pool for the four numbers, then one per pool size; each ran one map and started
        // its workers, and every worker exited.
        QCOMPARE(count(o, EventKind::PoolCreated), 1 + workers);
        QCOMPARE(count(o, EventKind::JobSubmitted), 1 + workers);
        const int started = workers + workers * (workers + 1) / 2;
        QCOMPARE(count(o, EventKind::WorkerStarted), started);
        QCOMPARE(count(o, EventKind::WorkerExited), started);
        QCOMPARE(count(o, EventKind::TaskFinished),
                 4 + workers * int(PrimeTestingScenario::kSeriesCount));

        // The series data a plot reads: one point per pool size, in order, timed from the log.
        const auto series = PrimeTestingScenario::speedupSeries(*o.log);
        QCOMPARE(series.points().size(), std::size_t(workers));
        for (int w = 1; w <= workers; ++w) {
            const auto& pt = series.points()[std::size_t(w - 1)];
            QCOMPARE(pt.workers, w);
            QVERIFY(pt.seconds > 0);
            QVERIFY(pt.speedup > 0);
        }
        QCOMPARE(series.points().front().speedup, 1.0);

        // The four numbers' map came first, with map's default chunksize:
        // ceil(4 / (4 x workers)) = 1.
        for (std::size_t i = 0; i < o.log->size(); ++i) {
            const Event e = o.log->at(i);
            if (e.kind == EventKind::JobSubmitted) {
                QCOMPARE(e.text, std::string("map is_prime"));
                QCOMPARE(e.a, std::int64_t(4));
                QCOMPARE(e.b, std::int64_t(1));
                break;
            }
        }
    }

    // The series' fact names the number of primes: the parent's own count, computed here.
    void seriesVerdictsMatchTheParent()
    {
        int primes = 0;
        for (std::int64_t i = 0; i < PrimeTestingScenario::kSeriesCount; ++i)
            primes += isPrime(PrimeTestingScenario::kSeriesFirst + 2 * i);
        ScenarioParams p;
        p.workers = 2;
        const auto o = scenariotest::run("prime-testing", p);
        QVERIFY2(o.held, o.describe().c_str());
        QVERIFY2(o.hasFact("verdicts (" + std::to_string(primes) + " primes)"),
                 o.describe().c_str());
    }

    // Without --workers the article's one-worker-per-CPU pool, and a series up to max(2, CPUs).
    void defaultsToOneWorkerPerCpu()
    {
        const int cpus = std::max(1, int(std::thread::hardware_concurrency()));
        const auto o = scenariotest::run("prime-testing", {});
        QVERIFY2(o.held, o.describe().c_str());
        QVERIFY(o.main[1].ends_with(" with " + std::to_string(cpus) + " workers"));
        QCOMPARE(o.main.size(), std::size_t(4 + std::max(2, cpus)));
    }

    void takesOnlyWorkersAndStartMethod()
    {
        const auto catalog = ScenarioCatalog::article();
        const Scenario* s = catalog.find("prime-testing");
        QVERIFY(s);
        std::vector<ParameterSpec::Name> names;
        for (const auto& spec : s->parameters())
            names.push_back(spec.name);
        QCOMPARE(names,
                 (std::vector{ParameterSpec::Name::Workers, ParameterSpec::Name::StartMethod}));
    }
};

QTEST_GUILESS_MAIN(TestPrimeTestingScenario)
#include "tst_primetestingscenario.moc"
