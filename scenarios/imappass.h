#pragma once

#include <cstdint>
#include <vector>

namespace poolscope {

// What one pass of the imap-vs-unordered scenario saw from the caller's side: the values the
// iterator handed out, in order, and when (CLOCK_MONOTONIC). The rest is read from the events.
struct ImapPass
{
    int job = -1;
    std::vector<std::int64_t> values;
    std::int64_t submitNs = 0;      // just before imap / imap_unordered was called
    std::int64_t firstResultNs = 0; // when next() handed out the first result
    std::int64_t doneNs = 0;        // when next() reported the end
    bool complete = false;          // iterated to the end (not cancelled)
};

} // namespace poolscope
