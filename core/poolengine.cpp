#include "poolengine.h"

#include "batchscheduling.h"
#include "clock.h"
#include "poolerror.h"
#include "poolworker.h"
#include "taskclock.h"
#include "taskregistry.h"
#include "wire.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <iterator>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace poolscope {

namespace {

[[noreturn]] void sysFail(const std::string& what)
{
    throw PoolError("OSError", what + ": " + std::strerror(errno));
}

void wake(int eventFd)
{
    const std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(eventFd, &one, sizeof one);
}

void drain(int eventFd)
{
    std::uint64_t v;
    [[maybe_unused]] ssize_t n = ::read(eventFd, &v, sizeof v);
}

std::string signalText(int signum)
{
    const char* abbrev = sigabbrev_np(signum);
    return "signal " + std::to_string(signum) +
           (abbrev ? " (SIG" + std::string(abbrev) + ")" : std::string());
}

int cpuCount()
{
    const long n = ::sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? int(n) : 1;
}

} // namespace

PoolEngine::PoolEngine(PoolOptions options) : m_options(std::move(options))
{
    if (m_options.processes && *m_options.processes < 1)
        throw PoolError("ValueError", "Number of processes must be at least 1");
    if (m_options.maxtasksperchild && *m_options.maxtasksperchild < 1)
        throw PoolError("ValueError", "maxtasksperchild must be a positive int or None");
    if (!m_options.initializer.empty())
        checkFunction(m_options.initializer);
    m_processes = m_options.processes ? *m_options.processes : cpuCount(); // cpuCount reads /sys
    if (m_options.record)
        m_log = m_options.log ? m_options.log : std::make_shared<EventLog>();

    try {
        // One status slot per worker that can be alive at once: a dead one's goes to its
        // replacement.
        const auto slots = std::size_t(m_processes);
        m_queue = m_options.method == StartMethod::Fork
                      ? TaskQueue::createInherited(TaskQueue::kDefaultCapacity, slots)
                      : TaskQueue::create(TaskQueue::kDefaultCapacity, slots);
    } catch (const std::exception& e) {
        throw PoolError("OSError", e.what());
    }
    for (std::size_t i = std::size_t(m_processes); i-- > 0;)
        m_freeSlots.push_back(i);
    int lifeline[2];
    if (::pipe2(lifeline, O_CLOEXEC) != 0)
        sysFail("lifeline pipe: pipe2");
    m_lifelineRead = lifeline[0];
    m_lifelineWrite = lifeline[1];
    m_resultWake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m_resultWake < 0) {
        const int err = errno;
        ::close(m_lifelineRead);
        ::close(m_lifelineWrite);
        errno = err;
        sysFail("eventfd");
    }

    Event created;
    created.tNs = monotonicNs();
    created.kind = EventKind::PoolCreated;
    created.pid = ::getpid();
    created.a = m_processes;
    created.text = std::string(startMethodName(m_options.method));
    record(std::move(created));

    m_gate = std::make_shared<ReaderGate>();
    m_gate->engine = this;
    // PR_SET_PDEATHSIG ties a worker to the thread that forked it, so that thread must outlive
    // the worker. The process's main thread does (its end is the process's end): there the
    // constructor forks the first workers itself, and leaves the result thread to the pool's
    // first job (startReader): a pool closed and joined without work reads its workers'
    // reports in join(), with no thread at all (a thread was a sixth of such a Pool(2)'s life
    // with fork). Any other thread may end before the pool does: there the result thread
    // starts now and forks them, as it forks every replacement.
    const bool forkHere = ::gettid() == ::getpid();
    try {
        if (forkHere) {
            std::lock_guard gate(m_gate->mutex);
            startWorkers(m_processes);
            m_readerPending = true;
        } else {
            // (Not made for the main thread: a promise's state freed after the forks would
            // copy malloc's pages; see startWorkers.)
            std::promise<void> started;
            auto startedFuture = started.get_future();
            m_resultThread = std::thread([this, &started] { runResultThread(&started); });
            startedFuture.get();
        }
    } catch (...) {
        if (m_resultThread.joinable()) {
            m_resultThread.join(); // it stopped the workers it had started
        } else {
            std::lock_guard gate(m_gate->mutex);
            terminateWorkers();
        }
        for (int fd : {m_lifelineRead, m_lifelineWrite, m_resultWake})
            ::close(fd);
        throw;
    }
    // The feeder thread starts only when a caller cannot hand its chunks to the queue itself
    // (the queue is full, or the feeder is busy): many pools never need it.
}

PoolEngine::~PoolEngine()
{
    if (::getpid() != m_owner) {
        // A fork child's copy, ended there (a callable that destroyed an inherited pool): its
        // workers, threads and locks are the parent's, and go on there. Nothing is stopped or
        // waited for, and no lock is taken (one may have been held at the fork); the threads'
        // objects are let go, and the child's copies of the descriptors closed.
        if (m_resultThread.joinable())
            m_resultThread.detach();
        if (m_feeder.joinable())
            m_feeder.detach();
        for (const auto& w : m_workers)
            ::close(w->resultFd);
        for (int fd : {m_lifelineRead, m_lifelineWrite, m_resultWake})
            ::close(fd);
        return;
    }
    {
        std::lock_guard gate(m_gate->mutex); // waits for a caller's assist in progress
        m_gate->engine = nullptr;
    }
    terminate();
    join();
    for (int fd : {m_lifelineRead, m_lifelineWrite, m_resultWake})
        ::close(fd);
}

// ---------------------------------------------------------------------------------------------
// Submission (caller threads)

void PoolEngine::checkOwner() const
{
    if (::getpid() != m_owner) {
        throw PoolError("RuntimeError",
                        "this pool belongs to process " + std::to_string(m_owner) +
                            ": a forked child cannot use its parent's pool (its workers, "
                            "queue and result thread are the parent's)");
    }
}

void PoolEngine::checkRunning() const
{
    if (m_state.load() != State::Run)
        throw PoolError("ValueError", "Pool not running");
    std::lock_guard lock(m_jobsMutex);
    if (m_broken)
        throw PoolError(*m_broken);
}

PoolEngine::Submission::Submission(PoolEngine& engine) : m_engine(engine)
{
    m_engine.checkOwner();
    std::lock_guard lock(m_engine.m_feedMutex); // close() reads m_submitting under this lock
    if (m_engine.m_state.load() != State::Run)
        throw PoolError("ValueError", "Pool not running");
    ++m_engine.m_submitting;
}

PoolEngine::Submission::~Submission()
{
    {
        std::lock_guard lock(m_engine.m_feedMutex);
        if (--m_engine.m_submitting == 0 && m_engine.m_state.load() == State::Close &&
            !m_engine.m_stopsQueued)
            m_engine.queueStopsLocked(); // close() came while this job was being submitted
    }
    m_engine.m_feedCv.notify_all();
}

void PoolEngine::checkFunction(std::string_view func) const
{
    if (!TaskRegistry::builtins().find(func)) {
        throw PoolError("PicklingError", "Can't pickle '" + std::string(func) +
                                             "': it is not a registered task, so a worker "
                                             "process could not find it by name");
    }
}

void PoolEngine::record(Event event) const
{
    if (m_log)
        m_log->append(std::move(event));
}

int PoolEngine::newJobId()
{
    static std::atomic<int> next{0}; // one counter per process, as CPython's job_counter
    return next++;
}

bool PoolEngine::registerJob(std::unique_ptr<Job> job)
{
    startReader();
    Event e;
    e.tNs = monotonicNs();
    e.kind = EventKind::JobSubmitted;
    e.job = job->id;
    e.a = std::int64_t(job->items->size());
    e.b = job->chunksize;
    e.text = job->api + " " + job->func;
    record(std::move(e));
    std::optional<RemoteError> broken;
    {
        std::lock_guard lock(m_jobsMutex);
        if (m_broken) {
            broken = m_broken; // breakPool() has already failed every job it knew of
        } else {
            const int id = job->id;
            m_jobs.emplace(id, std::move(job));
            return true;
        }
    }
    failJob(*job, *broken);
    return false;
}

