#pragma once

#include "defaultinitallocator.h"

#include <cstdint>
#include <vector>

namespace poolscope {

// The wire's buffers: bytes, and the ints of packed lists. Grown without zeroing: what a
// buffer grows by is always written right after.
using Bytes = std::vector<std::uint8_t, DefaultInitAllocator<std::uint8_t>>;
using IntList = std::vector<std::int64_t, DefaultInitAllocator<std::int64_t>>;

} // namespace poolscope
