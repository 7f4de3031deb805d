#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace poolscope {

// Internal entry points that a spawned or fork-server child can be asked to run by name:
// "task" (a registered task as a Process target), "pool-worker" (runPoolWorker) and "probe"
// (writes the child's view of itself, pid, parent, descriptors, signals, to fds[0]: tests and
// start-method lessons).
using EntryFunction = int (*)(std::span<const std::uint8_t> payload, std::span<const int> fds);
EntryFunction findEntry(std::string_view name); // nullptr when unknown

// main() of the poolscope-worker program (spawn children and the fork server).
int workerProgramMain(int argc, char** argv);

} // namespace poolscope
