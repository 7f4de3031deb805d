#pragma once

#include "eventlog.h"
#include "process.h"

#include <cstdint>
#include <memory>

namespace poolscope {

// Records the life of a scenario's own Process objects in the run's event log, as a pool
// records its workers, so that their lanes show on the timeline and in a trace:
// WorkerStarted once start() returned (worker, pid, ppid, a = nanoseconds start() took,
// text = name) and WorkerExited once the parent knows the exit code (a = exit code).
class ProcessEventRecorder
{
public:
    explicit ProcessEventRecorder(std::shared_ptr<EventLog> log) : m_log(std::move(log)) {}

    // Starts the process (ProcessError as Process::start) and records it as lane `worker`.
    // Returns how long start() took, in nanoseconds.
    std::int64_t start(Process& process, int worker);
    // After a join: records the exit, when there is one (no-op while it still runs).
    void exited(Process& process, int worker);

private:
    std::shared_ptr<EventLog> m_log;
};

} // namespace poolscope
