#pragma once

#include "startmethod.h"

#include <cstdint>
#include <optional>

namespace poolscope {

// What the user chose for a run; unset fields take the scenario's defaults (see
// Scenario::parameters() and ScenarioRun's accessors).
struct ScenarioParams
{
    std::optional<int> workers;
    std::optional<int> chunksize;
    std::optional<StartMethod> startMethod;
    std::optional<std::uint64_t> seed;
    std::optional<double> timeScale; // every sleep of the scenario is multiplied by this
};

} // namespace poolscope
