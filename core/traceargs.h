#pragma once

#include "event.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace poolscope {

// Internal to the core (TraceWriter / TraceReader): how an Event's fields map to the "args" of
// a Chrome trace event, per kind. One table serves both directions so they cannot disagree.
//
// Each kind has required fields, always written (even when they hold their default) and
// required on read; any other field is written only when it differs from its default (-1,
// 0, true, None, empty) under a generic name ("a", "b", "ppid", "value", "text", ...), so
// nothing is lost. Names: job, chunk, task, pid, ppid, ok, delay_s (seconds), worker_id
// (N of ForkPoolWorker-N; "worker" holds the name, for display only) and per kind names for
// a, b, value and text (e.g. submit: first/last; worker_start: latency_us, fractional).
//
// Values are JSON: None null, bool, int (64-bit), float (a non-finite float is
// {"float": "nan" | "inf" | "-inf"} since JSON has no such numbers), str, list array, and a
// tuple {"tuple": [...]}.
class TraceArgs
{
public:
    // Written objects keep their keys in insertion order, for people reading the file. Read
    // ones use std::map: parsing into ordered_json deep-copies nested values as its vectors
    // grow, which a hostile nesting turns into a stack overflow.
    using OutJson = nlohmann::ordered_json;
    using InJson = nlohmann::json;

    enum Field : unsigned
    {
        kJob = 1u << 0,
        kChunk = 1u << 1,
        kTask = 1u << 2,
        kWorker = 1u << 3,
        kPid = 1u << 4,
        kPpid = 1u << 5,
        kA = 1u << 6,
        kB = 1u << 7,
        kOk = 1u << 8,
        kDelay = 1u << 9,
        kValue = 1u << 10,
        kText = 1u << 11,
        kAll = (1u << 12) - 1,
    };

    static unsigned required(EventKind kind);
    static std::string_view category(EventKind kind);
    // The kind whose eventKindName() is `name`.
    static std::optional<EventKind> kindFromName(std::string_view name);

    // Adds `event`'s fields (those in `fields`) to the object `args`. `workerName` is shown
    // next to worker_id when not empty.
    static void write(OutJson& args, const Event& event, std::string_view workerName,
                      unsigned fields = kAll);
    // Sets `event`'s fields (those in `fields`) from `args`; event.kind must be set. Throws
    // TraceError prefixed with `where` for a missing required or mistyped arg.
    static void read(Event& event, const InJson& args, const std::string& where,
                     unsigned fields = kAll);

    static OutJson valueToJson(const Value& value);
    static Value valueFromJson(const InJson& json, const std::string& where, int depth = 0);
};

} // namespace poolscope
