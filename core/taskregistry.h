#pragma once

#include "taskcontext.h"
#include "value.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace poolscope {

// A task receives its positional arguments (map passes one, starmap unpacks a tuple) and
// returns a value, or throws TaskError to raise a Python-style exception.
using TaskFunction = Value (*)(const Value::List& args, TaskContext& ctx);
// The same task for one int argument and an int result, for tasks that are nothing more (square,
// cube, boom). It must behave exactly as the TaskFunction does with that argument, and compute
// only: it never sleeps (ctx.delaySeconds stays -1).
using IntFunction = std::int64_t (*)(std::int64_t x, TaskContext& ctx);
// An IntFunction over a run of tasks, for a worker given a chunk of ints: no Value made of an
// input or a result, no call through a pointer per task. Task first + i computes out[i] from
// in[i], its index stored first in `current` (the worker's slot, so that a worker that dies
// mid-task names it) and in ctx.index. A task's error propagates, both left at its index.
using IntKernel = void (*)(const std::int64_t* in, std::int64_t* out, std::size_t n,
                           std::int64_t first, TaskContext& ctx,
                           std::atomic<std::int64_t>& current);

template <IntFunction F>
void runIntTasks(const std::int64_t* in, std::int64_t* out, std::size_t n, std::int64_t first,
                 TaskContext& ctx, std::atomic<std::int64_t>& current)
{
    for (std::size_t i = 0; i < n; ++i) {
        const std::int64_t index = first + std::int64_t(i);
        current.store(index, std::memory_order_relaxed);
        ctx.index = index;
        out[i] = F(in[i], ctx);
    }
}

// Tasks by name. Only named tasks can travel to a spawned or fork-server process: the name is
// what gets serialized, like a pickled function reference in Python.
class TaskRegistry
{
public:
    // square, cube, is_prime, slow_square, sleep, boom, add, exit_with, raise_error, and the
    // article's work (callbacks), greet (start methods) and lifecycle_work (Process). Tasks
    // that print (slow_square, greet, lifecycle_work) write each line to stdout with one
    // write(2), ignoring errors. inherited_state (start methods) prints what a child inherited.
    static const TaskRegistry& builtins();

    void add(std::string name, TaskFunction fn, IntKernel kernel = nullptr);
    TaskFunction find(std::string_view name) const;    // nullptr when unknown
    IntKernel findKernel(std::string_view name) const; // nullptr when unknown or none
    std::vector<std::string> names() const;

private:
    struct Entry
    {
        TaskFunction fn = nullptr;
        IntKernel kernel = nullptr;
    };
    std::map<std::string, Entry, std::less<>> m_tasks;
};

// Naive trial division, as in the article.
bool isPrime(std::int64_t n);

// The start-methods lesson's module state, like a Python module's globals: 0 and unlocked in
// every freshly started program. A fork child gets both as its parent left them (a lock that
// another parent thread held stays held: that thread does not exist in the child); a spawned
// or fork-server child does not. The task inherited_state reports what a child got.
std::atomic<std::int64_t>& lessonGlobal();
std::mutex& lessonLock();

} // namespace poolscope
