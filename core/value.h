#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace poolscope {

// A Python-like value: what tasks take and return, and what crosses the wire.
// Plain value type; repr() prints it the way Python's repr() would.
class Value
{
public:
    using List = std::vector<Value>;
    struct Tuple
    {
        List items;
        bool operator==(const Tuple&) const = default;
    };
    enum class Kind
    {
        None,
        Bool,
        Int,
        Float,
        Str,
        List,
        Tuple
    };

    Value() = default;
    Value(std::nullptr_t) {}
    Value(bool b) : m_data(b) {}
    Value(int i) : m_data(static_cast<std::int64_t>(i)) {}
    Value(long i) : m_data(static_cast<std::int64_t>(i)) {}
    Value(long long i) : m_data(static_cast<std::int64_t>(i)) {}
    Value(double d) : m_data(d) {}
    Value(std::string s) : m_data(std::move(s)) {}
    Value(const char* s) : m_data(std::string(s)) {}
    Value(List l) : m_data(std::move(l)) {}
    Value(Tuple t) : m_data(std::move(t)) {}

    static Value tuple(List items) { return Value(Tuple{std::move(items)}); }

    Kind kind() const { return static_cast<Kind>(m_data.index()); }
    bool isNone() const { return kind() == Kind::None; }
    bool isBool() const { return kind() == Kind::Bool; }
    bool isInt() const { return kind() == Kind::Int; }
    bool isFloat() const { return kind() == Kind::Float; }
    bool isStr() const { return kind() == Kind::Str; }
    bool isList() const { return kind() == Kind::List; }
    bool isTuple() const { return kind() == Kind::Tuple; }

    // Accessors throw std::bad_variant_access on the wrong kind.
    bool asBool() const { return std::get<bool>(m_data); }
    std::int64_t asInt() const { return std::get<std::int64_t>(m_data); }
    double asFloat() const { return std::get<double>(m_data); }
    const std::string& asStr() const { return std::get<std::string>(m_data); }
    const List& asList() const { return std::get<List>(m_data); }
    List& asList() { return std::get<List>(m_data); } // to move a decoded list out
    const List& asTuple() const { return std::get<Tuple>(m_data).items; }
    // Items of a list or a tuple (a tuple of arguments for starmap).
    const List& items() const;

    // Python's repr(): None, True, 25, 1.5, 'text', [1, 4], (10000019, True).
    std::string repr() const;
    // Python's str(): like repr() except that a string prints bare.
    std::string str() const;

    bool operator==(const Value&) const = default;

private:
    std::variant<std::monostate, bool, std::int64_t, double, std::string, List, Tuple> m_data;
};

} // namespace poolscope
