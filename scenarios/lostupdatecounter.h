#pragma once

#include <atomic>
#include <cstdint>

namespace poolscope {

// A counter whose increment is a read-modify-write in two separate steps, as CPython's
// `counter += 1` is (load the value, add one, store it back). Each step is an atomic access, so
// threads sharing the counter are well-defined C++ (no data race, no undefined behaviour); the
// whole increment is not atomic, so two threads can read the same value and one of the two
// updates is lost. The losses are real interleavings of real parallel threads.
class LostUpdateCounter
{
public:
    void increment()
    {
        const std::int64_t seen = m_value.load(std::memory_order_relaxed);
        m_value.store(seen + 1, std::memory_order_relaxed);
    }
    std::int64_t value() const { return m_value.load(std::memory_order_relaxed); }

private:
    std::atomic<std::int64_t> m_value{0};
};

} // namespace poolscope
