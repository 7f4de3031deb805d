#include "poolworker.h"

#include "childsetup.h"
#include "clock.h"
#include "inheritedworker.h"
#include "poolprotocol.h"
#include "systemexit.h"
#include "taskclock.h"
#include "taskerror.h"
#include "taskqueue.h"
#include "taskregistry.h"
#include "workerslot.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <malloc.h>
#include <poll.h>
#include <unistd.h>

namespace poolscope {

Bytes PoolWorkerConfig::encode() const
{
    return encodeValue(Value(Value::List{
        taskOptions.toValue(), static_cast<long long>(maxTasks), initializer, Value(initargs),
        recording, tscClock, static_cast<long long>(slot), static_cast<long long>(inheritedQueue),
        static_cast<long long>(clockBase.ns), static_cast<long long>(clockBase.ticks)}));
}

PoolWorkerConfig PoolWorkerConfig::decode(std::span<const std::uint8_t> bytes)
{
    try {
        const Value v = decodeValue(bytes);
        const auto& l = v.asList();
        PoolWorkerConfig c;
        c.taskOptions = TaskOptions::fromValue(l.at(0));
        c.maxTasks = l.at(1).asInt();
        c.initializer = l.at(2).asStr();
        c.initargs = l.at(3).asList();
        c.recording = l.at(4).asBool();
        c.tscClock = l.at(5).asBool();
        c.slot = l.at(6).asInt();
        c.inheritedQueue = std::uint64_t(l.at(7).asInt());
        c.clockBase.ns = l.at(8).asInt();
        c.clockBase.ticks = l.at(9).asInt();
        return c;
    } catch (const WireError&) {
        throw;
    } catch (const std::exception& e) {
        throw WireError(std::string("malformed pool worker configuration: ") + e.what());
    }
}

namespace {

constexpr std::int64_t kLiveReportIntervalNs = 1'000'000; // 1 ms
// Timing groups (WorkerLoop::runChunk).
constexpr std::int64_t kShortTaskNs = 250;
constexpr std::int64_t kGroupNs = 2'000;
constexpr std::size_t kMaxGroup = 1024;

RemoteError errorFromException(const std::string& worker, const std::string& func,
                               std::int64_t index, const Value& input)
{
    RemoteError err;
    try {
        throw;
    } catch (const TaskError& e) {
        err.type = e.type();
        err.message = e.message();
    } catch (const SystemExit& e) {
        err.type = "SystemExit";
        err.message = std::to_string(e.code);
    } catch (const std::exception& e) {
        err.type = "RuntimeError";
        err.message = e.what();
    } catch (...) {
        err.type = "RuntimeError";
        err.message = "unknown C++ exception";
    }
    err.traceback = "Traceback (most recent call last):\n  File \"<" + worker + ">\", in " + func +
                    "\n    task " + std::to_string(index) + ", input " + input.repr() + "\n" +
                    err.text() + "\n";
    return err;
}

// A worker allocates and frees the same large buffers for every chunk (the decoded inputs, the
// results, the encoded report). By default glibc gives big blocks back to the kernel on free
// (mmap'd blocks, and the top of the heap past 128 KiB), so every chunk faulted its pages in
// afresh: 90% of all page faults of a map of 100,000 tasks. A worker keeps them instead, from
// its first chunk: each mallopt() first consolidates the heap, which in a fork child is a
// copy-on-write fault on every heap page it writes, and a worker that never gets work (a
// pool closed at once) need not pay that.
void keepFreedMemory()
{
    ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
    ::mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

// One worker: takes chunks from the shared queue until told to stop (or retired).
class WorkerLoop
{
public:
    // config, frame and input outlive the loop (a fork worker's are inherited: see
    // InheritedWorker); frame and input are its reusable buffers.
    WorkerLoop(const PoolWorkerConfig& config, Bytes& frame, Bytes& input, TaskQueue& queue,
               int lifelineFd, int resultFd, WorkerSlot* slot)
        : m_config(config), m_name(currentProcess().name), m_queue(queue),
          m_readerId(std::uint32_t(::getpid())), m_lifelineFd(lifelineFd), m_resultFd(resultFd),
          m_slot(slot), m_ring(queue.resultRing(std::size_t(config.slot))),
          m_clock(m_config.tscClock, m_config.clockBase), m_frame(frame), m_input(input)
    {}

    int run()
    {
        if (!m_config.initializer.empty() && !runInitializer())
            return 1;
        WorkerReport ready;
        ready.kind = WorkerReport::Kind::Ready;
        ready.pid = ::getpid();
        ready.ppid = ::getppid();
        // A worker that is closed before its first task (a pool created and closed) reads the
        // clock only here: by system call, so that it never maps the vDSO (clock.h).
        ready.readyNs = monotonicNsBySyscall();
        if (!send(ready))
            return 0;
        m_lastSendNs = ready.readyNs;
        std::int64_t tasksDone = 0;
        for (;;) {
            m_slot->state.store(WorkerSlot::Idle, std::memory_order_relaxed);
            if (!m_queue.pop(m_readerId, m_input, m_parentAlive))
                return 0; // the parent is gone
            const ChunkMessage msg = decodeChunk(m_input);
            if (msg.stop) {
                m_slot->state.store(WorkerSlot::Stopped, std::memory_order_release);
                return 0;
            }
            if (!m_keepsFreedMemory) {
                keepFreedMemory();
                m_keepsFreedMemory = true;
            }
            if (!runChunk(msg))
                return 0; // the parent stopped listening
            if (m_config.maxTasks > 0 && ++tasksDone >= m_config.maxTasks) {
                m_slot->state.store(WorkerSlot::Retired, std::memory_order_release);
                return 0;
            }
        }
    }

private:
    // The parent holds the only write end of the lifeline pipe: when it has gone, the read
    // end reports end of file. Asked only while the queue is idle (every 100 ms).
    bool parentAlive() const
    {
        pollfd p{m_lifelineFd, POLLIN, 0};
        return ::poll(&p, 1, 0) == 0;
    }

    bool runInitializer()
    {
        const TaskFunction fn = TaskRegistry::builtins().find(m_config.initializer);
        try {
            if (!fn)
                throw TaskError("AttributeError",
                                "no registered task named '" + m_config.initializer + "'");
            TaskContext ctx;
            ctx.options = m_config.taskOptions;
            fn(m_config.initargs, ctx);
            return true;
        } catch (...) {
            WorkerReport failed;
            failed.kind = WorkerReport::Kind::InitFailed;
            failed.pid = ::getpid();
            failed.ok = false;
            failed.error =
                errorFromException(m_name, m_config.initializer, -1, Value(m_config.initargs));
            send(failed);
            return false;
        }
    }

    bool runChunk(const ChunkMessage& msg)
    {
        const bool rec = m_config.recording;
        // A chunk of a few tasks reads the clock itself; a longer one reads the TSC (TaskClock).
        constexpr std::size_t kCounterTasks = 8;
        const std::int64_t takenNs = rec ? m_clock.anchor(msg.size() >= kCounterTasks) : 0;
        m_slot->job.store(msg.job, std::memory_order_relaxed);
        m_slot->chunk.store(msg.chunk, std::memory_order_relaxed);
        m_slot->task.store(msg.first, std::memory_order_relaxed);
        m_slot->state.store(WorkerSlot::Running, std::memory_order_release);

        // One report object for all chunks: its lists keep their capacity from chunk to chunk.
        WorkerReport& report = m_report;
        report.job = msg.job;
        report.chunk = msg.chunk;
        report.first = msg.first;
        report.takenNs = takenNs;
        report.fromTask = msg.first;
        report.ok = true;
        report.error = {};
        report.values.clear();
        report.intValues.clear();
        report.groupEndNs.clear();
        report.groupTasks.clear();
        report.delays.clear();
        report.groupFrom = report.groupEnd = report.groupSize = 0;
        const std::size_t n = msg.size();
        // A chunk of ints for a task with an int kernel runs without a Value per task.
        const IntKernel kernel =
            msg.packedInts && !msg.star ? TaskRegistry::builtins().findKernel(msg.func) : nullptr;
        report.intResults = kernel != nullptr;
        if (kernel)
            report.intValues.reserve(n);
        else
            report.values.reserve(n);

        const TaskFunction fn = TaskRegistry::builtins().find(msg.func);
        Value packedItem;      // an item of a packed chunk, as a Value (no kernel)
        Value::List single(1); // map's one argument, reused: no allocation per task
        TaskContext ctx;
        ctx.options = m_config.taskOptions;
        bool anyDelay = false;
        // Recording reads the clock after each task, unless the tasks are much shorter than a
        // reading (about 13 ns with the TSC): then after a group of them. Tasks that took under
        // kShortTaskNs each double the next group (up to about kGroupNs of tasks, and at most
        // kMaxGroup); tasks over 4 kShortTaskNs each go back to being timed alone.
        // The reading at which the current group (or task) started:
        std::int64_t start = rec ? m_clock.anchorReading() : 0;
        std::size_t group = 1;   // tasks a clock reading
        std::size_t inGroup = 0; // tasks run since the last reading
        // The report's readings: its first group's start, then each group's end (the number of
        // tasks of each group goes into the report). Only they are converted to ns, when the
        // report goes out (sendableTiming); each group's tasks share its time.
        m_readings.clear();
        std::size_t timed = 0; // tasks of the report timed so far
        // A task's start is sent live once a millisecond has passed since the last report. A
        // chunk taken after a quiet spell would always start with such a message, but one that
        // this function's last tasks say will end within that millisecond need not: its result
        // comes as soon. The millisecond then counts from its first task, as if sent then.
        if (msg.func != m_lastFunc) {
            m_lastFunc = msg.func;
            m_lastTaskNs = -1;
        }
        const bool shortChunk =
            m_lastTaskNs >= 0 && n > 0 && m_lastTaskNs < kLiveReportIntervalNs / std::int64_t(n);
        std::int64_t quietFrom = m_lastSendNs;
        const auto closeGroup = [&] {
            const std::int64_t now = m_clock.read();
            const std::int64_t groupStart = start;
            const auto tasks = std::int64_t(inGroup);
            if (m_readings.empty())
                m_readings.push_back(groupStart);
            m_readings.push_back(std::max(now, groupStart));
            report.groupTasks.push_back(tasks);
            timed += inGroup;
            if (inGroup > 1)
                report.groupEnd = std::int32_t(timed);
            const std::int64_t each =
                (m_clock.estimateNs(now) - m_clock.estimateNs(groupStart)) / tasks;
            m_lastTaskNs = each;
            if (each < kShortTaskNs && group < kMaxGroup && each * std::int64_t(group) < kGroupNs) {
                if (group == 1 && report.groupSize == 0) // the report's first group starts
                    report.groupFrom = report.groupEnd = std::int32_t(timed);
                group *= 2;
                report.groupSize = std::max(report.groupSize, std::int32_t(group));
            } else if (each > 4 * kShortTaskNs) {
                group = 1;
            }
            start = now;
            inGroup = 0;
        };
        std::int64_t finished = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const std::int64_t index = msg.first + std::int64_t(i);
            m_slot->task.store(index, std::memory_order_relaxed);
            const bool crashing = index == ctx.options.crashAt;
            if (rec && inGroup > 0 && crashing)
                closeGroup(); // the task that dies starts at a reading of its own
            if (rec && inGroup == 0) {
                const std::int64_t startNs = m_clock.estimateNs(start);
                m_slot->taskStartNs.store(startNs, std::memory_order_relaxed);
                if (i == 0 && shortChunk)
                    quietFrom = std::max(quietFrom, startNs);
                if (crashing ||
                    startNs - std::max(quietFrom, m_lastSendNs) >= kLiveReportIntervalNs) {
                    // Worth a message of its own: the task is slow, or the worker is about to
                    // die, so that the parent sees the task start live.
                    report.kind = WorkerReport::Kind::Progress;
                    report.currentStartNs = sendableTiming(report, start);
                    if (anyDelay)
                        report.delays.resize(timed, -1);
                    timed = 0;
                    if (!send(report))
                        return false;
                    report.fromTask = index;
                    report.groupEndNs.clear();
                    report.groupTasks.clear();
                    report.values.clear();
                    report.intValues.clear();
                    report.delays.clear();
                    report.groupFrom = report.groupEnd = 0;
                    report.groupSize = group > 1 ? std::int32_t(group) : 0;
                    anyDelay = false;
                }
            }
            if (crashing)
                ::raise(SIGKILL); // --crash-at: this worker dies mid-task, as a segfault would

            ctx.index = index;
            ctx.delaySeconds = -1;
            bool ok = true;
            if (kernel) {
                // This task and those after it that need nothing between them: to the end of
                // the chunk, or of the clock reading's group, and short of a task to crash.
                std::size_t run = n - i;
                if (rec)
                    run = std::min(run, group - inGroup);
                if (const std::int64_t crash = ctx.options.crashAt; crash > index)
                    run = std::size_t(std::min(std::int64_t(run), crash - index));
                const std::size_t done = report.intValues.size();
                report.intValues.resize(done + run);
                std::size_t ran = run; // tasks run, the failing one included
                try {
                    kernel(msg.ints.data() + i, report.intValues.data() + done, run, index, ctx,
                           m_slot->task);
                } catch (...) {
                    ran = std::size_t(ctx.index - index) + 1;
                    report.intValues.resize(done + ran - 1);
                    ok = false;
                    report.ok = false;
                    report.error =
                        errorFromException(m_name, msg.func, ctx.index,
                                           Value(static_cast<long long>(msg.ints[i + ran - 1])));
                }
                // The run's tasks but its last are accounted for here, the last as any task.
                i += ran - 1;
                finished += std::int64_t(ran) - 1;
                inGroup += ran - 1;
            } else {
                if (msg.packedInts)
                    packedItem = Value(static_cast<long long>(msg.ints[i]));
                const Value& item = msg.packedInts ? packedItem : msg.items[i];
                ok = runTask(fn, msg, item, index, single, ctx);
            }
            ++finished;
            if (rec) {
                const bool slept = ctx.delaySeconds >= 0; // its delay goes with its own end
                if (++inGroup >= group || slept || !ok || i + 1 == n)
                    closeGroup();
                if (slept) {
                    report.delays.resize(timed - 1, -1);
                    report.delays.push_back(ctx.delaySeconds);
                    anyDelay = true;
                }
            }
            if (!ok)
                break; // like Python's mapstar: the chunk fails as a whole at its first error
        }
        report.kind = WorkerReport::Kind::Result;
        report.currentStartNs = -1;
        report.finished = finished;
        if (rec)
            sendableTiming(report, start);
        if (anyDelay)
            report.delays.resize(timed, -1);
        m_slot->state.store(WorkerSlot::Idle, std::memory_order_release);
        return send(report);
    }

    // Converts the report's readings (and `current`, a reading after them: the task running
    // now, or the last end again) to ns in one pass, into the report's timing groups (their
    // ends never going back); returns `current` in ns.
    std::int64_t sendableTiming(WorkerReport& report, std::int64_t current)
    {
        m_readings.push_back(current);
        m_lastSendNs = m_clock.convert(m_readings);
        report.groupsStartNs = m_readings[0];
        std::int64_t end = m_readings[0];
        for (std::size_t g = 0; g < report.groupTasks.size(); ++g) {
            end = std::max(end, m_readings[g + 1]);
            report.groupEndNs.push_back(end);
        }
        const std::int64_t currentNs = m_readings.back();
        m_readings.clear();
        return currentNs;
    }

    // One task through its TaskFunction: its result goes into the report, or its error.
    bool runTask(TaskFunction fn, const ChunkMessage& msg, const Value& item, std::int64_t index,
                 Value::List& single, TaskContext& ctx)
    {
        try {
            if (!fn)
                throw TaskError("AttributeError", "no registered task named '" + msg.func + "'");
            if (msg.star) {
                m_report.values.push_back(fn(item.items(), ctx));
            } else {
                single[0] = item;
                m_report.values.push_back(fn(single, ctx));
            }
            return true;
        } catch (...) {
            m_report.ok = false;
            m_report.error = errorFromException(m_name, msg.func, index, item);
            return false;
        }
    }

    bool send(const WorkerReport& report)
    {
        encodeReportFrame(report, m_frame);
        // Through the result ring; the pipe carries a doorbell byte when the parent sleeps.
        return m_ring.write(m_frame, m_ringDoorbell, m_parentAlive);
    }

    const PoolWorkerConfig& m_config;
    const std::string& m_name; // "ForkPoolWorker-3" (currentProcess(), for the process's life)
    TaskQueue& m_queue;
    std::uint32_t m_readerId;
    int m_lifelineFd;
    int m_resultFd;
    WorkerSlot* m_slot;
    ResultRing m_ring; // in the queue's memory: this worker's reports
    const std::function<bool()> m_ringDoorbell = [this] {
        static constexpr std::uint8_t kDoorbell = 1;
        return writeAll(m_resultFd, &kDoorbell, 1);
    };
    const std::function<bool()> m_parentAlive = [this] {
        return parentAlive();
    };
    TaskClock m_clock;
    std::int64_t m_lastSendNs = 0;  // when the last report of tasks went out (recording)
    std::string m_lastFunc;         // the function of the last chunk
    std::int64_t m_lastTaskNs = -1; // its last timed task's (or group's per task) ns; -1: none
    WorkerReport m_report;          // the chunk's report, reused
    std::vector<std::int64_t> m_readings; // recording: see runChunk
    Bytes& m_frame;                       // the encoded report, reused
    Bytes& m_input;                       // the message taken from the queue, reused
    bool m_keepsFreedMemory = false;      // keepFreedMemory() done
};

int runWorker(const PoolWorkerConfig& config, Bytes& frame, Bytes& input, std::span<const int> fds)
{
    // The lifeline and the result pipe; and the queue's memfd, unless inherited.
    const std::size_t expected = config.inheritedQueue ? 2 : 3;
    if (fds.size() < expected) {
        std::fprintf(stderr, "pool worker: expected %zu descriptors, got %zu\n", expected,
                     fds.size());
        return 2;
    }
    TaskQueue queue = config.inheritedQueue
                          ? TaskQueue::inherited(reinterpret_cast<void*>(config.inheritedQueue))
                          : TaskQueue::attach(fds[2]);
    if (config.slot < 0)
        throw std::runtime_error("no status slot " + std::to_string(config.slot));
    WorkerSlot* slot = queue.slot(std::size_t(config.slot)); // checks the upper bound
    WorkerLoop loop(config, frame, input, queue, fds[0], fds[1], slot);
    return loop.run();
}

} // namespace

int runPoolWorker(std::span<const std::uint8_t> payload, std::span<const int> fds)
{
    try {
        // Writes to a parent that is gone must fail with EPIPE, not kill the worker silently.
        ignoreSignal(SIGPIPE);
        if (InheritedWorker* inherited = InheritedWorker::fromPayload(payload))
            return runWorker(inherited->config, inherited->frame, inherited->input, fds);
        const PoolWorkerConfig config = PoolWorkerConfig::decode(payload);
        Bytes frame;
        Bytes input;
        return runWorker(config, frame, input, fds);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pool worker: %s\n", e.what());
        return 1;
    }
}

} // namespace poolscope
