#pragma once

#include "value.h"

#include <cstdint>

namespace poolscope {

// Parameters of the built-in tasks, the same in every worker of a pool (what a Python program
// would bind with functools.partial). Indices are 0-based input positions; -1 means "none".
struct TaskOptions
{
    std::int64_t failAt = -1;  // boom raises ValueError("boom") for the task at this index
    std::int64_t crashAt = -1; // the worker running this task dies by SIGKILL, whatever the task
    std::uint64_t seed = 0;    // seeds slow_square's delays
    double delayMin = 0.5;     // slow_square's delay range, seconds
    double delayMax = 2.0;
    double timeScale = 1.0; // every sleep is multiplied by this; 0 sleeps not at all

    // slow_square's delay for the task at `index`: a seeded uniform draw in [delayMin, delayMax],
    // a pure function of (seed, index) so that imap and imap_unordered see the same delays.
    double delayFor(std::int64_t index) const;

    Value toValue() const;
    static TaskOptions fromValue(const Value& v);
    bool operator==(const TaskOptions&) const = default;
};

} // namespace poolscope
