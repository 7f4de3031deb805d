#include "tracereader.h"

#include "traceargs.h"
#include "tracefile.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace poolscope {

namespace {

using Json = nlohmann::json;

// Events without args.seq sort after those with one, in file order.
constexpr std::int64_t kNoSeq = std::int64_t(1) << 62;
// ts / dur bound (microseconds, ~100 days): keeps tNs exact through a double.
constexpr double kMaxMicros = 9e12;

std::int64_t readMicros(const Json& ev, const char* key, const std::string& where)
{
    const auto it = ev.find(key);
    if (it == ev.end())
        throw TraceError(where + ": " + key + " is missing");
    if (!it->is_number())
        throw TraceError(where + ": " + key + " must be a number, not " + it->type_name());
    const double us = it->get<double>();
    if (us < 0)
        throw TraceError(where + ": " + key + " is negative (" + it->dump() + ")");
    if (!(us <= kMaxMicros))
        throw TraceError(where + ": " + key + " is out of range (" + it->dump() + ")");
    return std::llround(us * 1000.0);
}

const Json& readArgs(const Json& ev, const std::string& where, bool required)
{
    static const Json kEmpty = Json::object();
    const auto it = ev.find("args");
    if (it == ev.end()) {
        if (required)
            throw TraceError(where + ": args is missing");
        return kEmpty;
    }
    if (!it->is_object())
        throw TraceError(where + ": args must be an object, not " + it->type_name());
    return *it;
}

std::int64_t readOrder(const Json& args, const char* key, const std::string& where,
                       std::int64_t fallback)
{
    const auto it = args.find(key);
    if (it == args.end())
        return fallback;
    if (!it->is_number_integer() || it->get<std::int64_t>() < 0 ||
        it->get<std::int64_t>() >= kNoSeq)
        throw TraceError(where + ": args." + key + " must be a non-negative integer");
    return it->get<std::int64_t>();
}

const Json& metaField(const Json& other, const char* key)
{
    const auto it = other.find(key);
    if (it == other.end())
        throw TraceError(std::string("otherData.") + key + " is missing");
    return *it;
}

std::string metaString(const Json& other, const char* key)
{
    const Json& j = metaField(other, key);
    if (!j.is_string())
        throw TraceError(std::string("otherData.") + key + " must be a string, not " +
                         j.type_name());
    return j.get<std::string>();
}

// An integer in [lo, hi] (hi >= 0).
std::int64_t metaInt(const Json& other, const char* key, std::int64_t lo, std::int64_t hi)
{
    const Json& j = metaField(other, key);
    if (j.is_number_unsigned() && j.get<std::uint64_t>() <= std::uint64_t(hi))
        return std::int64_t(j.get<std::uint64_t>());
    if (!j.is_number_unsigned() && j.is_number_integer() && j.get<std::int64_t>() >= lo &&
        j.get<std::int64_t>() <= hi)
        return j.get<std::int64_t>();
    throw TraceError(std::string("otherData.") + key + " must be an integer in [" +
                     std::to_string(lo) + ", " + std::to_string(hi) + "], not " + j.dump());
}

TraceMetadata readMetadata(const Json& other)
{
    TraceMetadata m;
    m.tool = metaString(other, "tool");
    m.version = metaString(other, "version");
    m.api = metaString(other, "api");
    m.func = metaString(other, "func");
    constexpr auto kIntMax = std::numeric_limits<int>::max();
    m.items = metaInt(other, "items", 0, std::numeric_limits<std::int64_t>::max());
    m.workers = int(metaInt(other, "workers", 0, kIntMax));
    m.chunksize = int(metaInt(other, "chunksize", 0, kIntMax));
    m.startMethod = metaString(other, "start_method");
    const Json& seed = metaField(other, "seed");
    if (!seed.is_number_unsigned()) // nlohmann reads every non-negative integer as unsigned
        throw TraceError("otherData.seed must be a non-negative integer, not " + seed.dump());
    m.seed = seed.get<std::uint64_t>();
    const Json& scale = metaField(other, "time_scale");
    if (!scale.is_number())
        throw TraceError(std::string("otherData.time_scale must be a number, not ") +
                         scale.type_name());
    m.timeScale = scale.get<double>();
    m.mainPid = int(metaInt(other, "main_pid", 0, kIntMax));
    return m;
}

} // namespace

Trace TraceReader::fromJson(const std::string& text)
{
    try {
        return TraceReader().read(text);
    } catch (const TraceError&) {
        throw;
    } catch (const nlohmann::json::exception& e) {
        // A backstop: every expected case has its own message.
        throw TraceError(std::string("malformed trace: ") + e.what());
    }
}

