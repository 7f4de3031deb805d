#pragma once

#include "eventlog.h"
#include "tracemetadata.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace poolscope {

// Internal to the core: turns an event log into Chrome Trace Event JSON (see TraceFile).
//
// Layout: metadata events ("M": process_name, thread_name, process_sort_index) for the main
// process and each worker first, then the events sorted by ts (stable, in log order):
// - a task is one complete event ("X", cat "task", name = the task function) in its worker's
//   lane from TaskStarted to TaskFinished; its args hold both events' fields.
// - a task whose worker died before it finished is an "X" ending where its worker was lost
//   (or exited, or the trace ends) with args unfinished = true and error = what was lost;
//   reading it back gives only its TaskStarted.
// - every other event is an instant ("i", "s": "t") in the main process's lane, named by
//   eventKindName() (submit, take, result, yield, ...). A TaskStarted / TaskFinished that
//   cannot be paired losslessly (never for a real run) is an instant in its worker's lane.
// ts / dur are fractional microseconds from the earliest event, so that nanoseconds survive
// the round trip. args.seq (and end_seq for the end of a task) is the event's index in the
// log, which keeps the log's order among events with equal timestamps.
class TraceWriter
{
public:
    static std::string toJson(const EventLog& log, const TraceMetadata& meta);

private:
    TraceWriter(const EventLog& log, const TraceMetadata& meta);

    struct Entry
    {
        std::int64_t tNs;
        std::string json;
    };

    std::string build();
    void collectNames();
    void pairTasks();
    std::string workerName(std::int32_t worker) const;
    double micros(std::int64_t tNs) const { return double(tNs - m_originNs) / 1000.0; }
    std::string metadataEvents() const;
    std::string otherData() const;
    Entry taskSlice(std::size_t start, std::size_t finish) const;
    Entry unfinishedTaskSlice(std::size_t start) const;
    Entry instant(std::size_t index, bool inWorkerLane) const;

    static constexpr std::size_t kUnfinished = std::size_t(-1);
    static constexpr std::size_t kUnpaired = std::size_t(-2);

    const EventLog& m_log;
    const TraceMetadata& m_meta;
    const std::size_t m_count; // events [0, m_count): the log may still grow meanwhile
    std::int64_t m_originNs = 0;
    std::int64_t m_endNs = 0;
    std::unordered_map<std::int32_t, std::string> m_workerNames;
    std::vector<std::pair<std::int32_t, std::int32_t>> m_workerPids; // (pid, worker)
    // Per event: for a TaskStarted, the index of its TaskFinished (or kUnfinished / kUnpaired);
    // for a TaskFinished, its TaskStarted's index when paired, else kUnpaired.
    std::vector<std::size_t> m_partner;
    // Per worker: indices of its WorkerLost and WorkerExited events, in log order.
    std::unordered_map<std::int32_t, std::vector<std::size_t>> m_lost;
    std::unordered_map<std::int32_t, std::vector<std::size_t>> m_exited;
};

} // namespace poolscope
