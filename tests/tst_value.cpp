#include "taskcontext.h"
#include "taskerror.h"
#include "taskoptions.h"
#include "taskregistry.h"
#include "value.h"
#include "valuetestutil.h"
#include "valuewriter.h"
#include "wire.h"
#include "wirereader.h"

#include <QTest>
#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <random>
#include <unistd.h>

using namespace poolscope;

Q_DECLARE_METATYPE(poolscope::Value)

namespace {

// "cd 01 00" -> {0xcd, 0x01, 0x00}: expected encodings written the way the MessagePack spec
// shows them.
Bytes hex(const char* text)
{
    Bytes out;
    const QByteArray raw = QByteArray::fromHex(QByteArray(text).replace(' ', ""));
    out.assign(raw.begin(), raw.end());
    return out;
}

Bytes concat(Bytes a, const Bytes& b)
{
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// A list of n items of mixed kinds, so that it is never sent packed.
Value::List mixedItems(std::size_t n)
{
    Value::List l;
    l.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        switch (i % 5) {
        case 0:
            l.emplace_back(static_cast<long long>(i) * 1000003);
            break;
        case 1:
            l.emplace_back("s" + std::to_string(i));
            break;
        case 2:
            l.emplace_back();
            break;
        case 3:
            l.emplace_back(double(i) + 0.5);
            break;
        default:
            l.emplace_back(i % 2 == 0);
        }
    }
    return l;
}

// Decodes, and tells whether it threw WireError (anything else fails the test via `other`).
bool decodeFails(const Bytes& bytes, QString* other)
{
    try {
        decodeValue(bytes);
        return false;
    } catch (const WireError& e) {
        if (!QString::fromUtf8(e.what()).startsWith("malformed"))
            *other = "WireError without 'malformed': " + QString::fromUtf8(e.what());
        return true;
    } catch (const std::exception& e) {
        *other = QString("not a WireError: ") + e.what();
        return true;
    }
}

} // namespace

class TestValue : public QObject
{
    Q_OBJECT

private slots:
    void repr_data()
    {
        QTest::addColumn<int>("which");
        QTest::addColumn<QString>("expected");
        QTest::newRow("none") << 0 << "None";
        QTest::newRow("true") << 1 << "True";
        QTest::newRow("int") << 2 << "25";
        QTest::newRow("negative") << 3 << "-7";
        QTest::newRow("float") << 4 << "1.5";
        QTest::newRow("float integral") << 5 << "2.0";
        QTest::newRow("string") << 6 << "'boom'";
        QTest::newRow("string with quote") << 7 << "\"it's\"";
        QTest::newRow("list") << 8 << "[1, 4, 9, 16, 25]";
        QTest::newRow("tuple pairs") << 9 << "[(10000019, True), (10000091, False)]";
        QTest::newRow("one-tuple") << 10 << "(1,)";
        QTest::newRow("empty list") << 11 << "[]";
    }
    void repr()
    {
        QFETCH(int, which);
        QFETCH(QString, expected);
        const Value values[] = {
            Value(),
            Value(true),
            Value(25),
            Value(-7),
            Value(1.5),
            Value(2.0),
            Value("boom"),
            Value("it's"),
            Value(Value::List{1, 4, 9, 16, 25}),
            Value(Value::List{Value::tuple({10000019, true}), Value::tuple({10000091, false})}),
            Value::tuple({1}),
            Value(Value::List{}),
        };
        QCOMPARE(QString::fromStdString(values[which].repr()), expected);
    }

    // Value holds strings and lists behind a pointer: copies must be deep, moves must leave
    // None behind, and assignment between every pair of kinds must leave the right contents.
    void copiesAreDeepAndMovesLeaveNone()
    {
        Value list(Value::List{1, "two", Value::List{3.5, Value::tuple({true})}});
        Value copy = list;
        list.asList().push_back("more");
        list.asList()[1] = Value(2);
        QCOMPARE(copy.repr(), std::string("[1, 'two', [3.5, (True,)]]"));
        QCOMPARE(list.repr(), std::string("[1, 2, [3.5, (True,)], 'more']"));

        Value moved = std::move(list);
        QVERIFY(list.isNone()); // NOLINT(bugprone-use-after-move): the state is the test
        QCOMPARE(moved.asList().size(), std::size_t(4));

        const std::vector<Value> kinds{Value(),
                                       Value(true),
                                       Value(7),
                                       Value(2.5),
                                       Value("s"),
                                       Value(Value::List{1, 2}),
                                       Value::tuple({"t"})};
        for (const Value& from : kinds) {
            for (const Value& to : kinds) {
                Value target = to;
                target = from;
                QCOMPARE(target, from);
                Value source = from;
                Value target2 = to;
                target2 = std::move(source);
                QCOMPARE(target2, from);
            }
            Value self = from;
            const Value& alias = self;
            self = alias;
            QCOMPARE(self, from);
        }
    }

