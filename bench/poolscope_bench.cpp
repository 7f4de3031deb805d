// poolscope-bench: PoolScope's process and pool figures next to this machine's raw limits
// (fork+_exit+waitpid, posix_spawn of a tiny program, an 8-byte pipe round trip, a minimal
// hand-rolled pool over one shared pipe) and, given --cpython FILE, next to CPython's
// multiprocessing (bench/cpython_bench.py). Every figure is a median over repeats after a
// warm-up; ratios are computed from the medians of this one run. See docs/PERFORMANCE.md.

#include "clock.h"
#include "eventlog.h"
#include "pool.h"
#include "process.h"
#include "taskregistry.h"
#include "wire.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <pthread.h>
#include <sched.h>
#include <set>
#include <signal.h>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace {

using poolscope::monotonicNs;
using poolscope::readExact; // false on EOF before the first byte; throws on EOF inside

struct Options
{
    bool quick = false;
    int repeats = 0; // 0: the section's default
    std::set<std::string> only;
    std::string jsonPath;
    std::string cpythonPath;
};

struct Figure
{
    double median = 0, min = 0, max = 0; // seconds
    int repeats = 0;
    long items = 0; // > 0: a throughput figure, shown as items / median tasks per second
    int pools = 0;  // > 0: the best of this many fresh pools (recordBest), its samples
    std::vector<double> poolMedians; // then every pool's median, in the order measured
    int blocks = 0;                  // > 0: the best of this many blocks of lifecycles (recordBest)
    std::vector<double> blockMedians; // then every block's median, in the order measured
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Figure, median, min, max, repeats, items, pools,
                                                poolMedians, blocks, blockMedians)

Options g_options;
std::map<std::string, Figure> g_figures; // measured here: "raw.*" and PoolScope's
std::map<std::string, double> g_logBytes; // bytes a task the event log keeps, per figure
std::map<std::string, Figure> g_cpython; // read from --cpython
std::string g_pythonVersion;

[[noreturn]] void fail(const std::string& what)
{
    throw std::runtime_error(what + (errno ? std::string(": ") + std::strerror(errno) : ""));
}

double seconds(std::int64_t ns)
{
    return double(ns) / 1e9;
}

double median(std::vector<double> xs)
{
    std::sort(xs.begin(), xs.end());
    const auto n = xs.size();
    return n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

int reps(int full, int quick)
{
    return g_options.repeats > 0 ? g_options.repeats : g_options.quick ? quick : full;
}

// Runs sample() `warmup` times unrecorded, then `repeats` times; sample returns seconds.
std::vector<double> measure(int warmup, int repeats, const std::function<double()>& sample)
{
    for (int i = 0; i < warmup; ++i)
        sample();
    std::vector<double> out;
    out.reserve(repeats);
    for (int i = 0; i < repeats; ++i)
        out.push_back(sample());
    return out;
}

std::string fmtTime(double s)
{
    char buf[32];
    if (s >= 1)
        std::snprintf(buf, sizeof buf, "%.2f s", s);
    else if (s >= 1e-3)
        std::snprintf(buf, sizeof buf, "%.2f ms", s * 1e3);
    else
        std::snprintf(buf, sizeof buf, "%.1f us", s * 1e6);
    return buf;
}

std::string fmtRate(double perSecond)
{
    std::string digits = std::to_string(static_cast<long long>(perSecond + 0.5));
    for (int i = int(digits.size()) - 3; i > 0; i -= 3)
        digits.insert(std::size_t(i), ",");
    return digits + " tasks/s";
}

std::string fmtFigure(const Figure& f)
{
    return f.items > 0 ? fmtRate(double(f.items) / f.median) : fmtTime(f.median);
}

void record(const std::string& key, const std::vector<double>& samples, long items = 0)
{
    const auto [lo, hi] = std::minmax_element(samples.begin(), samples.end());
    const Figure f{median(samples), *lo, *hi, int(samples.size()), items, 0, {}, 0, {}};
    g_figures[key] = f;
    std::printf("  %-28s %18s   (median of %d)\n", key.c_str(), fmtFigure(f).c_str(), f.repeats);
    std::fflush(stdout);
}

// Warm pools differ from one another on this 2-vCPU VM, and each keeps its pace: how a pool's
// two workers and its result thread settle on the two vCPUs lasts for the pool's life, so one
// pool's median is a draw from a spread of 0.8-1.4x (PERFORMANCE.md, "Thirteenth session").
// The figures that time a warm pool's throughput therefore measure several fresh pools and
// keep the best pool's samples: its median is the figure, every pool's median goes into the
// JSON. bench/cpython_bench.py does the same, with as many pools, for CPython's figures.
int poolDraws()
{
    return g_options.quick ? 2 : 5;
}

// Which draws a best-of figure chose from: fresh pools (poolDraws) or blocks of lifecycles
// (lifeBlocks).
enum class Draws
{
    Pools,
    Blocks
};

// Records the best of several draws: its median is the figure, and every draw's median goes
// into the JSON (poolMedians or blockMedians).
void recordBest(const std::string& key, const std::vector<std::vector<double>>& draws, Draws kind,
                long items = 0)
{
    std::vector<double> medians;
    for (const auto& samples : draws)
        medians.push_back(median(samples));
    const auto best =
        std::size_t(std::min_element(medians.begin(), medians.end()) - medians.begin());
    const auto& samples = draws[best];
    const auto [lo, hi] = std::minmax_element(samples.begin(), samples.end());
    Figure f{medians[best], *lo, *hi, int(samples.size()), items, 0, {}, 0, {}};
    if (kind == Draws::Pools) {
        f.pools = int(draws.size());
        f.poolMedians = medians;
    } else {
        f.blocks = int(draws.size());
        f.blockMedians = medians;
    }
    g_figures[key] = f;
    std::printf("  %-28s %18s   (median of %d, the best of %zu %s)\n", key.c_str(),
                fmtFigure(f).c_str(), f.repeats, draws.size(),
                kind == Draws::Pools ? "pools" : "blocks");
    std::fflush(stdout);
}

// Back-to-back lifecycles of a Pool(2) (or of two raw forks) come in phases on this VM: one
// block of a hundred runs at one pace and the next perhaps at another, up to 1.3x apart
// (PERFORMANCE.md, "Best of five blocks"). What differs is where the kernel places the new
// workers (one beside the parent, or both on the other vCPU), which seems to follow how busy
// it has lately seen the two vCPUs, and the lifecycles keep them busy. So these figures measure
// lifeBlocks() blocks, in turn with the other lifecycle figures, and keep the best block;
// bench/cpython_bench.py does the same for CPython's.
int lifeBlocks()
{
    return g_options.quick ? 2 : 5;
}

// ---- Raw limits ------------------------------------------------------------------------------

void makePipe(int fds[2])
{
    if (pipe2(fds, O_CLOEXEC) != 0)
        fail("pipe2");
}

void writeFull(int fd, const void* data, std::size_t size)
{
    if (!poolscope::writeAll(fd, data, size))
        fail("write: the reader is gone");
}

void reap(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            fail("waitpid");
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        errno = 0;
        fail("child " + std::to_string(pid) + " did not exit 0 (status " + std::to_string(status) +
             ")");
    }
}

