#include "scenariocommand.h"

#include "scenariocatalog.h"
#include "scenariorun.h"
#include "tracefile.h"

#include <algorithm>

namespace poolscope {

ScenarioCommand::ScenarioCommand(const ScenarioCatalog& catalog, std::ostream& out,
                                 std::ostream& err)
    : m_catalog(catalog), m_out(out), m_err(err)
{}

int ScenarioCommand::list()
{
    std::size_t width = 0;
    for (const auto& s : m_catalog.all())
        width = std::max(width, s->id().size());
    for (const auto& s : m_catalog.all()) {
        std::string id = s->id();
        id.resize(width + 2, ' ');
        m_out << id << s->title() << '\n';
    }
    m_out.flush();
    return m_out ? 0 : 1;
}

int ScenarioCommand::run(const RunOptions& options)
{
    const Scenario* scenario = m_catalog.find(options.id);
    if (!scenario) {
        m_err << "poolscope run: unknown scenario '" << options.id << "'\n";
        return 2;
    }
    if (!options.tracePath.empty()) {
        try {
            TraceFile::checkWritable(options.tracePath);
        } catch (const TraceError& e) {
            m_err << "poolscope run: " << e.what() << '\n';
            return 2;
        }
    }

    Console console;
    console.setListener([&](const ConsoleLine& line) {
        if (options.quiet &&
            (line.source == ConsoleLine::Source::Main || line.source == ConsoleLine::Source::Child))
            return;
        m_out << line.text << '\n';
        m_out.flush();
    });
    ScenarioRun run(*scenario, options.params, console);
    run.traceMetadata().version = POOLSCOPE_VERSION;
    const bool held = run.execute();
    console.setListener({});

    if (!options.tracePath.empty()) {
        try {
            TraceFile::write(options.tracePath, *run.log(), run.traceMetadata());
        } catch (const TraceError& e) {
            m_err << "poolscope run: " << e.what() << '\n';
            return 1;
        }
    }
    return held ? 0 : 1;
}

} // namespace poolscope
