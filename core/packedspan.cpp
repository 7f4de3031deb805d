#include "packedspan.h"

#include <algorithm>
#include <bit>
#include <limits>

namespace poolscope {

namespace {

constexpr std::int64_t kU16Max = std::numeric_limits<std::uint16_t>::max();

bool fitsInt32(std::int64_t v)
{
    return v == std::int64_t(std::int32_t(v));
}

// a - b and a + b with two's complement wrapping: b + (a - b) is a for every pair of int64s.
std::int64_t wrapSub(std::int64_t a, std::int64_t b)
{
    return std::int64_t(std::uint64_t(a) - std::uint64_t(b));
}

std::int64_t wrapAdd(std::int64_t a, std::int64_t b)
{
    return std::int64_t(std::uint64_t(a) + std::uint64_t(b));
}

std::size_t blocksOf(std::size_t n)
{
    return (n + PackedSpan::kBlock - 1) / PackedSpan::kBlock;
}

// Every end within kU16Max ns after its block's first end (and not before it).
bool narrowEndsFit(std::span<const std::int64_t> ends)
{
    for (std::size_t b = 0; b < ends.size(); b += PackedSpan::kBlock) {
        const std::int64_t first = ends[b];
        const std::size_t last = std::min(ends.size(), b + PackedSpan::kBlock);
        for (std::size_t k = b; k < last; ++k) {
            if (ends[k] < first || ends[k] - first > kU16Max)
                return false;
        }
    }
    return true;
}

// Every value within an int32 of its block's first value.
template <class Bits> bool blockValuesFit(std::size_t n, const Bits& bits)
{
    for (std::size_t b = 0; b < n; b += PackedSpan::kBlock) {
        const std::int64_t first = bits(b);
        const std::size_t last = std::min(n, b + PackedSpan::kBlock);
        for (std::size_t k = b + 1; k < last; ++k) {
            if (!fitsInt32(wrapSub(bits(k), first)))
                return false;
        }
    }
    return true;
}

// n values as words: one each (as an int32) or two (low word first).
template <class Bits>
void putPlain(PackedSpan::Words& words, std::size_t n, bool wide, const Bits& bits)
{
    if (wide) {
        words.emplaceRun(2 * n, [&](std::size_t k) {
            const auto v = std::uint64_t(bits(k / 2));
            return std::uint32_t(k % 2 ? v >> 32 : v);
        });
    } else {
        words.emplaceRun(n, [&](std::size_t k) { return std::uint32_t(bits(k)); });
    }
}

// Per block its first value (two words), then per value an int32 after its block's first.
template <class Bits> void putBlocks(PackedSpan::Words& words, std::size_t n, const Bits& bits)
{
    putPlain(words, blocksOf(n), true, [&](std::size_t b) { return bits(b * PackedSpan::kBlock); });
    words.emplaceRun(n, [&](std::size_t k) {
        return std::uint32_t(wrapSub(bits(k), bits(k - k % PackedSpan::kBlock)));
    });
}

// The column's values, as the most compact form that holds them; returns its flags.
template <class Bits>
std::uint8_t putColumn(PackedSpan::Words& words, std::size_t n, const PackedSpan::Column& column,
                       const Bits& bits, std::uint8_t wideFlag, std::uint8_t blockFlag)
{
    if (column.wide && column.kind == Value::Kind::Int && blockFlag && blockValuesFit(n, bits)) {
        putBlocks(words, n, bits);
        return blockFlag;
    }
    putPlain(words, n, column.wide, bits);
    return column.wide ? wideFlag : 0;
}

} // namespace

PackedSpan::Column PackedSpan::classify(std::span<const Value> values)
{
    Column c;
    c.kind = values[0].kind();
    if (!std::all_of(values.begin(), values.end(),
                     [&](const Value& v) { return v.kind() == c.kind; })) {
        c.uniform = false;
    } else if (c.kind == Value::Kind::Float) {
        c.wide = true;
    } else if (c.kind == Value::Kind::Int) {
        c.wide = !std::all_of(values.begin(), values.end(),
                              [](const Value& v) { return fitsInt32(v.asInt()); });
    }
    return c;
}

PackedSpan::Column PackedSpan::classifyInts(std::span<const std::int64_t> values)
{
    Column c;
    c.kind = Value::Kind::Int;
    const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    c.wide = !fitsInt32(*lo) || !fitsInt32(*hi);
    return c;
}

std::int64_t PackedSpan::scalarBits(const Value& v)
{
    switch (v.kind()) {
    case Value::Kind::Bool:
        return v.asBool() ? 1 : 0;
    case Value::Kind::Int:
        return v.asInt();
    case Value::Kind::Float:
        return std::bit_cast<std::int64_t>(v.asFloat());
    default:
        return 0;
    }
}

Value PackedSpan::scalarValue(Value::Kind kind, std::int64_t bits)
{
    switch (kind) {
    case Value::Kind::Bool:
        return Value(bits != 0);
    case Value::Kind::Int:
        return Value(static_cast<long long>(bits));
    case Value::Kind::Float:
        return Value(std::bit_cast<double>(bits));
    default:
        return Value();
    }
}

std::uint8_t PackedSpan::append(Words& words, std::int64_t start,
                                std::span<const std::int64_t> ends, const Column& resultColumn,
                                std::span<const Value> results,
                                std::span<const std::int64_t> intResults, const Column& inputColumn,
                                std::span<const Value> inputs)
{
    const std::size_t n = ends.size();
    std::uint8_t packing = kPacked;

    if (narrowEndsFit(ends)) {
        words.emplaceRun(blocksOf(n),
                         [&](std::size_t b) { return std::uint32_t(ends[b * kBlock] - start); });
        const auto half = [&](std::size_t k) {
            return k < n ? std::uint32_t(ends[k] - ends[k - k % kBlock]) : 0u;
        };
        words.emplaceRun((n + 1) / 2,
                         [&](std::size_t j) { return half(2 * j) | (half(2 * j + 1) << 16); });
        packing |= kNarrowEnds;
    } else {
        words.emplaceRun(n, [&](std::size_t k) { return std::uint32_t(ends[k] - start); });
    }

    if (!intResults.empty())
        packing |= putColumn(
            words, n, resultColumn, [&](std::size_t k) { return intResults[k]; }, kWideResults,
            kBlockResults);
    else
        packing |= putColumn(
            words, n, resultColumn, [&](std::size_t k) { return scalarBits(results[k]); },
            kWideResults, kBlockResults);

    if (inputs.empty())
        return packing;
    // An arithmetic run of ints: four words instead of n or 2n.
    if (inputColumn.kind == Value::Kind::Int && n > 4) {
        const std::int64_t first = inputs[0].asInt();
        const std::int64_t step = wrapSub(inputs[1].asInt(), first);
        std::int64_t expected = first;
        bool arithmetic = true;
        for (std::size_t k = 0; k < n && arithmetic; ++k) {
            arithmetic = inputs[k].asInt() == expected;
            expected = wrapAdd(expected, step);
        }
        if (arithmetic) {
            putPlain(words, 2, true, [&](std::size_t k) { return k == 0 ? first : step; });
            return packing | kStepInputs;
        }
    }
    return packing | putColumn(
                         words, n, inputColumn,
                         [&](std::size_t k) { return scalarBits(inputs[k]); }, kWideInputs, 0);
}

PackedSpan::PackedSpan(std::size_t base, std::size_t n, std::uint8_t packing)
    : m_packing(packing), m_blocks(blocksOf(n)), m_ends(base)
{
    m_results = m_ends + ((packing & kNarrowEnds) ? m_blocks + (n + 1) / 2 : n);
    if (packing & kBlockResults)
        m_inputs = m_results + 2 * m_blocks + n;
    else
        m_inputs = m_results + ((packing & kWideResults) ? 2 * n : n);
}

std::int64_t PackedSpan::readWide(const Words& words, std::size_t at)
{
    return std::int64_t(std::uint64_t(words[at]) | (std::uint64_t(words[at + 1]) << 32));
}

std::int64_t PackedSpan::endOffset(const Words& words, std::size_t k) const
{
    if (!(m_packing & kNarrowEnds))
        return std::int64_t(words[m_ends + k]);
    const std::uint32_t pair = words[m_ends + m_blocks + k / 2];
    return std::int64_t(words[m_ends + k / kBlock]) +
           std::int64_t(k % 2 ? pair >> 16 : pair & 0xffff);
}

std::int64_t PackedSpan::resultBits(const Words& words, std::size_t k) const
{
    if (m_packing & kBlockResults)
        return wrapAdd(readWide(words, m_results + 2 * (k / kBlock)),
                       std::int32_t(words[m_results + 2 * m_blocks + k]));
    if (m_packing & kWideResults)
        return readWide(words, m_results + 2 * k);
    return std::int32_t(words[m_results + k]);
}

std::int64_t PackedSpan::inputBits(const Words& words, std::size_t k) const
{
    if (m_packing & kStepInputs)
        return wrapAdd(readWide(words, m_inputs),
                       std::int64_t(std::uint64_t(readWide(words, m_inputs + 2)) * k));
    if (m_packing & kWideInputs)
        return readWide(words, m_inputs + 2 * k);
    return std::int32_t(words[m_inputs + k]);
}

} // namespace poolscope
