// No zombies, no orphans, no leaked descriptors: after every way a process can end (join,
// terminate, kill, an error, the destructor of an unjoined process, a failed start, the fork
// server's shutdown) this process's children and open descriptors return to their baseline.
// And children die with their parent (PR_SET_PDEATHSIG), grandchildren included.
#include "forkserver.h"
#include "process.h"
#include "processerror.h"
#include "processprobe.h"
#include "processtestutil.h"

#include <QDir>
#include <QTemporaryDir>
#include <QTest>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <optional>
#include <sys/wait.h>
#include <unistd.h>

using namespace poolscope;

namespace {

struct Snapshot
{
    int children = 0;
    int fds = 0;
};

Snapshot snapshot()
{
    return {int(probe::childrenOf().size()), probe::openFdCount()};
}

int zombieChildren()
{
    int n = 0;
    for (const auto& c : probe::childrenOf())
        n += c.state == 'Z';
    return n;
}

// Children of the fork server, if one runs (they are not ours).
int serverChildren()
{
    const auto server = ForkServer::serverPid();
    return server ? int(probe::childrenOf(*server).size()) : 0;
}

#define COMPARE_TO_BASELINE(base)                                                                  \
    do {                                                                                           \
        const Snapshot now = snapshot();                                                           \
        QCOMPARE(now.children, (base).children);                                                   \
        QCOMPARE(now.fds, (base).fds);                                                             \
        QCOMPARE(zombieChildren(), 0);                                                             \
        QCOMPARE(serverChildren(), 0);                                                             \
    } while (0)

} // namespace

class TestProcessHygiene : public QObject
{
    Q_OBJECT

private slots:
    void cleanupTestCase()
    {
        ForkServer::shutdown();
        QCOMPARE(zombieChildren(), 0);
    }

    void joinThenClose_data() { pt::addMethodRows(); }
    void joinThenClose()
    {
        QFETCH(int, method);
        pt::warmUp(method);
        const Snapshot base = snapshot();
        Process p(ProcessTarget::task("square", {3}), pt::opts(method));
        p.start();
        p.join();
        QCOMPARE(p.exitcode(), std::optional<int>(0));
        // Like CPython, the joined process keeps exactly its sentinel until close().
        QCOMPARE(snapshot().children, base.children);
        QCOMPARE(snapshot().fds, base.fds + 1);
        p.close();
        COMPARE_TO_BASELINE(base);
    }

    void endings_data()
    {
        QTest::addColumn<int>("method");
        QTest::addColumn<QString>("how");
        const char* names[] = {"fork", "spawn", "forkserver"};
        for (int m = 0; m < 3; ++m) {
            for (const char* how :
                 {"terminate", "kill", "error", "exit_with", "destructor", "destructor after exit"})
                QTest::addRow("%s %s", names[m], how) << m << QString(how);
        }
    }
    void endings()
    {
        QFETCH(int, method);
        QFETCH(QString, how);
        pt::warmUp(method);
        const Snapshot base = snapshot();
        {
            pt::StderrCapture quiet;
            ProcessTarget target = ProcessTarget::task("sleep", {60});
            if (how == "error")
                target = ProcessTarget::task("raise_error", {"on purpose"});
            else if (how == "exit_with")
                target = ProcessTarget::task("exit_with", {9});
            else if (how == "destructor after exit")
                target = ProcessTarget::task("square", {2});
            Process p(std::move(target), pt::opts(method));
            p.start();
            QVERIFY(snapshot().children >= base.children + (method == 2 ? 0 : 1));
            if (how == "terminate")
                p.terminate();
            else if (how == "kill")
                p.kill();
            if (how == "destructor after exit") {
                pollfd fd{p.sentinel(), POLLIN, 0};
                QCOMPARE(::poll(&fd, 1, 20000), 1); // ended; nobody joined it
            } else if (how != "destructor") {
                p.join();
                QVERIFY(p.exitcode());
            }
        }
        COMPARE_TO_BASELINE(base);
    }

    void failedStarts_data() { pt::addMethodRows(); }
    void failedStarts()
    {
        QFETCH(int, method);
        pt::warmUp(method);
        const Snapshot base = snapshot();
        // A descriptor that is not open.
        {
            ProcessOptions o = pt::opts(method);
            o.passFds = {987};
            Process p(ProcessTarget::task("square", {1}), o);
            QVERIFY_THROWS_EXCEPTION(ProcessError, p.start());
            QVERIFY(!p.pid());
        }
        COMPARE_TO_BASELINE(base);
        // An unknown entry point.
        {
            Process p(ProcessTarget::entry("no-such-entry", {}), pt::opts(method));
            QVERIFY_THROWS_EXCEPTION(ProcessError, p.start());
        }
        COMPARE_TO_BASELINE(base);
        if (pt::methodOf(method) != StartMethod::Fork) {
            Process p(ProcessTarget::callable([] {}), pt::opts(method));
            QVERIFY_THROWS_EXCEPTION(ProcessError, p.start());
            COMPARE_TO_BASELINE(base);
        }
    }

