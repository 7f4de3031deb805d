#pragma once

#include "trace.h"

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace poolscope {

// Internal to the core: rebuilds a Trace from the JSON TraceWriter produces (see there for
// the layout). Event times are relative to the run's start: tNs = ts * 1000, so the earliest
// event is at 0. Events are sorted by time, ties in the written log's order (args.seq; file
// order where there is none). Anything malformed throws TraceError saying what and where.
//
// Streams: each element of traceEvents is turned into events as soon as it is parsed and then
// dropped, so a large trace never exists as a whole JSON tree in memory.
class TraceReader
{
public:
    static Trace fromJson(const std::string& text);

private:
    using Json = nlohmann::json;

    struct Item
    {
        std::int64_t order;
        Event event;
    };

    Trace read(const std::string& text);
    bool onParsed(int depth, Json::parse_event_t event, Json& parsed);
    void readEvent(const Json& ev);
    void readTask(const Json& ev, const std::string& where);
    void readInstant(const Json& ev, const std::string& where);
    std::string location(const Json& ev) const;

    std::vector<Item> m_items;
    std::size_t m_index = 0; // of the traceEvents element being parsed
    std::string m_rootKey;   // the key of the root object being parsed
    bool m_inEvents = false; // inside the traceEvents array
    int m_eventArrays = 0;
};

} // namespace poolscope
