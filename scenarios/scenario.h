#pragma once

#include "parameterspec.h"

#include <string>
#include <vector>

namespace poolscope {

class ScenarioRun;

// One example of the article, run for real. A scenario knows its parameters and how to run;
// its lesson and the Python program it stands for are resources (resources/lessons/<id>.md and
// <id>.py), looked up by id.
class Scenario
{
public:
    virtual ~Scenario() = default;

    virtual std::string id() const = 0;    // the command-line name: "pool-map"
    virtual std::string title() const = 0; // one line: "Pool.map: squares of 1..5"
    virtual std::vector<ParameterSpec> parameters() const = 0;

    // Runs the example on the real core: prints what the Python program prints through
    // run.print() (children's prints arrive through run.outputFd()), records events in
    // run.log(), and checks the facts with run.check(). Throws only for failures of the
    // machinery itself (a pool that cannot start); a fact that does not hold is not an error.
    virtual void run(ScenarioRun& run) const = 0;
};

} // namespace poolscope
