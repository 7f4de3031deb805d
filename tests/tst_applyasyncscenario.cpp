// apply-async: a 2 s square(5) collected with get(), with a ready() loop, and with wait() then
// get(), for each start method.
#include "scenariotestutil.h"

#include <regex>

using namespace poolscope;

namespace {

const std::string kGet = "--- get(): blocks until the worker is done ---";
const std::string kReady = "--- ready(): poll without blocking ---";
const std::string kWait = "--- wait(), then get() ---";
const std::string kTaskLine = "^Task 5 finished in \\d+\\.\\d\\ds -> 25$";

} // namespace

class TestApplyAsyncScenario : public QObject
{
    Q_OBJECT

    scenariotest::Hygiene m_hygiene;

private slots:
    void initTestCase() { scenariotest::Hygiene::startForkServer(); }
    void init() { m_hygiene.baseline(); }
    void cleanup() { m_hygiene.check(); }

    void collectsTheResultThreeWays_data() { scenariotest::addStartMethodRows(); }

    void collectsTheResultThreeWays()
    {
        QFETCH(StartMethod, method);
        ScenarioParams p;
        p.startMethod = method;
        p.timeScale = 0.05; // a 100 ms task, polled every 25 ms
        const auto o = scenariotest::run("apply-async", p);
        QVERIFY2(o.held, o.describe().c_str());
        QCOMPARE(o.facts.size(), std::size_t(9));
        QVERIFY(o.hasFact("ready() answered True only after the worker had finished the task"));
        QVERIFY(o.hasFact("ready() was True right after wait() returned"));

        // The parent's lines: the three parts in order; the number of "Still working..." lines
        // depends on timing, so only their place is checked.
        std::vector<std::string> main;
        std::size_t stillWorking = 0;
        for (const auto& line : o.main) {
            if (line == "Still working...") {
                QCOMPARE(main.back(), kReady); // only between the header and "Done: 25"
                ++stillWorking;
                continue;
            }
            main.push_back(line);
        }
        QCOMPARE(main,
                 (std::vector<std::string>{kGet, "Main keeps running...", "Result: 25", kReady,
                                           "Done: 25", kWait, "Now safe to get: 25"}));
        QVERIFY(o.notes.size() == 3);
        QVERIFY2(o.notes[1].starts_with("ready() answered False " + std::to_string(stillWorking) +
                                        " time"),
                 o.notes[1].c_str());

        // The worker's line of each part comes before the part's result line.
        const std::regex task(kTaskLine);
        std::vector<std::string> order;
        for (const auto& l : o.lines) {
            if (l.source == ConsoleLine::Source::Child) {
                QVERIFY2(std::regex_match(l.text, task), l.text.c_str());
                order.push_back("task");
            } else if (l.source == ConsoleLine::Source::Main && l.text != "Still working...") {
                order.push_back(l.text);
            }
        }
        const auto pos = [&](const std::string& s) {
            return std::find(order.begin(), order.end(), s) - order.begin();
        };
        QCOMPARE(std::count(order.begin(), order.end(), "task"), 3);
        for (auto [header, result] : {std::pair{kGet, "Result: 25"}, std::pair{kReady, "Done: 25"},
                                      std::pair{kWait, "Now safe to get: 25"}}) {
            const auto h = pos(header), r = pos(result);
            QVERIFY(h < r);
            QVERIFY2(std::count(order.begin() + h, order.begin() + r, "task") == 1, result);
        }

        // Three jobs of one slow_square(5) each, sleeping exactly the pinned 2 s (unscaled),
        // each handed over once with 25.
        int jobs = 0, finished = 0, yielded = 0;
        for (std::size_t i = 0; i < o.log->size(); ++i) {
            const Event e = o.log->at(i);
            if (e.kind == EventKind::JobSubmitted) {
                ++jobs;
                QCOMPARE(e.text, std::string("apply slow_square"));
            } else if (e.kind == EventKind::TaskFinished) {
                ++finished;
                QCOMPARE(e.delay, 2.0);
                QCOMPARE(e.value, Value(25));
            } else if (e.kind == EventKind::ResultYielded) {
                ++yielded;
                QCOMPARE(e.value, Value(25));
            }
        }
        QCOMPARE(jobs, 3);
        QCOMPARE(finished, 3);
        QCOMPARE(yielded, 3);
    }

    void noSleepingStillEndsWithTheResult()
    {
        ScenarioParams p;
        p.timeScale = 0.0; // the ready() loop must still end, whatever it printed
        const auto o = scenariotest::run("apply-async", p);
        QVERIFY2(o.held, o.describe().c_str());
        QCOMPARE(o.main.back(), std::string("Now safe to get: 25"));
    }
};

QTEST_GUILESS_MAIN(TestApplyAsyncScenario)
#include "tst_applyasyncscenario.moc"
