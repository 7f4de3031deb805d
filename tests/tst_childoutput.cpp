// ProcessOptions::outputFd and PoolOptions::outputFd: a child's stdout and stderr go to a pipe
// the parent gives it, under every start method, and the printing tasks of the article
// (greet, lifecycle_work, slow_square) print what the article shows. After the parent closes its
// write end and everything is joined, the pipe reaches EOF: no child, worker or fork server kept
// a copy. Every test leaves no descriptor and no process behind.
#include "hygiene.h"
#include "pool.h"
#include "poolerror.h"
#include "processerror.h"
#include "processtestutil.h"

#include <QRegularExpression>
#include <QTest>
#include <algorithm>
#include <cstdio>
#include <fcntl.h>
#include <set>
#include <unistd.h>

using namespace poolscope;

namespace {

// Redirects this process's stdout (fd 1) into a pipe while alive, to check that a child with
// an outputFd writes nothing there. text() restores stdout and returns what arrived.
class StdoutCapture
{
public:
    StdoutCapture()
    {
        std::fflush(stdout);
        m_saved = ::fcntl(1, F_DUPFD_CLOEXEC, 3);
        ::dup2(m_pipe.w, 1);
        m_pipe.closeWrite();
    }
    ~StdoutCapture() { restore(); }
    void restore()
    {
        if (m_saved >= 0) {
            std::fflush(stdout);
            ::dup2(m_saved, 1);
            ::close(m_saved);
            m_saved = -1;
        }
    }
    std::string text()
    {
        restore();
        return pt::readAll(m_pipe.r).value_or("<timeout>");
    }

private:
    pt::Pipe m_pipe;
    int m_saved = -1;
};

// Runs target with outputFd = a pipe's write end, joins it, closes the parent's write end
// and returns everything the pipe delivered up to EOF ("<no EOF>" if a copy stayed open).
std::string captured(const ProcessTarget& target, ProcessOptions options,
                     std::optional<int>* exitcode = nullptr, int* pid = nullptr)
{
    pt::Pipe out;
    options.outputFd = out.w;
    Process p(target, options);
    p.start();
    p.join(20);
    if (exitcode)
        *exitcode = p.exitcode();
    if (pid)
        *pid = p.pid().value_or(0);
    out.closeWrite();
    return pt::readAll(out.r, 10).value_or("<no EOF>");
}

PoolOptions poolOptions(StartMethod method, int processes, int outputFd)
{
    PoolOptions o;
    o.method = method;
    o.processes = processes;
    o.record = false;
    o.outputFd = outputFd;
    o.taskOptions.timeScale = 0.01;
    return o;
}

QStringList lines(const std::string& text)
{
    QStringList l = QString::fromStdString(text).split('\n');
    if (!l.isEmpty() && l.last().isEmpty())
        l.removeLast();
    return l;
}

} // namespace

class TestChildOutput : public QObject
{
    Q_OBJECT

    Hygiene m_hygiene;

private slots:
    void initTestCase()
    {
        // The fork server lives as long as this process: start it before the baselines.
        QCOMPARE(pt::warmUp(int(StartMethod::ForkServer)), std::optional<int>(0));
    }

    void init() { m_hygiene.baseline(); }

    void cleanup() { m_hygiene.check(); }

    // The article's start-method example: the line lands in the pipe, not on our stdout.
    void greetGoesToThePipe_data() { pt::addMethodRows(); }
    void greetGoesToThePipe()
    {
        QFETCH(int, method);
        std::optional<int> code;
        std::string text;
        std::string ourStdout;
        {
            StdoutCapture stdoutCapture;
            text = captured(ProcessTarget::task("greet", {42}), pt::opts(method), &code);
            ourStdout = stdoutCapture.text();
        }
        QCOMPARE(code, std::optional<int>(0));
        QCOMPARE(text, std::string("Worker received 42\n"));
        QCOMPARE(ourStdout, std::string());
    }

    // Without outputFd the child writes to the stdout it inherited (fork, spawn: ours), which
    // shows that the capture above can see a child's line at all.
    void withoutOutputFdTheParentsStdoutIsUsed_data()
    {
        pt::addMethodRows({StartMethod::Fork, StartMethod::Spawn});
    }
    void withoutOutputFdTheParentsStdoutIsUsed()
    {
        QFETCH(int, method);
        std::string ourStdout;
        {
            StdoutCapture stdoutCapture;
            Process p(ProcessTarget::task("greet", {Value("hi")}), pt::opts(method));
            p.start();
            p.join(20);
            ourStdout = stdoutCapture.text();
        }
        QCOMPARE(ourStdout, std::string("Worker received 'hi'\n"));
    }