Trace TraceReader::read(const std::string& text)
{
    if (text.empty())
        throw TraceError("trace is empty");
    Json root;
    try {
        root = Json::parse(text, [this](int depth, Json::parse_event_t event, Json& parsed) {
            return onParsed(depth, event, parsed);
        });
    } catch (const Json::parse_error& e) {
        std::string what = e.what();
        if (const auto p = what.find("] "); what.rfind("[json.exception", 0) == 0 && p != what.npos)
            what.erase(0, p + 2);
        const bool atEnd = e.byte >= text.size();
        throw TraceError("trace is not valid JSON: " + what +
                         (atEnd ? " (the input ends early: truncated?)" : ""));
    }
    if (!root.is_object())
        throw TraceError(std::string("trace must be a JSON object, not ") + root.type_name());
    const auto events = root.find("traceEvents");
    if (events == root.end())
        throw TraceError("trace has no traceEvents");
    if (!events->is_array() || m_eventArrays != 1)
        throw TraceError(events->is_array() ? std::string("trace has more than one traceEvents")
                                            : std::string("traceEvents must be an array, not ") +
                                                  events->type_name());
    const auto other = root.find("otherData");
    if (other == root.end())
        throw TraceError("trace has no otherData (not written by PoolScope?)");
    if (!other->is_object())
        throw TraceError(std::string("otherData must be an object, not ") + other->type_name());

    Trace trace;
    trace.metadata = readMetadata(*other);
    std::stable_sort(m_items.begin(), m_items.end(), [](const Item& x, const Item& y) {
        return x.event.tNs != y.event.tNs ? x.event.tNs < y.event.tNs : x.order < y.order;
    });
    trace.events.reserve(m_items.size());
    for (Item& item : m_items)
        trace.events.push_back(std::move(item.event));
    return trace;
}

// Called by the parser for each step; the elements of traceEvents (depth 2) are read as soon
// as they are complete and then discarded (returning false drops them from the tree).
bool TraceReader::onParsed(int depth, Json::parse_event_t event, Json& parsed)
{
    using E = Json::parse_event_t;
    if (depth == 1 && event == E::key) {
        m_rootKey = parsed.get<std::string>();
    } else if (depth == 1 && event == E::array_start && m_rootKey == "traceEvents") {
        m_inEvents = true;
        ++m_eventArrays;
    } else if (depth == 1 && event == E::array_end) {
        m_inEvents = false;
    } else if (depth == 2 && m_inEvents) {
        if (event == E::object_end) {
            readEvent(parsed);
            ++m_index;
            return false;
        }
        if (event == E::array_start || event == E::value)
            throw TraceError("traceEvents[" + std::to_string(m_index) +
                             "] must be an object, not " +
                             (event == E::array_start ? "array" : parsed.type_name()));
    }
    return true;
}

std::string TraceReader::location(const Json& ev) const
{
    std::string where = "traceEvents[" + std::to_string(m_index) + "]";
    const auto name = ev.find("name");
    if (name != ev.end() && name->is_string())
        where += " (\"" + name->get<std::string>() + "\")";
    return where;
}

void TraceReader::readEvent(const Json& ev)
{
    const auto ph = ev.find("ph");
    if (ph == ev.end() || !ph->is_string())
        throw TraceError(location(ev) + ": ph is missing or not a string");
    const std::string& kind = ph->get_ref<const std::string&>();
    if (kind == "X") {
        readTask(ev, location(ev));
    } else if (kind == "i" || kind == "I") {
        readInstant(ev, location(ev));
    } else if (kind == "M") {
        const auto name = ev.find("name");
        if (name == ev.end() || !name->is_string())
            throw TraceError(location(ev) + ": a metadata event needs a string name");
    } else {
        throw TraceError(location(ev) + ": unknown ph \"" + kind +
                         "\" (expected \"X\", \"i\" or \"M\")");
    }
}

void TraceReader::readTask(const Json& ev, const std::string& where)
{
    Event start;
    start.kind = EventKind::TaskStarted;
    start.tNs = readMicros(ev, "ts", where);
    const std::int64_t durNs = readMicros(ev, "dur", where);
    const Json& args = readArgs(ev, where, true);
    bool unfinished = false;
    if (const auto it = args.find("unfinished"); it != args.end()) {
        if (!it->is_boolean())
            throw TraceError(where + ": args.unfinished must be a boolean");
        unfinished = it->get<bool>();
    }
    const auto fileOrder = kNoSeq + 2 * std::int64_t(m_index);
    const std::int64_t seq = readOrder(args, "seq", where, fileOrder);
    if (unfinished) {
        TraceArgs::read(start, args, where);
        m_items.push_back({seq, std::move(start)});
        return;
    }
    // The slice's args hold the TaskStarted's required fields and all of the TaskFinished's.
    TraceArgs::read(start, args, where, TraceArgs::required(EventKind::TaskStarted));
    Event finish;
    finish.kind = EventKind::TaskFinished;
    finish.tNs = start.tNs + durNs;
    TraceArgs::read(finish, args, where);
    const std::int64_t endSeq = readOrder(args, "end_seq", where, fileOrder + 1);
    m_items.push_back({seq, std::move(start)});
    m_items.push_back({endSeq, std::move(finish)});
}

void TraceReader::readInstant(const Json& ev, const std::string& where)
{
    const auto name = ev.find("name");
    if (name == ev.end() || !name->is_string())
        throw TraceError(where + ": an instant event needs a string name");
    const auto kind = TraceArgs::kindFromName(name->get<std::string>());
    if (!kind)
        throw TraceError(where + ": unknown event name \"" + name->get<std::string>() + "\"");
    Event e;
    e.kind = *kind;
    e.tNs = readMicros(ev, "ts", where);
    const Json& args = readArgs(ev, where, false);
    TraceArgs::read(e, args, where);
    const std::int64_t seq = readOrder(args, "seq", where, kNoSeq + 2 * std::int64_t(m_index));
    m_items.push_back({seq, std::move(e)});
}

} // namespace poolscope
