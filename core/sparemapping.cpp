#include "sparemapping.h"

#include <new>
#include <sys/mman.h>
#include <unistd.h>

namespace poolscope {

void* SpareMapping::take(std::size_t bytes)
{
    Record* record = m_record.exchange(nullptr);
    if (!record)
        return nullptr;
    if (record->owner == ::getpid() && record->bytes == bytes) {
        void* memory = record->memory;
        delete record;
        return memory;
    }
    drop(record);
    return nullptr;
}

void SpareMapping::keep(void* memory, std::size_t bytes)
{
    auto* record = new (std::nothrow) Record{memory, bytes, ::getpid()};
    if (!record) {
        ::munmap(memory, bytes);
        return;
    }
    if (Record* old = m_record.exchange(record)) // two ended: one is kept
        drop(old);
}

void SpareMapping::drop(Record* record)
{
    if (record->owner == ::getpid())
        ::munmap(record->memory, record->bytes);
    delete record;
}

} // namespace poolscope
