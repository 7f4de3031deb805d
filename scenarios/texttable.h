#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace poolscope {

// A table printed as aligned console lines: a header row, then one line per row, columns
// separated by two spaces. Numbers are formatted by the caller (fixed() below), so that what a
// scenario prints does not depend on the C locale a Qt program may have set.
class TextTable
{
public:
    enum class Align
    {
        Left,
        Right
    };

    explicit TextTable(std::vector<std::string> header, std::vector<Align> align = {});

    void addRow(std::vector<std::string> cells);
    // The header followed by every row, each padded to the widest cell of its column. Trailing
    // spaces are trimmed.
    std::vector<std::string> lines() const;
    // One row (0-based, header excluded) padded as lines() pads it: to print rows as they come,
    // when every row's width is known in advance (see minWidth).
    std::string line(std::size_t row) const;
    // Reserves room in a column for values not yet added.
    void setMinWidth(std::size_t column, std::size_t width);

    // Python's f"{value:.{decimals}f}", independent of the locale.
    static std::string fixed(double value, int decimals);
    // A measured duration, readable at any size: "250 µs", "12.5 ms", "1.50 s".
    static std::string duration(std::int64_t ns);
    // 10000 -> "10,000", as Python's f"{value:,}".
    static std::string grouped(long long value);

private:
    std::string render(const std::vector<std::string>& cells) const;
    std::size_t width(std::size_t column) const;

    std::vector<std::string> m_header;
    std::vector<Align> m_align;
    std::vector<std::vector<std::string>> m_rows;
    std::vector<std::size_t> m_minWidth;
};

} // namespace poolscope
