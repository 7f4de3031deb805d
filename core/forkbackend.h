#pragma once

#include "entrypoints.h"
#include "processbackend.h"

#include <span>
#include <string>
#include <sys/types.h>

namespace poolscope {

class ProcessTarget;
struct ProcessOptions;

// fork: the child is a copy of the calling process and runs the target directly, nothing
// serialized. It never returns into the caller's code: it runs the target, flushes stdout and
// stderr and calls _exit() (no atexit handlers, no static destructors, no Qt state touched).
// A Callable or Task child keeps every descriptor it inherited (fork's lesson); an Entry child
// (a pool worker) keeps only 0, 1, 2 and its passFds, so it holds no other worker's pipe ends.
//
// Starting is two steps, so that several children can be forked back to back (forkAll): the
// constructor checks what the child is given and makes its sentinel pipe, forking nothing;
// forkAll() forks. Between and after the forks the parent writes nothing but its stack: every
// page of private memory is shared copy-on-write with each new child, and the parent's first
// write to one after a fork copies it (2.5 us here). Each backend then records its child
// (adopt). A backend that was never forked closes its pipe when it ends.
class ForkBackend : public ProcessBackend
{
public:
    // The arguments must outlive the backend's fork (a Process's own members do).
    ForkBackend(const ProcessTarget& target, const ProcessOptions& options, const std::string& name,
                const std::string& identity);
    ~ForkBackend() override;

    // Forks one child per backend, in order, with every signal blocked across the forks. pids
    // receives each child's pid, or -errno for a fork that failed; the forks stop at the first
    // failure (later entries are left as they are). Writes nothing in the parent but pids and
    // its own stack. Every backend given must then be adopted, up to the failure.
    static void forkAll(std::span<ForkBackend* const> backends, std::span<pid_t> pids);
    // Records what forkAll() gave this backend: its child (pid > 0), or a failure (-errno),
    // thrown as OSError. Closes the parent's copy of the sentinel pipe's write end.
    void adopt(pid_t forkResult);

protected:
    std::optional<int> collect(bool block) override { return collectChild(block); }

private:
    [[noreturn]] void runChild(pid_t parent, std::span<ForkBackend* const> batch) const;

    const ProcessTarget& m_target;
    const ProcessOptions& m_options;
    const std::string& m_name;
    const std::string& m_identity;
    EntryFunction m_entry = nullptr;
    int m_pipe[2] = {-1, -1}; // the sentinel pipe, until adopted
};

} // namespace poolscope