    void missingWorkerProgram_data()
    {
        pt::addMethodRows({StartMethod::Spawn, StartMethod::ForkServer});
    }
    void missingWorkerProgram()
    {
        QFETCH(int, method);
        ForkServer::shutdown(); // a running server would not need the program
        const Snapshot base = snapshot();
        qputenv("POOLSCOPE_WORKER", "/nonexistent/dir/poolscope-worker");
        QString type;
        QString message;
        {
            Process p(ProcessTarget::task("square", {1}), pt::opts(method));
            try {
                p.start();
            } catch (const ProcessError& e) {
                type = QString::fromStdString(e.type());
                message = QString::fromUtf8(e.what());
            }
        }
        qunsetenv("POOLSCOPE_WORKER");
        QCOMPARE(type, QString("OSError"));
        QVERIFY2(message.contains("/nonexistent/dir/poolscope-worker"), qPrintable(message));
        COMPARE_TO_BASELINE(base);
        QVERIFY(!ForkServer::serverPid());
    }

    void forkServerShutdown()
    {
        ForkServer::shutdown();
        const Snapshot base = snapshot();
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const QByteArray oldTmp = qgetenv("TMPDIR");
        qputenv("TMPDIR", tmp.path().toUtf8());
        {
            Process running(ProcessTarget::task("sleep", {60}), pt::opts(2));
            running.start();
            qputenv("TMPDIR", oldTmp);
            const auto server = ForkServer::serverPid();
            QVERIFY(server);
            QCOMPARE(snapshot().children, base.children + 1); // the server
            QCOMPARE(int(probe::childrenOf(*server).size()), 1);
            // The socket and its private directory are gone once the client is connected.
            QCOMPARE(QDir(tmp.path()).entryList(QDir::AllEntries | QDir::NoDotAndDotDot),
                     QStringList());

            ForkServer::shutdown();
            QVERIFY(!ForkServer::serverPid());
            // The server killed its child and reported it before exiting.
            running.join();
            QCOMPARE(running.exitcode(), std::optional<int>(-SIGKILL));
            QVERIFY(::kill(*server, 0) != 0); // reaped: the pid no longer exists
        }
        COMPARE_TO_BASELINE(base);
        ForkServer::shutdown(); // idempotent
        COMPARE_TO_BASELINE(base);
    }

    void childrenDieWithTheirParent_data() { pt::addMethodRows(); }
    void childrenDieWithTheirParent()
    {
        QFETCH(int, method);
        ForkServer::shutdown();
        const Snapshot base = snapshot();
        pt::Subreaper subreaper;
        pt::Pipe pids;
        // The intermediate process starts a grandchild with the method under test, reports
        // its pid (and its fork server's), then waits to be killed.
        Process middle(ProcessTarget::callable([&] {
            Process grandchild(ProcessTarget::task("sleep", {60}), pt::opts(method));
            grandchild.start();
            const auto server = ForkServer::serverPid();
            const std::string s = std::to_string(*grandchild.pid()) + " " +
                                  std::to_string(server ? *server : 0) + "\n";
            (void)!::write(pids.w, s.data(), s.size());
            for (;;)
                ::pause();
        }));
        middle.start();
        pids.closeWrite();
        // Read one line (the grandchild keeps the pipe open, so EOF would not come).
        std::string line;
        for (int i = 0; i < 2000 && line.find('\n') == std::string::npos; ++i) {
            pollfd fd{pids.r, POLLIN, 0};
            if (::poll(&fd, 1, 10) == 1) {
                char buf[64];
                const ssize_t n = ::read(pids.r, buf, sizeof buf);
                if (n <= 0)
                    break;
                line.append(buf, std::size_t(n));
            }
        }
        QVERIFY2(line.find('\n') != std::string::npos, line.c_str());
        const int grandchild = std::atoi(line.c_str());
        const int server = std::atoi(line.c_str() + line.find(' ') + 1);
        QVERIFY(grandchild > 0);
        QCOMPARE(server > 0, pt::methodOf(method) == StartMethod::ForkServer);

        middle.kill();
        middle.join();
        QCOMPARE(middle.exitcode(), std::optional<int>(-SIGKILL));
        // Orphans come to us (subreaper): each must have been killed by its death signal. The
        // fork server goes first: it may see its client's connection close before its own
        // death signal arrives, and then kills and reaps its children itself (as it must).
        if (server > 0) {
            const auto status = pt::reapWithin(server, 20);
            QVERIFY2(status, qPrintable(QString("fork server %1 survived its parent").arg(server)));
            QVERIFY(WIFSIGNALED(*status));
            QCOMPARE(WTERMSIG(*status), SIGKILL);
        }
        const auto status = pt::reapWithin(grandchild, server > 0 ? 1 : 20);
        if (status) {
            QVERIFY(WIFSIGNALED(*status));
            QCOMPARE(WTERMSIG(*status), SIGKILL);
        } else {
            // Not ours to reap: then its own parent (the fork server) reaped it before dying,
            // and it must be gone.
            QVERIFY2(server > 0 && ::kill(grandchild, 0) != 0 && errno == ESRCH,
                     qPrintable(QString("pid %1 survived its parent").arg(grandchild)));
        }
        pids.closeRead();
        middle.close();
        COMPARE_TO_BASELINE(base);
    }
};

QTEST_GUILESS_MAIN(TestProcessHygiene)
#include "tst_processhygiene.moc"
