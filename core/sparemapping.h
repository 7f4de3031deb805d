#pragma once

#include <atomic>
#include <cstddef>
#include <sys/types.h>

namespace poolscope {

// One mapping that a process keeps for its next user of the same size, instead of unmapping it
// and mapping a new one: an mmap, the page faults of its first use, and a munmap with the TLB
// shootdown it sends to the other CPUs, each time (tens of microseconds on this project's VM).
// A fork child made while a mapping is kept inherits the record of it, but the memory is its
// parent's (shared, or not mapped in the child at all under MADV_DONTFORK): the record carries
// its owner's pid, and a process only ever takes or unmaps its own. Lock-free; any thread.
class SpareMapping
{
public:
    SpareMapping() = default;
    SpareMapping(const SpareMapping&) = delete;
    SpareMapping& operator=(const SpareMapping&) = delete;

    // The kept mapping if this process kept one of `bytes` bytes (nobody else gets it then);
    // null otherwise. One of this process's of another size is unmapped.
    void* take(std::size_t bytes);
    // Keeps `memory` (a mapping of `bytes` bytes) for the next take(); the one kept before, if
    // this process's, is unmapped.
    void keep(void* memory, std::size_t bytes);

private:
    struct Record
    {
        void* memory = nullptr;
        std::size_t bytes = 0;
        pid_t owner = 0;
    };
    // Unmaps the record's memory if this process owns it, and frees the record (the record is
    // ordinary private memory: each process has its own copy).
    static void drop(Record* record);

    std::atomic<Record*> m_record{nullptr};
};

} // namespace poolscope