    void equalityNeedsTheSameKind()
    {
        QVERIFY(Value(1) != Value(1.0));
        QVERIFY(Value(true) != Value(1));
        QVERIFY(Value(Value::List{1}) != Value::tuple({1}));
        QVERIFY(Value("a") != Value("b"));
        QVERIFY(Value(Value::List{1, "a"}) == Value(Value::List{1, "a"}));
        QVERIFY(Value() == Value(nullptr));
    }

    void wrongKindThrows()
    {
        QVERIFY_THROWS_EXCEPTION(std::bad_variant_access, Value(3).asStr());
        QVERIFY_THROWS_EXCEPTION(std::bad_variant_access, Value("3").asInt());
        QVERIFY_THROWS_EXCEPTION(std::bad_variant_access, Value::tuple({}).asList());
        QCOMPARE(Value::tuple({1, 2}).items().size(), std::size_t(2));
    }

    void wireRoundTrip()
    {
        const Value v(Value::List{Value(), true, 3, -4000000000LL, 0.25, 2.0, -0.0, "text",
                                  Value::tuple({1, "a"}), Value::List{Value::List{}}});
        const Bytes bytes = encodeValue(v);
        QCOMPARE(decodeValue(bytes), v);
        QVERIFY(decodeValue(encodeValue(Value(2.0))).isFloat()); // a float stays a float
        QVERIFY(decodeValue(encodeValue(Value(2))).isInt());
    }

    // Lists of ints travel packed (a MessagePack ext); they come back as the same Values, and
    // short or mixed lists stay plain arrays.
    void packedIntLists()
    {
        Value::List ints;
        for (long long i = -5; i < 300; ++i)
            ints.emplace_back(i * i * (i % 2 ? -1 : 1));
        ints.emplace_back(std::numeric_limits<long long>::min());
        ints.emplace_back(std::numeric_limits<long long>::max());
        const Bytes packed = encodeValue(Value(ints));
        QCOMPARE(decodeValue(packed), Value(ints));
        QVERIFY(packed.size() < ints.size() * 8 + 16); // one block, not 307 MessagePack ints

        Value::List mixed = ints;
        mixed[100] = Value(1.5);
        QCOMPARE(decodeValue(encodeValue(Value(mixed))), Value(mixed));
        const Value nested(Value::List{Value(ints), Value::tuple(ints), Value("x")});
        QCOMPARE(decodeValue(encodeValue(nested)), nested);
        const Value shortList(Value::List{1, 2, 3});
        QCOMPARE(decodeValue(encodeValue(shortList)), shortList);

        // A packed block whose size is not a multiple of 8, or an unknown extension, is refused.
        Bytes bad = packed;
        QCOMPARE(bad[0], std::uint8_t(0xc8)); // ext 16: size (2 bytes, big-endian), type, data
        QCOMPARE(bad[3], std::uint8_t(kPackedIntsExt));
        bad[2] = std::uint8_t(bad[2] - 1);
        bad.pop_back();
        QVERIFY_THROWS_EXCEPTION(WireError, decodeValue(bad));
        Bytes unknown = packed;
        unknown[3] = 7;
        QVERIFY_THROWS_EXCEPTION(WireError, decodeValue(unknown));
    }

    void wireRejectsGarbage()
    {
        const Bytes junk = {0xc1, 0xff, 0x00};
        QVERIFY_THROWS_EXCEPTION(WireError, decodeValue(junk));
        const Bytes truncated = {0x93, 0x01}; // array of 3 with one element
        QVERIFY_THROWS_EXCEPTION(WireError, decodeValue(truncated));
    }

