#include "valuewriter.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace poolscope {

namespace {

// Each form has a size function (for the one growth of the buffer) and a put function that
// writes it at p and returns the end. Writing through a plain pointer, rather than
// push_back/insert per item, keeps the vector's own bookkeeping out of the inner loops.

// Stores the low N bytes of v big-endian (MessagePack's byte order).
template <std::size_t N> std::uint8_t* putBE(std::uint8_t* p, std::uint64_t v)
{
    for (std::size_t i = 0; i < N; ++i)
        p[i] = std::uint8_t(v >> (8 * (N - 1 - i)));
    return p + N;
}

std::uint8_t* putByte(std::uint8_t* p, std::uint8_t tag)
{
    *p = tag;
    return p + 1;
}

// The smallest form holding d, chosen exactly as msgpack-cxx's pack_int64 did (fixints, then
// uint8..uint64 for non-negative values and int8..int64 for negative ones), so that the bytes
// on the wire did not change when the library went.
std::size_t intSize(std::int64_t d)
{
    if (d < -32)
        return d < -32768 ? (d < std::int64_t(INT32_MIN) ? 9 : 5) : (d < -128 ? 3 : 2);
    if (d < 128)
        return 1;
    return d < 65536 ? (d < 256 ? 2 : 3) : (d < (std::int64_t(1) << 32) ? 5 : 9);
}

std::uint8_t* putInt(std::uint8_t* p, std::int64_t d)
{
    const auto u = static_cast<std::uint64_t>(d);
    switch (intSize(d)) {
    case 1: // positive fixint, or negative fixint down to -32
        return putByte(p, std::uint8_t(u));
    case 2:
        return putBE<1>(putByte(p, d < 0 ? 0xd0 : 0xcc), u);
    case 3:
        return putBE<2>(putByte(p, d < 0 ? 0xd1 : 0xcd), u);
    case 5:
        return putBE<4>(putByte(p, d < 0 ? 0xd2 : 0xce), u);
    default:
        return putBE<8>(putByte(p, d < 0 ? 0xd3 : 0xcf), u);
    }
}

// Always float64: a float with an integral value (2.0) must not become an int on the way.
std::uint8_t* putFloat(std::uint8_t* p, double d)
{
    return putBE<8>(putByte(p, 0xcb), std::bit_cast<std::uint64_t>(d));
}

void checkSize(std::size_t n, const char* what)
{
    if (n > 0xffffffffu) // MessagePack sizes are 32-bit
        throw WireError(std::string(what) + " too large for MessagePack");
}

// fixarray, array16 or array32.
std::size_t arrayHeaderSize(std::size_t n)
{
    checkSize(n, "list");
    return n < 16 ? 1 : n < 65536 ? 3 : 5;
}

std::uint8_t* putArrayHeader(std::uint8_t* p, std::size_t n)
{
    if (n < 16)
        return putByte(p, std::uint8_t(0x90 | n));
    if (n < 65536)
        return putBE<2>(putByte(p, 0xdc), n);
    return putBE<4>(putByte(p, 0xdd), n);
}

// fixstr, str8, str16 or str32.
std::size_t strSize(std::size_t n)
{
    checkSize(n, "string");
    return (n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5) + n;
}

std::uint8_t* putStr(std::uint8_t* p, std::string_view s)
{
    const std::size_t n = s.size();
    if (n < 32)
        p = putByte(p, std::uint8_t(0xa0 | n));
    else if (n < 256)
        p = putBE<1>(putByte(p, 0xd9), n);
    else if (n < 65536)
        p = putBE<2>(putByte(p, 0xda), n);
    else
        p = putBE<4>(putByte(p, 0xdb), n);
    if (n > 0)
        std::memcpy(p, s.data(), n);
    return p + n;
}

// A list of ints travels as one packed-ints extension: little-endian int64s behind the header
// msgpack-cxx's pack_ext wrote (fixext 8/16 for those exact sizes, else ext8/16/32).
bool packable(std::span<const Value> items)
{
    return items.size() >= kPackedIntsMin &&
           std::all_of(items.begin(), items.end(), [](const Value& v) { return v.isInt(); });
}

std::size_t packedSize(std::size_t n)
{
    const std::size_t bytes = n * sizeof(std::int64_t);
    checkSize(bytes, "list");
    return (bytes == 8 || bytes == 16 ? 2 : bytes < 256 ? 3 : bytes < 65536 ? 4 : 6) + bytes;
}

std::uint8_t* putPackedHeader(std::uint8_t* p, std::size_t n)
{
    const std::size_t bytes = n * sizeof(std::int64_t);
    const auto type = static_cast<std::uint8_t>(kPackedIntsExt);
    if (bytes == 8 || bytes == 16)
        return putByte(putByte(p, bytes == 8 ? 0xd7 : 0xd8), type);
    if (bytes < 256)
        return putByte(putBE<1>(putByte(p, 0xc7), bytes), type);
    if (bytes < 65536)
        return putByte(putBE<2>(putByte(p, 0xc8), bytes), type);
    return putByte(putBE<4>(putByte(p, 0xc9), bytes), type);
}

template <typename Get> std::uint8_t* putPacked(std::uint8_t* p, std::size_t n, const Get& get)
{
    static_assert(std::endian::native == std::endian::little, "packed ints are little-endian");
    p = putPackedHeader(p, n);
    for (std::size_t i = 0; i < n; ++i) {
        const std::int64_t v = get(i);
        std::memcpy(p + i * sizeof v, &v, sizeof v);
    }
    return p + n * sizeof(std::int64_t);
}

constexpr std::uint8_t kTupleMap[] = {0x81, 0xa1, 't'}; // a tuple is {"t": [...]}

// The per-item functions are inlined into the list loops (the items of a list are mostly
// scalars); the recursion goes through the list functions, which are not.
[[gnu::noinline]] std::size_t listSize(std::span<const Value> items);

[[gnu::always_inline]] inline std::size_t valueSize(const Value& v)
{
    // Tests rather than a switch: a compare per kind is cheaper than a jump through a table
    // for the scalars that make up most lists.
    const Value::Kind k = v.kind();
    if (k == Value::Kind::None || k == Value::Kind::Bool)
        return 1;
    if (k == Value::Kind::Int)
        return intSize(v.asInt());
    if (k == Value::Kind::Float)
        return 9;
    if (k == Value::Kind::Str)
        return strSize(v.asStr().size());
    if (k == Value::Kind::List)
        return listSize(v.asList());
    return sizeof kTupleMap + listSize(v.asTuple());
}

[[gnu::noinline]] std::size_t listSize(std::span<const Value> items)
{
    if (packable(items))
        return packedSize(items.size());
    std::size_t n = arrayHeaderSize(items.size());
    for (const auto& item : items)
        n += valueSize(item);
    return n;
}

[[gnu::noinline]] std::uint8_t* putList(std::uint8_t* p, std::span<const Value> items);

[[gnu::always_inline]] inline std::uint8_t* putValue(std::uint8_t* p, const Value& v)
{
    const Value::Kind k = v.kind(); // tests rather than a switch, as in valueSize
    if (k == Value::Kind::Bool)
        return putByte(p, v.asBool() ? 0xc3 : 0xc2);
    if (k == Value::Kind::Int)
        return putInt(p, v.asInt());
    if (k == Value::Kind::None)
        return putByte(p, 0xc0);
    if (k == Value::Kind::Float)
        return putFloat(p, v.asFloat());
    if (k == Value::Kind::Str)
        return putStr(p, v.asStr());
    if (k == Value::Kind::List)
        return putList(p, v.asList());
    std::memcpy(p, kTupleMap, sizeof kTupleMap);
    return putList(p + sizeof kTupleMap, v.asTuple());
}

[[gnu::noinline]] std::uint8_t* putList(std::uint8_t* p, std::span<const Value> items)
{
    // A list of ints (the common case: map over numbers) goes as one packed block, which the
    // other side turns back into a list with one pass and no per-item parsing.
    if (packable(items))
        return putPacked(p, items.size(), [&](std::size_t i) { return items[i].asInt(); });
    p = putArrayHeader(p, items.size());
    for (const auto& item : items)
        p = putValue(p, item);
    return p;
}

} // namespace

