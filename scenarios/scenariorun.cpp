#include "scenariorun.h"

#include "scenario.h"

#include <chrono>
#include <exception>
#include <thread>
#include <unistd.h>

namespace poolscope {

ScenarioRun::ScenarioRun(const Scenario& scenario, ScenarioParams params, Console& console)
    : m_scenario(scenario), m_params(std::move(params)), m_console(console),
      m_log(std::make_shared<EventLog>()), m_capture(std::make_unique<OutputCapture>(console))
{
    m_trace.api = scenario.id();
    m_trace.startMethod = std::string(startMethodName(startMethod()));
    m_trace.seed = seed();
    m_trace.timeScale = timeScale();
    m_trace.workers = workers();
    m_trace.chunksize = chunksize().value_or(0);
    m_trace.mainPid = int(::getpid());
}

ScenarioRun::~ScenarioRun() = default;

bool ScenarioRun::execute()
{
    if (m_executed)
        throw std::logic_error("ScenarioRun::execute() called twice");
    m_executed = true;
    try {
        m_scenario.run(*this);
    } catch (const std::exception& e) {
        check(false, "the run completed", e.what());
    }
    m_capture->finish();
    for (const auto& f : m_facts) {
        std::string line = (f.held ? "ok: " : "FAILED: ") + f.fact;
        if (!f.held && !f.detail.empty())
            line += " (" + f.detail + ")";
        m_console.print(ConsoleLine::Source::Fact, std::move(line));
    }
    for (const auto& n : m_notes)
        m_console.print(ConsoleLine::Source::Note, "note: " + n);
    return allFactsHeld();
}

double ScenarioRun::specDefault(ParameterSpec::Name name, double fallback) const
{
    for (const auto& spec : m_scenario.parameters()) {
        if (spec.name == name)
            return spec.defaultValue;
    }
    return fallback;
}

int ScenarioRun::workers() const
{
    if (m_params.workers)
        return *m_params.workers;
    const int n = int(specDefault(ParameterSpec::Name::Workers, 0));
    if (n > 0)
        return n;
    const unsigned cpus = std::thread::hardware_concurrency();
    return cpus > 0 ? int(cpus) : 1;
}

std::optional<int> ScenarioRun::chunksize() const
{
    if (m_params.chunksize)
        return m_params.chunksize;
    const int n = int(specDefault(ParameterSpec::Name::Chunksize, 0));
    if (n > 0)
        return n;
    return std::nullopt;
}

StartMethod ScenarioRun::startMethod() const
{
    if (m_params.startMethod)
        return *m_params.startMethod;
    return StartMethod(int(specDefault(ParameterSpec::Name::StartMethod, 0)));
}

std::uint64_t ScenarioRun::seed() const
{
    if (m_params.seed)
        return *m_params.seed;
    return std::uint64_t(specDefault(ParameterSpec::Name::Seed, 7));
}

double ScenarioRun::timeScale() const
{
    if (m_params.timeScale)
        return *m_params.timeScale;
    return specDefault(ParameterSpec::Name::TimeScale, 1.0);
}

void ScenarioRun::print(std::string text)
{
    m_capture->sync();
    m_console.print(ConsoleLine::Source::Main, std::move(text));
}

TaskOptions ScenarioRun::taskOptions() const
{
    TaskOptions o;
    o.seed = seed();
    o.timeScale = timeScale();
    return o;
}

PoolOptions ScenarioRun::poolOptions(int processes) const
{
    PoolOptions o;
    o.processes = processes;
    o.method = startMethod();
    o.taskOptions = taskOptions();
    o.log = m_log;
    o.outputFd = outputFd();
    return o;
}

ProcessOptions ScenarioRun::processOptions(std::string name,
                                           std::optional<StartMethod> method) const
{
    ProcessOptions o;
    o.method = method.value_or(startMethod());
    o.name = std::move(name);
    o.outputFd = outputFd();
    return o;
}

bool ScenarioRun::sleep(double seconds)
{
    const double s = seconds * timeScale();
    std::unique_lock lock(m_sleepMutex);
    if (s > 0)
        m_sleepCv.wait_for(lock, std::chrono::duration<double>(s), [&] { return cancelled(); });
    return !cancelled();
}

void ScenarioRun::describeMainCall(std::string func, std::int64_t items, int workers, int chunksize,
                                   std::string api)
{
    m_trace.func = std::move(func);
    m_trace.items = items;
    m_trace.workers = workers;
    m_trace.chunksize = chunksize;
    if (!api.empty())
        m_trace.api = std::move(api);
}

void ScenarioRun::check(bool held, std::string fact, std::string detail)
{
    m_facts.push_back(FactResult{std::move(fact), held, std::move(detail)});
}

void ScenarioRun::note(std::string text)
{
    m_notes.push_back(std::move(text));
}

bool ScenarioRun::allFactsHeld() const
{
    for (const auto& f : m_facts) {
        if (!f.held)
            return false;
    }
    return !m_facts.empty();
}

void ScenarioRun::cancel()
{
    {
        std::lock_guard lock(m_sleepMutex);
        m_cancelled.store(true);
    }
    m_sleepCv.notify_all();
}

} // namespace poolscope
