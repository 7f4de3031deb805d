// chunksize: the same imap_unordered workloads at chunksize 1, map's default and a large value,
// for each start method; chunk boundaries and messages from the events, results, console lines.
#include "scenariotestutil.h"

#include <regex>

using namespace poolscope;

using Sizes = std::vector<int>;
Q_DECLARE_METATYPE(Sizes)

class TestChunksizeScenario : public QObject
{
    Q_OBJECT

    scenariotest::Hygiene m_hygiene;

    struct Job
    {
        std::string text;
        std::int64_t items = 0;
        std::int64_t chunksize = 0;
        int chunksSubmitted = 0;
        int chunkResults = 0;
        int tasksFinished = 0;
        std::vector<std::pair<std::int64_t, std::int64_t>> chunks;
        std::map<std::int64_t, double> delays; // task -> the delay it slept (unscaled)
    };

    static std::vector<Job> jobsOf(const EventLog& log)
    {
        std::vector<Job> jobs;
        std::map<int, std::size_t> index;
        for (std::size_t i = 0; i < log.size(); ++i) {
            const Event e = log.at(i);
            if (e.kind == EventKind::JobSubmitted) {
                index[e.job] = jobs.size();
                jobs.push_back(Job{e.text, e.a, e.b, 0, 0, 0, {}, {}});
                continue;
            }
            auto it = index.find(e.job);
            if (it == index.end())
                continue;
            Job& j = jobs[it->second];
            if (e.kind == EventKind::ChunkSubmitted) {
                ++j.chunksSubmitted;
                j.chunks.emplace_back(e.a, e.b);
            } else if (e.kind == EventKind::ChunkResult) {
                ++j.chunkResults;
            } else if (e.kind == EventKind::TaskFinished) {
                ++j.tasksFinished;
                j.delays[e.task] = e.delay;
            }
        }
        return jobs;
    }

    static std::string row(const std::string& label, int chunks, const std::string& boundaries)
    {
        // label, chunks, messages, first result, total, boundaries
        return label + " +" + std::to_string(chunks) + "  +" + std::to_string(2 * chunks) +
               "  +\\d+\\.\\d ms  +\\d+\\.\\d ms  " + boundaries;
    }

private slots:
    void initTestCase() { scenariotest::Hygiene::startForkServer(); }
    void init() { m_hygiene.baseline(); }
    void cleanup() { m_hygiene.check(); }

    void comparesTheChunksizes_data()
    {
        QTest::addColumn<StartMethod>("method");
        QTest::addColumn<int>("workers");
        QTest::addColumn<int>("given");    // --chunksize, 0: not given
        QTest::addColumn<Sizes>("tiny");   // chunksizes of the tiny part, in order
        QTest::addColumn<Sizes>("uneven"); // of the uneven part
        for (auto [name, m] :
             {std::pair{"fork", StartMethod::Fork}, std::pair{"spawn", StartMethod::Spawn},
              std::pair{"forkserver", StartMethod::ForkServer}}) {
            // 1, ceil(n / 8), ceil(n / 2)
            QTest::addRow("%s, 2 workers", name)
                << m << 2 << 0 << Sizes{1, 1250, 5000} << Sizes{1, 2, 8};
        }
        // 1, ceil(n / 12), the given 7
        QTest::addRow("fork, 3 workers, chunksize 7")
            << StartMethod::Fork << 3 << 7 << Sizes{1, 834, 7} << Sizes{1, 2, 7};
    }

