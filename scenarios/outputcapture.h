#pragma once

#include "console.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace poolscope {

// Captures what child processes print. Give writeFd() to children as ProcessOptions::outputFd
// or PoolOptions::outputFd: their stdout and stderr become this pipe, and a reader thread turns
// what arrives into Child lines of the console, line by line, as it arrives.
class OutputCapture
{
public:
    explicit OutputCapture(Console& console);
    // finish() with the default grace period.
    ~OutputCapture();
    OutputCapture(const OutputCapture&) = delete;
    OutputCapture& operator=(const OutputCapture&) = delete;

    int writeFd() const { return m_writeFd; }

    // Closes the parent's write end and reads until every child's copy is closed (EOF), or
    // until the grace period ends (a child that outlives the scenario must not hang it: what it
    // prints later is dropped). A last line without a newline is kept. Idempotent.
    void finish(double graceSeconds = 2.0);

    // Returns once everything written to the pipe before this call has reached the console:
    // the parent calls it before printing a line of its own, so that a worker's print that
    // happened before the result the parent is about to print comes first, as in a terminal.
    // Gives up after a second (a child writing a partial line forever must not hang the parent).
    void sync();

private:
    void readLoop();
    void emitLines(std::string& pending, bool all);

    Console& m_console;
    int m_readFd = -1;
    int m_writeFd = -1;
    int m_stopFd = -1; // eventfd: ends the reader when the grace period is over
    std::atomic<double> m_graceSeconds{2.0};
    std::thread m_reader;
    std::mutex m_syncMutex;
    std::condition_variable m_synced;
    std::uint64_t m_syncSent = 0; // markers written (sync() callers, under m_syncMutex)
    std::uint64_t m_syncSeen = 0; // markers the reader has passed
    bool m_readerDone = false;
};

} // namespace poolscope
