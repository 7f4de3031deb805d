#pragma once

#include "runoptions.h"

#include <ostream>

namespace poolscope {

class ScenarioCatalog;

// `poolscope list` and `poolscope run ID ...`: the scenarios, headless.
class ScenarioCommand
{
public:
    ScenarioCommand(const ScenarioCatalog& catalog, std::ostream& out, std::ostream& err);

    int list();
    // Prints the console lines as they arrive; exit status 0 when every fact held, 1 when one
    // did not, 2 when the trace cannot be written (checked before the run).
    int run(const RunOptions& options);

private:
    const ScenarioCatalog& m_catalog;
    std::ostream& m_out;
    std::ostream& m_err;
};

} // namespace poolscope
