#pragma once

#include <cstdint>
#include <string>

namespace poolscope {

// One line a scenario's program printed, as the user would see it in a terminal.
struct ConsoleLine
{
    enum class Source : std::uint8_t
    {
        Main,  // the parent (Python's MainProcess) printed it
        Child, // a child process printed it (its stdout or stderr, captured through a pipe)
        Fact,  // a checked fact's verdict ("ok: ...", "FAILED: ...")
        Note,  // a measured observation that depends on timing (reported, not asserted)
    };

    std::int64_t tNs = 0; // CLOCK_MONOTONIC when the line reached the console
    Source source = Source::Main;
    std::string text; // without the trailing newline
};

} // namespace poolscope