    // Ints take the smallest MessagePack form (what msgpack-cxx chose, so the wire did not
    // change with the hand-written codec); the bytes are the spec's.
    void intEncodings_data()
    {
        QTest::addColumn<qint64>("value");
        QTest::addColumn<QByteArray>("expected");
        const auto row = [](const char* name, qint64 v, const char* bytes) {
            QTest::newRow(name) << v << QByteArray(bytes);
        };
        row("0", 0, "00");
        row("127", 127, "7f");
        row("128", 128, "cc 80");
        row("255", 255, "cc ff");
        row("256", 256, "cd 01 00");
        row("65535", 65535, "cd ff ff");
        row("65536", 65536, "ce 00 01 00 00");
        row("2^32-1", 4294967295LL, "ce ff ff ff ff");
        row("2^32", 4294967296LL, "cf 00 00 00 01 00 00 00 00");
        row("INT64_MAX", std::numeric_limits<qint64>::max(), "cf 7f ff ff ff ff ff ff ff");
        row("-1", -1, "ff");
        row("-32", -32, "e0");
        row("-33", -33, "d0 df");
        row("-128", -128, "d0 80");
        row("-129", -129, "d1 ff 7f");
        row("-32768", -32768, "d1 80 00");
        row("-32769", -32769, "d2 ff ff 7f ff");
        row("INT32_MIN", std::numeric_limits<qint32>::min(), "d2 80 00 00 00");
        row("INT32_MIN-1", qint64(std::numeric_limits<qint32>::min()) - 1,
            "d3 ff ff ff ff 7f ff ff ff");
        row("INT64_MIN", std::numeric_limits<qint64>::min(), "d3 80 00 00 00 00 00 00 00");
    }
    void intEncodings()
    {
        QFETCH(qint64, value);
        QFETCH(QByteArray, expected);
        const Bytes bytes = hex(expected.constData());
        const Value v(static_cast<long long>(value));
        QCOMPARE(encodeValue(v), bytes);
        Bytes written;
        ValueWriter(written).writeInt(value);
        QCOMPARE(written, bytes);
        QCOMPARE(decodeValue(bytes), v);
        // In a short list (a plain array) and in a long one (packed), both ways of writing.
        const std::vector<std::int64_t> few{value, -(value / 2), value};
        Bytes fewBytes;
        ValueWriter(fewBytes).writeIntList(few);
        Bytes expectedFew = hex("93");
        for (const auto x : few)
            expectedFew = concat(expectedFew, encodeValue(Value(static_cast<long long>(x))));
        QCOMPARE(fewBytes, expectedFew);
        const std::vector<std::int64_t> many(kPackedIntsMin + 1, value);
        Bytes manyBytes;
        ValueWriter(manyBytes).writeIntList(many);
        QCOMPARE(decodeValue(manyBytes), Value(Value::List(many.size(), v)));
        QCOMPARE(encodeValue(Value(Value::List(many.size(), v))), manyBytes);
    }

    void otherEncodings_data()
    {
        QTest::addColumn<Value>("value");
        QTest::addColumn<QByteArray>("expected");
        QTest::newRow("None") << Value() << QByteArray("c0");
        QTest::newRow("False") << Value(false) << QByteArray("c2");
        QTest::newRow("True") << Value(true) << QByteArray("c3");
        QTest::newRow("2.0 stays float64")
            << Value(2.0) << QByteArray("cb 40 00 00 00 00 00 00 00");
        QTest::newRow("-0.5") << Value(-0.5) << QByteArray("cb bf e0 00 00 00 00 00 00");
        QTest::newRow("''") << Value("") << QByteArray("a0");
        QTest::newRow("'abc'") << Value("abc") << QByteArray("a3 61 62 63");
        QTest::newRow("[]") << Value(Value::List{}) << QByteArray("90");
        QTest::newRow("[1, 'a', None]")
            << Value(Value::List{1, "a", Value()}) << QByteArray("93 01 a1 61 c0");
        QTest::newRow("()") << Value::tuple({}) << QByteArray("81 a1 74 90");
        QTest::newRow("(1,)") << Value::tuple({1}) << QByteArray("81 a1 74 91 01");
        QTest::newRow("7 ints stay plain")
            << Value(Value::List{1, 2, 3, 4, 5, 6, 7}) << QByteArray("97 01 02 03 04 05 06 07");
        QTest::newRow("8 ints packed (ext 8)")
            << Value(Value::List{1, 2, 3, 4, 5, 6, 7, -1})
            << QByteArray("c7 40 01"
                          "0100000000000000 0200000000000000 0300000000000000 0400000000000000"
                          "0500000000000000 0600000000000000 0700000000000000 ffffffffffffffff");
        QTest::newRow("8 ints and a float stay plain")
            << Value(Value::List{1, 2, 3, 4, 5, 6, 7, 8, 0.5})
            << QByteArray("99 01 02 03 04 05 06 07 08 cb 3f e0 00 00 00 00 00 00");
        QTest::newRow("packed in a tuple")
            << Value::tuple({0, 0, 0, 0, 0, 0, 0, 256})
            << QByteArray("81 a1 74 c7 40 01"
                          "0000000000000000 0000000000000000 0000000000000000 0000000000000000"
                          "0000000000000000 0000000000000000 0000000000000000 0001000000000000");
    }
    void otherEncodings()
    {
        QFETCH(Value, value);
        QFETCH(QByteArray, expected);
        const Bytes bytes = hex(expected.constData());
        QCOMPARE(encodeValue(value), bytes);
        Bytes written;
        ValueWriter(written).write(value);
        QCOMPARE(written, bytes);
        const Value back = decodeValue(bytes);
        QCOMPARE(back, value);
        QCOMPARE(back.kind(), value.kind());
    }

