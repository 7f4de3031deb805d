#pragma once

#include "processtarget.h"
#include "startmethod.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace poolscope {

class ProcessBackend;

struct ProcessOptions
{
    StartMethod method = StartMethod::Fork;
    std::string name; // empty: "Process-N" (takes a number); else no number taken
    bool daemon = false;
    std::vector<int> passFds; // descriptors the child receives (spawn/forkserver: only these)
    // When >= 0, the child's stdout and stderr (descriptors 1 and 2) both become a copy of this
    // descriptor before its target runs, whatever the start method: how a parent captures
    // what its children print. The parent's own 1 and 2 are left alone.
    int outputFd = -1;
    // fork only: false makes no sentinel (sentinel() is -1), for a creator that learns of the
    // child's end another way, as a pool does from its result pipe: a pipe less to make and
    // close per child. join(timeout) then waits on a pidfd. Spawn and forkserver children keep
    // theirs, which their start-up needs.
    bool sentinel = true;
};

// A child process with Python's multiprocessing.Process lifecycle:
// start, join(timeout), terminate (SIGTERM), kill (SIGKILL), is_alive, pid, name, exitcode
// (nullopt while running, 0, the exit value, 1 for an uncaught error, -signum when killed),
// daemon, close. Children die with their parent (PR_SET_PDEATHSIG). Not thread-safe: one
// owner thread at a time; different Process objects may start from different threads.
//
// Linux caveat: PR_SET_PDEATHSIG fires when the *thread* that created the child exits, not
// when the parent process does. Start processes from a thread that outlives them (the pool
// starts its workers from threads that live as long as the pool). The fork server is exempt:
// the main thread spawns it itself, and any other thread has a thread that lives as long as
// the process spawn it (see ForkServer).
//
// Descriptors: every descriptor the core creates is O_CLOEXEC. A fork child running a Callable
// or a Task keeps everything it inherited (fork's lesson), an Entry child keeps only 0, 1, 2
// and passFds. A spawn child gets 0, 1, 2 and passFds as 3, 4, ...; so does a forkserver child.
// outputFd, when given, replaces 1 and 2 and is not one of the numbered descriptors.
// Writes to a child never raise SIGPIPE in the parent (sockets with MSG_NOSIGNAL); the
// parent's signal handling is left alone.
class Process
{
public:
    explicit Process(ProcessTarget target, ProcessOptions options = {});
    // A started process that was not joined is killed and reaped, so that no zombie or orphan
    // remains (Python would leave it running; PoolScope never leaves processes behind).
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    void start(); // ProcessError when started twice/closed
    // Starts these processes, in order, as start() would one by one, except that fork children
    // are forked back to back: the parent's bookkeeping for all of them comes after the last
    // fork, so that it copies each page it writes once, not once per child (ForkBackend).
    // On an error, the processes before the failing one have started, the others have not.
    static void startAll(std::span<Process* const> processes);
    void join(std::optional<double> timeoutSeconds = std::nullopt);
    bool isAlive();
    void terminate(); // SIGTERM
    void kill();      // SIGKILL
    void close();     // ValueError if still running

    std::optional<int> pid() const;
    const std::string& name() const { return m_name; }
    void setName(std::string name) { m_name = std::move(name); } // Python's p.name = ...
    // "3" for the third process this one created; "1:2" inside Process-1 (CPython's _identity).
    const std::string& identity() const { return m_identity; }
    std::optional<int> exitcode();
    bool daemon() const { return m_options.daemon; }
    void setDaemon(bool daemon); // before start only
    StartMethod startMethod() const { return m_options.method; }
    // A descriptor that becomes readable (EOF) once the child has exited; -1 before start.
    // (forkserver: the server's status socket, readable once the exit status has arrived)
    int sentinel() const;

private:
    void checkNotClosed() const;
    void checkStartable() const;
    void checkCreator(const char* message) const;

    ProcessTarget m_target;
    ProcessOptions m_options;
    std::string m_name;
    std::string m_identity; // "3" for Process-3, "1:2" for the second child of Process-1
    int m_creatorPid = 0;
    std::unique_ptr<ProcessBackend> m_backend;
    bool m_closed = false;
};

} // namespace poolscope
