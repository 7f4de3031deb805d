#include "console.h"

#include "clock.h"

namespace poolscope {

void Console::setListener(Listener listener)
{
    std::lock_guard lock(m_mutex);
    m_listener = std::move(listener);
}

void Console::print(ConsoleLine::Source source, std::string text)
{
    std::lock_guard lock(m_mutex);
    m_lines.push_back(ConsoleLine{monotonicNs(), source, std::move(text)});
    if (m_listener)
        m_listener(m_lines.back());
}

std::size_t Console::size() const
{
    std::lock_guard lock(m_mutex);
    return m_lines.size();
}

ConsoleLine Console::at(std::size_t index) const
{
    std::lock_guard lock(m_mutex);
    return m_lines.at(index);
}

std::vector<ConsoleLine> Console::lines() const
{
    std::lock_guard lock(m_mutex);
    return m_lines;
}

std::vector<std::string> Console::texts(ConsoleLine::Source source) const
{
    std::lock_guard lock(m_mutex);
    std::vector<std::string> out;
    for (const auto& line : m_lines) {
        if (line.source == source)
            out.push_back(line.text);
    }
    return out;
}

} // namespace poolscope
