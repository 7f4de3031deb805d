// What distinguishes fork, spawn and forkserver, seen from inside the child (the "probe"
// entry reports pid, parent, descriptors, signal state, executable), plus the worker program's
// command line, the fork server's life cycle and starts from several threads.
#include "forkserver.h"
#include "process.h"
#include "processerror.h"
#include "processtestutil.h"
#include "spawnbackend.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>
#include <algorithm>
#include <atomic>
#include <csignal>
#include <dirent.h>
#include <fcntl.h>
#include <functional>
#include <optional>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace poolscope;

namespace {

QString workerPath()
{
    return QString::fromStdString(workerProgramPath());
}

std::optional<int> waitStatus(pid_t pid)
{
    int status = 0;
    pid_t r;
    do {
        r = ::waitpid(pid, &status, 0);
    } while (r < 0 && errno == EINTR);
    return r == pid ? std::optional<int>(status) : std::nullopt;
}

void onSignal(int)
{}

int threadsOfThisProcess()
{
    int n = 0;
    if (DIR* dir = ::opendir("/proc/self/task")) {
        while (dirent* e = ::readdir(dir))
            n += e->d_name[0] != '.';
        ::closedir(dir);
    }
    return n;
}

// Runs body in a fork child and returns the line it returned; nullopt when the child wrote
// nothing or did not exit with 0.
std::optional<QString> lineFromForkChild(const std::function<std::string()>& body)
{
    pt::Pipe out;
    Process child(ProcessTarget::callable([&] {
        const std::string line = body();
        (void)!::write(out.w, line.data(), line.size());
    }));
    child.start();
    out.closeWrite();
    const auto got = pt::readAll(out.r);
    child.join();
    if (!got || child.exitcode() != std::optional<int>(0))
        return std::nullopt;
    return pt::q(*got);
}

} // namespace

class TestStartMethods : public QObject
{
    Q_OBJECT

private slots:
    void cleanupTestCase() { ForkServer::shutdown(); }

    void descriptors_data() { pt::addMethodRows(); }
    void descriptors()
    {
        QFETCH(int, method);
        // Open in the parent, not passed: a descriptor without O_CLOEXEC (the kind that leaks
        // into exec'd programs) and a pipe.
        const int stray = ::open("/dev/null", O_RDONLY);
        QVERIFY(stray >= 0);
        pt::Pipe other;
        pt::Pipe extra;
        ProcessOptions o = pt::opts(method);
        o.passFds = {extra.w};
        const auto r = pt::runProbe(pt::methodOf(method), o);
        ::close(stray);
        QVERIFY(r);
        QCOMPARE(r->exitcode, 0);
        std::vector<int> expected;
        switch (pt::methodOf(method)) {
        case StartMethod::Fork:
            // A pool-worker-like Entry child keeps only 0, 1, 2, its passFds (same numbers)
            // and its sentinel.
            expected = {0, 1, 2, r->passed[0], extra.w, r->ownSentinel};
            QVERIFY(r->ownSentinel > 2);
            break;
        case StartMethod::Spawn:
            // passFds (the report pipe, extra) become 3, 4; the bootstrap socket was 5
            // (closed once read); the sentinel is 6.
            expected = {0, 1, 2, 3, 4, 6};
            QCOMPARE(r->ownSentinel, 6);
            break;
        case StartMethod::ForkServer:
            expected = {0, 1, 2, 3, 4};
            QCOMPARE(r->ownSentinel, -1);
            break;
        }
        std::sort(expected.begin(), expected.end());
        auto got = r->fds;
        std::sort(got.begin(), got.end());
        QCOMPARE(pt::qlist(got), pt::qlist(expected));
    }

    void forkCallableInheritsEverything()
    {
        // fork's lesson: a plain fork child holds every descriptor the parent had open, with
        // or without O_CLOEXEC.
        const int stray = ::open("/dev/null", O_RDONLY);
        pt::Pipe cloexecPipe;
        pt::Pipe out;
        Process p(ProcessTarget::callable([&] {
            const bool both = ::fcntl(stray, F_GETFD) >= 0 && ::fcntl(cloexecPipe.r, F_GETFD) >= 0;
            (void)!::write(out.w, both ? "yes" : "no", both ? 3 : 2);
        }));
        p.start();
        out.closeWrite();
        const auto got = pt::readAll(out.r);
        p.join();
        ::close(stray);
        QVERIFY(got);
        QCOMPARE(pt::q(*got), QString("yes"));
    }

