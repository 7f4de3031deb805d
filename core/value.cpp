#include "value.h"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace poolscope {

static_assert(sizeof(Value) == 16, "a kind and one word: lists of scalars stay compact");

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

void Value::wrongKind()
{
    throw std::bad_variant_access();
}

void Value::copyHeap(const Value& other)
{
    if (m_kind == Kind::Str)
        m_bits.s = new std::string(*other.m_bits.s);
    else
        m_bits.l = new List(*other.m_bits.l);
}

void Value::release() noexcept
{
    if (m_kind == Kind::Str)
        delete m_bits.s;
    else
        delete m_bits.l;
}

bool Value::operator==(const Value& other) const
{
    if (m_kind != other.m_kind)
        return false;
    switch (m_kind) {
    case Kind::None:
        return true;
    case Kind::Bool:
    case Kind::Int:
        return m_bits.i == other.m_bits.i;
    case Kind::Float:
        return m_bits.f == other.m_bits.f;
    case Kind::Str:
        return *m_bits.s == *other.m_bits.s;
    case Kind::List:
    case Kind::Tuple:
        return *m_bits.l == *other.m_bits.l;
    }
    return false;
}

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
