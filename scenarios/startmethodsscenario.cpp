#include "startmethodsscenario.h"

#include "clock.h"
#include "lockholder.h"
#include "process.h"
#include "processerror.h"
#include "processeventrecorder.h"
#include "reportpipe.h"
#include "scenariorun.h"
#include "taskregistry.h"
#include "texttable.h"

#include <algorithm>
#include <dirent.h>
#include <map>
#include <optional>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace poolscope {

namespace {

constexpr int kStarts = 20;          // timed starts per method
constexpr double kChildTimeout = 30; // seconds the parent waits for a child's line or exit
constexpr double kLockWait = 0.5;    // seconds (scaled) a child tries to take the lock
constexpr std::int64_t kChangedGlobal = 1;

struct Method
{
    StartMethod method;
    int greeting; // the article's argument for this method's example
};
constexpr Method kMethods[] = {
    {StartMethod::Spawn, 42}, {StartMethod::Fork, 99}, {StartMethod::ForkServer, 123}};

std::string nameOf(StartMethod m)
{
    return std::string(startMethodName(m));
}

// A child whose stdout goes to a pipe of the parent's own instead of the console: the parent
// times its first line and reads what it reports.
struct ChildReport
{
    std::optional<std::string> line; // the first line it printed
    double seconds = 0;              // from just before start() until that line arrived
    std::optional<int> exitcode;
};

ChildReport runReporting(ScenarioRun& run, StartMethod method, ProcessTarget target)
{
    ReportPipe pipe;
    ProcessOptions options = run.processOptions({}, method);
    options.outputFd = pipe.writeFd();
    Process p(std::move(target), options);
    ChildReport r;
    const std::int64_t t0 = monotonicNs();
    p.start();
    pipe.closeWriteEnd();
    r.line = pipe.readLine(kChildTimeout);
    r.seconds = double(monotonicNs() - t0) / 1e9;
    p.join(kChildTimeout);
    r.exitcode = p.exitcode();
    return r;
}

// "global=1 descriptor=open threads=1 lock=held" -> {global: 1, descriptor: open, ...}
std::map<std::string, std::string> fieldsOf(const std::string& line)
{
    std::map<std::string, std::string> out;
    std::size_t at = 0;
    while (at < line.size()) {
        std::size_t end = line.find(' ', at);
        if (end == std::string::npos)
            end = line.size();
        const std::string word = line.substr(at, end - at);
        if (const auto eq = word.find('='); eq != std::string::npos)
            out[word.substr(0, eq)] = word.substr(eq + 1);
        at = end + 1;
    }
    return out;
}

int threadCount()
{
    int n = 0;
    if (DIR* dir = ::opendir("/proc/self/task")) {
        while (const dirent* e = ::readdir(dir))
            n += e->d_name[0] != '.';
        ::closedir(dir);
    }
    return n;
}

std::string milliseconds(double seconds)
{
    return TextTable::fixed(seconds * 1e3, 2) + " ms";
}

// Sets the lesson global for as long as it lives, so that later runs (and other scenarios' fork
// children) start from the initial value again.
class GlobalChange
{
public:
    explicit GlobalChange(std::int64_t value) { lessonGlobal().store(value); }
    ~GlobalChange() { lessonGlobal().store(0); }
    GlobalChange(const GlobalChange&) = delete;
    GlobalChange& operator=(const GlobalChange&) = delete;
};

void greetUnderEachMethod(ScenarioRun& run, ProcessEventRecorder& recorder)
{
    bool allZero = true;
    std::string codes;
    int lane = 0;
    for (const auto& m : kMethods) {
        run.print("--- " + nameOf(m.method) + " ---");
        Process p(ProcessTarget::task("greet", {m.greeting}, run.taskOptions()),
                  run.processOptions({}, m.method));
        recorder.start(p, ++lane);
        p.join(kChildTimeout);
        recorder.exited(p, lane);
        const auto code = p.exitcode();
        allZero = allZero && code == 0;
        codes += nameOf(m.method) + " " + (code ? std::to_string(*code) : "None") + "; ";
    }
    run.check(allZero, "greet ran under spawn, fork and forkserver, and each child exited 0",
              codes);
}

void measureStartLatency(ScenarioRun& run)
{
    run.print("--- start latency: " + std::to_string(kStarts) +
              " starts each, from start() until the child runs its task ---");
    TextTable table({"method", "median", "min"},
                    {TextTable::Align::Left, TextTable::Align::Right, TextTable::Align::Right});
    std::vector<std::pair<double, std::string>> medians;
    int good = 0;
    int total = 0;
    for (const auto& m : kMethods) {
        std::vector<double> times;
        for (int i = 0; i < kStarts && !run.cancelled(); ++i) {
            const auto r =
                runReporting(run, m.method, ProcessTarget::task("greet", {i}, run.taskOptions()));
            ++total;
            if (r.line == "Worker received " + std::to_string(i) && r.exitcode == 0) {
                ++good;
                times.push_back(r.seconds);
            }
        }
        if (times.empty())
            continue;
        std::sort(times.begin(), times.end());
        const std::size_t n = times.size();
        const double median = n % 2 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
        table.addRow({nameOf(m.method), milliseconds(median), milliseconds(times.front())});
        medians.emplace_back(median, nameOf(m.method));
    }
    for (auto& line : table.lines())
        run.print(std::move(line));
    run.check(good == total && total == 3 * kStarts,
              "all " + std::to_string(3 * kStarts) + " timed children ran the task and exited 0",
              std::to_string(good) + " of " + std::to_string(total));
    std::sort(medians.begin(), medians.end());
    std::string order;
    for (const auto& [median, name] : medians)
        order += (order.empty() ? "" : ", ") + name + " " + milliseconds(median);
    run.note("start latency, fastest median first: " + order +
             " (the article says fork fast, forkserver medium, spawn slow; the order and the "
             "numbers depend on the machine and its load)");
}

void showInheritance(ScenarioRun& run)
{
    // The parent's state before the children start: a global changed from its initial 0, a
    // descriptor opened and not passed on, and another thread holding the lock.
    const UniqueFd file(::memfd_create("poolscope-lesson", MFD_CLOEXEC));
    struct stat st
    {};
    if (!file || ::fstat(file.get(), &st) != 0)
        throw std::runtime_error("cannot create the lesson's descriptor");
    const GlobalChange changed(kChangedGlobal);
    LockHolder holder(lessonLock());
    const int parentThreads = threadCount();
    const std::string fd = std::to_string(file.get());
    run.print("--- what a child inherits ---");
    run.print("The parent set the global to " + std::to_string(kChangedGlobal) +
              ", opened descriptor " + fd + " without passing it, and another of its " +
              std::to_string(parentThreads) + " threads holds the lock.");

    std::map<StartMethod, std::map<std::string, std::string>> seen;
    std::string codes;
    bool allZero = true;
    for (const auto& m : kMethods) {
        const auto r = runReporting(run, m.method,
                                    ProcessTarget::task("inherited_state",
                                                        {file.get(), std::int64_t(st.st_dev),
                                                         std::int64_t(st.st_ino), kLockWait},
                                                        run.taskOptions()));
        seen[m.method] = fieldsOf(r.line.value_or(""));
        allZero = allZero && r.exitcode == 0;
        codes +=
            nameOf(m.method) + " " + (r.exitcode ? std::to_string(*r.exitcode) : "None") + "; ";
        if (run.cancelled())
            break;
    }
    holder.release();

    TextTable table({"method", "global", "descriptor " + fd, "threads", "lock"});
    for (const auto& m : kMethods) {
        auto& f = seen[m.method];
        auto cell = [&](const char* key) {
            return f.count(key) ? f[key] : std::string("?");
        };
        table.addRow(
            {nameOf(m.method), cell("global"), cell("descriptor"), cell("threads"), cell("lock")});
    }
    for (auto& line : table.lines())
        run.print(std::move(line));

    auto column = [&](const char* key) {
        std::string s;
        for (const auto& m : kMethods) {
            const auto& f = seen[m.method];
            s += nameOf(m.method) + " " + (f.count(key) ? f.at(key) : "?") + "; ";
        }
        return s;
    };
    auto is = [&](StartMethod m, const char* key, const std::string& value) {
        const auto& f = seen[m];
        return f.count(key) && f.at(key) == value;
    };
    using SM = StartMethod;
    run.check(allZero, "each inheritance child exited 0", codes);
    const std::string changedText = std::to_string(kChangedGlobal);
    run.check(is(SM::Fork, "global", changedText) && is(SM::Spawn, "global", "0") &&
                  is(SM::ForkServer, "global", "0"),
              "the fork child sees the global as the parent changed it (" + changedText +
                  "); spawn and forkserver children see the initial 0",
              column("global"));
    run.check(is(SM::Fork, "descriptor", "open") && is(SM::Spawn, "descriptor", "closed") &&
                  is(SM::ForkServer, "descriptor", "closed"),
              "only the fork child has the descriptor the parent did not pass",
              column("descriptor"));
    // Only the fork child's count is a fact: the others are fresh programs (or forks of one)
    // whose threads are their own business (a sanitizer's runtime, for one, adds a thread).
    run.check(parentThreads >= 2 && is(SM::Fork, "threads", "1"),
              "the fork child has a single thread (the one that called fork), though the parent "
              "has several",
              "parent " + std::to_string(parentThreads) + "; " + column("threads"));
    run.check(is(SM::Fork, "lock", "held"),
              "the lock another parent thread held is still held in the fork child, forever "
              "(the child gave up after its timeout instead of hanging)",
              column("lock"));
    run.check(is(SM::Spawn, "lock", "free") && is(SM::ForkServer, "lock", "free"),
              "spawn and forkserver children start with the lock free", column("lock"));
}

void sendALambda(ScenarioRun& run)
{
    run.print("--- a C++ lambda as the target ---");
    bool forkRan = false;
    int refused = 0;
    std::string detail;
    for (const auto& m : kMethods) {
        Process p(ProcessTarget::callable([] {
                      const char line[] = "The lambda ran in the fork child\n";
                      (void)!::write(1, line, sizeof line - 1);
                  }),
                  run.processOptions("Lambda", m.method));
        try {
            p.start();
            p.join(kChildTimeout);
            const auto code = p.exitcode();
            run.print(nameOf(m.method) + ": started, exit code " +
                      (code ? std::to_string(*code) : "None"));
            forkRan = forkRan || (m.method == StartMethod::Fork && code == 0);
            detail += nameOf(m.method) + " started; ";
        } catch (const ProcessError& e) {
            run.print(nameOf(m.method) + ": " + e.type() + ": " + e.what());
            refused += m.method != StartMethod::Fork && e.type() == "PicklingError";
            detail += nameOf(m.method) + " " + e.type() + "; ";
        }
    }
    run.check(forkRan && refused == 2,
              "fork runs a C++ lambda; spawn and forkserver refuse it (PicklingError), as "
              "Python refuses to pickle a lambda",
              detail);
}

} // namespace

std::vector<ParameterSpec> StartMethodsScenario::parameters() const
{
    using N = ParameterSpec::Name;
    return {
        {N::TimeScale, 1, 0, 10, "multiplies how long a child waits for the lock (0.5 s)"},
    };
}

void StartMethodsScenario::run(ScenarioRun& run) const
{
    run.describeMainCall("greet", 3, 1, 0);
    run.traceMetadata().startMethod = "spawn, fork, forkserver"; // all three, one after the other

    ProcessEventRecorder recorder(run.log());
    greetUnderEachMethod(run, recorder);
    if (run.cancelled())
        return;
    measureStartLatency(run);
    if (run.cancelled())
        return;
    showInheritance(run);
    if (run.cancelled())
        return;
    sendALambda(run);
}

} // namespace poolscope
