#pragma once

namespace poolscope {

// The N of "Process-N" and "ForkPoolWorker-N": one counter per parent process, shared by plain
// processes and pool workers, as CPython's process._process_counter is.
int nextProcessNumber();

} // namespace poolscope
