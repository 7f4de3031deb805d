#pragma once

#include "value.h"
#include "wire.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace poolscope {

// Reads MessagePack (the wire format, see wire.h) from a byte span: whole Values, or a message's
// fields one by one into containers the caller keeps, so that a hot path (a worker's report of
// thousands of results) reuses its buffers instead of building a Value tree and copying out of
// it. Every read is bounds-checked and every declared size is checked against limits and the
// bytes left before anything is allocated; bad input throws WireError, never crashes.
class WireReader
{
public:
    explicit WireReader(std::span<const std::uint8_t> bytes);

    bool atEnd() const { return m_p == m_end; }
    void expectEnd() const; // throws unless every byte was read

    Value value();                                // any value
    std::size_t arrayHeader();                    // an array's length; its items follow
    std::int64_t integer();                       // an int
    bool boolean();                               // a bool
    bool nil();                                   // true (and consumed) if None comes next
    void list(Value::List& out);                  // a list, plain or packed, into out
    void intList(std::vector<std::int64_t>& out); // a list of ints into out
    void intList(IntList& out);
    // A list: into ints when it is packed (true; values cleared), else into values (false).
    bool packedOrList(IntList& ints, Value::List& values);
    std::string string();                     // a str
    void floatList(std::vector<double>& out); // a list of numbers into out

private:
    template <class Ints> void readInts(Ints& out);
    Value value(int depth);
    // An int form's value, its type byte b already read; false (nothing more read) for any
    // other type.
    bool intBody(std::uint8_t b, std::int64_t& out);
    void fillArray(std::size_t n, int depth, Value::List& out);
    void fillPacked(std::size_t size, Value::List& out);
    std::span<const std::uint8_t> packed(std::size_t size); // an ext's checked payload
    bool isListStart(std::uint8_t b, std::size_t& n, bool& packedInts);
    std::size_t listHeader(bool& packedInts); // a list's length (bytes, when packed); else throws
    Value map(std::size_t n, int depth);
    bool tupleKey();
    Value str(std::size_t n);
    std::size_t left() const { return std::size_t(m_end - m_p); }
    void need(std::size_t n);
    [[noreturn]] void truncated(std::size_t n) const;
    std::uint8_t u8();
    template <typename T> T be();

    const std::uint8_t* m_begin;
    const std::uint8_t* m_p;
    const std::uint8_t* m_end;
};

} // namespace poolscope
