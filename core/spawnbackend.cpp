#include "spawnbackend.h"

#include "bootstrap.h"
#include "childsetup.h"
#include "fdutil.h"
#include "process.h"
#include "processerror.h"

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <unistd.h>

extern char** environ;

namespace poolscope {

std::string workerProgramPath()
{
    std::string path;
    if (const char* env = std::getenv("POOLSCOPE_WORKER"); env && *env) {
        path = env;
    } else {
        char exe[PATH_MAX];
        const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0)
            throw ProcessError("OSError", std::string("cannot locate poolscope-worker: readlink "
                                                      "/proc/self/exe failed: ") +
                                              std::strerror(errno));
        path.assign(exe, std::size_t(n));
        path = path.substr(0, path.rfind('/') + 1) + "poolscope-worker";
    }
    if (::access(path.c_str(), X_OK) != 0) {
        throw ProcessError("OSError", "cannot start a spawn or forkserver process: the worker "
                                      "program " +
                                          path + " is missing or not executable (" +
                                          std::strerror(errno) +
                                          "); build the poolscope-worker target or set "
                                          "POOLSCOPE_WORKER");
    }
    return path;
}

pid_t spawnWorkerProgram(const std::string& path, std::span<const int> fds,
                         const std::vector<std::string>& args)
{
    // Lift every source above the target range first (CLOEXEC copies, so the child never sees
    // them): then each dup2 onto 3 + i cannot overwrite a source not yet copied, and dup2 onto
    // a distinct number always clears FD_CLOEXEC.
    const int base = 3 + int(fds.size());
    std::vector<UniqueFd> lifted;
    for (int fd : fds) {
        const int high = ::fcntl(fd, F_DUPFD_CLOEXEC, base);
        if (high < 0)
            throw ProcessError("OSError", "cannot pass descriptor " + std::to_string(fd) +
                                              " to the child: " + std::strerror(errno));
        lifted.emplace_back(high);
    }

    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    for (std::size_t i = 0; i < lifted.size(); ++i)
        posix_spawn_file_actions_adddup2(&actions, lifted[i].get(), 3 + int(i));
    posix_spawn_file_actions_addclosefrom_np(&actions, base);
    sigset_t all;
    sigset_t none;
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(path.c_str()));
    for (const auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);

    pid_t pid = -1;
    const int err = ::posix_spawn(&pid, path.c_str(), &actions, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (err != 0)
        throw ProcessError("OSError", "cannot start " + path + ": " + std::strerror(err));
    return pid;
}

SpawnBackend::SpawnBackend(const ProcessTarget& target, const ProcessOptions& options,
                           const std::string& name, const std::string& identity)
{
    const int nfds = int(options.passFds.size());
    checkOutputFd(options.outputFd);
    Bootstrap boot = Bootstrap::forTarget(target, "spawn", name, identity, options.daemon, nfds);
    boot.sentinelFd = 3 + nfds + 1; // after the passed descriptors and the bootstrap socket
    if (options.outputFd >= 0)
        boot.outputFd = 3 + nfds + 2; // last, so that nothing before it moves
    const std::string path = workerProgramPath();

    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        throw ProcessError("OSError", std::string("socketpair: ") + std::strerror(errno));
    UniqueFd bootParent(sv[0]);
    UniqueFd bootChild(sv[1]);
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0)
        throw ProcessError("OSError", std::string("pipe: ") + std::strerror(errno));
    UniqueFd sentinelRead(p[0]);
    UniqueFd sentinelWrite(p[1]);

    Bytes frames; // built before the child exists: nothing may throw once it runs
    appendFrame(frames, boot.encodeHeader());
    appendFrame(frames, boot.payload);

    std::vector<int> fds(options.passFds.begin(), options.passFds.end());
    fds.push_back(bootChild.get());
    fds.push_back(sentinelWrite.get());
    if (options.outputFd >= 0)
        fds.push_back(options.outputFd);
    m_pid = spawnWorkerProgram(path, fds, {"--spawn", std::to_string(3 + nfds)});
    m_sentinel = sentinelRead.release();
    bootChild.reset();
    sentinelWrite.reset();

    // The child reads this after exec. A child that died first makes the send fail with EPIPE
    // (never SIGPIPE: MSG_NOSIGNAL); its exit code then tells the story.
    sendAll(bootParent.get(), frames.data(), frames.size());
}

} // namespace poolscope
