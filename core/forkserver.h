#pragma once

#include "wire.h"

#include <optional>
#include <span>
#include <sys/types.h>

namespace poolscope {

// The forkserver start method: one server per parent process, a spawned
// `poolscope-worker --fork-server` that preloads the task registry and forks a child per
// request, as CPython's multiprocessing.forkserver.
//
// Client side: the first launch() creates a private directory (mkdtemp, 0700) with a listening
// Unix socket (0600), spawns the server with the listening descriptor, connects, and removes the
// socket and the directory right away: the one connection is all it needs, so nothing stays
// on disk even if both processes are killed. A request carries the bootstrap frames and, by
// SCM_RIGHTS, a status socket plus the child's descriptors (its output descriptor last, if any).
// The server answers on the status socket: the child's pid at once, its exit code (Python's
// convention) when it has reaped it. That status socket is the Process's sentinel. All calls are
// thread-safe.
//
// Server side: a single-threaded poll loop over the connection and a signalfd for SIGCHLD. It
// exits when the connection closes (the parent stopped it or died), after killing and reaping
// its children, and dies with its parent via PR_SET_PDEATHSIG. PDEATHSIG fires when the
// *thread* that created a process exits, and the server must outlive whichever thread started
// it: the main thread spawns it itself (it lives as long as the process); for any other thread
// a dedicated thread that lives as long as the parent process spawns it.
class ForkServer
{
public:
    struct Child
    {
        pid_t pid = -1;
        int statusFd = -1; // owned by the caller
    };

    // Starts the server if needed (or again if it died) and has it fork a child. Throws
    // ProcessError("OSError") when the server cannot be started or reached.
    static Child launch(std::span<const std::uint8_t> header, std::span<const std::uint8_t> payload,
                        std::span<const int> fds);
    // Stops the server and waits for it. Its children still running are killed (their Process
    // objects see -SIGKILL). No-op when no server runs. Also runs at normal exit of the parent.
    static void shutdown();
    // The pid of the running server, if any (the parent pid of forkserver children).
    static std::optional<pid_t> serverPid();

    // main() of the server process: listenFd is the listening socket, parent the pid its
    // getppid() must return. Returns the exit code.
    static int serve(int listenFd, pid_t parent);
};

} // namespace poolscope