// A helper child of the raw figures: dies with the bench, never runs the parent's atexit.
pid_t forkHelper()
{
    const pid_t pid = fork();
    if (pid < 0)
        fail("fork");
    if (pid == 0)
        prctl(PR_SET_PDEATHSIG, SIGKILL);
    return pid;
}

double rawForkSample()
{
    const auto t0 = monotonicNs();
    const pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    if (pid < 0)
        fail("fork");
    reap(pid);
    return seconds(monotonicNs() - t0);
}

// The least a pool of two forked workers costs: two forks, each child blocked on a pipe until
// the parent writes its stop byte, then both exit and are reaped.
double rawPoolSample()
{
    const auto t0 = monotonicNs();
    int stop[2];
    makePipe(stop);
    pid_t pids[2];
    for (pid_t& pid : pids) {
        pid = fork();
        if (pid == 0) {
            char c;
            _exit(read(stop[0], &c, 1) == 1 ? 0 : 1);
        }
        if (pid < 0)
            fail("fork");
    }
    const char stops[2] = {0, 0};
    writeFull(stop[1], stops, sizeof stops);
    for (pid_t pid : pids)
        reap(pid);
    close(stop[0]);
    close(stop[1]);
    return seconds(monotonicNs() - t0);
}

std::string tinyProgramPath()
{
    char buf[PATH_MAX];
    const auto n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0)
        fail("readlink /proc/self/exe");
    std::string path(buf, std::size_t(n));
    return path.substr(0, path.rfind('/') + 1) + "poolscope-bench-tiny";
}

double rawSpawnSample(const std::string& path)
{
    char* argv[] = {const_cast<char*>(path.c_str()), nullptr};
    const auto t0 = monotonicNs();
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, path.c_str(), nullptr, nullptr, argv, environ);
    if (rc != 0) {
        errno = rc;
        fail("posix_spawn " + path);
    }
    reap(pid);
    return seconds(monotonicNs() - t0);
}

// The first two CPUs this process may run on; false when it may run on one only.
bool twoCpus(int& a, int& b)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return false;
    int found = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && found < 2; ++cpu) {
        if (CPU_ISSET(cpu, &set))
            (found++ == 0 ? a : b) = cpu;
    }
    return found == 2;
}

bool pinTo(int cpu)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    return sched_setaffinity(0, sizeof one, &one) == 0;
}

// This thread's CPUs, given back when the scope ends (measurements after it are not pinned).
class AffinityRestore
{
public:
    AffinityRestore() { m_saved = sched_getaffinity(0, sizeof m_set, &m_set) == 0; }
    ~AffinityRestore()
    {
        if (m_saved)
            sched_setaffinity(0, sizeof m_set, &m_set);
    }
    AffinityRestore(const AffinityRestore&) = delete;
    AffinityRestore& operator=(const AffinityRestore&) = delete;

private:
    cpu_set_t m_set{};
    bool m_saved = false;
};

// 8 bytes there and back between this process and a child, over two pipes; one sample per
// round trip. Across cores: this thread on one CPU and the child on another while it runs,
// as a pool's worker runs beside its caller (and as the issue's scale has it, "a pipe round
// trip across cores"). Left to the kernel, the child was sometimes placed on this thread's
// own core, where a round trip is a direct hand-over: 4.1-4.5 us against 31-46 us in 2 of 9
// runs (PERFORMANCE.md, "Fourteenth session").
std::vector<double> rawPipeRoundTrips(int warmup, int repeats)
{
    int here = 0;
    int elsewhere = 0;
    const bool pinned = twoCpus(here, elsewhere);
    const AffinityRestore restore;
    int there[2];
    int back[2];
    makePipe(there);
    makePipe(back);
    const pid_t pid = forkHelper();
    if (pid == 0) {
        if (pinned)
            (void)pinTo(elsewhere); // unpinned, the figure is the kernel's choice as before
        close(there[1]);
        close(back[0]);
        try {
            std::int64_t v = 0;
            while (readExact(there[0], &v, sizeof v) && v >= 0)
                writeFull(back[1], &v, sizeof v);
        } catch (...) {
            _exit(1);
        }
        _exit(0);
    }
    close(there[0]);
    close(back[1]);
    if (pinned)
        (void)pinTo(here);
    std::int64_t i = 0;
    auto samples = measure(warmup, repeats, [&] {
        std::int64_t v = i++;
        const auto t0 = monotonicNs();
        writeFull(there[1], &v, sizeof v);
        if (!readExact(back[0], &v, sizeof v))
            fail("pipe round trip: child gone");
        return seconds(monotonicNs() - t0);
    });
    const std::int64_t stop = -1;
    writeFull(there[1], &stop, sizeof stop);
    close(there[1]);
    close(back[0]);
    reap(pid);
    return samples;
}

// What the raw pool's workers compute from each input.
enum class RawOp
{
    Square,
    IsPrime
};

