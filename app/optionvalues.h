#pragma once

#include <charconv>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Parsing helpers shared by the subcommands' option parsers. Every failure throws UsageError
// with a one-line message naming the argument.
namespace poolscope::optionvalues {

std::string quoted(std::string_view s);
std::string joined(const std::vector<std::string>& names);

template <class Int> std::optional<Int> toInteger(std::string_view s)
{
    Int v{};
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size())
        return std::nullopt;
    return v;
}

std::optional<double> toNumber(std::string_view s); // finite numbers only

std::int64_t integerAtLeast(std::string_view name, std::string_view value, std::int64_t min,
                            std::int64_t max = std::numeric_limits<std::int64_t>::max());
double numberAtLeast(std::string_view name, std::string_view value, double min, bool inclusive,
                     double max);

bool isHelp(std::string_view arg); // --help or -h

// Splits "--name value" / "--name=value" words into (name, value) pairs, in order. known(name)
// says whether an option exists; flag(name) whether it takes no value (its value is then "").
// Rejects stray words, unknown options, missing or empty values and repeated options.
std::vector<std::pair<std::string, std::string>>
splitOptions(const std::vector<std::string>& args,
             const std::function<bool(std::string_view)>& known,
             const std::function<bool(std::string_view)>& flag);

} // namespace poolscope::optionvalues
