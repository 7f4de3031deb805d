// callbacks: work(x) for x in 0..7 with callback and error_callback, then the two pitfalls (a
// lost error, a callback that raises), for each start method.
#include "scenariotestutil.h"

#include <algorithm>
#include <map>

using namespace poolscope;

namespace {

const std::string kMain = "Main can do other stuff while workers run...";
const std::string kPitfall1 =
    "--- Pitfall 1: apply_async without error_callback and without get() ---";
const std::string kPitfall2 = "--- Pitfall 2: a callback that raises ---";

} // namespace

class TestCallbacksScenario : public QObject
{
    Q_OBJECT

    scenariotest::Hygiene m_hygiene;

private slots:
    void initTestCase() { scenariotest::Hygiene::startForkServer(); }
    void init() { m_hygiene.baseline(); }
    void cleanup() { m_hygiene.check(); }

    void callbacksReportEveryResultOnce_data() { scenariotest::addStartMethodRows(); }

    void callbacksReportEveryResultOnce()
    {
        QFETCH(StartMethod, method);
        ScenarioParams p;
        p.startMethod = method;
        p.timeScale = 0.02;
        const auto o = scenariotest::run("callbacks", p);
        QVERIFY2(o.held, o.describe().c_str());
        QCOMPARE(o.facts.size(), std::size_t(12));
        QVERIFY(o.child.empty()); // work prints nothing

        // Part 1: ten lines; "All tasks completed" last; 7 results and one error in between
        // (whether the main line comes before the first callback depends on timing).
        QVERIFY(o.main.size() >= 10);
        const std::vector<std::string> part1(o.main.begin(), o.main.begin() + 10);
        QCOMPARE(part1.back(), std::string("All tasks completed"));
        QCOMPARE(std::count(part1.begin(), part1.end(), kMain), 1);
        QCOMPARE(std::count(part1.begin(), part1.end(), "Error: boom"), 1);
        std::vector<std::string> callbackLines;
        std::vector<long long> values;
        for (const auto& line : part1) {
            if (line == kMain || line == "All tasks completed")
                continue;
            callbackLines.push_back(line);
            if (line.starts_with("Result ready: "))
                values.push_back(std::stoll(line.substr(14)));
        }
        std::sort(values.begin(), values.end());
        QCOMPARE(values, (std::vector<long long>{0, 1, 4, 9, 16, 36, 49}));

        // The pitfalls, line by line: nothing between the first header and its closing line.
        const std::vector<std::string> rest(o.main.begin() + 10, o.main.end());
        QCOMPARE(rest, (std::vector<std::string>{
                           kPitfall1, "close() and join() returned; no error was shown", kPitfall2,
                           "Callback got 4 and raises", "Task of the raising callback ready? True",
                           "Result ready: 9", "Next task: 9"}));
        const auto at = std::find_if(o.lines.begin(), o.lines.end(),
                                     [](const ConsoleLine& l) { return l.text == kPitfall1; });
        QVERIFY(at != o.lines.end() && at + 1 != o.lines.end());
        QCOMPARE((at + 1)->text, std::string("close() and join() returned; no error was shown"));

        // The events: the input of every job, then the callbacks' order against it.
        std::map<int, long long> inputOf;
        std::vector<std::string> fromEvents;
        int errorCallbacks = 0, failedCallbacks = 0, callbacks = 0, lostFailures = 0;
        for (std::size_t i = 0; i < o.log->size(); ++i) {
            const Event e = o.log->at(i);
            if (e.kind == EventKind::TaskStarted) {
                QVERIFY(e.value.isTuple() && e.value.items().size() == 1); // the args tuple (x,)
                inputOf[e.job] = e.value.items().front().asInt();
            }
            if (e.kind == EventKind::TaskFinished && !e.ok) {
                QCOMPARE(e.text, std::string("ValueError: boom"));
                QCOMPARE(inputOf[e.job], 5LL);
                ++lostFailures;
            }
            if (e.kind == EventKind::Callback) {
                ++callbacks;
                failedCallbacks += !e.ok;
                const long long x = inputOf.at(e.job);
                if (fromEvents.size() < 8)
                    fromEvents.push_back("Result ready: " + std::to_string(x * x));
            } else if (e.kind == EventKind::ErrorCallback) {
                ++errorCallbacks;
                QCOMPARE(inputOf.at(e.job), 5LL);
                QCOMPARE(e.text, std::string("ValueError: boom"));
                fromEvents.push_back("Error: boom");
            }
        }
        QCOMPARE(errorCallbacks, 1);         // part 1 only: the pitfall's failure has no callback
        QCOMPARE(callbacks, 7 + 2);          // part 1, then the raising one and the next one
        QCOMPARE(failedCallbacks, 1);        // the one that raised
        QCOMPARE(lostFailures, 2);           // work(5) in part 1 and in pitfall 1
        QCOMPARE(fromEvents, callbackLines); // printed in the order the callbacks ran
    }
};

QTEST_GUILESS_MAIN(TestCallbacksScenario)
#include "tst_callbacksscenario.moc"
