#pragma once

#include <optional>
#include <sys/types.h>

namespace poolscope {

// How a started child is watched and signalled: CPython's Popen classes. The base class holds
// what every start method has (pid, sentinel, return code); a subclass launches the child in
// its constructor and says how the exit status is collected.
class ProcessBackend
{
public:
    virtual ~ProcessBackend();
    ProcessBackend(const ProcessBackend&) = delete;
    ProcessBackend& operator=(const ProcessBackend&) = delete;

    pid_t pid() const { return m_pid; }
    int sentinel() const { return m_sentinel; }

    // The exit code in Python's convention (n, or -signum), nullopt while the child runs.
    // Never blocks.
    std::optional<int> poll() { return collect(false); }
    // Waits up to timeoutSeconds (forever when nullopt) for the child to end.
    std::optional<int> wait(std::optional<double> timeoutSeconds);
    // Sends sig unless the exit status is already known (the pid may be reused by then).
    void sendSignal(int sig);
    // Releases the sentinel. The child must have ended.
    void close();

    // Python's convention for a waitpid status: the exit value, or -signum.
    static int exitCodeFromStatus(int status);

protected:
    ProcessBackend() = default;
    // Collects the exit status if the child has ended (block: wait for it).
    virtual std::optional<int> collect(bool block) = 0;
    // For direct children (fork, spawn): waitpid.
    std::optional<int> collectChild(bool block);

    pid_t m_pid = -1;
    int m_sentinel = -1; // -1: none (ProcessOptions::sentinel false)
    std::optional<int> m_returncode;

private:
    std::optional<int> waitWithoutSentinel(double timeoutSeconds);
};

// Waits until fd is readable, up to timeoutSeconds (forever when nullopt); true when readable.
bool waitReadable(int fd, std::optional<double> timeoutSeconds);

} // namespace poolscope