    // The typed writers produce what write(Value) does.
    void writerMatchesEncodeValue()
    {
        Bytes w;
        const std::vector<double> floats{2.0, -0.0, 1e300, 0.1};
        const std::vector<std::int64_t> ints{1, 300, -70000};
        ValueWriter(w).beginList(6).writeFloatList(floats).writeIntList(ints).writeStr("tx");
        ValueWriter(w).writeBool(false).writeNone().writeInt(-129);
        const Value expected(Value::List{Value::List{2.0, -0.0, 1e300, 0.1},
                                         Value::List{1, 300, -70000}, "tx", false, Value(), -129});
        QCOMPARE(w, encodeValue(expected));
        QCOMPARE(decodeValue(w), expected);
        Bytes empty;
        ValueWriter(empty).writeFloatList({}).writeIntList({});
        QCOMPARE(empty, hex("90 90"));
    }

    // writeListOnRun writes exactly what writeList does, and tells whether the items are the
    // arithmetic run asked about: long lists (the packed pass), short ones, lists that fall
    // back to a plain array part way, steps that wrap.
    void listOnRun_data()
    {
        QTest::addColumn<Value::List>("items");
        QTest::addColumn<qint64>("from");
        QTest::addColumn<qint64>("step");
        QTest::addColumn<bool>("onRun");
        const auto ints = test::intRun;
        QTest::newRow("long run") << ints(5, 3, 100) << qint64(5) << qint64(3) << true;
        QTest::newRow("long run, asked from elsewhere")
            << ints(5, 3, 100) << qint64(8) << qint64(3) << false;
        Value::List off = ints(5, 3, 100);
        off[70] = Value(0);
        QTest::newRow("long, one off") << off << qint64(5) << qint64(3) << false;
        Value::List floatLast = ints(5, 3, 100);
        floatLast[99] = Value(308.0);
        QTest::newRow("long, a float last") << floatLast << qint64(5) << qint64(3) << false;
        QTest::newRow("short run") << ints(-2, -1, 5) << qint64(-2) << qint64(-1) << true;
        Value::List boolIn = ints(0, 1, 5);
        boolIn[1] = Value(true);
        QTest::newRow("short, a bool for 1") << boolIn << qint64(0) << qint64(1) << false;
        QTest::newRow("one") << ints(7, 0, 1) << qint64(7) << qint64(99) << true;
        const std::int64_t top = std::numeric_limits<std::int64_t>::max();
        QTest::newRow("wrapping") << ints(top - 20, 9, 50) << qint64(top - 20) << qint64(9) << true;
        QTest::newRow("none first")
            << Value::List{Value(), Value(1)} << qint64(0) << qint64(1) << false;
    }

    void listOnRun()
    {
        QFETCH(Value::List, items);
        QFETCH(qint64, from);
        QFETCH(qint64, step);
        QFETCH(bool, onRun);
        Bytes plain;
        ValueWriter(plain).writeList(items);
        Bytes checked{0xaa}; // after bytes already there, as in a chunk
        QCOMPARE(ValueWriter(checked).writeListOnRun(items, from, step), onRun);
        QCOMPARE(Bytes(checked.begin() + 1, checked.end()), plain);
    }