void PoolEngine::failJob(Job& job, const RemoteError& error)
{
    if (job.result)
        job.result->fail(error);
    if (job.iterator) {
        for (std::int64_t c = 0; c < job.chunkCount; ++c)
            job.iterator->deliverChunk(c, {{c * job.chunksize, error}});
    }
}

PoolEngine::ChunkPlan PoolEngine::planOf(const Job& job)
{
    return ChunkPlan{job.items,     job.id,         job.func,    job.star,
                     job.chunksize, job.chunkCount, job.inputRun};
}

void PoolEngine::submitJob(std::unique_ptr<Job> job)
{
    // Once registered, the job may complete or be failed (breakPool) and vanish at any moment:
    // what the chunks need is taken before, and the inputs are shared.
    // Only a span of more than 4 tasks takes its inputs as a run (EventLog::appendSpanLocked),
    // and a span is part of one chunk: with chunks of 4 tasks or fewer (a map with chunksize
    // 1) the check would be work for nothing.
    if (m_log && job->items->size() > 4 && job->chunksize > 4)
        job->inputRun = std::make_shared<InputRun>();
    const ChunkPlan plan = planOf(*job);
    if (registerJob(std::move(job)) && plan.chunkCount > 0)
        enqueueChunks(plan);
}

void PoolEngine::enqueueChunks(const ChunkPlan& plan)
{
    // Encoded in the caller's thread and handed over in batches, so that the feeder starts
    // sending while later chunks are still being encoded.
    const std::shared_ptr<const Value::List>& items = plan.items;
    const std::int32_t id = plan.id;
    const std::string& func = plan.func;
    const bool star = plan.star;
    const std::int64_t chunksize = plan.chunksize;
    const std::int64_t chunkCount = plan.chunkCount;
    const auto n = std::int64_t(items->size());
    constexpr std::int64_t kBatch = 256;
    std::vector<Pending> batch;
    // The inputs are checked against an arithmetic run as they are encoded (see InputRun).
    bool inputRun = plan.inputRun && (*items)[0].isInt() && (*items)[1].isInt();
    RunCheck run;
    if (inputRun) {
        run.first = (*items)[0].asInt();
        run.step = std::int64_t(std::uint64_t((*items)[1].asInt()) - std::uint64_t(run.first));
        plan.inputRun->first = run.first;
        plan.inputRun->step = run.step;
    }
    for (std::int64_t c = 0; c < chunkCount; ++c) {
        const std::int64_t first = c * chunksize;
        const std::int64_t end = std::min(n, first + chunksize);
        ChunkMessage msg;
        msg.job = id;
        msg.chunk = std::int32_t(c);
        msg.first = first;
        msg.func = func;
        msg.star = star;
        Pending p;
        p.message = encodeChunk(msg, *items, std::size_t(first), std::size_t(end),
                                inputRun ? &run : nullptr);
        inputRun = inputRun && p.message.onRun;
        if (inputRun)
            run.first = std::int64_t(std::uint64_t(run.first) +
                                     std::uint64_t(end - first) * std::uint64_t(run.step));
        p.job = id;
        p.chunk = std::int32_t(c);
        p.first = first;
        p.last = end - 1;
        batch.push_back(std::move(p));
        // The first chunk of every worker goes out at once, with one wake-up call for them
        // all, so that the workers wake up (tens of microseconds) while the caller encodes the
        // rest. Together: a worker woken on the caller's own core may preempt the caller at
        // once, and the others must have been woken by then. (Each worker's first chunk sent
        // alone let the first worker run its whole chunk before the caller woke the second:
        // 135-140 us into an is_prime map instead of 30.)
        if (c + 1 == m_processes || std::int64_t(batch.size()) == kBatch || c + 1 == chunkCount) {
            std::size_t sent = 0;
            {
                std::lock_guard lock(m_feedMutex);
                // Fast path: when the feeder has nothing in hand, send from here at once (FIFO
                // holds: nothing is queued before these). Saves a thread hand-over per call.
                // (While this job is being submitted no stop message goes out, closed or not.)
                if (m_feedQueue.empty() && !m_feederSending && m_state.load() != State::Terminate)
                    sent = sendAvailable(std::span<Pending>(batch));
                for (std::size_t i = sent; i < batch.size(); ++i)
                    m_feedQueue.push_back(std::move(batch[i]));
                if (sent < batch.size())
                    startFeederLocked();
            }
            if (sent < batch.size())
                m_feedCv.notify_one();
            batch.clear();
        }
        if (inputRun) // after the chunk went out: a report that comes first is classified
            plan.inputRun->upTo.store(end, std::memory_order_release);
    }
}

std::unique_ptr<PoolEngine::Job> PoolEngine::newJob(Job::Kind kind, std::string api,
                                                    std::string_view func, bool star) const
{
    checkRunning();
    checkFunction(func);
    auto job = std::make_unique<Job>();
    job->kind = kind;
    job->id = newJobId();
    job->api = std::move(api);
    job->func = std::string(func);
    job->star = star;
    return job;
}

std::shared_ptr<AsyncResult> PoolEngine::submitMap(const char* api, std::string_view func,
                                                   std::shared_ptr<const Value::List> items,
                                                   std::optional<int> chunksize, bool star,
                                                   ResultCallback callback,
                                                   ErrorCallback errorCallback)
{
    const Submission submission(*this);
    auto job = newJob(Job::Kind::Map, api, func, star);
    const std::size_t n = items->size();
    job->chunksize = chunksize ? *chunksize : Pool::defaultChunksize(n, m_processes);
    job->itemsBorrowed = items.use_count() == 0; // an aliasing pointer with no owner
    job->items = std::move(items);
    auto result = std::make_shared<AsyncResult>(job->id, m_log, std::move(callback),
                                                std::move(errorCallback));
    result->setYieldsItems(true);
    if (n == 0 || job->chunksize <= 0) {
        // CPython's MapResult: an empty input, or chunksize <= 0 (a quirk: nothing runs), is
        // ready at once with [None] * n. Recorded as submitted, never registered: no worker
        // will report on it.
        const int id = job->id;
        if (registerJob(std::move(job))) {
            std::lock_guard lock(m_jobsMutex);
            m_jobs.erase(id);
        }
        result->complete(Value(Value::List(n)));
        return result;
    }
    job->chunkCount =
        std::int64_t((n + std::size_t(job->chunksize) - 1) / std::size_t(job->chunksize));
    result->setSpinWait(job->chunkCount == 1);
    if (job->chunkCount == 1)
        result->setSpinAssist(spinAssist());
    job->values = std::make_shared<ResultList>(n);
    job->result = result;
    const std::shared_ptr<ResultList> values = job->values;
    submitJob(std::move(job));
    values->get(); // here, unless the first report came first
    return result;
}

