#pragma once

#include "value.h"
#include "wire.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace poolscope {

// Streams MessagePack into a byte buffer without building a Value first (msgpack-cxx's
// packer underneath): what the hot paths use to encode chunks and reports. write(Value)
// produces exactly what encodeValue() does.
class ValueWriter
{
public:
    explicit ValueWriter(Bytes& out);
    ~ValueWriter();
    ValueWriter(const ValueWriter&) = delete;
    ValueWriter& operator=(const ValueWriter&) = delete;

    ValueWriter& beginList(std::size_t size); // then write `size` values
    ValueWriter& write(const Value& value);
    ValueWriter& writeList(std::span<const Value> items);
    ValueWriter& writeInt(std::int64_t v);
    ValueWriter& writeIntList(std::span<const std::int64_t> items);
    ValueWriter& writeFloatList(std::span<const double> items);
    ValueWriter& writeBool(bool v);
    ValueWriter& writeNone();
    ValueWriter& writeStr(std::string_view s);

private:
    template <typename Get> void packInts(std::size_t n, const Get& get);

    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace poolscope
