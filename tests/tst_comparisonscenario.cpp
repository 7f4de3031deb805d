// comparison: the start-method table (Pool(2) under spawn, fork, forkserver) and the API table
// (map, imap, imap_unordered, apply, apply_async on slow_square over 1..6), for each start
// method of the API part; facts, console lines, children's lines and events.
#include "scenariotestutil.h"

#include <algorithm>
#include <regex>
#include <unistd.h>

using namespace poolscope;

class TestComparisonScenario : public QObject
{
    Q_OBJECT

    scenariotest::Hygiene m_hygiene;

    // The children's "Task N" numbers printed after the parent's line `marker` and before the
    // next parent line.
    static std::vector<int> tasksAfter(const scenariotest::Outcome& o, const std::string& marker)
    {
        std::vector<int> tasks;
        bool in = false;
        const std::regex task("Task (\\d) finished in \\d+\\.\\d\\ds -> (\\d+)");
        for (const auto& line : o.lines) {
            if (line.source == ConsoleLine::Source::Main) {
                in = line.text == marker;
                continue;
            }
            std::smatch m;
            if (in && line.source == ConsoleLine::Source::Child) {
                if (!std::regex_match(line.text, m, task))
                    return {-1};
                const int n = std::stoi(m[1]);
                if (std::stoi(m[2]) != n * n)
                    return {-2};
                tasks.push_back(n);
            }
        }
        return tasks;
    }

private slots:
    void initTestCase() { scenariotest::Hygiene::startForkServer(); }
    void init() { m_hygiene.baseline(); }
    void cleanup() { m_hygiene.check(); }

    void measuresBothTables_data()
    {
        QTest::addColumn<StartMethod>("method");
        QTest::addColumn<int>("workers");
        for (auto [name, m] :
             {std::pair{"fork", StartMethod::Fork}, std::pair{"spawn", StartMethod::Spawn},
              std::pair{"forkserver", StartMethod::ForkServer}})
            QTest::addRow("%s, 3 workers", name) << m << 3;
        // map's default chunksize becomes ceil(6 / 4) = 2: three chunks
        QTest::addRow("fork, 1 worker") << StartMethod::Fork << 1;
    }

