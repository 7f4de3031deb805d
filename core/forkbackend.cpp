#include "forkbackend.h"

#include "childsetup.h"
#include "entrypoints.h"
#include "forkserver.h"
#include "process.h"
#include "processerror.h"
#include "taskregistry.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <pthread.h>
#include <unistd.h>

namespace poolscope {

namespace {

[[noreturn]] void childMain(const ProcessTarget& target, const ProcessOptions& options,
                            const std::string& name, const std::string& identity, pid_t parent,
                            int sentinelRead, int sentinelWrite, EntryFunction entry)
{
    resetSignals();
    dieWithParent(parent);
    if (sentinelRead >= 0)
        ::close(sentinelRead);
    // Before closeFdsExcept: 1 and 2 are kept, the extra copy goes with the rest (Entry); a
    // Callable or Task keeps it, as it keeps everything it inherited.
    if (options.outputFd >= 0 && !redirectOutput(options.outputFd))
        std::_Exit(70);
    // The parent's own sentinel (if the parent is itself a spawned child) belongs to the
    // parent: holding it would hide the parent's exit from the grandparent.
    if (const int inherited = currentProcess().ownSentinelFd;
        inherited >= 0 && inherited != sentinelWrite)
        ::close(inherited);
    if (target.kind() == ProcessTarget::Kind::Entry) {
        // On the stack when it fits (a pool worker passes two): nothing allocated yet.
        std::array<int, 16> small{};
        const std::size_t n = 4 + options.passFds.size();
        const std::unique_ptr<int[]> large(n > small.size() ? new int[n] : nullptr);
        const std::span<int> keep =
            large ? std::span<int>(large.get(), n) : std::span<int>(small).first(n);
        keep[0] = 0;
        keep[1] = 1;
        keep[2] = 2;
        keep[3] = sentinelWrite;
        std::copy(options.passFds.begin(), options.passFds.end(), keep.begin() + 4);
        closeFdsExcept(keep);
    }
    becomeChildProcess(name, identity, options.daemon, sentinelWrite);
    setOsThreadName(name);

    int code = 1;
    switch (target.kind()) {
    case ProcessTarget::Kind::Callable:
        code = runBootstrapped("C++ callable", {}, [&] {
            target.function()();
            return 0;
        });
        break;
    case ProcessTarget::Kind::Task:
        code = runBootstrapped("task", target.name(), [&] {
            return runTaskTarget(target.name(), target.args(), target.options());
        });
        break;
    case ProcessTarget::Kind::Entry:
        code = runBootstrapped("entry", target.name(),
                               [&] { return entry(target.payload(), options.passFds); });
        break;
    }
    // A fork server this child started is its child: stop and reap it, as the atexit handler
    // that _exit() skips would.
    ForkServer::shutdown();
    flushStdStreams();
    ::_exit(code);
}

} // namespace

ForkBackend::ForkBackend(const ProcessTarget& target, const ProcessOptions& options,
                         const std::string& name, const std::string& identity)
    : m_target(target), m_options(options), m_name(name), m_identity(identity)
{
    // The task registry is built here, once, and inherited, rather than in every child: a child
    // that built it would write a dozen fresh pages (page faults cost microseconds each).
    if (target.kind() == ProcessTarget::Kind::Task)
        (void)TaskRegistry::builtins();
    if (target.kind() == ProcessTarget::Kind::Entry) {
        m_entry = findEntry(target.name());
        if (!m_entry)
            throw ProcessError("ValueError", "unknown entry point '" + target.name() + "'");
    }
    for (int fd : options.passFds) {
        if (::fcntl(fd, F_GETFD) < 0)
            throw ProcessError("OSError", "cannot pass descriptor " + std::to_string(fd) +
                                              " to the child: " + std::strerror(errno));
    }
    checkOutputFd(options.outputFd);
    if (options.sentinel && ::pipe2(m_pipe, O_CLOEXEC) != 0)
        throw ProcessError("OSError", std::string("pipe: ") + std::strerror(errno));
}

ForkBackend::~ForkBackend()
{
    for (int fd : m_pipe) {
        if (fd >= 0)
            ::close(fd);
    }
}

void ForkBackend::forkAll(std::span<ForkBackend* const> backends, std::span<pid_t> pids)
{
    // Unflushed output would otherwise be written twice, once by each process (CPython flushes
    // too). All signals stay blocked across the forks, so that nothing reaches a child while it
    // still has the parent's handlers (a Qt or test-framework handler must never run there);
    // the child resets the handlers, then unblocks.
    flushStdStreams();
    sigset_t all;
    sigset_t old;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old);
    const pid_t parent = ::getpid();
    for (std::size_t i = 0; i < backends.size(); ++i) {
        const pid_t pid = ::fork();
        if (pid == 0)
            backends[i]->runChild(parent, backends);
        pids[i] = pid < 0 ? -errno : pid;
        if (pid < 0)
            break;
    }
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void ForkBackend::adopt(pid_t forkResult)
{
    if (m_pipe[1] >= 0) // the child holds the only write end: its exit closes the pipe
        ::close(m_pipe[1]);
    m_pipe[1] = -1;
    if (forkResult < 0) {
        if (m_pipe[0] >= 0)
            ::close(m_pipe[0]);
        m_pipe[0] = -1;
        throw ProcessError("OSError", std::string("fork: ") + std::strerror(-forkResult));
    }
    m_pid = forkResult;
    m_sentinel = m_pipe[0];
    m_pipe[0] = -1;
}

void ForkBackend::runChild(pid_t parent, std::span<ForkBackend* const> batch) const
{
    // The other children's sentinel pipes, made before the first fork, are theirs: a copy of a
    // write end held here would hide their exit.
    for (const ForkBackend* other : batch) {
        if (other == this)
            continue;
        for (int fd : other->m_pipe) {
            if (fd >= 0)
                ::close(fd);
        }
    }
    childMain(m_target, m_options, m_name, m_identity, parent, m_pipe[0], m_pipe[1], m_entry);
}

} // namespace poolscope
