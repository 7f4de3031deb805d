// imap-vs-unordered: the article's slow squares, first with imap, then with imap_unordered,
// with the same seeded delays, for each start method.
#include "scenariotestutil.h"
#include "taskoptions.h"

#include <algorithm>
#include <map>
#include <regex>

using namespace poolscope;

namespace {

const std::string kOrderedHeader = "--- Using imap (ordered results) ---";
const std::string kUnorderedHeader = "--- Using imap_unordered (unordered results) ---";

// The jobs of the run in submission order (the imap pass, then the imap_unordered pass).
std::vector<int> jobs(const EventLog& log)
{
    std::vector<int> j;
    for (std::size_t i = 0; i < log.size(); ++i) {
        const Event e = log.at(i);
        if (e.kind == EventKind::JobSubmitted)
            j.push_back(e.job);
    }
    return j;
}

std::vector<Event> eventsOf(const EventLog& log, int job, EventKind kind)
{
    std::vector<Event> out;
    for (std::size_t i = 0; i < log.size(); ++i) {
        const Event e = log.at(i);
        if (e.job == job && e.kind == kind)
            out.push_back(e);
    }
    return out;
}

// The console lines from `header` up to the next line that starts with "---" (or the end).
std::vector<ConsoleLine> section(const std::vector<ConsoleLine>& lines, const std::string& header)
{
    std::vector<ConsoleLine> out;
    bool in = false;
    for (const auto& l : lines) {
        if (l.source == ConsoleLine::Source::Main && l.text == header) {
            in = true;
            continue;
        }
        if (in && l.source == ConsoleLine::Source::Main && l.text.starts_with("---"))
            break;
        if (in && (l.source == ConsoleLine::Source::Main || l.source == ConsoleLine::Source::Child))
            out.push_back(l);
    }
    return out;
}

} // namespace

class TestImapVsUnorderedScenario : public QObject
{
    Q_OBJECT

    scenariotest::Hygiene m_hygiene;

    // Checks one pass's console section: 5 worker lines "Task N finished in X.XXs -> N*N", one
    // per task, and 5 result lines; every result line comes after the worker line of its own
    // task, and (ordered) after those of all earlier tasks. Returns the values in result order.
    static std::vector<long long> checkSection(const std::vector<ConsoleLine>& lines,
                                               const std::string& label, bool ordered)
    {
        static const std::regex task(R"(^Task ([1-5]) finished in \d+\.\d\ds -> (\d+)$)");
        const std::regex result("^Got result \\(" + label + "\\): (\\d+)$");
        std::map<int, std::size_t> taskLineAt; // task -> index in the section
        std::vector<long long> values;
        for (std::size_t i = 0; i < lines.size(); ++i) {
            std::smatch m;
            if (lines[i].source == ConsoleLine::Source::Child) {
                if (!std::regex_match(lines[i].text, m, task)) {
                    qWarning("unexpected worker line: %s", lines[i].text.c_str());
                    return {};
                }
                const int n = std::stoi(m[1]);
                if (std::stoll(m[2]) != n * n || taskLineAt.count(n)) {
                    qWarning("wrong or repeated worker line: %s", lines[i].text.c_str());
                    return {};
                }
                taskLineAt[n] = i;
                continue;
            }
            if (!std::regex_match(lines[i].text, m, result)) {
                qWarning("unexpected main line: %s", lines[i].text.c_str());
                return {};
            }
            const long long v = std::stoll(m[1]);
            values.push_back(v);
            // The task whose square v is, and (imap) every earlier one, printed before.
            for (int n = 1; n <= 5; ++n) {
                const bool needed = ordered ? n * n <= v : n * n == v;
                if (needed && (!taskLineAt.count(n) || taskLineAt[n] > i)) {
                    qWarning("result %lld printed before the line of task %d", v, n);
                    return {};
                }
            }
        }
        if (taskLineAt.size() != 5)
            return {};
        return values;
    }

private slots:
    void initTestCase() { scenariotest::Hygiene::startForkServer(); }
    void init() { m_hygiene.baseline(); }
    void cleanup() { m_hygiene.check(); }

    void bothPassesPrintTheSquares_data()
    {
        QTest::addColumn<StartMethod>("method");
        QTest::addColumn<int>("seed");
        QTest::addColumn<int>("chunksize");
        for (auto [name, m] :
             {std::pair{"fork", StartMethod::Fork}, std::pair{"spawn", StartMethod::Spawn},
              std::pair{"forkserver", StartMethod::ForkServer}}) {
            QTest::addRow("%s, seed 10", name) << m << 10 << 1;
            QTest::addRow("%s, seed 3, chunksize 2", name) << m << 3 << 2;
        }
    }

