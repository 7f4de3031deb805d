#include "lanelayout.h"

#include <cmath>

namespace poolscope {

namespace {

double atLeast(double value, double minimum)
{
    return std::isfinite(value) && value > minimum ? value : minimum;
}

} // namespace

LaneLayout::LaneLayout()
{
    clear();
}

int LaneLayout::addLane(std::int32_t key)
{
    const auto [it, inserted] = m_indexOfKey.try_emplace(key, count());
    if (inserted)
        m_keys.push_back(key);
    return it->second;
}

int LaneLayout::laneOf(std::int32_t key) const
{
    const auto it = m_indexOfKey.find(key);
    return it == m_indexOfKey.end() ? -1 : it->second;
}

std::optional<std::int32_t> LaneLayout::keyAt(int index) const
{
    if (index < 0 || index >= count())
        return std::nullopt;
    return m_keys[static_cast<std::size_t>(index)];
}

void LaneLayout::clear()
{
    m_keys.clear();
    m_indexOfKey.clear();
    addLane(kMainKey);
}

void LaneLayout::setRowHeight(double height)
{
    m_rowHeight = atLeast(height, kMinRowHeight);
}

void LaneLayout::setHeaderHeight(double height)
{
    m_headerHeight = atLeast(height, 0.0);
}

void LaneLayout::setSpacing(double spacing)
{
    m_spacing = atLeast(spacing, 0.0);
}

void LaneLayout::setWidth(double width)
{
    m_width = atLeast(width, 0.0);
}

int LaneLayout::laneAt(double y) const
{
    if (!std::isfinite(y) || y < m_headerHeight)
        return -1;
    const double offset = y - m_headerHeight;
    const double index = std::floor(offset / pitch());
    if (index >= count())
        return -1;
    // Inside the row, not in the spacing below it.
    return offset - index * pitch() < m_rowHeight ? static_cast<int>(index) : -1;
}

QRectF LaneLayout::laneRect(int index) const
{
    if (index < 0 || index >= count())
        return {};
    return QRectF(0.0, m_headerHeight + index * pitch(), m_width, m_rowHeight);
}

double LaneLayout::totalHeight() const
{
    return m_headerHeight + count() * m_rowHeight + (count() - 1) * m_spacing;
}

} // namespace poolscope
