#include "wirereader.h"

#include "wire.h"

#include <bit>
#include <cstring>

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

[[noreturn, gnu::cold]] void tooDeep()
{
    fail("malformed value: nested too deeply");
}

std::string hex(std::uint8_t b)
{
    const char* digits = "0123456789abcdef";
    return {digits[b >> 4], digits[b & 0xf]};
}

} // namespace

WireReader::WireReader(std::span<const std::uint8_t> bytes)
    : m_begin(bytes.data()), m_p(bytes.data()), m_end(bytes.data() + bytes.size())
{}

void WireReader::expectEnd() const
{
    if (!atEnd())
        fail("malformed MessagePack frame: trailing bytes");
}

Value WireReader::value()
{
    return value(0);
}

std::size_t WireReader::arrayHeader()
{
    const std::uint8_t b = u8();
    std::size_t n;
    if ((b >> 4) == 0x9)
        n = b & 0x0f;
    else if (b == 0xdc)
        n = be<std::uint16_t>();
    else if (b == 0xdd)
        n = be<std::uint32_t>();
    else
        fail("malformed message: an array expected, found type 0x" + hex(b));
    if (n > kMaxArrayItems || n > left())
        fail("malformed MessagePack frame: an array of " + std::to_string(n) + " elements in " +
             std::to_string(left()) + " bytes");
    return n;
}

std::int64_t WireReader::integer()
{
    // The int forms read here, without a Value made of each: a report's clock readings are
    // uint64s, and recording made every report of a map with chunksize 1 decode several.
    if (m_p != m_end) {
        std::int64_t v = 0;
        if (intBody(*m_p++, v))
            return v;
        --m_p; // not an int: fails as any value does
    }
    const Value any = value(1);
    if (!any.isInt())
        fail("malformed message: an integer expected");
    return any.asInt();
}

bool WireReader::intBody(std::uint8_t b, std::int64_t& out)
{
    if (b <= 0x7f || b >= 0xe0) { // positive or negative fixint
        out = b <= 0x7f ? std::int64_t(b) : std::int64_t(std::int8_t(b));
        return true;
    }
    switch (b) {
    case 0xcc:
        out = std::int64_t(u8());
        return true;
    case 0xcd:
        out = std::int64_t(be<std::uint16_t>());
        return true;
    case 0xce:
        out = std::int64_t(be<std::uint32_t>());
        return true;
    case 0xcf: {
        const std::uint64_t u = be<std::uint64_t>();
        if (u > std::uint64_t(INT64_MAX))
            fail("malformed value: integer out of range");
        out = std::int64_t(u);
        return true;
    }
    case 0xd0:
        out = std::int64_t(std::int8_t(u8()));
        return true;
    case 0xd1:
        out = std::int64_t(std::int16_t(be<std::uint16_t>()));
        return true;
    case 0xd2:
        out = std::int64_t(std::int32_t(be<std::uint32_t>()));
        return true;
    case 0xd3:
        out = std::int64_t(be<std::uint64_t>());
        return true;
    default:
        return false;
    }
}

bool WireReader::boolean()
{
    const std::uint8_t b = u8();
    if ((b & 0xfe) != 0xc2)
        fail("malformed message: a bool expected, found type 0x" + hex(b));
    return b == 0xc3;
}

bool WireReader::nil()
{
    need(1);
    if (*m_p != 0xc0)
        return false;
    ++m_p;
    return true;
}

bool WireReader::isListStart(std::uint8_t b, std::size_t& n, bool& packedInts)
{
    packedInts = false;
    if ((b >> 4) == 0x9) {
        n = b & 0x0f;
    } else if (b == 0xdc) {
        n = be<std::uint16_t>();
    } else if (b == 0xdd) {
        n = be<std::uint32_t>();
    } else if (b >= 0xd4 && b <= 0xd8) { // fixext 1, 2, 4, 8, 16
        n = std::size_t(1) << (b - 0xd4);
        packedInts = true;
    } else if (b == 0xc7) {
        n = u8();
        packedInts = true;
    } else if (b == 0xc8) {
        n = be<std::uint16_t>();
        packedInts = true;
    } else if (b == 0xc9) {
        n = be<std::uint32_t>();
        packedInts = true;
    } else {
        return false;
    }
    return true;
}

std::size_t WireReader::listHeader(bool& packedInts)
{
    const std::uint8_t b = u8();
    std::size_t n;
    if (!isListStart(b, n, packedInts))
        fail("malformed message: a list expected, found type 0x" + hex(b));
    return n;
}

void WireReader::list(Value::List& out)
{
    out.clear();
    bool packedInts;
    const std::size_t n = listHeader(packedInts);
    if (packedInts)
        fillPacked(n, out);
    else
        fillArray(n, 1, out);
}

bool WireReader::packedOrList(IntList& ints, Value::List& values)
{
    ints.clear();
    values.clear();
    const std::uint8_t* at = m_p;
    bool packedInts;
    listHeader(packedInts);
    m_p = at; // read again, whole, by the reader for its form
    if (packedInts)
        intList(ints);
    else
        list(values);
    return packedInts;
}

