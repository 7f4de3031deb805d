#include "poolprotocol.h"

#include "fdutil.h"
#include "valuewriter.h"

#include <cerrno>
#include <cstring>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

namespace poolscope {

namespace {

constexpr std::uint8_t kInline = 'C';
constexpr std::uint8_t kMemfd = 'M';
constexpr std::uint8_t kStop = 'S';

[[noreturn]] void sysFail(const char* what)
{
    throw WireError(std::string(what) + ": " + std::strerror(errno));
}

std::int64_t intAt(const Value::List& l, std::size_t i)
{
    if (i >= l.size() || !l[i].isInt())
        throw WireError("malformed report: field " + std::to_string(i) + " is not an integer");
    return l[i].asInt();
}

const Value::List& listAt(const Value::List& l, std::size_t i)
{
    if (i >= l.size() || !l[i].isList())
        throw WireError("malformed report: field " + std::to_string(i) + " is not a list");
    return l[i].asList();
}

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
                         std::size_t end)
{
    EncodedChunk out;
    out.bytes.reserve(32 + (end - begin) * 5);
    out.bytes.push_back(kInline);
    ValueWriter w(out.bytes);
    w.beginList(6).writeInt(msg.job).writeInt(msg.chunk).writeInt(msg.first).writeStr(msg.func);
    w.writeBool(msg.star);
    w.writeList(std::span<const Value>(allItems).subspan(begin, end - begin));
    return out;
}

EncodedChunk encodeStop()
{
    return EncodedChunk{Bytes{kStop}};
}

bool trySendChunk(int socketFd, const EncodedChunk& chunk)
{
    const bool inlined = chunk.bytes.size() <= kInlineChunkBytes;
    UniqueFd memfd;
    if (!inlined) {
        // Too large for one socket message: the body goes into a memfd, the message
        // carries its descriptor. The worker that receives it reads the body from there.
        memfd.reset(::memfd_create("poolscope-chunk", MFD_CLOEXEC));
        if (!memfd)
            sysFail("memfd_create");
        if (!writeAll(memfd.get(), chunk.bytes.data() + 1, chunk.bytes.size() - 1))
            throw WireError("writing a chunk to its memfd failed");
    }
    constexpr int kFlags = MSG_DONTWAIT | MSG_NOSIGNAL;
    const int fd = memfd.get();
    const ssize_t n =
        inlined ? sendWithFds(socketFd, chunk.bytes.data(), chunk.bytes.size(), {}, kFlags)
                : sendWithFds(socketFd, &kMemfd, 1, std::span<const int>(&fd, 1), kFlags);
    if (n >= 0)
        return true;
    if (errno == EAGAIN || errno == EWOULDBLOCK) // the queue is full: the caller tries later
        return false;
    sysFail(inlined ? "sending a chunk" : "sending a large chunk");
}

std::optional<ChunkMessage> receiveChunk(int socketFd, Bytes& buffer)
{
    buffer.resize(kInlineChunkBytes + 16);
    std::vector<UniqueFd> passed;
    int msgFlags = 0;
    const ssize_t n = recvWithFds(socketFd, buffer.data(), buffer.size(), passed, 1, &msgFlags);
    if (n < 0)
        sysFail("receiving a chunk");
    if (n == 0)
        return std::nullopt;
    if (msgFlags & (MSG_TRUNC | MSG_CTRUNC))
        throw WireError("a task message was truncated");
    const int passedFd = passed.empty() ? -1 : passed.back().get();

    std::span<const std::uint8_t> body;
    Bytes big;
    switch (buffer[0]) {
    case kStop: {
        ChunkMessage stop;
        stop.stop = true;
        return stop;
    }
    case kInline:
        body = std::span<const std::uint8_t>(buffer.data() + 1, std::size_t(n) - 1);
        break;
    case kMemfd: {
        if (passedFd < 0)
            throw WireError("a large task message came without its memfd");
        const off_t size = ::lseek(passedFd, 0, SEEK_END);
        if (size < 0)
            sysFail("reading a large chunk");
        big.resize(std::size_t(size));
        std::size_t got = 0;
        while (got < big.size()) {
            const ssize_t r = ::pread(passedFd, big.data() + got, big.size() - got, off_t(got));
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                sysFail("reading a large chunk");
            got += std::size_t(r);
        }
        body = big;
        break;
    }
    default:
        throw WireError("unknown task message kind");
    }
    Value v = decodeValue(body);
    if (!v.isList())
        throw WireError("malformed task message");
    auto& l = v.asList();
    ChunkMessage msg;
    msg.job = std::int32_t(intAt(l, 0));
    msg.chunk = std::int32_t(intAt(l, 1));
    msg.first = intAt(l, 2);
    msg.func = strAt(l, 3);
    if (l.size() < 6 || !l[4].isBool())
        throw WireError("malformed task message");
    msg.star = l[4].asBool();
    if (!l[5].isList())
        throw WireError("malformed task message");
    msg.items = std::move(l[5].asList());
    return msg;
}

Bytes encodeReport(const WorkerReport& r)
{
    Bytes out;
    out.reserve(64 + r.values.size() * 6 + r.ends.size() * 9);
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
        w.beginList(13).writeInt(std::int64_t(r.kind)).writeInt(r.job).writeInt(r.chunk);
        w.writeInt(r.first).writeInt(r.takenNs).writeInt(r.fromTask).writeIntList(r.ends);
        w.writeList(r.values).writeFloatList(r.delays).writeInt(r.currentStartNs);
        w.writeInt(r.finished).writeBool(r.ok);
        if (r.ok)
            w.writeNone();
        else
            w.write(errorValue(r.error));
        break;
    }
    return out;
}

WorkerReport decodeReport(std::span<const std::uint8_t> payload)
{
    Value v = decodeValue(payload);
    if (!v.isList())
        throw WireError("malformed report");
    auto& l = v.asList();
    WorkerReport r;
    const auto kind = intAt(l, 0);
    if (kind < 0 || kind > 3)
        throw WireError("unknown report kind " + std::to_string(kind));
    r.kind = WorkerReport::Kind(kind);
    switch (r.kind) {
    case WorkerReport::Kind::Ready:
        r.pid = std::int32_t(intAt(l, 1));
        r.ppid = std::int32_t(intAt(l, 2));
        r.readyNs = intAt(l, 3);
        break;
    case WorkerReport::Kind::InitFailed:
        r.pid = std::int32_t(intAt(l, 1));
        r.error = errorFrom(listAt(l, 2));
        r.ok = false;
        break;
    case WorkerReport::Kind::Progress:
    case WorkerReport::Kind::Result: {
        r.job = std::int32_t(intAt(l, 1));
        r.chunk = std::int32_t(intAt(l, 2));
        r.first = intAt(l, 3);
        r.takenNs = intAt(l, 4);
        r.fromTask = intAt(l, 5);
        const auto& ends = listAt(l, 6);
        r.ends.reserve(ends.size());
        for (const auto& e : ends)
            r.ends.push_back(e.asInt());
        listAt(l, 7);
        r.values = std::move(l[7].asList());
        for (const auto& d : listAt(l, 8))
            r.delays.push_back(d.isFloat() ? d.asFloat() : double(d.asInt()));
        r.currentStartNs = intAt(l, 9);
        r.finished = intAt(l, 10);
        if (l.size() < 13 || !l[11].isBool())
            throw WireError("malformed report");
        r.ok = l[11].asBool();
        if (!r.ok)
            r.error = errorFrom(listAt(l, 12));
        break;
    }
    }
    return r;
}

} // namespace poolscope
