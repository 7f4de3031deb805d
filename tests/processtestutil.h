#pragma once

#include "process.h"
#include "startmethod.h"
#include "value.h"
#include "wire.h"

#include <QByteArray>
#include <QString>
#include <QTest>
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <initializer_list>
#include <optional>
#include <poll.h>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

// Test helpers for the process layer: start-method rows and options, pipes, reads with a
// bounded wait (a child that misbehaves fails the test instead of hanging it), stderr capture,
// reaping of orphans and the "probe" entry's report. Header-only test fixture code.
namespace pt {

using namespace poolscope;

// The "method" column, one row per method (all three by default), named as in Python.
inline void addMethodRows(std::initializer_list<StartMethod> methods = {
                              StartMethod::Fork, StartMethod::Spawn, StartMethod::ForkServer})
{
    QTest::addColumn<int>("method");
    for (StartMethod m : methods)
        QTest::addRow("%s", std::string(startMethodName(m)).c_str()) << int(m);
}

// The "method" column of addMethodRows() (an int: QTest data needs no metatype for it).
inline StartMethod methodOf(int m)
{
    return static_cast<StartMethod>(m);
}

inline ProcessOptions opts(int m)
{
    ProcessOptions o;
    o.method = methodOf(m);
    return o;
}

// The fork server is long-lived state: a test that takes a baseline (or captures stderr) has it
// running first. Returns the exit code of the process started through it, nullopt for the
// other methods (nothing to warm up).
inline std::optional<int> warmUp(int method)
{
    if (methodOf(method) != StartMethod::ForkServer)
        return std::nullopt;
    Process p(ProcessTarget::task("square", {1}), opts(method));
    p.start();
    p.join();
    return p.exitcode();
}

// Makes this process the subreaper of its descendants while alive, so that orphans come back
// to us (and get reaped) instead of going to PID 1.
struct Subreaper
{
    Subreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 1); }
    ~Subreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 0); }
    Subreaper(const Subreaper&) = delete;
    Subreaper& operator=(const Subreaper&) = delete;
};

// Waits (bounded) for a process that was reparented to us (we are a subreaper) to end; its
// wait status, nullopt on timeout.
inline std::optional<int> reapWithin(pid_t pid, double seconds)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        // ECHILD: not ours yet (a fork server's child comes to us once the server is gone).
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return std::nullopt;
}

struct Pipe
{
    int r = -1;
    int w = -1;
    Pipe()
    {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) == 0) {
            r = fds[0];
            w = fds[1];
        }
    }
    ~Pipe()
    {
        closeRead();
        closeWrite();
    }
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;
    void closeRead()
    {
        if (r >= 0)
            ::close(r);
        r = -1;
    }
    void closeWrite()
    {
        if (w >= 0)
            ::close(w);
        w = -1;
    }
};

// Reads until EOF, waiting at most `seconds` in all; nullopt on timeout.
inline std::optional<std::string> readAll(int fd, double seconds = 20)
{
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + std::chrono::duration<double>(seconds);
    std::string out;
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
        if (left.count() <= 0)
            return std::nullopt;
        pollfd p{fd, POLLIN, 0};
        const int n = ::poll(&p, 1, int(left.count()));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return std::nullopt;
        char buf[4096];
        const ssize_t got = ::read(fd, buf, sizeof buf);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return out;
        out.append(buf, std::size_t(got));
    }
}

// Redirects this process's stderr (fd 2) into a pipe while alive; children started meanwhile
// inherit it. text() restores stderr and returns everything written once all writers closed.
class StderrCapture
{
public:
    StderrCapture()
    {
        std::fflush(stderr);
        m_saved = ::fcntl(2, F_DUPFD_CLOEXEC, 3);
        ::dup2(m_pipe.w, 2);
        m_pipe.closeWrite();
    }
    ~StderrCapture() { restore(); }
    void restore()
    {
        if (m_saved >= 0) {
            std::fflush(stderr);
            ::dup2(m_saved, 2);
            ::close(m_saved);
            m_saved = -1;
        }
    }
    std::string text()
    {
        restore();
        return readAll(m_pipe.r).value_or("<timeout>");
    }

private:
    Pipe m_pipe;
    int m_saved = -1;
};

// The report of the "probe" entry (see entrypoints.cpp).
struct ProbeReport
{
    int pid = 0;
    int ppid = 0;
    std::vector<int> fds;
    std::string name;
    std::string comm;
    std::vector<int> blocked;
    std::vector<int> handled;
    std::string exe;
    std::string identity;
    bool daemon = false;
    std::string payload;
    int ownSentinel = -1;
    int exitcode = -1000;
    std::vector<int> passed; // the passFds given in the parent (the report pipe first)
};

inline std::vector<int> ints(const Value& v)
{
    std::vector<int> out;
    for (const auto& i : v.asList())
        out.push_back(int(i.asInt()));
    return out;
}

// Runs the probe entry as a process (its report arrives on a pipe passed as its first
// descriptor) and joins it. Extra descriptors are passed after the report pipe.
inline std::optional<ProbeReport> runProbe(StartMethod method, ProcessOptions options = {},
                                           const std::string& payload = "")
{
    Pipe report;
    options.method = method;
    options.passFds.insert(options.passFds.begin(), report.w);
    Process p(ProcessTarget::entry("probe", Bytes(payload.begin(), payload.end())), options);
    p.start();
    report.closeWrite();
    const auto bytes = readAll(report.r);
    p.join(20);
    if (!bytes || bytes->size() < 4 || !p.exitcode())
        return std::nullopt;
    const Value v = decodeValue(
        std::span(reinterpret_cast<const std::uint8_t*>(bytes->data()) + 4, bytes->size() - 4));
    const auto& l = v.asList();
    ProbeReport r;
    r.pid = int(l[0].asInt());
    r.ppid = int(l[1].asInt());
    r.fds = ints(l[2]);
    r.name = l[3].asStr();
    r.comm = l[4].asStr();
    r.blocked = ints(l[5]);
    r.handled = ints(l[6]);
    r.exe = l[7].asStr();
    r.identity = l[8].asStr();
    r.daemon = l[9].asBool();
    r.payload = l[10].asStr();
    r.ownSentinel = int(l[11].asInt());
    r.exitcode = *p.exitcode();
    r.passed = options.passFds;
    return r;
}

inline QString q(const std::string& s)
{
    return QString::fromStdString(s);
}

inline QList<int> qlist(const std::vector<int>& v)
{
    return QList<int>(v.begin(), v.end());
}

} // namespace pt
