#include "wire.h"

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace poolscope {

namespace {

using json = nlohmann::json;

json toJson(const Value& v)
{
    switch (v.kind()) {
    case Value::Kind::None: return nullptr;
    case Value::Kind::Bool: return v.asBool();
    case Value::Kind::Int: return v.asInt();
    case Value::Kind::Float: return v.asFloat();
    case Value::Kind::Str: return v.asStr();
    case Value::Kind::List: {
        json a = json::array();
        a.get_ref<json::array_t&>().reserve(v.asList().size());
        for (const auto& item : v.asList())
            a.push_back(toJson(item));
        return a;
    }
    case Value::Kind::Tuple: {
        json a = json::array();
        for (const auto& item : v.asTuple())
            a.push_back(toJson(item));
        return json{{"t", std::move(a)}};
    }
    }
    return nullptr;
}

Value fromJson(const json& j)
{
    switch (j.type()) {
    case json::value_t::null: return Value();
    case json::value_t::boolean: return Value(j.get<bool>());
    case json::value_t::number_integer: return Value(j.get<std::int64_t>());
    case json::value_t::number_unsigned: return Value(static_cast<long long>(j.get<std::uint64_t>()));
    case json::value_t::number_float: return Value(j.get<double>());
    case json::value_t::string: return Value(j.get<std::string>());
    case json::value_t::array: {
        Value::List l;
        l.reserve(j.size());
        for (const auto& item : j)
            l.push_back(fromJson(item));
        return Value(std::move(l));
    }
    case json::value_t::object: {
        auto it = j.find("t");
        if (j.size() != 1 || it == j.end() || !it->is_array())
            throw WireError("malformed value: unexpected map");
        Value::List l;
        for (const auto& item : *it)
            l.push_back(fromJson(item));
        return Value::tuple(std::move(l));
    }
    default: throw WireError("malformed value: unsupported MessagePack type");
    }
}

} // namespace

Bytes encodeValue(const Value& value)
{
    return json::to_msgpack(toJson(value));
}

Value decodeValue(std::span<const std::uint8_t> bytes)
{
    json j = json::from_msgpack(bytes.begin(), bytes.end(), true, false);
    if (j.is_discarded())
        throw WireError("malformed MessagePack frame");
    return fromJson(j);
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
    const std::uint32_t n = header[0] | (header[1] << 8) | (header[2] << 16) |
                            (std::uint32_t(header[3]) << 24);
    if (n > kMaxFrameBytes)
        throw WireError("frame too large: " + std::to_string(n) + " bytes");
    payload.resize(n);
    if (n > 0 && !readExact(fd, payload.data(), n))
        throw WireError("truncated frame: the peer closed mid-message");
    return true;
}

} // namespace poolscope