    void bothPassesPrintTheSquares()
    {
        QFETCH(StartMethod, method);
        QFETCH(int, seed);
        QFETCH(int, chunksize);
        ScenarioParams p;
        p.startMethod = method;
        p.seed = std::uint64_t(seed);
        p.chunksize = chunksize;
        p.timeScale = 0.02;
        const auto o = scenariotest::run("imap-vs-unordered", p);
        QVERIFY2(o.held, o.describe().c_str());
        QCOMPARE(o.facts.size(), std::size_t(5));
        QVERIFY(o.hasFact("imap yielded 1, 4, 9, 16, 25: input order"));
        QVERIFY(o.hasFact("in the order its chunk reached the parent"));
        QVERIFY(o.hasFact("same seeded delays for tasks 1..5 (seed " + std::to_string(seed) + ")"));

        // The parent printed two headers and ten results, nothing else.
        QCOMPARE(o.main.size(), std::size_t(12));
        QCOMPARE(o.main.front(), kOrderedHeader);
        QCOMPARE(o.main[6], kUnorderedHeader);
        QCOMPARE(o.child.size(), std::size_t(10));

        const auto ordered = checkSection(section(o.lines, kOrderedHeader), "ordered", true);
        QCOMPARE(ordered, (std::vector<long long>{1, 4, 9, 16, 25}));
        auto unordered = checkSection(section(o.lines, kUnorderedHeader), "unordered", false);
        QCOMPARE(unordered.size(), std::size_t(5));

        // The events: two jobs of five tasks with the seed's delays; imap_unordered yielded in
        // the order the chunks arrived, each chunk's tasks together and in input order.
        const auto j = jobs(*o.log);
        QCOMPARE(j.size(), std::size_t(2));
        TaskOptions options;
        options.seed = std::uint64_t(seed);
        const int chunks = (5 + chunksize - 1) / chunksize;
        for (int job : j) {
            const auto finished = eventsOf(*o.log, job, EventKind::TaskFinished);
            QCOMPARE(finished.size(), std::size_t(5));
            for (const auto& f : finished) {
                QVERIFY(f.ok);
                QCOMPARE(f.delay, options.delayFor(f.task));
                QCOMPARE(f.value, Value((f.task + 1) * (f.task + 1)));
            }
            QCOMPARE(eventsOf(*o.log, job, EventKind::ChunkSubmitted).size(), std::size_t(chunks));
            QCOMPARE(eventsOf(*o.log, job, EventKind::ChunkResult).size(), std::size_t(chunks));
        }
        std::vector<std::int64_t> orderedTasks, arrivalTasks, unorderedTasks;
        for (const auto& e : eventsOf(*o.log, j[0], EventKind::ResultYielded))
            orderedTasks.push_back(e.task);
        QCOMPARE(orderedTasks, (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
        for (const auto& e : eventsOf(*o.log, j[1], EventKind::ChunkResult)) {
            for (int t = e.chunk * chunksize; t < std::min(5, (e.chunk + 1) * chunksize); ++t)
                arrivalTasks.push_back(t);
        }
        std::vector<long long> arrivalValues;
        for (const auto& e : eventsOf(*o.log, j[1], EventKind::ResultYielded)) {
            unorderedTasks.push_back(e.task);
            arrivalValues.push_back(e.value.asInt());
        }
        QCOMPARE(unorderedTasks, arrivalTasks);
        QCOMPARE(unordered, arrivalValues); // the console says what the iterator handed out
        std::sort(unordered.begin(), unordered.end());
        QCOMPARE(unordered, (std::vector<long long>{1, 4, 9, 16, 25}));
    }

    void workersAndChunksizeReachThePool()
    {
        ScenarioParams p;
        p.workers = 1;
        p.timeScale = 0.0; // no sleeping: the order is the single worker's, the input order
        const auto o = scenariotest::run("imap-vs-unordered", p);
        QVERIFY2(o.held, o.describe().c_str());
        int started = 0;
        for (std::size_t i = 0; i < o.log->size(); ++i)
            started += o.log->at(i).kind == EventKind::WorkerStarted;
        QCOMPARE(started, 2); // one worker per pass
        // One worker takes the tasks one after the other: both passes yield in input order.
        const std::vector<std::string> expected{kOrderedHeader,
                                                "Got result (ordered): 1",
                                                "Got result (ordered): 4",
                                                "Got result (ordered): 9",
                                                "Got result (ordered): 16",
                                                "Got result (ordered): 25",
                                                kUnorderedHeader,
                                                "Got result (unordered): 1",
                                                "Got result (unordered): 4",
                                                "Got result (unordered): 9",
                                                "Got result (unordered): 16",
                                                "Got result (unordered): 25"};
        QCOMPARE(o.main, expected);
    }
};

QTEST_GUILESS_MAIN(TestImapVsUnorderedScenario)
#include "tst_imapvsunorderedscenario.moc"
