#pragma once

#include <cstdint>
#include <string>

namespace poolscope {

// The run description stored in a trace's "otherData".
struct TraceMetadata
{
    std::string tool = "PoolScope";
    std::string version; // PoolScope's version
    std::string api;     // "map", "imap", ...
    std::string func;    // "square", ...
    std::int64_t items = 0;
    int workers = 0;
    int chunksize = 0;       // the chunksize used (the computed default when none was given)
    std::string startMethod; // "fork", "spawn", "forkserver"
    std::uint64_t seed = 0;
    double timeScale = 1.0;
    int mainPid = 0;
    bool operator==(const TraceMetadata&) const = default;
};

} // namespace poolscope
