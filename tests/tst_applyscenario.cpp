// apply: the article's cube(5) on Pool(3); apply blocks until the worker has answered.
#include "scenariotestutil.h"

using namespace poolscope;

class TestApplyScenario : public QObject
{
    Q_OBJECT

    scenariotest::Hygiene m_hygiene;

private slots:
    void initTestCase() { scenariotest::Hygiene::startForkServer(); }
    void init() { m_hygiene.baseline(); }
    void cleanup() { m_hygiene.check(); }

    void takesOnlyWorkersAndStartMethod()
    {
        const auto catalog = ScenarioCatalog::article();
        const Scenario* s = catalog.find("apply");
        QVERIFY(s);
        const auto specs = s->parameters();
        QCOMPARE(specs.size(), std::size_t(2));
        QCOMPARE(int(specs[0].name), int(ParameterSpec::Name::Workers));
        QCOMPARE(specs[0].defaultValue, 3.0);
        QCOMPARE(int(specs[1].name), int(ParameterSpec::Name::StartMethod));
    }

    void printsTheCubeAfterTheTaskFinished_data()
    {
        QTest::addColumn<StartMethod>("method");
        QTest::addColumn<int>("workers");
        for (auto [name, m] :
             {std::pair{"fork", StartMethod::Fork}, std::pair{"spawn", StartMethod::Spawn},
              std::pair{"forkserver", StartMethod::ForkServer}}) {
            QTest::addRow("%s, 3 workers", name) << m << 3;
            QTest::addRow("%s, 1 worker", name) << m << 1;
        }
    }

    void printsTheCubeAfterTheTaskFinished()
    {
        QFETCH(StartMethod, method);
        QFETCH(int, workers);
        ScenarioParams p;
        p.startMethod = method;
        p.workers = workers;
        const auto o = scenariotest::run("apply", p);
        QVERIFY2(o.held, o.describe().c_str());
        QCOMPARE(o.facts.size(), std::size_t(3));
        QCOMPARE(o.main, (std::vector<std::string>{"Sending task...", "Got result: 125",
                                                   "Main continues AFTER task is done."}));
        QVERIFY(o.child.empty());
        QCOMPARE(o.notes.size(), std::size_t(1));
        QVERIFY(o.notes.front().starts_with("apply blocked the main process for "));

        // One job of one task: submitted, taken, finished with 125, received, then handed over.
        std::vector<EventKind> kinds;
        int started = 0;
        for (std::size_t i = 0; i < o.log->size(); ++i) {
            const Event e = o.log->at(i);
            started += e.kind == EventKind::WorkerStarted;
            if (e.job < 0)
                continue;
            kinds.push_back(e.kind);
            if (e.kind == EventKind::JobSubmitted)
                QCOMPARE(e.text, std::string("apply cube"));
            if (e.kind == EventKind::TaskStarted)
                QCOMPARE(e.value, Value::tuple({5})); // apply's input: the args tuple
            if (e.kind == EventKind::TaskFinished || e.kind == EventKind::ResultYielded)
                QCOMPARE(e.value, Value(125));
        }
        QCOMPARE(started, workers);
        const auto at = [&](EventKind k) {
            return std::find(kinds.begin(), kinds.end(), k) - kinds.begin();
        };
        QCOMPARE(std::count(kinds.begin(), kinds.end(), EventKind::TaskFinished), 1);
        QCOMPARE(std::count(kinds.begin(), kinds.end(), EventKind::ResultYielded), 1);
        QVERIFY(at(EventKind::JobSubmitted) < at(EventKind::TaskFinished));
        QVERIFY(at(EventKind::TaskFinished) < at(EventKind::ChunkResult));
        QVERIFY(at(EventKind::ChunkResult) < at(EventKind::ResultYielded));
        QVERIFY(at(EventKind::ResultYielded) < std::ptrdiff_t(kinds.size()));
    }
};

QTEST_GUILESS_MAIN(TestApplyScenario)
#include "tst_applyscenario.moc"
