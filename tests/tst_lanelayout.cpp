#include "lanelayout.h"

#include <QTest>
#include <cmath>
#include <limits>

using namespace poolscope;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// header 30, rows 20, spacing 4, 800 wide: lanes at [30, 50), [54, 74), [78, 98).
LaneLayout threeLanes(double spacing = 4.0)
{
    LaneLayout layout;
    layout.setHeaderHeight(30.0);
    layout.setRowHeight(20.0);
    layout.setSpacing(spacing);
    layout.setWidth(800.0);
    layout.addLane(1);
    layout.addLane(2);
    return layout;
}

QList<int> toList(const std::vector<std::int32_t>& keys)
{
    return QList<int>(keys.begin(), keys.end());
}

} // namespace

class TestLaneLayout : public QObject
{
    Q_OBJECT

private slots:
    void startsWithMainLane()
    {
        const LaneLayout layout;
        QCOMPARE(layout.count(), 1);
        QCOMPARE(layout.keyAt(0), std::optional<std::int32_t>(LaneLayout::kMainKey));
        QCOMPARE(layout.laneOf(LaneLayout::kMainKey), 0);
        QCOMPARE(layout.laneOf(1), -1);
    }

    void order_data()
    {
        QTest::addColumn<QList<int>>("added");
        QTest::addColumn<QList<int>>("returned");
        QTest::addColumn<QList<int>>("expectedKeys");
        QTest::newRow("nothing") << QList<int>{} << QList<int>{} << QList<int>{-1};
        QTest::newRow("first appearance order")
            << QList<int>{3, 1, 2} << QList<int>{1, 2, 3} << QList<int>{-1, 3, 1, 2};
        QTest::newRow("repeats keep their lane")
            << QList<int>{1, 1, 2, 1, 2} << QList<int>{1, 1, 2, 1, 2} << QList<int>{-1, 1, 2};
        QTest::newRow("main seen late is still lane 0")
            << QList<int>{1, -1, 2} << QList<int>{1, 0, 2} << QList<int>{-1, 1, 2};
        // Worker 1 died and ForkPoolWorker-3 replaced it: the new lane goes last and worker 1
        // keeps its lane, so its history stays where it was.
        QTest::newRow("replacement appended")
            << QList<int>{1, 2, 1, 3, 2, 3} << QList<int>{1, 2, 1, 3, 2, 3}
            << QList<int>{-1, 1, 2, 3};
        QTest::newRow("large and zero keys")
            << QList<int>{0, 2'000'000'000, 7} << QList<int>{1, 2, 3}
            << QList<int>{-1, 0, 2'000'000'000, 7};
    }
    void order()
    {
        QFETCH(QList<int>, added);
        QFETCH(QList<int>, returned);
        QFETCH(QList<int>, expectedKeys);
        LaneLayout layout;
        QList<int> indices;
        for (const int key : added)
            indices << layout.addLane(key);
        QCOMPARE(indices, returned);
        QCOMPARE(toList(layout.keys()), expectedKeys);
        QCOMPARE(layout.count(), expectedKeys.size());
        for (int i = 0; i < expectedKeys.size(); ++i) {
            QCOMPARE(layout.laneOf(expectedKeys[i]), i);
            QCOMPARE(layout.keyAt(i), std::optional<std::int32_t>(expectedKeys[i]));
        }
    }

    void unknownKeysAndIndices_data()
    {
        QTest::addColumn<int>("key");
        QTest::addColumn<int>("index");
        QTest::newRow("unseen worker") << 4 << 3;
        QTest::newRow("negative index") << 99 << -1;
        QTest::newRow("far index") << -2 << 1000;
    }
    void unknownKeysAndIndices()
    {
        QFETCH(int, key);
        QFETCH(int, index);
        const LaneLayout layout = threeLanes();
        QCOMPARE(layout.laneOf(key), -1);
        QCOMPARE(layout.keyAt(index), std::nullopt);
        QVERIFY(layout.laneRect(index).isNull());
    }

    void clearKeepsMetrics()
    {
        LaneLayout layout = threeLanes();
        layout.clear();
        QCOMPARE(toList(layout.keys()), QList<int>{-1});
        QCOMPARE(layout.laneOf(1), -1);
        QCOMPARE(layout.rowHeight(), 20.0);
        QCOMPARE(layout.headerHeight(), 30.0);
        QCOMPARE(layout.spacing(), 4.0);
        QCOMPARE(layout.width(), 800.0);
        QCOMPARE(layout.addLane(2), 1); // a new run numbers its lanes afresh
    }

    void laneRect_data()
    {
        QTest::addColumn<double>("spacing");
        QTest::addColumn<int>("index");
        QTest::addColumn<QRectF>("expected");
        QTest::newRow("main") << 4.0 << 0 << QRectF(0, 30, 800, 20);
        QTest::newRow("second") << 4.0 << 1 << QRectF(0, 54, 800, 20);
        QTest::newRow("last") << 4.0 << 2 << QRectF(0, 78, 800, 20);
        QTest::newRow("no spacing, second") << 0.0 << 1 << QRectF(0, 50, 800, 20);
        QTest::newRow("no spacing, last") << 0.0 << 2 << QRectF(0, 70, 800, 20);
        QTest::newRow("fractional spacing") << 0.5 << 2 << QRectF(0, 71, 800, 20);
    }
    void laneRect()
    {
        QFETCH(double, spacing);
        QFETCH(int, index);
        QFETCH(QRectF, expected);
        QCOMPARE(threeLanes(spacing).laneRect(index), expected);
    }

    void totalHeight_data()
    {
        QTest::addColumn<int>("workers");
        QTest::addColumn<double>("header");
        QTest::addColumn<double>("row");
        QTest::addColumn<double>("spacing");
        QTest::addColumn<double>("expected");
        QTest::newRow("main only") << 0 << 30.0 << 20.0 << 4.0 << 50.0;
        QTest::newRow("two workers") << 2 << 30.0 << 20.0 << 4.0 << 98.0;
        QTest::newRow("no spacing") << 2 << 30.0 << 20.0 << 0.0 << 90.0;
        QTest::newRow("no header") << 2 << 0.0 << 20.0 << 4.0 << 68.0;
        QTest::newRow("eight workers") << 8 << 24.0 << 18.0 << 2.0 << 24.0 + 9 * 18.0 + 8 * 2.0;
    }
    void totalHeight()
    {
        QFETCH(int, workers);
        QFETCH(double, header);
        QFETCH(double, row);
        QFETCH(double, spacing);
        QFETCH(double, expected);
        LaneLayout layout;
        layout.setHeaderHeight(header);
        layout.setRowHeight(row);
        layout.setSpacing(spacing);
        for (int worker = 1; worker <= workers; ++worker)
            layout.addLane(worker);
        QCOMPARE(layout.totalHeight(), expected);
        // The last lane ends exactly at the total height.
        QCOMPARE(layout.laneRect(layout.count() - 1).bottom(), expected);
    }

    void laneAt_data()
    {
        QTest::addColumn<double>("spacing");
        QTest::addColumn<double>("y");
        QTest::addColumn<int>("expected");
        // Lanes [30, 50), [54, 74), [78, 98) with spacing 4.
        QTest::newRow("top of header") << 4.0 << 0.0 << -1;
        QTest::newRow("above everything") << 4.0 << -5.0 << -1;
        QTest::newRow("end of header") << 4.0 << 29.99 << -1;
        QTest::newRow("top of main") << 4.0 << 30.0 << 0;
        QTest::newRow("inside main") << 4.0 << 40.0 << 0;
        QTest::newRow("end of main") << 4.0 << 49.99 << 0;
        QTest::newRow("bottom edge of main") << 4.0 << 50.0 << -1;
        QTest::newRow("in the gap") << 4.0 << 52.0 << -1;
        QTest::newRow("end of the gap") << 4.0 << 53.99 << -1;
        QTest::newRow("top of lane 1") << 4.0 << 54.0 << 1;
        QTest::newRow("end of lane 1") << 4.0 << 73.99 << 1;
        QTest::newRow("second gap") << 4.0 << 74.0 << -1;
        QTest::newRow("top of lane 2") << 4.0 << 78.0 << 2;
        QTest::newRow("end of lane 2") << 4.0 << 97.99 << 2;
        QTest::newRow("total height") << 4.0 << 98.0 << -1;
        QTest::newRow("where lane 3 would be") << 4.0 << 105.0 << -1;
        QTest::newRow("far below") << 4.0 << 1e9 << -1;
        QTest::newRow("NaN") << 4.0 << kNaN << -1;
        QTest::newRow("+infinity") << 4.0 << kInf << -1;
        QTest::newRow("-infinity") << 4.0 << -kInf << -1;
        // Lanes [30, 50), [50, 70), [70, 90) without spacing: each edge belongs to the lower
        // lane only.
        QTest::newRow("no spacing, end of main") << 0.0 << 49.99 << 0;
        QTest::newRow("no spacing, shared edge") << 0.0 << 50.0 << 1;
        QTest::newRow("no spacing, second edge") << 0.0 << 70.0 << 2;
        QTest::newRow("no spacing, end of last") << 0.0 << 89.99 << 2;
        QTest::newRow("no spacing, total height") << 0.0 << 90.0 << -1;
    }
    void laneAt()
    {
        QFETCH(double, spacing);
        QFETCH(double, y);
        QFETCH(int, expected);
        QCOMPARE(threeLanes(spacing).laneAt(y), expected);
    }

    // laneAt and laneRect agree for every lane and layout: the top edge and the centre are in
    // the lane, the bottom edge is not.
    void laneAtMatchesLaneRect_data()
    {
        QTest::addColumn<double>("header");
        QTest::addColumn<double>("row");
        QTest::addColumn<double>("spacing");
        QTest::newRow("typical") << 22.0 << 18.0 << 2.0;
        QTest::newRow("fractional") << 17.5 << 13.25 << 0.75;
        QTest::newRow("packed") << 0.0 << 10.0 << 0.0;
        QTest::newRow("thin rows, wide gaps") << 5.0 << 1.0 << 30.0;
    }
    void laneAtMatchesLaneRect()
    {
        QFETCH(double, header);
        QFETCH(double, row);
        QFETCH(double, spacing);
        LaneLayout layout;
        layout.setHeaderHeight(header);
        layout.setRowHeight(row);
        layout.setSpacing(spacing);
        for (int worker = 1; worker <= 16; ++worker)
            layout.addLane(worker);
        for (int i = 0; i < layout.count(); ++i) {
            const QRectF rect = layout.laneRect(i);
            QCOMPARE(rect.height(), row);
            QCOMPARE(layout.laneAt(rect.top()), i);
            QCOMPARE(layout.laneAt(rect.center().y()), i);
            QCOMPARE(layout.laneAt(std::nextafter(rect.bottom(), 0.0)), i);
            QCOMPARE(layout.laneAt(rect.bottom()), spacing > 0              ? -1
                                                   : i + 1 < layout.count() ? i + 1
                                                                            : -1);
            if (i > 0)
                QCOMPARE(rect.top() - layout.laneRect(i - 1).bottom(), spacing);
        }
    }

    void metricsClamped_data()
    {
        QTest::addColumn<double>("value");
        QTest::addColumn<double>("row");
        QTest::addColumn<double>("other"); // header, spacing and width
        QTest::newRow("normal") << 12.5 << 12.5 << 12.5;
        QTest::newRow("zero") << 0.0 << 1.0 << 0.0;
        QTest::newRow("below a pixel") << 0.5 << 1.0 << 0.5;
        QTest::newRow("negative") << -5.0 << 1.0 << 0.0;
        QTest::newRow("NaN") << kNaN << 1.0 << 0.0;
        QTest::newRow("infinity") << kInf << 1.0 << 0.0;
    }
    void metricsClamped()
    {
        QFETCH(double, value);
        QFETCH(double, row);
        QFETCH(double, other);
        LaneLayout layout;
        layout.setRowHeight(value);
        layout.setHeaderHeight(value);
        layout.setSpacing(value);
        layout.setWidth(value);
        QCOMPARE(layout.rowHeight(), row);
        QCOMPARE(layout.headerHeight(), other);
        QCOMPARE(layout.spacing(), other);
        QCOMPARE(layout.width(), other);
        QCOMPARE(layout.totalHeight(), other + row);
    }
};

QTEST_GUILESS_MAIN(TestLaneLayout)
#include "tst_lanelayout.moc"
