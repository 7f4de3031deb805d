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

// One pass over a column of ints: how wide, within an int32 of their block's first, a run.
template <class Get> void describeInts(PackedSpan::Column& c, std::size_t n, const Get& get)
{
    const std::int64_t first = get(0);
    const std::int64_t step = n > 1 ? wrapSub(get(1), first) : 0;
    std::int64_t expected = first;
    bool narrow = true;
    bool blocks = true;
    bool run = true;
    for (std::size_t b = 0; b < n; b += PackedSpan::kBlock) {
        const std::int64_t blockFirst = get(b);
        const std::size_t last = std::min(n, b + PackedSpan::kBlock);
        for (std::size_t k = b; k < last; ++k) {
            const std::int64_t x = get(k);
            narrow &= fitsInt32(x);
            blocks &= fitsInt32(wrapSub(x, blockFirst));
            run &= x == expected;
            expected = wrapAdd(expected, step);
        }
    }
    c.wide = !narrow;
    c.blocks = blocks;
    c.run = run && n > 4; // four words for first and step
    c.first = first;
    c.step = step;
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
    if (column.wide && column.kind == Value::Kind::Int && blockFlag && column.blocks) {
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
    c.uniform = std::all_of(values.begin(), values.end(),
                            [&](const Value& v) { return v.kind() == c.kind; });
    if (c.uniform && c.kind == Value::Kind::Float)
        c.wide = true;
    else if (c.uniform && c.kind == Value::Kind::Int)
        describeInts(c, values.size(), [&](std::size_t k) { return values[k].asInt(); });
    return c;
}

PackedSpan::Column PackedSpan::classifyInts(std::span<const std::int64_t> values)
{
    Column c;
    c.kind = Value::Kind::Int;
    describeInts(c, values.size(), [&](std::size_t k) { return values[k]; });
    return c;
}

PackedSpan::Ends PackedSpan::classifyEnds(std::int64_t start, std::span<const std::int64_t> ends)
{
    Ends form;
    for (std::size_t b = 0; b < ends.size(); b += kBlock) {
        const std::int64_t blockFirst = ends[b];
        const std::size_t last = std::min(ends.size(), b + kBlock);
        bool fit = true;
        bool narrow = true;
        for (std::size_t k = b; k < last; ++k) {
            const std::int64_t end = ends[k];
            fit &= end >= start && end - start <= std::numeric_limits<std::uint32_t>::max();
            narrow &= end >= blockFirst && end - blockFirst <= kU16Max;
        }
        form.fit &= fit;
        form.narrow &= narrow;
    }
    form.narrow &= form.fit;
    return form;
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
                                std::span<const std::int64_t> ends, const Ends& endsForm,
                                const Column& resultColumn, std::span<const Value> results,
                                std::span<const std::int64_t> intResults, const Column& inputColumn,
                                std::span<const Value> inputs)
{
    const std::size_t n = ends.size();
    std::uint8_t packing = kPacked;

    if (endsForm.narrow) {
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
    if (inputColumn.kind == Value::Kind::Int && inputColumn.run) {
        putPlain(words, 2, true,
                 [&](std::size_t k) { return k == 0 ? inputColumn.first : inputColumn.step; });
        return packing | kStepInputs;
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
