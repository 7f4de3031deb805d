#pragma once

namespace poolscope {

// Thrown by a process target to end its process with an exit code, like Python's sys.exit(n).
struct SystemExit
{
    int code = 0;
};

} // namespace poolscope
