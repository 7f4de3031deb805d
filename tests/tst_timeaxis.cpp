#include "timeaxis.h"

#include <QTest>
#include <cmath>
#include <limits>

using namespace poolscope;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr qint64 kUs = 1'000;
constexpr qint64 kMs = 1'000'000;
constexpr qint64 kS = 1'000'000'000;

TimeAxis makeAxis(qint64 totalNs, double widthPx, double startNs, double endNs)
{
    TimeAxis axis(totalNs, widthPx);
    axis.setWindow(startNs, endNs);
    // The fixtures below are all valid windows: a test must start where its row says.
    if (axis.startNs() != startNs || axis.endNs() != endNs)
        qFatal("fixture window [%f, %f] was clamped", startNs, endNs);
    return axis;
}

QList<qint64> toList(const std::vector<std::int64_t>& values)
{
    return QList<qint64>(values.begin(), values.end());
}

} // namespace

class TestTimeAxis : public QObject
{
    Q_OBJECT

private slots:
    void construction_data()
    {
        QTest::addColumn<qint64>("total");
        QTest::addColumn<double>("width");
        QTest::addColumn<qint64>("expectedTotal");
        QTest::addColumn<double>("expectedWidth");
        QTest::addColumn<double>("expectedEnd");
        QTest::addColumn<double>("expectedNsPerPx");
        QTest::newRow("10 ms over 1000 px")
            << 10 * kMs << 1000.0 << 10 * kMs << 1000.0 << 1e7 << 1e4;
        QTest::newRow("2 s over 800 px") << 2 * kS << 800.0 << 2 * kS << 800.0 << 2e9 << 2.5e6;
        QTest::newRow("empty run shows 1 us")
            << qint64(0) << 100.0 << qint64(0) << 100.0 << 1e3 << 10.0;
        QTest::newRow("run shorter than 1 us")
            << qint64(500) << 100.0 << qint64(500) << 100.0 << 1e3 << 10.0;
        QTest::newRow("exactly 1 us") << kUs << 250.0 << kUs << 250.0 << 1e3 << 4.0;
        QTest::newRow("negative total is empty")
            << qint64(-5) << 100.0 << qint64(0) << 100.0 << 1e3 << 10.0;
        QTest::newRow("zero width is 1 px") << kMs << 0.0 << kMs << 1.0 << 1e6 << 1e6;
        QTest::newRow("negative width is 1 px") << kMs << -30.0 << kMs << 1.0 << 1e6 << 1e6;
        QTest::newRow("fractional width kept") << kMs << 12.5 << kMs << 12.5 << 1e6 << 8e4;
    }
    void construction()
    {
        QFETCH(qint64, total);
        QFETCH(double, width);
        QFETCH(qint64, expectedTotal);
        QFETCH(double, expectedWidth);
        QFETCH(double, expectedEnd);
        QFETCH(double, expectedNsPerPx);
        const TimeAxis axis(total, width);
        QCOMPARE(axis.totalNs(), expectedTotal);
        QCOMPARE(axis.widthPx(), expectedWidth);
        QCOMPARE(axis.startNs(), 0.0);
        QCOMPARE(axis.endNs(), expectedEnd);
        QCOMPARE(axis.visibleNs(), expectedEnd);
        QCOMPARE(axis.domainNs(), expectedEnd);
        QCOMPARE(axis.nsPerPx(), expectedNsPerPx);
    }

    void defaultIsEmptyRun()
    {
        const TimeAxis axis;
        QCOMPARE(axis, TimeAxis(0, 100.0));
        QCOMPARE(axis.endNs(), TimeAxis::kMinVisibleNs);
    }

