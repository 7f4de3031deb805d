#include "forkserver.h"

#include "fdutil.h"
#include "processbackend.h"
#include "processerror.h"
#include "spawnbackend.h"

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <mutex>
#include <pthread.h>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace poolscope {

namespace {

// Spawns the server for threads other than the main one, from a thread that lives as long as
// the process: PR_SET_PDEATHSIG fires when the creating thread exits, and the server must not
// die with a short-lived pool thread.
class LauncherThread
{
public:
    LauncherThread()
    {
        std::thread([this] { loop(); }).detach();
    }

    // Runs job on the launcher thread and returns its result (or rethrows its exception).
    pid_t run(std::function<pid_t()> job)
    {
        std::unique_lock lock(m_mutex);
        m_job = std::move(job);
        m_error = nullptr;
        m_cv.notify_all();
        m_cv.wait(lock, [this] { return !m_job; });
        if (m_error)
            std::rethrow_exception(m_error);
        return m_result;
    }

private:
    void loop()
    {
        std::unique_lock lock(m_mutex);
        for (;;) {
            m_cv.wait(lock, [this] { return bool(m_job); });
            try {
                m_result = m_job();
            } catch (...) {
                m_error = std::current_exception();
            }
            m_job = nullptr;
            m_cv.notify_all();
        }
    }

    std::mutex m_mutex;
    std::condition_variable m_cv;
    std::function<pid_t()> m_job;
    pid_t m_result = -1;
    std::exception_ptr m_error;
};

struct ClientState
{
    std::mutex mutex;
    int conn = -1;
    pid_t server = -1;
    LauncherThread* launcher = nullptr; // never destroyed: its thread never ends
};

// A heap object that is never freed: exit-time destruction would race other threads. A forked
// child resets it in place (atforkChild).
std::atomic<ClientState*> g_state{nullptr};

void atforkPrepare()
{
    g_state.load()->mutex.lock();
}

void atforkParent()
{
    g_state.load()->mutex.unlock();
}

void atforkChild()
{
    // The connection and the server belong to the parent. Close our copy (never shutdown(),
    // which would cut the parent's connection too); the launcher thread does not exist here.
    // The mutex is held by this thread (atforkPrepare). Reset in place, without allocating:
    // this runs before the child has unblocked its signals, and an allocation here could wait
    // for ever on a lock another thread of the parent held at the fork (GCC 12's ASan
    // allocator, see docs/ARCHITECTURE.md), where nothing but SIGKILL would end the child.
    ClientState* s = g_state.load();
    if (s->conn >= 0)
        ::close(s->conn);
    s->conn = -1;
    s->server = -1;
    s->launcher = nullptr; // its object stays behind, unused, like the parent's never-freed one
    s->mutex.unlock();
}

ClientState& state()
{
    static std::once_flag once;
    std::call_once(once, [] {
        g_state = new ClientState;
        ::pthread_atfork(atforkPrepare, atforkParent, atforkChild);
    });
    return *g_state.load();
}

[[noreturn]] void fail(const std::string& what, int err = errno)
{
    throw ProcessError("OSError", "fork server: " + what + ": " + std::strerror(err));
}

void stopLocked(ClientState& s)
{
    if (s.conn >= 0) {
        // shutdown() reaches the server even if a forked child still holds a copy of the socket.
        ::shutdown(s.conn, SHUT_RDWR);
        ::close(s.conn);
        s.conn = -1;
    }
    if (s.server > 0) {
        while (::waitpid(s.server, nullptr, 0) < 0 && errno == EINTR) {
        }
        s.server = -1;
    }
}

void startLocked(ClientState& s)
{
    const std::string path = workerProgramPath();
    // PR_SET_PDEATHSIG ties the server to the thread that spawns it. The main thread lives as
    // long as the process, so it spawns the server itself; any other thread hands that to the
    // launcher thread. A process that never needs that thread stays single-threaded, and
    // glibc's fork() is quicker there: in a process that has ever had a second thread it locks
    // and resets every allocator arena and stdio lock around each fork, about 40 us more per
    // Pool(2) with fork on this machine's kind (docs/PERFORMANCE.md).
    const bool mainThread = ::gettid() == ::getpid();
    // Before mkdtemp, so that nothing can fail between it and the cleanup below.
    if (!mainThread && !s.launcher)
        s.launcher = new LauncherThread;
    const char* tmp = std::getenv("TMPDIR");
    std::string dirTemplate = std::string(tmp && *tmp ? tmp : "/tmp") + "/poolscope-fs-XXXXXX";
    if (dirTemplate.size() + 8 >= sizeof(sockaddr_un::sun_path))
        dirTemplate = "/tmp/poolscope-fs-XXXXXX";
    if (!::mkdtemp(dirTemplate.data())) // mode 0700
        fail("mkdtemp " + dirTemplate);
    const std::string dir = dirTemplate;
    const std::string sockPath = dir + "/fs.sock";
    struct Cleanup
    {
        const std::string& dir;
        const std::string& sock;
        ~Cleanup()
        {
            ::unlink(sock.c_str());
            ::rmdir(dir.c_str());
        }
    } cleanup{dir, sockPath};

    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, sockPath.c_str(), sockPath.size() + 1);
    UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!listener)
        fail("socket");
    if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        fail("bind " + sockPath);
    if (::chmod(sockPath.c_str(), 0600) != 0 || ::listen(listener.get(), 4) != 0)
        fail("listen " + sockPath);

    const pid_t parent = ::getpid();
    const int lfd = listener.get();
    // Everything by value: the launcher thread reads nothing from this stack.
    const auto spawnServer = [path, lfd, parent] {
        return spawnWorkerProgram(path, std::span<const int>(&lfd, 1),
                                  {"--fork-server", "3", std::to_string(parent)});
    };
    const pid_t server = mainThread ? spawnServer() : s.launcher->run(spawnServer);

    // The listening socket queues our connection even before the server accepts it.
    UniqueFd conn(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int rc = -1;
    if (conn) {
        do {
            rc = ::connect(conn.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        } while (rc != 0 && errno == EINTR);
    }
    if (rc != 0) {
        const int err = errno;
        ::kill(server, SIGKILL);
        while (::waitpid(server, nullptr, 0) < 0 && errno == EINTR) {
        }
        fail("connect " + sockPath, err);
    }
    s.conn = conn.release();
    s.server = server;

    static std::once_flag atExit;
    std::call_once(atExit, [] { std::atexit(ForkServer::shutdown); });
}

bool serverAliveLocked(ClientState& s)
{
    if (s.server <= 0)
        return false;
    int status = 0;
    if (::waitpid(s.server, &status, WNOHANG) == 0)
        return true;
    s.server = -1; // reaped now (or not ours any more)
    if (s.conn >= 0) {
        ::close(s.conn);
        s.conn = -1;
    }
    return false;
}

// One request: a 16-byte head carrying the descriptors (status socket first), then the
// header and payload frames.
bool sendRequestLocked(ClientState& s, int statusFd, std::span<const int> fds,
                       std::span<const std::uint8_t> header, std::span<const std::uint8_t> payload)
{
    std::vector<int> all{statusFd};
    all.insert(all.end(), fds.begin(), fds.end());
    const std::uint32_t head[4] = {0x50534653u /* "PSFS" */, std::uint32_t(all.size()),
                                   std::uint32_t(header.size()), std::uint32_t(payload.size())};
    const ssize_t n = sendWithFds(s.conn, head, sizeof head, all, MSG_NOSIGNAL);
    if (n != ssize_t(sizeof head))
        return false;
    return sendAll(s.conn, header.data(), header.size()) &&
           sendAll(s.conn, payload.data(), payload.size());
}

} // namespace

