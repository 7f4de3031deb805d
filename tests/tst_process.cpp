// Process lifecycle with Python's semantics, for each start method (CPython's own checks from
// _test_multiprocessing.py: state before/after start and join, terminate, kill, join(0),
// 100 processes, exit code mapping), plus names and misuse errors.
#include "forkserver.h"
#include "process.h"
#include "processerror.h"
#include "processprobe.h"
#include "processtestutil.h"
#include "systemexit.h"

#include <QTest>
#include <csignal>
#include <cstdlib>
#include <memory>
#include <poll.h>
#include <set>
#include <unistd.h>

using namespace poolscope;

namespace {

// Changed by the test right before start(): a fork child sees the new value in its copy of
// memory; nothing but serialized data reaches a spawn or forkserver child.
int g_marker = 0;

ProcessTarget sleeper()
{
    return ProcessTarget::task("sleep", {60});
}

template <typename F> QString errorType(F&& f, QString* message = nullptr)
{
    try {
        f();
    } catch (const ProcessError& e) {
        if (message)
            *message = QString::fromUtf8(e.what());
        return QString::fromStdString(e.type());
    }
    return QStringLiteral("<no error>");
}

bool readable(int fd)
{
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
}

} // namespace

class TestProcess : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase()
    {
        // Start the fork server now, with this process's real stderr: tests below capture
        // stderr, and a server started meanwhile would keep the capture pipe open.
        QCOMPARE(pt::warmUp(int(StartMethod::ForkServer)), std::optional<int>(0));
    }
    void cleanupTestCase() { ForkServer::shutdown(); }

    void stateBeforeAndAfter_data() { pt::addMethodRows(); }
    void stateBeforeAndAfter()
    {
        QFETCH(int, method);
        Process p(ProcessTarget::task("exit_with", {0}), pt::opts(method));
        QVERIFY(!p.pid());
        QVERIFY(!p.isAlive());
        QVERIFY(!p.exitcode());
        QCOMPARE(p.sentinel(), -1);
        QCOMPARE(p.startMethod(), pt::methodOf(method));
        QVERIFY(p.name().starts_with("Process-"));

        p.start();
        QVERIFY(p.pid());
        QVERIFY(*p.pid() > 0);
        QVERIFY(*p.pid() != getpid());
        QVERIFY(p.sentinel() >= 0);
        p.join();
        QCOMPARE(p.exitcode(), std::optional<int>(0));
        QVERIFY(!p.isAlive());
        QVERIFY(readable(p.sentinel()));
        p.join(); // joining again is harmless
        QCOMPARE(p.exitcode(), std::optional<int>(0));
    }

    // A fork child started without a sentinel (as a pool starts its workers, which it watches
    // through their result pipes): joins, with and without a timeout, work as with one; spawn
    // and forkserver children keep theirs.
    void withoutSentinel_data() { pt::addMethodRows(); }
    void withoutSentinel()
    {
        QFETCH(int, method);
        ProcessOptions o = pt::opts(method);
        o.sentinel = false;
        const int fdsBefore = probe::openFdCount();
        Process p(sleeper(), o);
        p.start();
        QCOMPARE(p.sentinel() >= 0, pt::methodOf(method) != StartMethod::Fork);
        if (pt::methodOf(method) == StartMethod::Fork)
            QCOMPARE(probe::openFdCount(), fdsBefore); // no descriptor held for the child
        p.join(0);                                     // at once: it still sleeps
        QVERIFY(p.isAlive());
        p.join(0.05);
        QVERIFY(p.isAlive());
        QVERIFY(!p.exitcode());
        p.terminate();
        p.join(30);
        QCOMPARE(p.exitcode(), std::optional<int>(-SIGTERM));

        Process q(ProcessTarget::task("exit_with", {5}), o);
        q.start();
        q.join(30); // ends long before the timeout: the wait ends with it
        QCOMPARE(q.exitcode(), std::optional<int>(5));
        QVERIFY(!q.isAlive());
    }

    void runningState_data() { pt::addMethodRows(); }
    void runningState()
    {
        QFETCH(int, method);
        Process p(sleeper(), pt::opts(method));
        p.start();
        QVERIFY(p.isAlive());
        QVERIFY(!p.exitcode());
        QVERIFY(!readable(p.sentinel()));
        p.join(0); // returns at once: the child still sleeps
        QVERIFY(p.isAlive());
        QVERIFY(!p.exitcode());
        p.join(0.05);
        QVERIFY(p.isAlive());
        p.kill();
        p.join();
    }

    void terminate_data() { pt::addMethodRows(); }
    void terminate()
    {
        QFETCH(int, method);
        Process p(sleeper(), pt::opts(method));
        p.start();
        p.terminate();
        p.join();
        QCOMPARE(p.exitcode(), std::optional<int>(-SIGTERM));
        QVERIFY(!p.isAlive());
        p.terminate(); // after the end: nothing to signal, no error
        QCOMPARE(p.exitcode(), std::optional<int>(-SIGTERM));
    }

    void kill_data() { pt::addMethodRows(); }
    void kill()
    {
        QFETCH(int, method);
        Process p(sleeper(), pt::opts(method));
        p.start();
        QVERIFY(p.isAlive());
        p.kill();
        p.join();
        QCOMPARE(p.exitcode(), std::optional<int>(-SIGKILL));
    }

    void joinTimeoutThenKill_data() { pt::addMethodRows(); }
    void joinTimeoutThenKill()
    {
        QFETCH(int, method);
        Process p(sleeper(), pt::opts(method));
        p.start();
        p.join(0.1);
        QVERIFY(!p.exitcode());
        p.kill();
        p.join(30);
        QCOMPARE(p.exitcode(), std::optional<int>(-SIGKILL));
    }

    void hundredProcesses_data() { pt::addMethodRows(); }
    void hundredProcesses()
    {
        QFETCH(int, method);
        std::vector<std::unique_ptr<Process>> ps;
        for (int i = 0; i < 100; ++i) {
            ps.push_back(
                std::make_unique<Process>(ProcessTarget::task("square", {i}), pt::opts(method)));
            ps.back()->start();
        }
        std::set<int> pids;
        for (auto& p : ps) {
            p->join();
            QCOMPARE(p->exitcode(), std::optional<int>(0));
            pids.insert(*p->pid());
        }
        QCOMPARE(int(pids.size()), 100);
    }

    // Process::startAll: more processes than one run of back-to-back forks (16), each with its
    // own exit code and pid; the parent holds no descriptor more once all have been joined.
    void startAllStartsEach_data() { pt::addMethodRows(); }
    void startAllStartsEach()
    {
        QFETCH(int, method);
        const int fdsBefore = probe::openFdCount();
        {
            std::vector<std::unique_ptr<Process>> ps;
            std::vector<Process*> all;
            for (int i = 0; i < 20; ++i) {
                ps.push_back(std::make_unique<Process>(ProcessTarget::task("exit_with", {i}),
                                                       pt::opts(method)));
                all.push_back(ps.back().get());
            }
            Process::startAll(all);
            std::set<int> pids;
            for (int i = 0; i < 20; ++i) {
                QVERIFY(ps[i]->pid());
                ps[i]->join();
                QCOMPARE(ps[i]->exitcode(), std::optional<int>(i));
                pids.insert(*ps[i]->pid());
            }
            QCOMPARE(int(pids.size()), 20);
        }
        QCOMPARE(probe::openFdCount(), fdsBefore);
    }

    // Every sentinel pipe of a run of forks is made before the first fork, so each child is
    // born with all of them; a child that keeps what it inherits (a callable) must not keep the
    // others' write ends, or their exits would go unseen while it lives.
    void startAllChildrenHoldNoOtherSentinel()
    {
        pt::Pipe release;
        const int r = release.r;
        Process slow(ProcessTarget::callable([r] {
                         char c;
                         (void)!::read(r, &c, 1);
                     }),
                     pt::opts(0));
        Process quick(ProcessTarget::callable([] {}), pt::opts(0));
        Process* both[] = {&slow, &quick};
        Process::startAll(both);
        quick.join(); // waitpid: it has exited, and closed what it held
        QCOMPARE(quick.exitcode(), std::optional<int>(0));
        QVERIFY(slow.isAlive());
        QVERIFY(readable(quick.sentinel())); // no other holder of its write end
        QCOMPARE(::write(release.w, "x", 1), ssize_t(1));
        slow.join(30);
        QCOMPARE(slow.exitcode(), std::optional<int>(0));
    }

    // The first process that cannot start ends startAll with its error: the ones before it
    // have started, the ones after it have not (and hold nothing).
    void startAllStopsAtTheFirstThatCannotStart_data() { pt::addMethodRows(); }
    void startAllStopsAtTheFirstThatCannotStart()
    {
        QFETCH(int, method);
        const int fdsBefore = probe::openFdCount();
        {
            Process before(ProcessTarget::task("exit_with", {3}), pt::opts(method));
            Process started(ProcessTarget::task("exit_with", {0}), pt::opts(method));
            Process after(ProcessTarget::task("exit_with", {4}), pt::opts(method));
            started.start();
            started.join();
            Process* all[] = {&before, &started, &after};
            QString msg;
            QCOMPARE(errorType([&] { Process::startAll(all); }, &msg), QString("AssertionError"));
            QCOMPARE(msg, QString("cannot start a process twice"));
            QVERIFY(before.pid());
            QVERIFY(!after.pid());
            before.join();
            QCOMPARE(before.exitcode(), std::optional<int>(3));
            after.start(); // untouched: it can still start
            after.join();
            QCOMPARE(after.exitcode(), std::optional<int>(4));
        }
        QCOMPARE(probe::openFdCount(), fdsBefore);
    }

    void exitcodes_data()
    {
        QTest::addColumn<int>("method");
        QTest::addColumn<QString>("task");
        QTest::addColumn<int>("arg");
        QTest::addColumn<int>("expected");
        const char* names[] = {"fork", "spawn", "forkserver"};
        for (int m = 0; m < 3; ++m) {
            QTest::addRow("%s exit_with 0", names[m]) << m << "exit_with" << 0 << 0;
            QTest::addRow("%s exit_with 3", names[m]) << m << "exit_with" << 3 << 3;
            QTest::addRow("%s exit_with 255", names[m]) << m << "exit_with" << 255 << 255;
            QTest::addRow("%s raise_error", names[m]) << m << "raise_error" << 0 << 1;
            QTest::addRow("%s square returns", names[m]) << m << "square" << 7 << 0;
            QTest::addRow("%s bad arguments", names[m]) << m << "add" << 1 << 1;
        }
    }
    void exitcodes()
    {
        QFETCH(int, method);
        QFETCH(QString, task);
        QFETCH(int, arg);
        QFETCH(int, expected);
        pt::StderrCapture quiet; // the traceback of raise_error is checked elsewhere
        Process p(ProcessTarget::task(task.toStdString(), {arg}), pt::opts(method));
        p.start();
        p.join();
        QCOMPARE(p.exitcode(), std::optional<int>(expected));
    }

    void callableExitcodes()
    {
        pt::StderrCapture quiet;
        Process ok(ProcessTarget::callable([] {}), pt::opts(0));
        Process exits(ProcessTarget::callable([] { throw SystemExit{7}; }), pt::opts(0));
        Process raises(ProcessTarget::callable([] { throw std::runtime_error("bad"); }),
                       pt::opts(0));
        for (Process* p : {&ok, &exits, &raises})
            p->start();
        for (Process* p : {&ok, &exits, &raises})
            p->join();
        QCOMPARE(ok.exitcode(), std::optional<int>(0));
        QCOMPARE(exits.exitcode(), std::optional<int>(7));
        QCOMPARE(raises.exitcode(), std::optional<int>(1));
        const std::string err = quiet.text();
        QVERIFY2(err.find("std::runtime_error: bad") != std::string::npos, err.c_str());
    }

    void traceback_data()
    {
        // A forkserver child writes to the server's stderr, fixed when the server started.
        pt::addMethodRows({StartMethod::Fork, StartMethod::Spawn});
    }
    void traceback()
    {
        QFETCH(int, method);
        pt::StderrCapture capture;
        Process p(ProcessTarget::task("raise_error", {"boom"}), pt::opts(method));
        p.start();
        p.join();
        const std::string err = capture.text();
        QCOMPARE(p.exitcode(), std::optional<int>(1));
        const std::string head = "Process " + p.name() + ":\nTraceback (most recent call last):\n";
        QVERIFY2(err.starts_with(head), err.c_str());
        QVERIFY2(err.find("raise_error") != std::string::npos, err.c_str());
        QVERIFY2(err.ends_with("\nRuntimeError: boom\n"), err.c_str());
    }

    void names()
    {
        Process a(ProcessTarget::task("square", {1}));
        Process b(ProcessTarget::task("square", {1}));
        ProcessOptions named;
        named.name = "Custom";
        Process c(ProcessTarget::task("square", {1}), named);
        Process d(ProcessTarget::task("square", {1}));
        const int na = std::stoi(a.name().substr(8));
        QCOMPARE(pt::q(a.name()), QString("Process-%1").arg(na));
        QCOMPARE(pt::q(b.name()), QString("Process-%1").arg(na + 1));
        QCOMPARE(pt::q(c.name()), QString("Custom"));
        QCOMPARE(pt::q(c.identity()), QString::number(na + 2));
        // A named process takes a number too, as in CPython (its _identity).
        QCOMPARE(pt::q(d.name()), QString("Process-%1").arg(na + 3));
        d.setName("Renamed");
        QCOMPARE(pt::q(d.name()), QString("Renamed"));
    }

    void childNamesAndCounter()
    {
        // Inside Process-N, children are Process-N:1, Process-N:2 (CPython's identity).
        pt::Pipe out;
        Process p(ProcessTarget::callable([&] {
            Process c1(ProcessTarget::task("square", {1}));
            Process c2(ProcessTarget::task("square", {1}));
            const std::string s = c1.name() + " " + c2.name();
            (void)!::write(out.w, s.data(), s.size());
        }));
        p.start();
        out.closeWrite();
        const auto got = pt::readAll(out.r);
        p.join();
        QVERIFY(got);
        QCOMPARE(pt::q(*got), pt::q(p.name() + ":1 " + p.name() + ":2"));
    }

    void startTwice_data() { pt::addMethodRows(); }
    void startTwice()
    {
        QFETCH(int, method);
        Process p(ProcessTarget::task("square", {2}), pt::opts(method));
        p.start();
        QString msg;
        QCOMPARE(errorType([&] { p.start(); }, &msg), QString("AssertionError"));
        QCOMPARE(msg, QString("cannot start a process twice"));
        p.join();
        QCOMPARE(errorType([&] { p.start(); }), QString("AssertionError"));
    }

    void closed_data() { pt::addMethodRows(); }
    void closed()
    {
        QFETCH(int, method);
        Process p(ProcessTarget::task("square", {2}), pt::opts(method));
        p.start();
        p.join();
        const int sentinel = p.sentinel();
        p.close();
        QVERIFY(::fcntl(sentinel, F_GETFD) < 0); // close() released the sentinel
        QString msg;
        QCOMPARE(errorType([&] { p.start(); }, &msg), QString("ValueError"));
        QCOMPARE(msg, QString("process object is closed"));
        QCOMPARE(errorType([&] { p.join(); }), QString("ValueError"));
        QCOMPARE(errorType([&] { p.isAlive(); }), QString("ValueError"));
        QCOMPARE(errorType([&] { p.exitcode(); }), QString("ValueError"));
        QCOMPARE(errorType([&] { p.pid(); }), QString("ValueError"));
        QCOMPARE(errorType([&] { p.terminate(); }), QString("ValueError"));
        QCOMPARE(errorType([&] { p.kill(); }), QString("ValueError"));
        QCOMPARE(errorType([&] { p.sentinel(); }), QString("ValueError"));
        QVERIFY(p.name().starts_with("Process-")); // the name stays readable, as in Python
        p.close();                                 // closing twice is fine
    }

    void closeUnstarted()
    {
        Process p(ProcessTarget::task("square", {2}));
        p.close();
        QCOMPARE(errorType([&] { p.start(); }), QString("ValueError"));
    }

    void closeWhileRunning_data() { pt::addMethodRows(); }
    void closeWhileRunning()
    {
        QFETCH(int, method);
        Process p(sleeper(), pt::opts(method));
        p.start();
        QString msg;
        QCOMPARE(errorType([&] { p.close(); }, &msg), QString("ValueError"));
        QCOMPARE(msg, QString("Cannot close a process while it is still running. You should "
                              "first call join() or terminate()."));
        QVERIFY(p.isAlive()); // still usable
        p.terminate();
        p.join();
        p.close();
    }

    void misuseBeforeStart()
    {
        Process p(sleeper());
        QString msg;
        QCOMPARE(errorType([&] { p.join(); }, &msg), QString("AssertionError"));
        QCOMPARE(msg, QString("can only join a started process"));
        QCOMPARE(errorType([&] { p.terminate(); }), QString("AttributeError"));
        QCOMPARE(errorType([&] { p.kill(); }), QString("AttributeError"));
        QVERIFY(!p.daemon());
        p.setDaemon(true);
        QVERIFY(p.daemon());
        p.setDaemon(false);
        p.start();
        QCOMPARE(errorType([&] { p.setDaemon(true); }, &msg), QString("AssertionError"));
        QCOMPARE(msg, QString("process has already started"));
        p.kill();
        p.join();
    }

    void callableNeedsFork_data()
    {
        pt::addMethodRows({StartMethod::Spawn, StartMethod::ForkServer});
    }
    void callableNeedsFork()
    {
        QFETCH(int, method);
        Process p(ProcessTarget::callable([] {}), pt::opts(method));
        QString msg;
        QCOMPARE(errorType([&] { p.start(); }, &msg), QString("PicklingError"));
        QVERIFY2(msg.contains("C++ callable") && msg.contains("register it as a task"),
                 qPrintable(msg));
        QVERIFY(!p.pid());
        QVERIFY(!p.isAlive());
    }

    void unknownTask_data() { pt::addMethodRows(); }
    void unknownTask()
    {
        QFETCH(int, method);
        pt::StderrCapture capture;
        Process p(ProcessTarget::task("no_such_task", {1}), pt::opts(method));
        if (pt::methodOf(method) == StartMethod::Fork) {
            // Like unpickling a missing function: the child fails.
            p.start();
            p.join();
            const std::string err = capture.text();
            QCOMPARE(p.exitcode(), std::optional<int>(1));
            QVERIFY2(err.find("AttributeError: Can't get attribute 'no_such_task'") !=
                         std::string::npos,
                     err.c_str());
        } else {
            // Detected before anything is launched: the name is all that would travel.
            QString msg;
            QCOMPARE(errorType([&] { p.start(); }, &msg), QString("PicklingError"));
            QVERIFY2(msg.contains("no_such_task"), qPrintable(msg));
            QVERIFY(!p.pid());
        }
    }

    void forkChildSeesMemory()
    {
        pt::Pipe out;
        g_marker = 1;
        Process p(ProcessTarget::callable([&] {
            const std::string s = std::to_string(g_marker);
            (void)!::write(out.w, s.data(), s.size());
        }));
        g_marker = 42; // after construction, before start: the fork copies memory at start()
        p.start();
        g_marker = 7; // too late for the child
        out.closeWrite();
        const auto got = pt::readAll(out.r);
        p.join();
        QCOMPARE(p.exitcode(), std::optional<int>(0));
        QVERIFY(got);
        QCOMPARE(pt::q(*got), QString("42"));
    }

    void spawnChildGetsOnlySerializedData_data()
    {
        pt::addMethodRows({StartMethod::Spawn, StartMethod::ForkServer});
    }
    void spawnChildGetsOnlySerializedData()
    {
        QFETCH(int, method);
        // The target's arguments are what travels (exit code 42 comes from them); the
        // parent's memory (g_marker) cannot be reached at all.
        g_marker = 42;
        Process p(ProcessTarget::task("exit_with", {42}), pt::opts(method));
        p.start();
        p.join();
        QCOMPARE(p.exitcode(), std::optional<int>(42));
        Process q(ProcessTarget::callable([] { std::_Exit(g_marker); }), pt::opts(method));
        QCOMPARE(errorType([&] { q.start(); }), QString("PicklingError"));
        // A fresh program, not a copy of this one.
        const auto r = pt::runProbe(pt::methodOf(method));
        QVERIFY(r);
        QVERIFY2(r->exe.ends_with("/poolscope-worker"), r->exe.c_str());
        const auto f = pt::runProbe(StartMethod::Fork);
        QVERIFY(f);
        QVERIFY2(!f->exe.ends_with("/poolscope-worker"), f->exe.c_str());
    }

    void parentPid_data() { pt::addMethodRows(); }
    void parentPid()
    {
        QFETCH(int, method);
        const auto r = pt::runProbe(pt::methodOf(method));
        QVERIFY(r);
        QCOMPARE(r->exitcode, 0);
        if (pt::methodOf(method) == StartMethod::ForkServer) {
            const auto server = ForkServer::serverPid();
            QVERIFY(server);
            QCOMPARE(r->ppid, int(*server));
            QVERIFY(r->ppid != getpid());
        } else {
            QCOMPARE(r->ppid, int(getpid()));
        }
    }

    void childKnowsItself_data() { pt::addMethodRows(); }
    void childKnowsItself()
    {
        QFETCH(int, method);
        ProcessOptions o;
        o.name = "Probe-With-A-Long-Name";
        const auto r = pt::runProbe(pt::methodOf(method), o, "hello");
        QVERIFY(r);
        QCOMPARE(pt::q(r->name), QString("Probe-With-A-Long-Name"));
        QCOMPARE(pt::q(r->comm), QString("Probe-With-A-Lo")); // the OS keeps 15 characters
        QCOMPARE(pt::q(r->payload), QString("hello"));
        QVERIFY(!r->identity.empty());
        QVERIFY(!r->daemon);
    }

    void daemonCannotHaveChildren()
    {
        pt::Pipe out;
        ProcessOptions o;
        o.daemon = true;
        Process p(ProcessTarget::callable([&] {
                      Process c(ProcessTarget::task("square", {1}));
                      std::string s = "started";
                      try {
                          c.start();
                          c.join();
                      } catch (const ProcessError& e) {
                          s = e.type() + ": " + e.what();
                      }
                      (void)!::write(out.w, s.data(), s.size());
                  }),
                  o);
        QVERIFY(p.daemon());
        p.start();
        out.closeWrite();
        const auto got = pt::readAll(out.r);
        p.join();
        QVERIFY(got);
        QCOMPARE(pt::q(*got),
                 QString("AssertionError: daemonic processes are not allowed to have children"));
    }

    void sentinelBecomesReadable_data() { pt::addMethodRows(); }
    void sentinelBecomesReadable()
    {
        QFETCH(int, method);
        Process p(sleeper(), pt::opts(method));
        p.start();
        QVERIFY(!readable(p.sentinel()));
        p.kill();
        pollfd fd{p.sentinel(), POLLIN, 0};
        QCOMPARE(::poll(&fd, 1, 20000), 1); // a bounded wait for the condition
        p.join();
        QCOMPARE(p.exitcode(), std::optional<int>(-SIGKILL));
    }
};

QTEST_GUILESS_MAIN(TestProcess)
#include "tst_process.moc"
