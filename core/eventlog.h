#pragma once

#include "adaptivemutex.h"
#include "event.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <utility>
#include <vector>

namespace poolscope {

// Append-only, thread-safe log of a run's events, in the order the parent learned of them.
// Writers serialize on a mutex; readers never lock: an event at an index below size() is
// complete and never changes, so a view can read [seen, size()) in batches from another thread
// while the pool runs.
//
// Storage is compact: an event is kept as a fixed-size plain record with None, bool, int and
// float values inline; strings, lists, tuples and error texts go to a side array. at() rebuilds
// the Event. A pool records two events per task, so this is what recording costs; the tasks one
// worker ran back to back (a chunk's report) go in as one TaskSpan instead: a record for the
// run plus per task its end time, scalar result and, when it is a scalar, its input (its start
// is the previous task's end; other inputs stay in the job's shared input list, which the log
// then keeps). Packed where the span allows it (results of one kind, inputs of one kind, ends
// within 4.3 s of its start; see PackedSpan): about 4 bytes a task for the squares of a range
// given as a worker's timing groups (a few bytes a group for the ends, 4 for the square, none
// for the input), 6 with an end per task (2 for the end of a short task); else 32. Read back
// as the same TaskStarted / TaskFinished events, between the chunk's ChunkTaken and ChunkResult
// when the span carries them (a whole report of a chunk is then one record); the reports of
// one-task chunks that arrive together go in as one OneTaskChunks (a record, and 40 bytes a
// chunk). The storage is not inherited by fork children (MADV_DONTFORK): a child never reads
// the log.
class EventLog
{
public:
    EventLog();
    ~EventLog();
    EventLog(const EventLog&) = delete;
    EventLog& operator=(const EventLog&) = delete;

    // Tasks [firstTask, firstTask + n) that one worker ran one after the other (n: endNs.size(),
    // or the tasks of the timing groups): per task a TaskStarted (at the previous task's end;
    // the first at firstStartNs, and left out when firstStartLogged) and a TaskFinished (ok, at
    // its end, value results[k]).
    struct TaskSpan
    {
        std::int32_t job = -1;
        std::int32_t chunk = -1;
        std::int32_t worker = -1;
        std::int32_t pid = 0;
        std::int64_t firstTask = 0;
        std::int64_t firstStartNs = 0;
        bool firstStartLogged = false;
        std::span<const std::int64_t> endNs;
        // Or, with endNs empty, the worker's timing groups: group g's groupTasks[g] tasks share
        // evenly (TaskClock::splitEvenly) the time from its start (groupsStartNs for the first,
        // the previous group's end after it) to groupEndNs[g]; a group that would end before it
        // starts ends at its start. Kept as groups where PackedSpan can (a few bytes a group).
        std::int64_t groupsStartNs = 0;
        std::span<const std::int64_t> groupEndNs;
        std::span<const std::int64_t> groupTasks;
        std::span<const Value> results;           // None, bool, int or float only (isScalar)
        std::span<const std::int64_t> intResults; // or int results (an int kernel's)
        // The job's inputs, indexed by task (TaskStarted's value); null: None.
        std::shared_ptr<const std::vector<Value>> inputs;
        // The inputs are a blocking caller's own list, valid only during the call: the log
        // copies what it keeps of them (the span's inputs, when they are not scalars) rather
        // than keeping the list.
        bool inputsBorrowed = false;
        // Set when the writer knows the span's inputs to be the ints inputRunFirst,
        // inputRunFirst + inputRunStep, ... (an arithmetic run, steps wrapping): the log then
        // keeps them so without reading them (a map over a range; its caller checked them).
        bool inputsAreRun = false;
        std::int64_t inputRunFirst = 0;
        std::int64_t inputRunStep = 0;
        // The worker's ChunkTaken comes first, at firstStartNs (the span starts the chunk, so
        // firstStartLogged is false): a report's events in one record.
        bool taken = false;
        // A ChunkResult (ok) at this time follows the tasks; -1: none.
        std::int64_t receivedNs = -1;
        // Tasks [groupFrom, groupEnd) of the span (0-based within it) were timed in groups of
        // up to groupSize (<= 65,535): their TaskFinished events say so (a = groupSize).
        std::int32_t groupFrom = 0;
        std::int32_t groupEnd = 0;
        std::int32_t groupSize = 0;
    };
    // Chunks of one job that went into the task queue one after the other: chunk
    // firstChunk + k at submittedNs[k], covering tasks [c * chunksize, min((c + 1) * chunksize,
    // items) - 1]. Read back as one ChunkSubmitted per chunk (task and a: its first task, b: its
    // last), the same events as appended one by one. Kept as one record and 4 bytes a chunk
    // where the times do not go back and stay within 4.29 s of the first; else event by event.
    struct SubmitRun
    {
        std::int32_t job = -1;
        std::int32_t firstChunk = 0;
        std::int64_t chunksize = 1;
        std::int64_t items = 0;
        std::span<const std::int64_t> submittedNs;
    };
    // Chunks of one task each, of one job, each reported whole by the worker that ran it (a
    // map with chunksize 1): per chunk its ChunkTaken and TaskStarted (at takenNs; the start's
    // value is the task's input), TaskFinished (ok, at endNs, the result) and ChunkResult
    // (at receivedNs), chunk after chunk: the events a one-task TaskSpan that carries its
    // chunk's events logs. Kept as one record and 40 bytes a chunk (a one-task span takes a
    // record: 88 bytes) where the times fit (within 4.29 s of each other, in order within a
    // chunk) and the workers' numbers are below 65,536; else as such spans.
    struct OneTaskChunk
    {
        std::int32_t chunk = 0; // its task: chunk * chunksize
        std::int32_t worker = -1;
        std::int32_t pid = 0;
        std::int64_t takenNs = 0;
        std::int64_t endNs = 0;
        std::int64_t receivedNs = 0;
        Value result;                 // a scalar (isScalar)
        const Value* input = nullptr; // the task's input, a scalar too; null: None
    };
    struct OneTaskChunks
    {
        std::int32_t job = -1;
        std::int64_t chunksize = 1;
        std::span<const OneTaskChunk> chunks;
    };
    static bool isScalar(const Value& value)
    {
        const auto k = value.kind();
        return k == Value::Kind::None || k == Value::Kind::Bool || k == Value::Kind::Int ||
               k == Value::Kind::Float;
    }