    void comparesTheChunksizes()
    {
        QFETCH(StartMethod, method);
        QFETCH(int, workers);
        QFETCH(int, given);
        QFETCH(Sizes, tiny);
        QFETCH(Sizes, uneven);
        ScenarioParams p;
        p.startMethod = method;
        p.workers = workers;
        p.timeScale = 0.05;
        if (given > 0)
            p.chunksize = given;
        const auto o = scenariotest::run("chunksize", p);
        QVERIFY2(o.held, o.describe().c_str());
        QCOMPARE(o.facts.size(), std::size_t(8));
        QCOMPARE(o.notes.size(), std::size_t(2));
        QVERIFY(o.child.empty()); // square and sleep print nothing

        // Six jobs: the tiny part's three, then the uneven part's, in the given chunksizes.
        const auto jobs = jobsOf(*o.log);
        QCOMPARE(jobs.size(), std::size_t(6));
        for (std::size_t k = 0; k < 6; ++k) {
            const bool isTiny = k < 3;
            const Job& j = jobs[k];
            const std::int64_t n = isTiny ? 10000 : 16;
            const int cs = isTiny ? tiny[k] : uneven[k - 3];
            const int chunks = int((n + cs - 1) / cs);
            QCOMPARE(j.text,
                     std::string(isTiny ? "imap_unordered square" : "imap_unordered sleep"));
            QCOMPARE(j.items, n);
            QCOMPARE(j.chunksize, std::int64_t(cs));
            QCOMPARE(j.chunksSubmitted, chunks);
            QCOMPARE(j.chunkResults, chunks);
            QCOMPARE(j.tasksFinished, int(n));
            for (int c = 0; c < chunks; ++c) {
                QCOMPARE(j.chunks[std::size_t(c)].first, std::int64_t(c) * cs);
                QCOMPARE(j.chunks[std::size_t(c)].second,
                         std::min<std::int64_t>((c + 1) * cs, n) - 1);
            }
            if (!isTiny) {
                QCOMPARE(j.delays.at(0), 0.8);
                for (std::int64_t t = 1; t < 16; ++t)
                    QCOMPARE(j.delays.at(t), 0.1);
            }
        }
        for (const char* fact : {"tiny tasks: every chunksize returned the same 10000 results",
                                 "uneven tasks: every chunksize returned the same 16 results"})
            QVERIFY2(o.hasFact(fact), fact);
        QVERIFY(o.hasFact("tiny tasks, chunksize 1: 10000 consecutive chunks of up to 1 input, "
                          "20000 messages"));

        // The console: per part a title, the header and three rows.
        QCOMPARE(o.main.size(), std::size_t(10));
        const std::string w = std::to_string(workers);
        QCOMPARE(o.main[0],
                 "--- Tiny tasks: square over 10,000 numbers, Pool(" + w + "), imap_unordered ---");
        QCOMPARE(o.main[5], "--- Uneven tasks: sleep(0.8) once, then sleep(0.1) 15 times, Pool(" +
                                w + "), imap_unordered ---");
        const std::regex header("chunksize +chunks  messages  first result +total  boundaries");
        QVERIFY2(std::regex_match(o.main[1], header), o.main[1].c_str());
        QVERIFY2(std::regex_match(o.main[6], header), o.main[6].c_str());
        const std::string large = given ? std::to_string(given) + " \\(given\\)"
                                        : std::to_string(tiny[2]) + " \\(1 chunk per worker\\)";
        const std::string largeUneven =
            given ? std::to_string(given) + " \\(given\\)"
                  : std::to_string(uneven[2]) + " \\(1 chunk per worker\\)";
        const std::vector<std::string> expected = {
            row("1", 10000, "\\[0\\] \\[1\\] \\.\\.\\. \\[9999\\]"),
            row(std::to_string(tiny[1]) + " \\(map default\\)", (10000 + tiny[1] - 1) / tiny[1],
                "\\[0\\.\\." + std::to_string(tiny[1] - 1) + "\\] .*\\.\\.9999\\]"),
            row(large, (10000 + tiny[2] - 1) / tiny[2], "\\[0\\.\\..*\\.\\.9999\\]"),
            row("1", 16, "\\[0\\] \\[1\\] \\.\\.\\. \\[15\\]"),
            row(std::to_string(uneven[1]) + " \\(map default\\)", (16 + uneven[1] - 1) / uneven[1],
                "\\[0\\.\\.1\\] \\[2\\.\\.3\\] .*\\[14\\.\\.15\\]"),
            row(largeUneven, (16 + uneven[2] - 1) / uneven[2], "\\[0\\.\\..*\\.\\.15\\]"),
        };
        const std::size_t lines[] = {2, 3, 4, 7, 8, 9};
        for (std::size_t i = 0; i < expected.size(); ++i) {
            QVERIFY2(std::regex_match(o.main[lines[i]], std::regex(expected[i])),
                     (o.main[lines[i]] + " !~ " + expected[i]).c_str());
        }
    }

    void takesItsParameters()
    {
        const auto catalog = ScenarioCatalog::article();
        const Scenario* s = catalog.find("chunksize");
        QVERIFY(s);
        std::vector<ParameterSpec::Name> names;
        for (const auto& spec : s->parameters())
            names.push_back(spec.name);
        QCOMPARE(names,
                 (std::vector{ParameterSpec::Name::Workers, ParameterSpec::Name::Chunksize,
                              ParameterSpec::Name::StartMethod, ParameterSpec::Name::TimeScale}));
    }
};

QTEST_GUILESS_MAIN(TestChunksizeScenario)
#include "tst_chunksizescenario.moc"
