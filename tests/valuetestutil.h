#pragma once

#include "value.h"

#include <cstdint>

namespace poolscope::test {

// The ints first, first + step, ... (n of them), steps wrapping as two's complement: the
// arithmetic runs that a map over a range hands its workers.
inline Value::List intRun(std::int64_t first, std::int64_t step, int n)
{
    Value::List l;
    for (int i = 0; i < n; ++i)
        l.emplace_back(
            static_cast<long long>(std::uint64_t(first) + std::uint64_t(i) * std::uint64_t(step)));
    return l;
}

} // namespace poolscope::test