// The minimal pool: N forked workers read chunk frames from ONE task pipe and write their
// results (squares, or is_prime as 0/1) on ONE shared result pipe. Frames are PIPE_BUF bytes, so
// each write and each read moves one whole frame atomically. A chunk longer than one frame spans
// several; then a worker takes the chunk's frames under a process-shared mutex (as CPython's
// workers hold a lock while reading a message), so that chunking is exactly the pool's. Result
// frames carry their first index, so workers' frames may interleave freely.
class RawPool
{
public:
    RawPool(int workers, int chunksize, RawOp op = RawOp::Square)
        : m_chunksize(chunksize), m_locked(chunksize > int(kPerFrame)), m_op(op)
    {
        makePipe(m_tasks);
        makePipe(m_results);
        void* shared = mmap(nullptr, sizeof(pthread_mutex_t), PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (shared == MAP_FAILED)
            fail("mmap");
        m_lock = static_cast<pthread_mutex_t*>(shared);
        pthread_mutexattr_t attr;
        pthread_mutexattr_init(&attr);
        pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
        pthread_mutex_init(m_lock, &attr);
        pthread_mutexattr_destroy(&attr);
        for (int w = 0; w < workers; ++w) {
            const pid_t pid = forkHelper();
            if (pid == 0) {
                try {
                    workerMain();
                } catch (...) {
                }
                _exit(1); // never back into the bench's code
            }
            m_pids.push_back(pid);
        }
        close(m_tasks[0]);
        close(m_results[1]);
    }

    ~RawPool()
    {
        Frame stop{};
        stop.count = -1;
        for (std::size_t i = 0; i < m_pids.size(); ++i)
            writeFull(m_tasks[1], &stop, sizeof stop);
        close(m_tasks[1]);
        close(m_results[0]);
        for (pid_t pid : m_pids)
            reap(pid);
        pthread_mutex_destroy(m_lock);
        munmap(m_lock, sizeof(pthread_mutex_t));
    }

    RawPool(const RawPool&) = delete;
    RawPool& operator=(const RawPool&) = delete;

    // A feeder thread writes the chunks while this thread collects results, as a pool's task
    // and result handlers do: neither pipe can then fill up and stall the other. Input that
    // fits in the task pipe at once (a pipe holds 16 frames) is written from this thread.
    std::vector<std::int64_t> map(const std::vector<std::int64_t>& in)
    {
        std::vector<std::int64_t> out(in.size());
        const auto feed = [&] {
            Frame f{};
            for (std::size_t start = 0; start < in.size(); start += std::size_t(m_chunksize)) {
                const auto count = std::min(in.size() - start, std::size_t(m_chunksize));
                const auto frames = (count + kPerFrame - 1) / kPerFrame;
                for (std::size_t k = 0; k < frames; ++k) {
                    f.first = std::int64_t(start + k * kPerFrame);
                    f.count = std::int32_t(std::min(kPerFrame, count - k * kPerFrame));
                    f.more = std::int32_t(frames - 1 - k);
                    std::memcpy(f.values, in.data() + f.first, std::size_t(f.count) * 8);
                    if (!poolscope::writeAll(m_tasks[1], &f, sizeof f))
                        return; // the workers are gone: the reader below reports it
                }
            }
        };
        std::thread feeder;
        if (in.size() <= 8 * kPerFrame)
            feed();
        else
            feeder = std::thread(feed);
        Frame r{};
        std::size_t received = 0;
        while (received < in.size()) {
            if (!readExact(m_results[0], &r, sizeof r))
                fail("raw pool: workers gone");
            std::memcpy(out.data() + r.first, r.values, std::size_t(r.count) * 8);
            received += std::size_t(r.count);
        }
        if (feeder.joinable())
            feeder.join();
        return out;
    }

private:
    static constexpr std::size_t kPerFrame = (PIPE_BUF - 16) / 8;
    struct Frame
    {
        std::int64_t first = 0;
        std::int32_t count = 0; // -1: stop
        std::int32_t more = 0;  // frames of the same chunk that follow
        std::int64_t values[kPerFrame];
    };
    static_assert(sizeof(Frame) == PIPE_BUF);

    void workerMain()
    {
        close(m_tasks[1]);
        close(m_results[0]);
        std::vector<std::int64_t> chunk;
        Frame f{};
        for (;;) {
            if (m_locked)
                pthread_mutex_lock(m_lock);
            bool ok = readExact(m_tasks[0], &f, sizeof f) && f.count >= 0;
            const auto first = f.first;
            chunk.assign(f.values, f.values + std::max(f.count, 0));
            while (ok && f.more > 0) {
                ok = readExact(m_tasks[0], &f, sizeof f);
                chunk.insert(chunk.end(), f.values, f.values + f.count);
            }
            if (m_locked)
                pthread_mutex_unlock(m_lock);
            if (!ok)
                _exit(0);
            if (m_op == RawOp::IsPrime) {
                for (auto& v : chunk)
                    v = poolscope::isPrime(v) ? 1 : 0;
            } else {
                for (auto& v : chunk)
                    v *= v;
            }
            for (std::size_t k = 0; k < chunk.size(); k += kPerFrame) {
                f.first = first + std::int64_t(k);
                f.count = std::int32_t(std::min(kPerFrame, chunk.size() - k));
                f.more = 0;
                std::memcpy(f.values, chunk.data() + k, std::size_t(f.count) * 8);
                writeFull(m_results[1], &f, sizeof f);
            }
        }
    }

    int m_tasks[2] = {-1, -1};
    int m_results[2] = {-1, -1};
    pthread_mutex_t* m_lock = nullptr;
    std::vector<pid_t> m_pids;
    const int m_chunksize;
    const bool m_locked;
    const RawOp m_op;
};

constexpr int kMapItems = 100'000;
constexpr int kThroughputItems = 10'000;
constexpr std::int64_t kPrimes = 4'000;

// The inputs of the is_prime figures. The goal's: 4,000 odd numbers from 10,000,019, the numbers
// `poolscope pool --func is_prime --items 4000` maps (app/sandboxoptions.cpp) and the article's
// first candidate. And every integer from 10,000,000, for reference: half of those are even and
// rejected at once, and with CPython's chunking one worker gets 52.6% of the work (PERFORMANCE.md).
struct PrimeInput
{
    const char* key;   // the figures' key prefix
    const char* label; // the table's row
    bool goal;         // the row judged against the goal; the other is for reference
    std::int64_t first, step;
};
constexpr PrimeInput kPrimeInputs[] = {
    {"isprime", "is_prime x 4,000 odd from 10,000,019, Pool(1) / Pool(2)", true, 10'000'019, 2},
    {"isprime_every", "is_prime x 4,000 from 1e7, every integer (reference)", false, 10'000'000,
     1}};

std::vector<std::int64_t> primeCandidates(const PrimeInput& input)
{
    std::vector<std::int64_t> numbers;
    for (std::int64_t k = 0; k < kPrimes; ++k)
        numbers.push_back(input.first + k * input.step);
    return numbers;
}

// CPython's default map chunksize, ceil(n / (4 * workers)).
int defaultChunksize(long n, int workers)
{
    return int((n + 4L * workers - 1) / (4L * workers));
}

void rawProcessFigures()
{
    record("raw.fork", measure(20, reps(301, 60), rawForkSample));
    const auto tiny = tinyProgramPath();
    if (access(tiny.c_str(), X_OK) != 0) {
        std::printf("  raw.posix_spawn: %s is missing; build the poolscope-bench-tiny target\n",
                    tiny.c_str());
        return;
    }
    record("raw.posix_spawn", measure(20, reps(301, 60), [&] { return rawSpawnSample(tiny); }));
}

void rawMapFigure()
{
    std::vector<std::int64_t> in(kMapItems);
    for (int i = 0; i < kMapItems; ++i)
        in[std::size_t(i)] = i;
    RawPool pool(2, defaultChunksize(kMapItems, 2));
    record("raw.pool_map",
           measure(3, reps(31, 5),
                   [&] {
                       const auto t0 = monotonicNs();
                       const auto out = pool.map(in);
                       const auto t = seconds(monotonicNs() - t0);
                       if (out.back() != std::int64_t(kMapItems - 1) * (kMapItems - 1))
                           fail("raw pool: wrong result");
                       return t;
                   }),
           kMapItems);
}

// The work itself, in this process with no pool: what two workers can at best halve. And the
// raw pool's own speedup at the same chunking (1,000 a chunk for one worker, 500 for two), in
// alternation: the most a pool can get from two cores of this machine, wake-ups and all.
// The is_prime speedups are measured in speedupBlocks() blocks of alternations, and each pair
// of figures keeps its block with the best speedup: a host spell (both vCPUs on one core; see
// onTwoCores) that begins and ends inside the measurement, between the two-core checks around
// it, makes Pool(2) as slow as Pool(1) there (1.04x in one run of the fourteenth session).
int speedupBlocks()
{
    return g_options.quick ? 1 : 3;
}

void recordBestSpeedup(const std::string& key1, const std::string& key2,
                       const std::vector<std::vector<double>>& one,
                       const std::vector<std::vector<double>>& two)
{
    std::vector<double> speedups;
    for (std::size_t b = 0; b < one.size(); ++b)
        speedups.push_back(median(one[b]) / median(two[b]));
    const auto best =
        std::size_t(std::max_element(speedups.begin(), speedups.end()) - speedups.begin());
    record(key1, one[best]);
    record(key2, two[best]);
    for (const auto& [key, draws] : {std::pair{&key1, &one}, std::pair{&key2, &two}}) {
        Figure& f = g_figures[*key];
        f.blocks = int(draws->size());
        for (const auto& samples : *draws)
            f.blockMedians.push_back(median(samples));
    }
    if (speedups.size() > 1) {
        std::printf("  %s / %s: the block with the best speedup of", key1.c_str(), key2.c_str());
        for (double x : speedups)
            std::printf(" %.2fx", x);
        std::printf("\n");
        std::fflush(stdout);
    }
}

void rawIsPrimeFigure()
{
    for (const PrimeInput& input : kPrimeInputs) {
        const std::string key = input.key;
        const auto numbers = primeCandidates(input);
        std::vector<std::int64_t> expected;
        for (const std::int64_t n : numbers)
            expected.push_back(poolscope::isPrime(n) ? 1 : 0);
        RawPool one(1, defaultChunksize(kPrimes, 1), RawOp::IsPrime);
        RawPool two(2, defaultChunksize(kPrimes, 2), RawOp::IsPrime);
        std::vector<std::vector<double>> s1(static_cast<std::size_t>(speedupBlocks()));
        std::vector<std::vector<double>> s2(s1.size());
        const int repeats = reps(41, 5);
        for (std::size_t b = 0; b < s1.size(); ++b) {
            const int warmup = b == 0 ? 2 : 1;
            for (int i = 0; i < warmup + repeats; ++i) {
                for (RawPool* pool : {&one, &two}) {
                    const auto t0 = monotonicNs();
                    const auto out = pool->map(numbers);
                    const double t = seconds(monotonicNs() - t0);
                    if (out != expected)
                        fail("raw pool: wrong is_prime results");
                    if (i >= warmup)
                        (pool == &one ? s1 : s2)[b].push_back(t);
                }
            }
        }
        recordBestSpeedup("raw." + key + "_pool1", "raw." + key + "_pool2", s1, s2);

        record("raw." + key + "_serial", measure(2, reps(41, 5), [&] {
                   int primes = 0;
                   const auto t0 = monotonicNs();
                   for (const std::int64_t n : numbers)
                       primes += poolscope::isPrime(n);
                   const auto t = seconds(monotonicNs() - t0);
                   if (primes == 0)
                       fail("is_prime: no primes found");
                   return t;
               }));
    }
}

void rawApplyFigure()
{
    record("raw.pipe_round_trip", rawPipeRoundTrips(200, reps(4000, 1000)));
}

// ---- PoolScope -------------------------------------------------------------------------------

using namespace poolscope;

const StartMethod kMethods[] = {StartMethod::Fork, StartMethod::Spawn, StartMethod::ForkServer};

std::string key(const char* prefix, StartMethod m)
{
    return std::string(prefix) + std::string(startMethodName(m));
}

// Recording on means an event log, off means none.
PoolOptions poolOptions(int processes, StartMethod method, std::shared_ptr<EventLog> log)
{
    PoolOptions o;
    o.processes = processes;
    o.method = method;
    o.record = log != nullptr; // the pool records into its own log unless told not to
    o.log = std::move(log);
    return o;
}

Pool makePool(int processes, StartMethod method, bool recording)
{
    return Pool(poolOptions(processes, method, recording ? std::make_shared<EventLog>() : nullptr));
}

Value::List range(std::int64_t from, std::int64_t to)
{
    Value::List items;
    items.reserve(std::size_t(to - from));
    for (auto i = from; i < to; ++i)
        items.emplace_back(static_cast<long long>(i));
    return items;
}

void checkSquares(const Value::List& out, std::size_t n, bool ordered)
{
    if (out.size() != n)
        throw std::runtime_error("wrong number of results: " + std::to_string(out.size()));
    if (ordered && out.back().asInt() != std::int64_t(n - 1) * std::int64_t(n - 1))
        throw std::runtime_error("wrong last result: " + out.back().repr());
}

void poolscopeProcessFigures()
{
    for (auto m : kMethods) {
        const int n = m == StartMethod::Fork ? reps(301, 60) : reps(201, 30);
        // The warm-up also starts the fork server, so that it is "already up".
        record(key("process.", m), measure(10, n, [m] {
                   ProcessOptions options;
                   options.method = m;
                   Process p(ProcessTarget::task("square", {Value(3)}), options);
                   const auto t0 = monotonicNs();
                   p.start();
                   p.join();
                   const auto t = seconds(monotonicNs() - t0);
                   if (p.exitcode() != 0)
                       throw std::runtime_error(key("process.", m) + ": exit code not 0");
                   return t;
               }));
    }
}

double poolLifecycleSample(StartMethod m)
{
    auto log = std::make_shared<EventLog>();
    const auto t0 = monotonicNs();
    {
        Pool pool(poolOptions(2, m, log));
        pool.close();
        pool.join();
    }
    return seconds(monotonicNs() - t0);
}

// The raw "2 forks" and each start method's Pool(2), in turn, block by block (see lifeBlocks).
void poolFigures()
{
    std::vector<std::vector<double>> raw;
    std::vector<std::vector<double>> pools[std::size(kMethods)];
    for (int b = 0; b < lifeBlocks(); ++b) {
        const int warmup = b == 0 ? 3 : 1;
        raw.push_back(measure(warmup, reps(101, 10), rawPoolSample));
        for (std::size_t i = 0; i < std::size(kMethods); ++i)
            pools[i].push_back(measure(warmup, reps(101, 10),
                                       [m = kMethods[i]] { return poolLifecycleSample(m); }));
    }
    recordBest("raw.pool2", raw, Draws::Blocks);
    for (std::size_t i = 0; i < std::size(kMethods); ++i)
        recordBest(key("pool.", kMethods[i]), pools[i], Draws::Blocks);
}

Value::List drain(ImapIterator& it)
{
    Value::List out;
    while (auto v = it.next())
        out.push_back(std::move(*v));
    return out;
}

double timedSquares(Pool& pool, const std::string& api, const Value::List& items,
                    std::optional<int> chunksize)
{
    const auto t0 = monotonicNs();
    Value::List out;
    if (api == "map")
        out = pool.map("square", items, chunksize);
    else if (api == "imap")
        out = drain(*pool.imap("square", items, chunksize.value_or(1)));
    else
        out = drain(*pool.imapUnordered("square", items, chunksize.value_or(1)));
    const auto t = seconds(monotonicNs() - t0);
    checkSquares(out, items.size(), api != "imap_unordered");
    return t;
}

void poolscopeThroughputFigures()
{
    const auto items = range(0, kThroughputItems);
    const char* apis[] = {"map", "imap", "imap_unordered"};
    std::vector<std::vector<double>> samples[3]; // per api, per pool
    for (int k = 0; k < poolDraws(); ++k) {
        auto pool = makePool(2, StartMethod::Fork, true);
        for (int a = 0; a < 3; ++a)
            samples[a].push_back(
                measure(1, reps(5, 2), [&] { return timedSquares(pool, apis[a], items, 1); }));
    }
    for (int a = 0; a < 3; ++a)
        recordBest(std::string("throughput.") + apis[a], samples[a], Draws::Pools,
                   kThroughputItems);
}

void poolscopeMapFigure()
{
    const auto log = std::make_shared<EventLog>();
    Pool pool(poolOptions(2, StartMethod::Fork, log));
    const auto items = range(0, kMapItems);
    record("map.default",
           measure(3, reps(31, 5), [&] { return timedSquares(pool, "map", items, {}); }),
           kMapItems);
    // What recording keeps of one call: the memory it touches afresh each time.
    const std::size_t before = log->storageBytes();
    timedSquares(pool, "map", items, {});
    const double perTask = double(log->storageBytes() - before) / double(kMapItems);
    g_logBytes["map.default"] = perTask;
    std::printf("  %-28s %18.1f   (event log bytes a task)\n", "map.default log", perTask);
    // The same with recording off, for information: what the log costs of the figure.
    auto quiet = makePool(2, StartMethod::Fork, false);
    record("map.default_off",
           measure(3, reps(31, 5), [&] { return timedSquares(quiet, "map", items, {}); }),
           kMapItems);
}

void poolscopeApplyFigure()
{
    auto pool = makePool(2, StartMethod::Fork, true);
    record("apply", measure(200, reps(4000, 1000), [&] {
               const auto t0 = monotonicNs();
               const auto v = pool.apply("square", {Value(3)});
               const auto t = seconds(monotonicNs() - t0);
               if (v != Value(9))
                   throw std::runtime_error("apply returned " + v.repr());
               return t;
           }));
}

// Two pools measured in alternation, so that drift on the machine hits both alike.
void alternate(Pool& a, Pool& b, int warmup, int repeats, const std::function<double(Pool&)>& run,
               std::vector<double>& sa, std::vector<double>& sb)
{
    for (int i = 0; i < warmup + repeats; ++i) {
        const double ta = run(a);
        const double tb = run(b);
        if (i >= warmup) {
            sa.push_back(ta);
            sb.push_back(tb);
        }
    }
}

// Pairs of fresh pools, one recording and one not, each pair measured in alternation (so that
// drift on the machine hits both alike, and each goes first in every other pair); each side's
// figure is its best pool's (see poolDraws).
void poolscopeRecordingFigures()
{
    const auto items = range(0, kThroughputItems);
    std::vector<std::vector<double>> son, soff;
    for (int k = 0; k < poolDraws(); ++k) {
        auto on = makePool(2, StartMethod::Fork, true);
        auto off = makePool(2, StartMethod::Fork, false);
        son.emplace_back();
        soff.emplace_back();
        const auto run = [&](Pool& p) {
            return timedSquares(p, "map", items, 1);
        };
        if (k % 2 == 0)
            alternate(on, off, 2, reps(5, 2), run, son.back(), soff.back());
        else
            alternate(off, on, 2, reps(5, 2), run, soff.back(), son.back());
    }
    recordBest("recording.on", son, Draws::Pools, kThroughputItems);
    recordBest("recording.off", soff, Draws::Pools, kThroughputItems);
}

// Whether this process has two cores now: the raw pool of two workers maps the is_prime input
// at least 1.5x as fast as this thread computes it alone (about 1.9x with two cores). The host
// of this VM sometimes runs both vCPUs on one core for seconds (PERFORMANCE.md, "Noise"),
// and a speedup measured then says nothing about a pool. Forked workers, not threads: this
// process stays single-threaded for the figures after it.
bool twoCoresNow()
{
    const auto numbers = primeCandidates(kPrimeInputs[0]);
    RawPool two(2, defaultChunksize(kPrimes, 2), RawOp::IsPrime);
    double best = 0;
    for (int i = 0; i < 3; ++i) {
        auto t0 = monotonicNs();
        int primes = 0;
        for (const std::int64_t n : numbers)
            primes += poolscope::isPrime(n);
        const auto alone = monotonicNs() - t0;
        t0 = monotonicNs();
        const auto out = two.map(numbers);
        const auto pool = monotonicNs() - t0;
        if (primes == 0 || out.size() != numbers.size())
            fail("is_prime: wrong results in the two-core check");
        best = std::max(best, double(alone) / double(pool));
    }
    return best >= 1.5;
}

// Runs `measureAll` (which records its figures) with two cores: waits up to 30 s for them
// first, and measures again (up to twice more) when they were gone right after it. Says so
// when it waited or measured again; when the machine never gave two cores the figures stand,
// with a note.
void onTwoCores(const char* what, void (*measureAll)())
{
    for (int attempt = 1;; ++attempt) {
        const auto start = monotonicNs();
        bool two = twoCoresNow();
        while (!two && monotonicNs() - start < 30'000'000'000) {
            ::usleep(200'000);
            two = twoCoresNow();
        }
        const double waited = seconds(monotonicNs() - start);
        if (!two)
            std::printf("  %s: this VM gave one core only for 30 s; measured anyway\n", what);
        else if (waited > 0.5)
            std::printf("  %s: waited %.1f s for two cores (a host spell)\n", what, waited);
        std::fflush(stdout);
        measureAll();
        if (!two || twoCoresNow())
            return;
        if (attempt == 3) {
            std::printf("  %s: one core only right after, a third time; the figures stand\n", what);
            std::fflush(stdout);
            return;
        }
        std::printf("  %s: one core only right after; measuring again\n", what);
        std::fflush(stdout);
    }
}

void poolscopeIsPrimeFigures()
{
    for (const PrimeInput& input : kPrimeInputs) {
        Value::List numbers, expected;
        for (const std::int64_t n : primeCandidates(input)) {
            numbers.emplace_back(static_cast<long long>(n));
            expected.emplace_back(isPrime(n));
        }
        auto one = makePool(1, StartMethod::Fork, true);
        auto two = makePool(2, StartMethod::Fork, true);
        std::vector<std::vector<double>> s1(static_cast<std::size_t>(speedupBlocks()));
        std::vector<std::vector<double>> s2(s1.size());
        for (std::size_t b = 0; b < s1.size(); ++b) {
            alternate(
                one, two, b == 0 ? 2 : 1, reps(41, 5),
                [&](Pool& p) {
                    const auto t0 = monotonicNs();
                    const auto out = p.map("is_prime", numbers);
                    const auto t = seconds(monotonicNs() - t0);
                    if (out != expected)
                        throw std::runtime_error("is_prime: wrong results");
                    return t;
                },
                s1[b], s2[b]);
        }
        recordBestSpeedup(std::string(input.key) + ".pool1", std::string(input.key) + ".pool2", s1,
                          s2);
    }
}

// Each section: its raw figures, then PoolScope's (absent until the core has a pool).
struct Section
{
    const char* name;
    void (*raw)();
    void (*poolscope)();
};
const Section kSections[] = {
    {"process", rawProcessFigures, (poolscopeProcessFigures)},
    {"pool", nullptr, poolFigures}, // the raw figure in turn with PoolScope's
    {"throughput", nullptr, (poolscopeThroughputFigures)},
    {"map", rawMapFigure, (poolscopeMapFigure)},
    {"apply", rawApplyFigure, (poolscopeApplyFigure)},
    {"recording", nullptr, (poolscopeRecordingFigures)},
    {"isprime", [] { onTwoCores("raw is_prime", rawIsPrimeFigure); },
     [] {
         onTwoCores("is_prime", poolscopeIsPrimeFigures);
     }},
};

void runSection(const Section& section)
{
    for (auto part : {section.raw, section.poolscope}) {
        try {
            if (part)
                part();
        } catch (const std::exception& e) {
            std::printf("  %s: FAILED: %s\n", section.name, e.what());
            std::fflush(stdout);
        }
    }
}

// ---- The combined table ----------------------------------------------------------------------

struct Row
{
    std::string figure, poolscope, cpython, raw, ratio, goal, met;
    std::optional<double> value; // the computed ratio
};

// A figure measured here (ours) or by CPython (theirs); nullptr when not measured.
const Figure* figure(const std::map<std::string, Figure>& figures, const std::string& key)
{
    auto it = figures.find(key);
    return it == figures.end() ? nullptr : &it->second;
}
const Figure* ours(const std::string& key)
{
    return figure(g_figures, key);
}
const Figure* theirs(const std::string& key)
{
    return figure(g_cpython, key);
}

// "-" when not measured; as a time when asTime even for a throughput figure; a label after.
std::string text(const Figure* f, const char* label = nullptr, bool asTime = false)
{
    if (!f)
        return "-";
    return (asTime ? fmtTime(f->median) : fmtFigure(*f)) +
           (label ? std::string(" (") + label + ")" : "");
}

std::string fmtRatio(double r)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, r >= 100 ? "%.0fx" : "%.2fx", r);
    return buf;
}

