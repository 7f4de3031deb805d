#pragma once

#include "asyncresult.h"
#include "imapiterator.h"
#include "inheritedworker.h"
#include "parentonlyblock.h"
#include "pool.h"
#include "pooloptions.h"
#include "poolprotocol.h"
#include "process.h"
#include "taskqueue.h"
#include "workerslot.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <poll.h>
#include <span>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace poolscope {

// The machinery behind Pool, shaped like CPython's: chunks go into one shared queue in FIFO
// order, from the caller's thread when the queue has room and nothing is waiting, else from a
// task-feeder thread (CPython's task handler, started the first time it is needed); a result
// thread (CPython's result
// handler and worker handler in one) reads every worker's result pipe, records events, fills
// the jobs' results, runs callbacks, reaps workers that exit and starts their replacements.
// Workers are started only from threads that outlive them (PR_SET_PDEATHSIG is tied to the
// creating thread): the result thread, or the process's main thread for a pool made there.
class PoolEngine
{
public:
    explicit PoolEngine(PoolOptions options);
    ~PoolEngine();

    // items: owned, or (a blocking call) the caller's own list, not owned (Pool::map).
    std::shared_ptr<AsyncResult> submitMap(const char* api, std::string_view func,
                                           std::shared_ptr<const Value::List> items,
                                           std::optional<int> chunksize, bool star,
                                           ResultCallback callback, ErrorCallback errorCallback);
    std::shared_ptr<ImapIterator> submitImap(std::string_view func, Value::List items,
                                             std::optional<RemoteError> inputError, int chunksize,
                                             bool ordered);
    std::shared_ptr<AsyncResult> submitApply(std::string_view func, Value::List args,
                                             ResultCallback callback, ErrorCallback errorCallback);

    void close();
    void terminate();
    void join();
    // Waits until as many workers as the pool has have reported that they are up (or the
    // pool's reading has ended, or the timeout). Returns whether they have.
    bool waitForWorkers(double timeoutSeconds);

    int processes() const { return m_processes; }
    StartMethod startMethod() const { return m_options.method; }
    const std::shared_ptr<EventLog>& eventLog() const { return m_log; }
    std::vector<WorkerInfo> workers() const;

private:
    enum class State
    {
        Run,
        Close,
        Terminate
    };

    // A map's result list, made (n Nones: fresh memory, 1.6 MB for 100,000 items) once, by
    // whoever needs it first: the caller once its chunks have gone out, so that the workers
    // start meanwhile, or the reader of the first report, which then waits for the caller's.
    class ResultList
    {
    public:
        explicit ResultList(std::size_t size) : m_size(size) {}
        Value::List& get()
        {
            if (!m_ready.load(std::memory_order_acquire)) {
                std::lock_guard lock(m_mutex);
                if (!m_ready.load(std::memory_order_relaxed)) {
                    m_list.resize(m_size);
                    m_ready.store(true, std::memory_order_release);
                }
            }
            return m_list;
        }

    private:
        const std::size_t m_size;
        std::mutex m_mutex;
        std::atomic<bool> m_ready{false};
        Value::List m_list;
    };

    // What a caller found of a job's inputs while it encoded the chunks: inputs [0, upTo)
    // are the ints first, first + step, ... (an arithmetic run, steps wrapping: a map over a
    // range). The result thread then gives the log a report's inputs as a run, without
    // reading them again (they are cold by then: 12,500 Values are 200 KB).
    struct InputRun
    {
        std::atomic<std::int64_t> upTo{0}; // stored with release after first and step are set
        std::int64_t first = 0;
        std::int64_t step = 0;
    };

    struct Job
    {
        enum class Kind
        {
            Apply,
            Map,
            Imap
        };
        Kind kind = Kind::Map;
        int id = 0;
        std::string api;
        std::string func;
        bool star = false;
        // Owned, or a blocking caller's own list (not owned: Pool::map), which only the
        // caller (while it encodes) and the reader gate's holder (finding the job registered)
        // read; deliver() unregisters the job under the same hold that settles its result.
        std::shared_ptr<const Value::List> items;
        bool itemsBorrowed = false; // items is a blocking caller's list (Pool::map, starmap)
        std::int64_t chunksize = 1;
        std::int64_t chunkCount = 0; // chunks the workers run
        std::int64_t chunksDone = 0;
        std::shared_ptr<AsyncResult> result;
        std::shared_ptr<ImapIterator> iterator;
        std::shared_ptr<ResultList> values;    // map: filled slice by slice
        std::optional<RemoteError> firstError; // map: the first failure to arrive
        std::shared_ptr<InputRun> inputRun;    // recording, more than 4 items: see InputRun
    };

