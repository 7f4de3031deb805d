#pragma once

#include <string>

namespace poolscope {

// A fact a scenario's run must show, and whether this run showed it. Facts hold on every run on
// any machine; what depends on timing is a note instead (ScenarioRun::note).
struct FactResult
{
    std::string fact; // "parent counter stayed 0"
    bool held = false;
    std::string detail; // what was seen, when it did not hold ("got 3")
};

} // namespace poolscope
