#include "taskclock.h"

#include "clock.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#include <x86intrin.h>
#endif

namespace poolscope {

namespace {

constexpr std::int64_t kMinRateNs = 50'000;   // a rate from anchors closer: not yet
constexpr std::int64_t kMaxPairTicks = 5'000; // a clock reading bracketed tighter than this

std::int64_t tsc()
{
#if defined(__x86_64__)
    return std::int64_t(__rdtsc());
#else
    return 0;
#endif
}

// A clock reading paired with the counter: the counter read on both sides of the clock, again
// when something (a preemption) came between them, so that the pair is within a microsecond.
TaskClock::Pair pairedReading(std::int64_t (*clock)())
{
    TaskClock::Pair p;
    for (int attempt = 0;; ++attempt) {
        const std::int64_t before = tsc();
        p.ns = clock();
        const std::int64_t after = tsc();
        p.ticks = before + (after - before) / 2;
        if (after - before < kMaxPairTicks || attempt == 3)
            return p;
    }
}

bool invariantTsc()
{
#if defined(__x86_64__)
    unsigned a = 0, b = 0, c = 0, d = 0;
    return __get_cpuid(0x80000007, &a, &b, &c, &d) && (d & (1u << 8));
#else
    return false;
#endif
}

} // namespace

bool TaskClock::tscUsable()
{
    static const bool usable = [] {
        FILE* f =
            std::fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "re");
        if (!f)
            return false;
        char name[32] = {};
        const bool read = std::fgets(name, sizeof name, f) != nullptr;
        std::fclose(f);
        return read && std::strcmp(name, "tsc\n") == 0 && invariantTsc();
    }();
    return usable;
}

TaskClock::Pair TaskClock::processBase()
{
    static const Pair base = tscUsable() ? pairedReading(monotonicNs) : Pair{};
    return base;
}

TaskClock::TaskClock(bool useTsc) : TaskClock(useTsc, Pair{})
{}

TaskClock::TaskClock(bool useTsc, Pair base) : m_tsc(useTsc)
{
    // The rate's base: the parent's, when given (the first anchor computes the rate from it);
    // else this first anchor, and by the first chunk the rate is usually known. Read by system
    // call: a new worker has not mapped the vDSO yet, and one that is stopped before its first
    // chunk never needs it (clock.h).
    if (m_tsc && base.ticks > 0) {
        m_firstNs = base.ns;
        m_firstTicks = base.ticks;
    }
    startAnchor(true, true);
}

// The clock, and the counter with it when this stretch asked for it (pairedReading).
void TaskClock::readPair(std::int64_t& ns, std::int64_t& ticks, bool bySyscall) const
{
    const auto clock = bySyscall ? monotonicNsBySyscall : monotonicNs;
    if (!m_tsc || !m_counterAsked) {
        ns = clock();
        ticks = 0;
        return;
    }
    const Pair p = pairedReading(clock);
    ns = p.ns;
    ticks = p.ticks;
}

std::int64_t TaskClock::anchor(bool counter)
{
    return startAnchor(counter, false);
}

std::int64_t TaskClock::startAnchor(bool counter, bool bySyscall)
{
    if (!counter && !bySyscall && softAnchor())
        return m_anchorNs;
    // A short stretch's clock reading is paired with the counter too (two counter reads more)
    // when the counter is usable, so that soft stretches have a fresh pair; its readings stay
    // clock readings.
    m_counterAsked = counter || m_tsc;
    std::int64_t ns;
    std::int64_t ticks;
    readPair(ns, ticks, bySyscall);
    m_counterAsked = counter;
    startStretch(ns, ticks); // the pair as read
    if (!counter)
        m_stretchTicks = false;
    // Handed out never before a soft time (which may be some nanoseconds ahead of the clock).
    m_anchorNs = std::max(ns, m_lastNs);
    m_lastNs = m_anchorNs;
    return m_anchorNs;
}

std::int64_t TaskClock::softNs(std::int64_t ticks) const
{
    return m_pairNs + std::int64_t(double(ticks - m_pairTicks) * m_nsPerTick);
}

bool TaskClock::softAnchor()
{
    if (!m_tsc || m_nsPerTick <= 0 || m_pairNs - m_firstNs < kSoftBaselineNs)
        return false;
    const std::int64_t ticks = tsc();
    if (ticks < m_pairTicks || softNs(ticks) - m_pairNs >= kSoftSpanNs)
        return false; // the pair is too old: the caller reads the clock (and pairs it)
    m_counterAsked = false;
    m_soft = true;
    m_stretchTicks = true;
    m_anchorTicks = ticks;
    m_anchorNs = std::max(softNs(ticks), m_lastNs);
    m_lastNs = m_anchorNs;
    return true;
}

