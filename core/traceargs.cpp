#include "traceargs.h"

#include "tracefile.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>

namespace poolscope {

namespace {

using InJson = TraceArgs::InJson;
using OutJson = TraceArgs::OutJson;

struct Schema
{
    std::string_view category;
    unsigned required = 0;
    std::string_view a = "a";
    std::string_view b = "b";
    std::string_view value = "value";
    std::string_view text = "text";
    bool aIsNs = false;     // a is a duration in ns, written as fractional microseconds
    bool okSelects = false; // ok requires the value, !ok the text (a result or an error)
};

constexpr unsigned J = TraceArgs::kJob, C = TraceArgs::kChunk, T = TraceArgs::kTask,
                   W = TraceArgs::kWorker, P = TraceArgs::kPid, PP = TraceArgs::kPpid,
                   A = TraceArgs::kA, B = TraceArgs::kB, OK = TraceArgs::kOk, V = TraceArgs::kValue,
                   X = TraceArgs::kText;

constexpr std::size_t kKindCount = std::size_t(EventKind::PoolTerminated) + 1;

// Indexed by EventKind; the field meanings are those documented in event.h.
const std::array<Schema, kKindCount> kSchemas = {{
    {"pool", A | X, "processes", "b", "value", "start_method"},                 // PoolCreated
    {"worker", W | P | PP | A | X, "latency_us", "b", "value", "worker", true}, // WorkerStarted
    {"job", J | A | B | X, "items", "chunksize", "value", "call"},              // JobSubmitted
    {"chunk", J | C | A | B, "first", "last"},                                  // ChunkSubmitted
    {"chunk", J | C | W | P},                                                   // ChunkTaken
    {"task", J | C | T | W | P | V, "a", "b", "input"},                         // TaskStarted
    // TaskFinished
    {"task", J | C | T | W | P | OK | V | X, "clock_group", "b", "result", "error", false, true},
    {"chunk", J | C | W | OK},                                                  // ChunkResult
    {"result", J | T | OK | V | X, "size", "b", "value", "error", false, true}, // ResultYielded
    {"result", J | T},                                                          // Callback
    {"result", J | T | X, "a", "b", "value", "error"},                          // ErrorCallback
    {"worker", W | P | A, "exitcode"},                                          // WorkerExited
    {"worker", W | P | J | C | X, "a", "b", "value", "lost"},                   // WorkerLost
    {"pool", 0},                                                                // PoolClosed
    {"pool", 0},                                                                // PoolTerminated
}};

const Schema& schemaOf(EventKind kind)
{
    const auto i = std::size_t(kind);
    if (i >= kKindCount)
        throw TraceError("unknown event kind " + std::to_string(i));
    return kSchemas[i];
}

// Value required by the kind and this event's ok (a result is required only when ok).
bool needs(const Schema& s, unsigned field, bool ok)
{
    if (!(s.required & field))
        return false;
    if (s.okSelects && field == TraceArgs::kValue)
        return ok;
    if (s.okSelects && field == TraceArgs::kText)
        return !ok;
    return true;
}

std::string typeName(const InJson& j)
{
    return j.type_name();
}

[[noreturn]] void fail(const std::string& where, std::string_view key, const std::string& what)
{
    throw TraceError(where + ": args." + std::string(key) + " " + what);
}

const InJson* find(const InJson& args, std::string_view key, const std::string& where,
                   bool required)
{
    const auto it = args.find(std::string(key));
    if (it == args.end()) {
        if (required)
            fail(where, key, "is missing");
        return nullptr;
    }
    return &*it;
}

std::int64_t toInt(const InJson& j, const std::string& where, std::string_view key, std::int64_t lo,
                   std::int64_t hi)
{
    std::int64_t v = 0;
    if (j.is_number_unsigned()) {
        const auto u = j.get<std::uint64_t>();
        if (u > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
            fail(where, key, "is out of range");
        v = std::int64_t(u);
    } else if (j.is_number_integer()) {
        v = j.get<std::int64_t>();
    } else {
        fail(where, key, "must be an integer, not " + typeName(j));
    }
    if (v < lo || v > hi)
        fail(where, key, "is out of range (" + std::to_string(v) + ")");
    return v;
}

double toNumber(const InJson& j, const std::string& where, std::string_view key)
{
    if (!j.is_number())
        fail(where, key, "must be a number, not " + typeName(j));
    return j.get<double>();
}

template <typename I>
void readInt(const InJson& args, std::string_view key, const std::string& where, bool required,
             I& out)
{
    if (const InJson* j = find(args, key, where, required))
        out =
            I(toInt(*j, where, key, std::numeric_limits<I>::min(), std::numeric_limits<I>::max()));
}

} // namespace

unsigned TraceArgs::required(EventKind kind)
{
    return schemaOf(kind).required;
}

std::string_view TraceArgs::category(EventKind kind)
{
    return schemaOf(kind).category;
}

std::optional<EventKind> TraceArgs::kindFromName(std::string_view name)
{
    for (std::size_t i = 0; i < kKindCount; ++i) {
        if (eventKindName(EventKind(i)) == name)
            return EventKind(i);
    }
    return std::nullopt;
}

void TraceArgs::write(OutJson& args, const Event& e, std::string_view workerName, unsigned fields)
{
    const Schema& s = schemaOf(e.kind);
    auto want = [&](unsigned field, bool nonDefault) {
        return (fields & field) && (needs(s, field, e.ok) || nonDefault);
    };
    if (want(kJob, e.job != -1))
        args["job"] = e.job;
    if (want(kChunk, e.chunk != -1))
        args["chunk"] = e.chunk;
    if (want(kTask, e.task != -1))
        args["task"] = e.task;
    if (want(kWorker, e.worker != -1)) {
        // WorkerStarted carries the name itself, as its text.
        if (!workerName.empty() && s.text != "worker")
            args["worker"] = workerName;
        args["worker_id"] = e.worker;
    }
    if (want(kPid, e.pid != 0))
        args["pid"] = e.pid;
    if (want(kPpid, e.ppid != 0))
        args["ppid"] = e.ppid;
    if (want(kA, e.a != 0)) {
        if (s.aIsNs)
            args[std::string(s.a)] = double(e.a) / 1000.0;
        else
            args[std::string(s.a)] = e.a;
    }
    if (want(kB, e.b != 0))
        args[std::string(s.b)] = e.b;
    if (want(kOk, !e.ok))
        args["ok"] = e.ok;
    if (want(kValue, !e.value.isNone()))
        args[std::string(s.value)] = valueToJson(e.value);
    if (want(kText, !e.text.empty()))
        args[std::string(s.text)] = e.text;
    if (want(kDelay, e.delay != -1))
        args["delay_s"] = e.delay;
}

void TraceArgs::read(Event& e, const InJson& args, const std::string& where, unsigned fields)
{
    const Schema& s = schemaOf(e.kind);
    if (!args.is_object())
        throw TraceError(where + ": args must be an object, not " + typeName(args));
    auto req = [&](unsigned field) {
        return needs(s, field, e.ok);
    };
    // ok first: it decides whether a result or an error is required.
    if (fields & kOk) {
        if (const InJson* j = find(args, "ok", where, req(kOk))) {
            if (!j->is_boolean())
                fail(where, "ok", "must be a boolean, not " + typeName(*j));
            e.ok = j->get<bool>();
        }
    }
    if (fields & kJob)
        readInt(args, "job", where, req(kJob), e.job);
    if (fields & kChunk)
        readInt(args, "chunk", where, req(kChunk), e.chunk);
    if (fields & kTask)
        readInt(args, "task", where, req(kTask), e.task);
    if (fields & kWorker)
        readInt(args, "worker_id", where, req(kWorker), e.worker);
    if (fields & kPid)
        readInt(args, "pid", where, req(kPid), e.pid);
    if (fields & kPpid)
        readInt(args, "ppid", where, req(kPpid), e.ppid);
    if (fields & kA) {
        if (const InJson* j = find(args, s.a, where, req(kA))) {
            if (s.aIsNs) {
                const double us = toNumber(*j, where, s.a);
                if (!(std::fabs(us) < 9e15))
                    fail(where, s.a, "is out of range");
                e.a = std::llround(us * 1000.0);
            } else {
                e.a = toInt(*j, where, s.a, std::numeric_limits<std::int64_t>::min(),
                            std::numeric_limits<std::int64_t>::max());
            }
        }
    }
    if (fields & kB)
        readInt(args, s.b, where, req(kB), e.b);
    if (fields & kValue) {
        if (const InJson* j = find(args, s.value, where, req(kValue)))
            e.value = valueFromJson(*j, where + ": args." + std::string(s.value));
    }
    if (fields & kText) {
        if (const InJson* j = find(args, s.text, where, req(kText))) {
            if (!j->is_string())
                fail(where, s.text, "must be a string, not " + typeName(*j));
            e.text = j->get<std::string>();
        }
    }
    if (fields & kDelay) {
        if (const InJson* j = find(args, "delay_s", where, req(kDelay)))
            e.delay = toNumber(*j, where, "delay_s");
    }
}

OutJson TraceArgs::valueToJson(const Value& v)
{
    switch (v.kind()) {
    case Value::Kind::None:
        return nullptr;
    case Value::Kind::Bool:
        return v.asBool();
    case Value::Kind::Int:
        return v.asInt();
    case Value::Kind::Float: {
        const double d = v.asFloat();
        if (std::isnan(d))
            return OutJson{{"float", "nan"}};
        if (std::isinf(d))
            return OutJson{{"float", d > 0 ? "inf" : "-inf"}};
        return d;
    }
    case Value::Kind::Str:
        return v.asStr();
    case Value::Kind::List:
    case Value::Kind::Tuple: {
        OutJson items = OutJson::array();
        for (const auto& item : v.items())
            items.push_back(valueToJson(item));
        if (v.isList())
            return items;
        OutJson t = OutJson::object();
        t["tuple"] = std::move(items);
        return t;
    }
    }
    return nullptr;
}

Value TraceArgs::valueFromJson(const InJson& j, const std::string& where, int depth)
{
    // Values come from a file: bound the recursion so a hostile nesting cannot overflow.
    constexpr int kMaxDepth = 200;
    if (depth > kMaxDepth)
        throw TraceError(where + ": value nested deeper than " + std::to_string(kMaxDepth));
    switch (j.type()) {
    case InJson::value_t::null:
        return Value();
    case InJson::value_t::boolean:
        return Value(j.get<bool>());
    case InJson::value_t::number_integer:
        return Value(j.get<std::int64_t>());
    case InJson::value_t::number_unsigned: {
        const auto u = j.get<std::uint64_t>();
        if (u > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
            throw TraceError(where + ": integer " + std::to_string(u) + " is out of range");
        return Value(std::int64_t(u));
    }
    case InJson::value_t::number_float:
        return Value(j.get<double>());
    case InJson::value_t::string:
        return Value(j.get<std::string>());
    case InJson::value_t::array: {
        Value::List items;
        items.reserve(j.size());
        for (const auto& item : j)
            items.push_back(valueFromJson(item, where, depth + 1));
        return Value(std::move(items));
    }
    case InJson::value_t::object: {
        if (j.size() == 1 && j.contains("tuple") && j["tuple"].is_array()) {
            Value::List items;
            for (const auto& item : j["tuple"])
                items.push_back(valueFromJson(item, where, depth + 1));
            return Value::tuple(std::move(items));
        }
        if (j.size() == 1 && j.contains("float") && j["float"].is_string()) {
            const auto& f = j["float"].get_ref<const std::string&>();
            if (f == "nan")
                return Value(std::numeric_limits<double>::quiet_NaN());
            if (f == "inf")
                return Value(std::numeric_limits<double>::infinity());
            if (f == "-inf")
                return Value(-std::numeric_limits<double>::infinity());
        }
        throw TraceError(where + ": an object value must be {\"tuple\": [...]} or "
                                 "{\"float\": \"nan\" | \"inf\" | \"-inf\"}");
    }
    default:
        throw TraceError(where + ": unsupported value type " + typeName(j));
    }
}

} // namespace poolscope
