#include "value.h"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace poolscope {

namespace {

std::string floatRepr(double d)
{
    if (std::isnan(d))
        return "nan";
    if (std::isinf(d))
        return d > 0 ? "inf" : "-inf";
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
    std::string s(buf, end);
    if (s.find_first_of(".en") == std::string::npos)
        s += ".0";
    return s;
}

std::string strRepr(const std::string& s)
{
    // Python prefers single quotes unless the text holds a single quote and no double one.
    const bool useDouble = s.find('\'') != std::string::npos && s.find('"') == std::string::npos;
    const char q = useDouble ? '"' : '\'';
    std::string out(1, q);
    for (char c : s) {
        switch (c) {
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\r':
            out += "\\r";
            break;
        default:
            if (c == q)
                out += '\\';
            out += c;
        }
    }
    out += q;
    return out;
}

std::string joinRepr(const Value::List& items)
{
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i)
            out += ", ";
        out += items[i].repr();
    }
    return out;
}

} // namespace

const Value::List& Value::items() const
{
    if (isTuple())
        return asTuple();
    if (isList())
        return asList();
    throw std::invalid_argument("value is not a list or tuple: " + repr());
}

std::string Value::repr() const
{
    switch (kind()) {
    case Kind::None:
        return "None";
    case Kind::Bool:
        return asBool() ? "True" : "False";
    case Kind::Int:
        return std::to_string(asInt());
    case Kind::Float:
        return floatRepr(asFloat());
    case Kind::Str:
        return strRepr(asStr());
    case Kind::List:
        return "[" + joinRepr(asList()) + "]";
    case Kind::Tuple: {
        const auto& t = asTuple();
        return "(" + joinRepr(t) + (t.size() == 1 ? ",)" : ")");
    }
    }
    return {};
}

std::string Value::str() const
{
    return isStr() ? asStr() : repr();
}

} // namespace poolscope