std::string WireReader::string()
{
    Value v = value();
    if (!v.isStr())
        fail("malformed message: a str expected");
    return v.asStr();
}

void WireReader::intList(std::vector<std::int64_t>& out)
{
    readInts(out);
}

void WireReader::intList(IntList& out)
{
    readInts(out);
}

template <class Ints> void WireReader::readInts(Ints& out)
{
    out.clear();
    bool packedInts;
    const std::size_t n = listHeader(packedInts);
    if (packedInts) {
        const auto bytes = packed(n);
        out.resize(bytes.size() / sizeof(std::int64_t));
        if (!out.empty())
            std::memcpy(out.data(), bytes.data(), bytes.size());
        return;
    }
    if (n > kMaxArrayItems || n > left())
        fail("malformed MessagePack frame: an array of " + std::to_string(n) + " elements in " +
             std::to_string(left()) + " bytes");
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
        out.push_back(integer());
}

void WireReader::floatList(std::vector<double>& out)
{
    out.clear();
    const std::size_t n = arrayHeader();
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        const Value v = value(1);
        if (v.isFloat())
            out.push_back(v.asFloat());
        else if (v.isInt())
            out.push_back(double(v.asInt()));
        else
            fail("malformed message: a number expected");
    }
}

// `depth` counts the containers around this value (0 at the top).
Value WireReader::value(int depth)
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
    case 0xa:
    case 0xb:
        return str(b & 0x1f);
    default:
        break;
    }
    std::size_t n;
    bool packedInts;
    if (isListStart(b, n, packedInts)) {
        Value::List l;
        if (packedInts)
            fillPacked(n, l);
        else
            fillArray(n, depth, l);
        return Value(std::move(l));
    }
    if (std::int64_t v = 0; intBody(b, v))
        return Value(v);
    switch (b) {
    case 0xc0:
        return Value();
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
    case 0xde:
        return map(be<std::uint16_t>(), depth);
    case 0xdf:
        return map(be<std::uint32_t>(), depth);
    default: // bin 8/16/32 and the never-used 0xc1
        fail("malformed value: unsupported MessagePack type 0x" + hex(b));
    }
}

void WireReader::fillArray(std::size_t n, int depth, Value::List& l)
{
    if (n > kMaxArrayItems)
        fail("malformed MessagePack frame: an array of " + std::to_string(n) +
             " elements (the limit is 16M)");
    if (n > left()) // each element takes at least one byte
        fail("malformed MessagePack frame: an array of " + std::to_string(n) + " elements in " +
             std::to_string(left()) + " bytes");
    if (n > 0 && depth >= kMaxDepth)
        tooDeep();
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
}

std::span<const std::uint8_t> WireReader::packed(std::size_t size)
{
    const auto type = static_cast<std::int8_t>(u8());
    if (size > kMaxExtBytes)
        fail("malformed MessagePack frame: an extension of " + std::to_string(size) +
             " bytes (the limit is 256 MB)");
    need(size);
    if (type != kPackedIntsExt || size % sizeof(std::int64_t) != 0)
        fail("malformed value: unknown MessagePack extension (type " + std::to_string(type) + ", " +
             std::to_string(size) + " bytes)");
    static_assert(std::endian::native == std::endian::little, "packed ints are little-endian");
    const std::span<const std::uint8_t> bytes(m_p, size);
    m_p += size;
    return bytes;
}

// The only extension is a packed list of little-endian int64s.
void WireReader::fillPacked(std::size_t size, Value::List& l)
{
    const auto bytes = packed(size);
    const std::size_t n = bytes.size() / sizeof(std::int64_t);
    l.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        std::int64_t v;
        std::memcpy(&v, bytes.data() + i * sizeof v, sizeof v);
        l.emplace_back(v);
    }
}

// A tuple is the one-key map {"t": [...]}, its list plain or packed; no other map exists.
Value WireReader::map(std::size_t n, int depth)
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
bool WireReader::tupleKey()
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

Value WireReader::str(std::size_t n)
{
    if (n > kMaxStrBytes)
        fail("malformed MessagePack frame: a string of " + std::to_string(n) +
             " bytes (the limit is 16 MB)");
    need(n);
    const char* s = reinterpret_cast<const char*>(m_p);
    m_p += n;
    return Value(std::string(s, n));
}

void WireReader::need(std::size_t n)
{
    if (left() < n)
        truncated(n);
}

void WireReader::truncated(std::size_t n) const
{
    fail("malformed MessagePack frame: truncated (" + std::to_string(n) +
         " bytes needed at offset " + std::to_string(m_p - m_begin) + ", " +
         std::to_string(left()) + " left)");
}

std::uint8_t WireReader::u8()
{
    need(1);
    return *m_p++;
}

template <typename T> T WireReader::be()
{
    need(sizeof(T));
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i)
        v = (v << 8) | m_p[i];
    m_p += sizeof(T);
    return T(v);
}

} // namespace poolscope
