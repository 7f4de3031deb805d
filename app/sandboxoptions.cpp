#include "sandboxoptions.h"

#include "optionvalues.h"
#include "usageerror.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>
#include <string_view>

namespace poolscope {

namespace {

constexpr std::int64_t kMaxItems = 10'000'000; // a sandbox, not a batch system
constexpr int kMaxWorkers = 256;               // each worker holds descriptors and a process
constexpr double kMaxSeconds = 1'000'000;      // keeps every deadline far from clock overflow
constexpr double kMaxTimeScale = 1000;
constexpr std::int64_t kFirstPrimeCandidate = 10'000'019;

using namespace optionvalues;

std::vector<std::string> apiNames()
{
    std::vector<std::string> names;
    for (auto api : {SandboxApi::Map, SandboxApi::Starmap, SandboxApi::MapAsync, SandboxApi::Imap,
                     SandboxApi::ImapUnordered, SandboxApi::Apply, SandboxApi::ApplyAsync})
        names.emplace_back(sandboxApiName(api));
    return names;
}

using Setter = void (*)(SandboxOptions&, std::string_view name, std::string_view value);
struct OptionSpec
{
    std::string_view name;
    Setter set;
};

const OptionSpec kOptions[] = {
    {"--api",
     [](SandboxOptions& o, std::string_view name, std::string_view v) {
         const auto api = parseSandboxApi(v);
         if (!api) {
             throw UsageError(std::string(name) + " must be one of " + joined(apiNames()) +
                              "; got " + quoted(v));
         }
         o.api = *api;
     }},
    {"--func",
     [](SandboxOptions& o, std::string_view name, std::string_view v) {
         const auto& fs = SandboxOptions::functions();
         if (std::find(fs.begin(), fs.end(), v) == fs.end()) {
             throw UsageError(std::string(name) + " must be one of " + joined(fs) + "; got " +
                              quoted(v));
         }
         o.func = std::string(v);
     }},
    {"--items",
     [](SandboxOptions& o, std::string_view name, std::string_view v) {
         o.items = integerAtLeast(name, v, 0, kMaxItems);
     }},
    {"--workers",
     [](SandboxOptions& o, std::string_view name, std::string_view v) {
         o.workers = int(integerAtLeast(name, v, 1, kMaxWorkers));
     }},
    {"--chunksize",
     [](SandboxOptions& o, std::string_view name, std::string_view v) {
         o.chunksize = int(integerAtLeast(name, v, 1, std::numeric_limits<int>::max()));
     }},
    {"--start-method",
     [](SandboxOptions& o, std::string_view name, std::string_view v) {
         const auto m = parseStartMethod(v);
         if (!m) {
             throw UsageError(std::string(name) + " must be one of fork, spawn, forkserver; got " +
                              quoted(v));
         }
         o.startMethod = *m;
     }},
    {"--seed",
     [](SandboxOptions& o, std::string_view name, std::string_view v) {
         const auto s = toInteger<std::uint64_t>(v);
         if (!s) {
             throw UsageError(std::string(name) + " must be an integer from 0 to " +
                              std::to_string(std::numeric_limits<std::uint64_t>::max()) + ", got " +
                              quoted(v));
         }
         o.seed = *s;
     }},
    {"--delay-min",
     [](SandboxOptions& o, std::string_view name, std::string_view v) {
         o.delayMin = numberAtLeast(name, v, 0, true, kMaxSeconds);
     }},
    {"--delay-max",
     [](SandboxOptions& o, std::string_view name, std::string_view v) {
         o.delayMax = numberAtLeast(name, v, 0, true, kMaxSeconds);
     }},
    {"--time-scale",
     [](SandboxOptions& o, std::string_view name, std::string_view v) {
         o.timeScale = numberAtLeast(name, v, 0, true, kMaxTimeScale);
     }},
    {"--fail-at",
     [](SandboxOptions& o, std::string_view name, std::string_view v) {
         o.failAt = integerAtLeast(name, v, 0);
     }},
    {"--crash-at",
     [](SandboxOptions& o, std::string_view name, std::string_view v) {
         o.crashAt = integerAtLeast(name, v, 0);
     }},
    {"--on-worker-death",
     [](SandboxOptions& o, std::string_view name, std::string_view v) {
         if (v == "fail")
             o.onWorkerDeath = WorkerDeathPolicy::Fail;
         else if (v == "hang")
             o.onWorkerDeath = WorkerDeathPolicy::Hang;
         else
             throw UsageError(std::string(name) + " must be fail or hang; got " + quoted(v));
     }},
    {"--timeout",
     [](SandboxOptions& o, std::string_view name, std::string_view v) {
         o.timeout = numberAtLeast(name, v, 0, false, kMaxSeconds);
     }},
    {"--trace",
     [](SandboxOptions& o, std::string_view, std::string_view v) {
         o.tracePath = std::string(v);
     }},
};

const OptionSpec* findOption(std::string_view name)
{
    for (const auto& spec : kOptions) {
        if (spec.name == name)
            return &spec;
    }
    return nullptr;
}

std::string formatNumber(double d)
{
    return Value(d).repr();
}

} // namespace

const std::vector<std::string>& SandboxOptions::functions()
{
    static const std::vector<std::string> names{"square",      "cube",  "is_prime",
                                                "slow_square", "sleep", "boom"};
    return names;
}

SandboxOptions SandboxOptions::parse(const std::vector<std::string>& args)
{
    SandboxOptions o;
    // --help wins over everything else on the line, as the user asked for help.
    if (std::any_of(args.begin(), args.end(), [](const std::string& a) { return isHelp(a); })) {
        o.help = true;
        return o;
    }

    std::set<std::string_view> seen;
    const auto pairs = splitOptions(
        args, [](std::string_view name) { return findOption(name) != nullptr; },
        [](std::string_view) { return false; });
    for (const auto& [name, value] : pairs) {
        const OptionSpec* spec = findOption(name);
        seen.insert(spec->name);
        spec->set(o, name, value);
    }

    if (!seen.contains("--api"))
        throw UsageError("--api is required (one of " + joined(apiNames()) + ")");
    if (!seen.contains("--func"))
        throw UsageError("--func is required (one of " + joined(functions()) + ")");
    if (!seen.contains("--items"))
        throw UsageError("--items is required (the number of inputs, >= 0)");
    if (o.delayMin > o.delayMax) {
        throw UsageError("--delay-min (" + formatNumber(o.delayMin) +
                         ") must not exceed --delay-max (" + formatNumber(o.delayMax) + ")");
    }
    if (o.chunksize && !isMapFamily(o.api) && !isImapFamily(o.api)) {
        throw UsageError("--chunksize does not apply to --api " +
                         std::string(sandboxApiName(o.api)) + " (one task per call)");
    }
    if (seen.contains("--fail-at") && o.func != "boom")
        throw UsageError("--fail-at applies only to --func boom, not " + o.func);
    // CPython's behaviour: the lost task never reports, so without a deadline the call would
    // wait forever.
    if (o.onWorkerDeath == WorkerDeathPolicy::Hang && o.crashAt && *o.crashAt < o.items &&
        !o.timeout) {
        throw UsageError("--on-worker-death hang with --crash-at needs --timeout (the lost task "
                         "never reports, so the call would wait forever)");
    }
    return o;
}

Value::List SandboxOptions::inputs() const
{
    Value::List out;
    out.reserve(std::size_t(items));
    for (std::int64_t i = 0; i < items; ++i)
        out.emplace_back(func == "is_prime" ? kFirstPrimeCandidate + 2 * i : i + 1);
    return out;
}

TaskOptions SandboxOptions::taskOptions() const
{
    TaskOptions t;
    t.failAt = func == "boom" ? failAt : -1;
    t.crashAt = crashAt.value_or(-1);
    t.seed = seed;
    t.delayMin = delayMin;
    t.delayMax = delayMax;
    t.timeScale = timeScale;
    return t;
}

} // namespace poolscope

