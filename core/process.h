#pragma once

#include "processtarget.h"
#include "startmethod.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace poolscope {

class ProcessBackend;

struct ProcessOptions
{
    StartMethod method = StartMethod::Fork;
    std::string name;         // empty: "Process-N", one counter per parent process
    bool daemon = false;
    std::vector<int> passFds; // descriptors the child receives (spawn/forkserver: only these)
};

// A child process with Python's multiprocessing.Process lifecycle:
// start, join(timeout), terminate (SIGTERM), kill (SIGKILL), is_alive, pid, name, exitcode
// (nullopt while running, 0, the exit value, 1 for an uncaught error, -signum when killed),
// daemon, close. Children die with their parent (PR_SET_PDEATHSIG). Not thread-safe: one
// owner thread at a time.
class Process
{
public:
    explicit Process(ProcessTarget target, ProcessOptions options = {});
    // A started process that was not joined is killed and reaped, so that no zombie or orphan
    // remains (Python would leave it running; PoolScope never leaves processes behind).
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    void start();                                   // ProcessError when started twice/closed
    void join(std::optional<double> timeoutSeconds = std::nullopt);
    bool isAlive();
    void terminate();                               // SIGTERM
    void kill();                                    // SIGKILL
    void close();                                   // ValueError if still running

    std::optional<int> pid() const;
    const std::string& name() const { return m_name; }
    std::optional<int> exitcode();
    bool daemon() const { return m_options.daemon; }
    void setDaemon(bool daemon);                    // before start only
    StartMethod startMethod() const { return m_options.method; }
    // A descriptor that becomes readable (EOF) once the child has exited; -1 before start.
    int sentinel() const;

private:
    void checkNotClosed(const char* what) const;

    ProcessTarget m_target;
    ProcessOptions m_options;
    std::string m_name;
    std::unique_ptr<ProcessBackend> m_backend;
    bool m_closed = false;
};

} // namespace poolscope
