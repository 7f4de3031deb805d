// counter-race: threads without a lock (several trials), threads with a lock, fork processes.
// Lost updates are likely, not certain: the tests assert what holds on every run.
#include "scenariotestutil.h"

#include <algorithm>
#include <regex>
#include <set>

using namespace poolscope;

namespace {

long long valueAfter(const std::string& line, const std::string& prefix)
{
    if (!line.starts_with(prefix))
        return -1;
    const std::string rest = line.substr(prefix.size());
    if (!std::regex_match(rest, std::regex("[0-9]+")))
        return -1;
    return std::stoll(rest);
}

const std::string kThread = "Thread's counter value: ";
const std::string kThreadsSee = "Threads see counter in same memory: ";

} // namespace

class TestCounterRaceScenario : public QObject
{
    Q_OBJECT

    scenariotest::Hygiene m_hygiene;

private slots:
    void init() { m_hygiene.baseline(); }
    void cleanup() { m_hygiene.check(); }

    void threadsAndProcesses_data()
    {
        QTest::addColumn<int>("workers");
        QTest::newRow("2 (the article)") << 2;
        QTest::newRow("3") << 3;
        QTest::newRow("1") << 1;
    }

    void threadsAndProcesses()
    {
        QFETCH(int, workers);
        const long long total = workers * 100000LL;
        ScenarioParams p;
        if (workers != 2)
            p.workers = workers;
        const auto o = scenariotest::run("counter-race", p);
        QVERIFY2(o.held, o.describe().c_str());
        QCOMPARE(o.facts.size(), std::size_t(6));
        QVERIFY(o.hasFact("without a lock the counter never exceeded " + std::to_string(total)));
        QVERIFY(o.hasFact("with a lock the counter is exactly " + std::to_string(total)));
        QVERIFY(o.hasFact("the parent's counter stayed 0"));
        QVERIFY(o.hasFact("each process counted to 100000 in its own memory"));
        QCOMPARE(o.notes.size(), std::size_t(1));

        // Part 1: five trials of `workers` thread lines and the final count, never above the
        // total; the last thread to print saw the final count (it read after every loop ended).
        const auto& m = o.main;
        std::size_t i = 0;
        QCOMPARE(m.at(i++), "--- threads without a lock: " + std::to_string(workers) +
                                " x 100000 increments, 5 trials ---");
        int lossy = 0;
        for (int trial = 1; trial <= 5; ++trial) {
            QCOMPARE(m.at(i++), "Trial " + std::to_string(trial) + ":");
            long long last = -1;
            for (int t = 0; t < workers; ++t) {
                const long long v = valueAfter(m.at(i++), kThread);
                QVERIFY2(v >= 0 && v <= total, m.at(i - 1).c_str());
                last = v;
            }
            const long long final = valueAfter(m.at(i++), kThreadsSee);
            QVERIFY2(final >= 1 && final <= total, m.at(i - 1).c_str());
            QCOMPARE(last, final);
            lossy += final < total;
        }
        QCOMPARE(m.at(i++), "Updates were lost in " + std::to_string(lossy) + " of 5 trials");
        if (workers == 1)
            QCOMPARE(lossy, 0); // one thread has nobody to race with

        // Part 2: with a lock every increment counts: the first to finish has done its own
        // 100000 at least, the last prints the exact total.
        QCOMPARE(m.at(i++), std::string("--- threads with a lock ---"));
        for (int t = 0; t < workers; ++t) {
            const long long v = valueAfter(m.at(i++), kThread);
            QVERIFY2(v >= 100000 && v <= total, m.at(i - 1).c_str());
            if (t == workers - 1)
                QCOMPARE(v, total);
        }

        // Part 3: each child prints its own 100000 (through the output pipe), the parent 0.
        QCOMPARE(m.at(i++), std::string("--- processes (fork) ---"));
        QCOMPARE(m.at(i++), std::string("Process does not see counter in same memory: 0"));
        QCOMPARE(m.at(i++), kThreadsSee + std::to_string(total));
        QCOMPARE(i, m.size());
        QCOMPARE(o.child,
                 std::vector<std::string>(std::size_t(workers), "Process's counter value: 100000"));
        // The children's lines come between the processes' header and the parent's verdict.
        std::vector<ConsoleLine::Source> order;
        bool inPart3 = false;
        for (const auto& line : o.lines) {
            inPart3 = inPart3 || line.text == "--- processes (fork) ---";
            if (inPart3 && (line.source == ConsoleLine::Source::Main ||
                            line.source == ConsoleLine::Source::Child))
                order.push_back(line.source);
        }
        std::vector<ConsoleLine::Source> expected{ConsoleLine::Source::Main};
        expected.insert(expected.end(), std::size_t(workers), ConsoleLine::Source::Child);
        expected.insert(expected.end(), 2, ConsoleLine::Source::Main);
        QCOMPARE(order, expected);

        // The events: each process started once (distinct pids, this process as parent) and
        // exited with 0.
        std::set<int> started;
        int exited = 0;
        for (std::size_t k = 0; k < o.log->size(); ++k) {
            const Event e = o.log->at(k);
            if (e.kind == EventKind::WorkerStarted) {
                QVERIFY(e.pid > 0);
                QCOMPARE(e.ppid, int(getpid()));
                QVERIFY(e.worker >= 1 && e.worker <= workers);
                started.insert(e.pid);
            } else if (e.kind == EventKind::WorkerExited) {
                QCOMPARE(e.a, std::int64_t(0));
                QVERIFY(started.count(e.pid) == 1);
                ++exited;
            }
        }
        QCOMPARE(int(started.size()), workers);
        QCOMPARE(exited, workers);
    }

    // The processes part is fork only; the command line refuses options the scenario does not
    // take instead of ignoring them.
    void takesOnlyWorkers()
    {
        const auto catalog = ScenarioCatalog::article();
        const Scenario* s = catalog.find("counter-race");
        QVERIFY(s);
        const auto specs = s->parameters();
        QCOMPARE(specs.size(), std::size_t(1));
        QCOMPARE(specs[0].name, ParameterSpec::Name::Workers);
        QCOMPARE(specs[0].defaultValue, 2.0);
    }
};

QTEST_GUILESS_MAIN(TestCounterRaceScenario)
#include "tst_counterracescenario.moc"