ForkServer::Child ForkServer::launch(std::span<const std::uint8_t> header,
                                     std::span<const std::uint8_t> payload,
                                     std::span<const int> fds)
{
    if (fds.size() > 250)
        throw ProcessError("OSError", "fork server: too many descriptors to pass");
    for (int fd : fds) {
        if (::fcntl(fd, F_GETFD) < 0)
            throw ProcessError("OSError", "cannot pass descriptor " + std::to_string(fd) +
                                              " to the child: " + std::strerror(errno));
    }
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        fail("socketpair");
    UniqueFd ours(sv[0]);
    UniqueFd theirs(sv[1]);
    {
        ClientState& s = state();
        std::lock_guard lock(s.mutex);
        bool sent = false;
        // A server that died (killed by someone) is replaced once; a request that fails on a
        // fresh server is an error.
        for (int attempt = 0; attempt < 2 && !sent; ++attempt) {
            if (!serverAliveLocked(s))
                startLocked(s);
            sent = sendRequestLocked(s, theirs.get(), fds, header, payload);
            if (!sent) {
                const int err = errno;
                if (s.server > 0)
                    ::kill(s.server, SIGKILL);
                stopLocked(s);
                if (attempt == 1)
                    fail("cannot send the request", err);
            }
        }
    }
    theirs.reset();
    std::uint8_t b[4];
    if (!recvAll(ours.get(), b, 4))
        throw ProcessError("OSError", "fork server: no reply (the server died)");
    const std::int32_t pid =
        std::int32_t(b[0] | (b[1] << 8) | (b[2] << 16) | (std::uint32_t(b[3]) << 24));
    if (pid <= 0)
        fail("fork failed in the server", -pid);
    return Child{pid, ours.release()};
}

void ForkServer::shutdown()
{
    if (!g_state.load())
        return; // never used in this process
    ClientState& s = state();
    std::lock_guard lock(s.mutex);
    stopLocked(s);
}

std::optional<pid_t> ForkServer::serverPid()
{
    ClientState& s = state();
    std::lock_guard lock(s.mutex);
    if (serverAliveLocked(s))
        return s.server;
    return std::nullopt;
}

} // namespace poolscope
