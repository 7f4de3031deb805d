#include "bootstrap.h"

#include "childsetup.h"
#include "entrypoints.h"
#include "processerror.h"
#include "taskerror.h"
#include "taskregistry.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <unistd.h>

namespace poolscope {

namespace {

constexpr const char* kMagic = "poolscope-bootstrap/2";

} // namespace

Bootstrap Bootstrap::forTarget(const ProcessTarget& target, std::string_view method,
                               std::string processName, std::string identity, bool daemon,
                               int fdCount)
{
    Bootstrap b;
    switch (target.kind()) {
    case ProcessTarget::Kind::Callable:
        throw ProcessError("PicklingError",
                           "Can't pickle the target of " + processName +
                               ": a C++ callable can't be sent to a " + std::string(method) +
                               " child (a separate program gets only serialized data); "
                               "register it as a task and use ProcessTarget::task()");
    case ProcessTarget::Kind::Task:
        if (!TaskRegistry::builtins().find(target.name())) {
            throw ProcessError("PicklingError", "Can't pickle task '" + target.name() +
                                                    "': attribute lookup " + target.name() +
                                                    " on the task registry failed (only "
                                                    "registered tasks can be sent to a " +
                                                    std::string(method) + " child)");
        }
        b.entry = "task";
        b.payload = encodeTaskPayload(target.name(), target.args(), target.options());
        break;
    case ProcessTarget::Kind::Entry:
        if (!findEntry(target.name()))
            throw ProcessError("ValueError", "unknown entry point '" + target.name() + "'");
        b.entry = target.name();
        b.payload = target.payload();
        break;
    }
    b.processName = std::move(processName);
    b.identity = std::move(identity);
    b.parentPid = int(::getpid());
    b.daemon = daemon;
    b.fdCount = fdCount;
    return b;
}

Bytes Bootstrap::encodeHeader() const
{
    return encodeValue(Value(Value::List{kMagic, entry, processName, identity, parentPid, daemon,
                                         fdCount, sentinelFd, outputFd}));
}

Bootstrap Bootstrap::decode(std::span<const std::uint8_t> header, Bytes payload)
{
    const Value v = decodeValue(header);
    try {
        const auto& l = v.asList();
        if (l.size() != 9 || l[0] != Value(kMagic))
            throw WireError("not a PoolScope bootstrap header");
        Bootstrap b;
        b.entry = l[1].asStr();
        b.processName = l[2].asStr();
        b.identity = l[3].asStr();
        b.parentPid = int(l[4].asInt());
        b.daemon = l[5].asBool();
        b.fdCount = int(l[6].asInt());
        b.sentinelFd = int(l[7].asInt());
        b.outputFd = int(l[8].asInt());
        if (b.fdCount < 0 || b.fdCount > 250)
            throw WireError("bad descriptor count in bootstrap header");
        if (b.outputFd != -1 && b.outputFd < 3)
            throw WireError("bad output descriptor in bootstrap header");
        b.payload = std::move(payload);
        return b;
    } catch (const std::bad_variant_access&) {
        throw WireError("malformed bootstrap header: " + v.repr());
    }
}

int Bootstrap::run(std::span<const int> fds) const
{
    if (outputFd >= 0) {
        if (!redirectOutput(outputFd)) {
            std::fprintf(stderr,
                         "poolscope-worker: cannot redirect the output to descriptor %d: %s\n",
                         outputFd, std::strerror(errno));
            return 1;
        }
        ::close(outputFd); // 1 and 2 are the copies that stay
    }
    fds = fds.first(std::min(fds.size(), std::size_t(std::max(fdCount, 0))));
    becomeChildProcess(processName, identity, daemon, sentinelFd);
    setOsThreadName(processName);
    const EntryFunction fn = findEntry(entry);
    std::string where = "entry " + entry;
    if (entry == "task") {
        try {
            std::string name;
            Value::List args;
            TaskOptions options;
            decodeTaskPayload(payload, name, args, options);
            where = "task " + name;
        } catch (const WireError&) {
            // the entry itself reports the malformed payload
        }
    }
    return runBootstrapped(where, {}, [&] {
        if (!fn)
            throw TaskError("ValueError", "unknown entry point '" + entry + "'");
        return fn(payload, fds);
    });
}

Bytes encodeTaskPayload(const std::string& name, const Value::List& args,
                        const TaskOptions& options)
{
    return encodeValue(Value(Value::List{name, Value(args), options.toValue()}));
}

void decodeTaskPayload(std::span<const std::uint8_t> payload, std::string& name, Value::List& args,
                       TaskOptions& options)
{
    const Value v = decodeValue(payload);
    try {
        const auto& l = v.asList();
        if (l.size() != 3)
            throw WireError("malformed task payload: " + v.repr());
        name = l[0].asStr();
        args = l[1].asList();
        options = TaskOptions::fromValue(l[2]);
    } catch (const std::bad_variant_access&) {
        throw WireError("malformed task payload: " + v.repr());
    } catch (const std::out_of_range&) {
        throw WireError("malformed task payload: " + v.repr());
    }
}

} // namespace poolscope
