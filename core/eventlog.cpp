#include "eventlog.h"

#include "packedspan.h"
#include "segmentedarray.h"
#include "taskclock.h"

#include <algorithm>
#include <bit>
#include <limits>

namespace poolscope {

// One event, flat. `value` holds None/bool/int/float inline (a float as its bits); any other
// value is an index into the side array, as is `text` (index + 1; 0 for no text).
// A span record (kSpan) stands for a TaskSpan: tNs = the first task's start, task = the first
// task, a = number of tasks, b = index of the first Cell, value = index into `inputs` (-1: none,
// or the inputs are in the cells: kInlineInputs); with kTaken its first event is the chunk's
// ChunkTaken (at tNs), with kReceived its last is the ChunkResult (at receivedNs).
// A submit record (kSubmits) stands for a SubmitRun: tNs = the first chunk's time, chunk = the
// first chunk, a = number of chunks, b = the word where the others' u32 offsets from tNs start,
// task = chunksize, value = the job's number of items.
struct EventLog::Record
{
    static constexpr std::uint8_t kSpan = 1;
    static constexpr std::uint8_t kFirstStartLogged = 2;
    static constexpr std::uint8_t kInlineInputs = 4;
    static constexpr std::uint8_t kTaken = 8;
    static constexpr std::uint8_t kReceived = 16;
    static constexpr std::uint8_t kSubmits = 32;
    // A span of one task kept in the record alone (no cell, no words): b = its end, value =
    // its result's bits (valueKind), and its inline input's bits in groupFrom (high half) and
    // groupEnd (low half), inputKind. A report of chunksize 1 is one of these.
    static constexpr std::uint8_t kSingle = 64;
    // A span's inputs copied to the side array from index `value` (a borrowed list's).
    static constexpr std::uint8_t kSideInputs = 128;
    // A run of one-task chunks (OneTaskChunks; both bits, which no other record has together):
    // tNs = the earliest takenNs, task = chunksize, a = number of chunks, b = the first
    // ChunkCell; four events a chunk.
    static constexpr std::uint8_t kChunkRun = kSpan | kSubmits;
    // A span in the words array (PackedSpan::kPacked, with the forms of its columns) rather
    // than in cells.
    std::uint64_t first; // logical index of the record's (first) event
    std::int64_t tNs;
    std::int64_t task;
    std::int64_t a;
    std::int64_t b;
    union {
        double delay;            // a plain event's
        std::int64_t receivedNs; // a span's, with kReceived
    };
    std::int64_t value;
    std::int32_t job;
    std::int32_t chunk;
    std::int32_t worker;
    std::int32_t pid;
    union {
        std::int32_t ppid;      // a plain event's
        std::int32_t groupFrom; // a span's TaskSpan::groupFrom
    };
    union {
        std::uint32_t text;     // a plain event's
        std::uint32_t groupEnd; // a span's TaskSpan::groupEnd
    };
    std::uint16_t groupSize; // a span's TaskSpan::groupSize
    EventKind kind;
    bool ok;
    Value::Kind valueKind;
    std::uint8_t flags;
    std::uint8_t packing;  // a span's: PackedSpan's flags
    Value::Kind inputKind; // a packed span's inline inputs

