#include "poolprotocol.h"

#include "taskclock.h"
#include "valuewriter.h"
#include "wirereader.h"

namespace poolscope {

namespace {

constexpr std::uint8_t kInline = 'C';
constexpr std::uint8_t kStop = 'S';

std::string strAt(const Value::List& l, std::size_t i)
{
    if (i >= l.size() || !l[i].isStr())
        throw WireError("malformed report: field " + std::to_string(i) + " is not a string");
    return l[i].asStr();
}

Value errorValue(const RemoteError& e)
{
    return Value(Value::List{e.type, e.message, e.traceback});
}

RemoteError errorFrom(const Value::List& l)
{
    return RemoteError{strAt(l, 0), strAt(l, 1), strAt(l, 2)};
}

} // namespace

EncodedChunk encodeChunk(const ChunkMessage& msg, const Value::List& allItems, std::size_t begin,
                         std::size_t end, const RunCheck* run)
{
    EncodedChunk out;
    out.bytes.reserve(32 + (end - begin) * 5);
    out.bytes.push_back(kInline);
    ValueWriter w(out.bytes);
    w.beginList(6).writeInt(msg.job).writeInt(msg.chunk).writeInt(msg.first).writeStr(msg.func);
    w.writeBool(msg.star);
    const auto inputs = std::span<const Value>(allItems).subspan(begin, end - begin);
    if (run)
        out.onRun = w.writeListOnRun(inputs, run->first, run->step);
    else
        w.writeList(inputs);
    return out;
}

EncodedChunk encodeStop()
{
    return EncodedChunk{Bytes{kStop}};
}

std::span<const std::uint8_t> stopMessageBytes()
{
    static constexpr std::uint8_t kStopMessage[] = {kStop};
    return kStopMessage;
}

ChunkMessage decodeChunk(std::span<const std::uint8_t> message)
{
    if (message.empty())
        throw WireError("an empty task message");
    if (message[0] == kStop) {
        ChunkMessage stop;
        stop.stop = true;
        return stop;
    }
    if (message[0] != kInline)
        throw WireError("unknown task message kind");
    // Field by field: a chunk of ints (a map over numbers) stays a plain array of them.
    WireReader in(message.subspan(1));
    const std::size_t fields = in.arrayHeader();
    if (fields < 6)
        throw WireError("malformed task message");
    ChunkMessage msg;
    msg.job = std::int32_t(in.integer());
    msg.chunk = std::int32_t(in.integer());
    msg.first = in.integer();
    msg.func = in.string();
    msg.star = in.boolean();
    msg.packedInts = in.packedOrList(msg.ints, msg.items);
    for (std::size_t i = 6; i < fields; ++i)
        in.value(); // fields of a later version
    in.expectEnd();
    return msg;
}

namespace {

std::int64_t wrappingDifference(std::int64_t a, std::int64_t b)
{
    return std::int64_t(std::uint64_t(a) - std::uint64_t(b));
}

std::int64_t wrappingSum(std::int64_t a, std::int64_t b)
{
    return std::int64_t(std::uint64_t(a) + std::uint64_t(b));
}

void writeReport(const WorkerReport& r, Bytes& out)
{
    out.reserve(out.size() + 64 + r.values.size() * 6 + r.intValues.size() * 8 +
                r.groupEndNs.size() * 18);
    ValueWriter w(out);
    switch (r.kind) {
    case WorkerReport::Kind::Ready:
        w.beginList(4).writeInt(std::int64_t(r.kind)).writeInt(r.pid).writeInt(r.ppid);
        w.writeInt(r.readyNs);
        break;
    case WorkerReport::Kind::InitFailed:
        w.beginList(3).writeInt(std::int64_t(r.kind)).writeInt(r.pid).write(errorValue(r.error));
        break;
    case WorkerReport::Kind::Progress:
    case WorkerReport::Kind::Result:
        // The timing groups' start goes as its distance from the chunk's take, each group's end
        // as its distance from the one before (the first from the start): small ints, where
        // clock readings are 9 bytes each to write and read (a report per task with
        // chunksize 1). Differences wrap: any values go through.
        w.beginList(18).writeInt(std::int64_t(r.kind)).writeInt(r.job).writeInt(r.chunk);
        w.writeInt(r.first).writeInt(r.takenNs).writeInt(r.fromTask);
        w.writeInt(wrappingDifference(r.groupsStartNs, r.takenNs));
        w.beginList(r.groupEndNs.size());
        std::int64_t previous = r.groupsStartNs;
        for (const std::int64_t end : r.groupEndNs) {
            w.writeInt(wrappingDifference(end, previous));
            previous = end;
        }
        w.writeIntList(r.groupTasks);
        if (r.intResults)
            w.writeIntList(r.intValues);
        else
            w.writeList(r.values);
        w.writeFloatList(r.delays).writeInt(r.currentStartNs);
        w.writeInt(r.finished).writeBool(r.ok);
        if (r.ok)
            w.writeNone();
        else
            w.write(errorValue(r.error));
        w.writeInt(r.groupFrom).writeInt(r.groupEnd).writeInt(r.groupSize);
        break;
    }
}

} // namespace

Bytes encodeReport(const WorkerReport& r)
{
    Bytes out;
    writeReport(r, out);
    return out;
}

void encodeReportFrame(const WorkerReport& r, Bytes& frame)
{
    frame.assign(4, 0);
    writeReport(r, frame);
    sealFrame(frame);
}

std::int64_t WorkerReport::timedTasks() const
{
    std::int64_t tasks = 0;
    for (const std::int64_t t : groupTasks)
        tasks += t;
    return tasks;
}

void WorkerReport::expandEnds()
{
    ends.clear();
    TaskClock::splitGroups(groupsStartNs, groupEndNs, groupTasks, ends);
}

WorkerReport decodeReport(std::span<const std::uint8_t> payload)
{
    WorkerReport r;
    decodeReport(payload, r);
    return r;
}

void decodeReport(std::span<const std::uint8_t> payload, WorkerReport& r)
{
    // Field by field into r's own containers: a report of a large chunk carries thousands of
    // results and end times, and r's buffers are reused from report to report.
    WireReader in(payload);
    const std::size_t fields = in.arrayHeader();
    std::size_t known = 0; // the fields this kind of report has
    const auto need = [&](std::size_t n) {
        if (fields < n)
            throw WireError("malformed report: " + std::to_string(fields) + " fields");
        known = n;
    };
    need(1);
    const auto kind = in.integer();
    if (kind < 0 || kind > 3)
        throw WireError("unknown report kind " + std::to_string(kind));
    r.kind = WorkerReport::Kind(kind);
    r.groupsStartNs = 0;
    r.groupEndNs.clear();
    r.groupTasks.clear();
    r.ends.clear();
    r.values.clear();
    r.intValues.clear();
    r.intResults = false;
    r.delays.clear();
    r.ok = true;
    r.error = RemoteError{};
    switch (r.kind) {
    case WorkerReport::Kind::Ready:
        need(4);
        r.pid = std::int32_t(in.integer());
        r.ppid = std::int32_t(in.integer());
        r.readyNs = in.integer();
        break;
    case WorkerReport::Kind::InitFailed: {
        need(3);
        r.pid = std::int32_t(in.integer());
        const Value error = in.value();
        if (!error.isList())
            throw WireError("malformed report: the error is not a list");
        r.error = errorFrom(error.asList());
        r.ok = false;
        break;
    }
    case WorkerReport::Kind::Progress:
    case WorkerReport::Kind::Result: {
        need(18);
        r.job = std::int32_t(in.integer());
        r.chunk = std::int32_t(in.integer());
        r.first = in.integer();
        r.takenNs = in.integer();
        r.fromTask = in.integer();
        r.groupsStartNs = wrappingSum(r.takenNs, in.integer());
        in.intList(r.groupEndNs); // distances, each from the one before (see writeReport)
        std::int64_t end = r.groupsStartNs;
        for (std::int64_t& g : r.groupEndNs)
            g = end = wrappingSum(end, g);
        in.intList(r.groupTasks);
        r.intResults = in.packedOrList(r.intValues, r.values);
        in.floatList(r.delays);
        r.currentStartNs = in.integer();
        r.finished = in.integer();
        r.ok = in.boolean();
        if (!in.nil()) {
            const Value error = in.value();
            if (r.ok || !error.isList())
                throw WireError("malformed report: a bad error field");
            r.error = errorFrom(error.asList());
        }
        r.groupFrom = std::int32_t(in.integer());
        r.groupEnd = std::int32_t(in.integer());
        r.groupSize = std::int32_t(in.integer());
        if (r.groupEndNs.size() != r.groupTasks.size())
            throw WireError("malformed report: timing groups without their tasks");
        std::int64_t previous = r.groupsStartNs;
        std::int64_t tasks = 0;
        for (std::size_t g = 0; g < r.groupTasks.size(); ++g) {
            if (r.groupTasks[g] < 1 || r.groupTasks[g] > (std::int64_t(1) << 31) - tasks ||
                r.groupEndNs[g] < previous)
                throw WireError("malformed report: a bad timing group");
            previous = r.groupEndNs[g];
            tasks += r.groupTasks[g];
        }
        if (r.groupSize < 0 || r.groupFrom < 0 || r.groupFrom > r.groupEnd || r.groupEnd > tasks ||
            (r.groupSize == 0 && r.groupEnd > r.groupFrom))
            throw WireError("malformed report: a bad timing group");
        break;
    }
    }
    for (std::size_t i = known; i < fields; ++i)
        in.value(); // fields a later version may add
    in.expectEnd();
}

} // namespace poolscope
