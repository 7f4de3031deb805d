// process-lifecycle: Worker-1 and Worker-2 (alive, pids, exit codes 0 0), then terminate (-15),
// kill (-9) and join with a timeout, under each start method.
#include "forkserver.h"
#include "scenariotestutil.h"

#include <map>
#include <regex>

using namespace poolscope;

namespace {

const std::vector<std::string> kMainLines{
    "Alive? True True",
    "Exit codes: 0 0",
    "--- terminate ---",
    "Sleeper-1 alive? True",
    "After terminate(): alive? False exitcode: -15",
    "--- kill ---",
    "Sleeper-2 alive? True",
    "After kill(): alive? False exitcode: -9",
    "--- join with a timeout ---",
    "After join(timeout=0.1): alive? True exitcode: None",
    "After join(): alive? False exitcode: 0",
};

} // namespace

class TestProcessLifecycleScenario : public QObject
{
    Q_OBJECT

    scenariotest::Hygiene m_hygiene;

private slots:
    void initTestCase() { scenariotest::Hygiene::startForkServer(); }
    void init() { m_hygiene.baseline(); }
    void cleanup() { m_hygiene.check(); }

    void lifecycle_data() { scenariotest::addStartMethodRows(); }

    void lifecycle()
    {
        QFETCH(StartMethod, method);
        ScenarioParams p;
        p.startMethod = method;
        p.timeScale = 0.1;
        const auto o = scenariotest::run("process-lifecycle", p);
        QVERIFY2(o.held, o.describe().c_str());
        QCOMPARE(o.facts.size(), std::size_t(12));
        QVERIFY(o.hasFact("both processes were alive right after start()"));
        QVERIFY(o.hasFact("terminate() mid-sleep gives exit code -15"));
        QVERIFY(o.hasFact("kill() mid-sleep gives exit code -9"));
        QVERIFY(o.hasFact("join(timeout) returned while the child still ran"));
        QCOMPARE(o.main, kMainLines);

        // The children's lines: each worker's start line (its own pid) before its done line;
        // Worker-1 and Worker-2 finish before the parent reads the exit codes, Worker-3 before
        // the final join returns.
        const std::regex start(R"(\[(Worker-[123])\] PID=([0-9]+) start with n=([0-9]+))");
        std::map<std::string, int> pidOf;
        std::map<std::string, std::size_t> startAt, doneAt;
        for (std::size_t i = 0; i < o.lines.size(); ++i) {
            const auto& line = o.lines[i];
            if (line.source != ConsoleLine::Source::Child)
                continue;
            std::smatch m;
            if (std::regex_match(line.text, m, start)) {
                QVERIFY2(!pidOf.count(m[1]), "a worker started twice");
                pidOf[m[1]] = std::stoi(m[2]);
                startAt[m[1]] = i;
                const std::string n = m[1] == "Worker-1" ? "10" : m[1] == "Worker-2" ? "20" : "30";
                QCOMPARE(m[3].str(), n);
            } else {
                const std::regex done(R"(\[(Worker-[123])\] done)");
                QVERIFY2(std::regex_match(line.text, m, done), line.text.c_str());
                QVERIFY2(!doneAt.count(m[1]), "a worker finished twice");
                doneAt[m[1]] = i;
            }
        }
        QCOMPARE(pidOf.size(), std::size_t(3));
        QCOMPARE(doneAt.size(), std::size_t(3));
        const std::size_t exitCodes = scenariotest::indexOf(o.lines, "Exit codes: 0 0");
        const std::size_t finalJoin =
            scenariotest::indexOf(o.lines, "After join(): alive? False exitcode: 0");
        const std::size_t timeoutHeader =
            scenariotest::indexOf(o.lines, "--- join with a timeout ---");
        for (const auto& [name, at] : startAt) {
            QVERIFY(at < doneAt[name]);
            if (name == "Worker-3") {
                QVERIFY(at > timeoutHeader);
                QVERIFY(doneAt[name] < finalJoin);
            } else {
                QVERIFY(doneAt[name] < exitCodes);
            }
        }
        QVERIFY(pidOf["Worker-1"] > 0 && pidOf["Worker-2"] > 0);
        QVERIFY(pidOf["Worker-1"] != pidOf["Worker-2"]);
        for (const auto& [name, pid] : pidOf)
            QVERIFY(pid != int(getpid()));

        // The events: five processes, named, started by this process (or by the fork server),
        // each exiting with its code; the pids agree with what the children printed.
        const std::map<std::string, int> expectedCode{{"Worker-1", 0},
                                                      {"Worker-2", 0},
                                                      {"Sleeper-1", -15},
                                                      {"Sleeper-2", -9},
                                                      {"Worker-3", 0}};
        const int parent = method == StartMethod::ForkServer
                               ? int(ForkServer::serverPid().value_or(-1))
                               : int(getpid());
        std::map<std::string, int> startedPid;
        std::map<std::string, int> exitOf;
        for (std::size_t i = 0; i < o.log->size(); ++i) {
            const Event e = o.log->at(i);
            if (e.kind == EventKind::WorkerStarted) {
                QVERIFY(e.pid > 0);
                QCOMPARE(e.ppid, parent);
                startedPid[e.text] = e.pid;
            } else if (e.kind == EventKind::WorkerExited) {
                QCOMPARE(startedPid[e.text], e.pid);
                exitOf[e.text] = int(e.a);
            }
        }
        QCOMPARE(exitOf, expectedCode);
        QCOMPARE(startedPid.size(), std::size_t(5));
        for (const auto& [name, pid] : pidOf)
            QCOMPARE(startedPid[name], pid);
    }

    // With no sleeping at all, whether a child is still alive right after start() is a race:
    // those two observations become notes, and every other fact still holds.
    void timeScaleZeroReportsTheRaces()
    {
        ScenarioParams p;
        p.timeScale = 0;
        const auto o = scenariotest::run("process-lifecycle", p);
        QVERIFY2(o.held, o.describe().c_str());
        QCOMPARE(o.facts.size(), std::size_t(10));
        QVERIFY(!o.hasFact("both processes were alive right after start()"));
        QVERIFY(o.hasFact("terminate() mid-sleep gives exit code -15"));
        QVERIFY(o.hasFact("kill() mid-sleep gives exit code -9"));
        QCOMPARE(o.notes.size(), std::size_t(3));
        QVERIFY(o.notes[0].starts_with("is_alive() right after start(): "));
        QCOMPARE(o.main.at(1), std::string("Exit codes: 0 0"));
        QCOMPARE(o.main.back(), std::string("After join(): alive? False exitcode: 0"));
    }

    void parameters()
    {
        const auto catalog = ScenarioCatalog::article();
        const Scenario* s = catalog.find("process-lifecycle");
        QVERIFY(s);
        const auto specs = s->parameters();
        QCOMPARE(specs.size(), std::size_t(2));
        QCOMPARE(specs[0].name, ParameterSpec::Name::StartMethod);
        QCOMPARE(specs[1].name, ParameterSpec::Name::TimeScale);
        QCOMPARE(specs[1].defaultValue, 1.0);
        QCOMPARE(specs[1].max, 10.0);
    }
};

QTEST_GUILESS_MAIN(TestProcessLifecycleScenario)
#include "tst_processlifecyclescenario.moc"