// One goal: `ratio` (nullopt when a figure is missing) against `bound`, at least or at most.
Row goalRow(std::string figure, std::string ps, std::string cpy, std::string raw,
            std::optional<double> ratio, const std::string& what, std::string goal, bool atLeast,
            double bound)
{
    Row r{std::move(figure), std::move(ps), std::move(cpy), std::move(raw), "-",
          std::move(goal),   "n/a",         ratio};
    if (ratio) {
        r.ratio = fmtRatio(*ratio) + " " + what;
        r.met = (atLeast ? *ratio >= bound : *ratio <= bound) ? "yes" : "NO";
    }
    return r;
}

std::optional<double> quotient(const Figure* a, const Figure* b)
{
    if (!a || !b || b->median <= 0)
        return std::nullopt;
    return a->median / b->median;
}

std::vector<Row> buildRows()
{
    std::vector<Row> rows;
    auto start = [&](std::string m, std::string rawKey, const char* rawGoal, double rawBound,
                     const char* cpythonGoal, double cpythonBound) {
        const auto k = "process." + m;
        const auto* raw = ours(rawKey);
        rows.push_back(goalRow("Process start + join, " + m, text(ours(k)), text(theirs(k)),
                               text(raw, rawKey.c_str() + 4), quotient(ours(k), raw), "raw",
                               rawGoal, false, rawBound));
        rows.push_back(goalRow("", "", "", "", quotient(theirs(k), ours(k)), "faster", cpythonGoal,
                               true, cpythonBound));
    };
    start("fork", "raw.fork", "<= 2x raw", 2, ">= 5x faster than CPython", 5);
    start("spawn", "raw.posix_spawn", "<= 2x raw", 2, ">= 30x faster than CPython", 30);
    start("forkserver", "raw.fork", "<= 3x raw fork", 3, ">= 5x faster than CPython", 5);
    for (const char* m : {"fork", "spawn", "forkserver"}) {
        const auto k = std::string("pool.") + m;
        rows.push_back(goalRow(
            std::string("Pool(2) create + close + join, ") + m, text(ours(k)), text(theirs(k)),
            std::string(m) == "fork" ? text(ours("raw.pool2"), "2 forks") : "-",
            quotient(theirs(k), ours(k)), "faster", ">= 10x faster than CPython", true, 10));
    }
    for (const char* api : {"map", "imap", "imap_unordered"}) {
        const auto k = std::string("throughput.") + api;
        // Same number of items on both sides: the tasks/s ratio is the inverse time ratio.
        rows.push_back(goalRow(std::string(api) + ", chunksize 1, 10,000 tasks", text(ours(k)),
                               text(theirs(k)), "-", quotient(theirs(k), ours(k)), "CPython",
                               ">= 10x CPython's tasks/s", true, 10));
    }
    {
        const auto *ps = ours("map.default"), *raw = ours("raw.pool_map");
        const auto* off = ours("map.default_off");
        const std::string shown =
            text(ps, nullptr, true) + (off ? " (off " + fmtTime(off->median) + ")" : "");
        rows.push_back(goalRow("map, 100,000 tasks, default chunksize", shown,
                               text(theirs("map.default"), nullptr, true),
                               text(raw, "raw pool", true), quotient(ps, raw), "raw",
                               "<= 1.5x raw C++ pool", false, 1.5));
    }
    {
        const auto* raw = ours("raw.pipe_round_trip");
        rows.push_back(goalRow("apply round trip", text(ours("apply")), text(theirs("apply")),
                               text(raw, "pipe"), quotient(ours("apply"), raw), "raw",
                               "<= 1.5x raw pipe round trip", false, 1.5));
    }
    {
        const auto *on = ours("recording.on"), *off = ours("recording.off");
        const auto ps = on && off ? "on " + fmtTime(on->median) + " / off " + fmtTime(off->median)
                                  : std::string("-");
        rows.push_back(goalRow("recording on vs off, map chunksize 1", ps, "-", "-",
                               quotient(on, off), "slower", "<= 1.3x slower", false, 1.3));
    }
    // The goal's row, then the same figures for every integer from 1e7, for reference only.
    for (const PrimeInput& input : kPrimeInputs) {
        const std::string key = input.key;
        const auto *p1 = ours(key + ".pool1"), *p2 = ours(key + ".pool2");
        const auto *c1 = theirs(key + ".pool1"), *c2 = theirs(key + ".pool2");
        auto pair = [](const Figure* a, const Figure* b) {
            if (!a || !b)
                return std::string("-");
            return fmtTime(a->median) + " / " + fmtTime(b->median) + " (" +
                   fmtRatio(a->median / b->median) + ")";
        };
        const auto* serial = ours("raw." + key + "_serial");
        const auto *r1 = ours("raw." + key + "_pool1"), *r2 = ours("raw." + key + "_pool2");
        // The raw column: the work alone, and the raw pool's own speedup (its limit here).
        std::string raw = text(serial, "serial");
        if (const auto limit = quotient(r1, r2))
            raw += "; raw pool " + fmtRatio(*limit);
        Row row = goalRow(input.label, pair(p1, p2), pair(c1, c2), raw, quotient(p1, p2), "speedup",
                          ">= 1.8x speedup on 2 cores", true, 1.8);
        if (!input.goal) {
            row.goal = "- (no goal)";
            row.met = "-";
        }
        rows.push_back(row);
    }
    return rows;
}

