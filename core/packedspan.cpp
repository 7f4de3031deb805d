#include "packedspan.h"

#include <algorithm>
#include <bit>
#include <limits>
#include <vector>

namespace poolscope {

namespace {

constexpr std::int64_t kU16Max = std::numeric_limits<std::uint16_t>::max();

// a + b with two's complement wrapping: b + (a - b) is a for every pair of int64s.
std::int64_t wrapAdd(std::int64_t a, std::int64_t b)
{
    return std::int64_t(std::uint64_t(a) + std::uint64_t(b));
}

std::size_t blocksOf(std::size_t n)
{
    return (n + PackedSpan::kBlock - 1) / PackedSpan::kBlock;
}

// One pass over a column of ints: how wide, a run.
// No branch per value, so that the loop vectorizes: v fits an int32 exactly when v + 2^31 (as
// a uint64) has no bit above 31, and OR-ing those sums together keeps any such bit.
template <class Get> void describeInts(PackedSpan::Column& c, std::size_t n, const Get& get)
{
    constexpr std::uint64_t kBias = std::uint64_t(1) << 31;
    const auto first = std::uint64_t(get(0));
    const std::uint64_t step = n > 1 ? std::uint64_t(get(1)) - first : 0;
    std::uint64_t outside = 0; // some value not an int32
    std::uint64_t offRun = 0;  // some value off first + k * step
    std::uint64_t expected = first;
    for (std::size_t k = 0; k < n; ++k) {
        const auto x = std::uint64_t(get(k));
        outside |= x + kBias;
        offRun |= x ^ expected;
        expected += step;
    }
    c.wide = (outside >> 32) != 0;
    c.run = offRun == 0 && n > 4; // four words for first and step
    c.first = std::int64_t(first);
    c.step = std::int64_t(step);
}

// n values as words: one each (as an int32) or two (low word first).
template <class Bits>
void putPlain(PackedSpan::Words& words, std::size_t n, bool wide, const Bits& bits)
{
    if (wide) {
        words.emplaceRun(2 * n, [&](std::size_t k) {
            return std::uint32_t(std::uint64_t(bits(k >> 1)) >> ((k & 1) * 32));
        });
    } else {
        words.emplaceRun(n, [&](std::size_t k) { return std::uint32_t(bits(k)); });
    }
}

// How one block of a result column is kept in the block form (kBlockResults): as a polynomial
// of degree 2 at most in the task's place k in the block, base + k d0 + dd k (k - 1) / 2 with
// d0 and dd int32s (constants, runs, squares of a run: no word a task); or as `width`-bit
// offsets from the block's least value, base (bools: one bit a task). Wrapping throughout.
struct BlockForm
{
    bool fits = false;
    bool quadratic = false;
    std::uint64_t base = 0;
    std::uint32_t d0 = 0;
    std::uint32_t dd = 0;
    unsigned width = 0;
    std::size_t payloadWords(std::size_t count) const
    {
        return quadratic ? 2 : (count * width + 31) / 32;
    }
};

bool fitsInt32(std::uint64_t v)
{
    return ((v + (std::uint64_t(1) << 31)) >> 32) == 0;
}

// The most compact form of values bits(from) .. bits(from + count - 1); fits is false when
// neither form holds them. Two passes: the curve first, then (only where the curve does not
// settle it) the least and greatest value. A block on a curve that is not a constant and holds
// more than 64 values takes the curve: its offsets would need a bit a value at least, more than
// the curve's 2 words. One pass doing both took 2.7 times as long on the squares of a range.
// Bools and Nones skip the curve (tryCurve false): with values 0 and 1 only, a block of more than
// 64 is on one only when it is a constant, which its offsets keep in no word at all.
template <class Bits>
BlockForm blockForm(const Bits& bits, std::size_t from, std::size_t count, bool tryCurve)
{
    const auto v0 = std::uint64_t(bits(from));
    const std::uint64_t d0 = count > 1 ? std::uint64_t(bits(from + 1)) - v0 : 0;
    const std::uint64_t dd = count > 2 ? std::uint64_t(bits(from + 2)) - 2 * d0 - v0 : 0;
    // Each value read twice rather than the previous one carried over: GCC vectorizes this
    // form (2x faster), not the other.
    std::uint64_t offCurve = tryCurve ? 0 : 1; // some difference not d0 + (k - 1) dd
    std::uint64_t expected = d0;
    for (std::size_t k = 1; tryCurve && k < count; ++k) {
        offCurve |= (std::uint64_t(bits(from + k)) - std::uint64_t(bits(from + k - 1))) ^ expected;
        expected += dd;
    }
    const bool quadratic = offCurve == 0 && fitsInt32(d0) && fitsInt32(dd);
    BlockForm f;
    const auto useCurve = [&] {
        f.fits = true;
        f.quadratic = true;
        f.base = v0;
        f.d0 = std::uint32_t(d0);
        f.dd = std::uint32_t(dd);
        return f;
    };
    if (quadratic && count > 64 && (d0 | dd) != 0)
        return useCurve();
    std::int64_t lo = std::int64_t(v0);
    std::int64_t hi = lo;
    for (std::size_t k = 1; k < count; ++k) {
        const auto x = std::int64_t(bits(from + k));
        lo = std::min(lo, x);
        hi = std::max(hi, x);
    }
    const std::uint64_t range = std::uint64_t(hi) - std::uint64_t(lo);
    const auto width = unsigned(std::bit_width(range));
    if (width <= 32 && (!quadratic || (count * width + 31) / 32 <= 2)) {
        f.fits = true;
        f.base = std::uint64_t(lo);
        f.width = width;
    } else if (quadratic) {
        return useCurve();
    }
    return f;
}

// The block form of n values, when every block fits one and the whole takes fewer words than
// plainWords: per block a header of kBlockHeader words (its base, low word first; its width,
// with kQuadratic for a polynomial; where its words start after the headers), then the number
// of words after the headers, then each block's words (d0 and dd; or the offsets, k's at bit
// k * width). Returns false, with nothing written, otherwise.
template <class Bits>
bool putBlocks(PackedSpan::Words& words, std::size_t n, const Bits& bits, std::size_t plainWords,
               bool tryCurve)
{
    constexpr std::size_t kBlock = PackedSpan::kBlock;
    const std::size_t blocks = blocksOf(n);
    if (PackedSpan::kBlockHeader * blocks + 1 >= plainWords)
        return false;
    thread_local std::vector<BlockForm> forms; // the writer's, reused
    forms.clear();
    std::size_t payload = 0;
    for (std::size_t b = 0; b < blocks; ++b) {
        const std::size_t count = std::min(n - b * kBlock, kBlock);
        forms.push_back(blockForm(bits, b * kBlock, count, tryCurve));
        if (!forms.back().fits)
            return false;
        payload += forms.back().payloadWords(count);
        if (PackedSpan::kBlockHeader * blocks + 1 + payload >= plainWords)
            return false;
    }
    std::size_t at = 0; // the next block's first word after the headers
    for (std::size_t b = 0; b < blocks; ++b) {
        const std::size_t count = std::min(n - b * kBlock, kBlock);
        const BlockForm& f = forms[b];
        words.emplace(std::uint32_t(f.base));
        words.emplace(std::uint32_t(f.base >> 32));
        words.emplace(std::uint32_t(f.width | (f.quadratic ? PackedSpan::kQuadratic : 0)));
        words.emplace(std::uint32_t(at));
        at += f.payloadWords(count);
    }
    words.emplace(std::uint32_t(at));
    for (std::size_t b = 0; b < blocks; ++b) {
        const std::size_t first = b * kBlock;
        const std::size_t count = std::min(n - first, kBlock);
        const BlockForm& f = forms[b];
        if (f.quadratic) {
            words.emplace(f.d0);
            words.emplace(f.dd);
            continue;
        }
        // The offsets, packed low bit first: bits k * width .. k * width + width - 1.
        std::uint64_t pending = 0; // bits not yet in a word
        unsigned held = 0;         // how many
        std::size_t next = 0;      // the next value to take
        words.emplaceRun(f.payloadWords(count), [&](std::size_t) {
            while (held < 32 && next < count) {
                pending |= (std::uint64_t(bits(first + next)) - f.base) << held;
                held += f.width;
                ++next;
            }
            const auto word = std::uint32_t(pending);
            pending >>= 32;
            held = held > 32 ? held - 32 : 0;
            return word;
        });
    }
    return true;
}

// The column's values, as the most compact form that holds them; returns its flags.
template <class Bits>
std::uint8_t putColumn(PackedSpan::Words& words, std::size_t n, const PackedSpan::Column& column,
                       const Bits& bits, std::uint8_t wideFlag, std::uint8_t blockFlag)
{
    const auto k = column.kind;
    const bool blockable =
        blockFlag && (k == Value::Kind::Int || k == Value::Kind::Bool || k == Value::Kind::None);
    // Blocks that take fewer words than narrow plain values do take fewer than any plain form.
    const bool tryCurve = k == Value::Kind::Int;
    if (blockable &&
        putBlocks(words, n, bits, column.wide && !column.wideUnknown ? 2 * n : n, tryCurve))
        return blockFlag;
    bool wide = column.wide;
    if (column.wideUnknown) {
        PackedSpan::Column described;
        describeInts(described, n, bits);
        wide = described.wide;
        if (blockable && wide && putBlocks(words, n, bits, 2 * n, tryCurve))
            return blockFlag;
    }
    putPlain(words, n, wide, bits);
    return wide ? wideFlag : 0;
}

// A uniform column of Values as words, read without a check of each value's kind.
std::uint8_t putValues(PackedSpan::Words& words, std::span<const Value> values,
                       const PackedSpan::Column& column, std::uint8_t wideFlag,
                       std::uint8_t blockFlag)
{
    if (column.kind == Value::Kind::None) // bits 0, whatever a moved-from None holds
        return putColumn(
            words, values.size(), column, [](std::size_t) { return std::int64_t(0); }, wideFlag,
            blockFlag);
    return putColumn(
        words, values.size(), column, [&](std::size_t k) { return values[k].scalarBits(); },
        wideFlag, blockFlag);
}

} // namespace

PackedSpan::Column PackedSpan::classify(std::span<const Value> values)
{
    Column c;
    c.kind = values[0].kind();
    auto differ = std::uint8_t(0);
    for (const Value& v : values)
        differ |= std::uint8_t(v.kind()) ^ std::uint8_t(c.kind);
    c.uniform = differ == 0;
    if (c.uniform && c.kind == Value::Kind::Float)
        c.wide = true;
    else if (c.uniform && c.kind == Value::Kind::Int)
        describeInts(c, values.size(), [&](std::size_t k) { return values[k].scalarBits(); });
    return c;
}

PackedSpan::Column PackedSpan::classifyInputs(std::span<const Value> values)
{
    // Inputs of a map over a range are a run, and then nothing else about them matters:
    // first that, in a pass that stops at the first block with a value off the run.
    if (values.size() > 4 && values[0].kind() == Value::Kind::Int &&
        values[1].kind() == Value::Kind::Int) {
        const auto first = std::uint64_t(values[0].scalarBits());
        const std::uint64_t step = std::uint64_t(values[1].scalarBits()) - first;
        std::uint64_t expected = first;
        std::uint64_t off = 0;
        for (std::size_t b = 0; b < values.size() && !off; b += kBlock) {
            const std::size_t last = std::min(values.size(), b + kBlock);
            for (std::size_t k = b; k < last; ++k) {
                off |= (std::uint64_t(values[k].scalarBits()) ^ expected) |
                       std::uint64_t(values[k].kind() != Value::Kind::Int);
                expected += step;
            }
        }
        if (!off) {
            Column c;
            c.kind = Value::Kind::Int;
            c.run = true;
            c.first = std::int64_t(first);
            c.step = std::int64_t(step);
            return c;
        }
    }
    return classify(values);
}

PackedSpan::Column PackedSpan::classifyInts(std::span<const std::int64_t>)
{
    Column c;
    c.kind = Value::Kind::Int;
    c.wideUnknown = true;
    return c;
}

PackedSpan::Ends PackedSpan::classifyEnds(std::int64_t start, std::span<const std::int64_t> ends)
{
    Ends form;
    if (start >= 0) {
        // Clock readings (none negative), in one pass with no branch per end: between two
        // non-negative int64s the difference, as a uint64, has its top bit set exactly when
        // it is negative, so OR-ing differences keeps any bit that rules a form out.
        std::uint64_t negative = 0;
        std::uint64_t fromStart = 0;
        std::uint64_t fromBlockFirst = 0;
        for (std::size_t b = 0; b < ends.size(); b += kBlock) {
            const auto blockFirst = std::uint64_t(ends[b]);
            const std::size_t last = std::min(ends.size(), b + kBlock);
            for (std::size_t k = b; k < last; ++k) {
                const auto end = std::uint64_t(ends[k]);
                negative |= end;
                fromStart |= end - std::uint64_t(start);
                fromBlockFirst |= end - blockFirst;
            }
        }
        if (!(negative >> 63)) {
            form.fit = (fromStart >> 32) == 0;
            form.narrow = form.fit && fromBlockFirst <= std::uint64_t(kU16Max);
            return form;
        }
    }
    for (std::size_t b = 0; b < ends.size(); b += kBlock) {
        const std::int64_t blockFirst = ends[b];
        const std::size_t last = std::min(ends.size(), b + kBlock);
        for (std::size_t k = b; k < last; ++k) {
            const std::int64_t end = ends[k];
            form.fit &= end >= start && std::uint64_t(end) - std::uint64_t(start) <=
                                            std::numeric_limits<std::uint32_t>::max();
            form.narrow &= end >= blockFirst &&
                           std::uint64_t(end) - std::uint64_t(blockFirst) <= std::uint64_t(kU16Max);
        }
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
        // Per block, its ends as u16s after the block's first, two to a word (a block has an
        // even number of tasks, but the span's last may not: its last word has one).
        for (std::size_t b = 0; b < n; b += kBlock) {
            const std::size_t count = std::min(n - b, kBlock);
            const std::int64_t* block = ends.data() + b;
            const std::int64_t blockFirst = block[0];
            words.emplaceRun(count / 2, [&](std::size_t j) {
                return std::uint32_t(block[2 * j] - blockFirst) |
                       (std::uint32_t(block[2 * j + 1] - blockFirst) << 16);
            });
            if (count % 2)
                words.emplace(std::uint32_t(block[count - 1] - blockFirst));
        }
        packing |= kNarrowEnds;
    } else {
        words.emplaceRun(n, [&](std::size_t k) { return std::uint32_t(ends[k] - start); });
    }

    return packing | appendValues(words, n, resultColumn, results, intResults, inputColumn, inputs);
}

std::uint8_t PackedSpan::appendValues(Words& words, std::size_t n, const Column& resultColumn,
                                      std::span<const Value> results,
                                      std::span<const std::int64_t> intResults,
                                      const Column& inputColumn, std::span<const Value> inputs)
{
    std::uint8_t packing = 0;
    if (!intResults.empty())
        packing |= putColumn(
            words, n, resultColumn, [&](std::size_t k) { return intResults[k]; }, kWideResults,
            kBlockResults);
    else
        packing |= putValues(words, results, resultColumn, kWideResults, kBlockResults);

    if (inputs.empty())
        return packing;
    // An arithmetic run of ints: four words instead of n or 2n.
    if (inputColumn.kind == Value::Kind::Int && inputColumn.run) {
        putPlain(words, 2, true,
                 [&](std::size_t k) { return k == 0 ? inputColumn.first : inputColumn.step; });
        return packing | kStepInputs;
    }
    return packing | putValues(words, inputs, inputColumn, kWideInputs, 0);
}

bool PackedSpan::groupsFit(std::int64_t start, std::int64_t groupsStart,
                           std::span<const std::int64_t> groupEnds,
                           std::span<const std::int64_t> groupTasks)
{
    if (groupEnds.empty() || groupEnds.size() != groupTasks.size() || groupsStart < start ||
        start < 0)
        return false;
    constexpr auto kU32Max = std::int64_t(std::numeric_limits<std::uint32_t>::max());
    std::int64_t previous = groupsStart;
    std::int64_t tasks = 0;
    for (std::size_t g = 0; g < groupEnds.size(); ++g) {
        if (groupEnds[g] < previous || groupEnds[g] - start > kU32Max || groupTasks[g] < 1 ||
            groupTasks[g] > kU32Max - tasks)
            return false;
        previous = groupEnds[g];
        tasks += groupTasks[g];
    }
    return true;
}

std::uint8_t PackedSpan::appendGrouped(Words& words, std::int64_t start, std::int64_t groupsStart,
                                       std::span<const std::int64_t> groupEnds,
                                       std::span<const std::int64_t> groupTasks,
                                       const Column& resultColumn, std::span<const Value> results,
                                       std::span<const std::int64_t> intResults,
                                       const Column& inputColumn, std::span<const Value> inputs)
{
    const std::size_t groups = groupEnds.size();
    words.emplace(std::uint32_t(groupsStart - start));
    words.emplace(std::uint32_t(groups));
    words.emplaceRun(groups, [&](std::size_t g) { return std::uint32_t(groupEnds[g] - start); });
    std::uint64_t upTo = 0; // tasks up to and including group g
    words.emplaceRun(groups, [&](std::size_t g) {
        upTo += std::uint64_t(groupTasks[g]);
        return std::uint32_t(upTo);
    });
    const auto n = std::size_t(upTo);
    // Per block, the group holding its first task.
    std::size_t g = 0;
    std::uint64_t groupLast = std::uint64_t(groupTasks[0]); // tasks up to group g's last
    words.emplaceRun(blocksOf(n), [&](std::size_t b) {
        while (groupLast <= b * kBlock)
            groupLast += std::uint64_t(groupTasks[++g]);
        return std::uint32_t(g);
    });
    return kPacked | kGroupEnds |
           appendValues(words, n, resultColumn, results, intResults, inputColumn, inputs);
}

PackedSpan::PackedSpan(const Words& words, std::size_t base, std::size_t n, std::uint8_t packing)
    : m_packing(packing), m_blocks(blocksOf(n)), m_ends(base)
{
    if (packing & kGroupEnds) {
        m_groups = words[m_ends + 1];
        m_results = m_ends + 2 + 2 * m_groups + m_blocks;
    } else {
        m_results = m_ends + ((packing & kNarrowEnds) ? m_blocks + (n + 1) / 2 : n);
    }
    if (packing & kBlockResults)
        m_inputs =
            m_results + kBlockHeader * m_blocks + 1 + words[m_results + kBlockHeader * m_blocks];
    else
        m_inputs = m_results + ((packing & kWideResults) ? 2 * n : n);
}

std::int64_t PackedSpan::readWide(const Words& words, std::size_t at)
{
    return std::int64_t(std::uint64_t(words[at]) | (std::uint64_t(words[at + 1]) << 32));
}

std::int64_t PackedSpan::groupEndOffset(const Words& words, std::size_t k) const
{
    // Words: the groups' first start, the number of groups, their ends, the tasks up to each
    // one's last, and per block the group of its first task; task k is in the first group whose
    // tasks reach past it, a few groups at most after its block's.
    const std::size_t ends = m_ends + 2;
    const std::size_t upTo = ends + m_groups;
    std::size_t g = words[upTo + m_groups + k / kBlock];
    while (words[upTo + g] <= k)
        ++g;
    const std::uint64_t first = g ? words[upTo + g - 1] : 0;
    const std::uint64_t parts = words[upTo + g] - first;
    const std::uint64_t from = g ? words[ends + g - 1] : words[m_ends];
    const std::uint64_t to = words[ends + g];
    // TaskClock::splitEvenly's share j of [from, to]: (to - from) < 2^32 and j <= parts < 2^32.
    return std::int64_t(from + (to - from) * (k - first + 1) / parts);
}

std::int64_t PackedSpan::endOffset(const Words& words, std::size_t k) const
{
    if (m_packing & kGroupEnds)
        return groupEndOffset(words, k);
    if (!(m_packing & kNarrowEnds))
        return std::int64_t(words[m_ends + k]);
    const std::uint32_t pair = words[m_ends + m_blocks + k / 2];
    return std::int64_t(words[m_ends + k / kBlock]) +
           std::int64_t(k % 2 ? pair >> 16 : pair & 0xffff);
}

std::int64_t PackedSpan::resultBits(const Words& words, std::size_t k) const
{
    if (m_packing & kBlockResults)
        return blockResultBits(words, k);
    if (m_packing & kWideResults)
        return readWide(words, m_results + 2 * k);
    return std::int32_t(words[m_results + k]);
}

std::int64_t PackedSpan::blockResultBits(const Words& words, std::size_t k) const
{
    const std::size_t header = m_results + kBlockHeader * (k / kBlock);
    const std::uint64_t base = std::uint64_t(readWide(words, header));
    const std::uint32_t form = words[header + 2];
    const std::size_t at = m_results + kBlockHeader * m_blocks + 1 + words[header + 3];
    const std::uint64_t j = k % kBlock; // the task's place in its block
    if (form & kQuadratic) {
        // Sign-extended, then wrapping: base + j d0 + dd j (j - 1) / 2.
        const auto d0 = std::uint64_t(std::int64_t(std::int32_t(words[at])));
        const auto dd = std::uint64_t(std::int64_t(std::int32_t(words[at + 1])));
        return std::int64_t(base + j * d0 + dd * (j * (j - 1) / 2));
    }
    const unsigned width = form & 0xff;
    if (width == 0)
        return std::int64_t(base);
    const std::uint64_t bit = j * width;
    const std::size_t word = at + std::size_t(bit / 32);
    const unsigned shift = unsigned(bit % 32);
    std::uint64_t raw = words[word];
    if (shift + width > 32)
        raw |= std::uint64_t(words[word + 1]) << 32;
    const std::uint64_t mask = (std::uint64_t(1) << width) - 1;
    return std::int64_t(base + ((raw >> shift) & mask));
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
