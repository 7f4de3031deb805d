#pragma once

#include "taskoptions.h"

#include <cstdint>

namespace poolscope {

// What a running task knows besides its arguments, and what it reports besides its result.
struct TaskContext
{
    std::int64_t index = 0; // 0-based position of the task's input
    TaskOptions options;
    double delaySeconds = -1; // set by tasks that sleep: the delay they chose (unscaled)
};

} // namespace poolscope
