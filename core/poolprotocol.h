#pragma once

#include "remoteerror.h"
#include "value.h"
#include "wire.h"

#include <cstdint>
#include <optional>
#include <string>

namespace poolscope {

// The messages between a pool's parent and its workers.
//
// Task queue (parent -> workers): one TaskQueue (a byte stream in shared memory) shared by every
// worker, so a message is taken whole by exactly one worker: the first idle one, as with
// CPython's inqueue. A message is a kind byte + MessagePack.
//
// Reports (worker -> parent): length-prefixed frames on the worker's own result pipe, whose EOF
// tells the parent that the worker has gone.
struct ChunkMessage
{
    bool stop = false; // the close() sentinel: the worker exits
    std::int32_t job = 0;
    std::int32_t chunk = 0;
    std::int64_t first = 0; // input index of the chunk's first item
    std::string func;
    bool star = false; // starmap/apply: each item is a tuple of arguments
    // The items; or, when they came as a packed list of ints (a map over numbers), ints, and
    // items is empty.
    Value::List items;
    IntList ints;
    bool packedInts = false;
    std::size_t size() const { return packedInts ? ints.size() : items.size(); }
};

struct WorkerReport
{
    enum class Kind : std::int64_t
    {
        Ready = 0,
        Progress = 1,
        Result = 2,
        InitFailed = 3
    };
    Kind kind = Kind::Ready;
    // Ready
    std::int32_t pid = 0;
    std::int32_t ppid = 0;
    std::int64_t readyNs = 0;
    // Progress and Result: the chunk, when the worker took it, and the tasks that finished
    // since the previous report of this chunk, from task index fromTask on.
    std::int32_t job = 0;
    std::int32_t chunk = 0;
    std::int64_t first = 0;
    std::int64_t takenNs = 0;
    std::int64_t fromTask = 0;
    // Recording (else empty): the tasks' timing as the worker read it. Group g's groupTasks[g]
    // tasks share evenly (TaskClock::splitEvenly) the time from its start (groupsStartNs for
    // the first, the previous group's end after it) to groupEndNs[g], which never goes back.
    std::int64_t groupsStartNs = 0;
    std::vector<std::int64_t> groupEndNs;
    std::vector<std::int64_t> groupTasks;
    std::int64_t timedTasks() const; // the tasks the groups hold
    // Every task's end (ns), as the groups give it: not on the wire; filled by expandEnds().
    std::vector<std::int64_t> ends;
    void expandEnds();
    Value::List values; // results, one per timed task in order (the failing task has none)
    // A worker's alternative to values for an IntKernel's results (intResults): encoded as the
    // same list, which the parent decodes into values.
    IntList intValues;
    bool intResults = false;
    std::vector<double> delays;       // seconds each task slept (-1: none); may be empty
    std::int64_t currentStartNs = -1; // Progress: the task fromTask+ends.size() started then
    std::int64_t finished = 0;        // Result: number of tasks that ended (incl. a failing one)
    // Tasks [groupFrom, groupEnd) of those in ends were too short to time one by one: they
    // were timed in groups of up to groupSize (one clock reading a group), each task's start
    // and end its even share of its group's time. groupSize 0: every task was timed alone.
    std::int32_t groupFrom = 0;
    std::int32_t groupEnd = 0;
    std::int32_t groupSize = 0;
    // Result
    bool ok = true;
    RemoteError error; // also InitFailed's error
};

// Task queue side: what goes into the TaskQueue, and what a worker makes of it.
struct EncodedChunk
{
    Bytes bytes;        // kind byte + MessagePack
    bool onRun = false; // encoded with a RunCheck, and the inputs are on that run
};
// An arithmetic run of ints that a chunk's inputs are checked against as they are encoded:
// the chunk's first input must be `first`, and each next one `step` more (wrapping).
struct RunCheck
{
    std::int64_t first = 0;
    std::int64_t step = 0;
};
EncodedChunk encodeChunk(const ChunkMessage& msg, const Value::List& allItems, std::size_t begin,
                         std::size_t end, const RunCheck* run = nullptr);
EncodedChunk encodeStop();
// The bytes of that message, static: for a sender that allocates nothing.
std::span<const std::uint8_t> stopMessageBytes();
ChunkMessage decodeChunk(std::span<const std::uint8_t> message); // throws WireError

Bytes encodeReport(const WorkerReport& report);
// The same as one whole frame (length + payload, as appendFrame makes it), written into `frame`
// (cleared first): a worker reuses one buffer for all its reports.
void encodeReportFrame(const WorkerReport& report, Bytes& frame);
WorkerReport decodeReport(std::span<const std::uint8_t> payload); // throws WireError
// The same into `into`, whose containers keep their capacity (the result thread reuses one).
void decodeReport(std::span<const std::uint8_t> payload, WorkerReport& into);

} // namespace poolscope