    void signalsStartClean_data() { pt::addMethodRows(); }
    void signalsStartClean()
    {
        QFETCH(int, method);
        pt::warmUp(method);
        // The parent blocks one signal in this thread, ignores one and handles one; children
        // start with an empty mask and default dispositions anyway.
        sigset_t usr1;
        sigset_t old;
        sigemptyset(&usr1);
        sigaddset(&usr1, SIGUSR1);
        ::pthread_sigmask(SIG_BLOCK, &usr1, &old);
        struct sigaction ignore
        {};
        struct sigaction handle
        {};
        struct sigaction oldUsr2
        {};
        struct sigaction oldHup
        {};
        ignore.sa_handler = SIG_IGN;
        handle.sa_handler = onSignal;
        ::sigaction(SIGUSR2, &ignore, &oldUsr2);
        ::sigaction(SIGHUP, &handle, &oldHup);
        const auto r = pt::runProbe(pt::methodOf(method));
        ::sigaction(SIGUSR2, &oldUsr2, nullptr);
        ::sigaction(SIGHUP, &oldHup, nullptr);
        ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
        QVERIFY(r);
        QCOMPARE(pt::qlist(r->blocked), QList<int>());
        // (A sanitizer build of the worker installs its own SIGSEGV/SIGBUS/SIGFPE handlers:
        // only the signals a parent typically touches are checked.)
        for (int sig : {SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SIGPIPE, SIGCHLD, SIGALRM})
            QVERIFY2(std::find(r->handled.begin(), r->handled.end(), sig) == r->handled.end(),
                     qPrintable(QString("signal %1 is not at its default").arg(sig)));
    }

    void bootstrapCarriesIdentity_data() { pt::addMethodRows(); }
    void bootstrapCarriesIdentity()
    {
        QFETCH(int, method);
        ProcessOptions o = pt::opts(method);
        o.daemon = true;
        // A payload far larger than a socket buffer travels intact.
        std::string big(1 << 20, 'x');
        for (std::size_t i = 0; i < big.size(); i += 4096)
            big[i] = char('a' + (i / 4096) % 26);
        const auto r = pt::runProbe(pt::methodOf(method), o, big);
        QVERIFY(r);
        QVERIFY(r->daemon);
        QVERIFY(r->payload == big);
        QVERIFY(r->name.starts_with("Process-"));
        QCOMPARE(pt::q(r->name), pt::q("Process-" + r->identity));
    }

    void workerEnvironmentVariable()
    {
        // POOLSCOPE_WORKER chooses the program (here a copy under another name).
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString copy = dir.filePath("my-worker");
        QVERIFY(QFile::copy(workerPath(), copy));
        QVERIFY(QFile::setPermissions(copy, QFile::ReadOwner | QFile::ExeOwner));
        qputenv("POOLSCOPE_WORKER", copy.toUtf8());
        const auto r = pt::runProbe(StartMethod::Spawn);
        qunsetenv("POOLSCOPE_WORKER");
        QVERIFY(r);
        QCOMPARE(pt::q(r->exe), copy);
    }

