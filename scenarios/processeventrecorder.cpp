#include "processeventrecorder.h"

#include "clock.h"
#include "forkserver.h"

#include <unistd.h>

namespace poolscope {

std::int64_t ProcessEventRecorder::start(Process& process, int worker)
{
    const std::int64_t before = monotonicNs();
    process.start();
    const std::int64_t took = monotonicNs() - before;
    Event e;
    e.tNs = monotonicNs();
    e.kind = EventKind::WorkerStarted;
    e.worker = worker;
    e.pid = process.pid().value_or(0);
    // A forkserver child's parent is the server, as in CPython.
    e.ppid = process.startMethod() == StartMethod::ForkServer
                 ? int(ForkServer::serverPid().value_or(0))
                 : int(::getpid());
    e.a = took;
    e.text = process.name();
    m_log->append(e);
    return took;
}

void ProcessEventRecorder::exited(Process& process, int worker)
{
    const auto code = process.exitcode();
    if (!code)
        return;
    Event e;
    e.tNs = monotonicNs();
    e.kind = EventKind::WorkerExited;
    e.worker = worker;
    e.pid = process.pid().value_or(0);
    e.a = *code;
    e.text = process.name();
    m_log->append(e);
}

} // namespace poolscope
