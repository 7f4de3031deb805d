// TaskClock: task times read cheaply (TSC values where the clock source is the TSC) come out as
// CLOCK_MONOTONIC nanoseconds, in order, between their anchors, and within the real time of
// each reading, which the test brackets with clock_gettime before and after it.
#include "clock.h"
#include "taskclock.h"

#include <QTest>
#include <vector>

using namespace poolscope;

namespace {

struct Bracket
{
    std::int64_t before;
    std::int64_t after;
    // Whether a converted reading falls within this real time, give or take 2 us.
    bool holds(std::int64_t ns) const { return ns >= before - 2'000 && ns <= after + 2'000; }
    QString outside(int stretch, std::size_t k, std::int64_t ns) const
    {
        return QString("stretch %1 reading %2: %3 outside [%4, %5]")
            .arg(stretch)
            .arg(k)
            .arg(ns)
            .arg(before)
            .arg(after);
    }
};

void spinFor(std::int64_t ns)
{
    const std::int64_t until = monotonicNs() + ns;
    while (monotonicNs() < until) {
    }
}

} // namespace

class TestTaskClock : public QObject
{
    Q_OBJECT

private slots:
    void readingsConvertToTheirRealTimes_data()
    {
        QTest::addColumn<bool>("useTsc");
        QTest::addColumn<bool>("counter");
        const bool tsc = TaskClock::tscUsable();
        QTest::newRow("clock_gettime") << false << true;
        QTest::newRow("TSC where the clock source is the TSC") << tsc << true;
        QTest::newRow("stretches that do not ask for the counter") << tsc << false;
    }

    void readingsConvertToTheirRealTimes()
    {
        QFETCH(bool, useTsc);
        QFETCH(bool, counter);
        TaskClock clock(useTsc);
        // Stretches long enough to learn the counter's rate, then several short ones, as a
        // worker's chunks come: every stretch's readings must convert right.
        for (int stretch = 0; stretch < 6; ++stretch) {
            const std::int64_t anchorNs = clock.anchor(counter);
            std::vector<std::int64_t> readings;
            std::vector<Bracket> real;
            for (int k = 0; k < 20; ++k) {
                spinFor(stretch < 2 ? 10'000 : 1'000);
                const std::int64_t before = monotonicNs();
                readings.push_back(clock.read());
                const std::int64_t after = monotonicNs();
                real.push_back({before, after});
                const std::int64_t estimate = clock.estimateNs(readings.back());
                // An estimate at the rate learnt so far: close, not exact.
                QVERIFY2(estimate >= before - 20'000 && estimate <= after + 20'000,
                         qPrintable(QString("estimate %1 outside [%2, %3]")
                                        .arg(estimate)
                                        .arg(before)
                                        .arg(after)));
            }
            const std::int64_t endNs = clock.convert(readings);
            // The next stretch starts now, or at the last reading when there was no counter
            // to pair with the clock (that reading is then a clock reading itself).
            QVERIFY(endNs >= real.back().before);
            QVERIFY(endNs >= readings.back());
            if (!useTsc || !counter)
                QCOMPARE(endNs, readings.back());
            else
                QVERIFY(endNs >= real.back().after);
            for (std::size_t k = 0; k < readings.size(); ++k) {
                const std::int64_t ns = readings[k];
                QVERIFY(ns >= anchorNs && ns <= endNs);
                if (k > 0)
                    QVERIFY(ns >= readings[k - 1]);
                // Within the reading's real time, give or take 2 us of interpolation.
                QVERIFY2(real[k].holds(ns), qPrintable(real[k].outside(stretch, k, ns)));
            }
        }
    }

    // A worker's chunks of one task: once the counter's rate is learnt over 10 ms, a stretch
    // that does not ask for the counter reads it anyway and converts at the learnt rate, with
    // no clock reading (soft); the times still fall within each reading's real time, give or
    // take 2 us, never go back from one stretch to the next, and a stretch longer than the
    // soft span (a slow task) is converted against a fresh pairing.
    void shortStretchesReadTheCounterOnceTheRateIsKnown()
    {
        if (!TaskClock::tscUsable())
            QSKIP("the clock source is not an invariant TSC here");
        TaskClock clock(true);
        // Learn the rate: counter stretches over 12 ms.
        for (int i = 0; i < 4; ++i) {
            clock.anchor(true);
            spinFor(3'000'000);
            std::vector<std::int64_t> none;
            clock.convert(none);
        }
        int soft = 0;
        std::int64_t lastNs = 0;
        for (int stretch = 0; stretch < 400; ++stretch) {
            const std::int64_t anchorNs = clock.anchor(false);
            QVERIFY(anchorNs >= lastNs);
            if (clock.anchorReading() != anchorNs)
                ++soft;                       // a counter reading: this stretch is soft
            const bool slow = stretch == 250; // longer than the 1 ms soft span
            std::vector<std::int64_t> readings;
            std::vector<Bracket> real;
            for (int k = 0; k < 1 + stretch % 3; ++k) {
                spinFor(slow ? 3'000'000 : 1'000 + (stretch % 7) * 3'000);
                const std::int64_t before = monotonicNs();
                readings.push_back(clock.read());
                const std::int64_t after = monotonicNs();
                real.push_back({before, after});
            }
            const std::int64_t endNs = clock.convert(readings);
            std::int64_t previous = anchorNs;
            for (std::size_t k = 0; k < readings.size(); ++k) {
                const std::int64_t ns = readings[k];
                QVERIFY(ns >= previous);
                QVERIFY2(real[k].holds(ns), qPrintable(real[k].outside(stretch, k, ns)));
                previous = ns;
            }
            QVERIFY(endNs >= readings.back());
            lastNs = endNs;
        }
        QVERIFY2(soft > 300, qPrintable(QString("%1 soft stretches of 400").arg(soft)));
    }

