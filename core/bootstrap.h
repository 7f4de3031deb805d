#pragma once

#include "processtarget.h"
#include "wire.h"

#include <string>
#include <string_view>

namespace poolscope {

// What a spawned or fork-server child needs to become the process the parent created, the
// counterpart of CPython's preparation data plus the pickled Process object. It travels as two
// wire frames: a header Value and the entry's raw payload.
struct Bootstrap
{
    std::string entry;       // entry point name ("task", "pool-worker", ...)
    std::string processName; // "Process-1", "SpawnPoolWorker-3"
    std::string identity;    // "1", "1:2"
    int parentPid = 0;       // the pid the child's getppid() must return
    bool daemon = false;
    int fdCount = 0;     // passFds arrive as descriptors 3, 4, ... 3 + fdCount - 1
    int sentinelFd = -1; // spawn: the child's end of its sentinel pipe
    // ProcessOptions::outputFd as received (a descriptor after the passed ones): run() makes
    // it the child's stdout and stderr and closes it. -1: output left alone.
    int outputFd = -1;
    Bytes payload;

    // The bootstrap of a spawn or forkserver child. Throws ProcessError("PicklingError") for
    // what cannot travel to another program (a C++ callable, an unregistered task) and
    // ProcessError("ValueError") for an unknown entry point.
    static Bootstrap forTarget(const ProcessTarget& target, std::string_view method,
                               std::string processName, std::string identity, bool daemon,
                               int fdCount);

    Bytes encodeHeader() const;
    // In the child, once its descriptors are in place: redirects its output (outputFd),
    // becomes the process described here (current_process(), OS thread name) and runs the
    // entry with the first fdCount of fds. Returns the exit code.
    int run(std::span<const int> fds) const;
    // Throws WireError on a malformed header.
    static Bootstrap decode(std::span<const std::uint8_t> header, Bytes payload);
};

// The payload of the "task" entry: a registered task, its arguments and options.
Bytes encodeTaskPayload(const std::string& name, const Value::List& args,
                        const TaskOptions& options);
void decodeTaskPayload(std::span<const std::uint8_t> payload, std::string& name, Value::List& args,
                       TaskOptions& options); // throws WireError

} // namespace poolscope
