#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

namespace poolscope {

// A pool worker's reports to the parent: one byte stream in shared memory (the pool's task queue
// mapping, TaskQueue::resultRing()), one writer (the worker) and one reader (the parent). A
// report costs no system call while the parent is awake: the parent reads the stream between
// its other work, and the worker rings a doorbell (a byte on its result pipe, which the parent
// polls) only when the parent has said that it sleeps. CPython's workers put each result on a
// pipe; this does the same with the pipe kept for the doorbell and for end of file (the worker
// has gone).
//
// A report larger than the free space is streamed: the writer publishes what fits and waits
// for room, so any size passes and the reader assembles the frame. Waits are bounded (100 ms)
// so that a writer notices a reader that has gone (alive callback). A writer that dies leaves
// what it published readable; a frame it had begun stays incomplete (the reader drops it).
class ResultRing
{
public:
    struct Header; // the positions and flags, in shared memory: kHeaderBytes
    static constexpr std::size_t kHeaderBytes = 128;
    static constexpr std::size_t kDefaultCapacity = std::size_t(1) << 18; // 256 KiB

    // Makes a new header (empty stream, reader awake) at `memory` (kHeaderBytes, 64-aligned).
    static void construct(void* memory);

    ResultRing() = default;
    // A view of the ring whose header is at `header` and whose bytes are data[0, capacity).
    ResultRing(void* header, std::uint8_t* data, std::size_t capacity);
    bool isValid() const { return m_header != nullptr; }
    std::size_t capacity() const { return m_capacity; }

    // --- the writer ---
    // Appends bytes, waiting for room when they do not fit. doorbell() is called when the
    // reader sleeps and has to be woken (once for each time it went to sleep); false from it
    // stops the write. Returns false when doorbell() failed or alive() said the reader had gone.
    bool write(std::span<const std::uint8_t> bytes, const std::function<bool()>& doorbell,
               const std::function<bool()>& alive);

    // --- the reader ---
    std::size_t available() const;
    // Takes up to max bytes into dst; returns how many. Wakes a writer waiting for room.
    std::size_t read(std::uint8_t* dst, std::size_t max);
    // Before the reader sleeps: arms the doorbell. Returns false (and disarms it) when bytes
    // are already there, so that the reader does not sleep.
    bool sleepUnlessData();
    // After the reader woke (or decided not to sleep): the writer need not ring.
    void awake();
    // Empties the stream for a new writer (none may be using it).
    void reset();

private:
    Header* m_header = nullptr;
    std::uint8_t* m_data = nullptr;
    std::size_t m_capacity = 0;
};

} // namespace poolscope
