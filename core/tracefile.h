#pragma once

#include "eventlog.h"
#include "trace.h"
#include "tracemetadata.h"

#include <stdexcept>
#include <string>

namespace poolscope {

struct TraceError : std::runtime_error
{
    using std::runtime_error::runtime_error;
};

// Chrome Trace Event JSON (opens in Perfetto and chrome://tracing), written from an event log
// and read back for replay. Timestamps are microseconds from the run's start.
class TraceFile
{
public:
    // Throws TraceError naming the path when it cannot be created or written. Checks are done
    // before any work starts by calling checkWritable() first.
    static void write(const std::string& path, const EventLog& log, const TraceMetadata& meta);
    static std::string toJson(const EventLog& log, const TraceMetadata& meta);
    // Throws TraceError with a clear message for a missing, malformed or truncated file.
    static Trace read(const std::string& path);
    static Trace fromJson(const std::string& json);
    // Throws TraceError naming the path when a file cannot be written there (nothing is left
    // behind by the check).
    static void checkWritable(const std::string& path);
};

} // namespace poolscope
