#include "processlifecyclescenario.h"

#include "clock.h"
#include "process.h"
#include "processeventrecorder.h"
#include "scenariorun.h"

#include <charconv>
#include <optional>
#include <string>

namespace poolscope {

namespace {

// Below this much sleep in the children, "still alive" right after start() or after a short
// join(timeout) becomes a race with the scheduler: reported, not checked.
constexpr double kMinSleepForAliveFacts = 0.05;
// The terminate and kill children sleep this long, unscaled: they must still be asleep when the
// signal comes, whatever the time scale. The run never waits for this sleep.
constexpr double kLongSleepSeconds = 60;
constexpr double kPauseBeforeSignal = 0.25; // seconds, scaled
constexpr double kJoinTimeout = 0.1;        // seconds, scaled

std::string py(bool b)
{
    return b ? "True" : "False";
}

std::string py(std::optional<int> code)
{
    return code ? std::to_string(*code) : "None";
}

std::string seconds(double s)
{
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, s, std::chars_format::fixed, 3);
    return std::string(buf, r.ptr) + " s";
}

// A child that is signalled mid-sleep: started, shown alive, signalled after a pause, joined.
// Returns its exit code (nullopt if it somehow did not end).
std::optional<int> endBySignal(ScenarioRun& run, ProcessEventRecorder& recorder, int lane,
                               const std::string& name, bool kill)
{
    TaskOptions longSleep = run.taskOptions();
    longSleep.timeScale = 1;
    Process p(ProcessTarget::task("sleep", {kLongSleepSeconds}, longSleep),
              run.processOptions(name));
    recorder.start(p, lane);
    const bool alive = p.isAlive();
    run.print(name + " alive? " + py(alive));
    run.sleep(kPauseBeforeSignal);
    if (kill)
        p.kill();
    else
        p.terminate();
    p.join(10); // a signalled child ends at once; never wait for the whole sleep
    recorder.exited(p, lane);
    const auto code = p.exitcode();
    run.print(std::string(kill ? "After kill()" : "After terminate()") + ": alive? " +
              py(p.isAlive()) + " exitcode: " + py(code));
    run.check(alive, name + " was alive while it slept", "is_alive() was False");
    return code;
}

} // namespace

std::vector<ParameterSpec> ProcessLifecycleScenario::parameters() const
{
    using N = ParameterSpec::Name;
    return {
        {N::StartMethod, 0, 0, 2, "how the processes start"},
        {N::TimeScale, 1, 0, 10, "multiplies the children's one-second sleep and the pauses"},
    };
}

void ProcessLifecycleScenario::run(ScenarioRun& run) const
{
    run.describeMainCall("lifecycle_work", 2, 2, 0);

    const TaskOptions options = run.taskOptions();
    const bool aliveIsAFact = 1.0 * run.timeScale() >= kMinSleepForAliveFacts;
    ProcessEventRecorder recorder(run.log());

    // 1. The article's program.
    Process p1(ProcessTarget::task("lifecycle_work", {10}, options),
               run.processOptions("Worker-1"));
    Process p2(ProcessTarget::task("lifecycle_work", {20}, options),
               run.processOptions("Worker-2"));
    const bool fresh = !p1.pid() && !p1.isAlive() && !p1.exitcode() && !p2.pid() && !p2.isAlive() &&
                       !p2.exitcode();
    recorder.start(p1, 1);
    recorder.start(p2, 2);
    const bool alive1 = p1.isAlive();
    const bool alive2 = p2.isAlive();
    run.print("Alive? " + py(alive1) + " " + py(alive2));
    p1.join();
    p2.join();
    recorder.exited(p1, 1);
    recorder.exited(p2, 2);
    const auto code1 = p1.exitcode();
    const auto code2 = p2.exitcode();
    run.print("Exit codes: " + py(code1) + " " + py(code2));

    run.check(fresh, "before start(): pid None, is_alive() False, exitcode None");
    if (aliveIsAFact) {
        run.check(alive1 && alive2, "both processes were alive right after start()",
                  "is_alive(): " + py(alive1) + " " + py(alive2));
    } else {
        run.note("is_alive() right after start(): " + py(alive1) + " " + py(alive2) +
                 " (not checked: at this time scale the children sleep less than " +
                 seconds(kMinSleepForAliveFacts) + ", a race with the scheduler)");
    }
    run.check(p1.name() == "Worker-1" && p2.name() == "Worker-2",
              "the processes are named Worker-1 and Worker-2", p1.name() + ", " + p2.name());
    const int pid1 = p1.pid().value_or(0);
    const int pid2 = p2.pid().value_or(0);
    run.check(pid1 > 0 && pid2 > 0 && pid1 != pid2, "their pids are distinct and positive",
              std::to_string(pid1) + ", " + std::to_string(pid2));
    run.check(code1 == 0 && code2 == 0, "exit codes 0 0", py(code1) + " " + py(code2));
    run.check(!p1.isAlive() && !p2.isAlive(), "after join(): is_alive() False for both");
    if (run.cancelled())
        return;

    // 2. terminate(): SIGTERM, exit code -15.
    run.print("--- terminate ---");
    const auto terminated = endBySignal(run, recorder, 3, "Sleeper-1", false);
    run.check(terminated == -15, "terminate() mid-sleep gives exit code -15",
              "got " + py(terminated));
    if (run.cancelled())
        return;

    // 3. kill(): SIGKILL, exit code -9.
    run.print("--- kill ---");
    const auto killed = endBySignal(run, recorder, 4, "Sleeper-2", true);
    run.check(killed == -9, "kill() mid-sleep gives exit code -9", "got " + py(killed));
    if (run.cancelled())
        return;

    // 4. join(timeout) returns after the timeout whether or not the child is done; the state
    // has to be asked for afterwards. Then a join without timeout waits for the end.
    run.print("--- join with a timeout ---");
    Process p3(ProcessTarget::task("lifecycle_work", {30}, options),
               run.processOptions("Worker-3"));
    recorder.start(p3, 5);
    const std::int64_t before = monotonicNs();
    p3.join(kJoinTimeout * run.timeScale());
    const double waited = double(monotonicNs() - before) / 1e9;
    const bool stillAlive = p3.isAlive();
    const auto early = p3.exitcode();
    run.print("After join(timeout=0.1): alive? " + py(stillAlive) + " exitcode: " + py(early));
    p3.join();
    recorder.exited(p3, 5);
    const bool aliveAtEnd = p3.isAlive();
    const auto code3 = p3.exitcode();
    run.print("After join(): alive? " + py(aliveAtEnd) + " exitcode: " + py(code3));

    if (aliveIsAFact) {
        run.check(stillAlive && !early,
                  "join(timeout) returned while the child still ran: is_alive() True, "
                  "exitcode None",
                  "is_alive() " + py(stillAlive) + ", exitcode " + py(early));
    } else {
        run.note("after join(timeout): is_alive() " + py(stillAlive) + ", exitcode " + py(early) +
                 " (not checked at this time scale)");
    }
    run.check(!aliveAtEnd && code3 == 0, "the final join() waited for the end: exitcode 0",
              "is_alive() " + py(aliveAtEnd) + ", exitcode " + py(code3));
    run.note("join(timeout=" + seconds(kJoinTimeout * run.timeScale()) + ") returned after " +
             seconds(waited));
}

} // namespace poolscope