    bool isChunkRun() const { return (flags & kChunkRun) == kChunkRun; }
    std::uint64_t count() const
    {
        if (isChunkRun())
            return 4 * std::uint64_t(a);
        if (flags & kSubmits)
            return std::uint64_t(a);
        if (!(flags & kSpan))
            return 1;
        return taskEvents() + ((flags & kTaken) ? 1 : 0) + ((flags & kReceived) ? 1 : 0);
    }
    std::uint64_t taskEvents() const // a span's TaskStarted and TaskFinished events
    {
        return 2 * std::uint64_t(a) - ((flags & kFirstStartLogged) ? 1 : 0);
    }
};

// Where a logical event of a span record falls: its ChunkTaken, one of its tasks' events (pos:
// 2k for task k's TaskStarted, 2k + 1 for its TaskFinished), or its ChunkResult.
struct EventLog::SpanPart
{
    enum Kind
    {
        Taken,
        Task,
        Received
    };
    Kind kind;
    std::uint64_t pos;
};

// One task of a span: when it ended, its (scalar) result, and its input when that is a scalar
// too (kInlineInputs): then the log does not keep the job's input list, which the caller's
// next list can reuse (a list of Values costs 40 bytes an item, and fresh memory faults).
struct EventLog::Cell
{
    std::int64_t endNs;
    std::int64_t bits;
    std::int64_t inputBits;
    Value::Kind kind;
    Value::Kind inputKind;
};

// One chunk of a kChunkRun record: its times as offsets (takenNs from the record's tNs, endNs
// from takenNs, receivedNs from endNs), its result's and its input's bits.
struct EventLog::ChunkCell
{
    std::int64_t resultBits;
    std::int64_t inputBits;
    std::int32_t chunk;
    std::int32_t pid;
    std::uint32_t taken;
    std::uint32_t run;
    std::uint32_t wait;
    std::uint16_t worker;
    Value::Kind resultKind;
    Value::Kind inputKind;
};

// A packed span: n tasks in 32-bit words from index b, laid out by PackedSpan (a few bytes a
// timing group, or 2 a task for the end of a short task; 4 for a square of a range, none for an
// input of a range).
struct EventLog::Storage
{
    static_assert(std::is_trivially_copyable_v<Record>);
    static_assert(sizeof(Record) == 88);
    static_assert(std::is_trivially_copyable_v<Cell>);
    static_assert(sizeof(Cell) == 32);
    static_assert(std::is_trivially_copyable_v<ChunkCell>);
    static_assert(sizeof(ChunkCell) == 40);
    // 32,768 records: 2.75 MiB segments, of which the first 2 MiB are a huge page after the
    // first segment (a report of a one-task chunk is one record: logging 10,000 of them took
    // 62 ns each with 704 KiB segments of plain pages, 39 ns so).
    SegmentedArray<Record, 15> records;
    SegmentedArray<Value> side;     // out-of-line values and texts
    SegmentedArray<Cell, 16> cells; // 65,536 cells: 2 MiB segments (huge pages after the first)
    PackedSpan::Words words;        // packed spans: 2 MiB segments too
    SegmentedArray<ChunkCell, 16> chunkCells; // 2.5 MiB segments (a huge page, after the first)
    SegmentedArray<std::shared_ptr<const std::vector<Value>>> inputs;
    std::uint64_t logicalPending = 0;      // the writer's count of events
    const void* lastInputs = nullptr;      // the writer's: the input list `inputs` ends with
    std::vector<std::int64_t> groupedEnds; // the writer's: a grouped span's ends, when expanded
    std::atomic<std::uint64_t> logicalSize{0};
};

EventLog::EventLog() : m_storage(std::make_unique<Storage>())
{}

EventLog::~EventLog() = default;

void EventLog::appendLocked(const Event& e)
{
    Storage& s = *m_storage;
    Record r;
    r.tNs = e.tNs;
    r.task = e.task;
    r.a = e.a;
    r.b = e.b;
    r.delay = e.delay;
    r.job = e.job;
    r.chunk = e.chunk;
    r.worker = e.worker;
    r.pid = e.pid;
    r.ppid = e.ppid;
    r.kind = e.kind;
    r.ok = e.ok;
    r.valueKind = e.value.kind();
    r.flags = 0;
    r.packing = 0;
    r.groupSize = 0;
    r.inputKind = Value::Kind::None;
    r.first = s.logicalPending;
    if (isScalar(e.value)) {
        r.value = PackedSpan::scalarBits(e.value);
    } else {
        r.value = std::int64_t(s.side.pending());
        s.side.emplace(e.value);
    }
    r.text = 0;
    if (!e.text.empty()) {
        if (s.side.pending() >= std::numeric_limits<std::uint32_t>::max())
            throw std::length_error("event log is full");
        r.text = std::uint32_t(s.side.pending() + 1);
        s.side.emplace(e.text);
    }
    s.records.emplace(r);
    s.logicalPending += 1;
}

void EventLog::appendSpanLocked(const TaskSpan& span)
{
    Storage& s = *m_storage;
    std::span<const std::int64_t> endNs = span.endNs; // or the groups' ends, when expanded
    std::size_t n = endNs.size();
    // A span given as timing groups is kept as such where they fit and hold four tasks or more
    // each on average; else as every task's end, which the groups give.
    bool grouped = false;
    const auto expandGroups = [&] {
        s.groupedEnds.clear();
        TaskClock::splitGroups(span.groupsStartNs, span.groupEndNs, span.groupTasks, s.groupedEnds);
        endNs = s.groupedEnds;
        grouped = false;
    };
    if (endNs.empty() && !span.groupTasks.empty()) {
        constexpr auto kMaxTasks = std::int64_t(std::numeric_limits<std::uint32_t>::max());
        std::int64_t tasks = 0;
        for (const std::int64_t t : span.groupTasks) {
            if (t < 1 || t > kMaxTasks - tasks)
                throw std::invalid_argument("EventLog: a span's timing groups are malformed");
            tasks += t;
        }
        if (span.groupEndNs.size() != span.groupTasks.size())
            throw std::invalid_argument("EventLog: a span's timing groups are malformed");
        n = std::size_t(tasks);
        grouped = 4 * span.groupTasks.size() <= n &&
                  PackedSpan::groupsFit(span.firstStartNs, span.groupsStartNs, span.groupEndNs,
                                        span.groupTasks);
        if (!grouped)
            expandGroups();
    }
    if (n == 0) {
        if (span.taken || span.receivedNs >= 0)
            throw std::invalid_argument("EventLog: a span carries its chunk's events with tasks");
        return;
    }
    const bool intResults = !span.intResults.empty();
    if ((intResults ? span.intResults.size() : span.results.size()) != n ||
        (intResults && !span.results.empty()))
        throw std::invalid_argument("EventLog: a task span needs one result per task");
    if (span.taken && span.firstStartLogged)
        throw std::invalid_argument("EventLog: a span that starts its chunk starts its first task");
    if (span.groupSize < 0 || span.groupSize > std::numeric_limits<std::uint16_t>::max() ||
        span.groupFrom < 0 || span.groupFrom > span.groupEnd || std::size_t(span.groupEnd) > n ||
        (span.groupSize == 0 && span.groupEnd > span.groupFrom))
        throw std::invalid_argument("EventLog: a span's timing group is out of range");
    if (n == 1 && span.groupEnd == span.groupFrom && appendSingleLocked(span, endNs[0]))
        return;
    const auto scalarKind = [](const PackedSpan::Column& c) {
        const auto k = c.kind;
        return c.uniform && (k == Value::Kind::None || k == Value::Kind::Bool ||
                             k == Value::Kind::Int || k == Value::Kind::Float);
    };
    // One kind throughout is usual: a column of scalars then needs no look at each value.
    const PackedSpan::Column resultColumn =
        intResults ? PackedSpan::classifyInts(span.intResults) : PackedSpan::classify(span.results);
    if (!intResults && !scalarKind(resultColumn) &&
        !std::all_of(span.results.begin(), span.results.end(), isScalar))
        throw std::invalid_argument("EventLog: a task span holds scalar results only");
    const std::vector<Value>* inputs = span.inputs.get();
    const bool inputsInRange =
        inputs && span.firstTask >= 0 && std::size_t(span.firstTask) + n <= inputs->size();
    const std::span<const Value> taskInputs =
        inputsInRange ? std::span<const Value>(inputs->data() + span.firstTask, n)
                      : std::span<const Value>();
    PackedSpan::Column inputColumn;
    if (inputsInRange && span.inputsAreRun && n > 4) {
        inputColumn.kind = Value::Kind::Int;
        inputColumn.run = true;
        inputColumn.first = span.inputRunFirst;
        inputColumn.step = span.inputRunStep;
    } else if (inputsInRange) {
        inputColumn = PackedSpan::classifyInputs(taskInputs);
    }
    const bool inlineInputs =
        inputsInRange &&
        (scalarKind(inputColumn) || std::all_of(taskInputs.begin(), taskInputs.end(), isScalar));

    Record r = spanRecord(span, n, inlineInputs);
    r.groupFrom = span.groupFrom;
    r.groupEnd = std::uint32_t(span.groupEnd);
    r.groupSize = std::uint16_t(span.groupSize);
    r.b = std::int64_t(s.cells.pending());
    if (span.inputs && !inlineInputs && span.inputsBorrowed) {
        if (inputsInRange) {
            r.value = std::int64_t(s.side.pending());
            r.flags |= Record::kSideInputs;
            s.side.emplaceRun(n, [&](std::size_t k) { return taskInputs[k]; });
        }
    } else if (span.inputs && !inlineInputs) {
        // A job's reports share its input list: it is kept once per run of spans, not per span.
        if (span.inputs.get() != s.lastInputs) {
            s.inputs.emplace(span.inputs);
            s.lastInputs = span.inputs.get();
        }
        r.value = std::int64_t(s.inputs.pending()) - 1;
    }
    const Value* results = span.results.data();
    const Value* in = inlineInputs ? taskInputs.data() : nullptr;
    const std::int64_t* ints = span.intResults.data();
    const bool valuesPackable = resultColumn.uniform && (!in || inputColumn.uniform);
    if (grouped && valuesPackable) {
        r.b = std::int64_t(s.words.pending());
        r.packing = PackedSpan::appendGrouped(
            s.words, span.firstStartNs, span.groupsStartNs, span.groupEndNs, span.groupTasks,
            resultColumn, span.results, span.intResults, in ? inputColumn : PackedSpan::Column{},
            in ? taskInputs : std::span<const Value>());
        r.valueKind = resultColumn.kind;
        r.inputKind = in ? inputColumn.kind : Value::Kind::None;
        s.records.emplace(r);
        s.logicalPending += r.count();
        return;
    }
    if (grouped)
        expandGroups();
    const std::int64_t* ends = endNs.data();
    const PackedSpan::Ends endsForm = PackedSpan::classifyEnds(span.firstStartNs, endNs);
    const bool packable = valuesPackable && endsForm.fit;
    if (packable) {
        r.b = std::int64_t(s.words.pending());
        r.packing = PackedSpan::append(s.words, span.firstStartNs, endNs, endsForm, resultColumn,
                                       span.results, span.intResults,
                                       in ? inputColumn : PackedSpan::Column{},
                                       in ? taskInputs : std::span<const Value>());
        r.valueKind = resultColumn.kind;
        r.inputKind = in ? inputColumn.kind : Value::Kind::None;
    } else {
        const auto resultBits = [&](std::size_t k) {
            return intResults ? ints[k] : PackedSpan::scalarBits(results[k]);
        };
        const auto resultKind = [&](std::size_t k) {
            return intResults ? Value::Kind::Int : results[k].kind();
        };
        s.cells.emplaceRun(n, [&](std::size_t k) {
            return Cell{ends[k], resultBits(k), in ? PackedSpan::scalarBits(in[k]) : 0,
                        resultKind(k), in ? in[k].kind() : Value::Kind::None};
        });
    }
    s.records.emplace(r);
    s.logicalPending += r.count();
}

void EventLog::appendSubmitsLocked(const SubmitRun& run)
{
    Storage& s = *m_storage;
    const auto times = run.submittedNs;
    const std::size_t m = times.size();
    if (m == 0)
        return;
    if (run.chunksize < 1 || run.firstChunk < 0 || run.items < 0 ||
        std::int64_t(run.firstChunk) + std::int64_t(m) >
            (run.items + run.chunksize - 1) / run.chunksize)
        throw std::invalid_argument("EventLog: a submit run's chunks are out of its job's range");
    std::uint64_t later = 0; // any bit above 32 set: a time too late, or one that went back
    for (std::size_t k = 1; k < m; ++k)
        later |= (std::uint64_t(times[k]) - std::uint64_t(times[k - 1])) |
                 (std::uint64_t(times[k]) - std::uint64_t(times[0]));
    if (m == 1 || (later >> 32)) {
        Event e;
        e.kind = EventKind::ChunkSubmitted;
        e.job = run.job;
        for (std::size_t k = 0; k < m; ++k) {
            e.tNs = times[k];
            e.chunk = run.firstChunk + std::int32_t(k);
            e.task = e.chunk * run.chunksize;
            e.a = e.task;
            e.b = std::min(e.task + run.chunksize, run.items) - 1;
            appendLocked(e);
        }
        return;
    }
    Record r = {};
    r.first = s.logicalPending;
    r.tNs = times[0];
    r.task = run.chunksize;
    r.a = std::int64_t(m);
    r.b = std::int64_t(s.words.pending());
    r.value = run.items;
    r.job = run.job;
    r.chunk = run.firstChunk;
    r.kind = EventKind::ChunkSubmitted;
    r.flags = Record::kSubmits;
    s.words.emplaceRun(m - 1, [&](std::size_t k) {
        return std::uint32_t(std::uint64_t(times[k + 1]) - std::uint64_t(times[0]));
    });
    s.records.emplace(r);
    s.logicalPending += m;
}

EventLog::Record EventLog::spanRecord(const TaskSpan& span, std::size_t n, bool inlineInputs) const
{
    Record r = {};
    r.first = m_storage->logicalPending;
    r.tNs = span.firstStartNs;
    r.task = span.firstTask;
    r.a = std::int64_t(n);
    r.value = -1;
    r.job = span.job;
    r.chunk = span.chunk;
    r.worker = span.worker;
    r.pid = span.pid;
    r.kind = EventKind::TaskFinished;
    r.ok = true;
    r.valueKind = Value::Kind::None;
    r.flags = Record::kSpan | (span.firstStartLogged ? Record::kFirstStartLogged : 0) |
              (inlineInputs ? Record::kInlineInputs : 0) | (span.taken ? Record::kTaken : 0) |
              (span.receivedNs >= 0 ? Record::kReceived : 0);
    r.receivedNs = span.receivedNs;
    return r;
}

bool EventLog::appendSingleLocked(const TaskSpan& span, std::int64_t endNs)
{
    const bool intResult = !span.intResults.empty();
    if (!intResult && !isScalar(span.results[0]))
        return false; // appendSpanLocked refuses it
    const Value* input = nullptr;
    if (span.inputs) {
        if (span.firstTask < 0 || std::size_t(span.firstTask) >= span.inputs->size())
            return false;
        input = &(*span.inputs)[std::size_t(span.firstTask)];
        if (!isScalar(*input))
            return false; // the job's input list is kept: the general form
    }
    appendSingleRecordLocked(spanRecord(span, 1, input != nullptr), endNs,
                             intResult ? span.intResults[0]
                                       : PackedSpan::scalarBits(span.results[0]),
                             intResult ? Value::Kind::Int : span.results[0].kind(), input);
    return true;
}

void EventLog::appendSingleRecordLocked(Record r, std::int64_t endNs, std::int64_t resultBits,
                                        Value::Kind resultKind, const Value* input)
{
    Storage& s = *m_storage;
    r.flags |= Record::kSingle;
    r.b = endNs;
    r.value = resultBits;
    r.valueKind = resultKind;
    r.inputKind = input ? input->kind() : Value::Kind::None;
    if (input) {
        const auto bits = std::uint64_t(PackedSpan::scalarBits(*input));
        r.groupFrom = std::int32_t(std::uint32_t(bits >> 32));
        r.groupEnd = std::uint32_t(bits);
    }
    s.records.emplace(r);
    s.logicalPending += r.count();
}

void EventLog::appendOneTaskChunksLocked(const OneTaskChunks& run)
{
    Storage& s = *m_storage;
    const auto chunks = run.chunks;
    if (chunks.empty())
        return;
    if (run.chunksize < 1)
        throw std::invalid_argument("EventLog: a chunk run's chunksize must be at least 1");
    std::int64_t base = chunks[0].takenNs;
    bool fit = chunks.size() > 1; // one alone: a record is smaller than a record and a cell
    for (const OneTaskChunk& c : chunks) {
        if (c.chunk < 0)
            throw std::invalid_argument("EventLog: a chunk run's chunk is negative");
        if ((c.input && !isScalar(*c.input)) || !isScalar(c.result))
            throw std::invalid_argument("EventLog: a chunk run holds scalars only");
        base = std::min(base, c.takenNs);
        fit = fit && c.worker >= 0 && c.worker <= std::numeric_limits<std::uint16_t>::max() &&
              c.endNs >= c.takenNs && c.receivedNs >= c.endNs;
    }
    constexpr auto kMaxOffset = std::uint64_t(std::numeric_limits<std::uint32_t>::max());
    for (std::size_t k = 0; fit && k < chunks.size(); ++k) {
        const OneTaskChunk& c = chunks[k];
        fit = std::uint64_t(c.takenNs) - std::uint64_t(base) <= kMaxOffset &&
              std::uint64_t(c.endNs) - std::uint64_t(c.takenNs) <= kMaxOffset &&
              std::uint64_t(c.receivedNs) - std::uint64_t(c.endNs) <= kMaxOffset;
    }
    if (!fit) {
        // Each as a one-task span carrying its chunk's events.
        for (const OneTaskChunk& c : chunks) {
            TaskSpan span;
            span.job = run.job;
            span.chunk = c.chunk;
            span.worker = c.worker;
            span.pid = c.pid;
            span.firstTask = std::int64_t(c.chunk) * run.chunksize;
            span.firstStartNs = c.takenNs;
            span.taken = true;
            span.receivedNs = c.receivedNs;
            appendSingleRecordLocked(spanRecord(span, 1, c.input != nullptr), c.endNs,
                                     PackedSpan::scalarBits(c.result), c.result.kind(), c.input);
        }
        return;
    }
    Record r = {};
    r.first = s.logicalPending;
    r.tNs = base;
    r.task = run.chunksize;
    r.a = std::int64_t(chunks.size());
    r.b = std::int64_t(s.chunkCells.pending());
    r.job = run.job;
    r.kind = EventKind::ChunkTaken;
    r.ok = true;
    r.flags = Record::kChunkRun;
    s.chunkCells.emplaceRun(chunks.size(), [&](std::size_t k) {
        const OneTaskChunk& c = chunks[k];
        return ChunkCell{PackedSpan::scalarBits(c.result),
                         c.input ? PackedSpan::scalarBits(*c.input) : 0,
                         c.chunk,
                         c.pid,
                         std::uint32_t(c.takenNs - base),
                         std::uint32_t(c.endNs - c.takenNs),
                         std::uint32_t(c.receivedNs - c.endNs),
                         std::uint16_t(c.worker),
                         c.result.kind(),
                         c.input ? c.input->kind() : Value::Kind::None};
    });
    s.records.emplace(r);
    s.logicalPending += r.count();
}

std::int64_t EventLog::oneTaskChunkTime(const Record& r, std::uint64_t local) const
{
    const ChunkCell& c = m_storage->chunkCells[std::size_t(r.b) + local / 4];
    const std::int64_t taken = r.tNs + std::int64_t(c.taken);
    switch (local % 4) {
    case 0:
    case 1:
        return taken;
    case 2:
        return taken + std::int64_t(c.run);
    default:
        return taken + std::int64_t(c.run) + std::int64_t(c.wait);
    }
}

// The events a one-task span carrying its chunk's events reads back as (see at()).
Event EventLog::oneTaskChunkEvent(const Record& r, std::uint64_t local) const
{
    const ChunkCell& c = m_storage->chunkCells[std::size_t(r.b) + local / 4];
    Event e;
    e.tNs = oneTaskChunkTime(r, local);
    e.job = r.job;
    e.chunk = c.chunk;
    e.worker = c.worker;
    e.pid = c.pid;
    switch (local % 4) {
    case 0:
        e.kind = EventKind::ChunkTaken;
        break;
    case 1:
        e.kind = EventKind::TaskStarted;
        e.task = std::int64_t(c.chunk) * r.task;
        e.value = PackedSpan::scalarValue(c.inputKind, c.inputBits);
        break;
    case 2:
        e.kind = EventKind::TaskFinished;
        e.task = std::int64_t(c.chunk) * r.task;
        e.value = PackedSpan::scalarValue(c.resultKind, c.resultBits);
        break;
    default:
        e.kind = EventKind::ChunkResult;
        break;
    }
    return e;
}

std::int64_t EventLog::submittedTime(const Record& r, std::uint64_t local) const
{
    return local == 0 ? r.tNs
                      : r.tNs + std::int64_t(m_storage->words[std::size_t(r.b) + local - 1]);
}

Event EventLog::submitted(const Record& r, std::uint64_t local) const
{
    Event e;
    e.tNs = submittedTime(r, local);
    e.kind = EventKind::ChunkSubmitted;
    e.job = r.job;
    e.chunk = r.chunk + std::int32_t(local);
    e.task = std::int64_t(e.chunk) * r.task;
    e.a = e.task;
    e.b = std::min(e.task + r.task, r.value) - 1;
    return e;
}

void EventLog::publishLocked()
{
    // What a record points to first: a reader that sees the record sees it.
    Storage& s = *m_storage;
    s.side.publish();
    s.cells.publish();
    s.chunkCells.publish();
    s.words.publish();
    s.inputs.publish();
    s.records.publish();
    s.logicalSize.store(s.logicalPending, std::memory_order_release);
}

void EventLog::append(const Event& event)
{
    std::lock_guard lock(m_writeMutex);
    appendLocked(event);
    publishLocked();
}

void EventLog::append(std::span<const Event> events)
{
    std::lock_guard lock(m_writeMutex);
    for (const auto& e : events)
        appendLocked(e);
    publishLocked();
}

EventLog::Batch::Batch(EventLog& log) : m_log(log), m_lock(log.m_writeMutex)
{}

EventLog::Batch::~Batch()
{
    m_log.publishLocked();
}

std::size_t EventLog::size() const
{
    return std::size_t(m_storage->logicalSize.load(std::memory_order_acquire));
}

std::pair<const EventLog::Record*, std::uint64_t> EventLog::locate(std::size_t index) const
{
    const auto& records = m_storage->records;
    const std::size_t n = records.size();
    const auto covers = [&](std::size_t p) {
        const Record& r = records[p];
        return r.first <= index && index < r.first + r.count();
    };
    // Readers mostly go forward one event at a time: try where the last lookup ended first.
    std::size_t p = m_hint.load(std::memory_order_relaxed);
    if (p >= n || !covers(p)) {
        if (p + 1 < n && covers(p + 1)) {
            ++p;
        } else {
            std::size_t lo = 0;
            std::size_t hi = n; // the first record starting after index is in [lo, hi]
            while (lo < hi) {
                const std::size_t mid = lo + (hi - lo) / 2;
                if (records[mid].first <= index)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            p = lo - 1;
        }
        m_hint.store(p, std::memory_order_relaxed);
    }
    const Record& r = records[p];
    return {&r, index - r.first};
}

EventLog::SpanPart EventLog::spanPart(const Record& r, std::uint64_t local)
{
    if (r.flags & Record::kTaken) {
        if (local == 0)
            return {SpanPart::Taken, 0};
        --local;
    }
    if (local >= r.taskEvents())
        return {SpanPart::Received, 0};
    return {SpanPart::Task, local + ((r.flags & Record::kFirstStartLogged) ? 1 : 0)};
}

std::int64_t EventLog::spanTime(const Record& r, std::uint64_t local) const
{
    const SpanPart part = spanPart(r, local);
    if (part.kind == SpanPart::Taken)
        return r.tNs;
    if (part.kind == SpanPart::Received)
        return r.receivedNs;
    const std::uint64_t pos = part.pos;
    const std::uint64_t k = pos / 2;
    if (r.flags & Record::kSingle)
        return pos % 2 ? r.b : r.tNs;
    if (r.packing & PackedSpan::kPacked) {
        const PackedSpan packed(m_storage->words, std::size_t(r.b), std::size_t(r.a), r.packing);
        const auto& words = m_storage->words;
        if (pos % 2)
            return r.tNs + packed.endOffset(words, k);
        return k == 0 ? r.tNs : r.tNs + packed.endOffset(words, k - 1);
    }
    const auto& cells = m_storage->cells;
    if (pos % 2) // TaskFinished
        return cells[std::size_t(r.b) + k].endNs;
    return k == 0 ? r.tNs : cells[std::size_t(r.b) + k - 1].endNs;
}

Event EventLog::at(std::size_t index) const
{
    const auto [rp, local] = locate(index);
    const Record& r = *rp;
    if (r.isChunkRun())
        return oneTaskChunkEvent(r, local);
    if (r.flags & Record::kSubmits)
        return submitted(r, local);
    Event e;
    if (r.flags & Record::kSpan) {
        const SpanPart part = spanPart(r, local);
        e.tNs = spanTime(r, local);
        e.job = r.job;
        e.chunk = r.chunk;
        e.worker = r.worker;
        e.pid = r.pid;
        if (part.kind != SpanPart::Task) {
            e.kind = part.kind == SpanPart::Taken ? EventKind::ChunkTaken : EventKind::ChunkResult;
            return e;
        }
        const std::uint64_t pos = part.pos;
        const std::uint64_t k = pos / 2;
        const bool finished = pos % 2;
        e.kind = finished ? EventKind::TaskFinished : EventKind::TaskStarted;
        e.task = r.task + std::int64_t(k);
        if (r.flags & Record::kSingle) {
            if (finished) {
                e.value = PackedSpan::scalarValue(r.valueKind, r.value);
            } else if (r.flags & Record::kInlineInputs) {
                const std::uint64_t bits =
                    (std::uint64_t(std::uint32_t(r.groupFrom)) << 32) | r.groupEnd;
                e.value = PackedSpan::scalarValue(r.inputKind, std::int64_t(bits));
            }
            return e;
        }
        if (finished && std::int64_t(k) >= r.groupFrom && k < r.groupEnd)
            e.a = r.groupSize;
        if (r.packing & PackedSpan::kPacked) {
            const PackedSpan packed(m_storage->words, std::size_t(r.b), std::size_t(r.a),
                                    r.packing);
            const auto& words = m_storage->words;
            if (finished) {
                e.value = PackedSpan::scalarValue(r.valueKind, packed.resultBits(words, k));
                return e;
            }
            if (r.flags & Record::kInlineInputs) {
                e.value = PackedSpan::scalarValue(r.inputKind, packed.inputBits(words, k));
                return e;
            }
        }
        if (finished && !(r.packing & PackedSpan::kPacked)) {
            const Cell& c = m_storage->cells[std::size_t(r.b) + k];
            e.value = PackedSpan::scalarValue(c.kind, c.bits);
        } else if ((r.flags & Record::kInlineInputs) && !(r.packing & PackedSpan::kPacked)) {
            const Cell& c = m_storage->cells[std::size_t(r.b) + k];
            e.value = PackedSpan::scalarValue(c.inputKind, c.inputBits);
        } else if (r.value >= 0 && (r.flags & Record::kSideInputs)) {
            e.value = m_storage->side[std::size_t(r.value) + k];
        } else if (r.value >= 0) {
            const auto& inputs = *m_storage->inputs[std::size_t(r.value)];
            if (e.task >= 0 && std::size_t(e.task) < inputs.size())
                e.value = inputs[std::size_t(e.task)];
        }
        return e;
    }
    e.tNs = r.tNs;
    e.kind = r.kind;
    e.ok = r.ok;
    e.job = r.job;
    e.chunk = r.chunk;
    e.worker = r.worker;
    e.pid = r.pid;
    e.ppid = r.ppid;
    e.task = r.task;
    e.a = r.a;
    e.b = r.b;
    e.delay = r.delay;
    if (r.valueKind == Value::Kind::Bool || r.valueKind == Value::Kind::Int ||
        r.valueKind == Value::Kind::Float)
        e.value = PackedSpan::scalarValue(r.valueKind, r.value);
    else if (r.valueKind != Value::Kind::None)
        e.value = m_storage->side[std::size_t(r.value)];
    if (r.text)
        e.text = m_storage->side[r.text - 1].asStr();
    return e;
}

std::int64_t EventLog::timeAt(std::size_t index) const
{
    const auto [r, local] = locate(index);
    if (r->isChunkRun())
        return oneTaskChunkTime(*r, local);
    if (r->flags & Record::kSubmits)
        return submittedTime(*r, local);
    return (r->flags & Record::kSpan) ? spanTime(*r, local) : r->tNs;
}

EventKind EventLog::kindAt(std::size_t index) const
{
    const auto [r, local] = locate(index);
    if (r->isChunkRun()) {
        constexpr EventKind kParts[] = {EventKind::ChunkTaken, EventKind::TaskStarted,
                                        EventKind::TaskFinished, EventKind::ChunkResult};
        return kParts[local % 4];
    }
    if (!(r->flags & Record::kSpan))
        return r->kind;
    const SpanPart part = spanPart(*r, local);
    if (part.kind == SpanPart::Taken)
        return EventKind::ChunkTaken;
    if (part.kind == SpanPart::Received)
        return EventKind::ChunkResult;
    return part.pos % 2 ? EventKind::TaskFinished : EventKind::TaskStarted;
}

std::int64_t EventLog::startNs() const
{
    return size() ? timeAt(0) : 0;
}

std::size_t EventLog::storageBytes() const
{
    const Storage& s = *m_storage;
    return s.records.size() * sizeof(Record) + s.cells.size() * sizeof(Cell) +
           s.chunkCells.size() * sizeof(ChunkCell) + s.words.size() * sizeof(std::uint32_t) +
           s.side.size() * sizeof(Value) +
           s.inputs.size() * sizeof(std::shared_ptr<const std::vector<Value>>);
}

} // namespace poolscope