    void stringLengths_data()
    {
        QTest::addColumn<int>("length");
        QTest::addColumn<QByteArray>("header");
        QTest::newRow("0") << 0 << QByteArray("a0");
        QTest::newRow("31") << 31 << QByteArray("bf");
        QTest::newRow("32") << 32 << QByteArray("d9 20");
        QTest::newRow("255") << 255 << QByteArray("d9 ff");
        QTest::newRow("256") << 256 << QByteArray("da 01 00");
        QTest::newRow("65535") << 65535 << QByteArray("da ff ff");
        QTest::newRow("65536") << 65536 << QByteArray("db 00 01 00 00");
    }
    void stringLengths()
    {
        QFETCH(int, length);
        QFETCH(QByteArray, header);
        std::string s(std::size_t(length), ' ');
        for (int i = 0; i < length; ++i)
            s[std::size_t(i)] = char('a' + i % 26);
        const Bytes bytes = encodeValue(Value(s));
        const Bytes h = hex(header.constData());
        QCOMPARE(bytes.size(), h.size() + s.size());
        QVERIFY(std::equal(h.begin(), h.end(), bytes.begin()));
        QCOMPARE(decodeValue(bytes), Value(s));
        Bytes written;
        ValueWriter(written).writeStr(s);
        QCOMPARE(written, bytes);
    }

    void listLengths_data()
    {
        QTest::addColumn<int>("length");
        QTest::addColumn<QByteArray>("header");
        QTest::newRow("15") << 15 << QByteArray("9f");
        QTest::newRow("16") << 16 << QByteArray("dc 00 10");
        QTest::newRow("65535") << 65535 << QByteArray("dc ff ff");
        QTest::newRow("65536") << 65536 << QByteArray("dd 00 01 00 00");
    }
    void listLengths()
    {
        QFETCH(int, length);
        QFETCH(QByteArray, header);
        const Value v(mixedItems(std::size_t(length)));
        const Bytes bytes = encodeValue(v);
        const Bytes h = hex(header.constData());
        QVERIFY(std::equal(h.begin(), h.end(), bytes.begin()));
        QCOMPARE(bytes[h.size()], std::uint8_t(0x00)); // the first item: int 0
        const Value back = decodeValue(bytes);
        QCOMPARE(back, v);
        QCOMPARE(back.asList().size(), std::size_t(length));
        Bytes written;
        ValueWriter w(written);
        w.beginList(std::size_t(length));
        for (const auto& item : v.asList())
            w.write(item);
        QCOMPARE(written, bytes);
    }

    void nesting()
    {
        Value::List ints;
        for (int i = 0; i < 20; ++i)
            ints.emplace_back(i * 7919);
        const Value v(Value::List{
            Value::tuple({Value::tuple({}), Value::tuple({Value::List{1, Value::tuple({"x"})}}),
                          Value(ints), Value::tuple(ints)}),
            Value::List{Value::List{Value::List{}}, Value::tuple({Value(), 2.5, false})},
            Value::tuple({Value::tuple({Value::tuple({-40000, "deep"})})})});
        QCOMPARE(decodeValue(encodeValue(v)), v);
        QCOMPARE(decodeValue(encodeValue(v)).repr(), v.repr());

        // 64 nested lists decode; one more is refused, and so is a very deep hostile nesting
        // (no stack overflow).
        const auto nested = [](std::size_t depth) {
            Bytes b(depth, 0x91);
            b.push_back(0x01);
            return b;
        };
        Value inner(1);
        for (int i = 0; i < 64; ++i)
            inner = Value(Value::List{inner});
        QCOMPARE(decodeValue(nested(64)), inner);
        QVERIFY_THROWS_EXCEPTION(WireError, decodeValue(nested(65)));
        QVERIFY_THROWS_EXCEPTION(WireError, decodeValue(nested(1'000'000)));
    }

