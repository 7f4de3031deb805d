#include "workerwait.h"

#include "clock.h"
#include "eventlog.h"

#include <chrono>
#include <thread>

namespace poolscope {

bool waitForWorkers(const EventLog& log, std::size_t from, int workers, double timeoutSeconds)
{
    const std::int64_t deadline = monotonicNs() + std::int64_t(timeoutSeconds * 1e9);
    std::size_t seen = from;
    int ready = 0;
    for (;;) {
        for (const std::size_t n = log.size(); seen < n; ++seen)
            ready += log.kindAt(seen) == EventKind::WorkerStarted;
        if (ready >= workers)
            return true;
        if (monotonicNs() >= deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

} // namespace poolscope