    void mapping_data()
    {
        QTest::addColumn<double>("start");
        QTest::addColumn<double>("end");
        QTest::addColumn<double>("width");
        QTest::addColumn<double>("ns");
        QTest::addColumn<double>("px");
        // Window [0, 1 ms] over 1000 px: 1 us per pixel.
        QTest::newRow("left edge") << 0.0 << 1e6 << 1000.0 << 0.0 << 0.0;
        QTest::newRow("middle") << 0.0 << 1e6 << 1000.0 << 5e5 << 500.0;
        QTest::newRow("right edge") << 0.0 << 1e6 << 1000.0 << 1e6 << 1000.0;
        QTest::newRow("sub-pixel") << 0.0 << 1e6 << 1000.0 << 1500.0 << 1.5;
        QTest::newRow("after window") << 0.0 << 1e6 << 1000.0 << 2e6 << 2000.0;
        // Window [2 ms, 4 ms] over 500 px: 4 us per pixel.
        QTest::newRow("offset window start") << 2e6 << 4e6 << 500.0 << 2e6 << 0.0;
        QTest::newRow("offset window inside") << 2e6 << 4e6 << 500.0 << 3e6 << 250.0;
        QTest::newRow("offset window end") << 2e6 << 4e6 << 500.0 << 4e6 << 500.0;
        QTest::newRow("before offset window") << 2e6 << 4e6 << 500.0 << 1e6 << -250.0;
        QTest::newRow("run start before window") << 2e6 << 4e6 << 500.0 << 0.0 << -500.0;
        // Finest zoom: 1 us over 1000 px, 1 ns per pixel.
        QTest::newRow("finest zoom") << 7e6 << 7.001e6 << 1000.0 << 7.0005e6 << 500.0;
    }
    void mapping()
    {
        QFETCH(double, start);
        QFETCH(double, end);
        QFETCH(double, width);
        QFETCH(double, ns);
        QFETCH(double, px);
        const TimeAxis axis = makeAxis(10 * kMs, width, start, end);
        QCOMPARE(axis.toPx(ns), px);
        QCOMPARE(axis.toNs(px), ns);
    }

    void roundTrip_data()
    {
        QTest::addColumn<qint64>("total");
        QTest::addColumn<double>("width");
        QTest::addColumn<double>("start");
        QTest::addColumn<double>("end");
        QTest::newRow("whole second") << kS << 1000.0 << 0.0 << 1e9;
        QTest::newRow("odd width") << kS << 777.0 << 0.0 << 1e9;
        QTest::newRow("odd window") << kS << 1280.0 << 123'456'789.0 << 987'654'321.0;
        QTest::newRow("finest zoom late in a long run")
            << 3600 * kS << 1920.0 << 3.5e12 << 3.5e12 + 1e3;
        QTest::newRow("one pixel") << kMs << 1.0 << 0.0 << 1e6;
    }
    void roundTrip()
    {
        QFETCH(qint64, total);
        QFETCH(double, width);
        QFETCH(double, start);
        QFETCH(double, end);
        const TimeAxis axis = makeAxis(total, width, start, end);
        const double pxs[] = {-width, -1.0, 0.0, 0.25, 1.0, width / 3.0, width / 2.0, width};
        // Well below a pixel: an hour into a run a double still resolves half a picosecond,
        // a thousandth of a pixel at the finest zoom.
        for (const double px : pxs) {
            QVERIFY2(std::abs(axis.toPx(axis.toNs(px)) - px) < 1e-2,
                     qPrintable(QString::number(px)));
        }
        // Integer event times survive ns -> px -> ns to well below a nanosecond.
        for (int i = 0; i <= 10; ++i) {
            const auto ns = static_cast<qint64>(start + (end - start) * i / 10.0);
            QVERIFY2(std::abs(axis.toNs(axis.toPx(double(ns))) - double(ns)) < 1e-3,
                     qPrintable(QString::number(ns)));
        }
    }