    void packedSizes()
    {
        for (const std::size_t n : {std::size_t(8), std::size_t(100'000)}) {
            Value::List l;
            std::vector<std::int64_t> raw;
            for (std::size_t i = 0; i < n; ++i) {
                const std::int64_t x = std::int64_t(i * i) * (i % 2 ? -1 : 1);
                l.emplace_back(x);
                raw.push_back(x);
            }
            const Bytes bytes = encodeValue(Value(l));
            const Bytes h = n == 8 ? hex("c7 40 01") : hex("c9 00 0c 35 00 01"); // 800,000
            QCOMPARE(bytes.size(), h.size() + 8 * n);
            QVERIFY(std::equal(h.begin(), h.end(), bytes.begin()));
            std::int64_t last;
            std::memcpy(&last, bytes.data() + bytes.size() - 8, 8); // little-endian on the wire
            QCOMPARE(last, raw.back());
            QCOMPARE(decodeValue(bytes), Value(l));
            Bytes written;
            ValueWriter(written).writeIntList(raw);
            QCOMPARE(written, bytes);
        }
    }

    // Forms our encoder never writes but another MessagePack encoder may.
    void foreignForms_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<Value>("expected");
        const auto row = [](const char* name, const char* bytes, const Value& v) {
            QTest::newRow(name) << QByteArray(bytes) << v;
        };
        row("float32 1.5", "ca 3f c0 00 00", Value(1.5));
        row("float32 -0.25", "ca be 80 00 00", Value(-0.25));
        row("float32 2.0 is a float", "ca 40 00 00 00", Value(2.0));
        row("1 as uint8", "cc 01", Value(1));
        row("1 as uint16", "cd 00 01", Value(1));
        row("1 as uint32", "ce 00 00 00 01", Value(1));
        row("1 as uint64", "cf 00 00 00 00 00 00 00 01", Value(1));
        row("5 as int8", "d0 05", Value(5));
        row("-1 as int16", "d1 ff ff", Value(-1));
        row("-1 as int32", "d2 ff ff ff ff", Value(-1));
        row("-1 as int64", "d3 ff ff ff ff ff ff ff ff", Value(-1));
        row("7 as int64", "d3 00 00 00 00 00 00 00 07", Value(7));
        row("'abc' as str8", "d9 03 61 62 63", Value("abc"));
        row("'abc' as str16", "da 00 03 61 62 63", Value("abc"));
        row("'abc' as str32", "db 00 00 00 03 61 62 63", Value("abc"));
        row("[1, 2] as array16", "dc 00 02 01 02", Value(Value::List{1, 2}));
        row("[1, 2] as array32", "dd 00 00 00 02 01 02", Value(Value::List{1, 2}));
        row("tuple as map16, str8 key", "de 00 01 d9 01 74 92 01 02", Value::tuple({1, 2}));
        row("tuple as map32, str16 key", "df 00 00 00 01 da 00 01 74 90", Value::tuple({}));
        row("packed fixext 8", "d7 01 2a 00 00 00 00 00 00 00", Value(Value::List{42}));
        row("packed fixext 16", "d8 01 01 00 00 00 00 00 00 00 fe ff ff ff ff ff ff ff",
            Value(Value::List{1, -2}));
        row("packed, empty", "c7 00 01", Value(Value::List{}));
        row("packed ext16", "c8 00 08 01 03 00 00 00 00 00 00 00", Value(Value::List{3}));
        row("packed ext32", "c9 00 00 00 08 01 03 00 00 00 00 00 00 00", Value(Value::List{3}));
        row("tuple of packed", "81 a1 74 d7 01 09 00 00 00 00 00 00 00", Value::tuple({9}));
    }
    void foreignForms()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(Value, expected);
        const Value v = decodeValue(hex(bytes.constData()));
        QCOMPARE(v, expected);
        QCOMPARE(v.kind(), expected.kind());
    }

