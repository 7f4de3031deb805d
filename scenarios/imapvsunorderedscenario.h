#pragma once

#include "imappass.h"
#include "scenario.h"

namespace poolscope {

// The article's streaming example: slow_square over [1..5] on Pool(3) with seeded delays, first
// with imap (results in input order) and then imap_unordered (results as they arrive). The same
// seed gives both passes the same delays, so the two orders can be compared.
class ImapVsUnorderedScenario : public Scenario
{
public:
    std::string id() const override { return "imap-vs-unordered"; }
    std::string title() const override
    {
        return "imap vs imap_unordered: the same slow squares, two orders";
    }
    std::vector<ParameterSpec> parameters() const override;
    void run(ScenarioRun& run) const override;

private:
    ImapPass runPass(ScenarioRun& run, bool ordered, int workers, int chunksize) const;
};

} // namespace poolscope