    struct Pending
    {
        EncodedChunk message;
        bool stop = false;
        std::int32_t job = 0;
        std::int32_t chunk = 0;
        std::int64_t first = 0;
        std::int64_t last = 0;
    };

    struct Worker
    {
        int number = 0;
        std::string name;
        std::unique_ptr<Process> process;
        int resultFd = -1;
        int resultWriteFd = -1;     // the worker's end, until it has started
        WorkerSlot* slot = nullptr; // in the task queue's memory
        ResultRing ring;            // its reports, in the task queue's memory (the slot's)
        std::size_t slotIndex = 0;
        Bytes inbox; // bytes read but not yet parsed into frames
        bool ready = false;
        int pid = 0;
        std::int64_t requestNs = 0;
        // What has been logged of the chunk the worker is on.
        std::int32_t job = -1;
        std::int32_t chunk = -1;
        bool loggedTaken = false;
        std::int64_t startedUpTo = 0;
        std::int64_t lastEndNs = 0;
        Value::List chunkValues;
        // Fork only: what the worker starts from, inherited with the parent's memory.
        std::unique_ptr<InheritedWorker> inherited;
    };

    // PoolError (RuntimeError) in any process but the one that made the pool: a fork child's
    // copy of it has the parent's workers and queue, and none of its threads.
    void checkOwner() const;
    void checkRunning() const;
    // A caller submitting a job, from the running check to its last chunk handed over: close()
    // sends the stop messages only once no submission is in progress, so that every chunk of a
    // job accepted before close() goes out before them (CPython's order).
    class Submission
    {
    public:
        explicit Submission(PoolEngine& engine);
        ~Submission();
        Submission(const Submission&) = delete;
        Submission& operator=(const Submission&) = delete;

    private:
        PoolEngine& m_engine;
    };
    void queueStopsLocked(); // with m_feedMutex held and no submission in progress
    void startReader();      // the result thread, unless it runs or ran already (join)
    void checkFunction(std::string_view func) const;
    void record(Event event) const;
    static int newJobId();
    // What the caller needs to encode a job's chunks, copied before the job is registered.
    struct ChunkPlan
    {
        std::shared_ptr<const Value::List> items;
        std::int32_t id = 0;
        std::string func;
        bool star = false;
        std::int64_t chunksize = 1;
        std::int64_t chunkCount = 0;
        std::shared_ptr<InputRun> inputRun;
    };
    std::unique_ptr<Job> newJob(Job::Kind kind, std::string api, std::string_view func,
                                bool star) const;
    static ChunkPlan planOf(const Job& job);
    void submitJob(std::unique_ptr<Job> job);   // registers it, then hands its chunks over
    bool registerJob(std::unique_ptr<Job> job); // false: the pool is broken, the job failed
    void failJob(Job& job, const RemoteError& error);
    void enqueueChunks(const ChunkPlan& plan);

    void startFeederLocked(); // with m_feedMutex held: starts the feeder thread if not yet
    std::vector<Pending> stopMessages(std::size_t count) const; // close() sentinels
    void feederLoop();
    bool sendBatch(std::vector<Pending>& batch);           // waits for room; false: terminated
    std::size_t sendAvailable(std::span<Pending> pending); // sends what fits now, records it
    // A chunk that went into the queue: its ChunkSubmitted, once flushed.
    struct Submitted
    {
        std::int64_t tNs;
        std::int32_t job;
        std::int32_t chunk;
        std::int64_t first;
        std::int64_t last;
    };
    void addSubmitted(std::vector<Submitted>& submitted, const Pending& p, std::int64_t tNs) const;
    void flushSubmitted(std::vector<Submitted>& submitted) const;
    static constexpr std::size_t kSendBatch = 64;

