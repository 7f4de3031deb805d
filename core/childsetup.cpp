#include "childsetup.h"

#include "processcounter.h"
#include "processerror.h"
#include "systemexit.h"
#include "taskcontext.h"
#include "taskerror.h"
#include "taskregistry.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cxxabi.h>
#include <dirent.h>
#include <exception>
#include <fcntl.h>
#include <memory>
#include <string>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <typeinfo>
#include <unistd.h>

namespace poolscope {

namespace {

std::string demangledTypeName(const std::exception& e)
{
    int status = 0;
    const char* mangled = typeid(e).name();
    std::unique_ptr<char, void (*)(void*)> name(
        abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
    return status == 0 && name ? std::string(name.get()) : std::string(mangled);
}

void printTraceback(std::string_view where, const std::string& type, const std::string& message)
{
    // One fprintf so that concurrent children do not interleave their lines.
    const std::string text = "Process " + currentProcess().name +
                             ":\nTraceback (most recent call last):\n"
                             "  File \"poolscope/process\", in _bootstrap\n"
                             "    self.run()\n"
                             "  File \"<" +
                             std::string(where) + ">\", in run\n" + type +
                             (message.empty() ? "" : ": " + message) + "\n";
    std::fputs(text.c_str(), stderr);
    std::fflush(stderr);
}

// A signal's disposition set to SIG_DFL or SIG_IGN. On x86-64, straight to the kernel through
// syscall() (see resetSignals()), with the kernel's struct sigaction: a 64-bit mask, and a
// restorer that only a handler needs. Elsewhere (another layout), through libc.
void setDisposition(int sig, void (*disposition)(int))
{
#if defined(__x86_64__)
    struct KernelSigaction
    {
        void (*handler)(int) = nullptr;
        unsigned long flags = 0;
        void (*restorer)() = nullptr;
        std::uint64_t mask = 0;
    } sa;
    sa.handler = disposition;
    ::syscall(SYS_rt_sigaction, sig, &sa, nullptr, sizeof sa.mask);
#else
    struct sigaction sa
    {};
    sa.sa_handler = disposition;
    sigemptyset(&sa.sa_mask);
    ::sigaction(sig, &sa, nullptr);
#endif
}

int closeRange(unsigned first, unsigned last)
{
#ifdef SYS_close_range
    return int(::syscall(SYS_close_range, first, last, 0u));
#else
    errno = ENOSYS;
    return -1;
#endif
}

} // namespace

constexpr std::size_t kChildNameRoom = 63;

CurrentProcess& currentProcess()
{
    // Room for any child's name and identity ("ForkPoolWorker-12", "3:1:2"), made once, here:
    // a fork child's becomeChildProcess() then copies into these buffers, inherited with the
    // parent's memory, instead of allocating (a fork child's first allocation faults in
    // malloc's code and heap pages: ARCHITECTURE.md). Longer ones allocate, as before.
    static CurrentProcess current = [] {
        CurrentProcess c;
        c.name.reserve(kChildNameRoom);
        c.identity.reserve(kChildNameRoom);
        return c;
    }();
    return current;
}

void becomeChildProcess(std::string_view name, std::string_view identity, bool daemon,
                        int ownSentinelFd)
{
    auto& cp = currentProcess();
    cp.name.assign(name); // into the room currentProcess() made
    cp.identity.assign(identity);
    cp.daemon = daemon;
    cp.ownSentinelFd = ownSentinelFd;
    cp.counterBase = nextProcessNumber();
}

void resetSignals()
{
    // Straight to the kernel, through syscall(): a fork child faults in every page of code it
    // runs for the first time (fork copies no page tables of code), and sigemptyset(),
    // sigaction(), sigprocmask() and prctl() each live on a page of libc of their own, about
    // 3 us each with the unmapping at exit. Signals 32 and 33 are glibc's own (thread
    // cancellation, setxid): glibc installs their handlers once per process and refuses to
    // change them, so they are left alone.
    constexpr int kGlibcCancel = 32; // SIGCANCEL
    constexpr int kGlibcSetxid = 33; // SIGSETXID
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sig != SIGKILL && sig != SIGSTOP && sig != kGlibcCancel && sig != kGlibcSetxid)
            setDisposition(sig, SIG_DFL);
    }
#if defined(__x86_64__)
    const std::uint64_t none = 0;
    ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, nullptr, sizeof none);
#else
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
#endif
}

void ignoreSignal(int sig)
{
    setDisposition(sig, SIG_IGN);
}

void dieWithParent(pid_t expectedParent)
{
    ::syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (::getppid() != expectedParent)
        ::raise(SIGKILL); // the parent is already gone: do what PDEATHSIG would have done
}