std::uint8_t* ValueWriter::grow(std::size_t n)
{
    const std::size_t at = m_out.size();
    m_out.resize(at + n);
    return m_out.data() + at;
}

ValueWriter& ValueWriter::beginList(std::size_t size)
{
    putArrayHeader(grow(arrayHeaderSize(size)), size);
    return *this;
}

ValueWriter& ValueWriter::write(const Value& v)
{
    if (v.isList())
        return writeList(v.asList());
    if (v.isTuple()) {
        m_out.insert(m_out.end(), std::begin(kTupleMap), std::end(kTupleMap));
        return writeList(v.asTuple());
    }
    putValue(grow(valueSize(v)), v);
    return *this;
}

template <class Each> bool ValueWriter::writePackedInts(std::span<const Value> items, Each&& each)
{
    if (items.size() < kPackedIntsMin || !items.front().isInt())
        return false;
    const std::size_t at = m_out.size();
    std::uint8_t* p = putPackedHeader(grow(packedSize(items.size())), items.size());
    std::size_t i = 0;
    for (; i < items.size() && items[i].isInt(); ++i) {
        const std::int64_t v = items[i].asInt();
        std::memcpy(p + i * sizeof v, &v, sizeof v);
        each(v);
    }
    if (i == items.size())
        return true;
    m_out.resize(at);
    return false;
}

