#include "timeaxis.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace poolscope {

namespace {

// Number of multiples of stepNs inside [startNs, endNs] (startNs >= 0).
double tickCount(double startNs, double endNs, double stepNs)
{
    return std::floor(endNs / stepNs) - std::ceil(startNs / stepNs) + 1.0;
}

} // namespace

TimeAxis::TimeAxis(std::int64_t totalNs, double widthPx)
{
    setWidthPx(widthPx);
    setTotalNs(totalNs);
    showAll();
}

double TimeAxis::domainNs() const
{
    return std::max(static_cast<double>(m_totalNs), kMinVisibleNs);
}

void TimeAxis::setTotalNs(std::int64_t totalNs)
{
    m_totalNs = std::max<std::int64_t>(totalNs, 0);
    clampWindow(m_startNs, visibleNs());
}

void TimeAxis::setWidthPx(double widthPx)
{
    if (!std::isfinite(widthPx))
        return;
    m_widthPx = std::max(widthPx, kMinWidthPx);
}

void TimeAxis::setWindow(double startNs, double endNs)
{
    if (!std::isfinite(startNs) || !std::isfinite(endNs))
        return;
    if (endNs < startNs)
        std::swap(startNs, endNs);
    clampWindow(startNs, endNs - startNs);
}

void TimeAxis::showAll()
{
    clampWindow(0.0, domainNs());
}

void TimeAxis::zoomBy(double factor, double anchorPx)
{
    if (!std::isfinite(factor) || factor <= 0.0 || !std::isfinite(anchorPx))
        return;
    const double anchorNs = toNs(anchorPx);
    const double span = std::clamp(visibleNs() / factor, kMinVisibleNs, domainNs());
    // The anchor keeps its fraction of the width, so its time stays under it.
    clampWindow(anchorNs - anchorPx / m_widthPx * span, span);
}

void TimeAxis::panByPx(double dxPx)
{
    if (!std::isfinite(dxPx))
        return;
    clampWindow(m_startNs + dxPx * nsPerPx(), visibleNs());
}

void TimeAxis::clampWindow(double startNs, double spanNs)
{
    const double domain = domainNs();
    const double span = std::clamp(spanNs, kMinVisibleNs, domain);
    const double start = std::clamp(startNs, 0.0, domain - span);
    m_startNs = start;
    // min() guards against start + span rounding one ulp past the domain's end.
    m_endNs = std::min(start + span, domain);
}

std::int64_t TimeAxis::tickStepNs(int maxTicks) const
{
    if (maxTicks < 1)
        return 0;
    const double limit = std::min(maxTicks, kMaxTicks);
    constexpr std::array<std::int64_t, 3> kMantissas = {1, 2, 5};
    std::int64_t step = 1;
    std::int64_t power = 1;
    // 5 x 10^18 is the largest such step that fits in int64; only a window of more than 158
    // years could need a larger one (ticks() then keeps the first maxTicks).
    for (int exponent = 0;; ++exponent) {
        for (const std::int64_t mantissa : kMantissas) {
            step = mantissa * power;
            if (tickCount(m_startNs, m_endNs, static_cast<double>(step)) <= limit)
                return step;
        }
        if (exponent == 18)
            break;
        power *= 10;
    }
    return step;
}

std::vector<std::int64_t> TimeAxis::ticks(int maxTicks) const
{
    std::vector<std::int64_t> result;
    const std::int64_t step = tickStepNs(maxTicks);
    if (step == 0)
        return result;
    const auto first = static_cast<std::int64_t>(std::ceil(m_startNs / step));
    const auto last = std::min(static_cast<std::int64_t>(std::floor(m_endNs / step)),
                               first + std::min(maxTicks, kMaxTicks) - 1);
    result.reserve(static_cast<std::size_t>(std::max<std::int64_t>(last - first + 1, 0)));
    for (std::int64_t k = first; k <= last; ++k)
        result.push_back(k * step);
    return result;
}

QString TimeAxis::formatTime(std::int64_t ns, std::int64_t stepNs)
{
    struct Unit
    {
        std::int64_t ns;
        const char* suffix;
    };
    static constexpr std::array<Unit, 4> kUnits = {
        {{1'000'000'000, "s"}, {1'000'000, "ms"}, {1'000, "us"}, {1, "ns"}}};

    const std::int64_t step = std::max<std::int64_t>(stepNs, 1);
    // Largest unit in which the step is at least 0.1, so labels stay short ("1.5 s" rather
    // than "1500 ms") but never need more than one decimal for a 1/2/5 step.
    Unit unit = kUnits.back();
    for (const Unit& u : kUnits) {
        if (step >= u.ns / 10) {
            unit = u;
            break;
        }
    }
    // Decimals the step needs in that unit (at most 9, as units are at most 10^9 ns).
    int decimals = 0;
    std::int64_t scale = 1; // 10^decimals
    while (decimals < 9 && (step % unit.ns) * scale % unit.ns != 0) {
        ++decimals;
        scale *= 10;
    }

    // Integer arithmetic throughout: exact for every int64, no "0.30000000000000004".
    // The magnitude is taken as unsigned so that INT64_MIN does not overflow.
    const bool negative = ns < 0;
    const std::uint64_t magnitude =
        negative ? std::uint64_t(0) - static_cast<std::uint64_t>(ns) : std::uint64_t(ns);
    const auto unitNs = static_cast<std::uint64_t>(unit.ns);
    std::uint64_t whole = magnitude / unitNs;
    const std::uint64_t rest = magnitude % unitNs;                 // < 10^9, so rest * scale fits
    std::uint64_t fraction = (rest * scale + unitNs / 2) / unitNs; // half away from zero
    if (fraction == static_cast<std::uint64_t>(scale)) {
        ++whole;
        fraction = 0;
    }

    // Trailing zeros add nothing ("1 s", "1.5 s" rather than "1.0 s", "1.5 s").
    while (decimals > 0 && fraction % 10 == 0) {
        fraction /= 10;
        --decimals;
    }

    QString text;
    if (negative && (whole != 0 || fraction != 0))
        text += QLatin1Char('-');
    text += QString::number(whole);
    if (decimals > 0)
        text +=
            QLatin1Char('.') + QStringLiteral("%1").arg(fraction, decimals, 10, QLatin1Char('0'));
    text += QLatin1Char(' ') + QLatin1String(unit.suffix);
    return text;
}

} // namespace poolscope