    void measuresBothTables()
    {
        QFETCH(StartMethod, method);
        QFETCH(int, workers);
        ScenarioParams p;
        p.startMethod = method;
        p.workers = workers;
        p.timeScale = 0.02;
        const auto o = scenariotest::run("comparison", p);
        QVERIFY2(o.held, o.describe().c_str());
        QCOMPARE(o.facts.size(), std::size_t(11));
        for (const char* fact :
             {"forkserver workers are children of the fork server",
              "fork workers are children of the main process",
              "spawn workers are children of the main process",
              "map returned [1, 4, 9, 16, 25, 36] in input order",
              "imap handed out the results in input order",
              "imap_unordered handed out the same 6 results",
              "each apply returned its task's value", "apply_async's callbacks got the 6 values"})
            QVERIFY2(o.hasFact(fact), fact);
        QCOMPARE(o.notes.size(), std::size_t(4));

        // --- the console ---
        const std::string ms = " +\\d+\\.\\d ms";
        const std::string s = " +\\d+\\.\\d{3} s";
        const std::vector<std::string> expected = {
            "--- Start methods: Pool\\(2\\) started 3 times with each ---",
            "method +default on +1st Pool\\(2\\) up  median up  worker start  workers' parent +"
            "child starts as",
            "spawn +Windows, macOS" + ms + ms + ms +
                "  main process +a fresh program; named "
                "tasks only",
            "fork +Linux \\(Python < 3\\.14\\)" + ms + ms + ms +
                "  main process +a copy of the parent, threads' locks too",
            "forkserver +Linux \\(Python 3\\.14\\+\\)" + ms + ms + ms +
                "  fork server \\(\\d+\\) +a copy of the clean fork server",
            "--- Pool APIs: slow_square over 1\\.\\.6 on Pool\\(" + std::to_string(workers) +
                "\\), delays 0\\.2-0\\.8 s \\(seed 10\\) ---",
            "- map",
            "- imap",
            "- imap_unordered",
            "- apply",
            "- apply_async",
            "API +call returned  first result  all results  blocked\\?  input order\\?  "
            "results, as received",
            "map" + s + s + s + "  yes +yes +1, 4, 9, 16, 25, 36",
            "imap" + s + s + s + "  (yes|no) +yes +1, 4, 9, 16, 25, 36",
            "imap_unordered" + s + s + s + "  (yes|no) +(yes|no) +\\d+(, \\d+){5}",
            "apply" + s + s + s + "  yes +yes +1, 4, 9, 16, 25, 36",
            "apply_async" + s + s + s + "  (yes|no) +(yes|no) +\\d+(, \\d+){5}",
        };
        QCOMPARE(o.main.size(), expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i) {
            QVERIFY2(std::regex_match(o.main[i], std::regex(expected[i])),
                     (o.main[i] + " !~ " + expected[i]).c_str());
        }

        // --- the children's lines: each API ran the six tasks; apply one after another ---
        QCOMPARE(o.child.size(), std::size_t(30));
        const std::vector<int> inOrder{1, 2, 3, 4, 5, 6};
        for (const char* api : {"- map", "- imap", "- imap_unordered", "- apply_async"}) {
            auto tasks = tasksAfter(o, api);
            std::sort(tasks.begin(), tasks.end());
            QVERIFY2(tasks == inOrder, api);
        }
        QCOMPARE(tasksAfter(o, "- apply"), inOrder);

        // --- the events: 9 start-method pools, then one pool per API ---
        std::vector<std::string> pools, jobs;
        int callbacks = 0;
        std::vector<int> serverParents;
        std::string currentPool;
        for (std::size_t i = 0; i < o.log->size(); ++i) {
            const Event e = o.log->at(i);
            if (e.kind == EventKind::PoolCreated) {
                pools.push_back(e.text + " " + std::to_string(e.a));
                currentPool = e.text;
            } else if (e.kind == EventKind::JobSubmitted) {
                jobs.push_back(e.text);
            } else if (e.kind == EventKind::Callback) {
                ++callbacks;
            } else if (e.kind == EventKind::WorkerStarted && pools.size() <= 9) {
                const bool server = currentPool == "forkserver";
                QVERIFY(server ? e.ppid != int(::getpid()) : e.ppid == int(::getpid()));
            }
        }
        std::vector<std::string> expectedPools;
        for (const char* m : {"spawn", "fork", "forkserver"})
            expectedPools.insert(expectedPools.end(), 3, std::string(m) + " 2");
        expectedPools.insert(expectedPools.end(), 5,
                             std::string(startMethodName(method)) + " " + std::to_string(workers));
        QCOMPARE(pools, expectedPools);
        std::vector<std::string> expectedJobs(9, "map square");
        for (const char* j : {"map slow_square", "imap slow_square", "imap_unordered slow_square"})
            expectedJobs.push_back(j);
        expectedJobs.insert(expectedJobs.end(), 12, "apply slow_square"); // apply, apply_async
        QCOMPARE(jobs, expectedJobs);
        QCOMPARE(callbacks, 6);
    }

    void takesItsParameters()
    {
        const auto catalog = ScenarioCatalog::article();
        const Scenario* sc = catalog.find("comparison");
        QVERIFY(sc);
        std::vector<ParameterSpec::Name> names;
        for (const auto& spec : sc->parameters())
            names.push_back(spec.name);
        QCOMPARE(names, (std::vector{ParameterSpec::Name::Workers, ParameterSpec::Name::StartMethod,
                                     ParameterSpec::Name::Seed, ParameterSpec::Name::TimeScale}));
    }
};

QTEST_GUILESS_MAIN(TestComparisonScenario)
#include "tst_comparisonscenario.moc"
