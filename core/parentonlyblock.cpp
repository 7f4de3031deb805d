#include "parentonlyblock.h"

#include "sparemapping.h"

#include <new>
#include <sys/mman.h>
#include <unistd.h>

namespace poolscope {

namespace {

SpareMapping g_spare;

} // namespace

ParentOnlyBlock::ParentOnlyBlock(std::size_t bytes) : m_bytes(bytes), m_owner(::getpid())
{
    void* memory = g_spare.take(bytes);
    if (!memory) {
        memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (memory == MAP_FAILED)
            throw std::bad_alloc();
        if (::madvise(memory, bytes, MADV_DONTFORK) != 0) {
            ::munmap(memory, bytes);
            throw std::bad_alloc();
        }
    }
    m_data = static_cast<std::uint8_t*>(memory);
}

ParentOnlyBlock::~ParentOnlyBlock()
{
    if (::getpid() == m_owner)
        g_spare.keep(m_data, m_bytes);
}

} // namespace poolscope
