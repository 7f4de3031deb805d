#include "taskcontext.h"
#include "taskerror.h"
#include "taskoptions.h"
#include "taskregistry.h"
#include "value.h"
#include "wire.h"

#include <QTest>
#include <fcntl.h>
#include <limits>
#include <unistd.h>

using namespace poolscope;

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
