// BatchScheduling: a thread that yields the CPU to the pool's workers (SCHED_BATCH), and a
// process it starts, which must not inherit that policy.
#include "batchscheduling.h"
#include "forkserver.h"
#include "process.h"
#include "systemexit.h"

#include <QTest>
#include <sched.h>
#include <thread>

using namespace poolscope;

namespace {

// Runs fn on a thread of its own (a policy is a thread's), and returns what it returned.
template <typename Fn> auto onThread(Fn fn)
{
    decltype(fn()) result{};
    std::thread t([&] { result = fn(); });
    t.join();
    return result;
}

} // namespace

class TestBatchScheduling : public QObject
{
    Q_OBJECT

private slots:
    void enterMakesOnlyTheCallingThreadBatch()
    {
        const auto seen = onThread([] {
            const bool entered = BatchScheduling::enter();
            return std::tuple(entered, ::sched_getscheduler(0), BatchScheduling::active(),
                              BatchScheduling::enter()); // again: stays so, says so
        });
        QCOMPARE(std::get<0>(seen), true);
        QCOMPARE(std::get<1>(seen), SCHED_BATCH);
        QCOMPARE(std::get<2>(seen), true);
        QCOMPARE(std::get<3>(seen), true);
        QCOMPARE(::sched_getscheduler(0), SCHED_OTHER);
        QCOMPARE(BatchScheduling::active(), false);
    }

    void suspendIsNormalWhileItLives()
    {
        const auto seen = onThread([] {
            BatchScheduling::enter();
            int inside = -1;
            bool activeInside = true;
            {
                const BatchScheduling::Suspend normal;
                inside = ::sched_getscheduler(0);
                activeInside = BatchScheduling::active();
            }
            return std::tuple(inside, activeInside, ::sched_getscheduler(0),
                              BatchScheduling::active());
        });
        QCOMPARE(std::get<0>(seen), SCHED_OTHER);
        QCOMPARE(std::get<1>(seen), false);
        QCOMPARE(std::get<2>(seen), SCHED_BATCH);
        QCOMPARE(std::get<3>(seen), true);
        // Elsewhere a Suspend changes nothing.
        {
            const BatchScheduling::Suspend normal;
            QCOMPARE(::sched_getscheduler(0), SCHED_OTHER);
        }
        QCOMPARE(::sched_getscheduler(0), SCHED_OTHER);
    }

    // A policy that someone else chose for the thread (here SCHED_IDLE) is left alone.
    void aPolicyChosenElsewhereStays()
    {
        const auto seen = onThread([] {
            sched_param param{};
            if (::sched_setscheduler(0, SCHED_IDLE, &param) != 0)
                return std::tuple(-1, false, -1);
            const bool entered = BatchScheduling::enter();
            int inside = -1;
            {
                const BatchScheduling::Suspend normal;
                inside = ::sched_getscheduler(0);
            }
            return std::tuple(::sched_getscheduler(0), entered, inside);
        });
        QCOMPARE(std::get<0>(seen), SCHED_IDLE);
        QCOMPARE(std::get<1>(seen), false);
        QCOMPARE(std::get<2>(seen), SCHED_IDLE);
    }

    // A process started from a batch thread (as the pool's result thread starts replacement
    // workers) runs with the policy the thread had before: the child's exit code says which.
    void aChildOfABatchThreadIsNormal()
    {
        const auto exitcode = onThread([] {
            BatchScheduling::enter();
            Process child(ProcessTarget::callable([] {
                if (::sched_getscheduler(0) != SCHED_OTHER)
                    throw SystemExit{3};
            }));
            child.start();
            const bool stillBatch = ::sched_getscheduler(0) == SCHED_BATCH;
            child.join();
            return stillBatch ? child.exitcode() : std::optional<int>(-100);
        });
        QCOMPARE(exitcode, std::optional<int>(0));
    }

    // A fork server first needed by a batch thread is started normal too: every forkserver
    // child is a fork of it, and would inherit its policy.
    void aForkServerStartedByABatchThreadIsNormal()
    {
        QVERIFY(!ForkServer::serverPid()); // this test program has not needed one yet
        const auto exitcode = onThread([] {
            BatchScheduling::enter();
            ProcessOptions options;
            options.method = StartMethod::ForkServer;
            Process child(ProcessTarget::task("exit_with", {0}), options);
            child.start();
            child.join();
            return child.exitcode();
        });
        QCOMPARE(exitcode, std::optional<int>(0));
        const auto server = ForkServer::serverPid();
        QVERIFY(server);
        QCOMPARE(::sched_getscheduler(*server), SCHED_OTHER);
        ForkServer::shutdown();
    }
};

QTEST_APPLESS_MAIN(TestBatchScheduling)
#include "tst_batchscheduling.moc"