namespace poolscope {

std::string SandboxOptions::usage()
{
    return R"(Usage: poolscope pool --api API --func NAME --items N [options]

Runs one call on a real process pool (real worker processes, real pipes, CPython's
multiprocessing.Pool semantics) and prints what the equivalent Python program prints,
line by line as the results arrive.

Required:
  --api API             map, starmap, map_async, imap, imap_unordered, apply, apply_async
  --func NAME           square, cube, is_prime, slow_square, sleep, boom (see below)
  --items N             the number of inputs, 0 to 10000000. The inputs are 1..N; for
                        is_prime, N odd numbers from 10000019 (10000019, 10000021, ...)

Pool:
  --workers N           worker processes, 1 to 256 (default: the number of CPUs)
  --chunksize K         tasks per chunk, >= 1 (default: map, starmap, map_async
                        ceil(N / (4 * workers)); imap, imap_unordered 1). Not for apply
                        and apply_async, which send one task per call
  --start-method M      fork (default), spawn or forkserver
  --on-worker-death P   what happens when a worker dies in the middle of a task:
                          fail (default, PoolScope): the lost tasks raise WorkerLostError,
                            a replacement worker starts and the pool goes on
                          hang (CPython): a replacement starts but the lost task never
                            reports, so the call waits forever; needs --timeout when
                            --crash-at is given
  --timeout SECONDS     > 0: stop waiting for a result after this long and raise
                        multiprocessing.context.TimeoutError. map and starmap have no
                        timeout in Python, so they become map_async(...).get(SECONDS) and
                        starmap_async(...).get(SECONDS); apply becomes
                        apply_async(...).get(SECONDS); imap uses next(SECONDS)

Tasks (task indices are 0-based input positions within one call; apply and apply_async
make one call per input, each a job with the single task 0: for them --fail-at 0 and
--crash-at 0 hit every call, other indices none, and slow_square's delay is the same):
  --fail-at I           boom raises ValueError("boom") for task I (default 5; I >= N: none)
  --crash-at I          the worker that runs task I dies by SIGKILL, whatever the function
  --seed S              seeds slow_square's random delays (default 0): the same seed gives
                        the same delay to the same task, with any API and any start method
  --delay-min A         slow_square's delay range in seconds, 0 <= A <= B
  --delay-max B         (default 0.5 and 2.0, as in the article)
  --time-scale F        multiplies every sleep, >= 0 (default 1; 0 sleeps not at all)

Output:
  --trace FILE          after the call (also when it raised or timed out), write every
                        event as a Chrome trace (open it in Perfetto or chrome://tracing,
                        or replay it in PoolScope). The path is checked before anything
                        starts.
  -h, --help            show this help

Functions (x is the input):
  square        x * x
  cube          x ** 3
  is_prime      True when x is prime (naive trial division, as in the article)
  slow_square   sleeps a seeded random delay in [A, B] seconds, then x * x
  sleep         sleeps x seconds, returns None (--items 3 sleeps 1, 2 and 3 s)
  boom          x * x, but raises ValueError("boom") for task --fail-at

What is printed, and the Python it mirrors (inside `with Pool(workers) as pool:`):
  map             print(pool.map(f, items, chunksize))           [1, 4, 9, 16, 25]
  starmap         print(pool.starmap(f, [(x,) for x in items], chunksize))
                  (each input is passed as a one-element argument tuple (x,))
  map_async       print(pool.map_async(f, items, chunksize).get(timeout))
  imap            for r in pool.imap(f, items, chunksize):        Got result: 1
                      print("Got result:", r)                     Got result: 4 ...
  imap_unordered  the same with imap_unordered: completion order
  apply           for x in items:
                      print("Got result:", pool.apply(f, (x,)))
  apply_async     rs = [pool.apply_async(f, (x,)) for x in items]
                  for r in rs:
                      print("Got result:", r.get(timeout))
Results go to stdout, each line as soon as it is known. When the call raises, the
traceback goes to stderr and ends with Python's last line, e.g. "ValueError: boom" or
"multiprocessing.context.TimeoutError"; results printed before it stay on stdout. Leaving
the `with` block terminates the pool: no worker outlives the command.

Exit status: 0 the call succeeded; 1 it raised or timed out; 2 bad arguments or an
unwritable --trace path (nothing was run).

Examples:
  poolscope pool --api map --func square --items 5
  poolscope pool --api imap_unordered --func slow_square --items 5 --workers 3 --seed 7
  poolscope pool --api map --func boom --items 8 --start-method spawn
  poolscope pool --api map --func square --items 10 --crash-at 2 --on-worker-death hang \
                 --timeout 2 --trace run.json
)";
}

} // namespace poolscope
