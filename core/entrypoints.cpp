#include "entrypoints.h"

#include "bootstrap.h"
#include "childsetup.h"
#include "forkserver.h"
#include "poolworker.h"
#include "taskerror.h"

#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <string>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace poolscope {

namespace {

int taskEntry(std::span<const std::uint8_t> payload, std::span<const int>)
{
    std::string name;
    Value::List args;
    TaskOptions options;
    decodeTaskPayload(payload, name, args, options);
    return runTaskTarget(name, args, options);
}

Value::List signalsWhere(bool (*test)(int sig, const sigset_t& mask))
{
    sigset_t mask;
    ::sigprocmask(SIG_BLOCK, nullptr, &mask);
    Value::List out;
    for (int sig = 1; sig < NSIG; ++sig) {
        if (test(sig, mask))
            out.emplace_back(sig);
    }
    return out;
}

// What a child looks like from the inside, written as one frame to fds[0]: the tests (and
// the lessons about start methods) compare it across fork, spawn and forkserver.
// [pid, ppid, open descriptors, current_process().name, OS thread name, blocked signals,
//  signals without the default disposition, executable, identity, daemon, payload,
//  own sentinel descriptor (-1 when none)]
int probeEntry(std::span<const std::uint8_t> payload, std::span<const int> fds)
{
    if (fds.empty())
        throw TaskError("ValueError", "the probe entry needs a descriptor to write to");
    Value::List open;
    if (DIR* dir = ::opendir("/proc/self/fd")) {
        const int self = ::dirfd(dir);
        while (dirent* e = ::readdir(dir)) {
            if (e->d_name[0] != '.' && std::atoi(e->d_name) != self)
                open.emplace_back(std::atoi(e->d_name));
        }
        ::closedir(dir);
    }
    char comm[17] = {};
    ::prctl(PR_GET_NAME, comm);
    char exe[4096] = {};
    const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    const auto blocked =
        signalsWhere([](int sig, const sigset_t& mask) { return sigismember(&mask, sig) == 1; });
    const auto handled = signalsWhere([](int sig, const sigset_t&) {
        struct sigaction sa
        {};
        return ::sigaction(sig, nullptr, &sa) == 0 && sa.sa_handler != SIG_DFL;
    });
    const auto& cp = currentProcess();
    const Value report(Value::List{
        int(::getpid()), int(::getppid()), Value(open), cp.name, std::string(comm), Value(blocked),
        Value(handled), std::string(exe, n > 0 ? std::size_t(n) : 0), cp.identity, cp.daemon,
        std::string(payload.begin(), payload.end()), cp.ownSentinelFd});
    writeFrame(fds[0], encodeValue(report));
    return 0;
}

struct EntryRow
{
    std::string_view name;
    EntryFunction fn;
};

constexpr EntryRow kEntries[] = {
    {"task", taskEntry},
    {"pool-worker", runPoolWorker},
    {"probe", probeEntry},
};

const char* const kUsage = "usage: poolscope-worker --spawn BOOTSTRAP_FD | --fork-server "
                           "LISTEN_FD PARENT_PID (started by PoolScope, not by hand)";

int usage(const std::string& problem)
{
    std::fprintf(stderr, "poolscope-worker: %s; %s\n", problem.c_str(), kUsage);
    return 2;
}

bool parseInt(const char* text, int& out)
{
    const char* end = text + std::strlen(text);
    const auto r = std::from_chars(text, end, out);
    return r.ec == std::errc() && r.ptr == end;
}

bool isSocket(int fd)
{
    struct stat st
    {};
    return ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

int spawnMain(int fd)
{
    // Die with the parent from the start; whether the parent is still the one that spawned us
    // can only be checked once the bootstrap says who that was.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    Bootstrap boot;
    try {
        Bytes header;
        Bytes payload;
        if (!readFrame(fd, header) || !readFrame(fd, payload)) {
            std::fputs("poolscope-worker: no bootstrap data (the parent went away)\n", stderr);
            return 1;
        }
        boot = Bootstrap::decode(header, std::move(payload));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "poolscope-worker: bad bootstrap data: %s\n", e.what());
        return 1;
    }
    ::close(fd);
    dieWithParent(boot.parentPid);
    // Descriptors from 3 on (the passed ones, the sentinel) stay open for this program but
    // must not leak into programs it starts in turn.
    setCloexecFrom(3);
    std::vector<int> fds;
    for (int i = 0; i < boot.fdCount; ++i)
        fds.push_back(3 + i);
    return boot.run(fds);
}

} // namespace

EntryFunction findEntry(std::string_view name)
{
    for (const auto& row : kEntries) {
        if (row.name == name)
            return row.fn;
    }
    return nullptr;
}

int workerProgramMain(int argc, char** argv)
{
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "--spawn") {
        int fd = -1;
        if (argc != 3 || !parseInt(argv[2], fd))
            return usage("--spawn takes one descriptor number");
        if (fd < 3 || !isSocket(fd))
            return usage("descriptor " + std::string(argv[2]) + " is not a bootstrap socket");
        return spawnMain(fd);
    }
    if (mode == "--fork-server") {
        int fd = -1;
        int parent = -1;
        if (argc != 4 || !parseInt(argv[2], fd) || !parseInt(argv[3], parent) || parent <= 0)
            return usage("--fork-server takes a descriptor number and a parent pid");
        if (fd < 3 || !isSocket(fd))
            return usage("descriptor " + std::string(argv[2]) + " is not a listening socket");
        return ForkServer::serve(fd, parent);
    }
    return usage(mode.empty() ? "no mode given" : "unknown argument '" + mode + "'");
}

} // namespace poolscope
