#pragma once

#include "scenarioparams.h"

#include <string>
#include <vector>

namespace poolscope {

class ScenarioCatalog;

// The arguments of `poolscope run ID ...` as a plain value. parse() checks the id against the
// catalog and every option against what that scenario takes (ParameterSpec: which options and
// their ranges), throwing UsageError with a one-line message naming the argument.
struct RunOptions
{
    bool help = false;
    std::string id;
    ScenarioParams params;
    std::string tracePath; // empty: no trace
    bool quiet = false;    // only the facts and notes, not the program's lines

    static RunOptions parse(const std::vector<std::string>& args, const ScenarioCatalog& catalog);
    static std::string usage(const ScenarioCatalog& catalog);
};

} // namespace poolscope
