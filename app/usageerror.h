#pragma once

#include <stdexcept>

namespace poolscope {

// A bad command line: the message names the argument ("--workers must be an integer >= 1,
// got '0'"). The command prints it on one line and exits with status 2.
class UsageError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

} // namespace poolscope