    void zoomBy_data()
    {
        QTest::addColumn<double>("start");
        QTest::addColumn<double>("end");
        QTest::addColumn<double>("factor");
        QTest::addColumn<double>("anchor");
        QTest::addColumn<double>("expectedStart");
        QTest::addColumn<double>("expectedEnd");
        QTest::addColumn<bool>("anchorFixed");
        // All rows: a 1 s run over 1000 px.
        QTest::newRow("in 2x at centre") << 0.0 << 1e9 << 2.0 << 500.0 << 2.5e8 << 7.5e8 << true;
        QTest::newRow("in 4x at left edge") << 0.0 << 1e9 << 4.0 << 0.0 << 0.0 << 2.5e8 << true;
        QTest::newRow("in 2x at right edge") << 0.0 << 1e9 << 2.0 << 1000.0 << 5e8 << 1e9 << true;
        QTest::newRow("in 10x off centre") << 0.0 << 1e9 << 10.0 << 100.0 << 9e7 << 1.9e8 << true;
        QTest::newRow("out 2x inside") << 2e8 << 6e8 << 0.5 << 250.0 << 1e8 << 9e8 << true;
        QTest::newRow("factor 1 changes nothing")
            << 2e8 << 6e8 << 1.0 << 300.0 << 2e8 << 6e8 << true;
        QTest::newRow("anchor right of widget")
            << 0.0 << 4e8 << 2.0 << 2000.0 << 4e8 << 6e8 << true;
        QTest::newRow("anchor left of widget") << 4e8 << 8e8 << 2.0 << -500.0 << 3e8 << 5e8 << true;
        // The span clamps to 1 us; the anchor keeps its time because the start is computed
        // from the clamped span.
        QTest::newRow("in past 1 us") << 0.0 << 1e4 << 100.0 << 500.0 << 4500.0 << 5500.0 << true;
        QTest::newRow("at 1 us already")
            << 4500.0 << 5500.0 << 2.0 << 500.0 << 4500.0 << 5500.0 << true;
        // The span clamps to the run: everything is shown.
        QTest::newRow("out past the run") << 2e8 << 6e8 << 0.1 << 500.0 << 0.0 << 1e9 << false;
        // The window would leave the run: it is pushed back, the anchor moves.
        QTest::newRow("out at left boundary") << 0.0 << 2e8 << 0.5 << 1000.0 << 0.0 << 4e8 << false;
        QTest::newRow("out at right boundary") << 8e8 << 1e9 << 0.5 << 0.0 << 6e8 << 1e9 << false;
    }
    void zoomBy()
    {
        QFETCH(double, start);
        QFETCH(double, end);
        QFETCH(double, factor);
        QFETCH(double, anchor);
        QFETCH(double, expectedStart);
        QFETCH(double, expectedEnd);
        QFETCH(bool, anchorFixed);
        TimeAxis axis = makeAxis(kS, 1000.0, start, end);
        const double anchorNs = axis.toNs(anchor);
        axis.zoomBy(factor, anchor);
        QCOMPARE(axis.startNs(), expectedStart);
        QCOMPARE(axis.endNs(), expectedEnd);
        QCOMPARE(axis.widthPx(), 1000.0);
        if (anchorFixed)
            QCOMPARE(axis.toNs(anchor), anchorNs);
        else
            QVERIFY(!qFuzzyCompare(axis.toNs(anchor), anchorNs));
    }

    void zoomInThenOutRestores_data()
    {
        QTest::addColumn<double>("factor");
        QTest::addColumn<double>("anchor");
        QTest::newRow("2x centre") << 2.0 << 640.0;
        QTest::newRow("3x near left") << 3.0 << 17.0;
        QTest::newRow("1.25x near right") << 1.25 << 1200.0;
        QTest::newRow("100x") << 100.0 << 333.0;
    }
    void zoomInThenOutRestores()
    {
        QFETCH(double, factor);
        QFETCH(double, anchor);
        TimeAxis axis = makeAxis(kS, 1280.0, 2e8, 7e8);
        const TimeAxis before = axis;
        axis.zoomBy(factor, anchor);
        QVERIFY(axis.visibleNs() < before.visibleNs());
        axis.zoomBy(1.0 / factor, anchor);
        QCOMPARE(axis.startNs(), before.startNs());
        QCOMPARE(axis.endNs(), before.endNs());
    }

    void zoomIgnoresBadInput_data()
    {
        QTest::addColumn<double>("factor");
        QTest::addColumn<double>("anchor");
        QTest::newRow("zero factor") << 0.0 << 500.0;
        QTest::newRow("negative factor") << -2.0 << 500.0;
        QTest::newRow("NaN factor") << kNaN << 500.0;
        QTest::newRow("infinite factor") << kInf << 500.0;
        QTest::newRow("NaN anchor") << 2.0 << kNaN;
        QTest::newRow("infinite anchor") << 2.0 << -kInf;
    }
    void zoomIgnoresBadInput()
    {
        QFETCH(double, factor);
        QFETCH(double, anchor);
        TimeAxis axis = makeAxis(kS, 1000.0, 2e8, 6e8);
        const TimeAxis before = axis;
        axis.zoomBy(factor, anchor);
        QCOMPARE(axis, before);
    }

