#pragma once

#include "console.h"
#include "hygiene.h"
#include "pool.h"
#include "scenariocatalog.h"
#include "scenariorun.h"

#include <QtTest>
#include <memory>
#include <string>
#include <vector>

// Test fixture code for the scenario tests (header-only, not a source of another folder): runs
// a scenario of the catalog in this process and keeps what it printed and checked.
namespace scenariotest {

struct Outcome
{
    bool held = false;
    std::vector<poolscope::FactResult> facts;
    std::vector<std::string> notes;
    std::vector<std::string> main;             // the parent's lines
    std::vector<std::string> child;            // the children's lines
    std::vector<poolscope::ConsoleLine> lines; // everything, in console order
    std::shared_ptr<poolscope::EventLog> log;

    // Every fact's verdict on one line, for QVERIFY2 messages.
    std::string describe() const
    {
        std::string s;
        for (const auto& f : facts)
            s += (f.held ? "[ok] " : "[FAILED] ") + f.fact +
                 (f.detail.empty() ? "" : " (" + f.detail + ")") + "; ";
        return s;
    }
    bool hasFact(const std::string& text) const
    {
        for (const auto& f : facts) {
            if (f.fact.find(text) != std::string::npos)
                return true;
        }
        return false;
    }
};

inline Outcome run(const std::string& id, poolscope::ScenarioParams params)
{
    const auto catalog = poolscope::ScenarioCatalog::article();
    const poolscope::Scenario* scenario = catalog.find(id);
    if (!scenario)
        qFatal("unknown scenario %s", id.c_str());
    poolscope::Console console;
    Outcome o;
    {
        poolscope::ScenarioRun run(*scenario, std::move(params), console);
        o.held = run.execute();
        o.facts = run.facts();
        o.notes = run.notes();
        o.log = run.log();
    }
    o.main = console.texts(poolscope::ConsoleLine::Source::Main);
    o.child = console.texts(poolscope::ConsoleLine::Source::Child);
    o.lines = console.lines();
    return o;
}

// The hygiene checks (hygiene.h), and the fork server started before the first baseline.
class Hygiene : public ::Hygiene
{
public:
    static void startForkServer()
    {
        poolscope::PoolOptions o;
        o.processes = 1;
        o.method = poolscope::StartMethod::ForkServer;
        poolscope::Pool warm(o);
        warm.map("square", {3});
    }
};

// The position of the first console line with exactly this text (lines.size() when none).
inline std::size_t indexOf(const std::vector<poolscope::ConsoleLine>& lines,
                           const std::string& text)
{
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (lines[i].text == text)
            return i;
    }
    return lines.size();
}

inline void addStartMethodRows()
{
    QTest::addColumn<poolscope::StartMethod>("method");
    QTest::newRow("fork") << poolscope::StartMethod::Fork;
    QTest::newRow("spawn") << poolscope::StartMethod::Spawn;
    QTest::newRow("forkserver") << poolscope::StartMethod::ForkServer;
}

} // namespace scenariotest

Q_DECLARE_METATYPE(poolscope::StartMethod)