    // started: the first workers are to be started here (see the constructor), then started set.
    // join() may run it on the caller's thread too (a pool without work), whose policy stays
    // as it is.
    void resultLoop(std::promise<void>* started);
    // The result loop's wait, first without sleeping: while a job is registered and a core
    // is spare (coreIsSpare), looks at the result rings and polls the result pipes without
    // blocking for up to kReaderSpinNs, yielding the core between looks. Returns poll()'s count
    // (1 for reports in a ring), 0 when nothing came (then the loop sleeps in poll(), each ring's
    // doorbell armed). A report that comes soon after the last one (the other worker's
    // last chunk of a map, say) is then read at once: a thread woken on an idle vCPU of this
    // project's VM runs 20-25 us after the write, and the last report of a call decides when
    // the caller has its result. 50 us, about twice that wake-up, bounds what a wait may spin
    // away to about two wake-ups' time.
    int pollBriefly(std::vector<pollfd>& fds);
    // No chunk waits in the queue (a worker woken to take it may need this core), and fewer
    // workers run a chunk than this process has cores. Read without locks: a hint.
    bool coreIsSpare() const;
    static constexpr std::int64_t kReaderSpinNs = 50'000;
    // The pool's own result thread: resultLoop as SCHED_BATCH (BatchScheduling), so that a
    // worker's report does not preempt another worker, and is read when a core is free.
    void runResultThread(std::promise<void>* started);
    // Workers are made ready first (pipes, slots, the Process objects), then started together
    // (Process::startAll): with fork, the parent writes no page between the forks, each a
    // copy-on-write fault then.
    void startWorkers(int count);
    std::unique_ptr<Worker> prepareWorker();
    void launched(Worker& worker); // its process has started

    // Reads the reports in the worker's result ring (frames may span reads: Worker::inbox).
    void readReports(Worker& worker);
    // Reads the worker's result pipe, which carries doorbell bytes only; true at end of file
    // (the worker has gone). The result thread's alone: a doorbell read elsewhere would leave
    // it asleep.
    bool drainDoorbells(Worker& worker);
    bool reportsWaiting() const; // in any worker's ring
    // Takes the report's values; receivedNs: when the bytes holding it were read (recording).
    void handleReport(Worker& worker, WorkerReport& report, std::int64_t receivedNs);
    // The report's events under one lock: chunk taken, tasks, and (a Result) chunk received.
    // Expands the report's ends (WorkerReport::expandEnds) only for tasks logged one by one.
    void logTasks(Worker& worker, WorkerReport& report, const Job* job, std::int64_t receivedNs);
    // A report of a whole one-task chunk with a scalar result and a scalar input, its worker
    // between chunks (a map with chunksize 1): readReports gathers the run of them that a read
    // of a ring brings, to log as one EventLog::OneTaskChunks (one lock, 40 bytes a chunk
    // instead of a record of 88) before it delivers them. False (nothing gathered) for any
    // other report.
    bool gatherOneTaskChunk(const Worker& worker, const WorkerReport& report,
                            std::int64_t receivedNs);
    // Logs the gathered chunks, then delivers their results (a result is never handed over
    // before its chunk's events are in the log).
    void flushOneTaskChunks();
    void handleExit(Worker& worker);
    struct LostChunk
    {
        int job = -1;
        int chunk = -1;
        std::int64_t task = -1;
        RemoteError error;
    };
    LostChunk describeLostChunk(Worker& worker, int exitcode, std::int64_t tNs);
    // Takes (moves out) what it needs of `values`; the caller keeps the list's storage.
    void deliver(int jobId, std::int64_t chunk, Value::List& values, bool ok,
                 const RemoteError& error, std::int64_t errorTask);
    // The registered job, or null. Valid while the caller holds the reader gate (only its
    // holder unregisters jobs).
    Job* findJob(int jobId);
    // A map's chunk that went well, its results ints (an int kernel's): written into the job's
    // list (job: findJob(jobId), found by the caller) without a Value list in between. False
    // (nothing done) when the job is not a map.
    bool deliverInts(Job* job, int jobId, std::int64_t chunk, std::span<const std::int64_t> values);
    // A map's chunk is in: when it was the last, settles the job's result and unregisters it.
    void mapChunkDone(int jobId, Job& job);
    void breakPool(const RemoteError& error);
    // SIGTERM to every live worker, then joins them; one still there after
    // kTerminateGraceNs gets SIGKILL (see the definition).
    void terminateWorkers();
    static constexpr std::int64_t kTerminateGraceNs = 2'000'000'000;
    std::vector<WorkerInfo> workerList() const; // m_workers as the caller sees them
    void publishWorkers();

    PoolOptions m_options;
    pid_t m_owner = ::getpid(); // the process that made the pool
    int m_processes = 1;
    std::shared_ptr<EventLog> m_log;
    std::atomic<State> m_state{State::Run};
    TaskQueue m_queue;
    // Slots of the queue's memory no live worker has (the result thread's, or the constructor's).
    std::vector<std::size_t> m_freeSlots;
    int m_lifelineRead = -1;  // every worker holds it: end of file once this process has gone
    int m_lifelineWrite = -1; // never written
    int m_resultWake = -1;    // eventfd