    void pan_data()
    {
        QTest::addColumn<double>("start");
        QTest::addColumn<double>("end");
        QTest::addColumn<double>("dx");
        QTest::addColumn<double>("expectedStart");
        QTest::addColumn<double>("expectedEnd");
        // A 1 s run over 1000 px; the window [200 ms, 400 ms] is 200 us per pixel.
        QTest::newRow("later") << 2e8 << 4e8 << 500.0 << 3e8 << 5e8;
        QTest::newRow("earlier") << 2e8 << 4e8 << -500.0 << 1e8 << 3e8;
        QTest::newRow("sub-pixel") << 2e8 << 4e8 << 0.5 << 2.001e8 << 4.001e8;
        QTest::newRow("zero") << 2e8 << 4e8 << 0.0 << 2e8 << 4e8;
        QTest::newRow("stops at run end") << 2e8 << 4e8 << 5000.0 << 8e8 << 1e9;
        QTest::newRow("stops at run start") << 2e8 << 4e8 << -5000.0 << 0.0 << 2e8;
        QTest::newRow("whole run cannot move") << 0.0 << 1e9 << 300.0 << 0.0 << 1e9;
        QTest::newRow("NaN ignored") << 2e8 << 4e8 << kNaN << 2e8 << 4e8;
        QTest::newRow("infinity ignored") << 2e8 << 4e8 << kInf << 2e8 << 4e8;
    }
    void pan()
    {
        QFETCH(double, start);
        QFETCH(double, end);
        QFETCH(double, dx);
        QFETCH(double, expectedStart);
        QFETCH(double, expectedEnd);
        TimeAxis axis = makeAxis(kS, 1000.0, start, end);
        axis.panByPx(dx);
        QCOMPARE(axis.startNs(), expectedStart);
        QCOMPARE(axis.endNs(), expectedEnd);
        QCOMPARE(axis.visibleNs(), end - start); // panning never zooms
    }

    void setWindow_data()
    {
        QTest::addColumn<double>("start");
        QTest::addColumn<double>("end");
        QTest::addColumn<double>("expectedStart");
        QTest::addColumn<double>("expectedEnd");
        // A 1 s run.
        QTest::newRow("inside") << 1e8 << 3e8 << 1e8 << 3e8;
        QTest::newRow("reversed") << 3e8 << 1e8 << 1e8 << 3e8;
        QTest::newRow("whole run") << 0.0 << 1e9 << 0.0 << 1e9;
        QTest::newRow("past the end") << 9e8 << 1.2e9 << 7e8 << 1e9;
        QTest::newRow("before the start") << -1e8 << 1e8 << 0.0 << 2e8;
        QTest::newRow("wider than the run") << -1e9 << 3e9 << 0.0 << 1e9;
        QTest::newRow("narrower than 1 us") << 500.0 << 510.0 << 500.0 << 1500.0;
        QTest::newRow("empty") << 7e8 << 7e8 << 7e8 << 7e8 + 1e3;
        QTest::newRow("narrow at the end") << 1e9 - 10.0 << 1e9 << 1e9 - 1e3 << 1e9;
        QTest::newRow("NaN ignored") << kNaN << 1e8 << 2e8 << 4e8;
        QTest::newRow("infinity ignored") << 1e8 << kInf << 2e8 << 4e8;
    }
    void setWindow()
    {
        QFETCH(double, start);
        QFETCH(double, end);
        QFETCH(double, expectedStart);
        QFETCH(double, expectedEnd);
        TimeAxis axis = makeAxis(kS, 1000.0, 2e8, 4e8);
        axis.setWindow(start, end);
        QCOMPARE(axis.startNs(), expectedStart);
        QCOMPARE(axis.endNs(), expectedEnd);
    }

