#include "event.h"

namespace poolscope {

std::string_view eventKindName(EventKind kind)
{
    switch (kind) {
    case EventKind::PoolCreated:
        return "pool_created";
    case EventKind::WorkerStarted:
        return "worker_start";
    case EventKind::JobSubmitted:
        return "job";
    case EventKind::ChunkSubmitted:
        return "submit";
    case EventKind::ChunkTaken:
        return "take";
    case EventKind::TaskStarted:
        return "task_start";
    case EventKind::TaskFinished:
        return "task_finish";
    case EventKind::ChunkResult:
        return "result";
    case EventKind::ResultYielded:
        return "yield";
    case EventKind::Callback:
        return "callback";
    case EventKind::ErrorCallback:
        return "error_callback";
    case EventKind::WorkerExited:
        return "worker_exit";
    case EventKind::WorkerLost:
        return "worker_lost";
    case EventKind::PoolClosed:
        return "pool_closed";
    case EventKind::PoolTerminated:
        return "pool_terminated";
    }
    return "unknown";
}

} // namespace poolscope
