#include "texttable.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>

namespace poolscope {

TextTable::TextTable(std::vector<std::string> header, std::vector<Align> align)
    : m_header(std::move(header)), m_align(std::move(align))
{
    m_align.resize(m_header.size(), Align::Left);
    m_minWidth.resize(m_header.size(), 0);
}

void TextTable::addRow(std::vector<std::string> cells)
{
    cells.resize(m_header.size());
    m_rows.push_back(std::move(cells));
}

void TextTable::setMinWidth(std::size_t column, std::size_t width)
{
    if (column < m_minWidth.size())
        m_minWidth[column] = width;
}

std::size_t TextTable::width(std::size_t column) const
{
    std::size_t w = std::max(m_minWidth[column], m_header[column].size());
    for (const auto& row : m_rows)
        w = std::max(w, row[column].size());
    return w;
}

std::string TextTable::render(const std::vector<std::string>& cells) const
{
    std::string out;
    for (std::size_t c = 0; c < m_header.size(); ++c) {
        if (c > 0)
            out += "  ";
        const std::string& cell = cells[c];
        const std::size_t pad = width(c) - std::min(width(c), cell.size());
        if (m_align[c] == Align::Right)
            out.append(pad, ' ').append(cell);
        else
            out.append(cell).append(pad, ' ');
    }
    while (!out.empty() && out.back() == ' ')
        out.pop_back();
    return out;
}

std::vector<std::string> TextTable::lines() const
{
    std::vector<std::string> out{render(m_header)};
    for (const auto& row : m_rows)
        out.push_back(render(row));
    return out;
}

std::string TextTable::line(std::size_t row) const
{
    return row < m_rows.size() ? render(m_rows[row]) : std::string();
}

std::string TextTable::duration(std::int64_t ns)
{
    if (ns < 1'000'000)
        return std::to_string(ns / 1000) + " µs";
    const bool ms = ns < 1'000'000'000;
    return fixed(double(ns) / (ms ? 1e6 : 1e9), ms ? 1 : 2) + (ms ? " ms" : " s");
}

std::string TextTable::fixed(double value, int decimals)
{
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed, decimals);
    return std::string(buf, r.ptr);
}

std::string TextTable::grouped(long long value)
{
    std::string digits = std::to_string(std::llabs(value));
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0)
            out += ',';
        out += digits[i];
    }
    return value < 0 ? "-" + out : out;
}

} // namespace poolscope
