#pragma once

#include "eventlog.h"
#include "startmethod.h"
#include "taskoptions.h"
#include "value.h"
#include "workerdeathpolicy.h"

#include <memory>
#include <optional>
#include <string>

namespace poolscope {

struct PoolOptions
{
    std::optional<int> processes; // nullopt: the number of CPUs
    StartMethod method = StartMethod::Fork;
    std::string initializer; // a registered task run once in every worker
    Value::List initargs;
    std::optional<int> maxtasksperchild; // a chunk counts as one task, as in CPython
    TaskOptions taskOptions;             // fail-at, crash-at, seed, delays, time scale
    WorkerDeathPolicy onWorkerDeath = WorkerDeathPolicy::Fail;
    bool record = true;            // record every step (on by default)
    std::shared_ptr<EventLog> log; // where events go; null: the pool makes its own
    int outputFd = -1; // >= 0: every worker's stdout and stderr (ProcessOptions::outputFd)
};

} // namespace poolscope
