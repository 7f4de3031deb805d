#pragma once

#include "segmentedarray.h"
#include "value.h"

#include <cstddef>
#include <cstdint>
#include <span>

namespace poolscope {

// A task span of the event log in its packed form: 32-bit words, column by column (end times,
// then results, then inputs when the span keeps them inline), each column in the most compact
// of its forms that holds its values exactly:
//  - end times: per task a u32 offset from the span's first start; or (kNarrowEnds) per block of
//    kBlock tasks the u32 offset of the block's first end, and per task a u16 after it: 2 bytes a
//    task where a block's tasks end within 65.5 us of each other (short tasks do); or
//    (kGroupEnds) the worker's timing groups, the tasks of each sharing its time evenly: the
//    groups' first start and per group its end (u32 offsets) and the tasks up to its last, and
//    per block the group of the block's first task, a few bytes a group of up to 1,024 tasks;
//  - results: per task one word (an int32, a bool, None) or two (kWideResults: an int64, a
//    float's bits); or (kBlockResults: ints, bools, None) block by block, each block as a
//    polynomial of degree 2 at most in the task's place in it (two words: constants, runs,
//    squares of a run) or as offsets of the fewest bits from its least value (a bit a bool),
//    a header of kBlockHeader words each, where that takes fewer words than one a task;
//  - inputs: as results, one word or two (kWideInputs); or (kStepInputs) an arithmetic run of
//    ints, its first value and its step, four words for the whole span: a map over a range.
// A column's values are all of one kind (Column::uniform), else the span is not packed.
// Differences and steps wrap (two's complement), so that any int64 reads back exactly.
class PackedSpan
{
public:
    using Words = SegmentedArray<std::uint32_t, 19>; // 2 MiB segments (huge pages after the first)

    static constexpr std::uint8_t kPacked = 1;
    static constexpr std::uint8_t kWideResults = 2;
    static constexpr std::uint8_t kWideInputs = 4;
    static constexpr std::uint8_t kStepInputs = 8;
    static constexpr std::uint8_t kNarrowEnds = 16;
    static constexpr std::uint8_t kBlockResults = 32;
    static constexpr std::uint8_t kGroupEnds = 64;
    static constexpr std::size_t kBlock = 256;
    static constexpr std::size_t kBlockHeader = 4;     // kBlockResults: base (2 words), form, where
    static constexpr std::uint32_t kQuadratic = 0x100; // in a block's form, else its width

    // What a column holds: one kind throughout or not, whether a value needs two words (or
    // that this is left to be found when the column is written: wideUnknown), and for ints
    // whether they are an arithmetic run (first, first + step, ...; more than 4 of them).
    struct Column
    {
        bool uniform = true;
        bool wide = false;
        bool wideUnknown = false;
        Value::Kind kind = Value::Kind::None;
        bool run = false;
        std::int64_t first = 0;
        std::int64_t step = 0;
    };
    static Column classify(std::span<const Value> values); // scalars
    // As classify, except that of a run it finds out only that (wide stays unset):
    // for inputs, where a run is all append() needs to know.
    static Column classifyInputs(std::span<const Value> values);
    // A span's int results (an int kernel's): ints, and no look at them here. Whether one
    // needs two words is found only if they are not kept in blocks (which need no such look):
    // a pass over every result less for the squares of a range.
    static Column classifyInts(std::span<const std::int64_t> values);
    // Whether the ends can be packed at all (each at or after start, within 2^32 ns of it), and
    // whether as u16s (each within 65,535 ns after its block's first).
    struct Ends
    {
        bool fit = true;
        bool narrow = true;
    };
    static Ends classifyEnds(std::int64_t start, std::span<const std::int64_t> ends);

    // None, bool, int or float as 64 bits (a float's bit pattern), and back.
    static std::int64_t scalarBits(const Value& value);
    static Value scalarValue(Value::Kind kind, std::int64_t bits);

    // Appends a span of ends.size() tasks and returns its packing flags: ends as classified
    // (they must fit), results as Values or as ints (intResults non-empty), inputs inline or
    // none (empty), each column classified and uniform.
    static std::uint8_t append(Words& words, std::int64_t start, std::span<const std::int64_t> ends,
                               const Ends& endsForm, const Column& resultColumn,
                               std::span<const Value> results,
                               std::span<const std::int64_t> intResults, const Column& inputColumn,
                               std::span<const Value> inputs);

    // A span's ends as timing groups: group g's groupTasks[g] tasks share evenly the time from
    // its start (groupsStart for the first, the previous group's end after it) to groupEnds[g]
    // (TaskClock::splitEvenly's shares). They fit when the groups start at or after `start`,
    // their ends do not go back and stay within 2^32 - 1 ns of `start`, and every group has a
    // task, fewer than 2^32 in all.
    static bool groupsFit(std::int64_t start, std::int64_t groupsStart,
                          std::span<const std::int64_t> groupEnds,
                          std::span<const std::int64_t> groupTasks);
    // Appends a span of timing groups that fit, its results and its inputs (as append() does);
    // returns its packing flags (kGroupEnds among them).
    static std::uint8_t appendGrouped(Words& words, std::int64_t start, std::int64_t groupsStart,
                                      std::span<const std::int64_t> groupEnds,
                                      std::span<const std::int64_t> groupTasks,
                                      const Column& resultColumn, std::span<const Value> results,
                                      std::span<const std::int64_t> intResults,
                                      const Column& inputColumn, std::span<const Value> inputs);

    // The span of n tasks written at word `base` with `packing`.
    PackedSpan(const Words& words, std::size_t base, std::size_t n, std::uint8_t packing);
    std::int64_t endOffset(const Words& words, std::size_t k) const; // ns after the start
    std::int64_t resultBits(const Words& words, std::size_t k) const;
    std::int64_t inputBits(const Words& words, std::size_t k) const;

private:
    static std::int64_t readWide(const Words& words, std::size_t at);
    // The results and inputs columns of n tasks, after the ends; returns their flags.
    static std::uint8_t appendValues(Words& words, std::size_t n, const Column& resultColumn,
                                     std::span<const Value> results,
                                     std::span<const std::int64_t> intResults,
                                     const Column& inputColumn, std::span<const Value> inputs);
    std::int64_t groupEndOffset(const Words& words, std::size_t k) const;
    std::int64_t blockResultBits(const Words& words, std::size_t k) const;

    std::uint8_t m_packing;
    std::size_t m_blocks;
    std::size_t m_ends; // first word of each column
    std::size_t m_results;
    std::size_t m_inputs;
    std::size_t m_groups = 0; // kGroupEnds
};

} // namespace poolscope