void TaskClock::startStretch(std::int64_t ns, std::int64_t ticks)
{
    m_soft = false;
    if (ticks > 0) {
        m_pairNs = ns;
        m_pairTicks = ticks;
        // The rate over the longest time there is (the counter is invariant): ever more exact.
        if (m_firstTicks == 0) {
            m_firstNs = ns;
            m_firstTicks = ticks;
        } else if (ns - m_firstNs >= kMinRateNs && ticks > m_firstTicks) {
            m_nsPerTick = double(ns - m_firstNs) / double(ticks - m_firstTicks);
        }
    }
    m_anchorNs = ns;
    m_anchorTicks = ticks;
    m_stretchTicks = ticks > 0 && m_nsPerTick > 0;
}

std::int64_t TaskClock::read() const
{
    return m_stretchTicks ? tsc() : monotonicNs();
}

std::int64_t TaskClock::convert(std::span<std::int64_t> readings)
{
    if (m_soft && readings.empty())
        return startAnchor(false, false);
    if (m_soft && softNs(readings.back()) - m_pairNs < kSoftSpanNs) {
        // At the learnt rate from the pair, never going back; the next stretch starts at the
        // last reading, softly too.
        const std::int64_t lastTicks = readings.back();
        std::int64_t previous = m_anchorNs;
        for (std::int64_t& r : readings) {
            r = std::max(softNs(r), previous);
            previous = r;
        }
        m_anchorTicks = lastTicks;
        m_anchorNs = readings.back();
        m_lastNs = std::max(m_lastNs, m_anchorNs);
        return m_anchorNs;
    }
    if (m_soft)
        m_counterAsked = true; // a long soft stretch (a slow task): pair the clock now and
                               // interpolate from its anchor, as a counter stretch does
    if (!readings.empty() && !(m_tsc && m_counterAsked)) {
        // Clock readings already, and no counter to pair: the last of them, a moment ago,
        // starts the next stretch (a clock reading saved per report of a short chunk).
        startStretch(readings.back(), 0);
        m_lastNs = std::max(m_lastNs, readings.back());
        return readings.back();
    }
    std::int64_t ns;
    std::int64_t ticks;
    readPair(ns, ticks, false);
    const std::int64_t handed = std::max(ns, m_lastNs); // never before a soft time
    if (m_stretchTicks) {
        // This stretch's own rate, from its two anchors: exact at both ends.
        const double scale =
            ticks > m_anchorTicks ? double(ns - m_anchorNs) / double(ticks - m_anchorTicks) : 0;
        std::int64_t previous = m_anchorNs;
        for (std::int64_t& r : readings) {
            const auto at = m_anchorNs + std::int64_t(double(r - m_anchorTicks) * scale);
            r = std::clamp(at, previous, handed);
            previous = r;
        }
    }
    startStretch(ns, ticks); // the pair as read
    m_anchorNs = handed;
    m_lastNs = handed;
    return handed;
}

std::int64_t TaskClock::estimateNs(std::int64_t reading) const
{
    if (!m_stretchTicks)
        return reading;
    return m_anchorNs + std::int64_t(double(reading - m_anchorTicks) * m_nsPerTick);
}

void TaskClock::splitEvenly(std::int64_t from, std::int64_t to, std::int64_t parts,
                            std::vector<std::int64_t>& out)
{
    // (to - from) * j / parts == j * q + (j * r) / parts, with q and r the quotient and the
    // remainder of (to - from) / parts: the second term is carried along, as in Bresenham's.
    const std::int64_t span = to - from;
    const std::int64_t q = span / parts;
    const std::int64_t r = span % parts;
    const std::size_t base = out.size();
    out.resize(base + std::size_t(parts));
    std::int64_t* share = out.data() + base;
    std::int64_t at = from;
    std::int64_t carry = 0;
    for (std::int64_t j = 0; j < parts; ++j) {
        at += q;
        carry += r;
        if (carry >= parts) {
            carry -= parts;
            ++at;
        }
        share[j] = at;
    }
}

void TaskClock::splitGroups(std::int64_t start, std::span<const std::int64_t> groupEnds,
                            std::span<const std::int64_t> groupTasks,
                            std::vector<std::int64_t>& out)
{
    std::int64_t from = start;
    for (std::size_t g = 0; g < groupTasks.size(); ++g) {
        const std::int64_t to = std::max(from, groupEnds[g]);
        splitEvenly(from, to, groupTasks[g], out);
        from = to;
    }
}

} // namespace poolscope
