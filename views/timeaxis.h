#pragma once

#include <QString>
#include <cstdint>
#include <vector>

namespace poolscope {

// Maps run time (nanoseconds since the run's first event, see EventLog::startNs()) to
// horizontal pixels and back, for a visible window [startNs, endNs] drawn over widthPx pixels.
// Plain value type without widgets: the timeline widget owns one and asks it for positions.
//
// Invariants, restored by every mutator:
//   - the window lies inside the domain [0, domainNs()], domainNs() = max(totalNs, 1 us);
//   - the visible span is between kMinVisibleNs and domainNs();
//   - widthPx >= 1 (a widget that is not shown yet may report 0).
// The window is kept in double nanoseconds so that zoom and pan steps compose without
// rounding drift; doubles hold nanoseconds exactly up to 104 days.
class TimeAxis
{
public:
    static constexpr double kMinVisibleNs = 1000.0; // 1 us: the finest zoom
    static constexpr double kMinWidthPx = 1.0;

    TimeAxis() = default;                           // empty run, 100 px, showing [0, 1 us]
    TimeAxis(std::int64_t totalNs, double widthPx); // shows the whole run

    std::int64_t totalNs() const { return m_totalNs; }
    double domainNs() const;
    double startNs() const { return m_startNs; }
    double endNs() const { return m_endNs; }
    double visibleNs() const { return m_endNs - m_startNs; }
    double widthPx() const { return m_widthPx; }
    double nsPerPx() const { return visibleNs() / m_widthPx; }

    // A run that is still recording grows: the window stays where it is (clamped only if the
    // run became shorter, e.g. when a trace is replaced by another one).
    void setTotalNs(std::int64_t totalNs);
    // Resizing keeps the visible time window; only the scale changes.
    void setWidthPx(double widthPx);
    // Shows [startNs, endNs] (either order), clamped to the invariants above.
    void setWindow(double startNs, double endNs);
    void showAll();

    // Pixel x (0 = left edge of the window) of a time, and back. Positions outside the window
    // map outside [0, widthPx]; bars that stick out are clipped by the painter.
    double toPx(double ns) const { return (ns - m_startNs) / nsPerPx(); }
    double toNs(double px) const { return m_startNs + px * nsPerPx(); }

    // factor > 1 zooms in (the span shrinks by factor), < 1 zooms out. The time under anchorPx
    // stays under anchorPx unless clamping to the domain or the zoom limits moves the window.
    // A non-finite or non-positive factor, or a non-finite anchor, changes nothing.
    void zoomBy(double factor, double anchorPx);
    // Moves the window dxPx pixels' worth of time later (positive) or earlier (negative), as
    // when the content is dragged left by dxPx. Stops at the domain's edges.
    void panByPx(double dxPx);

    bool canZoomIn() const { return visibleNs() > kMinVisibleNs; }
    bool canZoomOut() const { return visibleNs() < domainNs(); }

    // Tick times for axis labels: every multiple of the step inside [startNs, endNs], the step
    // being the smallest of 1, 2, 5 x 10^k ns that yields at most maxTicks ticks. Empty when
    // maxTicks < 1; maxTicks above kMaxTicks counts as kMaxTicks (no axis needs more, and it
    // bounds the allocation).
    static constexpr int kMaxTicks = 1000;
    std::vector<std::int64_t> ticks(int maxTicks) const;
    std::int64_t tickStepNs(int maxTicks) const; // 0 when maxTicks < 1

    // A tick label. The unit is the largest of ns, us, ms, s in which stepNs is at least 0.1,
    // so that all labels of one axis share a unit; ns is rounded to the step's precision and
    // trailing zeros are dropped: (0, 1 ms) -> "0 ms", (1'500'000'000, 500 ms) -> "1.5 s",
    // (2'000'000'000, 500 ms) -> "2 s", (250'000, 50 us) -> "250 us". stepNs < 1 counts as 1.
    static QString formatTime(std::int64_t ns, std::int64_t stepNs);

    bool operator==(const TimeAxis&) const = default;

private:
    void clampWindow(double startNs, double spanNs);

    std::int64_t m_totalNs = 0;
    double m_startNs = 0.0;
    double m_endNs = kMinVisibleNs;
    double m_widthPx = 100.0;
};

} // namespace poolscope
