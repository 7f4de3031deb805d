// The fork server's side of ForkServer: the loop of `poolscope-worker --fork-server`.
#include "bootstrap.h"
#include "childsetup.h"
#include "fdutil.h"
#include "forkserver.h"
#include "processbackend.h"
#include "taskregistry.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace poolscope {

namespace {

constexpr std::uint32_t kRequestMagic = 0x50534653u; // "PSFS"
constexpr std::size_t kMaxFds = 256;

void sendInt(int fd, std::int32_t v)
{
    const std::uint32_t u = std::uint32_t(v);
    const std::uint8_t b[4] = {std::uint8_t(u), std::uint8_t(u >> 8), std::uint8_t(u >> 16),
                               std::uint8_t(u >> 24)};
    sendAll(fd, b, 4); // a client that is gone does not care
}

class Server
{
public:
    Server(int conn, int sigfd) : m_conn(conn), m_sigfd(sigfd), m_self(::getpid()) {}

    int run()
    {
        for (;;) {
            pollfd p[2] = {{m_conn, POLLIN, 0}, {m_sigfd, POLLIN, 0}};
            if (::poll(p, 2, -1) < 0) {
                if (errno == EINTR)
                    continue;
                break;
            }
            if (p[1].revents)
                reap(WNOHANG);
            if (p[0].revents && !handleRequest())
                break;
        }
        // The client is gone or asked us to stop: no child outlives the server.
        for (const auto& [pid, fd] : m_children)
            ::kill(pid, SIGKILL);
        reap(0);
        return 0;
    }

private:
    void reap(int flags)
    {
        signalfd_siginfo info;
        while (::read(m_sigfd, &info, sizeof info) > 0) {
        }
        while (!m_children.empty()) {
            int status = 0;
            const pid_t pid = ::waitpid(-1, &status, flags);
            if (pid < 0 && errno == EINTR)
                continue;
            if (pid <= 0)
                break;
            auto it = m_children.find(pid);
            if (it == m_children.end())
                continue;
            sendInt(it->second, ProcessBackend::exitCodeFromStatus(status));
            ::close(it->second);
            m_children.erase(it);
        }
    }

    // False when the connection ended (or broke the protocol): time to stop.
    bool handleRequest()
    {
        std::uint32_t head[4] = {};
        std::vector<UniqueFd> fds;
        int msgFlags = 0;
        const ssize_t n = recvWithFds(m_conn, head, sizeof head, fds, kMaxFds, &msgFlags);
        if (n <= 0)
            return false;
        if (n < ssize_t(sizeof head) &&
            !recvAll(m_conn, reinterpret_cast<char*>(head) + n, sizeof head - std::size_t(n)))
            return false;
        if (head[0] != kRequestMagic || (msgFlags & MSG_CTRUNC) || fds.empty() ||
            fds.size() != head[1] || head[2] > kMaxFrameBytes || head[3] > kMaxFrameBytes) {
            std::fputs("poolscope-worker --fork-server: malformed request, stopping\n", stderr);
            return false;
        }
        Bytes header(head[2]);
        Bytes payload(head[3]);
        if (!recvAll(m_conn, header.data(), header.size()) ||
            !recvAll(m_conn, payload.data(), payload.size()))
            return false;

        const int statusFd = fds[0].get();
        Bootstrap boot;
        try {
            boot = Bootstrap::decode(header, std::move(payload));
        } catch (const std::exception& e) {
            std::fprintf(stderr, "poolscope-worker --fork-server: bad request: %s\n", e.what());
            sendInt(statusFd, -EINVAL);
            return true;
        }
        // The passed descriptors, then the output descriptor if any: Bootstrap::run expects it
        // right after them (3 + fdCount once moved into place).
        const std::size_t expected = std::size_t(boot.fdCount) + (boot.outputFd >= 0 ? 1 : 0);
        if (fds.size() - 1 != expected ||
            (boot.outputFd >= 0 && boot.outputFd != 3 + boot.fdCount)) {
            std::fputs("poolscope-worker --fork-server: bad request: descriptors do not match "
                       "the bootstrap header\n",
                       stderr);
            sendInt(statusFd, -EINVAL);
            return true;
        }
        std::vector<int> pass;
        for (std::size_t i = 1; i < fds.size(); ++i)
            pass.push_back(fds[i].get());

        const pid_t pid = ::fork();
        if (pid == 0)
            childMain(boot, std::move(pass));
        if (pid < 0) {
            sendInt(statusFd, -errno);
            return true;
        }
        sendInt(statusFd, pid);
        m_children.emplace(pid, fds[0].release());
        return true; // the passed descriptors close here, in the server
    }

    [[noreturn]] void childMain(const Bootstrap& boot, std::vector<int> pass)
    {
        resetSignals();
        dieWithParent(m_self);
        std::vector<int> keep{0, 1, 2};
        keep.insert(keep.end(), pass.begin(), pass.end());
        closeFdsExcept(keep); // the connection, the signalfd, every status socket
        moveFds(pass, 3);
        const int code = boot.run(pass);
        flushStdStreams();
        ::_exit(code);
    }

    int m_conn;
    int m_sigfd;
    pid_t m_self;
    std::map<pid_t, int> m_children; // pid -> status socket
};

} // namespace

int ForkServer::serve(int listenFd, pid_t parent)
{
    dieWithParent(parent);
    setOsThreadName("fork-server");
    (void)TaskRegistry::builtins(); // the preload: every child starts with the registry built

    int conn;
    do {
        conn = ::accept4(listenFd, nullptr, nullptr, SOCK_CLOEXEC);
    } while (conn < 0 && errno == EINTR);
    ::close(listenFd);
    if (conn < 0) {
        std::fprintf(stderr, "poolscope-worker --fork-server: accept: %s\n", std::strerror(errno));
        return 1;
    }
    UniqueFd connection(conn);

    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    ::sigprocmask(SIG_BLOCK, &chld, nullptr);
    UniqueFd sigfd(::signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!sigfd) {
        std::fprintf(stderr, "poolscope-worker --fork-server: signalfd: %s\n",
                     std::strerror(errno));
        return 1;
    }
    return Server(connection.get(), sigfd.get()).run();
}

} // namespace poolscope