    void setTotal_data()
    {
        QTest::addColumn<qint64>("total");
        QTest::addColumn<double>("expectedStart");
        QTest::addColumn<double>("expectedEnd");
        // The window [600 ms, 800 ms] of a 1 s run.
        QTest::newRow("run grows: window stays") << 5 * kS << 6e8 << 8e8;
        QTest::newRow("same total") << kS << 6e8 << 8e8;
        QTest::newRow("shrinks below window end") << 7 * kS / 10 << 5e8 << 7e8;
        QTest::newRow("shrinks below window span") << 100 * kMs << 0.0 << 1e8;
        QTest::newRow("empty") << qint64(0) << 0.0 << 1e3;
        QTest::newRow("negative is empty") << qint64(-1) << 0.0 << 1e3;
    }
    void setTotal()
    {
        QFETCH(qint64, total);
        QFETCH(double, expectedStart);
        QFETCH(double, expectedEnd);
        TimeAxis axis = makeAxis(kS, 1000.0, 6e8, 8e8);
        axis.setTotalNs(total);
        QCOMPARE(axis.totalNs(), std::max<qint64>(total, 0));
        QCOMPARE(axis.startNs(), expectedStart);
        QCOMPARE(axis.endNs(), expectedEnd);
    }

    void showAll()
    {
        TimeAxis axis = makeAxis(kS, 1000.0, 6e8, 8e8);
        axis.setTotalNs(3 * kS);
        axis.showAll();
        QCOMPARE(axis.startNs(), 0.0);
        QCOMPARE(axis.endNs(), 3e9);
    }

    void setWidth_data()
    {
        QTest::addColumn<double>("width");
        QTest::addColumn<double>("expectedWidth");
        QTest::addColumn<double>("expectedNsPerPx");
        // The window [200 ms, 400 ms], first over 1000 px.
        QTest::newRow("wider") << 2000.0 << 2000.0 << 1e5;
        QTest::newRow("narrower") << 400.0 << 400.0 << 5e5;
        QTest::newRow("zero is 1 px") << 0.0 << 1.0 << 2e8;
        QTest::newRow("negative is 1 px") << -10.0 << 1.0 << 2e8;
        QTest::newRow("NaN ignored") << kNaN << 1000.0 << 2e5;
        QTest::newRow("infinity ignored") << kInf << 1000.0 << 2e5;
    }
    void setWidth()
    {
        QFETCH(double, width);
        QFETCH(double, expectedWidth);
        QFETCH(double, expectedNsPerPx);
        TimeAxis axis = makeAxis(kS, 1000.0, 2e8, 4e8);
        axis.setWidthPx(width);
        QCOMPARE(axis.widthPx(), expectedWidth);
        QCOMPARE(axis.nsPerPx(), expectedNsPerPx);
        QCOMPARE(axis.startNs(), 2e8); // the time window is kept
        QCOMPARE(axis.endNs(), 4e8);
        QCOMPARE(axis.toPx(4e8), expectedWidth);
    }

    void zoomLimits_data()
    {
        QTest::addColumn<qint64>("total");
        QTest::addColumn<double>("start");
        QTest::addColumn<double>("end");
        QTest::addColumn<bool>("canIn");
        QTest::addColumn<bool>("canOut");
        QTest::newRow("whole run") << kS << 0.0 << 1e9 << true << false;
        QTest::newRow("part of the run") << kS << 1e8 << 2e8 << true << true;
        QTest::newRow("finest zoom") << kS << 1e8 << 1e8 + 1e3 << false << true;
        QTest::newRow("run of 1 us") << kUs << 0.0 << 1e3 << false << false;
        QTest::newRow("empty run") << qint64(0) << 0.0 << 1e3 << false << false;
    }
    void zoomLimits()
    {
        QFETCH(qint64, total);
        QFETCH(double, start);
        QFETCH(double, end);
        QFETCH(bool, canIn);
        QFETCH(bool, canOut);
        TimeAxis axis = makeAxis(total, 500.0, start, end);
        QCOMPARE(axis.canZoomIn(), canIn);
        QCOMPARE(axis.canZoomOut(), canOut);
        // What canZoomIn/Out promise is what zoomBy does.
        const TimeAxis before = axis;
        axis.zoomBy(2.0, 250.0);
        QCOMPARE(axis.visibleNs() < before.visibleNs(), canIn);
        axis = before;
        axis.zoomBy(0.5, 250.0);
        QCOMPARE(axis.visibleNs() > before.visibleNs(), canOut);
    }

