#pragma once

#include "value.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace poolscope {

enum class EventKind : std::uint8_t
{
    PoolCreated,    // a = processes, text = start method
    WorkerStarted,  // worker, pid, ppid, a = start latency (ns, from the pool asking for it,
                    // with the others started at once), text = worker name
    JobSubmitted,   // job, a = number of items, b = chunksize, text = "api func"
    ChunkSubmitted, // job, chunk, a = first task index, b = last task index (inclusive)
    ChunkTaken,     // job, chunk, worker, pid (timestamp taken in the worker)
    TaskStarted,    // job, chunk, task, worker, pid, value = input
    TaskFinished,   // job, chunk, task, worker, pid, ok, value = result or text = error,
                    // delay = seconds the task chose to sleep (-1: none), a = 0 when the task
                    // was timed alone, else K: it was too short to time alone, and was timed in
                    // a group of up to K tasks run back to back (one clock reading a group),
                    // its start and end being its even share of the group's time
    ChunkResult,    // job, chunk, worker, ok: the parent received the chunk's result
    ResultYielded,  // job, task, ok, value or text: handed to the caller, in the caller's order.
                    // map/starmap hand over the whole list at once: task = -1, a = its size
    Callback,       // job, task (-1 for map_async's whole list)
    ErrorCallback,  // job, task, text = error
    WorkerExited,   // worker, pid, a = exit code (Python's convention: -signum when killed)
    WorkerLost,     // worker, pid, job, chunk, text = what was lost: the worker died mid-chunk
    PoolClosed,
    PoolTerminated,
};

std::string_view eventKindName(EventKind kind);

// One timestamped step of a run. Plain value type; fields that do not apply are -1 / empty.
struct Event
{
    std::int64_t tNs = 0; // CLOCK_MONOTONIC, the same clock in every process
    EventKind kind = EventKind::PoolCreated;
    bool ok = true;
    std::int32_t job = -1;
    std::int32_t chunk = -1;
    std::int32_t worker = -1; // N of ForkPoolWorker-N
    std::int32_t pid = 0;
    std::int32_t ppid = 0;
    std::int64_t task = -1; // 0-based input index
    std::int64_t a = 0;
    std::int64_t b = 0;
    double delay = -1;
    Value value;
    std::string text;
};

} // namespace poolscope
