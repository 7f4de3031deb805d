#pragma once

#include <cstdint>
#include <span>

namespace poolscope {

// The pool worker's main loop: the "pool-worker" entry of the worker program. Runs in the
// child; returns its exit code. fds: [task queue (receive end), result pipe (write end),
// status slot memfd].
int runPoolWorker(std::span<const std::uint8_t> payload, std::span<const int> fds);

} // namespace poolscope