std::shared_ptr<ImapIterator> PoolEngine::submitImap(std::string_view func, Value::List items,
                                                     std::optional<RemoteError> inputError,
                                                     int chunksize, bool ordered)
{
    const Submission submission(*this);
    checkRunning();
    if (chunksize < 1)
        throw PoolError("ValueError", "Chunksize must be 1+, not " + std::to_string(chunksize));
    auto job = newJob(Job::Kind::Imap, ordered ? "imap" : "imap_unordered", func, false);
    job->chunksize = chunksize;
    const std::size_t n = items.size();
    job->items = std::make_shared<const Value::List>(std::move(items));
    job->chunkCount = std::int64_t((n + std::size_t(chunksize) - 1) / std::size_t(chunksize));
    auto iterator = std::make_shared<ImapIterator>(job->id, ordered, chunksize > 1, m_log);
    job->iterator = iterator;
    std::int64_t totalChunks = job->chunkCount;
    if (inputError) {
        // The input iterable raised while the chunk after the complete ones was being built:
        // that chunk position carries the error (CPython's task handler does the same).
        const std::int64_t failedChunk = std::int64_t(n) / chunksize;
        job->chunkCount = failedChunk; // only the complete chunks go to workers
        totalChunks = failedChunk + 1;
        iterator->deliverChunk(failedChunk, {ImapIterator::Item{std::int64_t(n), *inputError}});
    }
    iterator->setChunkCount(totalChunks);
    submitJob(std::move(job));
    return iterator;
}

