#pragma once

#include <QRectF>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

namespace poolscope {

// Vertical layout of the timeline: one lane per process, keyed by Event::worker (the N of
// ForkPoolWorker-N; kMainKey for the main process). Lane 0 is always the main process; workers
// follow in the order they are first seen, and a replacement worker, which has a new number,
// is appended after them. Plain value type without widgets.
//
//   0 ............ header (time axis labels), headerHeight
//   lane 0         rowHeight
//                  spacing
//   lane 1         rowHeight
//   ...            (no spacing after the last lane)
//
// Lanes span the whole width. Rows are half-open: y = top belongs to the lane, y = top +
// rowHeight does not, so no pixel row belongs to two lanes.
class LaneLayout
{
public:
    static constexpr std::int32_t kMainKey = -1;
    static constexpr double kMinRowHeight = 1.0;

    LaneLayout(); // only the main process lane

    // The lane for key, added at the end if it is new.
    int addLane(std::int32_t key);
    int laneOf(std::int32_t key) const; // -1 if no lane has that key
    std::optional<std::int32_t> keyAt(int index) const;
    int count() const { return static_cast<int>(m_keys.size()); }
    const std::vector<std::int32_t>& keys() const { return m_keys; }
    void clear(); // back to the main lane only, for a new run; metrics are kept

    // Metrics come from the widget (font metrics, size). Negative or non-finite values are
    // clamped to 0 (rowHeight: to kMinRowHeight) so a bad value cannot make lanes overlap.
    double rowHeight() const { return m_rowHeight; }
    void setRowHeight(double height);
    double headerHeight() const { return m_headerHeight; }
    void setHeaderHeight(double height);
    double spacing() const { return m_spacing; }
    void setSpacing(double spacing);
    double width() const { return m_width; }
    void setWidth(double width);

    // Index of the lane whose row contains y; -1 in the header, in a gap or below the last lane.
    int laneAt(double y) const;
    // The lane's row, x from 0 to width(); a null QRectF (isNull()) for an index out of range.
    QRectF laneRect(int index) const;
    double totalHeight() const; // header and every lane, without trailing spacing

private:
    double pitch() const { return m_rowHeight + m_spacing; }

    std::vector<std::int32_t> m_keys;
    std::unordered_map<std::int32_t, int> m_indexOfKey;
    double m_rowHeight = 24.0;
    double m_headerHeight = 20.0;
    double m_spacing = 2.0;
    double m_width = 0.0;
};

} // namespace poolscope
