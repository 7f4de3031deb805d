#include "inheritedworker.h"

#include <cstring>
#include <utility>

namespace poolscope {

namespace {

// Enough for a Ready report and a stop message, or a short chunk and its report: larger ones
// grow the buffers as usual, once the worker has work.
constexpr std::size_t kReservedBytes = 512;

} // namespace

InheritedWorker::InheritedWorker(PoolWorkerConfig c) : config(std::move(c))
{
    frame.reserve(kReservedBytes);
    input.reserve(kReservedBytes);
}

Bytes InheritedWorker::payload() const
{
    Bytes out(sizeof kMagic + sizeof(std::uintptr_t));
    const auto address = reinterpret_cast<std::uintptr_t>(this);
    std::memcpy(out.data(), &kMagic, sizeof kMagic);
    std::memcpy(out.data() + sizeof kMagic, &address, sizeof address);
    return out;
}

InheritedWorker* InheritedWorker::fromPayload(std::span<const std::uint8_t> payload)
{
    std::uint64_t magic = 0;
    std::uintptr_t address = 0;
    if (payload.size() != sizeof magic + sizeof address)
        return nullptr;
    std::memcpy(&magic, payload.data(), sizeof magic);
    std::memcpy(&address, payload.data() + sizeof magic, sizeof address);
    auto* worker = reinterpret_cast<InheritedWorker*>(address);
    if (magic != kMagic || !worker || worker->magic != kMagic)
        return nullptr;
    return worker;
}

} // namespace poolscope