    void workerBadArguments_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::newRow("none") << QStringList();
        QTest::newRow("unknown") << QStringList{"--bogus"};
        QTest::newRow("spawn without fd") << QStringList{"--spawn"};
        QTest::newRow("spawn not a number") << QStringList{"--spawn", "abc"};
        QTest::newRow("spawn stdout") << QStringList{"--spawn", "1"};
        QTest::newRow("spawn closed fd") << QStringList{"--spawn", "99"};
        QTest::newRow("spawn extra") << QStringList{"--spawn", "3", "4"};
        QTest::newRow("server without pid") << QStringList{"--fork-server", "3"};
        QTest::newRow("server bad pid") << QStringList{"--fork-server", "3", "-4"};
        QTest::newRow("server closed fd") << QStringList{"--fork-server", "77", "1"};
    }
    void workerBadArguments()
    {
        QFETCH(QStringList, args);
        // posix_spawn rather than QProcess: QProcess's vfork-style start confuses
        // ThreadSanitizer about this process.
        std::vector<std::string> argv;
        for (const auto& a : args)
            argv.push_back(a.toStdString());
        pt::StderrCapture capture;
        const pid_t pid = spawnWorkerProgram(workerProgramPath(), {}, argv);
        const auto status = waitStatus(pid);
        const QString err = pt::q(capture.text());
        QVERIFY(status);
        QVERIFY(WIFEXITED(*status));
        QCOMPARE(WEXITSTATUS(*status), 2);
        QVERIFY2(err.startsWith("poolscope-worker: ") && err.count('\n') == 1, qPrintable(err));
    }

    void workerBadBootstrap_data()
    {
        QTest::addColumn<QByteArray>("data");
        QTest::addColumn<QString>("message");
        QTest::newRow("nothing") << QByteArray() << "no bootstrap data";
        QTest::newRow("garbage frame")
            << QByteArray("\x03\x00\x00\x00\xc1\xc1\xc1\x00\x00\x00\x00", 11)
            << "bad bootstrap data";
        QTest::newRow("wrong value")
            << QByteArray("\x01\x00\x00\x00\x07\x00\x00\x00\x00", 9) << "bad bootstrap data";
        QTest::newRow("truncated")
            << QByteArray("\x40\x00\x00\x00\x01\x02", 6) << "bad bootstrap data";
    }
    void workerBadBootstrap()
    {
        QFETCH(QByteArray, data);
        QFETCH(QString, message);
        int sv[2];
        QCOMPARE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        pt::StderrCapture capture;
        const pid_t pid = spawnWorkerProgram(workerProgramPath(), std::span<const int>(&sv[1], 1),
                                             {"--spawn", "3"});
        ::close(sv[1]);
        QCOMPARE(::send(sv[0], data.data(), std::size_t(data.size()), MSG_NOSIGNAL),
                 ssize_t(data.size()));
        ::close(sv[0]);
        const auto status = waitStatus(pid);
        const std::string err = capture.text();
        QVERIFY(status);
        QVERIFY(WIFEXITED(*status));
        QCOMPARE(WEXITSTATUS(*status), 1);
        QVERIFY2(pt::q(err).contains(message), err.c_str());
    }

    void forkServerRestartsAfterDeath()
    {
        ProcessOptions o = pt::opts(int(StartMethod::ForkServer));
        std::optional<pid_t> first;
        std::optional<int> status;
        {
            pt::Subreaper subreaper; // its orphaned child comes back to us
            Process running(ProcessTarget::task("sleep", {60}), o);
            running.start();
            first = ForkServer::serverPid();
            QVERIFY(first);
            ::kill(*first, SIGKILL);
            running.join(); // the server cannot report: 255, as in CPython
            QCOMPARE(running.exitcode(), std::optional<int>(255));
            // The orphan was killed by its death signal when the server died.
            status = pt::reapWithin(*running.pid(), 20);
        }
        QVERIFY(status);
        QVERIFY(WIFSIGNALED(*status));
        QCOMPARE(WTERMSIG(*status), SIGKILL);

        // The next start notices and starts a new server.
        Process next(ProcessTarget::task("square", {2}), o);
        next.start();
        next.join();
        QCOMPARE(next.exitcode(), std::optional<int>(0));
        const auto second = ForkServer::serverPid();
        QVERIFY(second);
        QVERIFY(*second != *first);
    }

    // The main thread, which lives as long as the process, spawns the server itself: no thread
    // is added to the process (glibc's fork() is quicker in a process that never had one).
    // Seen in a fork child, where no server runs yet and the main thread is the only one.
    void forkServerFromTheMainThreadAddsNoThread()
    {
        const auto got = lineFromForkChild([] {
            Process p(ProcessTarget::task("square", {2}), pt::opts(int(StartMethod::ForkServer)));
            p.start();
            p.join();
            return std::to_string(threadsOfThisProcess()) + " " +
                   std::to_string(p.exitcode().value_or(-1)) + " " +
                   (ForkServer::serverPid() ? "up" : "down");
        });
        QVERIFY(got);
        QCOMPARE(*got, QString("1 0 up"));
    }

    // A server started by a thread that then ends must live on: PR_SET_PDEATHSIG would kill a
    // server that thread had spawned itself. Other threads hand the spawn to a launcher thread
    // that lives as long as the process.
    void forkServerOutlivesTheThreadThatStartedIt()
    {
        ForkServer::shutdown(); // the thread below starts the next one
        const ProcessOptions o = pt::opts(int(StartMethod::ForkServer));
        std::optional<pid_t> first;
        std::thread([&] {
            Process p(ProcessTarget::task("square", {2}), o);
            p.start();
            p.join();
            first = ForkServer::serverPid();
        }).join();
        QVERIFY(first);
        // Time for a death signal to arrive, had the server been tied to that thread.
        ::usleep(100'000);
        Process p(ProcessTarget::task("square", {3}), o);
        p.start();
        p.join();
        QCOMPARE(p.exitcode(), std::optional<int>(0));
        QCOMPARE(ForkServer::serverPid(), first); // not replaced
    }

    void startFromSeveralThreads_data() { pt::addMethodRows(); }
    void startFromSeveralThreads()
    {
        QFETCH(int, method);
        std::atomic<int> ok{0};
        std::atomic<int> failed{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([&, t] {
                for (int i = 0; i < 10; ++i) {
                    try {
                        Process p(ProcessTarget::task("exit_with", {(t * 10 + i) % 7}),
                                  pt::opts(method));
                        p.start();
                        p.join();
                        if (p.exitcode() == std::optional<int>((t * 10 + i) % 7))
                            ++ok;
                        else
                            ++failed;
                    } catch (...) {
                        ++failed;
                    }
                }
            });
        }
        for (auto& th : threads)
            th.join();
        QCOMPARE(failed.load(), 0);
        QCOMPARE(ok.load(), 40);
    }
};

QTEST_GUILESS_MAIN(TestStartMethods)
#include "tst_startmethods.moc"
