#include "optionvalues.h"

#include "usageerror.h"

#include <cmath>
#include <set>

namespace poolscope::optionvalues {

std::string quoted(std::string_view s)
{
    return "'" + std::string(s) + "'";
}

std::string joined(const std::vector<std::string>& names)
{
    std::string out;
    for (const auto& n : names)
        out += (out.empty() ? "" : ", ") + n;
    return out;
}

std::optional<double> toNumber(std::string_view s)
{
    double v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || !std::isfinite(v))
        return std::nullopt;
    return v;
}

std::int64_t integerAtLeast(std::string_view name, std::string_view value, std::int64_t min,
                            std::int64_t max)
{
    const auto v = toInteger<std::int64_t>(value);
    if (!v || *v < min) {
        throw UsageError(std::string(name) + " must be an integer >= " + std::to_string(min) +
                         ", got " + quoted(value));
    }
    if (*v > max) {
        throw UsageError(std::string(name) + " must be at most " + std::to_string(max) + ", got " +
                         quoted(value));
    }
    return *v;
}

double numberAtLeast(std::string_view name, std::string_view value, double min, bool inclusive,
                     double max)
{
    const auto v = toNumber(value);
    if (!v || *v < min || (!inclusive && *v == min)) {
        throw UsageError(std::string(name) + " must be a number " + (inclusive ? ">= " : "> ") +
                         std::to_string(int(min)) + ", got " + quoted(value));
    }
    if (*v > max) {
        throw UsageError(std::string(name) + " must be at most " +
                         std::to_string(static_cast<long long>(max)) + ", got " + quoted(value));
    }
    return *v;
}

bool isHelp(std::string_view arg)
{
    return arg == "--help" || arg == "-h";
}

std::vector<std::pair<std::string, std::string>>
splitOptions(const std::vector<std::string>& args,
             const std::function<bool(std::string_view)>& known,
             const std::function<bool(std::string_view)>& flag)
{
    std::vector<std::pair<std::string, std::string>> out;
    std::set<std::string, std::less<>> seen;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        if (!arg.starts_with("--") || arg == "--")
            throw UsageError("unexpected argument " + quoted(arg) + " (options start with --)");
        std::string_view name = arg;
        std::string_view value;
        bool inlineValue = false;
        if (const auto eq = arg.find('='); eq != std::string_view::npos) {
            name = arg.substr(0, eq);
            value = arg.substr(eq + 1);
            inlineValue = true;
        }
        if (!known(name))
            throw UsageError("unknown option " + quoted(name));
        if (flag(name)) {
            if (inlineValue)
                throw UsageError(std::string(name) + " takes no value");
        } else {
            if (!inlineValue) {
                // "--func --items 5": the next word is an option, not a value.
                if (i + 1 >= args.size() || std::string_view(args[i + 1]).starts_with("--"))
                    throw UsageError(std::string(name) + " needs a value");
                value = args[++i];
            }
            if (value.empty())
                throw UsageError(std::string(name) + " needs a value");
        }
        if (!seen.insert(std::string(name)).second)
            throw UsageError(std::string(name) + " is given more than once");
        out.emplace_back(std::string(name), std::string(value));
    }
    return out;
}

} // namespace poolscope::optionvalues