    // A worker given its parent's base for the counter's rate (TaskClock::processBase, taken
    // more than 10 ms before) has soft stretches from its first chunk, with times within each
    // reading's real time; without it, its own first 10 ms read the clock.
    void aClockGivenTheProcessBaseIsSoftAtOnce()
    {
        if (!TaskClock::tscUsable())
            QSKIP("the clock source is not an invariant TSC here");
        const TaskClock::Pair base = TaskClock::processBase();
        QVERIFY(base.ticks > 0);
        QCOMPARE(TaskClock::processBase().ns, base.ns); // once per process
        while (monotonicNs() - base.ns < 12'000'000)
            spinFor(1'000'000);
        // A new clock's first short stretch: soft with the base, not without. (Tried a few
        // times: a preemption of over a millisecond right after the first anchor would make
        // any clock pair afresh.)
        bool softWith = false;
        for (int attempt = 0; attempt < 5 && !softWith; ++attempt) {
            TaskClock given(true, base);
            const std::int64_t ns = given.anchor(false);
            softWith = given.anchorReading() != ns;
        }
        QVERIFY(softWith);
        TaskClock alone(true);
        const std::int64_t aloneNs = alone.anchor(false);
        QCOMPARE(alone.anchorReading(), aloneNs); // a clock reading
        // Soft times are within each reading's real time.
        TaskClock given(true, base);
        int soft = 0;
        for (int stretch = 0; stretch < 20; ++stretch) {
            const std::int64_t anchorNs = given.anchor(false);
            if (given.anchorReading() != anchorNs)
                ++soft;
            spinFor(2'000);
            const std::int64_t before = monotonicNs();
            std::vector<std::int64_t> readings{given.read()};
            const Bracket real{before, monotonicNs()};
            given.convert(readings);
            QVERIFY2(real.holds(readings[0]), qPrintable(real.outside(stretch, 0, readings[0])));
        }
        QVERIFY2(soft >= 10, qPrintable(QString("%1 soft stretches of 20").arg(soft)));
    }

    // After convert() a new stretch has started: its anchor reading is what the next task's
    // start is measured from, and an empty conversion is harmless.
    // A timing group's tasks share its time as from + (to - from) * j / parts would give,
    // without its division per task.
    void splitEvenlyIsTheSharesFormula_data()
    {
        QTest::addColumn<std::int64_t>("from");
        QTest::addColumn<std::int64_t>("to");
        QTest::addColumn<std::int64_t>("parts");
        QTest::newRow("one part") << std::int64_t(5) << std::int64_t(17) << std::int64_t(1);
        QTest::newRow("no time") << std::int64_t(100) << std::int64_t(100) << std::int64_t(8);
        QTest::newRow("less time than parts")
            << std::int64_t(0) << std::int64_t(3) << std::int64_t(1024);
        QTest::newRow("exact shares")
            << std::int64_t(1000) << std::int64_t(3048) << std::int64_t(1024);
        QTest::newRow("remainders")
            << std::int64_t(-7) << std::int64_t(2'000'003) << std::int64_t(777);
        QTest::newRow("TSC-sized readings") << std::int64_t(9'123'456'789'012)
                                            << std::int64_t(9'123'456'795'011) << std::int64_t(512);
    }
    void splitEvenlyIsTheSharesFormula()
    {
        QFETCH(std::int64_t, from);
        QFETCH(std::int64_t, to);
        QFETCH(std::int64_t, parts);
        std::vector<std::int64_t> out{42}; // appends
        TaskClock::splitEvenly(from, to, parts, out);
        QCOMPARE(out.size(), std::size_t(parts) + 1);
        QCOMPARE(out.front(), std::int64_t(42));
        for (std::int64_t j = 1; j <= parts; ++j)
            QCOMPARE(out[std::size_t(j)], from + (to - from) * j / parts);
        QCOMPARE(out.back(), to);
    }

    void convertStartsTheNextStretch()
    {
        TaskClock clock(TaskClock::tscUsable());
        clock.anchor();
        spinFor(100'000);
        std::vector<std::int64_t> none;
        const std::int64_t t = clock.convert(none);
        const std::int64_t start = clock.estimateNs(clock.anchorReading());
        QVERIFY(start >= t - 2'000 && start <= t + 2'000);
    }

    // Timing groups back to every task's end: each group's tasks share it from the previous
    // group's end; a group whose end is before that ends there.
    void splitGroupsSharesEachGroupFromThePrevious()
    {
        std::vector<std::int64_t> out{7}; // appended to
        TaskClock::splitGroups(100, std::vector<std::int64_t>{100, 90, 200, 203},
                               std::vector<std::int64_t>{2, 1, 2, 3}, out);
        QCOMPARE(out, (std::vector<std::int64_t>{7, 100, 100, 100, 150, 200, 201, 202, 203}));
    }
};

QTEST_APPLESS_MAIN(TestTaskClock)
#include "tst_taskclock.moc"