    void append(const Event& event);
    void append(std::span<const Event> events); // one lock and one publication for a batch

    // Appends under one lock, published together when the batch ends: for a writer that makes
    // many events at once (a worker's report of a whole chunk) and reuses one Event for them.
    class Batch
    {
    public:
        explicit Batch(EventLog& log);
        ~Batch();
        Batch(const Batch&) = delete;
        Batch& operator=(const Batch&) = delete;
        void add(const Event& event) { m_log.appendLocked(event); }
        void add(const TaskSpan& span) { m_log.appendSpanLocked(span); }
        void add(const SubmitRun& run) { m_log.appendSubmitsLocked(run); }
        void add(const OneTaskChunks& run) { m_log.appendOneTaskChunksLocked(run); }

    private:
        EventLog& m_log;
        std::lock_guard<AdaptiveMutex> m_lock;
    };

    std::size_t size() const;
    // Valid for index < size() as observed by this thread.
    Event at(std::size_t index) const;
    // The same fields without rebuilding the whole event (for lookups by time or kind).
    std::int64_t timeAt(std::size_t index) const;
    EventKind kindAt(std::size_t index) const;

    // The run's time origin: the timestamp of the first event (0 while empty).
    std::int64_t startNs() const;

    // The bytes of the log's own arrays in use (records, task cells, packed words, side values;
    // not what a side value or a kept input list points to): what recording a run costs.
    std::size_t storageBytes() const;

    static constexpr std::size_t kSegmentSize = std::size_t(1) << 13; // events per segment

private:
    struct Record;
    struct Cell;
    struct ChunkCell;
    struct Storage;
    void appendLocked(const Event& event);
    void appendSpanLocked(const TaskSpan& span);
    // A span of one task, in its record alone, when it can be (false: appendSpanLocked's
    // general forms).
    bool appendSingleLocked(const TaskSpan& span, std::int64_t endNs);
    // Completes r (a one-task span's record) as such a record alone, and appends it.
    void appendSingleRecordLocked(Record r, std::int64_t endNs, std::int64_t resultBits,
                                  Value::Kind resultKind, const Value* input);
    Record spanRecord(const TaskSpan& span, std::size_t n,
                      bool inlineInputs) const; // common fields
    void appendSubmitsLocked(const SubmitRun& run);
    void appendOneTaskChunksLocked(const OneTaskChunks& run);
    Event oneTaskChunkEvent(const Record& r, std::uint64_t local) const; // a kChunkRun record's
    std::int64_t oneTaskChunkTime(const Record& r, std::uint64_t local) const;
    Event submitted(const Record& r, std::uint64_t local) const; // a kSubmits record's event
    std::int64_t submittedTime(const Record& r, std::uint64_t local) const;
    void publishLocked();
    // The record holding logical event `index`, and the event's position within it.
    std::pair<const Record*, std::uint64_t> locate(std::size_t index) const;
    std::int64_t spanTime(const Record& r, std::uint64_t local) const;
    struct SpanPart;
    static SpanPart spanPart(const Record& r, std::uint64_t local);

    std::unique_ptr<Storage> m_storage;
    AdaptiveMutex m_writeMutex;
    mutable std::atomic<std::size_t> m_hint{0}; // the record at() found last: readers go in order
};

} // namespace poolscope
