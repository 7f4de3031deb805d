#pragma once

#include "value.h"
#include "wire.h"

#include <cstdint>
#include <span>
#include <string_view>

namespace poolscope {

// Streams MessagePack straight into a byte buffer without building a Value first: what the hot
// paths use to encode chunks and reports. Hand-written (no MessagePack library): each call
// works out the exact size of what it writes, grows the buffer once, and then writes through
// a plain pointer, big-endian headers included. Ints take the smallest MessagePack int form,
// floats are always float64, a tuple is the map {"t": list} and a list of >= kPackedIntsMin
// ints is one packed-ints extension. write(Value) produces exactly what encodeValue() does.
class ValueWriter
{
public:
    explicit ValueWriter(Bytes& out) : m_out(out) {}
    ValueWriter(const ValueWriter&) = delete;
    ValueWriter& operator=(const ValueWriter&) = delete;

    ValueWriter& beginList(std::size_t size); // then write `size` values
    ValueWriter& write(const Value& value);
    ValueWriter& writeList(std::span<const Value> items);
    // As writeList, and in the same pass: whether the items are the ints `from`, from + step,
    // ... (steps wrapping). A caller tracking an arithmetic run of inputs then reads them once.
    bool writeListOnRun(std::span<const Value> items, std::int64_t from, std::int64_t step);
    ValueWriter& writeInt(std::int64_t v);
    ValueWriter& writeIntList(std::span<const std::int64_t> items);
    ValueWriter& writeFloatList(std::span<const double> items);
    ValueWriter& writeBool(bool v);
    ValueWriter& writeNone();
    ValueWriter& writeStr(std::string_view s);

private:
    // Appends n bytes to the buffer and returns where they start (valid until the next call).
    std::uint8_t* grow(std::size_t n);
    // The hot case, a long list of ints, as one packed-ints extension, checked and copied in
    // one pass (listSize and putList would each check it), each int also given to each(v).
    // False, with nothing written, for a short list or one that is not all ints.
    template <class Each> bool writePackedInts(std::span<const Value> items, Each&& each);

    Bytes& m_out;
};

} // namespace poolscope
