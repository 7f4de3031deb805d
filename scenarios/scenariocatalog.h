#pragma once

#include "scenario.h"

#include <memory>
#include <string_view>
#include <vector>

namespace poolscope {

// The scenarios, in the article's order. Built where it is needed and passed on (no global).
class ScenarioCatalog
{
public:
    static ScenarioCatalog article();

    const std::vector<std::unique_ptr<Scenario>>& all() const { return m_scenarios; }
    const Scenario* find(std::string_view id) const; // nullptr when unknown

private:
    std::vector<std::unique_ptr<Scenario>> m_scenarios;
};

} // namespace poolscope
