#include "wire.h"

#include "valuewriter.h"
#include "wirereader.h"

#include <cerrno>
#include <cstring>
#include <string>
#include <unistd.h>

namespace poolscope {

Bytes encodeValue(const Value& value)
{
    Bytes out;
    ValueWriter(out).write(value);
    return out;
}

Value decodeValue(std::span<const std::uint8_t> bytes)
{
    WireReader reader(bytes);
    Value v = reader.value();
    reader.expectEnd();
    return v;
}

namespace {

// A frame's header: the payload's length, little-endian.
void putLength(std::uint8_t* at, std::size_t length)
{
    if (length > kMaxFrameBytes)
        throw WireError("frame too large");
    const auto n = static_cast<std::uint32_t>(length);
    for (int i = 0; i < 4; ++i)
        at[i] = std::uint8_t(n >> (8 * i));
}

} // namespace

void appendFrame(Bytes& out, std::span<const std::uint8_t> payload)
{
    const std::size_t at = out.size();
    out.resize(at + 4);
    putLength(out.data() + at, payload.size());
    out.insert(out.end(), payload.begin(), payload.end());
}

void sealFrame(Bytes& frame)
{
    if (frame.size() < 4)
        throw WireError("a frame needs its 4 header bytes");
    putLength(frame.data(), frame.size() - 4);
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
    const std::uint32_t n = frameLength(header);
    if (n > kMaxFrameBytes)
        throw WireError("frame too large: " + std::to_string(n) + " bytes");
    payload.resize(n);
    if (n > 0 && !readExact(fd, payload.data(), n))
        throw WireError("truncated frame: the peer closed mid-message");
    return true;
}

} // namespace poolscope