    std::mutex m_feedMutex;
    std::condition_variable m_feedCv;
    std::deque<Pending> m_feedQueue;
    bool m_feederSending = false; // the feeder holds popped chunks it has not sent yet
    bool m_stopsQueued = false;   // close() has sent or queued one stop message per worker
    bool m_feederJoined = false;  // join() has taken the feeder: none starts any more
    int m_submitting = 0;         // Submissions in progress

    mutable std::mutex m_jobsMutex;
    std::map<int, std::unique_ptr<Job>> m_jobs;
    std::optional<RemoteError> m_broken; // guarded by m_jobsMutex

    // The reader gate: whoever holds its mutex reads the workers' result pipes and handles
    // what they sent. Usually the result thread; a caller spinning for a one-chunk job's result
    // (an apply) takes it when it is free (assistLocked), so that the result is in hand
    // without waiting for the result thread to be woken first (microseconds in a VM). Shared
    // with the AsyncResults' spin hooks, which may outlive the engine: `engine` is cleared,
    // under the mutex, when the engine goes.
    struct ReaderGate
    {
        std::mutex mutex;
        PoolEngine* engine = nullptr;
        std::thread::id resultThread; // set once, by the result thread before it reads
    };
    std::function<void()> spinAssist() const; // the hook for AsyncResult::setSpinAssist
    void assistLocked();                      // a caller's turn at reading, gate held
    bool onResultThread() const;
    // Settles a job's result: at once, or, when a callback would run and this is not the
    // result thread (a caller reading), later on the result thread, as CPython runs callbacks.
    void settle(const std::shared_ptr<AsyncResult>& result, std::function<void()> settleIt);
    void runDeferred(); // the result thread, gate held

    std::shared_ptr<ReaderGate> m_gate;
    // Under the gate's mutex: changed by the result thread only; read by a caller's assist.
    std::vector<std::unique_ptr<Worker>> m_workers;
    WorkerReport m_report; // reused for every report
    // Gathered by gatherOneTaskChunk, all of one job (under the gate, as m_report).
    std::vector<EventLog::OneTaskChunk> m_oneTaskChunks;
    const Job* m_oneTaskJob = nullptr;
    Value::List m_oneTaskValues;                   // a delivery's list, reused
    std::vector<std::function<void()>> m_deferred; // callbacks left for the result thread
    int m_usableCpus = 0; // the result thread's: this process's CPUs (affinity), read once
    // What one read of a result ring brings: at most all it holds. Not zeroed: pages that no
    // read reaches are never touched (a page fault each, and an idle pool reads a few bytes).
    // Page-aligned, as the rings' bytes are: AMD's Zen cores copy several times slower when the
    // destination is a few bytes past the source modulo 4 KiB, as it was at malloc's 16-byte
    // offset into a fresh mapping (40% of a map of 100,000 squares, when this was a pipe's
    // read()). Not inherited by the workers (ParentOnlyBlock): this process's first reads after
    // a fork copied each page it had written before. A pool's buffer goes on to the next pool
    // of the process.
    static constexpr std::size_t kReadBufferBytes = ResultRing::kDefaultCapacity;
    // A chunk's submit time is read before its push, once for this many pushes in a row (a
    // push takes tens of ns, a clock reading 28 on this project's VM): a time at most about a
    // microsecond early, never after the push (a worker may take the chunk at once). A reading
    // per chunk was 0.28 ms of the 8-11 ms of the parent's CPU in a map of 10,000 tasks with
    // chunksize 1.
    static constexpr std::size_t kPushesPerClockReading = 16;
    ParentOnlyBlock m_readBuffer{kReadBufferBytes};
    mutable std::mutex m_infoMutex;
    std::vector<WorkerInfo> m_workerInfo;
    std::vector<Process*> m_starting; // startWorkers()'s, kept: nothing freed after the forks
    int m_readyWorkers = 0;           // Ready reports read (guarded by m_infoMutex)
    bool m_readerEnded = false;       // the result loop has ended (guarded by m_infoMutex)
    std::condition_variable m_readyCv;

    std::mutex m_joinMutex;
    std::thread m_feeder; // guarded by m_feedMutex
    // The result loop runs on m_resultThread, started by the first job (startReader), or in
    // join() when no job came (m_readerPending until either happens).
    std::mutex m_readerMutex;
    bool m_readerPending = false; // guarded by m_readerMutex
    std::thread m_resultThread;   // guarded by m_readerMutex
};

} // namespace poolscope
