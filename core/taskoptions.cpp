#include "taskoptions.h"

namespace poolscope {

namespace {
std::uint64_t splitmix64(std::uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}
} // namespace

double TaskOptions::delayFor(std::int64_t index) const
{
    const std::uint64_t h = splitmix64(seed * 0x100000001B3ull + std::uint64_t(index));
    const double unit = double(h >> 11) * 0x1.0p-53; // [0, 1)
    return delayMin + unit * (delayMax - delayMin);
}

Value TaskOptions::toValue() const
{
    return Value(Value::List{Value(failAt), Value(crashAt), Value(static_cast<long long>(seed)),
                             Value(delayMin), Value(delayMax), Value(timeScale)});
}

TaskOptions TaskOptions::fromValue(const Value& v)
{
    const auto& l = v.asList();
    TaskOptions o;
    o.failAt = l.at(0).asInt();
    o.crashAt = l.at(1).asInt();
    o.seed = static_cast<std::uint64_t>(l.at(2).asInt());
    o.delayMin = l.at(3).asFloat();
    o.delayMax = l.at(4).asFloat();
    o.timeScale = l.at(5).asFloat();
    return o;
}

} // namespace poolscope
