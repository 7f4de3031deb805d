#pragma once

#include <optional>
#include <string_view>

namespace poolscope {

// The Pool method that `poolscope pool --api` calls.
enum class SandboxApi
{
    Map,
    Starmap,
    MapAsync,
    Imap,
    ImapUnordered,
    Apply,
    ApplyAsync
};

// Python's method name: "map", "starmap", "map_async", "imap", "imap_unordered", "apply",
// "apply_async".
std::string_view sandboxApiName(SandboxApi api);
std::optional<SandboxApi> parseSandboxApi(std::string_view name);
// map, starmap, map_async: one list, default chunksize ceil(n / (4 * workers)).
bool isMapFamily(SandboxApi api);
// imap, imap_unordered: results one by one, default chunksize 1.
bool isImapFamily(SandboxApi api);

} // namespace poolscope
