#pragma once

#include "poolworker.h"
#include "wire.h"

#include <cstdint>
#include <span>

namespace poolscope {

// A fork worker's start, prepared by the parent before the fork and inherited with its memory:
// the "pool-worker" payload then carries this object's address instead of the encoded
// configuration, and the worker decodes nothing and allocates nothing before its first chunk.
// In a fork child the first allocation faults in malloc's code and each heap page it writes
// (ARCHITECTURE.md, "A fork child maps afresh each page of code it runs"). Fork only: a
// spawned or fork-server child does not share the parent's memory.
struct InheritedWorker
{
    static constexpr std::uint64_t kMagic = 0x4b57484e49535031; // "1PSINHWK", little-endian

    explicit InheritedWorker(PoolWorkerConfig c);

    // The payload naming this object; fromPayload() finds it again in the child.
    Bytes payload() const;
    // The object a payload names, or nullptr when the payload is an encoded configuration.
    static InheritedWorker* fromPayload(std::span<const std::uint8_t> payload);

    std::uint64_t magic = kMagic;
    PoolWorkerConfig config;
    Bytes frame; // the worker's reports are encoded here; room reserved for the first ones
    Bytes input; // the queue's messages are read into it; room reserved for the first ones
};

} // namespace poolscope
