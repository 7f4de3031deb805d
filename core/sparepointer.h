#pragma once

#include <atomic>

namespace poolscope {

// One heap block that a process keeps for its next user instead of freeing it, so that the
// next user neither allocates nor faults its pages in afresh (a log's segment directory, a
// pool's read buffer). Private memory: a fork child's copy of the pointer is its own copy of
// the block. Lock-free; any thread. Free releases a block nobody takes.
template <typename T, void (*Free)(T*)> class SparePointer
{
public:
    SparePointer() = default;
    SparePointer(const SparePointer&) = delete;
    SparePointer& operator=(const SparePointer&) = delete;

    // The kept block, or null; nobody else gets it.
    T* take() { return m_kept.exchange(nullptr); }
    // Keeps block for the next take(); the one kept before is freed (two ended: one is kept).
    void keep(T* block)
    {
        if (T* old = m_kept.exchange(block))
            Free(old);
    }

private:
    std::atomic<T*> m_kept{nullptr};
};

} // namespace poolscope