void printTable(const std::vector<Row>& rows)
{
    const Row head{"figure", "PoolScope", "CPython", "raw", "ratio", "goal", "met?", {}};
    auto cells = [](const Row& r) {
        return std::vector<std::string>{r.figure, r.poolscope, r.cpython, r.raw,
                                        r.ratio,  r.goal,      r.met};
    };
    std::vector<std::size_t> width(7, 0);
    auto widen = [&](const Row& r) {
        const auto cs = cells(r);
        for (std::size_t c = 0; c < cs.size(); ++c)
            width[c] = std::max(width[c], cs[c].size());
    };
    widen(head);
    std::for_each(rows.begin(), rows.end(), widen);
    auto line = [&](const std::vector<std::string>& cs) {
        std::string out = "|";
        for (std::size_t c = 0; c < cs.size(); ++c)
            out += " " + cs[c] + std::string(width[c] - cs[c].size(), ' ') + " |";
        std::puts(out.c_str());
    };
    std::vector<std::string> rule;
    for (auto w : width)
        rule.push_back(std::string(w, '-'));
    line(cells(head));
    line(rule);
    for (const auto& r : rows)
        line(cells(r));
}

// ---- Command line, machine, JSON -------------------------------------------------------------

std::string machineDescription()
{
    std::string cpu = "unknown CPU";
    std::ifstream in("/proc/cpuinfo");
    for (std::string l; std::getline(in, l);) {
        if (l.rfind("model name", 0) == 0 && l.find(':') != std::string::npos) {
            cpu = l.substr(l.find(':') + 2);
            break;
        }
    }
    utsname u{};
    uname(&u);
    // Other work on the machine skews every figure: the 1-minute load average says how much.
    std::string load = "?";
    std::ifstream("/proc/loadavg") >> load;
    return cpu + ", " + std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + " CPUs online, " +
           u.sysname + " " + u.release + ", load average " + load;
}