std::shared_ptr<AsyncResult> PoolEngine::submitApply(std::string_view func, Value::List args,
                                                     ResultCallback callback,
                                                     ErrorCallback errorCallback)
{
    const Submission submission(*this);
    auto job = newJob(Job::Kind::Apply, "apply", func, true);
    job->items = std::make_shared<const Value::List>(Value::List{Value::tuple(std::move(args))});
    job->chunksize = 1;
    job->chunkCount = 1;
    auto result = std::make_shared<AsyncResult>(job->id, m_log, std::move(callback),
                                                std::move(errorCallback));
    result->setYieldTask(0);
    result->setSpinAssist(spinAssist());
    job->result = result;
    submitJob(std::move(job));
    return result;
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

void PoolEngine::close()
{
    checkOwner();
    State expected = State::Run;
    if (!m_state.compare_exchange_strong(expected, State::Close))
        return;
    Event e;
    e.tNs = monotonicNs();
    e.kind = EventKind::PoolClosed;
    record(std::move(e));
    {
        std::lock_guard lock(m_feedMutex); // the feeder checks the state under this lock
        if (m_submitting == 0)
            queueStopsLocked(); // else the last Submission to end does it
    }
    m_feedCv.notify_all();
    wake(m_resultWake);
}

void PoolEngine::queueStopsLocked()
{
    if (m_feedQueue.empty() && !m_feederSending) {
        // Nothing is waiting to go out: the stop messages go now, from here, allocating
        // nothing while there is room for them (a pool closed soon after its forks would copy
        // malloc's pages: see startWorkers). The rest, if any, wait for the feeder.
        const auto stops = std::size_t(m_processes);
        std::size_t sent = 0;
        while (sent < stops && m_queue.tryPush(stopMessageBytes(), false))
            ++sent;
        m_queue.notify(sent);
        std::vector<Pending> rest = stopMessages(stops - sent);
        for (Pending& p : rest)
            m_feedQueue.push_back(std::move(p));
        m_stopsQueued = true;
    }
    if (!m_feedQueue.empty() || m_feederSending || !m_stopsQueued)
        startFeederLocked(); // it sends the stops once the queue has drained
}

void PoolEngine::terminate()
{
    checkOwner();
    if (m_state.exchange(State::Terminate) == State::Terminate)
        return;
    {
        std::lock_guard lock(m_feedMutex);
    }
    m_feedCv.notify_all();
    m_queue.wakeWriter(); // a feeder waiting for room checks the state
    wake(m_resultWake);
}

void PoolEngine::join()
{
    checkOwner();
    if (m_state.load() == State::Run)
        throw PoolError("ValueError", "Pool is still running");
    std::lock_guard lock(m_joinMutex);
    std::thread feeder;
    {
        std::unique_lock feedLock(m_feedMutex);
        // A job still being submitted (close() came during it) may yet need the feeder.
        m_feedCv.wait(feedLock, [&] { return m_submitting == 0; });
        feeder = std::move(m_feeder);
        m_feederJoined = true; // no feeder starts after this
    }
    if (feeder.joinable())
        feeder.join();
    bool readHere = false;
    std::thread reader;
    {
        std::lock_guard lock(m_readerMutex);
        readHere = std::exchange(m_readerPending, false);
        reader = std::move(m_resultThread);
    }
    if (readHere) {
        // No job started the result thread: its loop runs here, to the end. Terminated (a pool
        // left unused), it stops the workers at once; what they reported first (that they were
        // up: there was no work) is read before, so that the log has their starts.
        if (m_state.load() == State::Terminate) {
            std::lock_guard gate(m_gate->mutex);
            assistLocked();
        }
        resultLoop(nullptr);
    } else if (reader.joinable())
        reader.join();
}

void PoolEngine::startReader()
{
    std::lock_guard lock(m_readerMutex);
    if (std::exchange(m_readerPending, false))
        m_resultThread = std::thread([this] { runResultThread(nullptr); });
}

bool PoolEngine::waitForWorkers(double timeoutSeconds)
{
    checkOwner();
    startReader();
    std::unique_lock lock(m_infoMutex);
    const auto up = [&] {
        return m_readyWorkers >= m_processes;
    };
    const double seconds = std::min(std::max(0.0, timeoutSeconds), 1e7); // NaN: 0
    m_readyCv.wait_for(lock, std::chrono::duration<double>(seconds),
                       [&] { return up() || m_readerEnded; });
    return up();
}

std::vector<WorkerInfo> PoolEngine::workers() const
{
    checkOwner();
    std::lock_guard lock(m_infoMutex);
    return m_workerInfo;
}

// ---------------------------------------------------------------------------------------------
// The feeder thread: chunks go into the shared queue in FIFO order, then (after close) one stop
// message per worker.

std::vector<PoolEngine::Pending> PoolEngine::stopMessages(std::size_t count) const
{
    std::vector<Pending> stops(count);
    for (Pending& stop : stops) {
        stop.message = encodeStop();
        stop.stop = true;
    }
    return stops;
}

void PoolEngine::startFeederLocked()
{
    if (!m_feeder.joinable() && !m_feederJoined)
        m_feeder = std::thread([this] { feederLoop(); });
}

void PoolEngine::feederLoop()
{
    std::vector<Pending> batch;
    for (;;) {
        batch.clear();
        {
            std::unique_lock lock(m_feedMutex);
            m_feedCv.wait(lock, [&] {
                const State state = m_state.load();
                return !m_feedQueue.empty() || state == State::Terminate ||
                       (state == State::Close && m_submitting == 0);
            });
            if (m_state.load() == State::Terminate) {
                m_feedQueue.clear();
                return;
            }
            if (m_feedQueue.empty()) {
                if (m_stopsQueued)
                    return; // every stop message is out: the workers will exit
                for (Pending& stop : stopMessages(std::size_t(m_processes)))
                    m_feedQueue.push_back(std::move(stop));
                m_stopsQueued = true;
                continue;
            }
            // Take what is queued, up to a batch: one system call sends many small chunks.
            while (!m_feedQueue.empty() && batch.size() < kSendBatch) {
                batch.push_back(std::move(m_feedQueue.front()));
                m_feedQueue.pop_front();
            }
            m_feederSending = true;
        }
        const bool ok = sendBatch(batch);
        {
            std::lock_guard lock(m_feedMutex);
            m_feederSending = false;
        }
        if (!ok)
            return; // terminated while waiting for room
    }
}

void PoolEngine::addSubmitted(std::vector<Submitted>& submitted, const Pending& p,
                              std::int64_t tNs) const
{
    if (!p.stop && m_log)
        submitted.push_back(Submitted{tNs, p.job, p.chunk, p.first, p.last});
}

void PoolEngine::flushSubmitted(std::vector<Submitted>& submitted) const
{
    if (!m_log || submitted.empty()) {
        submitted.clear();
        return;
    }
    // One lock for the lot. A job's consecutive chunks (each chunksize tasks from chunk *
    // chunksize; only the job's last may be shorter) go in as one SubmitRun: 4 bytes a chunk
    // instead of a record of 88 (with chunksize 1, half of what recording keeps).
    EventLog::Batch batch(*m_log);
    std::vector<std::int64_t> times;
    for (std::size_t i = 0; i < submitted.size();) {
        const Submitted& head = submitted[i];
        const std::int64_t chunksize = head.last - head.first + 1;
        const auto regular = [&](const Submitted& s, std::size_t k) {
            return s.job == head.job && s.chunk == head.chunk + std::int32_t(k) &&
                   s.first == std::int64_t(s.chunk) * chunksize && s.last >= s.first &&
                   s.last - s.first < chunksize;
        };
        std::size_t j = i;
        if (chunksize >= 1 && regular(head, 0)) {
            while (j < submitted.size() && regular(submitted[j], j - i)) {
                ++j;
                if (submitted[j - 1].last - submitted[j - 1].first + 1 < chunksize)
                    break; // a short chunk is the job's last
            }
        }
        if (j - i < 2) {
            Event e;
            e.tNs = head.tNs;
            e.kind = EventKind::ChunkSubmitted;
            e.job = head.job;
            e.chunk = head.chunk;
            e.task = head.first;
            e.a = head.first;
            e.b = head.last;
            batch.add(e);
            ++i;
            continue;
        }
        times.clear();
        for (std::size_t k = i; k < j; ++k)
            times.push_back(submitted[k].tNs);
        EventLog::SubmitRun run;
        run.job = head.job;
        run.firstChunk = head.chunk;
        run.chunksize = chunksize;
        run.items = submitted[j - 1].last + 1;
        run.submittedNs = times;
        batch.add(run);
        i = j;
    }
    submitted.clear();
}

std::size_t PoolEngine::sendAvailable(std::span<Pending> pending)
{
    std::vector<Submitted> submitted;
    submitted.reserve(pending.size());
    std::size_t sent = 0;
    std::int64_t t = 0;
    for (const Pending& p : pending) {
        // Before the push: a worker may take it at once.
        if (m_log && sent % kPushesPerClockReading == 0)
            t = monotonicNs();
        if (!m_queue.tryPush(p.message.bytes, false))
            break;
        addSubmitted(submitted, p, t);
        ++sent;
    }
    m_queue.notify(sent); // one wake-up call for the burst
    flushSubmitted(submitted);
    return sent;
}

bool PoolEngine::sendBatch(std::vector<Pending>& batch)
{
    // Waits for room when the queue is full (the workers are busy), or until terminate().
    // What went out before a wait is recorded before it, so that the log stays close to time
    // order.
    const auto terminated = [this] {
        return m_state.load() == State::Terminate;
    };
    std::vector<Submitted> submitted;
    submitted.reserve(batch.size());
    std::size_t unnotified = 0;
    std::int64_t t = 0;
    std::size_t sinceReading = 0;
    for (const Pending& p : batch) {
        if (m_log && sinceReading++ % kPushesPerClockReading == 0)
            t = monotonicNs();
        if (m_queue.tryPush(p.message.bytes, false)) {
            ++unnotified;
        } else {
            m_queue.notify(unnotified);
            unnotified = 0;
            flushSubmitted(submitted);
            if (!m_queue.push(p.message.bytes, terminated))
                return false;
            sinceReading = 0; // it waited: the next chunk reads the clock again
        }
        addSubmitted(submitted, p, t);
    }
    m_queue.notify(unnotified);
    flushSubmitted(submitted);
    return true;
}

// ---------------------------------------------------------------------------------------------
// The result thread

void PoolEngine::runResultThread(std::promise<void>* started)
{
    BatchScheduling::enter();
    resultLoop(started);
}

void PoolEngine::resultLoop(std::promise<void>* started)
{
    try {
        std::lock_guard gate(m_gate->mutex);
        m_gate->resultThread = std::this_thread::get_id();
        if (started)
            startWorkers(m_processes);
    } catch (...) {
        if (!started)
            throw; // cannot happen (a mutex failing): better ended than a pool without its reader
        std::lock_guard gate(m_gate->mutex);
        terminateWorkers();
        started->set_exception(std::current_exception());
        return;
    }
    if (started)
        started->set_value();
    std::vector<pollfd> fds;
    for (;;) {
        const State state = m_state.load();
        if (state == State::Terminate)
            break;
        if (state == State::Close && m_workers.empty())
            break;
        fds.clear();
        fds.push_back({m_resultWake, POLLIN, 0});
        for (const auto& w : m_workers)
            fds.push_back({w->resultFd, POLLIN, 0});
        int polled = reportsWaiting() ? 1 : pollBriefly(fds);
        if (polled == 0) {
            // Asleep: each worker rings its pipe's doorbell when it next reports (ResultRing).
            bool sleep = true;
            for (const auto& w : m_workers)
                sleep = w->ring.sleepUnlessData() && sleep;
            polled = sleep ? ::poll(fds.data(), fds.size(), -1) : 1;
            for (const auto& w : m_workers)
                w->ring.awake();
        }
        if (polled < 0) {
            if (errno == EINTR)
                continue;
            std::fprintf(stderr, "pool: poll failed: %s\n", std::strerror(errno));
            break;
        }
        // A caller may be reading (assistLocked): then this waits for its turn, and finds
        // what the caller took gone (the pipes do not block).
        std::lock_guard gate(m_gate->mutex);
        runDeferred();
        if (fds[0].revents)
            drain(m_resultWake);

        // Read everything first, then handle the exits (handleExit changes m_workers). The
        // doorbells first: the reports they rang for are in the ring by then; and a worker at end
        // of file has published all it ever will.
        std::vector<Worker*> exited;
        for (std::size_t i = 1; i < fds.size(); ++i) {
            Worker& w = *m_workers[i - 1];
            if (fds[i].revents && drainDoorbells(w)) {
                exited.push_back(&w);
                while (w.ring.available() != 0) // all of it: no more will come
                    readReports(w);
            } else {
                readReports(w);
            }
        }
        for (Worker* w : exited)
            handleExit(*w);
    }
    std::lock_guard gate(m_gate->mutex);
    runDeferred();
    terminateWorkers();
    {
        std::lock_guard lock(m_infoMutex);
        m_readerEnded = true; // no more workers will come up
    }
    m_readyCv.notify_all();
}

int PoolEngine::pollBriefly(std::vector<pollfd>& fds)
{
    {
        std::lock_guard lock(m_jobsMutex);
        if (m_jobs.empty())
            return 0; // no report is due
    }
    if (m_usableCpus == 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        m_usableCpus = ::sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
    }
    const std::int64_t until = monotonicNs() + kReaderSpinNs;
    while (coreIsSpare()) {
        if (reportsWaiting())
            return 1;
        const int ready = ::poll(fds.data(), fds.size(), 0);
        if (ready != 0 || monotonicNs() >= until)
            return ready;
        ::sched_yield(); // whatever else waits for this core runs first
    }
    return 0;
}

bool PoolEngine::coreIsSpare() const
{
    if (m_queue.pendingBytes() != 0)
        return false; // a worker is about to take a chunk, and may need this core
    int running = 0;
    for (const auto& w : m_workers)
        running += w->slot && w->slot->state.load(std::memory_order_relaxed) == WorkerSlot::Running;
    return running < m_usableCpus;
}

bool PoolEngine::onResultThread() const
{
    return std::this_thread::get_id() == m_gate->resultThread;
}

std::function<void()> PoolEngine::spinAssist() const
{
    return [gate = std::weak_ptr<ReaderGate>(m_gate)] {
        const auto g = gate.lock();
        // The pool has gone, or this is the result thread itself (a callback that waits).
        if (!g || std::this_thread::get_id() == g->resultThread)
            return;
        std::unique_lock lock(g->mutex, std::try_to_lock);
        if (lock.owns_lock() && g->engine)
            g->engine->assistLocked();
    };
}

void PoolEngine::assistLocked()
{
    // One turn of the result thread's reading, the rings only: only the result thread reads
    // the doorbells (see drainDoorbells), and reaps and replaces workers.
    for (const auto& w : m_workers)
        readReports(*w);
}

void PoolEngine::settle(const std::shared_ptr<AsyncResult>& result, std::function<void()> settleIt)
{
    if (result->hasCallbacks() && !onResultThread()) {
        m_deferred.push_back(std::move(settleIt));
        wake(m_resultWake);
        return;
    }
    settleIt();
}

void PoolEngine::runDeferred()
{
    std::vector<std::function<void()>> deferred;
    deferred.swap(m_deferred);
    for (auto& settleIt : deferred)
        settleIt();
}

void PoolEngine::startWorkers(int count)
{
    // Whatever the parent writes for the new workers is made ready before the forks: the
    // workers already in m_workers, the list of their processes, the list to publish with room
    // for them. After the forks it fills in their pids, copying the pages it writes once for
    // all the workers (Process::startAll), and allocates and frees nothing (malloc's own pages
    // would be copied too).
    const std::size_t first = m_workers.size();
    std::vector<WorkerInfo> info;
    try {
        m_workers.reserve(first + std::size_t(count));
        for (int i = 0; i < count; ++i)
            m_workers.push_back(prepareWorker());
        info = workerList();
        m_starting.clear();
        const std::int64_t requestNs = monotonicNs();
        for (std::size_t i = first; i < m_workers.size(); ++i) {
            m_workers[i]->requestNs = requestNs;
            m_starting.push_back(m_workers[i]->process.get());
        }
        Process::startAll(m_starting);
    } catch (...) {
        // The ones that started are the pool's; the others are undone.
        std::size_t started = first;
        for (; started < m_workers.size() && m_workers[started]->process->pid(); ++started)
            launched(*m_workers[started]);
        for (std::size_t i = started; i < m_workers.size(); ++i) {
            for (int fd : {m_workers[i]->resultFd, m_workers[i]->resultWriteFd})
                ::close(fd);
            m_freeSlots.push_back(m_workers[i]->slotIndex);
        }
        m_workers.resize(started);
        publishWorkers();
        throw;
    }
    for (std::size_t i = first; i < m_workers.size(); ++i) {
        launched(*m_workers[i]);
        info[i].pid = m_workers[i]->pid;
    }
    std::lock_guard lock(m_infoMutex);
    m_workerInfo.swap(info); // the old list is freed after the lock is released
}

std::unique_ptr<PoolEngine::Worker> PoolEngine::prepareWorker()
{
    auto w = std::make_unique<Worker>();
    int pipeFds[2];
    if (::pipe2(pipeFds, O_CLOEXEC) != 0)
        sysFail("result pipe: pipe2");
    w->resultFd = pipeFds[0];
    w->resultWriteFd = pipeFds[1];
    // Read by whoever holds the reader gate, after a poll that may be stale by then.
    ::fcntl(w->resultFd, F_SETFL, O_NONBLOCK);
    if (m_freeSlots.empty()) { // cannot happen: a worker is replaced after its reaping
        ::close(pipeFds[0]);
        ::close(pipeFds[1]);
        throw PoolError("RuntimeError", "no free worker status slot");
    }
    w->slotIndex = m_freeSlots.back();
    w->slot = new (m_queue.slot(w->slotIndex)) WorkerSlot(); // Starting, no job
    w->ring = m_queue.resultRing(w->slotIndex);
    w->ring.reset(); // a dead worker's leftovers, if the slot had one
    PoolWorkerConfig config;
    config.slot = std::int64_t(w->slotIndex);
    config.taskOptions = m_options.taskOptions;
    config.maxTasks = m_options.maxtasksperchild.value_or(0);
    config.initializer = m_options.initializer;
    config.initargs = m_options.initargs;
    config.recording = m_log != nullptr;
    config.tscClock = TaskClock::tscUsable();
    config.clockBase = TaskClock::processBase();
    if (m_options.method == StartMethod::Fork)
        config.inheritedQueue = reinterpret_cast<std::uintptr_t>(m_queue.mapping());

    ProcessOptions opts;
    opts.method = m_options.method;
    opts.daemon = true;
    opts.passFds = {m_lifelineRead, pipeFds[1]};
    if (m_options.method != StartMethod::Fork)
        opts.passFds.push_back(m_queue.fd()); // fork children inherit the mapping itself
    opts.outputFd = m_options.outputFd;
    opts.sentinel = false; // the result pipe's end of file says when a worker has gone
    try {
        // A fork child is handed its configuration ready to use, with room for its first
        // reports (InheritedWorker); any other child decodes it.
        Bytes payload;
        if (m_options.method == StartMethod::Fork) {
            w->inherited = std::make_unique<InheritedWorker>(std::move(config));
            payload = w->inherited->payload();
        } else {
            payload = config.encode();
        }
        w->process = std::make_unique<Process>(
            ProcessTarget::entry("pool-worker", std::move(payload)), opts);
    } catch (...) {
        ::close(pipeFds[0]);
        ::close(pipeFds[1]);
        throw;
    }
    m_freeSlots.pop_back(); // the worker's now: back when it has been reaped, or on failure
    // The worker is a Process like any other: it takes the next number of the process counter,
    // and is named after it, as CPython renames Process-N to ForkPoolWorker-N.
    w->number = std::stoi(w->process->identity());
    w->name = std::string(poolWorkerPrefix(m_options.method)) + "-" + w->process->identity();
    w->process->setName(w->name);
    return w;
}

void PoolEngine::launched(Worker& w)
{
    ::close(w.resultWriteFd); // the worker holds the only write end: its exit gives us EOF
    w.resultWriteFd = -1;
    w.pid = w.process->pid().value_or(0);
}

std::vector<WorkerInfo> PoolEngine::workerList() const
{
    std::vector<WorkerInfo> info;
    info.reserve(m_workers.size());
    for (const auto& w : m_workers)
        info.push_back(WorkerInfo{w->number, w->name, w->pid});
    return info;
}

void PoolEngine::publishWorkers()
{
    std::vector<WorkerInfo> info = workerList();
    std::lock_guard lock(m_infoMutex);
    m_workerInfo.swap(info); // the old list is freed after the lock is released
}

bool PoolEngine::reportsWaiting() const
{
    for (const auto& w : m_workers)
        if (w->ring.isValid() && w->ring.available() != 0)
            return true;
    return false;
}

bool PoolEngine::drainDoorbells(Worker& w)
{
    std::uint8_t bells[64];
    for (;;) {
        const ssize_t n = ::read(w.resultFd, bells, sizeof bells);
        if (n == ssize_t(sizeof bells))
            continue;
        if (n > 0)
            return false;
        if (n == 0)
            return true; // end of file: the worker has gone
        if (errno == EINTR)
            continue;
        return errno != EAGAIN;
    }
}

void PoolEngine::readReports(Worker& w)
{
    if (!w.ring.isValid() || w.ring.available() == 0)
        return;
    // The buffer is the engine's, not the stack's: a caller's thread reads here too (assist),
    // and its stack may be small. Frames are parsed where they are: from the read buffer when
    // nothing was left over from the previous read (the common case), else from the inbox.
    // The rest of a frame that an earlier read began is read straight into the inbox, up to
    // that frame's end: a third of a map's large reports arrive in two reads (the worker
    // still writing), and reading into the buffer first copied their rest twice.
    std::uint8_t* buf = m_readBuffer.data();
    std::size_t want = kReadBufferBytes;
    const std::size_t had = w.inbox.size();
    bool intoInbox = false;
    if (had >= 4) {
        const std::uint32_t len = frameLength(w.inbox.data());
        if (std::size_t(len) + 4 > had) {
            want = std::min(std::size_t(len) + 4 - had, kReadBufferBytes);
            w.inbox.resize(had + want); // not zeroed (DefaultInitAllocator)
            buf = w.inbox.data() + had;
            intoInbox = true;
        }
    }
    const std::size_t n = w.ring.read(buf, want);
    if (intoInbox)
        w.inbox.resize(had + n);
    if (n == 0)
        return;
    // Every report in these bytes arrived now: one clock reading for all of them.
    const std::int64_t receivedNs = m_log ? monotonicNs() : 0;
    std::span<const std::uint8_t> bytes(buf, std::size_t(n));
    if (intoInbox) {
        bytes = w.inbox;
    } else if (!w.inbox.empty()) {
        w.inbox.insert(w.inbox.end(), buf, buf + n);
        bytes = w.inbox;
    }
    std::size_t pos = 0;
    while (bytes.size() - pos >= 4) {
        const std::uint8_t* h = bytes.data() + pos;
        const std::uint32_t len = frameLength(h);
        if (bytes.size() - pos - 4 < len)
            break;
        try {
            decodeReport({h + 4, len}, m_report);
            if (!gatherOneTaskChunk(w, m_report, receivedNs)) {
                flushOneTaskChunks(); // in the order they came
                handleReport(w, m_report, receivedNs);
            }
        } catch (const WireError& e) {
            std::fprintf(stderr, "pool: bad report from %s: %s\n", w.name.c_str(), e.what());
        } catch (const std::bad_variant_access&) {
            std::fprintf(stderr, "pool: malformed report from %s\n", w.name.c_str());
        }
        pos += 4 + len;
    }
    flushOneTaskChunks();
    if (w.inbox.empty())
        w.inbox.assign(bytes.begin() + std::ptrdiff_t(pos), bytes.end());
    else
        w.inbox.erase(w.inbox.begin(), w.inbox.begin() + std::ptrdiff_t(pos));
}

void PoolEngine::handleReport(Worker& w, WorkerReport& r, std::int64_t receivedNs)
{
    switch (r.kind) {
    case WorkerReport::Kind::Ready: {
        w.ready = true;
        Event e;
        e.tNs = r.readyNs;
        e.kind = EventKind::WorkerStarted;
        e.worker = w.number;
        e.pid = r.pid;
        e.ppid = r.ppid;
        e.a = r.readyNs - w.requestNs;
        e.text = w.name;
        record(std::move(e));
        {
            std::lock_guard lock(m_infoMutex);
            ++m_readyWorkers; // after its event: a waiter may look at the log
        }
        m_readyCv.notify_all();
        return;
    }
    case WorkerReport::Kind::InitFailed:
        std::fprintf(stderr, "Process %s:\n%s", w.name.c_str(), r.error.traceback.c_str());
        breakPool(r.error);
        return;
    case WorkerReport::Kind::Progress:
    case WorkerReport::Kind::Result:
        break;
    }

    Job* const job = findJob(r.job);
    if (w.job != r.job || w.chunk != r.chunk) {
        w.job = r.job;
        w.chunk = r.chunk;
        w.loggedTaken = false;
        w.startedUpTo = r.first;
        w.lastEndNs = r.takenNs;
        w.chunkValues.clear();
    }
    if (m_log)
        logTasks(w, r, job, receivedNs);
    if (r.intResults) {
        // A whole chunk of a map in one report (the usual case) goes straight into the job's
        // list; anything else as Values.
        if (r.kind == WorkerReport::Kind::Result && r.ok && w.chunkValues.empty() &&
            deliverInts(job, r.job, r.chunk, r.intValues)) {
            w.job = -1;
            w.chunk = -1;
            return;
        }
        r.values.clear();
        r.values.reserve(r.intValues.size());
        for (const std::int64_t x : r.intValues)
            r.values.emplace_back(static_cast<long long>(x));
    }
    // The lists trade places rather than move: both keep their capacity for the next report.
    if (w.chunkValues.empty())
        w.chunkValues.swap(r.values); // the usual case: one report per chunk
    else
        std::move(r.values.begin(), r.values.end(), std::back_inserter(w.chunkValues));
    if (r.kind != WorkerReport::Kind::Result)
        return;
    w.job = -1;
    w.chunk = -1;
    deliver(r.job, r.chunk, w.chunkValues, r.ok, r.error, r.first + r.finished - 1);
    w.chunkValues.clear();
}

bool PoolEngine::gatherOneTaskChunk(const Worker& w, const WorkerReport& r, std::int64_t receivedNs)
{
    // What handleReport would log as a one-task span carrying its chunk's ChunkTaken and
    // ChunkResult (see logTasks), and deliver through deliverInts or deliver.
    const bool oneScalar = r.intResults ? r.intValues.size() == 1
                                        : r.values.size() == 1 && EventLog::isScalar(r.values[0]);
    if (!m_log || w.job != -1 || r.kind != WorkerReport::Kind::Result || !r.ok || !oneScalar ||
        r.finished != 1 || r.fromTask != r.first || r.takenNs == 0 || r.groupTasks.size() != 1 ||
        r.groupTasks[0] != 1 || r.groupEndNs.size() != 1 || !r.delays.empty() ||
        (r.groupSize > 0 && r.groupFrom < 1 && r.groupEnd > r.groupFrom))
        return false;
    if (!m_oneTaskChunks.empty() && m_oneTaskJob->id != r.job)
        flushOneTaskChunks();
    const Job* job = m_oneTaskChunks.empty() ? findJob(r.job) : m_oneTaskJob;
    if (!job || r.first != std::int64_t(r.chunk) * job->chunksize || r.first < 0 ||
        std::size_t(r.first) >= job->items->size() ||
        !EventLog::isScalar((*job->items)[std::size_t(r.first)]))
        return false;
    EventLog::OneTaskChunk c;
    c.chunk = r.chunk;
    c.worker = w.number;
    c.pid = w.pid;
    c.takenNs = r.takenNs;
    c.endNs = r.groupEndNs[0];
    c.receivedNs = receivedNs;
    c.result = r.intResults ? Value(static_cast<long long>(r.intValues[0])) : r.values[0];
    c.input = &(*job->items)[std::size_t(r.first)];
    m_oneTaskChunks.push_back(c);
    m_oneTaskJob = job;
    return true;
}

void PoolEngine::flushOneTaskChunks()
{
    if (m_oneTaskChunks.empty())
        return;
    // The job stays registered until its last chunk is delivered: only this thread (or a
    // caller's assist, under the same gate) delivers, and fails jobs.
    const int jobId = m_oneTaskJob->id;
    const std::int64_t chunksize = m_oneTaskJob->chunksize;
    try {
        EventLog::Batch batch(*m_log);
        batch.add(EventLog::OneTaskChunks{jobId, chunksize, m_oneTaskChunks});
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pool: reports not logged: %s\n", e.what());
    }
    for (const EventLog::OneTaskChunk& c : m_oneTaskChunks) {
        if (c.result.isInt()) {
            const std::int64_t value = c.result.asInt();
            if (deliverInts(findJob(jobId), jobId, c.chunk, {&value, 1}))
                continue;
        }
        m_oneTaskValues.assign(1, c.result);
        deliver(jobId, c.chunk, m_oneTaskValues, true, RemoteError{},
                std::int64_t(c.chunk) * chunksize);
    }
    m_oneTaskChunks.clear();
    m_oneTaskJob = nullptr;
}

void PoolEngine::logTasks(Worker& w, WorkerReport& r, const Job* job, std::int64_t receivedNs)
{
    // One Event reused for the whole report: only the fields that change are set.
    EventLog::Batch batch(*m_log);
    Event e;
    e.job = r.job;
    e.chunk = r.chunk;
    e.worker = w.number;
    e.pid = w.pid;
    auto setInput = [&](std::int64_t index) {
        if (job && index >= 0 && std::size_t(index) < job->items->size())
            e.value = (*job->items)[std::size_t(index)];
        else
            e.value = Value();
    };
    // The tasks that ended well with a plain result go in as one span (a few bytes per task);
    // a failing task, a task that slept, or a result that is a list or a string one event each.
    const std::size_t resultCount = r.intResults ? r.intValues.size() : r.values.size();
    const auto resultAt = [&](std::size_t k) {
        return r.intResults ? Value(static_cast<long long>(r.intValues[k])) : r.values[k];
    };
    const auto timed = std::size_t(r.timedTasks());
    std::size_t spanned = 0;
    if (r.delays.empty()) {
        const std::size_t n = std::min(timed, resultCount);
        if (r.intResults)
            spanned = n;
        while (spanned < n && EventLog::isScalar(r.values[spanned]))
            ++spanned;
    }
    // A span that starts the chunk carries its ChunkTaken, and one that ends a chunk that went
    // well its ChunkResult: the usual report is then one record of the log (recording memory
    // is what recording costs).
    const bool logTaken = !w.loggedTaken && r.takenNs;
    const bool spanStartsChunk =
        spanned > 0 && r.fromTask == r.first && r.fromTask >= w.startedUpTo;
    const bool spanEndsChunk =
        spanned > 0 && spanned == timed && r.ok && r.kind == WorkerReport::Kind::Result;
    // The usual report is one span of all its tasks, kept as the worker's timing groups; else
    // the tasks' ends one by one.
    const bool spanAsGroups = spanned > 0 && spanned == timed;
    if (!spanAsGroups)
        r.expandEnds();
    if (logTaken && !spanStartsChunk) {
        e.tNs = r.takenNs;
        e.kind = EventKind::ChunkTaken;
        batch.add(e);
    }
    w.loggedTaken = w.loggedTaken || logTaken;
    if (spanned > 0) {
        EventLog::TaskSpan span;
        span.job = r.job;
        span.chunk = r.chunk;
        span.worker = w.number;
        span.pid = w.pid;
        span.firstTask = r.fromTask;
        span.firstStartNs = r.fromTask == r.first ? r.takenNs : w.lastEndNs;
        span.firstStartLogged = r.fromTask < w.startedUpTo;
        if (spanAsGroups && r.groupTasks.size() == timed) {
            span.endNs = r.groupEndNs; // every task timed alone: its group's end is its own
        } else if (spanAsGroups) {
            span.groupsStartNs = r.groupsStartNs;
            span.groupEndNs = r.groupEndNs;
            span.groupTasks = r.groupTasks;
        } else {
            span.endNs = std::span<const std::int64_t>(r.ends).first(spanned);
        }
        if (r.intResults)
            span.intResults = std::span<const std::int64_t>(r.intValues).first(spanned);
        else
            span.results = std::span<const Value>(r.values).first(spanned);
        if (job) {
            span.inputs = job->items;
            span.inputsBorrowed = job->itemsBorrowed;
        }
        if (job && job->inputRun &&
            r.fromTask + std::int64_t(spanned) <=
                job->inputRun->upTo.load(std::memory_order_acquire)) {
            span.inputsAreRun = true;
            span.inputRunFirst =
                std::int64_t(std::uint64_t(job->inputRun->first) +
                             std::uint64_t(r.fromTask) * std::uint64_t(job->inputRun->step));
            span.inputRunStep = job->inputRun->step;
        }
        span.taken = logTaken && spanStartsChunk;
        span.receivedNs = spanEndsChunk ? receivedNs : -1;
        if (r.groupSize > 0 && std::size_t(r.groupFrom) < spanned) {
            span.groupFrom = r.groupFrom;
            span.groupEnd = std::min(r.groupEnd, std::int32_t(spanned));
            span.groupSize = r.groupSize;
        }
        batch.add(span);
        w.startedUpTo = std::max(w.startedUpTo, r.fromTask + std::int64_t(spanned));
        w.lastEndNs = spanAsGroups ? r.groupEndNs.back() : r.ends[spanned - 1];
    }
    for (std::size_t k = spanned; k < timed; ++k) {
        const std::int64_t index = r.fromTask + std::int64_t(k);
        e.task = index;
        if (index >= w.startedUpTo) {
            e.tNs = index == r.first ? r.takenNs : w.lastEndNs;
            e.kind = EventKind::TaskStarted;
            e.ok = true;
            e.delay = -1;
            e.a = 0;
            setInput(index);
            batch.add(e);
            w.startedUpTo = index + 1;
        }
        e.tNs = r.ends[k];
        e.kind = EventKind::TaskFinished;
        if (k < resultCount) {
            e.ok = true;
            e.value = resultAt(k);
        } else {
            e.ok = false;
            e.value = Value();
            e.text = r.error.text();
        }
        e.delay = k < r.delays.size() ? r.delays[k] : -1;
        e.a = std::int64_t(k) >= r.groupFrom && std::int64_t(k) < r.groupEnd ? r.groupSize : 0;
        batch.add(e);
        w.lastEndNs = r.ends[k];
    }
    if (r.kind == WorkerReport::Kind::Progress && r.currentStartNs >= 0) {
        const std::int64_t index = r.fromTask + std::int64_t(timed);
        if (index >= w.startedUpTo) {
            e.tNs = r.currentStartNs;
            e.kind = EventKind::TaskStarted;
            e.task = index;
            e.ok = true;
            e.delay = -1;
            e.a = 0;
            e.text.clear();
            setInput(index);
            batch.add(e);
            w.startedUpTo = index + 1;
        }
    }
    if (r.kind == WorkerReport::Kind::Result && !spanEndsChunk) {
        Event got;
        got.tNs = receivedNs;
        got.kind = EventKind::ChunkResult;
        got.job = r.job;
        got.chunk = r.chunk;
        got.worker = w.number;
        got.pid = w.pid;
        got.ok = r.ok;
        batch.add(got);
    }
}

void PoolEngine::deliver(int jobId, std::int64_t chunk, Value::List& values, bool ok,
                         const RemoteError& error, std::int64_t errorTask)
{
    Job* const job = findJob(jobId);
    if (!job)
        return;
    bool finished = false;
    switch (job->kind) {
    case Job::Kind::Apply:
        finished = true;
        if (ok && !values.empty()) {
            settle(job->result,
                   [result = job->result, value = std::move(values.front())]() mutable {
                       result->complete(std::move(value));
                   });
        } else {
            settle(job->result, [result = job->result,
                                 failure = ok ? RemoteError{"RuntimeError", "no result", {}}
                                              : error] { result->fail(failure); });
        }
        break;
    case Job::Kind::Map: {
        if (ok) {
            const auto first = std::size_t(chunk * job->chunksize);
            Value::List& list = job->values->get();
            for (std::size_t i = 0; i < values.size() && first + i < list.size(); ++i)
                list[first + i] = std::move(values[i]);
        } else if (!job->firstError) {
            job->firstError = error; // the first failure to arrive, not the lowest index
        }
        mapChunkDone(jobId, *job);
        return;
    }
    case Job::Kind::Imap: {
        std::vector<ImapIterator::Item> items;
        const std::int64_t first = chunk * job->chunksize;
        if (ok) {
            for (std::size_t i = 0; i < values.size(); ++i)
                items.push_back({first + std::int64_t(i), std::move(values[i])});
        } else {
            items.push_back({errorTask, error}); // a failed chunk is one error at its position
        }
        job->iterator->deliverChunk(chunk, std::move(items));
        finished = ++job->chunksDone == job->chunkCount;
        break;
    }
    }
    if (finished) {
        std::lock_guard lock(m_jobsMutex);
        m_jobs.erase(jobId);
    }
}

PoolEngine::Job* PoolEngine::findJob(int jobId)
{
    std::lock_guard lock(m_jobsMutex);
    auto it = m_jobs.find(jobId);
    return it == m_jobs.end() ? nullptr : it->second.get();
}

bool PoolEngine::deliverInts(Job* job, int jobId, std::int64_t chunk,
                             std::span<const std::int64_t> values)
{
    if (!job)
        return true; // nobody waits for it any more: done with
    if (job->kind != Job::Kind::Map)
        return false;
    const auto first = std::size_t(chunk * job->chunksize);
    Value::List& list = job->values->get();
    const std::size_t n = std::min(values.size(), list.size() - std::min(first, list.size()));
    // The chunk's slots hold the Nones the list was made with (a chunk is delivered once): the
    // ints are constructed over them, with no look at what a slot held (a read of memory that
    // is not in the cache, in a list of 1.6 MB, for every slot).
    Value* out = list.data() + first;
    for (std::size_t i = 0; i < n; ++i)
        std::construct_at(out + i, static_cast<long long>(values[i]));
    mapChunkDone(jobId, *job);
    return true;
}

void PoolEngine::mapChunkDone(int jobId, Job& job)
{
    if (++job.chunksDone != job.chunkCount)
        return;
    if (job.firstError) {
        settle(job.result,
               [result = job.result, failure = *job.firstError] { result->fail(failure); });
    } else {
        settle(job.result,
               [result = job.result, list = Value(std::move(job.values->get()))]() mutable {
                   result->complete(std::move(list)); // moved along, never copied
               });
    }
    std::lock_guard lock(m_jobsMutex);
    m_jobs.erase(jobId);
}

void PoolEngine::handleExit(Worker& w)
{
    ::close(w.resultFd);
    w.resultFd = -1;
    w.process->join();
    const int exitcode = w.process->exitcode().value_or(0);
    const auto slotState = w.slot->state.load(std::memory_order_acquire);
    const bool stopped = slotState == WorkerSlot::Stopped;

    Event exited;
    exited.tNs = monotonicNs();
    exited.kind = EventKind::WorkerExited;
    exited.worker = w.number;
    exited.pid = w.pid;
    exited.a = exitcode;
    exited.text = w.name;
    record(exited);

    std::optional<LostChunk> lost;
    if (slotState == WorkerSlot::Running)
        lost = describeLostChunk(w, exitcode, exited.tNs);
    // A worker killed while taking a message from the queue must not keep the others out.
    m_queue.releaseDeadReader(std::uint32_t(w.pid));
    m_freeSlots.push_back(w.slotIndex); // read: the replacement may have it

    const bool neverReady = !w.ready;
    const std::string name = w.name;
    std::erase_if(m_workers, [&](const auto& p) { return p.get() == &w; });
    publishWorkers();

    // Replace the worker first, so that whoever learns of the lost task finds the pool whole.
    const State state = m_state.load();
    bool broken;
    {
        std::lock_guard lock(m_jobsMutex);
        broken = m_broken.has_value();
    }
    if (neverReady && state != State::Terminate && !stopped) {
        breakPool(RemoteError{"RuntimeError",
                              name + " exited with code " + std::to_string(exitcode) +
                                  " before it was ready",
                              {}});
    } else if (state != State::Terminate && !stopped && !broken) {
        try {
            startWorkers(1); // a worker that died or retired is replaced (names count on)
        } catch (const std::exception& e) {
            breakPool(RemoteError{
                "OSError", std::string("could not start a replacement worker: ") + e.what(), {}});
        }
    }
    // WorkerDeathPolicy::Hang: like CPython, the lost chunk never reports.
    if (lost && m_options.onWorkerDeath == WorkerDeathPolicy::Fail && state != State::Terminate) {
        Value::List none;
        deliver(lost->job, lost->chunk, none, false, lost->error, lost->task);
    }
}

PoolEngine::LostChunk PoolEngine::describeLostChunk(Worker& w, int exitcode, std::int64_t tNs)
{
    const WorkerSlot& slot = *w.slot;
    const int job = slot.job.load();
    const int chunk = slot.chunk.load();
    const std::int64_t task = slot.task.load();
    std::string func = "?";
    Value input;
    {
        std::lock_guard lock(m_jobsMutex);
        auto it = m_jobs.find(job);
        if (it != m_jobs.end()) {
            func = it->second->func;
            if (task >= 0 && std::size_t(task) < it->second->items->size())
                input = (*it->second->items)[std::size_t(task)];
        }
    }
    const std::string how = exitcode < 0 ? "died from " + signalText(-exitcode)
                                         : "exited with code " + std::to_string(exitcode);
    const RemoteError lost{"WorkerLostError",
                           w.name + " (pid " + std::to_string(w.pid) + ") " + how +
                               " while running task " + std::to_string(task) + ": " + func + "(" +
                               input.repr() + ")",
                           {}};
    Event e;
    e.tNs = tNs;
    e.kind = EventKind::WorkerLost;
    e.job = job;
    e.chunk = chunk;
    e.task = task;
    e.worker = w.number;
    e.pid = w.pid;
    e.ok = false;
    e.text = lost.message;
    record(std::move(e));
    return LostChunk{job, chunk, task, lost};
}

void PoolEngine::breakPool(const RemoteError& error)
{
    // A worker that cannot start (its initializer raised) would be restarted forever by
    // CPython. PoolScope fails the pending work and refuses new work instead.
    std::map<int, std::unique_ptr<Job>> pending;
    {
        std::lock_guard lock(m_jobsMutex);
        if (m_broken)
            return;
        m_broken = error;
        pending.swap(m_jobs);
    }
    for (auto& [id, job] : pending) {
        // Under the reader gate, maybe in a caller reading: error callbacks go to the result
        // thread like every other callback.
        if (job->result) {
            settle(job->result, [result = job->result, error] { result->fail(error); });
            job->result = nullptr;
        }
        failJob(*job, error);
    }
}

void PoolEngine::terminateWorkers()
{
    for (auto& w : m_workers) {
        if (w->process->isAlive())
            w->process->terminate();
    }
    // SIGTERM ends a worker at once: workers keep its default action. One still there after
    // the grace period cannot act on it: it is stopped (SIGSTOP), or it is a fork child stuck
    // before it unblocked its signals, on a lock that another thread of the parent held when
    // it forked (GCC 12's AddressSanitizer allocator can leave one so; CPython's reference
    // notes the same of any lock). It gets SIGKILL, so that terminate() and the destructor
    // never hang, where CPython's terminate() would.
    const std::int64_t deadline = monotonicNs() + kTerminateGraceNs;
    for (auto& w : m_workers) {
        w->process->join(double(std::max<std::int64_t>(0, deadline - monotonicNs())) / 1e9);
        if (!w->process->exitcode()) {
            w->process->kill();
            w->process->join();
        }
        if (w->resultFd >= 0)
            ::close(w->resultFd);
        Event exited;
        exited.tNs = monotonicNs();
        exited.kind = EventKind::WorkerExited;
        exited.worker = w->number;
        exited.pid = w->pid;
        exited.a = w->process->exitcode().value_or(0);
        exited.text = w->name;
        record(std::move(exited));
    }
    m_workers.clear();
    publishWorkers();
    if (m_state.load() == State::Terminate) {
        Event e;
        e.tNs = monotonicNs();
        e.kind = EventKind::PoolTerminated;
        record(std::move(e));
    }
}

} // namespace poolscope
