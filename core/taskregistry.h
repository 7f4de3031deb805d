#pragma once

#include "taskcontext.h"
#include "value.h"

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace poolscope {

// A task receives its positional arguments (map passes one, starmap unpacks a tuple) and
// returns a value, or throws TaskError to raise a Python-style exception.
using TaskFunction = Value (*)(const Value::List& args, TaskContext& ctx);

// Tasks by name. Only named tasks can travel to a spawned or fork-server process: the name is
// what gets serialized, like a pickled function reference in Python.
class TaskRegistry
{
public:
    // square, cube, is_prime, slow_square, sleep, boom, add, exit_with, raise_error.
    static const TaskRegistry& builtins();

    void add(std::string name, TaskFunction fn);
    TaskFunction find(std::string_view name) const; // nullptr when unknown
    std::vector<std::string> names() const;

private:
    std::map<std::string, TaskFunction, std::less<>> m_tasks;
};

// Naive trial division, as in the article.
bool isPrime(std::int64_t n);

} // namespace poolscope
