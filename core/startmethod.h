#pragma once

#include <optional>
#include <string_view>

namespace poolscope {

enum class StartMethod
{
    Fork,
    Spawn,
    ForkServer
};

std::string_view startMethodName(StartMethod method); // "fork", "spawn", "forkserver"
std::optional<StartMethod> parseStartMethod(std::string_view name);
// The prefix of pool worker names: "ForkPoolWorker", "SpawnPoolWorker", "ForkServerPoolWorker".
std::string_view poolWorkerPrefix(StartMethod method);

} // namespace poolscope
