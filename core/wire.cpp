#include "wire.h"

#include "valuewriter.h"

#include <bit>
#include <cerrno>
#include <cstring>
#include <string>
#include <unistd.h>

namespace poolscope {

namespace {

// Limits that keep a hostile or corrupt frame from asking for absurd allocations.
constexpr int kMaxDepth = 64;
constexpr std::size_t kMaxArrayItems = 16u << 20;
constexpr std::size_t kMaxStrBytes = 16u << 20;
constexpr std::size_t kMaxExtBytes = 256u << 20;

[[noreturn, gnu::cold]] void fail(const std::string& what)
{
    throw WireError(what);
}

// Recursive descent from MessagePack straight to Value, with no intermediate object tree.
// Every read is bounds-checked, and every declared size is checked against the limits and
// the bytes left before anything is allocated, so no input can crash it or make it reserve
// more than a small multiple of its own size.
class Reader
{
public:
    explicit Reader(std::span<const std::uint8_t> bytes)
        : m_begin(bytes.data()), m_p(bytes.data()), m_end(bytes.data() + bytes.size())
    {}

    bool atEnd() const { return m_p == m_end; }

    // `depth` counts the containers around this value (0 at the top).
    Value value(int depth)
    {
        const std::uint8_t b = u8();
        if (b <= 0x7f) // positive fixint
            return Value(std::int64_t(b));
        if ((b & 0xfe) == 0xc2) // bool, without a jump through the switch below
            return Value(b == 0xc3);
        if (b >= 0xe0) // negative fixint
            return Value(std::int64_t(std::int8_t(b)));
        switch (b >> 4) {
        case 0x8:
            return map(b & 0x0f, depth);
        case 0x9:
            return array(b & 0x0f, depth);
        case 0xa:
        case 0xb:
            return str(b & 0x1f);
        default:
            break;
        }
        switch (b) {
        case 0xc0:
            return Value();
        case 0xcc:
            return Value(std::int64_t(u8()));
        case 0xcd:
            return Value(std::int64_t(be<std::uint16_t>()));
        case 0xce:
            return Value(std::int64_t(be<std::uint32_t>()));
        case 0xcf: {
            const std::uint64_t u = be<std::uint64_t>();
            if (u > std::uint64_t(INT64_MAX))
                fail("malformed value: integer out of range");
            return Value(std::int64_t(u));
        }
        case 0xd0:
            return Value(std::int64_t(std::int8_t(u8())));
        case 0xd1:
            return Value(std::int64_t(std::int16_t(be<std::uint16_t>())));
        case 0xd2:
            return Value(std::int64_t(std::int32_t(be<std::uint32_t>())));
        case 0xd3:
            return Value(std::int64_t(be<std::uint64_t>()));
        case 0xca:
            return Value(double(std::bit_cast<float>(be<std::uint32_t>())));
        case 0xcb:
            return Value(std::bit_cast<double>(be<std::uint64_t>()));
        case 0xd9:
            return str(u8());
        case 0xda:
            return str(be<std::uint16_t>());
        case 0xdb:
            return str(be<std::uint32_t>());
        case 0xdc:
            return array(be<std::uint16_t>(), depth);
        case 0xdd:
            return array(be<std::uint32_t>(), depth);
        case 0xde:
            return map(be<std::uint16_t>(), depth);
        case 0xdf:
            return map(be<std::uint32_t>(), depth);
        case 0xd4: // fixext 1, 2, 4, 8, 16
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
            return ext(std::size_t(1) << (b - 0xd4));
        case 0xc7:
            return ext(u8());
        case 0xc8:
            return ext(be<std::uint16_t>());
        case 0xc9:
            return ext(be<std::uint32_t>());
        default: // bin 8/16/32 and the never-used 0xc1
            fail("malformed value: unsupported MessagePack type 0x" + hex(b));
        }
    }

private:
    std::size_t left() const { return std::size_t(m_end - m_p); }

    void need(std::size_t n)
    {
        if (left() < n)
            truncated(n);
    }

    [[noreturn, gnu::cold]] void truncated(std::size_t n) const
    {
        fail("malformed MessagePack frame: truncated (" + std::to_string(n) +
             " bytes needed at offset " + std::to_string(m_p - m_begin) + ", " +
             std::to_string(left()) + " left)");
    }

    [[noreturn, gnu::cold]] static void tooDeep() { fail("malformed value: nested too deeply"); }

    static std::string hex(std::uint8_t b)
    {
        const char* digits = "0123456789abcdef";
        return {digits[b >> 4], digits[b & 0xf]};
    }

