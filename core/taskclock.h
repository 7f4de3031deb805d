#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace poolscope {

// A pool worker's task timestamps, cheap enough to take one per task. Where the kernel's clock
// source is the CPU's time-stamp counter (so CLOCK_MONOTONIC is itself derived from it) and the
// counter is invariant, a task's end is read as a TSC value (about 9 ns here, against 21-23 ns for
// clock_gettime) and converted to CLOCK_MONOTONIC nanoseconds when its report goes out, by
// linear interpolation between two real clock readings around it (the anchors): exact at the
// anchors and as exact as the counter's constant rate in between, kept in order and between the
// anchors. Elsewhere a reading is clock_gettime itself and conversion changes nothing.
//
// A stretch (from one anchor to the next) reads counter values only when asked to at its anchor
// (worth it for many readings: an anchor costs two counter reads more than a clock reading) and
// once the counter's rate is known: learnt from the first counter anchor and the latest, once
// they are 50 us apart; until then it reads nanoseconds.
//
// A stretch that does not ask for the counter (a chunk of a few tasks) reads the clock, unless
// the rate has been learnt over at least kSoftBaselineNs and the latest anchor that paired the
// clock with the counter is less than kSoftSpanNs old: then it is a soft stretch, which reads
// only the counter, at its anchor too, and converts at the learnt rate from that pair, with no
// clock reading at all (a chunk of one task read the clock twice, about half of what recording
// cost a worker). A soft time is within about (pairing error / baseline) x span of the clock,
// some tens of nanoseconds; times never go back (a soft time is kept at or after the last
// one). Short stretches pair their clock reading with the counter whenever they read the clock,
// so the pair is renewed every kSoftSpanNs.
//
// The rate's base can come from the parent: a clock reading paired with the counter once per
// process (processBase), handed to every worker it starts. A worker given one learns its rate
// over the parent's life, not its own: a pool made 10 ms or more after the process's first
// (or a worker started that long after) has soft stretches from its first chunk.
class TaskClock
{
public:
    // A clock reading and the counter's value at that moment.
    struct Pair
    {
        std::int64_t ns = 0;
        std::int64_t ticks = 0; // 0: none
    };

    // useTsc: tscUsable(), as the parent found it; base: the parent's processBase() (or none:
    // the first anchor is the base).
    explicit TaskClock(bool useTsc);
    TaskClock(bool useTsc, Pair base);
    // Whether the kernel's clock source is the TSC and the counter is invariant: found once per
    // process, in the parent, so that a worker starts without a CPUID (a VM exit) or a file read.
    static bool tscUsable();
    // This process's base for the counter's rate: the clock paired with the counter the first
    // time it is asked for (as tightly as an anchor pairs them); none where the counter is not
    // usable. A fork child inherits its parent's, which stays valid (one counter, one clock).
    static Pair processBase();

    // Reads the clock and starts a stretch; returns the time (ns). counter: the stretch may
    // read the TSC (for a chunk of many tasks; a chunk of one is cheaper with the clock alone).
    std::int64_t anchor(bool counter = true);
    // The current stretch's start as a reading of this stretch (its TSC value, or its ns).
    std::int64_t anchorReading() const { return m_stretchTicks ? m_anchorTicks : m_anchorNs; }
    // A reading within the current stretch: a TSC value, or nanoseconds.
    std::int64_t read() const;
    // Converts readings of the current stretch to ns in place and starts a new stretch now
    // (at the last reading, when the stretch read the clock alone); returns the time (ns) of
    // that new anchor.
    std::int64_t convert(std::span<std::int64_t> readings);
    // An estimate (ns) of a reading of the current stretch, at the rate learnt so far: for
    // decisions (is this task slow?) and for the live status slot.
    std::int64_t estimateNs(std::int64_t reading) const;

    // Appends the ends of `parts` equal shares of [from, to]: from + (to - from) * j / parts for
    // j = 1..parts (rounded down, as that expression is), without a division per share: the
    // tasks of a timing group share its time evenly. parts >= 1, to >= from.
    static void splitEvenly(std::int64_t from, std::int64_t to, std::int64_t parts,
                            std::vector<std::int64_t>& out);
    // Appends every task's end from timing groups: group g's groupTasks[g] tasks share evenly
    // the time from its start (start for the first, the previous group's end after it) to
    // groupEnds[g], or end at its start if that is later. Each groupTasks[g] >= 1.
    static void splitGroups(std::int64_t start, std::span<const std::int64_t> groupEnds,
                            std::span<const std::int64_t> groupTasks,
                            std::vector<std::int64_t>& out);

private:
    // anchor(), the clock read by system call (monotonicNsBySyscall) instead of the vDSO when
    // bySyscall.
    std::int64_t startAnchor(bool counter, bool bySyscall);
    void readPair(std::int64_t& ns, std::int64_t& ticks, bool bySyscall) const;
    void startStretch(std::int64_t ns, std::int64_t ticks);

    // A soft stretch's time for a counter reading: from the latest pair at the learnt rate.
    std::int64_t softNs(std::int64_t ticks) const;
    // Starts a soft stretch now, when one may be (see the class comment); false otherwise.
    bool softAnchor();

    static constexpr std::int64_t kSoftBaselineNs = 10'000'000; // 10 ms of rate
    static constexpr std::int64_t kSoftSpanNs = 1'000'000;      // 1 ms from the latest pair

    bool m_tsc;
    bool m_counterAsked = false; // the current stretch was asked to read the counter
    bool m_stretchTicks = false; // this stretch's readings are TSC values
    bool m_soft = false;         // and converted from the latest pair, without the clock
    std::int64_t m_pairNs = 0;   // the latest clock reading paired with the counter
    std::int64_t m_pairTicks = 0;
    std::int64_t m_lastNs = 0; // the latest time handed out (anchors, conversions)
    std::int64_t m_anchorNs = 0;
    std::int64_t m_anchorTicks = 0; // 0: the anchor has no counter reading
    std::int64_t m_firstNs = 0;     // the first anchor with a counter reading: the rate's base
    std::int64_t m_firstTicks = 0;
    double m_nsPerTick = 0; // 0 until learnt
};

} // namespace poolscope