void loadCpython(const std::string& path)
{
    std::ifstream in(path);
    if (!in)
        throw std::runtime_error("cannot read " + path);
    const auto j = nlohmann::json::parse(in);
    g_pythonVersion = j.value("python", "?");
    g_cpython = j.at("figures").get<std::map<std::string, Figure>>();
}

void writeJson(const std::string& path, const std::vector<Row>& rows, const std::string& machine)
{
    auto jrows = nlohmann::json::array();
    for (const auto& r : rows) {
        jrows.push_back({{"figure", r.figure},
                         {"poolscope", r.poolscope},
                         {"cpython", r.cpython},
                         {"raw", r.raw},
                         {"goal", r.goal},
                         {"met", r.met},
                         {"ratio", r.value ? nlohmann::json(*r.value) : nlohmann::json()}});
    }
    const nlohmann::json j = {{"machine", machine},
                              {"poolscope_built", true},
                              {"tiny_static", bool(POOLSCOPE_BENCH_TINY_STATIC)},
                              {"python", g_pythonVersion},
                              {"figures", g_figures}, // medians etc. in seconds
                              {"log_bytes_per_task", g_logBytes},
                              {"cpython", g_cpython},
                              {"rows", jrows}};
    std::ofstream out(path);
    out << j.dump(1) << "\n";
    if (!out)
        throw std::runtime_error("cannot write " + path);
}

