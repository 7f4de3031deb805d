#pragma once

#include "value.h"
#include "wirebuffers.h"

#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

namespace poolscope {

// The wire format: a frame is a little-endian u32 length followed by that many bytes of
// MessagePack (hand-written: ValueWriter and decodeValue). Values map to MessagePack's nil, bool,
// int, float64, str and array; a tuple is a one-key map {"t": [...]}; a list of at least
// kPackedIntsMin ints is an ext of type kPackedIntsExt holding little-endian int64s (decoded back
// to the same list).
struct WireError : std::runtime_error
{
    using std::runtime_error::runtime_error;
};

constexpr std::uint32_t kMaxFrameBytes = 256u << 20;
constexpr std::int8_t kPackedIntsExt = 1;
constexpr std::size_t kPackedIntsMin = 8;

Bytes encodeValue(const Value& value);
Value decodeValue(std::span<const std::uint8_t> bytes); // throws WireError

// The payload length a frame's 4-byte header holds.
inline std::uint32_t frameLength(const std::uint8_t* header)
{
    return header[0] | (header[1] << 8) | (header[2] << 16) | (std::uint32_t(header[3]) << 24);
}
// Appends one frame (length + payload) to `out`.
void appendFrame(Bytes& out, std::span<const std::uint8_t> payload);
// For a frame built in place: `frame` is 4 reserved bytes, then the payload; writes the
// length into the first 4. Throws WireError when the payload is over kMaxFrameBytes.
void sealFrame(Bytes& frame);

// Blocking I/O on a descriptor, retrying on EINTR and short transfers. writeAll returns false
// when the peer is gone (EPIPE); readExact returns false on EOF before any byte was read and
// throws WireError on EOF in the middle.
bool writeAll(int fd, const void* data, std::size_t size);
bool readExact(int fd, void* data, std::size_t size);
bool writeFrame(int fd, std::span<const std::uint8_t> payload);
// Reads one whole frame; false on a clean EOF.
bool readFrame(int fd, Bytes& payload);

} // namespace poolscope