    // stderr goes to the same pipe: the traceback of a target that raises.
    void tracebackGoesToThePipe_data() { pt::addMethodRows(); }
    void tracebackGoesToThePipe()
    {
        QFETCH(int, method);
        auto o = pt::opts(method);
        o.name = "Failing-1";
        std::optional<int> code;
        const std::string text =
            captured(ProcessTarget::task("raise_error", {Value("kaput")}), o, &code);
        QCOMPARE(code, std::optional<int>(1));
        const QStringList l = lines(text);
        QVERIFY2(l.size() >= 3, text.c_str());
        QCOMPARE(l.first(), QStringLiteral("Process Failing-1:"));
        QCOMPARE(l[1], QStringLiteral("Traceback (most recent call last):"));
        QCOMPARE(l.last(), QStringLiteral("RuntimeError: kaput"));
    }

    // The article's Process example, one worker: both lines, its name and its pid.
    void lifecycleWork_data() { pt::addMethodRows(); }
    void lifecycleWork()
    {
        QFETCH(int, method);
        auto o = pt::opts(method);
        o.name = "Worker-1";
        TaskOptions scaled;
        scaled.timeScale = 0.01;
        std::optional<int> code;
        int pid = 0;
        const std::string text =
            captured(ProcessTarget::task("lifecycle_work", {10}, scaled), o, &code, &pid);
        QCOMPARE(code, std::optional<int>(0));
        QCOMPARE(text, "[Worker-1] PID=" + std::to_string(pid) +
                           " start with n=10\n"
                           "[Worker-1] done\n");
    }

    // A C++ callable under fork prints through stdio: its buffer is flushed before the child
    // ends, and stderr comes along (unbuffered, so it may come first, as in Python when
    // stdout is a pipe).
    void forkCallableStdio()
    {
        std::optional<int> code;
        const std::string text = captured(ProcessTarget::callable([] {
                                              std::printf("to stdout\n");
                                              std::fprintf(stderr, "to stderr\n");
                                              std::printf("unterminated");
                                          }),
                                          pt::opts(int(StartMethod::Fork)), &code);
        QCOMPARE(code, std::optional<int>(0));
        QString all = QString::fromStdString(text);
        QVERIFY2(all.contains("to stderr\n"), qPrintable(all));
        QCOMPARE(all.remove("to stderr\n"), QStringLiteral("to stdout\nunterminated"));
    }

    // What the parent had printed but not yet written goes out before a fork, once: a child
    // that inherited it still buffered would write it again when it ends. A child that
    // printed nothing writes nothing.
    void parentsBufferedOutputIsWrittenOnce()
    {
        StdoutCapture capture;
        std::setvbuf(stdout, nullptr, _IOFBF, 4096); // as when stdout is a pipe or a file
        std::printf("parent line\n");
        Process p(ProcessTarget::callable([] {}), pt::opts(int(StartMethod::Fork)));
        p.start();
        p.join();
        QCOMPARE(p.exitcode(), std::optional<int>(0));
        std::printf("parent again\n");
        const std::string text = capture.text();
        std::setvbuf(stdout, nullptr, _IOLBF, 4096);
        QCOMPARE(text, std::string("parent line\nparent again\n"));
    }

    // The output descriptor does not shift the numbered descriptors: the probe entry sees the
    // same set with and without it (and never the output descriptor itself).
    void passFdsUnchanged_data() { pt::addMethodRows(); }
    void passFdsUnchanged()
    {
        QFETCH(int, method);
        pt::Pipe out;
        pt::Pipe extra;
        ProcessOptions plain;
        plain.passFds = {extra.w};
        ProcessOptions redirected = plain;
        redirected.outputFd = out.w;
        const auto a = pt::runProbe(pt::methodOf(method), plain);
        const auto b = pt::runProbe(pt::methodOf(method), redirected);
        QVERIFY(a && b);
        QCOMPARE(a->exitcode, 0);
        QCOMPARE(b->exitcode, 0);
        QCOMPARE(b->fds, a->fds);
        QCOMPARE(b->ownSentinel, a->ownSentinel);
        out.closeWrite();
        QCOMPARE(pt::readAll(out.r, 10), std::optional<std::string>(""));
    }

