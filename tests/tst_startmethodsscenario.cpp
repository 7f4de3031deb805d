// start-methods: greet under spawn, fork and forkserver; start latency over repeated starts;
// what a child inherits (global, descriptor, threads, a lock held by another thread); which
// targets can be sent.
#include "scenariotestutil.h"
#include "taskregistry.h"

#include <fcntl.h>
#include <regex>
#include <sstream>
#include <unistd.h>

using namespace poolscope;

namespace {

std::vector<std::string> words(const std::string& line)
{
    std::istringstream in(line);
    std::vector<std::string> out;
    for (std::string w; in >> w;)
        out.push_back(w);
    return out;
}

} // namespace

class TestStartMethodsScenario : public QObject
{
    Q_OBJECT

    scenariotest::Hygiene m_hygiene;

private slots:
    void initTestCase() { scenariotest::Hygiene::startForkServer(); }
    void init() { m_hygiene.baseline(); }
    void cleanup() { m_hygiene.check(); }

    void threeMethodsCompared_data()
    {
        QTest::addColumn<double>("timeScale");
        QTest::newRow("time scale 0.02") << 0.02;
        QTest::newRow("time scale 0 (the fork child tries the lock once)") << 0.0;
    }

    void threeMethodsCompared()
    {
        QFETCH(double, timeScale);
        ScenarioParams p;
        p.timeScale = timeScale;
        const auto o = scenariotest::run("start-methods", p);
        QVERIFY2(o.held, o.describe().c_str());
        QCOMPARE(o.facts.size(), std::size_t(9));
        QVERIFY(o.hasFact("the lock another parent thread held is still held in the fork child"));
        QVERIFY(o.hasFact("spawn and forkserver children start with the lock free"));
        QCOMPARE(o.notes.size(), std::size_t(1));
        QVERIFY(o.notes[0].starts_with("start latency, fastest median first: "));

        // The greetings, each right after its method's header: the parent joins each child
        // before it prints the next header. The 60 timed children print into a pipe of the
        // parent's, not on the console.
        QCOMPARE(o.child, (std::vector<std::string>{"Worker received 42", "Worker received 99",
                                                    "Worker received 123",
                                                    "The lambda ran in the fork child"}));
        const std::vector<std::pair<std::string, std::string>> greetings{
            {"--- spawn ---", "Worker received 42"},
            {"--- fork ---", "Worker received 99"},
            {"--- forkserver ---", "Worker received 123"}};
        std::size_t previous = 0;
        for (const auto& [header, greeting] : greetings) {
            const std::size_t at = scenariotest::indexOf(o.lines, header);
            QVERIFY(at + 1 < o.lines.size());
            QVERIFY(at >= previous);
            QCOMPARE(o.lines[at + 1].text, greeting);
            QCOMPARE(o.lines[at + 1].source, ConsoleLine::Source::Child);
            previous = at + 1;
        }

        const auto& m = o.main;
        QCOMPARE(m.size(), std::size_t(3 + 5 + 6 + 4)); // greetings, latency, inheritance, lambda
        QCOMPARE(m[0], std::string("--- spawn ---"));
        QCOMPARE(m[1], std::string("--- fork ---"));
        QCOMPARE(m[2], std::string("--- forkserver ---"));

        // The latency table: measured numbers, one row per method in the article's order.
        QCOMPARE(m[3], std::string("--- start latency: 20 starts each, from start() until the "
                                   "child runs its task ---"));
        QVERIFY(std::regex_match(m[4], std::regex("method +median +min")));
        const char* methods[] = {"spawn", "fork", "forkserver"};
        for (int i = 0; i < 3; ++i) {
            std::smatch t;
            const std::regex row(std::string(methods[i]) +
                                 R"( +([0-9]+\.[0-9]{2}) ms +([0-9]+\.[0-9]{2}) ms)");
            QVERIFY2(std::regex_match(m[5 + i], t, row), m[5 + i].c_str());
            QVERIFY(std::stod(t[2]) <= std::stod(t[1])); // min <= median
            QVERIFY(std::stod(t[2]) > 0);
        }

        // The inheritance table: deterministic values.
        QCOMPARE(m[8], std::string("--- what a child inherits ---"));
        std::smatch setup;
        QVERIFY2(std::regex_match(m[9], setup,
                                  std::regex("The parent set the global to 1, opened descriptor "
                                             "([0-9]+) without passing it, and another of its "
                                             "([0-9]+) threads holds the lock\\.")),
                 m[9].c_str());
        QVERIFY(std::stoi(setup[1]) > 2);
        QVERIFY(std::stoi(setup[2]) >= 2);
        QCOMPARE(words(m[10]), (std::vector<std::string>{"method", "global", "descriptor",
                                                         setup[1].str(), "threads", "lock"}));
        // A fresh program has one thread, unless a sanitizer's runtime adds its own.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
        const std::string fresh = words(m[13]).at(3);
        QVERIFY(fresh == "1" || fresh == "2");
        const std::string freshSpawn = words(m[11]).at(3);
        QVERIFY(freshSpawn == "1" || freshSpawn == "2");
#else
        const std::string fresh = "1";
        const std::string freshSpawn = "1";
#endif
        QCOMPARE(words(m[11]),
                 (std::vector<std::string>{"spawn", "0", "closed", freshSpawn, "free"}));
        QCOMPARE(words(m[12]), (std::vector<std::string>{"fork", "1", "open", "1", "held"}));
        QCOMPARE(words(m[13]),
                 (std::vector<std::string>{"forkserver", "0", "closed", fresh, "free"}));

        // A lambda: fork runs it, spawn and forkserver refuse to send it.
        QCOMPARE(m[14], std::string("--- a C++ lambda as the target ---"));
        QVERIFY2(m[15].starts_with("spawn: PicklingError: Can't pickle the target of Lambda: "),
                 m[15].c_str());
        QCOMPARE(m[16], std::string("fork: started, exit code 0"));
        QVERIFY2(
            m[17].starts_with("forkserver: PicklingError: Can't pickle the target of Lambda: "),
            m[17].c_str());
        QVERIFY(scenariotest::indexOf(o.lines, "The lambda ran in the fork child") <
                scenariotest::indexOf(o.lines, "fork: started, exit code 0"));

        // The run left the lesson state as it found it: global 0, lock free.
        QCOMPARE(lessonGlobal().load(), std::int64_t(0));
        QVERIFY(lessonLock().try_lock());
        lessonLock().unlock();

        // The events: the three greeting processes, each started and exited with 0.
        int started = 0;
        int exited = 0;
        for (std::size_t i = 0; i < o.log->size(); ++i) {
            const Event e = o.log->at(i);
            if (e.kind == EventKind::WorkerStarted) {
                ++started;
                QCOMPARE(e.worker, started);
                QVERIFY(e.pid > 0);
            } else if (e.kind == EventKind::WorkerExited) {
                ++exited;
                QCOMPARE(e.a, std::int64_t(0));
            }
        }
        QCOMPARE(started, 3);
        QCOMPARE(exited, 3);
    }