void closeFdsExcept(std::span<int> keep)
{
    std::sort(keep.begin(), keep.end());
    keep = keep.first(std::size_t(std::unique(keep.begin(), keep.end()) - keep.begin()));
    unsigned next = 0;
    bool ok = true;
    for (int fd : keep) {
        if (fd < 0)
            continue;
        if (unsigned(fd) > next && closeRange(next, unsigned(fd) - 1) != 0)
            ok = false;
        next = unsigned(fd) + 1;
    }
    if (ok && closeRange(next, ~0u) == 0)
        return;

    // No close_range: list /proc/self/fd first, then close, so that closing does not disturb
    // the directory scan.
    std::vector<int> open;
    if (DIR* dir = ::opendir("/proc/self/fd")) {
        const int self = ::dirfd(dir);
        while (dirent* e = ::readdir(dir)) {
            const int fd = std::atoi(e->d_name);
            if (e->d_name[0] != '.' && fd != self)
                open.push_back(fd);
        }
        ::closedir(dir);
    } else {
        for (int fd = 0; fd < 4096; ++fd)
            open.push_back(fd);
    }
    for (int fd : open) {
        if (!std::binary_search(keep.begin(), keep.end(), fd))
            ::close(fd);
    }
}

void moveFds(std::vector<int>& fds, int base)
{
    // First lift every descriptor above all targets, then lay them down in order: no
    // descriptor is overwritten before it has been copied.
    const int high = base + int(fds.size());
    for (int& fd : fds) {
        const int lifted = ::fcntl(fd, F_DUPFD_CLOEXEC, high);
        if (lifted < 0)
            std::_Exit(70);
        ::close(fd);
        fd = lifted;
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
        const int target = base + int(i);
        if (::dup2(fds[i], target) < 0) // dup2 clears FD_CLOEXEC on the target
            std::_Exit(70);
        ::close(fds[i]);
        fds[i] = target;
    }
}

void setCloexecFrom(int lowest)
{
#if defined(SYS_close_range) && defined(CLOSE_RANGE_CLOEXEC)
    if (::syscall(SYS_close_range, unsigned(lowest), ~0u, CLOSE_RANGE_CLOEXEC) == 0)
        return;
#endif
    if (DIR* dir = ::opendir("/proc/self/fd")) {
        while (dirent* e = ::readdir(dir)) {
            const int fd = std::atoi(e->d_name);
            if (e->d_name[0] != '.' && fd >= lowest) {
                const int flags = ::fcntl(fd, F_GETFD);
                if (flags >= 0)
                    ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
            }
        }
        ::closedir(dir);
    }
}

void setOsThreadName(std::string_view name)
{
    char buf[16] = {};
    name.copy(buf, 15);
    ::syscall(SYS_prctl, PR_SET_NAME, buf, 0, 0, 0); // not prctl(): see resetSignals()
}

void flushStdStreams()
{
    // The buffer's fill is read from the FILE itself (glibc's public fields, as __fpending()
    // reads them): __fpending() is a page of libc code of its own that a fork child would fault
    // in just before it exits. A wide-oriented stream (_mode > 0) keeps its bytes elsewhere: it
    // is always flushed.
    for (FILE* stream : {stdout, stderr}) {
        if (stream->_mode > 0 || stream->_IO_write_ptr > stream->_IO_write_base)
            std::fflush(stream);
    }
}

void checkOutputFd(int fd)
{
    if (fd < 0)
        return;
    const int flags = ::fcntl(fd, F_GETFL);
    const std::string what = "cannot send the child's output to descriptor " + std::to_string(fd);
    if (flags < 0)
        throw ProcessError("OSError", what + ": " + std::strerror(errno));
    if ((flags & O_ACCMODE) == O_RDONLY)
        throw ProcessError("OSError", what + ": it is open for reading only");
}

bool redirectOutput(int fd)
{
    for (int target : {1, 2}) {
        if (fd == target) {
            // dup2 onto itself would keep an FD_CLOEXEC: clear it, as dup2 does for the other.
            const int flags = ::fcntl(fd, F_GETFD);
            if (flags < 0 || ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0)
                return false;
        } else if (::dup2(fd, target) < 0) {
            return false;
        }
    }
    return true;
}

int bootstrapFailed(std::string_view kind, std::string_view name)
{
    const std::string where =
        name.empty() ? std::string(kind) : std::string(kind) + " " + std::string(name);
    try {
        throw;
    } catch (const SystemExit& e) {
        return e.code;
    } catch (const TaskError& e) {
        printTraceback(where, e.type(), e.message());
    } catch (const std::exception& e) {
        printTraceback(where, demangledTypeName(e), e.what());
    } catch (...) {
        printTraceback(where, "Exception", "unknown C++ exception");
    }
    return 1;
}

int runTaskTarget(const std::string& name, const Value::List& args, const TaskOptions& options)
{
    const TaskFunction fn = TaskRegistry::builtins().find(name);
    if (!fn)
        throw TaskError("AttributeError",
                        "Can't get attribute '" + name + "' on the task registry");
    if (options.crashAt == 0)
        ::raise(SIGKILL);
    TaskContext ctx;
    ctx.index = 0;
    ctx.options = options;
    fn(args, ctx);
    return 0;
}

} // namespace poolscope
