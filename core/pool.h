#pragma once

#include "asyncresult.h"
#include "imapiterator.h"
#include "pooloptions.h"
#include "value.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace poolscope {

class PoolEngine;

// A generator input (an iterable consumed lazily): returns the next item, std::nullopt at the
// end, or throws TaskError to reproduce an iterable that raises part-way.
using ItemGenerator = std::function<std::optional<Value>()>;

struct WorkerInfo
{
    int number = 0;   // N of ForkPoolWorker-N (counts on across pools, as in CPython)
    std::string name; // "ForkPoolWorker-3"
    int pid = 0;
};

// multiprocessing.Pool with CPython's observable semantics (see
// shared/reference/cpython-semantics.md): one shared task queue that the first idle worker
// takes the next chunk from, default chunksize ceil(n / (4 * workers)) for the map family,
// imap ordering, map's "first failure to arrive", TimeoutError, close/terminate/join.
// Functions are named tasks of TaskRegistry::builtins(), as Python pickles functions by name.
// Every step is recorded in options.log when one is given.
//
// Misuse throws PoolError with Python's type and message ("ValueError: Pool not running").
// A call whose task raised throws PoolError carrying the task's RemoteError.
class Pool
{
public:
    explicit Pool(PoolOptions options = {});
    // Like leaving Python's `with Pool() as p:` block: terminate().
    ~Pool();
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;

    // The blocking calls read the caller's list while they run, as CPython's map does; a list
    // that is not all scalars (None, bool, int, float) is copied once, since the event log may
    // keep it. A list passed as an rvalue is moved in.
    Value::List map(std::string_view func, const Value::List& items,
                    std::optional<int> chunksize = std::nullopt);
    Value::List map(std::string_view func, Value::List&& items,
                    std::optional<int> chunksize = std::nullopt);
    Value::List starmap(std::string_view func, const Value::List& argTuples,
                        std::optional<int> chunksize = std::nullopt);
    Value::List starmap(std::string_view func, Value::List&& argTuples,
                        std::optional<int> chunksize = std::nullopt);
    std::shared_ptr<AsyncResult> mapAsync(std::string_view func, Value::List items,
                                          std::optional<int> chunksize = std::nullopt,
                                          ResultCallback callback = {},
                                          ErrorCallback errorCallback = {});
    std::shared_ptr<AsyncResult> starmapAsync(std::string_view func, Value::List argTuples,
                                              std::optional<int> chunksize = std::nullopt,
                                              ResultCallback callback = {},
                                              ErrorCallback errorCallback = {});
    std::shared_ptr<ImapIterator> imap(std::string_view func, Value::List items, int chunksize = 1);
    std::shared_ptr<ImapIterator> imap(std::string_view func, ItemGenerator items,
                                       int chunksize = 1);
    std::shared_ptr<ImapIterator> imapUnordered(std::string_view func, Value::List items,
                                                int chunksize = 1);
    std::shared_ptr<ImapIterator> imapUnordered(std::string_view func, ItemGenerator items,
                                                int chunksize = 1);
    Value apply(std::string_view func, Value::List args = {});
    std::shared_ptr<AsyncResult> applyAsync(std::string_view func, Value::List args = {},
                                            ResultCallback callback = {},
                                            ErrorCallback errorCallback = {});

    void close();     // no new work; workers exit once the queued work is done
    void terminate(); // drop pending work, SIGTERM the workers, reap them
    void join();      // after close() or terminate(); ValueError("Pool is still running") else
    // The constructor returns once the workers are forked, not once they are up. Waits until
    // they all are (for a measurement that should not pay their start-up), or until the pool
    // stops or the timeout passes. Returns whether they all came up. (Not in CPython.)
    bool waitForWorkers(double timeoutSeconds = 10.0);

    int processes() const;
    StartMethod startMethod() const;
    std::vector<WorkerInfo> workers() const; // the live workers
    // Where this pool records its events (options.log, or its own); null when not recording.
    std::shared_ptr<EventLog> eventLog() const;
    // CPython's default chunksize for the map family: ceil(n / (4 * workers)), 0 when n == 0.
    static int defaultChunksize(std::size_t items, int workers);

private:
    std::unique_ptr<PoolEngine> m_engine;
};

} // namespace poolscope
