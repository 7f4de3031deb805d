// SegmentedArray: elements read back whole across segment boundaries while a reader on another
// thread reads what has been published; a later segment of 2 MiB or more starts at a 2 MiB
// boundary (so that its first 2 MiB can be a huge page) and a smaller one need not; the first
// segment of an array that ended is taken by the next array of its kind.
#include "segmentedarray.h"

#include <QTest>
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace poolscope;

namespace {

// 88 bytes, as an event log record: 32,768 of them make a segment of 2.75 MiB.
struct Record88
{
    std::int64_t index = 0;
    std::array<std::uint8_t, 80> fill{};
};
static_assert(sizeof(Record88) == 88);

Record88 recordFor(std::int64_t i)
{
    Record88 r;
    r.index = i;
    r.fill.fill(std::uint8_t(i * 13 + 7));
    return r;
}

bool intact(const Record88& r, std::int64_t i)
{
    return r.index == i && std::all_of(r.fill.begin(), r.fill.end(), [&](std::uint8_t b) {
               return b == std::uint8_t(i * 13 + 7);
           });
}

constexpr std::uintptr_t kHugePage = std::uintptr_t(2) << 20;

} // namespace

class TestSegmentedArray : public QObject
{
    Q_OBJECT

private slots:
    void elementsReadBackAcrossSegmentsWhileAppended()
    {
        SegmentedArray<Record88, 6> array; // 64 a segment: many boundaries
        constexpr std::int64_t kCount = 20'000;
        std::atomic<bool> done{false};
        std::atomic<std::int64_t> bad{-1};
        std::thread reader([&] {
            std::size_t seen = 0;
            while (!done.load(std::memory_order_acquire) || seen < array.size()) {
                const std::size_t n = array.size();
                for (; seen < n; ++seen)
                    if (!intact(array[seen], std::int64_t(seen)))
                        bad.store(std::int64_t(seen));
            }
        });
        for (std::int64_t i = 0; i < kCount; ++i) {
            array.emplace(recordFor(i));
            if (i % 7 == 0)
                array.publish();
        }
        array.publish();
        done.store(true, std::memory_order_release);
        reader.join();
        QCOMPARE(bad.load(), std::int64_t(-1));
        QCOMPARE(array.size(), std::size_t(kCount));
        for (std::int64_t i = 0; i < kCount; ++i)
            QVERIFY(intact(array[std::size_t(i)], i));
    }

    void largeLaterSegmentsStartAtHugePageBoundaries()
    {
        using Large = SegmentedArray<Record88, 15>; // 2.75 MiB segments
        Large array;
        const std::size_t n = 3 * Large::kSegmentSize + 5;
        array.emplaceRun(n, [](std::size_t k) { return recordFor(std::int64_t(k)); });
        array.publish();
        for (std::size_t seg = 1; seg < 4; ++seg) {
            const auto address =
                reinterpret_cast<std::uintptr_t>(&array[seg * Large::kSegmentSize]);
            QCOMPARE(address % kHugePage, std::uintptr_t(0));
        }
        for (std::size_t k = 0; k < n; k += 997)
            QVERIFY(intact(array[k], std::int64_t(k)));
        QVERIFY(intact(array[n - 1], std::int64_t(n - 1)));
    }

    void firstSegmentGoesToTheNextArray()
    {
        const Record88* first = nullptr;
        {
            SegmentedArray<Record88, 10> array;
            array.emplace(recordFor(1));
            array.publish();
            first = &array[0];
        }
        SegmentedArray<Record88, 10> next;
        next.emplace(recordFor(2));
        next.publish();
        QCOMPARE(&next[0], first);
        QVERIFY(intact(next[0], 2));
    }

    // A fork child that ends its copy of an array (whose segments it does not have) and makes
    // one of the same kind gets a working array of its own; the parent's is intact.
    void aForkChildEndsItsCopyAndMakesItsOwn()
    {
        using Strings = SegmentedArray<std::string, 6>; // elements with destructors
        auto array = std::make_unique<Strings>();
        for (int i = 0; i < 100; ++i) // two segments
            array->emplace("element " + std::to_string(i));
        array->publish();
        const pid_t pid = ::fork();
        QVERIFY(pid >= 0);
        if (pid == 0) {
            array.reset();
            Strings mine;
            mine.emplace("mine");
            mine.publish();
            ::_exit(mine.size() == 1 && mine[0] == "mine" ? 0 : 3);
        }
        int status = 0;
        QCOMPARE(::waitpid(pid, &status, 0), pid);
        QVERIFY2(WIFEXITED(status), "the child died of a signal");
        QCOMPARE(WEXITSTATUS(status), 0);
        QCOMPARE((*array)[99], std::string("element 99"));
    }
};

QTEST_GUILESS_MAIN(TestSegmentedArray)
#include "tst_segmentedarray.moc"
