#include "forkserverbackend.h"

#include "bootstrap.h"
#include "childsetup.h"
#include "fdutil.h"
#include "forkserver.h"
#include "process.h"

#include <cstdint>
#include <sys/socket.h>
#include <vector>

namespace poolscope {

ForkServerBackend::ForkServerBackend(const ProcessTarget& target, const ProcessOptions& options,
                                     const std::string& name, const std::string& identity)
{
    checkOutputFd(options.outputFd);
    const int nfds = int(options.passFds.size());
    Bootstrap boot =
        Bootstrap::forTarget(target, "forkserver", name, identity, options.daemon, nfds);
    // The output descriptor travels after the passed ones: the child finds it at 3 + nfds.
    std::vector<int> fds = options.passFds;
    if (options.outputFd >= 0) {
        fds.push_back(options.outputFd);
        boot.outputFd = 3 + nfds;
    }
    const ForkServer::Child child = ForkServer::launch(boot.encodeHeader(), boot.payload, fds);
    m_pid = child.pid;
    m_sentinel = child.statusFd;
}

std::optional<int> ForkServerBackend::collect(bool block)
{
    if (m_returncode || m_sentinel < 0)
        return m_returncode;
    if (!block && !waitReadable(m_sentinel, 0.0))
        return std::nullopt;
    std::uint8_t b[4];
    if (recvAll(m_sentinel, b, 4))
        m_returncode =
            std::int32_t(b[0] | (b[1] << 8) | (b[2] << 16) | (std::uint32_t(b[3]) << 24));
    else
        m_returncode = 255;
    // The status is consumed; keep the sentinel readable for good (a Unix socket shut down
    // for reading polls as readable), whether or not the server has closed its end yet.
    ::shutdown(m_sentinel, SHUT_RD);
    return m_returncode;
}

} // namespace poolscope
