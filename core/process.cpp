#include "process.h"

#include "batchscheduling.h"
#include "childsetup.h"
#include "forkbackend.h"
#include "forkserverbackend.h"
#include "processcounter.h"
#include "processerror.h"
#include "spawnbackend.h"

#include <array>
#include <csignal>
#include <exception>
#include <unistd.h>

namespace poolscope {

Process::Process(ProcessTarget target, ProcessOptions options)
    : m_target(std::move(target)), m_options(std::move(options)), m_creatorPid(int(::getpid()))
{
    // Every Process takes the next number of this process's counter, named or not, as in
    // CPython (_identity); pool workers are named after theirs ("ForkPoolWorker-N").
    const auto& current = currentProcess();
    const std::string n = std::to_string(nextProcessNumber() - current.counterBase);
    m_identity = current.identity.empty() ? n : current.identity + ":" + n;
    m_name = m_options.name.empty() ? "Process-" + m_identity : m_options.name;
}

Process::~Process()
{
    // Never signal or wait from a forked copy of the creator: these children are not its own.
    if (!m_backend || ::getpid() != m_creatorPid)
        return;
    try {
        if (!m_backend->poll()) {
            m_backend->sendSignal(SIGKILL);
            m_backend->wait(std::nullopt);
        }
    } catch (...) {
        // a destructor must not throw; the backend closes its sentinel regardless
    }
}

void Process::checkNotClosed() const
{
    if (m_closed)
        throw ProcessError("ValueError", "process object is closed");
}

void Process::checkCreator(const char* message) const
{
    if (::getpid() != m_creatorPid)
        throw ProcessError("AssertionError", message);
}

void Process::checkStartable() const
{
    checkNotClosed();
    if (m_backend)
        throw ProcessError("AssertionError", "cannot start a process twice");
    checkCreator("can only start a process object created by current process");
    if (currentProcess().daemon)
        throw ProcessError("AssertionError", "daemonic processes are not allowed to have children");
}

void Process::start()
{
    Process* self = this;
    startAll({&self, 1});
}

void Process::startAll(std::span<Process* const> processes)
{
    // A child (and a fork server) starts with the policy its starter had before it yielded
    // the CPU to the workers (a pool's result thread starting a replacement).
    const BatchScheduling::Suspend normalScheduling;
    constexpr std::size_t kBatch = 16; // forks back to back; their results on the stack
    std::size_t next = 0;
    while (next < processes.size()) {
        Process& first = *processes[next];
        first.checkStartable();
        if (first.m_options.method == StartMethod::Spawn) {
            first.m_backend = std::make_unique<SpawnBackend>(first.m_target, first.m_options,
                                                             first.m_name, first.m_identity);
            ++next;
            continue;
        }
        if (first.m_options.method == StartMethod::ForkServer) {
            first.m_backend = std::make_unique<ForkServerBackend>(first.m_target, first.m_options,
                                                                  first.m_name, first.m_identity);
            ++next;
            continue;
        }
        // A run of fork children: every backend made (and checked) before the first fork.
        std::array<std::unique_ptr<ForkBackend>, kBatch> backends;
        std::array<ForkBackend*, kBatch> raw{};
        // One that cannot be made ends the run: the ones before it still start, then its
        // error is thrown.
        std::size_t n = 0;
        std::exception_ptr unstartable;
        try {
            while (n < kBatch && next + n < processes.size()) {
                Process& p = *processes[next + n];
                if (p.m_options.method != StartMethod::Fork)
                    break;
                if (n > 0)
                    p.checkStartable();
                backends[n] =
                    std::make_unique<ForkBackend>(p.m_target, p.m_options, p.m_name, p.m_identity);
                raw[n] = backends[n].get();
                ++n;
            }
        } catch (...) {
            unstartable = std::current_exception();
        }
        std::array<pid_t, kBatch> pids{};
        if (n > 0)
            ForkBackend::forkAll(std::span(raw).first(n), pids);
        // Then the bookkeeping. A failed fork is the last one tried: the ones before it have
        // started, it throws, the ones after it are never started.
        for (std::size_t i = 0; i < n; ++i) {
            backends[i]->adopt(pids[i]); // throws for a failed fork
            processes[next + i]->m_backend = std::move(backends[i]);
        }
        if (unstartable)
            std::rethrow_exception(unstartable);
        next += n;
    }
}

void Process::join(std::optional<double> timeoutSeconds)
{
    checkNotClosed();
    checkCreator("can only join a child process");
    if (!m_backend)
        throw ProcessError("AssertionError", "can only join a started process");
    m_backend->wait(timeoutSeconds);
}

bool Process::isAlive()
{
    checkNotClosed();
    if (!m_backend)
        return false;
    checkCreator("can only test a child process");
    return !m_backend->poll();
}

void Process::terminate()
{
    checkNotClosed();
    if (!m_backend)
        throw ProcessError("AttributeError",
                           "'NoneType' object has no attribute 'terminate' (not started)");
    m_backend->sendSignal(SIGTERM);
}

void Process::kill()
{
    checkNotClosed();
    if (!m_backend)
        throw ProcessError("AttributeError",
                           "'NoneType' object has no attribute 'kill' (not started)");
    m_backend->sendSignal(SIGKILL);
}

void Process::close()
{
    if (m_backend) {
        if (!m_backend->poll()) {
            throw ProcessError("ValueError",
                               "Cannot close a process while it is still running. You should "
                               "first call join() or terminate().");
        }
        m_backend.reset();
    }
    m_closed = true;
}

std::optional<int> Process::pid() const
{
    checkNotClosed();
    if (!m_backend)
        return std::nullopt;
    return int(m_backend->pid());
}

std::optional<int> Process::exitcode()
{
    checkNotClosed();
    if (!m_backend)
        return std::nullopt;
    return m_backend->poll();
}

void Process::setDaemon(bool daemon)
{
    if (m_backend)
        throw ProcessError("AssertionError", "process has already started");
    m_options.daemon = daemon;
}

int Process::sentinel() const
{
    checkNotClosed();
    return m_backend ? m_backend->sentinel() : -1;
}

} // namespace poolscope
