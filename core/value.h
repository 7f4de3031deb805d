#pragma once

#include <bit>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace poolscope {

// A Python-like value: what tasks take and return, and what crosses the wire.
// Plain value type; repr() prints it the way Python's repr() would.
//
// 16 bytes: a kind and either a scalar or an owning pointer to a string or a list. Scalars, the
// common case of a large map, copy and move as two words, so that lists of 100,000 of them are
// cheap to build, copy, move and destroy; strings and lists are deep-copied, like the variant
// this replaced.
class Value
{
public:
    using List = std::vector<Value>;
    struct Tuple
    {
        List items;
        bool operator==(const Tuple&) const = default;
    };
    enum class Kind : std::uint8_t
    {
        None,
        Bool,
        Int,
        Float,
        Str,
        List,
        Tuple
    };

    Value() noexcept { m_bits.i = 0; }
    Value(std::nullptr_t) noexcept : Value() {}
    Value(bool b) noexcept : m_kind(Kind::Bool) { m_bits.i = b ? 1 : 0; }
    Value(int i) noexcept : Value(static_cast<long long>(i)) {}
    Value(long i) noexcept : Value(static_cast<long long>(i)) {}
    Value(long long i) noexcept : m_kind(Kind::Int) { m_bits.i = i; }
    Value(double d) noexcept : m_kind(Kind::Float) { m_bits.f = d; }
    Value(std::string s) : m_kind(Kind::Str) { m_bits.s = new std::string(std::move(s)); }
    Value(const char* s) : Value(std::string(s)) {}
    Value(List l) : m_kind(Kind::List) { m_bits.l = new List(std::move(l)); }
    Value(Tuple t) : m_kind(Kind::Tuple) { m_bits.l = new List(std::move(t.items)); }

    Value(const Value& other) : m_kind(other.m_kind), m_bits(other.m_bits)
    {
        if (onHeap())
            copyHeap(other);
    }
    Value(Value&& other) noexcept : m_kind(other.m_kind), m_bits(other.m_bits)
    {
        other.m_kind = Kind::None;
    }
    Value& operator=(const Value& other)
    {
        if (!onHeap() && !other.onHeap()) {
            m_kind = other.m_kind;
            m_bits = other.m_bits;
        } else if (this != &other) {
            Value copy(other);
            swap(copy);
        }
        return *this;
    }
    Value& operator=(Value&& other) noexcept
    {
        if (this != &other) {
            if (onHeap())
                release();
            m_kind = std::exchange(other.m_kind, Kind::None);
            m_bits = other.m_bits;
        }
        return *this;
    }
    ~Value()
    {
        if (onHeap())
            release();
    }
    void swap(Value& other) noexcept
    {
        std::swap(m_kind, other.m_kind);
        std::swap(m_bits, other.m_bits);
    }

    static Value tuple(List items) { return Value(Tuple{std::move(items)}); }

    Kind kind() const { return m_kind; }
    bool isNone() const { return m_kind == Kind::None; }
    bool isBool() const { return m_kind == Kind::Bool; }
    bool isInt() const { return m_kind == Kind::Int; }
    bool isFloat() const { return m_kind == Kind::Float; }
    bool isStr() const { return m_kind == Kind::Str; }
    bool isList() const { return m_kind == Kind::List; }
    bool isTuple() const { return m_kind == Kind::Tuple; }

    // The 64 bits of an int, a bool (0 or 1) or a float (its pattern), with no check of the
    // kind: for loops over a column of one known kind. Meaningless for the other kinds (None
    // included: a Value moved from keeps its old bits).
    std::int64_t scalarBits() const noexcept { return std::bit_cast<std::int64_t>(m_bits); }

    // Accessors throw std::bad_variant_access on the wrong kind.
    bool asBool() const { return expect(Kind::Bool).i != 0; }
    std::int64_t asInt() const { return expect(Kind::Int).i; }
    double asFloat() const { return expect(Kind::Float).f; }
    const std::string& asStr() const { return *expect(Kind::Str).s; }
    const List& asList() const { return *expect(Kind::List).l; }
    List& asList() { return *expect(Kind::List).l; } // to move a decoded list out
    const List& asTuple() const { return *expect(Kind::Tuple).l; }
    // Items of a list or a tuple (a tuple of arguments for starmap).
    const List& items() const;

    // Python's repr(): None, True, 25, 1.5, 'text', [1, 4], (10000019, True).
    std::string repr() const;
    // Python's str(): like repr() except that a string prints bare.
    std::string str() const;

    // Same kind and equal contents (1 and 1.0, or True and 1, differ, as kinds do here).
    bool operator==(const Value& other) const;

private:
    union Bits {
        std::int64_t i;
        double f;
        std::string* s;
        List* l;
    };

    bool onHeap() const { return m_kind >= Kind::Str; }
    const Bits& expect(Kind kind) const
    {
        if (m_kind != kind)
            wrongKind();
        return m_bits;
    }
    [[noreturn]] static void wrongKind();
    void copyHeap(const Value& other); // m_kind set, m_bits still the other's pointer
    void release() noexcept;           // frees the string or list; leaves m_kind as it was

    Kind m_kind = Kind::None;
    Bits m_bits;
};

} // namespace poolscope
