#pragma once

#include "processbackend.h"

#include <span>
#include <string>
#include <vector>

namespace poolscope {

class ProcessTarget;
struct ProcessOptions;

// spawn: a fresh poolscope-worker program (posix_spawn) that inherits only the descriptors it is
// given, and reads its bootstrap (entry, arguments, name, parent pid) from a socket.
class SpawnBackend : public ProcessBackend
{
public:
    SpawnBackend(const ProcessTarget& target, const ProcessOptions& options,
                 const std::string& name, const std::string& identity);

protected:
    std::optional<int> collect(bool block) override { return collectChild(block); }
};

// The worker program: $POOLSCOPE_WORKER, else poolscope-worker next to /proc/self/exe. Throws
// ProcessError("OSError") naming the path when it is missing or not executable.
std::string workerProgramPath();

// Starts the worker program with fds[i] as descriptor 3 + i and nothing else besides 0, 1, 2,
// default signal dispositions and an empty signal mask. Throws ProcessError("OSError").
pid_t spawnWorkerProgram(const std::string& path, std::span<const int> fds,
                         const std::vector<std::string>& args);

} // namespace poolscope
