#pragma once

#include "event.h"
#include "tracemetadata.h"

#include <vector>

namespace poolscope {

// A trace read back from a file: the run's metadata and its events, for replay.
struct Trace
{
    TraceMetadata metadata;
    std::vector<Event> events; // sorted by time
};

} // namespace poolscope