    void badOutputFd_data() { pt::addMethodRows(); }
    void badOutputFd()
    {
        QFETCH(int, method);
        pt::Pipe readOnly; // first: the closed number below must stay free
        const int closedFd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
        QVERIFY(closedFd >= 0);
        ::close(closedFd);
        for (const auto& [fd, says] : {std::pair{closedFd, "Bad file descriptor"},
                                       std::pair{readOnly.r, "open for reading only"}}) {
            auto o = pt::opts(method);
            o.outputFd = fd;
            Process p(ProcessTarget::task("greet", {1}), o);
            QString message;
            QString type = "<no error>";
            try {
                p.start();
            } catch (const ProcessError& e) {
                type = QString::fromStdString(e.type());
                message = QString::fromUtf8(e.what());
            }
            QCOMPARE(type, QStringLiteral("OSError"));
            QVERIFY2(message.contains("descriptor " + QString::number(fd)), qPrintable(message));
            QVERIFY2(message.contains(QString::fromLatin1(says)), qPrintable(message));
            QVERIFY(!p.pid());
        }
    }

    // Every pool worker prints into the pipe: the article's slow_square lines, once per task,
    // with the result that the parent also receives.
    void poolSlowSquare_data() { pt::addMethodRows(); }
    void poolSlowSquare()
    {
        QFETCH(int, method);
        pt::Pipe out;
        Value::List results;
        {
            Pool pool(poolOptions(pt::methodOf(method), 2, out.w));
            auto it = pool.imap("slow_square", {1, 2, 3});
            while (auto r = it->next(20))
                results.push_back(*r);
            pool.close();
            pool.join();
        }
        QCOMPARE(results, (Value::List{1, 4, 9}));
        out.closeWrite();
        const auto text = pt::readAll(out.r, 10);
        QVERIFY2(text, "no EOF: a copy of the write end stayed open");
        static const QRegularExpression line(R"(^Task ([123]) finished in 0\.\d\ds -> (\d+)$)");
        std::multiset<int> tasks;
        for (const auto& l : lines(*text)) {
            const auto m = line.match(l);
            QVERIFY2(m.hasMatch(), qPrintable(l));
            const int n = m.captured(1).toInt();
            QCOMPARE(m.captured(2).toInt(), n * n);
            tasks.insert(n);
        }
        QCOMPARE(tasks, (std::multiset<int>{1, 2, 3}));
    }

    // The article's callbacks example task through a pool: output captured by nobody (it
    // prints nothing), results and the ValueError as in the article.
    void poolWork_data() { pt::addMethodRows(); }
    void poolWork()
    {
        QFETCH(int, method);
        pt::Pipe out;
        Pool pool(poolOptions(pt::methodOf(method), 2, out.w));
        QCOMPARE(pool.map("work", {1, 2, 3}), (Value::List{1, 4, 9}));
        QString error = "<no error>";
        try {
            pool.apply("work", {5});
        } catch (const PoolError& e) {
            error = QString::fromStdString(e.type() + ": " + e.error().message);
        }
        QCOMPARE(error, QStringLiteral("ValueError: boom"));
        pool.close();
        pool.join();
        out.closeWrite();
        QCOMPARE(pt::readAll(out.r, 10), std::optional<std::string>(""));
    }

    // Lines of concurrent workers never interleave: each is one write(2).
    void poolGreetLinesWhole_data() { pt::addMethodRows(); }
    void poolGreetLinesWhole()
    {
        QFETCH(int, method);
        pt::Pipe out;
        Value::List items;
        for (int i = 0; i < 200; ++i)
            items.emplace_back(i);
        {
            Pool pool(poolOptions(pt::methodOf(method), 3, out.w));
            const auto got = pool.map("greet", items, 1);
            QCOMPARE(got, Value::List(items.size(), Value()));
            pool.close();
            pool.join();
        }
        out.closeWrite();
        const auto text = pt::readAll(out.r, 10);
        QVERIFY(text);
        std::set<int> seen;
        for (const auto& l : lines(*text)) {
            QVERIFY2(l.startsWith("Worker received "), qPrintable(l));
            bool ok = false;
            seen.insert(l.mid(16).toInt(&ok));
            QVERIFY2(ok, qPrintable(l));
        }
        QCOMPARE(int(seen.size()), 200);
        QCOMPARE(lines(*text).size(), 200);
    }

    // The pool's first worker start reports it; the pool cleans up what it had started.
    void poolBadOutputFd_data() { pt::addMethodRows(); }
    void poolBadOutputFd()
    {
        QFETCH(int, method);
        pt::Pipe readOnly;
        QString error = "<no error>";
        try {
            Pool pool(poolOptions(pt::methodOf(method), 2, readOnly.r));
        } catch (const ProcessError& e) {
            error = QString::fromStdString(e.type()) + ": " + QString::fromUtf8(e.what());
        }
        QVERIFY2(error.startsWith("OSError: ") && error.contains("open for reading only"),
                 qPrintable(error));
    }
};

QTEST_GUILESS_MAIN(TestChildOutput)
#include "tst_childoutput.moc"
