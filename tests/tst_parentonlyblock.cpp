// ParentOnlyBlock: a page-aligned block of memory that fork children do not inherit; a process
// gets its own kept block back for the next one of the same size, and a fork child never gets
// its parent's (which it does not have), even after destroying its copy of the parent's object.
#include "hygiene.h"
#include "parentonlyblock.h"

#include <QTest>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace poolscope;

namespace {

constexpr std::size_t kBytes = std::size_t(1) << 18; // as a pool's read buffer

// Whether the page at `address` is mapped in this process (mincore() says ENOMEM if not).
bool mapped(const void* address)
{
    unsigned char resident = 0;
    return ::mincore(const_cast<void*>(address), 4096, &resident) == 0 || errno != ENOMEM;
}

// Writes every byte of the block and reads it back.
bool usable(const ParentOnlyBlock& block)
{
    std::memset(block.data(), 0x5a, block.size());
    for (std::size_t i = 0; i < block.size(); i += 4096)
        if (block.data()[i] != 0x5a || block.data()[i + 4095] != 0x5a)
            return false;
    return true;
}

// Runs `child` in a fork child and returns its exit status (-signal if a signal ended it).
template <typename F> int inForkChild(F child)
{
    const pid_t pid = ::fork();
    if (pid == 0)
        ::_exit(child());
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid)
        return -1000;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

} // namespace

class TestParentOnlyBlock : public QObject
{
    Q_OBJECT

private slots:
    void init() { m_hygiene.baseline(); }
    void cleanup() { m_hygiene.check(); }

    void isPageAlignedAndUsable()
    {
        ParentOnlyBlock block(kBytes);
        QCOMPARE(block.size(), kBytes);
        QCOMPARE(reinterpret_cast<std::uintptr_t>(block.data()) % 4096, std::uintptr_t(0));
        QVERIFY(usable(block));
    }

    void theProcessGetsItsKeptBlockBack()
    {
        std::uint8_t* first = nullptr;
        {
            ParentOnlyBlock block(kBytes);
            first = block.data();
        }
        ParentOnlyBlock again(kBytes);
        QCOMPARE(again.data(), first);
        ParentOnlyBlock another(kBytes); // the kept one is taken: a new mapping
        QVERIFY(another.data() != first);
        QVERIFY(usable(another));
    }

    void aForkChildDoesNotInheritIt()
    {
        ParentOnlyBlock block(kBytes);
        QVERIFY(usable(block));
        const std::uint8_t* data = block.data();
        QCOMPARE(inForkChild([&] { return mapped(data) ? 3 : 0; }), 0);
        QVERIFY(mapped(data));
        QCOMPARE(block.data()[kBytes - 1], std::uint8_t(0x5a)); // the parent's, as it was
    }

    // The child's copy of the parent's object, destroyed there, is not kept: the child's next
    // block is a mapping of its own (taking the parent's address would fault on first write).
    void aForkChildNeverTakesItsParentsBlock()
    {
        auto block = std::make_unique<ParentOnlyBlock>(kBytes);
        std::uint8_t* const parents = block->data();
        const int status = inForkChild([&] {
            block.reset(); // the inherited copy
            ParentOnlyBlock mine(kBytes);
            return usable(mine) ? 0 : 3;
        });
        QCOMPARE(status, 0);
        block.reset(); // kept in the parent
        {
            const int kept = inForkChild([] {
                ParentOnlyBlock mine(kBytes); // the parent's kept block is not the child's
                return usable(mine) ? 0 : 3;
            });
            QCOMPARE(kept, 0);
        }
        ParentOnlyBlock again(kBytes);
        QCOMPARE(again.data(), parents);
    }

private:
    Hygiene m_hygiene;
};

QTEST_GUILESS_MAIN(TestParentOnlyBlock)
#include "tst_parentonlyblock.moc"