    std::uint8_t u8()
    {
        need(1);
        return *m_p++;
    }

    template <typename T> T be()
    {
        need(sizeof(T));
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < sizeof(T); ++i)
            v = (v << 8) | m_p[i];
        m_p += sizeof(T);
        return T(v);
    }

    Value str(std::size_t n)
    {
        if (n > kMaxStrBytes)
            fail("malformed MessagePack frame: a string of " + std::to_string(n) +
                 " bytes (the limit is 16 MB)");
        need(n);
        const char* s = reinterpret_cast<const char*>(m_p);
        m_p += n;
        return Value(std::string(s, n));
    }

    Value array(std::size_t n, int depth)
    {
        if (n > kMaxArrayItems)
            fail("malformed MessagePack frame: an array of " + std::to_string(n) +
                 " elements (the limit is 16M)");
        if (n > left()) // each element takes at least one byte
            fail("malformed MessagePack frame: an array of " + std::to_string(n) + " elements in " +
                 std::to_string(left()) + " bytes");
        if (n > 0 && depth >= kMaxDepth)
            tooDeep();
        Value::List l;
        l.reserve(n);
        // The common small scalars are built in place, without a temporary Value, and read
        // through a local cursor (the byte stores into the list could alias a member one).
        const std::uint8_t* p = m_p;
        const std::uint8_t* const end = m_end;
        for (std::size_t i = 0; i < n; ++i) {
            if (p == end) {
                m_p = p;
                truncated(1);
            }
            const std::uint8_t b = *p;
            if (b <= 0x7f) {
                ++p;
                l.emplace_back(std::int64_t(b));
            } else if ((b & 0xfe) == 0xc2) {
                ++p;
                l.emplace_back(b == 0xc3);
            } else {
                m_p = p;
                l.push_back(value(depth + 1));
                p = m_p;
            }
        }
        m_p = p;
        return Value(std::move(l));
    }

    // A tuple is the one-key map {"t": [...]}, its list plain or packed; no other map exists.
    Value map(std::size_t n, int depth)
    {
        if (n != 1 || !tupleKey())
            fail("malformed value: unexpected map");
        need(1);
        const std::uint8_t b = *m_p;
        const bool isArray = (b >> 4) == 0x9 || b == 0xdc || b == 0xdd;
        const bool isExt = (b >= 0xd4 && b <= 0xd8) || (b >= 0xc7 && b <= 0xc9);
        if (!isArray && !isExt)
            fail("malformed value: unexpected map");
        if (depth >= kMaxDepth)
            tooDeep();
        Value inner = value(depth + 1);
        return Value::tuple(std::move(inner.asList()));
    }

    // Reads a map key and tells whether it is the string "t" (in any str form).
    bool tupleKey()
    {
        const std::uint8_t b = u8();
        std::size_t n;
        if ((b >> 5) == 0x5) // fixstr
            n = b & 0x1f;
        else if (b == 0xd9)
            n = u8();
        else if (b == 0xda)
            n = be<std::uint16_t>();
        else if (b == 0xdb)
            n = be<std::uint32_t>();
        else
            return false;
        if (n != 1)
            return false;
        return u8() == 't';
    }

    // The only extension is a packed list of little-endian int64s.
    Value ext(std::size_t size)
    {
        const auto type = static_cast<std::int8_t>(u8());
        if (size > kMaxExtBytes)
            fail("malformed MessagePack frame: an extension of " + std::to_string(size) +
                 " bytes (the limit is 256 MB)");
        need(size);
        if (type != kPackedIntsExt || size % sizeof(std::int64_t) != 0)
            fail("malformed value: unknown MessagePack extension (type " + std::to_string(type) +
                 ", " + std::to_string(size) + " bytes)");
        static_assert(std::endian::native == std::endian::little, "packed ints are little-endian");
        const std::size_t n = size / sizeof(std::int64_t);
        Value::List l;
        l.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            std::int64_t v;
            std::memcpy(&v, m_p + i * sizeof v, sizeof v);
            l.emplace_back(v);
        }
        m_p += size;
        return Value(std::move(l));
    }

    const std::uint8_t* m_begin;
    const std::uint8_t* m_p;
    const std::uint8_t* m_end;
};

} // namespace

Bytes encodeValue(const Value& value)
{
    Bytes out;
    ValueWriter(out).write(value);
    return out;
}

Value decodeValue(std::span<const std::uint8_t> bytes)
{
    Reader reader(bytes);
    Value v = reader.value(0);
    if (!reader.atEnd())
        throw WireError("malformed MessagePack frame: trailing bytes");
    return v;
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
