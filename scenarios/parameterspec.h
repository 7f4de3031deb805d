#pragma once

#include <string>

namespace poolscope {

// One parameter a scenario takes from the common set (workers, chunksize, start-method, seed,
// time-scale), with the scenario's default and valid range. The command line and the window's
// controls are built from these, and refuse values outside the range.
struct ParameterSpec
{
    enum class Name
    {
        Workers,
        Chunksize,
        StartMethod,
        Seed,
        TimeScale,
    };

    Name name = Name::Workers;
    double defaultValue = 0; // StartMethod: a StartMethod cast to double; 0 = fork
    double min = 0;
    double max = 0;
    std::string help; // one line: what it changes in this scenario

    static std::string optionName(Name name); // "workers", "start-method", ...
};

} // namespace poolscope
