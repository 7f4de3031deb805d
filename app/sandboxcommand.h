#pragma once

#include "sandboxoptions.h"

#include <iosfwd>
#include <memory>
#include <string>

namespace poolscope {

class EventLog;
class Pool;
struct RemoteError;
struct TraceMetadata;

// Runs `poolscope pool ...`: one call on a real Pool, printing what the equivalent Python
// program prints (results on `out` line by line as they arrive, a traceback on `err` when the
// call raises), then writes the trace when asked. Like Python's `with Pool() as pool:`, the
// pool is terminated before run() returns, so no worker outlives it.
class SandboxCommand
{
public:
    SandboxCommand(SandboxOptions options, std::ostream& out, std::ostream& err);

    // The exit status: 0 the call succeeded, 1 it raised, timed out or the trace could not be
    // written afterwards, 2 the trace path is unwritable (checked before anything starts).
    int run();

    // The Python statement the call corresponds to, as shown in the traceback.
    std::string pythonStatement() const;
    // The `with ... Pool(...) as pool:` line, where a failure to start the pool points.
    std::string poolStatement() const;
    // The chunksize the call uses: the given one, else the API's default.
    int chunksizeUsed(int workers) const;
    TraceMetadata traceMetadata(int workers) const;

private:
    void call(Pool& pool);
    void printLine(const std::string& line);
    void printException(const RemoteError& error, bool inCall);
    bool writeTrace(const EventLog& log, int workers);

    SandboxOptions m_options;
    std::ostream& m_out;
    std::ostream& m_err;
};

} // namespace poolscope
