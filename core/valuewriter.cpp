#include "valuewriter.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <msgpack.hpp>

namespace poolscope {

namespace {
// msgpack-cxx's packer writes to any stream with write(const char*, size_t).
struct ByteSink
{
    Bytes* out;
    void write(const char* data, std::size_t size)
    {
        const auto* p = reinterpret_cast<const std::uint8_t*>(data);
        out->insert(out->end(), p, p + size);
    }
};
} // namespace

struct ValueWriter::Impl
{
    ByteSink sink;
    msgpack::packer<ByteSink> packer{sink};
    explicit Impl(Bytes& out) : sink{&out} {}

    // msgpack-cxx 4 packs a double with an integral value (2.0) as an integer, which would turn
    // Python's float 2.0 into int 2. A float stays a float64 here.
    void packFloat64(double d)
    {
        std::uint64_t bits;
        std::memcpy(&bits, &d, sizeof bits);
        std::uint8_t buf[9] = {0xcb};
        for (int i = 0; i < 8; ++i)
            buf[1 + i] = std::uint8_t(bits >> (56 - 8 * i));
        sink.write(reinterpret_cast<const char*>(buf), sizeof buf);
    }
};

ValueWriter::ValueWriter(Bytes& out) : m_impl(std::make_unique<Impl>(out))
{}

ValueWriter::~ValueWriter() = default;

ValueWriter& ValueWriter::beginList(std::size_t size)
{
    m_impl->packer.pack_array(static_cast<std::uint32_t>(size));
    return *this;
}

ValueWriter& ValueWriter::write(const Value& v)
{
    auto& pk = m_impl->packer;
    switch (v.kind()) {
    case Value::Kind::None:
        pk.pack_nil();
        break;
    case Value::Kind::Bool:
        v.asBool() ? pk.pack_true() : pk.pack_false();
        break;
    case Value::Kind::Int:
        pk.pack_int64(v.asInt());
        break;
    case Value::Kind::Float:
        m_impl->packFloat64(v.asFloat());
        break;
    case Value::Kind::Str:
        writeStr(v.asStr());
        break;
    case Value::Kind::List:
        writeList(v.asList());
        break;
    case Value::Kind::Tuple:
        pk.pack_map(1);
        writeStr("t");
        writeList(v.asTuple());
        break;
    }
    return *this;
}

ValueWriter& ValueWriter::writeList(std::span<const Value> items)
{
    if (items.size() >= kPackedIntsMin &&
        std::all_of(items.begin(), items.end(), [](const Value& v) { return v.isInt(); })) {
        // A list of ints (the common case: map over numbers) goes as one packed block, which
        // the other side turns back into a list with one pass and no per-item parsing.
        packInts(items.size(), [&](std::size_t i) { return items[i].asInt(); });
        return *this;
    }
    beginList(items.size());
    for (const auto& item : items)
        write(item);
    return *this;
}

template <typename Get> void ValueWriter::packInts(std::size_t n, const Get& get)
{
    static_assert(std::endian::native == std::endian::little, "packed ints are little-endian");
    const std::size_t bytes = n * sizeof(std::int64_t);
    if (bytes > 0xffffffffu)
        throw WireError("list too large");
    m_impl->packer.pack_ext(std::uint32_t(bytes), kPackedIntsExt);
    Bytes& out = *m_impl->sink.out;
    const std::size_t at = out.size();
    out.resize(at + bytes);
    for (std::size_t i = 0; i < n; ++i) {
        const std::int64_t v = get(i);
        std::memcpy(out.data() + at + i * sizeof v, &v, sizeof v);
    }
}

ValueWriter& ValueWriter::writeInt(std::int64_t v)
{
    m_impl->packer.pack_int64(v);
    return *this;
}

ValueWriter& ValueWriter::writeIntList(std::span<const std::int64_t> items)
{
    if (items.size() >= kPackedIntsMin) {
        packInts(items.size(), [&](std::size_t i) { return items[i]; });
        return *this;
    }
    beginList(items.size());
    for (auto v : items)
        m_impl->packer.pack_int64(v);
    return *this;
}

ValueWriter& ValueWriter::writeFloatList(std::span<const double> items)
{
    beginList(items.size());
    for (auto v : items)
        m_impl->packFloat64(v);
    return *this;
}

ValueWriter& ValueWriter::writeBool(bool v)
{
    v ? m_impl->packer.pack_true() : m_impl->packer.pack_false();
    return *this;
}

ValueWriter& ValueWriter::writeNone()
{
    m_impl->packer.pack_nil();
    return *this;
}

ValueWriter& ValueWriter::writeStr(std::string_view s)
{
    m_impl->packer.pack_str(static_cast<std::uint32_t>(s.size()));
    m_impl->packer.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
    return *this;
}

} // namespace poolscope
