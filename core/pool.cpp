#include "pool.h"

#include "eventlog.h"
#include "poolengine.h"
#include "poolerror.h"
#include "taskerror.h"

#include <algorithm>

namespace poolscope {

namespace {

// Consumes a generator input the way CPython's task handler consumes an iterable: an exception
// part-way becomes an error at the position of the chunk that was being built.
Value::List drainGenerator(const ItemGenerator& next, std::optional<RemoteError>& error)
{
    Value::List items;
    try {
        while (auto item = next())
            items.push_back(std::move(*item));
    } catch (const TaskError& e) {
        error = RemoteError{e.type(), e.message(), "raised by the input iterable\n"};
    } catch (const std::exception& e) {
        error = RemoteError{"RuntimeError", e.what(), "raised by the input iterable\n"};
    }
    return items;
}

} // namespace

Pool::Pool(PoolOptions options) : m_engine(std::make_unique<PoolEngine>(std::move(options)))
{}

Pool::~Pool() = default; // the engine's destructor terminates and joins

int Pool::defaultChunksize(std::size_t items, int workers)
{
    if (items == 0 || workers < 1)
        return 0;
    const std::size_t per = std::size_t(workers) * 4;
    return int(items / per + (items % per ? 1 : 0));
}

namespace {

// The inputs of a blocking call, not copied and not owned (a pointer with no owner, which
// PoolEngine::submitMap tells by its use count of 0). Every reader of a job's inputs is done
// before the call returns: the caller encodes the chunks, and the pool reads them only while
// holding its reader gate and finding the job registered; the hold of the gate that hands the
// result back also unregisters the job. The event log copies what it keeps of such a list
// (TaskSpan::inputsBorrowed).
std::shared_ptr<const Value::List> borrow(const Value::List& items)
{
    return std::shared_ptr<const Value::List>(std::shared_ptr<void>(), &items);
}

std::shared_ptr<const Value::List> own(Value::List&& items)
{
    return std::make_shared<const Value::List>(std::move(items));
}

} // namespace

Value::List Pool::map(std::string_view func, const Value::List& items, std::optional<int> chunksize)
{
    Value result =
        m_engine->submitMap("map", func, borrow(items), chunksize, false, {}, {})->take();
    return std::move(result.asList());
}

Value::List Pool::map(std::string_view func, Value::List&& items, std::optional<int> chunksize)
{
    Value result =
        m_engine->submitMap("map", func, own(std::move(items)), chunksize, false, {}, {})->take();
    return std::move(result.asList());
}

Value::List Pool::starmap(std::string_view func, const Value::List& argTuples,
                          std::optional<int> chunksize)
{
    Value result =
        m_engine->submitMap("starmap", func, borrow(argTuples), chunksize, true, {}, {})->take();
    return std::move(result.asList());
}

Value::List Pool::starmap(std::string_view func, Value::List&& argTuples,
                          std::optional<int> chunksize)
{
    Value result =
        m_engine->submitMap("starmap", func, own(std::move(argTuples)), chunksize, true, {}, {})
            ->take();
    return std::move(result.asList());
}

std::shared_ptr<AsyncResult> Pool::mapAsync(std::string_view func, Value::List items,
                                            std::optional<int> chunksize, ResultCallback callback,
                                            ErrorCallback errorCallback)
{
    return m_engine->submitMap("map_async", func, own(std::move(items)), chunksize, false,
                               std::move(callback), std::move(errorCallback));
}

std::shared_ptr<AsyncResult> Pool::starmapAsync(std::string_view func, Value::List argTuples,
                                                std::optional<int> chunksize,
                                                ResultCallback callback,
                                                ErrorCallback errorCallback)
{
    return m_engine->submitMap("starmap_async", func, own(std::move(argTuples)), chunksize, true,
                               std::move(callback), std::move(errorCallback));
}

std::shared_ptr<ImapIterator> Pool::imap(std::string_view func, Value::List items, int chunksize)
{
    return m_engine->submitImap(func, std::move(items), std::nullopt, chunksize, true);
}

std::shared_ptr<ImapIterator> Pool::imap(std::string_view func, ItemGenerator items, int chunksize)
{
    std::optional<RemoteError> error;
    Value::List list = drainGenerator(items, error);
    return m_engine->submitImap(func, std::move(list), std::move(error), chunksize, true);
}

std::shared_ptr<ImapIterator> Pool::imapUnordered(std::string_view func, Value::List items,
                                                  int chunksize)
{
    return m_engine->submitImap(func, std::move(items), std::nullopt, chunksize, false);
}

std::shared_ptr<ImapIterator> Pool::imapUnordered(std::string_view func, ItemGenerator items,
                                                  int chunksize)
{
    std::optional<RemoteError> error;
    Value::List list = drainGenerator(items, error);
    return m_engine->submitImap(func, std::move(list), std::move(error), chunksize, false);
}

Value Pool::apply(std::string_view func, Value::List args)
{
    return m_engine->submitApply(func, std::move(args), {}, {})->take();
}

std::shared_ptr<AsyncResult> Pool::applyAsync(std::string_view func, Value::List args,
                                              ResultCallback callback, ErrorCallback errorCallback)
{
    return m_engine->submitApply(func, std::move(args), std::move(callback),
                                 std::move(errorCallback));
}

void Pool::close()
{
    m_engine->close();
}

void Pool::terminate()
{
    m_engine->terminate();
}

void Pool::join()
{
    m_engine->join();
}

bool Pool::waitForWorkers(double timeoutSeconds)
{
    return m_engine->waitForWorkers(timeoutSeconds);
}

int Pool::processes() const
{
    return m_engine->processes();
}

StartMethod Pool::startMethod() const
{
    return m_engine->startMethod();
}

std::shared_ptr<EventLog> Pool::eventLog() const
{
    return m_engine->eventLog();
}

std::vector<WorkerInfo> Pool::workers() const
{
    return m_engine->workers();
}

} // namespace poolscope
