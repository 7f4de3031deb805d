// pool-map: the article's squares of [1, 2, 3, 4, 5], for each start method and pool size.
#include "scenariotestutil.h"

using namespace poolscope;

class TestPoolMapScenario : public QObject
{
    Q_OBJECT

    scenariotest::Hygiene m_hygiene;

private slots:
    void initTestCase() { scenariotest::Hygiene::startForkServer(); }
    void init() { m_hygiene.baseline(); }
    void cleanup() { m_hygiene.check(); }

    void printsTheSquaresAndChecksTheChunks_data()
    {
        QTest::addColumn<StartMethod>("method");
        QTest::addColumn<int>("workers");
        QTest::addColumn<int>("chunksize"); // 0: the default
        QTest::addColumn<int>("chunks");
        for (auto [name, m] :
             {std::pair{"fork", StartMethod::Fork}, std::pair{"spawn", StartMethod::Spawn},
              std::pair{"forkserver", StartMethod::ForkServer}}) {
            // ceil(5 / (4 x 1)) = 2 -> [0..1] [2..3] [4]; ceil(5 / 8) = 1 -> five chunks
            QTest::addRow("%s, 1 worker", name) << m << 1 << 0 << 3;
            QTest::addRow("%s, 2 workers", name) << m << 2 << 0 << 5;
            QTest::addRow("%s, 3 workers, chunksize 5", name) << m << 3 << 5 << 1;
        }
    }

    void printsTheSquaresAndChecksTheChunks()
    {
        QFETCH(StartMethod, method);
        QFETCH(int, workers);
        QFETCH(int, chunksize);
        QFETCH(int, chunks);
        ScenarioParams p;
        p.startMethod = method;
        p.workers = workers;
        if (chunksize > 0)
            p.chunksize = chunksize;
        const auto o = scenariotest::run("pool-map", p);
        QVERIFY2(o.held, o.describe().c_str());
        QCOMPARE(o.main, std::vector<std::string>{"[1, 4, 9, 16, 25]"});
        QVERIFY(o.hasFact("into " + std::to_string(chunks) + " chunk"));

        // The events agree: one job, its chunks submitted, taken and reported, one yield.
        int submitted = 0, taken = 0, reported = 0, yielded = 0, tasks = 0;
        for (std::size_t i = 0; i < o.log->size(); ++i) {
            const Event e = o.log->at(i);
            submitted += e.kind == EventKind::ChunkSubmitted;
            taken += e.kind == EventKind::ChunkTaken;
            reported += e.kind == EventKind::ChunkResult;
            yielded += e.kind == EventKind::ResultYielded;
            tasks += e.kind == EventKind::TaskFinished;
        }
        QCOMPARE(submitted, chunks);
        QCOMPARE(taken, chunks);
        QCOMPARE(reported, chunks);
        QCOMPARE(tasks, 5);
        QCOMPARE(yielded, 1);
    }
};

QTEST_GUILESS_MAIN(TestPoolMapScenario)
#include "tst_poolmapscenario.moc"
