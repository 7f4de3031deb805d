#pragma once

#include <cstddef>
#include <cstdint>
#include <sys/types.h>

namespace poolscope {

// A page-aligned block of memory that only this process uses: a private anonymous mapping
// that fork children do not inherit (MADV_DONTFORK). Memory a process writes after a fork is
// copied page by page while a child shares it (a copy-on-write fault each, about 2.5 us on this
// project's VM), and fork() copies the page table entries of all of it; a buffer that only
// the parent reads into (a pool's read buffer, 64 pages) need not be either. The process keeps
// its last block for the next one of the same size (SpareMapping): a fork child never takes
// its parent's, which it does not have. Not zeroed beyond what the kernel gives a new mapping.
class ParentOnlyBlock
{
public:
    // This process's kept block of `bytes` bytes, or a new mapping (std::bad_alloc if none).
    explicit ParentOnlyBlock(std::size_t bytes);
    // Kept for the next block of its size, in the process that made it (a forked copy of this
    // object, whose memory is not mapped in the child, leaves it alone).
    ~ParentOnlyBlock();
    ParentOnlyBlock(const ParentOnlyBlock&) = delete;
    ParentOnlyBlock& operator=(const ParentOnlyBlock&) = delete;

    std::uint8_t* data() const { return m_data; }
    std::size_t size() const { return m_bytes; }

private:
    std::uint8_t* m_data = nullptr;
    std::size_t m_bytes = 0;
    pid_t m_owner = 0;
};

} // namespace poolscope
