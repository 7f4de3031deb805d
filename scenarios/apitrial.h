#pragma once

#include "value.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace poolscope {

// What one pool API did in the comparison scenario, seen from the caller: when its (first) call
// returned, when the first and the last result were in the caller's hands, and the results in
// the order the caller received them. Times are CLOCK_MONOTONIC; the events of its jobs are the
// log's entries from logFrom on.
struct ApiTrial
{
    std::string api;             // "map", "imap", "imap_unordered", "apply", "apply_async"
    std::int64_t startNs = 0;    // just before the first call
    std::int64_t returnedNs = 0; // when the first call returned
    std::int64_t firstNs = 0;    // the first result in hand
    std::int64_t lastNs = 0;     // the last result in hand
    Value::List received;        // in the order the caller received them
    Value::List byCall; // apply, apply_async: what each call's return or get() gave, in call order
    std::size_t logFrom = 0;
    std::size_t logTo = 0; // the log's size once its pool was joined
    bool complete = false; // every result received (not cancelled)
    // Whether each call returned only with its result(s) already received by the parent:
    // checked from the log at the moment the call returned (map, apply).
    bool returnedWithResults = false;

    double seconds(std::int64_t ns) const { return double(ns - startNs) / 1e9; }
};

} // namespace poolscope
