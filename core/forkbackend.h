#pragma once

#include "processbackend.h"

#include <string>

namespace poolscope {

class ProcessTarget;
struct ProcessOptions;

// fork: the child is a copy of the calling process and runs the target directly, nothing
// serialized. It never returns into the caller's code: it runs the target, flushes stdout and
// stderr and calls _exit() (no atexit handlers, no static destructors, no Qt state touched).
// A Callable or Task child keeps every descriptor it inherited (fork's lesson); an Entry child
// (a pool worker) keeps only 0, 1, 2 and its passFds, so it holds no other worker's pipe ends.
class ForkBackend : public ProcessBackend
{
public:
    ForkBackend(const ProcessTarget& target, const ProcessOptions& options, const std::string& name,
                const std::string& identity);

protected:
    std::optional<int> collect(bool block) override { return collectChild(block); }
};

} // namespace poolscope