const char* kUsage =
    "usage: poolscope-bench [--quick] [--repeats N] [--only SECTION,...] [--json FILE]\n"
    "                       [--cpython FILE]\n"
    "  --quick          fewer repeats (the whole run in a few seconds)\n"
    "  --repeats N      N repeats for every figure (after the warm-up)\n"
    "  --only S,...     sections: process,pool,throughput,map,apply,recording,isprime\n"
    "  --json FILE      write every figure and the table to FILE\n"
    "  --cpython FILE   CPython's figures from bench/cpython_bench.py --json, for the table\n";

[[noreturn]] void usageError(const std::string& message)
{
    std::fprintf(stderr, "poolscope-bench: %s\n%s", message.c_str(), kUsage);
    std::exit(2);
}

Options parseArgs(int argc, char** argv)
{
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc)
                usageError(a + " needs a value");
            return argv[++i];
        };
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        } else if (a == "--quick") {
            o.quick = true;
        } else if (a == "--repeats") {
            const auto v = value();
            char* end = nullptr;
            const long n = std::strtol(v.c_str(), &end, 10);
            if (v.empty() || *end != '\0' || n < 1 || n > 1'000'000)
                usageError("--repeats needs a whole number from 1 to 1000000, not '" + v + "'");
            o.repeats = int(n);
        } else if (a == "--only") {
            std::stringstream ss(value());
            for (std::string s; std::getline(ss, s, ',');) {
                if (s.empty())
                    continue;
                if (std::none_of(std::begin(kSections), std::end(kSections),
                                 [&](const Section& k) { return s == k.name; }))
                    usageError("unknown section '" + s + "'");
                o.only.insert(s);
            }
        } else if (a == "--json") {
            o.jsonPath = value();
        } else if (a == "--cpython") {
            o.cpythonPath = value();
        } else {
            usageError("unknown argument '" + a + "'");
        }
    }
    return o;
}

} // namespace

