#include "scenariocatalog.h"

#include "applyasyncscenario.h"
#include "applyscenario.h"
#include "callbacksscenario.h"
#include "chunksizescenario.h"
#include "comparisonscenario.h"
#include "counterracescenario.h"
#include "imapvsunorderedscenario.h"
#include "poolmapscenario.h"
#include "primetestingscenario.h"
#include "processlifecyclescenario.h"
#include "startmethodsscenario.h"

namespace poolscope {

ScenarioCatalog ScenarioCatalog::article()
{
    ScenarioCatalog c;
    // In the article's order; each line adds one scenario.
    c.m_scenarios.push_back(std::make_unique<CounterRaceScenario>());
    c.m_scenarios.push_back(std::make_unique<ProcessLifecycleScenario>());
    c.m_scenarios.push_back(std::make_unique<StartMethodsScenario>());
    c.m_scenarios.push_back(std::make_unique<PoolMapScenario>());
    c.m_scenarios.push_back(std::make_unique<PrimeTestingScenario>());
    c.m_scenarios.push_back(std::make_unique<ImapVsUnorderedScenario>());
    c.m_scenarios.push_back(std::make_unique<ChunksizeScenario>());
    c.m_scenarios.push_back(std::make_unique<ApplyScenario>());
    c.m_scenarios.push_back(std::make_unique<ApplyAsyncScenario>());
    c.m_scenarios.push_back(std::make_unique<CallbacksScenario>());
    c.m_scenarios.push_back(std::make_unique<ComparisonScenario>());
    return c;
}

const Scenario* ScenarioCatalog::find(std::string_view id) const
{
    for (const auto& s : m_scenarios) {
        if (s->id() == id)
            return s.get();
    }
    return nullptr;
}

} // namespace poolscope
