#include "wire.h"

#include "valuewriter.h"

#include <cerrno>
#include <cstring>
#include <msgpack.hpp>
#include <unistd.h>

namespace poolscope {

namespace {

constexpr int kMaxDepth = 64;

Value fromObject(const msgpack::object& o, int depth)
{
    if (depth > kMaxDepth)
        throw WireError("malformed value: nested too deeply");
    switch (o.type) {
    case msgpack::type::NIL:
        return Value();
    case msgpack::type::BOOLEAN:
        return Value(o.via.boolean);
    case msgpack::type::POSITIVE_INTEGER:
        if (o.via.u64 > std::uint64_t(INT64_MAX))
            throw WireError("malformed value: integer out of range");
        return Value(static_cast<long long>(o.via.u64));
    case msgpack::type::NEGATIVE_INTEGER:
        return Value(static_cast<long long>(o.via.i64));
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
        return Value(o.via.f64);
    case msgpack::type::STR:
        return Value(std::string(o.via.str.ptr, o.via.str.size));
    case msgpack::type::ARRAY: {
        Value::List l;
        l.reserve(o.via.array.size);
        for (std::uint32_t i = 0; i < o.via.array.size; ++i)
            l.push_back(fromObject(o.via.array.ptr[i], depth + 1));
        return Value(std::move(l));
    }
    case msgpack::type::MAP: {
        // A tuple is the one-key map {"t": [...]}.
        const auto& m = o.via.map;
        if (m.size != 1 || m.ptr[0].key.type != msgpack::type::STR ||
            m.ptr[0].key.via.str.size != 1 || m.ptr[0].key.via.str.ptr[0] != 't' ||
            (m.ptr[0].val.type != msgpack::type::ARRAY && m.ptr[0].val.type != msgpack::type::EXT))
            throw WireError("malformed value: unexpected map");
        Value inner = fromObject(m.ptr[0].val, depth + 1); // a list (packed or not)
        return Value::tuple(std::move(inner.asList()));
    }
    case msgpack::type::EXT: {
        const auto& ext = o.via.ext;
        if (ext.type() != kPackedIntsExt || ext.size % sizeof(std::int64_t) != 0)
            throw WireError("malformed value: unknown MessagePack extension");
        const std::size_t n = ext.size / sizeof(std::int64_t);
        Value::List l;
        l.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            std::int64_t v;
            std::memcpy(&v, ext.data() + i * sizeof v, sizeof v);
            l.emplace_back(static_cast<long long>(v));
        }
        return Value(std::move(l));
    }
    default:
        throw WireError("malformed value: unsupported MessagePack type");
    }
}

} // namespace

Bytes encodeValue(const Value& value)
{
    Bytes out;
    ValueWriter(out).write(value);
    return out;
}

Value decodeValue(std::span<const std::uint8_t> bytes)
{
    try {
        std::size_t offset = 0;
        // Limits keep a hostile or corrupt frame from asking for absurd allocations.
        const msgpack::unpack_limit limit(16u << 20, 1024, 16u << 20, 256u << 20, 256u << 20,
                                          kMaxDepth); // array, map, str, bin, ext, depth
        msgpack::object_handle handle =
            msgpack::unpack(reinterpret_cast<const char*>(bytes.data()), bytes.size(), offset,
                            nullptr, nullptr, limit);
        if (offset != bytes.size())
            throw WireError("malformed MessagePack frame: trailing bytes");
        return fromObject(handle.get(), 0);
    } catch (const WireError&) {
        throw;
    } catch (const std::exception& e) {
        throw WireError(std::string("malformed MessagePack frame: ") + e.what());
    }
}

void appendFrame(Bytes& out, std::span<const std::uint8_t> payload)
{
    if (payload.size() > kMaxFrameBytes)
        throw WireError("frame too large");
    const auto n = static_cast<std::uint32_t>(payload.size());
    const std::uint8_t header[4] = {std::uint8_t(n), std::uint8_t(n >> 8), std::uint8_t(n >> 16),
                                    std::uint8_t(n >> 24)};
    out.insert(out.end(), header, header + 4);
    out.insert(out.end(), payload.begin(), payload.end());
}

bool writeAll(int fd, const void* data, std::size_t size)
{
    const auto* p = static_cast<const std::uint8_t*>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd, p, size);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EPIPE)
                return false;
            throw WireError(std::string("write failed: ") + std::strerror(errno));
        }
        p += n;
        size -= std::size_t(n);
    }
    return true;
}

bool readExact(int fd, void* data, std::size_t size)
{
    auto* p = static_cast<std::uint8_t*>(data);
    std::size_t got = 0;
    while (got < size) {
        const ssize_t n = ::read(fd, p + got, size - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw WireError(std::string("read failed: ") + std::strerror(errno));
        }
        if (n == 0) {
            if (got == 0)
                return false;
            throw WireError("truncated frame: the peer closed mid-message");
        }
        got += std::size_t(n);
    }
    return true;
}

bool writeFrame(int fd, std::span<const std::uint8_t> payload)
{
    Bytes frame;
    frame.reserve(payload.size() + 4);
    appendFrame(frame, payload);
    return writeAll(fd, frame.data(), frame.size());
}

bool readFrame(int fd, Bytes& payload)
{
    std::uint8_t header[4];
    if (!readExact(fd, header, 4))
        return false;
    const std::uint32_t n =
        header[0] | (header[1] << 8) | (header[2] << 16) | (std::uint32_t(header[3]) << 24);
    if (n > kMaxFrameBytes)
        throw WireError("frame too large: " + std::to_string(n) + " bytes");
    payload.resize(n);
    if (n > 0 && !readExact(fd, payload.data(), n))
        throw WireError("truncated frame: the peer closed mid-message");
    return true;
}

} // namespace poolscope
