#include "startmethod.h"

namespace poolscope {

std::string_view startMethodName(StartMethod method)
{
    switch (method) {
    case StartMethod::Fork:
        return "fork";
    case StartMethod::Spawn:
        return "spawn";
    case StartMethod::ForkServer:
        return "forkserver";
    }
    return "fork";
}

std::optional<StartMethod> parseStartMethod(std::string_view name)
{
    if (name == "fork")
        return StartMethod::Fork;
    if (name == "spawn")
        return StartMethod::Spawn;
    if (name == "forkserver")
        return StartMethod::ForkServer;
    return std::nullopt;
}

std::string_view poolWorkerPrefix(StartMethod method)
{
    switch (method) {
    case StartMethod::Fork:
        return "ForkPoolWorker";
    case StartMethod::Spawn:
        return "SpawnPoolWorker";
    case StartMethod::ForkServer:
        return "ForkServerPoolWorker";
    }
    return "ForkPoolWorker";
}

} // namespace poolscope
