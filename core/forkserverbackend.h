#pragma once

#include "processbackend.h"

#include <string>

namespace poolscope {

class ProcessTarget;
struct ProcessOptions;

// forkserver: the child is forked by the fork server (see ForkServer), so it is not our child:
// the server reaps it and reports its exit code on the status socket, which is the sentinel.
// A server that vanished without reporting gives 255, as in CPython.
class ForkServerBackend : public ProcessBackend
{
public:
    ForkServerBackend(const ProcessTarget& target, const ProcessOptions& options,
                      const std::string& name, const std::string& identity);

protected:
    std::optional<int> collect(bool block) override;
};

} // namespace poolscope
