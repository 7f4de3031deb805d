#pragma once

#include "startmethod.h"
#include "value.h"

#include <vector>

namespace poolscope {

// The start-method part of the comparison scenario: Pool(2) started a few times with one start
// method, each time until both workers were up, then a tiny map.
struct StartMethodTrial
{
    StartMethod method = StartMethod::Fork;
    std::vector<double> readySeconds;       // per pool: constructor call to the last worker up
    std::vector<double> workerStartSeconds; // per worker: start requested to ready (event's a)
    std::vector<int> parentPids;            // per worker: its parent's pid
    std::vector<Value::List> results;       // per pool: map(square, [1, 2])
    int workersUp = 0;                      // WorkerStarted events seen
};

} // namespace poolscope
