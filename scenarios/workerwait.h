#pragma once

#include <cstddef>

namespace poolscope {

class EventLog;

// A pool's constructor returns once its workers are started, not once they are ready. Waits
// until `workers` WorkerStarted events have been logged at or after index `from` (so that a
// measurement that follows does not pay the start-up), or until the timeout. Returns whether
// they all came up.
bool waitForWorkers(const EventLog& log, std::size_t from, int workers,
                    double timeoutSeconds = 10.0);

} // namespace poolscope
