#include "processcounter.h"

#include <atomic>

namespace poolscope {

int nextProcessNumber()
{
    static std::atomic<int> counter{0};
    return ++counter;
}

} // namespace poolscope