    void ticks_data()
    {
        QTest::addColumn<qint64>("total");
        QTest::addColumn<double>("start");
        QTest::addColumn<double>("end");
        QTest::addColumn<int>("maxTicks");
        QTest::addColumn<qint64>("step");
        QTest::addColumn<QList<qint64>>("expected");
        // 1 ms would give 11 ticks.
        QTest::newRow("10 ms, 10 ticks")
            << 10 * kMs << 0.0 << 1e7 << 10 << 2 * kMs
            << QList<qint64>{0, 2 * kMs, 4 * kMs, 6 * kMs, 8 * kMs, 10 * kMs};
        QTest::newRow("10 ms, 11 ticks")
            << 10 * kMs << 0.0 << 1e7 << 11 << kMs
            << QList<qint64>{0,       kMs,     2 * kMs, 3 * kMs, 4 * kMs, 5 * kMs,
                             6 * kMs, 7 * kMs, 8 * kMs, 9 * kMs, 10 * kMs};
        // 500 us would give 6 ticks (1.5 ms .. 4 ms).
        QTest::newRow("unaligned window")
            << 10 * kMs << 1.5e6 << 4.2e6 << 5 << kMs << QList<qint64>{2 * kMs, 3 * kMs, 4 * kMs};
        QTest::newRow("1 s, 8 ticks")
            << kS << 0.0 << 1e9 << 8 << 200 * kMs
            << QList<qint64>{0, 200 * kMs, 400 * kMs, 600 * kMs, 800 * kMs, kS};
        QTest::newRow("1 us, 5 ticks")
            << kS << 0.0 << 1e3 << 5 << qint64(500) << QList<qint64>{0, 500, 1000};
        // 200 ns would give 5 ticks (200 .. 1000).
        QTest::newRow("odd 1 us window")
            << kS << 123.0 << 1123.0 << 4 << qint64(500) << QList<qint64>{500, 1000};
        QTest::newRow("ends on ticks")
            << kS << 2500.0 << 3500.0 << 3 << qint64(500) << QList<qint64>{2500, 3000, 3500};
        // 1 s would give 0 and 1 s.
        QTest::newRow("one tick, whole run") << kS << 0.0 << 1e9 << 1 << 2 * kS << QList<qint64>{0};
        QTest::newRow("one tick inside")
            << kS << 3e8 << 7e8 << 1 << 500 * kMs << QList<qint64>{500 * kMs};
        QTest::newRow("late in an hour")
            << 3600 * kS << 3.5e12 << 3.5e12 + 3e9 << 7 << 500 * kMs
            << QList<qint64>{3500 * kS, 3500 * kS + 500 * kMs, 3501 * kS, 3501 * kS + 500 * kMs,
                             3502 * kS, 3502 * kS + 500 * kMs, 3503 * kS};
        QTest::newRow("zero ticks") << kS << 0.0 << 1e9 << 0 << qint64(0) << QList<qint64>{};
        QTest::newRow("negative ticks") << kS << 0.0 << 1e9 << -3 << qint64(0) << QList<qint64>{};
    }
    void ticks()
    {
        QFETCH(qint64, total);
        QFETCH(double, start);
        QFETCH(double, end);
        QFETCH(int, maxTicks);
        QFETCH(qint64, step);
        QFETCH(QList<qint64>, expected);
        const TimeAxis axis = makeAxis(total, 1000.0, start, end);
        QCOMPARE(axis.tickStepNs(maxTicks), step);
        QCOMPARE(toList(axis.ticks(maxTicks)), expected);
    }

