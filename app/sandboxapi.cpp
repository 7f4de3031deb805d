#include "sandboxapi.h"

#include <array>
#include <utility>

namespace poolscope {

namespace {
constexpr std::array<std::pair<SandboxApi, std::string_view>, 7> kNames{{
    {SandboxApi::Map, "map"},
    {SandboxApi::Starmap, "starmap"},
    {SandboxApi::MapAsync, "map_async"},
    {SandboxApi::Imap, "imap"},
    {SandboxApi::ImapUnordered, "imap_unordered"},
    {SandboxApi::Apply, "apply"},
    {SandboxApi::ApplyAsync, "apply_async"},
}};
} // namespace

std::string_view sandboxApiName(SandboxApi api)
{
    for (const auto& [value, name] : kNames) {
        if (value == api)
            return name;
    }
    return "map";
}

std::optional<SandboxApi> parseSandboxApi(std::string_view name)
{
    for (const auto& [value, n] : kNames) {
        if (n == name)
            return value;
    }
    return std::nullopt;
}

bool isMapFamily(SandboxApi api)
{
    return api == SandboxApi::Map || api == SandboxApi::Starmap || api == SandboxApi::MapAsync;
}

bool isImapFamily(SandboxApi api)
{
    return api == SandboxApi::Imap || api == SandboxApi::ImapUnordered;
}

} // namespace poolscope
