#pragma once

#include "taskoptions.h"
#include "value.h"

#include <span>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace poolscope {

// What this process knows about itself as a multiprocessing process: multiprocessing's
// current_process(). The main program is "MainProcess" with an empty identity; a child started
// as Process-3 has identity "3", and its own children are named "Process-3:1", "Process-3:2".
struct CurrentProcess
{
    std::string name = "MainProcess";
    std::string identity; // ":"-joined counter values, empty in the main program
    bool daemon = false;
    // The write end of this process's own sentinel pipe (spawn children), so that children
    // forked from here can drop it: the parent must see EOF when *this* process exits.
    int ownSentinelFd = -1;
    // nextProcessNumber() (processcounter.h) continues the parent's count in a forked child;
    // CPython restarts it at 1, so Process numbers are taken relative to this value.
    int counterBase = 0;
};

CurrentProcess& currentProcess();

// Called in a new child: sets current_process() and restarts the Process-N count at 1.
void becomeChildProcess(std::string_view name, std::string_view identity, bool daemon,
                        int ownSentinelFd);

// Child-side hygiene, in the order a new child applies it.
// Default dispositions for every signal, then an empty signal mask (pending signals, such as a
// terminate() that raced the start, are delivered with their default action right here).
void resetSignals();
// SIG_IGN for sig, as signal(sig, SIG_IGN) but without faulting in libc's signal code (see
// resetSignals()).
void ignoreSignal(int sig);
// PR_SET_PDEATHSIG(SIGKILL), then the race check: a parent that died before the prctl is not
// noticed by the kernel, so compare getppid() with the pid the parent had and die if it changed.
void dieWithParent(pid_t expectedParent);
// Closes every descriptor except those listed (close_range over the gaps, /proc/self/fd scan
// when close_range is unavailable). Sorts `keep` in place; allocates nothing where close_range
// works (a fork child calls it before its first allocation).
void closeFdsExcept(std::span<int> keep);
// Moves fds[i] to base + i (fds may overlap the targets) and updates the vector.
void moveFds(std::vector<int>& fds, int base);
// Sets FD_CLOEXEC on every descriptor >= lowest (so that later exec'd programs don't inherit).
void setCloexecFrom(int lowest);
// The OS thread name (15 characters), so that ps and top show the process name.
void setOsThreadName(std::string_view name);
// Flushes stdout and stderr: a parent before a fork, so that buffered output is not written
// twice, and a child about to _exit() (which skips the exit handlers that would). Only a stream
// holding unwritten bytes is flushed, its buffer read without its lock: fflush() takes the
// lock, a write to libc's memory, and after a fork every page a process writes costs a page
// fault (copy-on-write in a child; in the parent, the write protection fork put on it), two
// per fork just to find the buffers empty.
void flushStdStreams();

// ProcessOptions::outputFd. Parent side, before the child exists: a descriptor that is not
// open for writing gives ProcessError("OSError") naming it (negative: no redirection, no-op).
void checkOutputFd(int fd);
// Child side: descriptors 1 and 2 become copies of fd (kept across exec). The caller decides
// whether fd itself stays open. False (errno set) when dup2 fails.
bool redirectOutput(int fd);

// Inside a catch block of runBootstrapped(): the exit code for the exception in flight (n for
// SystemExit{n}, else 1 after printing "Process <name>:\nTraceback ...\n<Type>: <message>" to
// stderr, the traceback naming "<kind name>").
int bootstrapFailed(std::string_view kind, std::string_view name);

// Runs a process target the way multiprocessing's Process._bootstrap does and returns the exit
// code: 0 on return (or the function's int), n on SystemExit{n}, 1 on any exception after
// printing the traceback (bootstrapFailed). A template, not a std::function: a fork child
// allocates nothing to call its target.
template <class Body> int runBootstrapped(std::string_view kind, std::string_view name, Body&& body)
{
    int code = 1;
    try {
        code = body();
    } catch (...) {
        code = bootstrapFailed(kind, name);
    }
    flushStdStreams();
    return code;
}

// A registered task as a process target, in the child: runs it with a TaskContext (index 0,
// the options) and returns 0; the result is discarded. An unknown name raises
// AttributeError; options.crashAt == 0 kills the process with SIGKILL, as in a pool worker.
int runTaskTarget(const std::string& name, const Value::List& args, const TaskOptions& options);

} // namespace poolscope
