#include "workerslot.h"

#include <cerrno>
#include <cstring>
#include <new>
#include <stdexcept>
#include <sys/mman.h>
#include <unistd.h>

namespace poolscope {

namespace {
constexpr std::size_t kSlotBytes = 4096;

WorkerSlot* mapSlot(int fd)
{
    void* p = ::mmap(nullptr, kSlotBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        throw std::runtime_error(std::string("worker slot: mmap: ") + std::strerror(errno));
    return static_cast<WorkerSlot*>(p);
}
} // namespace

WorkerSlotMapping WorkerSlotMapping::create()
{
    const int fd = ::memfd_create("poolscope-slot", MFD_CLOEXEC);
    if (fd < 0)
        throw std::runtime_error(std::string("worker slot: memfd_create: ") + std::strerror(errno));
    if (::ftruncate(fd, kSlotBytes) != 0) {
        const int err = errno;
        ::close(fd);
        throw std::runtime_error(std::string("worker slot: ftruncate: ") + std::strerror(err));
    }
    WorkerSlotMapping m;
    m.m_fd = fd;
    m.m_slot = new (mapSlot(fd)) WorkerSlot(); // the page is zeroed; construct the atomics
    return m;
}

WorkerSlotMapping WorkerSlotMapping::attach(int fd)
{
    WorkerSlotMapping m;
    m.m_slot = mapSlot(fd); // constructed by the creator; shared pages need no second construct
    return m;
}

WorkerSlotMapping WorkerSlotMapping::inherited(WorkerSlot* slot)
{
    if (!slot)
        throw std::runtime_error("worker slot: no slot at the inherited address");
    WorkerSlotMapping m;
    m.m_slot = slot;
    m.m_ownsMapping = false;
    return m;
}

WorkerSlotMapping::WorkerSlotMapping(WorkerSlotMapping&& other) noexcept
    : m_slot(other.m_slot), m_fd(other.m_fd), m_ownsMapping(other.m_ownsMapping)
{
    other.m_slot = nullptr;
    other.m_fd = -1;
}

WorkerSlotMapping& WorkerSlotMapping::operator=(WorkerSlotMapping&& other) noexcept
{
    if (this != &other) {
        this->~WorkerSlotMapping();
        new (this) WorkerSlotMapping(std::move(other));
    }
    return *this;
}

WorkerSlotMapping::~WorkerSlotMapping()
{
    if (m_slot && m_ownsMapping)
        ::munmap(m_slot, kSlotBytes);
    closeFd();
}

void WorkerSlotMapping::closeFd()
{
    if (m_fd >= 0)
        ::close(m_fd);
    m_fd = -1;
}

} // namespace poolscope
