#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace poolscope {

// Internal entry points that a spawned or fork-server child can be asked to run by name:
// "task" (a registered task as a Process target) and "pool-worker" (runPoolWorker).
using EntryFunction = int (*)(std::span<const std::uint8_t> payload, std::span<const int> fds);
EntryFunction findEntry(std::string_view name); // nullptr when unknown

// main() of the poolscope-worker program (spawn children and the fork server).
int workerProgramMain(int argc, char** argv);

} // namespace poolscope