    // The lesson state is the module's: a held lock or a changed global in this process shows
    // in a fork child only, whoever set it (here the test itself, on this thread).
    void forkChildSeesTheParentsState()
    {
        lessonGlobal().store(7);
        QVERIFY(lessonLock().try_lock());
        std::vector<std::string> lines;
        for (StartMethod method : {StartMethod::Fork, StartMethod::Spawn}) {
            int p[2];
            QVERIFY(::pipe2(p, O_CLOEXEC) == 0);
            ProcessOptions options;
            options.method = method;
            options.outputFd = p[1];
            TaskOptions scale;
            scale.timeScale = 0;
            Process child(ProcessTarget::task("inherited_state", {-1, 0, 0, 0.5}, scale), options);
            child.start();
            ::close(p[1]);
            child.join(30);
            QCOMPARE(child.exitcode(), std::optional<int>(0));
            char buf[256] = {};
            const ssize_t n = ::read(p[0], buf, sizeof buf - 1);
            ::close(p[0]);
            QVERIFY(n > 0);
            lines.push_back(std::string(buf, std::size_t(n)));
        }
        lessonLock().unlock();
        lessonGlobal().store(0);
        QCOMPARE(lines[0], std::string("global=7 descriptor=closed threads=1 lock=held\n"));
        QCOMPARE(lines[1], std::string("global=0 descriptor=closed threads=1 lock=free\n"));
    }

    void parameters()
    {
        const auto catalog = ScenarioCatalog::article();
        const Scenario* s = catalog.find("start-methods");
        QVERIFY(s);
        const auto specs = s->parameters();
        QCOMPARE(specs.size(), std::size_t(1));
        QCOMPARE(specs[0].name, ParameterSpec::Name::TimeScale);
    }
};

QTEST_GUILESS_MAIN(TestStartMethodsScenario)
#include "tst_startmethodsscenario.moc"
