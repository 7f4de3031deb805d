#pragma once

#include "sandboxapi.h"
#include "startmethod.h"
#include "taskoptions.h"
#include "value.h"
#include "workerdeathpolicy.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace poolscope {

// The arguments of `poolscope pool ...` as a plain value, with the documented defaults.
// parse() validates everything that can be checked without running anything and throws
// UsageError with a one-line message naming the argument.
struct SandboxOptions
{
    bool help = false; // --help: print usage() and run nothing
    SandboxApi api = SandboxApi::Map;
    std::string func;
    std::int64_t items = 0;
    std::optional<int> workers;   // nullopt: the number of CPUs (Pool(None))
    std::optional<int> chunksize; // nullopt: the API's default
    StartMethod startMethod = StartMethod::Fork;
    std::uint64_t seed = 0;
    double delayMin = 0.5;
    double delayMax = 2.0;
    double timeScale = 1.0;
    std::int64_t failAt = 5;             // boom's failing task index
    std::optional<std::int64_t> crashAt; // the task whose worker dies by SIGKILL
    WorkerDeathPolicy onWorkerDeath = WorkerDeathPolicy::Fail;
    std::optional<double> timeout; // seconds
    std::string tracePath;         // empty: no trace

    // The arguments after "pool". Accepts "--name value" and "--name=value".
    static SandboxOptions parse(const std::vector<std::string>& args);
    // `poolscope pool --help`.
    static std::string usage();
    // The functions --func accepts (all registered tasks that take one argument).
    static const std::vector<std::string>& functions();

    // The inputs: 1..N; for is_prime, N odd numbers from 10,000,019 (as in the article).
    Value::List inputs() const;
    // What the tasks are bound with (fail-at, crash-at, seed, delays, time scale).
    TaskOptions taskOptions() const;

    bool operator==(const SandboxOptions&) const = default;
};

} // namespace poolscope