int main(int argc, char** argv)
{
    g_options = parseArgs(argc, argv);
    // A worker that exits early must show up as an error, not kill the bench.
    signal(SIGPIPE, SIG_IGN);
    try {
        if (!g_options.cpythonPath.empty())
            loadCpython(g_options.cpythonPath);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "poolscope-bench: CPython results: %s\n", e.what());
        return 2;
    }
    const auto machine = machineDescription();
    std::printf("poolscope-bench on %s\n", machine.c_str());
    std::printf("  PoolScope figures: event recording on (except recording.off)\n");
    std::printf("  raw posix_spawn baseline: %s\n", POOLSCOPE_BENCH_TINY_STATIC
                                                        ? "static program"
                                                        : "dynamic program (no static libc here)");
    std::printf("  CPython: %s\n",
                g_cpython.empty() ? "not given (--cpython FILE)" : g_pythonVersion.c_str());
    std::fflush(stdout);

    for (const auto& section : kSections) {
        if (g_options.only.empty() || g_options.only.count(section.name))
            runSection(section);
    }

    const auto rows = buildRows();
    std::printf("\n");
    printTable(rows);
    if (!g_options.jsonPath.empty()) {
        try {
            writeJson(g_options.jsonPath, rows, machine);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "poolscope-bench: %s\n", e.what());
            return 1;
        }
    }
    return 0;
}
