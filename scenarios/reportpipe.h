#pragma once

#include "fdutil.h"

#include <optional>
#include <string>

namespace poolscope {

// A pipe a child reports back through, the scenarios' multiprocessing.Pipe: the parent keeps
// the read end; a fork child inherits writeFd(), any child can get it as its stdout
// (ProcessOptions::outputFd). Both ends are O_CLOEXEC. Reads never hang: each has a deadline.
class ReportPipe
{
public:
    ReportPipe(); // std::runtime_error when no pipe can be created
    int writeFd() const { return m_write.get(); }
    // The parent's copy of the write end, closed once the children have it: the read end then
    // sees EOF when the last child is gone.
    void closeWriteEnd() { m_write.reset(); }
    // The next line without its newline; nullopt on EOF or when none arrived in time (a last
    // line without a newline counts once EOF has come).
    std::optional<std::string> readLine(double timeoutSeconds);

private:
    UniqueFd m_read;
    UniqueFd m_write;
    std::string m_buffer;
    bool m_eof = false;
};

} // namespace poolscope
