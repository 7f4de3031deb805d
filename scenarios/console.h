#pragma once

#include "consoleline.h"

#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace poolscope {

// The console of a scenario run: every line its program printed, in the order they arrived,
// from the parent and (through OutputCapture) from its children. Thread-safe. Readers either
// poll by index (a view reading new lines in batches on a timer) or install a listener (the
// command line prints each line as it arrives).
class Console
{
public:
    using Listener = std::function<void(const ConsoleLine&)>;

    // Called for every line appended after this, under the console's lock, so that lines reach
    // the listener one at a time and in order. It must not call back into the console.
    void setListener(Listener listener);

    void print(ConsoleLine::Source source, std::string text);

    std::size_t size() const;
    ConsoleLine at(std::size_t index) const;
    std::vector<ConsoleLine> lines() const;
    // The texts of the lines from one source, in order (what tests compare).
    std::vector<std::string> texts(ConsoleLine::Source source) const;

private:
    mutable std::mutex m_mutex;
    std::vector<ConsoleLine> m_lines;
    Listener m_listener;
};

} // namespace poolscope
