#include "sandboxcommand.h"

#include "eventlog.h"
#include "pool.h"
#include "poolerror.h"
#include "processerror.h"
#include "tracefile.h"

#include <ostream>
#include <thread>
#include <unistd.h>

#ifndef POOLSCOPE_VERSION
#error "POOLSCOPE_VERSION must be defined by the build (the CMake project version)"
#endif

namespace poolscope {

namespace {

// Thrown by printLine when stdout is gone (a closed pipe: SIGPIPE is ignored by main()).
struct StdoutClosed
{};

std::string seconds(double s)
{
    return Value(s).repr();
}

int cpuCount()
{
    const unsigned n = std::thread::hardware_concurrency();
    return n ? int(n) : 1;
}

} // namespace

SandboxCommand::SandboxCommand(SandboxOptions options, std::ostream& out, std::ostream& err)
    : m_options(std::move(options)), m_out(out), m_err(err)
{}

int SandboxCommand::run()
{
    const auto& o = m_options;
    if (!o.tracePath.empty()) {
        try {
            TraceFile::checkWritable(o.tracePath);
        } catch (const TraceError& e) {
            std::string what = e.what();
            if (what.find(o.tracePath) == std::string::npos)
                what += " ('" + o.tracePath + "')";
            m_err << "poolscope pool: --trace: " << what << std::endl;
            return 2;
        }
    }

    PoolOptions options;
    options.processes = o.workers;
    options.method = o.startMethod;
    options.taskOptions = o.taskOptions();
    options.onWorkerDeath = o.onWorkerDeath;
    options.log = std::make_shared<EventLog>();

    int status = 0;
    int workers = o.workers.value_or(cpuCount());
    bool started = false; // whether the pool started: where a traceback points
    try {
        // The pool lives in this block only: leaving it (normally or by an exception)
        // terminates it, as leaving Python's `with Pool() as pool:` does.
        Pool pool(options);
        started = true;
        workers = pool.processes();
        call(pool);
    } catch (const PoolTimeoutError&) {
        printException(RemoteError{"multiprocessing.context.TimeoutError", "", ""}, started);
        status = 1;
    } catch (const PoolError& e) {
        printException(e.error(), started);
        status = 1;
    } catch (const ProcessError& e) {
        printException(RemoteError{e.type(), e.what(), ""}, started);
        status = 1;
    } catch (const StdoutClosed&) {
        m_err << "BrokenPipeError: [Errno 32] Broken pipe" << std::endl;
        status = 1;
    } catch (const std::exception& e) {
        m_err << "poolscope pool: error: " << e.what() << std::endl;
        status = 1;
    }

    if (!o.tracePath.empty() && !writeTrace(*options.log, workers) && status == 0)
        status = 1;
    return status;
}

void SandboxCommand::call(Pool& pool)
{
    const auto& o = m_options;
    const Value::List items = o.inputs();
    const std::string& f = o.func;
    const auto timeout = o.timeout;

    switch (o.api) {
    case SandboxApi::Map:
    case SandboxApi::Starmap:
    case SandboxApi::MapAsync: {
        Value::List args = items;
        if (o.api == SandboxApi::Starmap) {
            // Each input becomes the argument tuple (x,) of a one-argument function.
            for (auto& a : args)
                a = Value::tuple({a});
        }
        Value result;
        if (o.api == SandboxApi::Map && !timeout) {
            result = Value(pool.map(f, std::move(args), o.chunksize));
        } else if (o.api == SandboxApi::Starmap && !timeout) {
            result = Value(pool.starmap(f, std::move(args), o.chunksize));
        } else {
            // Python's map and starmap have no timeout: map_async(...).get(timeout) it is.
            auto async = o.api == SandboxApi::Starmap
                             ? pool.starmapAsync(f, std::move(args), o.chunksize)
                             : pool.mapAsync(f, std::move(args), o.chunksize);
            result = async->get(timeout);
        }
        printLine(result.repr());
        break;
    }
    case SandboxApi::Imap:
    case SandboxApi::ImapUnordered: {
        const int chunksize = o.chunksize.value_or(1);
        auto it = o.api == SandboxApi::Imap ? pool.imap(f, items, chunksize)
                                            : pool.imapUnordered(f, items, chunksize);
        while (auto r = it->next(timeout))
            printLine("Got result: " + r->str());
        break;
    }
    case SandboxApi::Apply:
        for (const auto& x : items) {
            const Value r = timeout ? pool.applyAsync(f, {x})->get(timeout) : pool.apply(f, {x});
            printLine("Got result: " + r.str());
        }
        break;
    case SandboxApi::ApplyAsync: {
        std::vector<std::shared_ptr<AsyncResult>> results;
        results.reserve(items.size());
        for (const auto& x : items)
            results.push_back(pool.applyAsync(f, {x}));
        for (const auto& r : results)
            printLine("Got result: " + r->get(timeout).str());
        break;
    }
    }
}

void SandboxCommand::printLine(const std::string& line)
{
    m_out << line << '\n' << std::flush;
    if (!m_out)
        throw StdoutClosed{};
}

// What Python prints for an uncaught exception from a pool call: the worker's traceback as
// the cause (when the worker sent one), then the caller's traceback and the exception line.
void SandboxCommand::printException(const RemoteError& error, bool inCall)
{
    if (!error.traceback.empty()) {
        m_err << "multiprocessing.pool.RemoteTraceback: \n\"\"\"\n" << error.traceback;
        if (error.traceback.back() != '\n')
            m_err << '\n';
        m_err << "\"\"\"\n\nThe above exception was the direct cause of the following "
                 "exception:\n\n";
    }
    m_err << "Traceback (most recent call last):\n"
          << "  File \"<poolscope pool>\", in <module>\n"
          << "    " << (inCall ? pythonStatement() : poolStatement()) << '\n'
          << error.text() << std::endl;
}

bool SandboxCommand::writeTrace(const EventLog& log, int workers)
{
    try {
        TraceFile::write(m_options.tracePath, log, traceMetadata(workers));
        return true;
    } catch (const std::exception& e) {
        m_err << "poolscope pool: cannot write the trace: " << e.what() << std::endl;
        return false;
    }
}

std::string SandboxCommand::pythonStatement() const
{
    const auto& o = m_options;
    const std::string api(sandboxApiName(o.api));
    const std::string cs = o.chunksize ? ", chunksize=" + std::to_string(*o.chunksize) : "";
    const std::string get = o.timeout ? "get(timeout=" + seconds(*o.timeout) + ")" : "get()";
    const std::string args = o.api == SandboxApi::Starmap ? "[(x,) for x in items]" : "items";
    switch (o.api) {
    case SandboxApi::Map:
    case SandboxApi::Starmap:
        if (!o.timeout)
            return "print(pool." + api + "(" + o.func + ", " + args + cs + "))";
        return "print(pool." + api + "_async(" + o.func + ", " + args + cs + ")." + get + ")";
    case SandboxApi::MapAsync:
        return "print(pool.map_async(" + o.func + ", items" + cs + ")." + get + ")";
    case SandboxApi::Imap:
    case SandboxApi::ImapUnordered:
        if (!o.timeout)
            return "for r in pool." + api + "(" + o.func + ", items" + cs + "):";
        return "r = results.next(timeout=" + seconds(*o.timeout) + ")";
    case SandboxApi::Apply:
        if (!o.timeout)
            return "print(\"Got result:\", pool.apply(" + o.func + ", (x,)))";
        return "print(\"Got result:\", pool.apply_async(" + o.func + ", (x,))." + get + ")";
    case SandboxApi::ApplyAsync:
        return "print(\"Got result:\", r." + get + ")";
    }
    return {};
}

std::string SandboxCommand::poolStatement() const
{
    const auto& o = m_options;
    return "with get_context(\"" + std::string(startMethodName(o.startMethod)) + "\").Pool(" +
           (o.workers ? std::to_string(*o.workers) : "") + ") as pool:";
}

int SandboxCommand::chunksizeUsed(int workers) const
{
    if (m_options.chunksize)
        return *m_options.chunksize;
    if (isMapFamily(m_options.api))
        return Pool::defaultChunksize(std::size_t(m_options.items), workers);
    return 1; // imap's default; apply sends one task per call
}

TraceMetadata SandboxCommand::traceMetadata(int workers) const
{
    const auto& o = m_options;
    TraceMetadata meta;
    meta.version = POOLSCOPE_VERSION;
    meta.api = std::string(sandboxApiName(o.api));
    meta.func = o.func;
    meta.items = o.items;
    meta.workers = workers;
    meta.chunksize = chunksizeUsed(workers);
    meta.startMethod = std::string(startMethodName(o.startMethod));
    meta.seed = o.seed;
    meta.timeScale = o.timeScale;
    meta.mainPid = int(::getpid());
    return meta;
}

} // namespace poolscope
