#pragma once

#include "console.h"
#include "eventlog.h"
#include "factresult.h"
#include "outputcapture.h"
#include "parameterspec.h"
#include "pooloptions.h"
#include "process.h"
#include "scenarioparams.h"
#include "taskoptions.h"
#include "tracemetadata.h"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace poolscope {

class Scenario;

// One run of a scenario: the parameters in force, the console its program prints to, the event
// log every pool of the run records into, and the facts it checked. Built by whoever starts the
// run (the command line, the window, a test) and handed to Scenario::run() by execute().
class ScenarioRun
{
public:
    ScenarioRun(const Scenario& scenario, ScenarioParams params, Console& console);
    ~ScenarioRun();
    ScenarioRun(const ScenarioRun&) = delete;
    ScenarioRun& operator=(const ScenarioRun&) = delete;

    // Runs the scenario, then waits for its children's last output and prints one Fact line per
    // checked fact and one Note line per note. A scenario that throws counts as a failed fact
    // ("the run completed"). Returns true when every fact held. Call once.
    bool execute();

    const Scenario& scenario() const { return m_scenario; }

    // --- parameters: the user's value, else the scenario's default (ParameterSpec) ---
    int workers() const;                  // a default of 0 means one worker per CPU, as cpu_count()
    std::optional<int> chunksize() const; // nullopt: the pool's default chunksize
    StartMethod startMethod() const;
    std::uint64_t seed() const;
    double timeScale() const;
    const ScenarioParams& params() const { return m_params; }

    // --- what a scenario uses while it runs ---
    // Prints a line of the parent, after every earlier line of its children.
    void print(std::string text);
    // Children's stdout and stderr: pass as ProcessOptions::outputFd / PoolOptions::outputFd.
    int outputFd() const { return m_capture->writeFd(); }
    // Waits until what children printed so far is on the console (before checking it).
    void syncOutput() { m_capture->sync(); }
    std::shared_ptr<EventLog> log() const { return m_log; }
    // Pool options for this run: processes, the start method, the event log, the output pipe,
    // and task options with the seed and time scale.
    PoolOptions poolOptions(int processes) const;
    // Process options for this run: the start method (or the given one) and the output pipe.
    ProcessOptions processOptions(std::string name = {},
                                  std::optional<StartMethod> method = std::nullopt) const;
    TaskOptions taskOptions() const;
    // Sleeps seconds * timeScale(); returns early (false) when the run is cancelled.
    bool sleep(double seconds);

    void check(bool held, std::string fact, std::string detail = {});
    void note(std::string text);
    const std::vector<FactResult>& facts() const { return m_facts; }
    const std::vector<std::string>& notes() const { return m_notes; }
    bool allFactsHeld() const;

    // What a trace of this run says about it: the scenario describes its main call (api: the
    // Pool method, or empty to keep the scenario's id).
    void describeMainCall(std::string func, std::int64_t items, int workers, int chunksize,
                          std::string api = {});
    TraceMetadata& traceMetadata() { return m_trace; }
    const TraceMetadata& traceMetadata() const { return m_trace; }

    // Thread-safe: asks a running scenario to stop early (the window's Stop button). Scenarios
    // check cancelled() between steps; sleep() wakes up at once.
    void cancel();
    bool cancelled() const { return m_cancelled.load(); }

private:
    double specDefault(ParameterSpec::Name name, double fallback) const;

    const Scenario& m_scenario;
    const ScenarioParams m_params;
    Console& m_console;
    std::shared_ptr<EventLog> m_log;
    std::unique_ptr<OutputCapture> m_capture;
    std::vector<FactResult> m_facts;
    std::vector<std::string> m_notes;
    TraceMetadata m_trace;
    std::atomic<bool> m_cancelled{false};
    std::mutex m_sleepMutex;
    std::condition_variable m_sleepCv;
    bool m_executed = false;
};

} // namespace poolscope