    void malformed_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("message"); // a part of the error message
        const auto row = [](const char* name, const char* bytes, const char* message) {
            QTest::newRow(name) << QByteArray(bytes) << QString(message);
        };
        row("empty", "", "truncated");
        row("never-used 0xc1", "c1", "unsupported MessagePack type");
        row("bin8", "c4 01 00", "unsupported MessagePack type");
        row("uint64 above INT64_MAX", "cf 80 00 00 00 00 00 00 00", "integer out of range");
        row("trailing bytes", "01 02", "trailing bytes");
        row("truncated uint32", "ce 00 01", "truncated");
        row("truncated float64", "cb 40 00", "truncated");
        row("truncated string", "a3 61 62", "truncated");
        row("truncated array", "93 a1 61 01", "truncated");
        row("array32 of 4G in 5 bytes", "dd ff ff ff ff", "array of 4294967295");
        row("array above 16M", "dd 01 00 00 01 00", "limit");
        row("array longer than the bytes", "dc 00 05 01 02", "array of 5");
        row("str32 of 4G", "db ff ff ff ff 61", "limit");
        row("str32 longer than the bytes", "db 00 00 10 00 61", "truncated");
        row("ext32 of 4G", "c9 ff ff ff ff 01", "limit");
        row("ext longer than the bytes", "c9 00 00 01 00 01 00", "truncated");
        row("ext of 1 byte", "d4 01 00", "unknown MessagePack extension");
        row("ext of another type", "d7 02 00 00 00 00 00 00 00 00",
            "unknown MessagePack extension");
        row("map of 2", "82 a1 74 90 a1 75 90", "unexpected map");
        row("map of 0", "80", "unexpected map");
        row("map key 'u'", "81 a1 75 90", "unexpected map");
        row("map key 'tt'", "81 a2 74 74 90", "unexpected map");
        row("map key int", "81 01 90", "unexpected map");
        row("map value int", "81 a1 74 01", "unexpected map");
        row("map value str", "81 a1 74 a1 74", "unexpected map");
        row("map without value", "81 a1 74", "truncated");
    }
    void malformed()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, message);
        try {
            decodeValue(hex(bytes.constData()));
            QFAIL("decoded");
        } catch (const WireError& e) {
            const QString what = QString::fromUtf8(e.what());
            QVERIFY2(what.startsWith("malformed") && what.contains(message), e.what());
        }
    }

    // WireReader::integer reads each MessagePack int form itself (a report's fields), as
    // value() does: the same numbers, and the same errors for an int out of range, a
    // truncated one, or something else.
    void integerForms_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<qint64>("expected");
        QTest::addColumn<QString>("message"); // empty: no error
        const auto ok = [](const char* name, const char* bytes, qint64 v) {
            QTest::newRow(name) << QByteArray(bytes) << v << QString();
        };
        const auto bad = [](const char* name, const char* bytes, const char* message) {
            QTest::newRow(name) << QByteArray(bytes) << qint64(0) << QString(message);
        };
        ok("positive fixint", "7f", 127);
        ok("negative fixint", "e0", -32);
        ok("uint8", "cc ff", 255);
        ok("uint16", "cd ff fe", 65534);
        ok("uint32", "ce ff ff ff fd", 4294967293);
        ok("uint64", "cf 17 e2 a9 0c 3a 1b 5d 00", 0x17e2a90c3a1b5d00);
        ok("uint64 INT64_MAX", "cf 7f ff ff ff ff ff ff ff", std::numeric_limits<qint64>::max());
        ok("int8", "d0 80", -128);
        ok("int16", "d1 80 00", -32768);
        ok("int32", "d2 80 00 00 00", std::numeric_limits<std::int32_t>::min());
        ok("int64", "d3 80 00 00 00 00 00 00 00", std::numeric_limits<qint64>::min());
        bad("uint64 above INT64_MAX", "cf 80 00 00 00 00 00 00 00", "integer out of range");
        bad("truncated uint64", "cf 00 01", "truncated");
        bad("truncated int32", "d2 ff", "truncated");
        bad("truncated uint8", "cc", "truncated");
        bad("empty", "", "truncated");
        bad("a float", "cb 40 00 00 00 00 00 00 00", "an integer expected");
        bad("a bool", "c3", "an integer expected");
        bad("nil", "c0", "an integer expected");
    }
    void integerForms()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(qint64, expected);
        QFETCH(QString, message);
        const Bytes in = hex(bytes.constData());
        WireReader reader(in);
        try {
            const std::int64_t v = reader.integer();
            QVERIFY2(message.isEmpty(), qPrintable("read " + QString::number(v)));
            QCOMPARE(v, expected);
            QVERIFY(reader.atEnd());
        } catch (const WireError& e) {
            const QString what = QString::fromUtf8(e.what());
            QVERIFY2(!message.isEmpty() && what.startsWith("malformed") && what.contains(message),
                     e.what());
        }
    }

    // Any input either decodes or throws WireError: every truncation of valid encodings (which
    // must all fail: MessagePack is self-delimiting) and thousands of seeded random mutations.
    void robustness()
    {
        Value::List ints;
        for (int i = 0; i < 40; ++i)
            ints.emplace_back(static_cast<long long>(i) * 123456789 - 99);
        const Value samples[] = {
            Value(Value::List{Value(), true, 3, -4000000000LL, 0.25, 2.0, "text",
                              Value::tuple({1, "a", Value::List{}}), Value(ints)}),
            Value::tuple({Value::tuple({Value(ints), std::string(300, 'q')}), -129, 70000}),
            Value(mixedItems(40)),
            Value(std::string(70, 'z')),
            Value(ints),
        };
        std::vector<Bytes> encodings;
        for (const auto& v : samples)
            encodings.push_back(encodeValue(v));

        QString other;
        for (const auto& bytes : encodings) {
            for (std::size_t n = 0; n < bytes.size(); ++n) {
                const Bytes prefix(bytes.begin(), bytes.begin() + std::ptrdiff_t(n));
                QVERIFY2(decodeFails(prefix, &other), qPrintable(QString("prefix %1").arg(n)));
                QVERIFY2(other.isEmpty(), qPrintable(other));
            }
        }

        std::mt19937 rng(20240611);
        int decoded = 0;
        int refused = 0;
        for (int round = 0; round < 5000; ++round) {
            Bytes b = encodings[rng() % std::size(encodings)];
            for (int k = 0, edits = 1 + int(rng() % 3); k < edits && !b.empty(); ++k) {
                const std::size_t at = rng() % b.size();
                switch (rng() % 4) {
                case 0:
                    b[at] = std::uint8_t(rng());
                    break;
                case 1:
                    b[at] ^= std::uint8_t(1u << (rng() % 8));
                    break;
                case 2:
                    b.erase(b.begin() + std::ptrdiff_t(at));
                    break;
                default:
                    b.insert(b.begin() + std::ptrdiff_t(at), std::uint8_t(rng()));
                }
            }
            if (decodeFails(b, &other)) {
                QVERIFY2(other.isEmpty(), qPrintable(other));
                ++refused;
                continue;
            }
            ++decoded;
            // What decodes re-encodes to something that decodes back to the same bytes.
            const Bytes again = encodeValue(decodeValue(b));
            QCOMPARE(encodeValue(decodeValue(again)), again);
        }
        QVERIFY(decoded > 0); // the mutations are not all trivially fatal...
        QVERIFY(refused > 0); // ...nor all harmless
    }

    void framesOverPipe()
    {
        int fds[2];
        QVERIFY(pipe2(fds, O_CLOEXEC) == 0);
        const Bytes a = encodeValue(Value(Value::List{1, 2, 3}));
        QVERIFY(writeFrame(fds[1], a));
        QVERIFY(writeFrame(fds[1], {}));
        // A truncated frame: header announces 10 bytes, only 3 follow.
        const std::uint8_t partial[] = {10, 0, 0, 0, 1, 2, 3};
        QVERIFY(writeAll(fds[1], partial, sizeof partial));
        ::close(fds[1]);
        Bytes got;
        QVERIFY(readFrame(fds[0], got));
        QCOMPARE(got, a);
        QVERIFY(readFrame(fds[0], got));
        QVERIFY(got.empty());
        QVERIFY_THROWS_EXCEPTION(WireError, readFrame(fds[0], got));
        QVERIFY(!readFrame(fds[0], got)); // clean EOF afterwards
        ::close(fds[0]);
    }

    void builtinTasks()
    {
        const auto& r = TaskRegistry::builtins();
        TaskContext ctx;
        QCOMPARE(r.find("square")({Value(5)}, ctx), Value(25));
        QCOMPARE(r.find("cube")({Value(5)}, ctx), Value(125));
        QCOMPARE(r.find("is_prime")({Value(10000019)}, ctx), Value(true));
        QCOMPARE(r.find("is_prime")({Value(10000079)}, ctx), Value(true));
        QCOMPARE(r.find("is_prime")({Value(10000091)}, ctx), Value(false));
        QCOMPARE(r.find("is_prime")({Value(10000099)}, ctx), Value(false));
        QCOMPARE(r.find("is_prime")({Value(2)}, ctx), Value(true));
        QCOMPARE(r.find("is_prime")({Value(1)}, ctx), Value(false));
        QCOMPARE(r.find("is_prime")({Value(49)}, ctx), Value(false));
        QVERIFY(r.find("nope") == nullptr);

        ctx.options.failAt = 5;
        ctx.index = 4;
        QCOMPARE(r.find("boom")({Value(5)}, ctx), Value(25));
        ctx.index = 5;
        try {
            r.find("boom")({Value(6)}, ctx);
            QFAIL("boom did not raise");
        } catch (const TaskError& e) {
            QCOMPARE(QString::fromStdString(e.type()), "ValueError");
            QCOMPARE(QString::fromStdString(e.message()), "boom");
        }
        try {
            r.find("square")({Value(1), Value(2)}, ctx);
            QFAIL("arity not checked");
        } catch (const TaskError& e) {
            QCOMPARE(QString::fromStdString(e.what()),
                     "TypeError: square() takes 1 positional argument but 2 were given");
        }
    }

    void seededDelays()
    {
        TaskOptions a;
        a.seed = 42;
        TaskOptions b = a;
        TaskOptions c = a;
        c.seed = 43;
        bool anyDifferent = false;
        for (int i = 0; i < 100; ++i) {
            const double d = a.delayFor(i);
            QVERIFY(d >= 0.5 && d <= 2.0);
            QCOMPARE(d, b.delayFor(i));
            anyDifferent = anyDifferent || d != c.delayFor(i);
        }
        QVERIFY(anyDifferent);
        QCOMPARE(TaskOptions::fromValue(a.toValue()), a);
    }
};

QTEST_GUILESS_MAIN(TestValue)
#include "tst_value.moc"