ValueWriter& ValueWriter::writeList(std::span<const Value> items)
{
    if (!writePackedInts(items, [](std::int64_t) {}))
        putList(grow(listSize(items)), items);
    return *this;
}

bool ValueWriter::writeListOnRun(std::span<const Value> items, std::int64_t from, std::int64_t step)
{
    std::uint64_t expected = std::uint64_t(from);
    std::uint64_t off = 0;
    if (writePackedInts(items, [&](std::int64_t v) {
            off |= std::uint64_t(v) ^ expected;
            expected += std::uint64_t(step);
        }))
        return off == 0;
    // Short, or not all ints: a plain array, and the run checked on its own.
    expected = std::uint64_t(from);
    off = 0;
    for (const Value& v : items) {
        off |= (std::uint64_t(v.scalarBits()) ^ expected) | std::uint64_t(!v.isInt());
        expected += std::uint64_t(step);
    }
    putList(grow(listSize(items)), items);
    return off == 0;
}

ValueWriter& ValueWriter::writeInt(std::int64_t v)
{
    if (v >= -32 && v < 128) // fixint: one byte, the most common case
        m_out.push_back(static_cast<std::uint8_t>(v));
    else
        putInt(grow(intSize(v)), v);
    return *this;
}

ValueWriter& ValueWriter::writeIntList(std::span<const std::int64_t> items)
{
    if (items.size() >= kPackedIntsMin) {
        putPacked(grow(packedSize(items.size())), items.size(),
                  [&](std::size_t i) { return items[i]; });
        return *this;
    }
    std::size_t n = arrayHeaderSize(items.size());
    for (const auto v : items)
        n += intSize(v);
    std::uint8_t* p = putArrayHeader(grow(n), items.size());
    for (const auto v : items)
        p = putInt(p, v);
    return *this;
}

ValueWriter& ValueWriter::writeFloatList(std::span<const double> items)
{
    std::uint8_t* p = grow(arrayHeaderSize(items.size()) + 9 * items.size());
    p = putArrayHeader(p, items.size());
    for (const auto d : items)
        p = putFloat(p, d);
    return *this;
}

ValueWriter& ValueWriter::writeBool(bool v)
{
    m_out.push_back(v ? 0xc3 : 0xc2);
    return *this;
}

ValueWriter& ValueWriter::writeNone()
{
    m_out.push_back(0xc0);
    return *this;
}

ValueWriter& ValueWriter::writeStr(std::string_view s)
{
    putStr(grow(strSize(s.size())), s);
    return *this;
}

} // namespace poolscope
