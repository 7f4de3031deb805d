#pragma once

#include "taskclock.h"
#include "taskoptions.h"
#include "value.h"
#include "wire.h"

#include <cstdint>
#include <span>
#include <string>

namespace poolscope {

// What a pool worker is told at start (the payload of the "pool-worker" entry). Its name
// comes with every child's bootstrap (currentProcess()).
struct PoolWorkerConfig
{
    TaskOptions taskOptions;
    std::int64_t maxTasks = 0; // 0: unlimited
    std::string initializer;   // a registered task, or empty
    Value::List initargs;
    bool recording = true;     // report task timings (the parent keeps an event log)
    bool tscClock = false;     // TaskClock::tscUsable() in the parent: time tasks with the TSC
    TaskClock::Pair clockBase; // TaskClock::processBase() in the parent
    std::int64_t slot = 0;     // the worker's status slot in the task queue's memory
    // Fork workers only: where the parent has the task queue mapped. A fork child inherits the
    // mapping at the same address, and uses it instead of mapping the descriptor again (an
    // mmap() and its page faults in every worker's start, a munmap() at its exit).
    std::uint64_t inheritedQueue = 0;

    Bytes encode() const;
    static PoolWorkerConfig decode(std::span<const std::uint8_t> bytes); // throws WireError
};

// The pool worker's main loop: the "pool-worker" entry of the worker program. Runs in the
// child; returns its exit code. fds: [lifeline pipe (read end: end of file once the parent has
// gone), result pipe (write end), task queue memfd (with the status slots)].
int runPoolWorker(std::span<const std::uint8_t> payload, std::span<const int> fds);

} // namespace poolscope