    void ticksAtFinestZoom()
    {
        const TimeAxis axis = makeAxis(kS, 1000.0, 1e6, 1e6 + 1e3);
        // 1 ns steps would give 1001 ticks; 2 ns steps give 501: 1'000'000 to 1'001'000.
        QCOMPARE(axis.tickStepNs(1000), qint64(2));
        const QList<qint64> ticks = toList(axis.ticks(1000));
        QCOMPARE(ticks.size(), 501);
        for (int i = 0; i < ticks.size(); ++i)
            QCOMPARE(ticks[i], qint64(1'000'000 + 2 * i));
        // 1001 ticks would need 1 ns steps, but budgets are capped at kMaxTicks.
        QCOMPARE(axis.tickStepNs(1001), qint64(2));
    }

    // For a grid of windows and tick budgets: ticks stay in the window and within budget, are
    // consecutive multiples of a 1/2/5 step, and the next smaller step would exceed the budget.
    void ticksAreMinimalNiceSteps()
    {
        const qint64 total = 100 * kS;
        const double starts[] = {0.0, 1.0, 999.0, 12'345.0, 7.7e6, 3.3e9, 9.9e10};
        const double spans[] = {1e3, 1.5e3, 4.4e4, 1e6, 2.5e7, 3e8, 1e9, 4.7e9};
        const int budgets[] = {1, 2, 3, 5, 7, 10, 16, 100};
        int checked = 0;
        for (const double start : starts) {
            for (const double span : spans) {
                if (start + span > double(total))
                    continue;
                const TimeAxis axis = makeAxis(total, 1000.0, start, start + span);
                for (const int budget : budgets) {
                    const std::int64_t step = axis.tickStepNs(budget);
                    const std::vector<std::int64_t> ticks = axis.ticks(budget);
                    const QByteArray where = QByteArray::number(start) + " +" +
                                             QByteArray::number(span) + " max " +
                                             QByteArray::number(budget);
                    QVERIFY2(!ticks.empty() || span < double(step), where);
                    QVERIFY2(int(ticks.size()) <= budget, where);
                    // A nice step: mantissa 1, 2 or 5.
                    std::int64_t mantissa = step;
                    while (mantissa % 10 == 0)
                        mantissa /= 10;
                    QVERIFY2(mantissa == 1 || mantissa == 2 || mantissa == 5, where);
                    for (std::size_t i = 0; i < ticks.size(); ++i) {
                        QVERIFY2(ticks[i] % step == 0, where);
                        QVERIFY2(double(ticks[i]) >= axis.startNs(), where);
                        QVERIFY2(double(ticks[i]) <= axis.endNs(), where);
                        if (i > 0)
                            QVERIFY2(ticks[i] - ticks[i - 1] == step, where);
                    }
                    // No multiple of the step was left out at either end.
                    if (!ticks.empty()) {
                        QVERIFY2(double(ticks.front() - step) < axis.startNs(), where);
                        QVERIFY2(double(ticks.back() + step) > axis.endNs(), where);
                    }
                    // Minimal: the previous nice step (5 before 10, 1 before 2, 2 before 5)
                    // would give too many ticks.
                    if (step > 1) {
                        const std::int64_t smaller = mantissa == 5 ? step * 2 / 5 : step / 2;
                        const double count = std::floor(axis.endNs() / double(smaller)) -
                                             std::ceil(axis.startNs() / double(smaller)) + 1;
                        QVERIFY2(count > budget, where);
                    }
                    ++checked;
                }
            }
        }
        QCOMPARE(checked, (7 * 8 - 1) * 8); // only 99 s + 4.7 s runs past the 100 s run
    }

    void ticksCapped()
    {
        const TimeAxis axis(kS, 1000.0);
        // An absurd budget counts as kMaxTicks: 1 ms steps would give 1001 ticks.
        QCOMPARE(axis.tickStepNs(1'000'000), 2 * kMs);
        const std::vector<std::int64_t> ticks = axis.ticks(1'000'000);
        QCOMPARE(int(ticks.size()), 501);
        QCOMPARE(ticks.back(), kS);
        QCOMPARE(toList(axis.ticks(TimeAxis::kMaxTicks)), toList(ticks));
    }

    void formatTime_data()
    {
        QTest::addColumn<qint64>("ns");
        QTest::addColumn<qint64>("step");
        QTest::addColumn<QString>("expected");
        QTest::newRow("zero in ms") << qint64(0) << kMs << "0 ms";
        QTest::newRow("1.5 s") << 1'500'000'000LL << 500 * kMs << "1.5 s";
        QTest::newRow("whole s on a 0.5 s axis") << 2 * kS << 500 * kMs << "2 s";
        QTest::newRow("250 us") << 250'000LL << 50 * kUs << "250 us";
        QTest::newRow("0.1 s step is in s") << 100 * kMs << 100 * kMs << "0.1 s";
        QTest::newRow("50 ms step is in ms") << 50 * kMs << 50 * kMs << "50 ms";
        QTest::newRow("0.2 ms") << 200 * kUs << 200 * kUs << "0.2 ms";
        QTest::newRow("0.1 us") << qint64(100) << qint64(100) << "0.1 us";
        QTest::newRow("50 ns") << qint64(50) << qint64(50) << "50 ns";
        QTest::newRow("1 ns step") << qint64(999) << qint64(1) << "999 ns";
        QTest::newRow("many seconds") << 120 * kS << 20 * kS << "120 s";
        QTest::newRow("two decimals") << 750 * kMs << 250 * kMs << "0.75 s";
        QTest::newRow("odd step") << 123'456LL << 123'456LL << "0.123456 ms";
        QTest::newRow("rounded down") << 1'499'999LL << kMs << "1 ms";
        QTest::newRow("rounded half up") << 1'500'000LL << kMs << "2 ms";
        QTest::newRow("rounding carries") << 1'960'000LL << 100 * kUs << "2 ms";
        QTest::newRow("rounded to a decimal") << 1'940'000LL << 100 * kUs << "1.9 ms";
        QTest::newRow("negative") << -500'000LL << 500 * kUs << "-0.5 ms";
        QTest::newRow("no negative zero") << qint64(-1) << kMs << "0 ms";
        QTest::newRow("zero step is 1 ns") << 1234LL << qint64(0) << "1234 ns";
        QTest::newRow("negative step is 1 ns") << 1234LL << qint64(-5) << "1234 ns";
        QTest::newRow("int64 max") << std::numeric_limits<qint64>::max() << kS << "9223372037 s";
        QTest::newRow("int64 min") << std::numeric_limits<qint64>::min() << kS << "-9223372037 s";
    }
    void formatTime()
    {
        QFETCH(qint64, ns);
        QFETCH(qint64, step);
        QFETCH(QString, expected);
        QCOMPARE(TimeAxis::formatTime(ns, step), expected);
    }

    void tickLabels_data()
    {
        QTest::addColumn<qint64>("total");
        QTest::addColumn<double>("start");
        QTest::addColumn<double>("end");
        QTest::addColumn<int>("maxTicks");
        QTest::addColumn<QStringList>("expected");
        QTest::newRow("3 s") << 3 * kS << 0.0 << 3e9 << 7
                             << QStringList{"0 s", "0.5 s", "1 s", "1.5 s", "2 s", "2.5 s", "3 s"};
        QTest::newRow("10 ms") << 10 * kMs << 0.0 << 1e7 << 10
                               << QStringList{"0 ms", "2 ms", "4 ms", "6 ms", "8 ms", "10 ms"};
        QTest::newRow("around 1 ms")
            << 10 * kMs << 0.9e6 << 1.1e6 << 5
            << QStringList{"900 us", "950 us", "1000 us", "1050 us", "1100 us"};
        QTest::newRow("1 us") << kS << 5e5 << 5e5 + 1e3 << 3
                              << QStringList{"500 us", "500.5 us", "501 us"};
    }
    void tickLabels()
    {
        QFETCH(qint64, total);
        QFETCH(double, start);
        QFETCH(double, end);
        QFETCH(int, maxTicks);
        QFETCH(QStringList, expected);
        const TimeAxis axis = makeAxis(total, 1000.0, start, end);
        const std::int64_t step = axis.tickStepNs(maxTicks);
        QStringList labels;
        for (const std::int64_t tick : axis.ticks(maxTicks))
            labels << TimeAxis::formatTime(tick, step);
        QCOMPARE(labels, expected);
    }
};

QTEST_GUILESS_MAIN(TestTimeAxis)
#include "tst_timeaxis.moc"
