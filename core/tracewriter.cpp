#include "tracewriter.h"

#include "traceargs.h"

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>
#include <unordered_set>

namespace poolscope {

namespace {

using Json = TraceArgs::OutJson;

std::string dump(const Json& j)
{
    // Error texts may hold bytes that are not UTF-8: replace them rather than fail the write.
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Only a TaskStarted whose other fields hold their defaults can share an "X" with its
// TaskFinished (whose ok, delay_s, ... would otherwise collide with them).
bool isPlainStart(const Event& e)
{
    return e.ok && e.ppid == 0 && e.a == 0 && e.b == 0 && e.delay == -1 && e.text.empty();
}

Json metadataEvent(const char* name, std::int32_t pid, const char* key, Json value)
{
    Json ev = Json::object();
    ev["name"] = name;
    ev["ph"] = "M";
    ev["pid"] = pid;
    ev["tid"] = pid;
    ev["args"] = Json::object();
    ev["args"][key] = std::move(value);
    return ev;
}

} // namespace

std::string TraceWriter::toJson(const EventLog& log, const TraceMetadata& meta)
{
    return TraceWriter(log, meta).build();
}

TraceWriter::TraceWriter(const EventLog& log, const TraceMetadata& meta)
    : m_log(log), m_meta(meta), m_count(log.size())
{}

std::string TraceWriter::build()
{
    if (m_count) {
        m_originNs = m_endNs = m_log.timeAt(0);
        for (std::size_t i = 1; i < m_count; ++i) {
            m_originNs = std::min(m_originNs, m_log.timeAt(i));
            m_endNs = std::max(m_endNs, m_log.timeAt(i));
        }
    }
    collectNames();
    pairTasks();

    std::vector<Entry> entries;
    entries.reserve(m_count);
    for (std::size_t i = 0; i < m_count; ++i) {
        const Event& e = m_log.at(i);
        if (e.kind == EventKind::TaskStarted) {
            if (m_partner[i] == kUnfinished)
                entries.push_back(unfinishedTaskSlice(i));
            else if (m_partner[i] == kUnpaired)
                entries.push_back(instant(i, true));
            else
                entries.push_back(taskSlice(i, m_partner[i]));
        } else if (e.kind == EventKind::TaskFinished) {
            if (m_partner[i] == kUnpaired)
                entries.push_back(instant(i, true));
        } else {
            entries.push_back(instant(i, false));
        }
    }
    // Entries are in log order, so a stable sort keeps it among equal timestamps.
    std::stable_sort(entries.begin(), entries.end(),
                     [](const Entry& x, const Entry& y) { return x.tNs < y.tNs; });

    std::string out = "{\"traceEvents\":[\n";
    out += metadataEvents();
    for (const Entry& entry : entries) {
        out += ",\n";
        out += entry.json;
    }
    out += "\n],\n\"displayTimeUnit\":\"ms\",\n\"otherData\":";
    out += otherData();
    out += "\n}\n";
    return out;
}

void TraceWriter::collectNames()
{
    std::unordered_set<std::int32_t> pids;
    auto addPid = [&](std::int32_t pid, std::int32_t worker) {
        if (pid != m_meta.mainPid && pids.insert(pid).second)
            m_workerPids.emplace_back(pid, worker);
    };
    for (std::size_t i = 0; i < m_count; ++i) {
        const Event& e = m_log.at(i);
        if (e.kind == EventKind::WorkerStarted) {
            m_workerNames.try_emplace(e.worker, e.text);
            addPid(e.pid, e.worker);
        } else if (e.kind == EventKind::WorkerLost) {
            m_lost[e.worker].push_back(i);
        } else if (e.kind == EventKind::WorkerExited) {
            m_exited[e.worker].push_back(i);
        }
    }
    // Lanes for tasks of workers whose start is not in the log.
    for (std::size_t i = 0; i < m_count; ++i) {
        const Event& e = m_log.at(i);
        if (e.kind == EventKind::TaskStarted || e.kind == EventKind::TaskFinished)
            addPid(e.pid, e.worker);
    }
}

void TraceWriter::pairTasks()
{
    m_partner.assign(m_count, kUnpaired);
    // (job, task, worker) of each TaskStarted still waiting for its TaskFinished.
    std::map<std::tuple<std::int32_t, std::int64_t, std::int32_t>, std::size_t> pending;
    for (std::size_t i = 0; i < m_count; ++i) {
        const Event& e = m_log.at(i);
        if (e.kind == EventKind::TaskStarted) {
            m_partner[i] = kUnfinished;
            pending[{e.job, e.task, e.worker}] = i; // an earlier duplicate stays unfinished
        } else if (e.kind == EventKind::TaskFinished) {
            const auto it = pending.find({e.job, e.task, e.worker});
            if (it == pending.end())
                continue;
            const std::size_t s = it->second;
            const Event& start = m_log.at(s);
            pending.erase(it);
            if (isPlainStart(start) && start.chunk == e.chunk && start.pid == e.pid &&
                start.tNs <= e.tNs) {
                m_partner[s] = i;
                m_partner[i] = s;
            } else {
                m_partner[s] = kUnpaired; // both become instants, nothing is lost
            }
        }
    }
}

std::string TraceWriter::workerName(std::int32_t worker) const
{
    const auto it = m_workerNames.find(worker);
    if (it != m_workerNames.end())
        return it->second;
    return worker >= 0 ? "Worker-" + std::to_string(worker) : std::string();
}

std::string TraceWriter::metadataEvents() const
{
    const std::int32_t mainPid = m_meta.mainPid;
    std::string out = dump(metadataEvent("process_name", mainPid, "name", "MainProcess"));
    out += ",\n" + dump(metadataEvent("thread_name", mainPid, "name", "MainThread"));
    out += ",\n" + dump(metadataEvent("process_sort_index", mainPid, "sort_index", 0));
    for (const auto& [pid, worker] : m_workerPids) {
        const std::string name = workerName(worker);
        out += ",\n" + dump(metadataEvent("process_name", pid, "name", name));
        out += ",\n" + dump(metadataEvent("thread_name", pid, "name", name));
        out += ",\n" + dump(metadataEvent("process_sort_index", pid, "sort_index", worker));
    }
    return out;
}

std::string TraceWriter::otherData() const
{
    Json d = Json::object();
    d["tool"] = m_meta.tool;
    d["version"] = m_meta.version;
    d["api"] = m_meta.api;
    d["func"] = m_meta.func;
    d["items"] = m_meta.items;
    d["workers"] = m_meta.workers;
    d["chunksize"] = m_meta.chunksize;
    d["start_method"] = m_meta.startMethod;
    d["seed"] = m_meta.seed;
    d["time_scale"] = m_meta.timeScale;
    d["main_pid"] = m_meta.mainPid;
    return dump(d);
}

TraceWriter::Entry TraceWriter::taskSlice(std::size_t start, std::size_t finish) const
{
    const Event& s = m_log.at(start);
    const Event& f = m_log.at(finish);
    Json ev = Json::object();
    ev["name"] = m_meta.func.empty() ? "task" : m_meta.func;
    ev["cat"] = "task";
    ev["ph"] = "X";
    ev["ts"] = micros(s.tNs);
    ev["dur"] = double(f.tNs - s.tNs) / 1000.0;
    ev["pid"] = s.pid;
    ev["tid"] = s.pid;
    Json args = Json::object();
    const std::string name = workerName(s.worker);
    TraceArgs::write(args, s, name, TraceArgs::required(EventKind::TaskStarted));
    TraceArgs::write(args, f, name);
    args["seq"] = start;
    args["end_seq"] = finish;
    ev["args"] = std::move(args);
    return {s.tNs, dump(ev)};
}

TraceWriter::Entry TraceWriter::unfinishedTaskSlice(std::size_t start) const
{
    const Event& s = m_log.at(start);
    // Ends where its worker was lost, else where it exited, else at the end of the trace.
    auto firstAfter = [&](const auto& byWorker) -> std::optional<Event> {
        const auto it = byWorker.find(s.worker);
        if (it == byWorker.end())
            return std::nullopt;
        for (std::size_t i : it->second) {
            if (i > start && m_log.timeAt(i) >= s.tNs)
                return m_log.at(i);
        }
        return std::nullopt;
    };
    std::int64_t endNs = m_endNs;
    std::string error = "the task had not finished when the trace ended";
    if (const auto lost = firstAfter(m_lost)) {
        endNs = lost->tNs;
        error = lost->text;
    } else if (const auto exited = firstAfter(m_exited)) {
        endNs = exited->tNs;
        error = "the worker exited (exitcode " + std::to_string(exited->a) +
                ") before the task finished";
    }
    Json ev = Json::object();
    ev["name"] = m_meta.func.empty() ? "task" : m_meta.func;
    ev["cat"] = "task";
    ev["ph"] = "X";
    ev["ts"] = micros(s.tNs);
    ev["dur"] = double(std::max(endNs, s.tNs) - s.tNs) / 1000.0;
    ev["pid"] = s.pid;
    ev["tid"] = s.pid;
    Json args = Json::object();
    TraceArgs::write(args, s, workerName(s.worker));
    args["unfinished"] = true;
    args["error"] = error;
    args["seq"] = start;
    ev["args"] = std::move(args);
    return {s.tNs, dump(ev)};
}

TraceWriter::Entry TraceWriter::instant(std::size_t index, bool inWorkerLane) const
{
    const Event& e = m_log.at(index);
    const std::int32_t pid = inWorkerLane ? e.pid : m_meta.mainPid;
    Json ev = Json::object();
    ev["name"] = eventKindName(e.kind);
    ev["cat"] = TraceArgs::category(e.kind);
    ev["ph"] = "i";
    ev["s"] = "t";
    ev["ts"] = micros(e.tNs);
    ev["pid"] = pid;
    ev["tid"] = pid;
    Json args = Json::object();
    TraceArgs::write(args, e, workerName(e.worker));
    if (e.kind == EventKind::WorkerStarted)
        args["start_method"] = m_meta.startMethod;
    args["seq"] = index;
    ev["args"] = std::move(args);
    return {e.tNs, dump(ev)};
}

} // namespace poolscope
