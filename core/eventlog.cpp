#include "eventlog.h"

#include "segmentedarray.h"

#include <bit>
#include <limits>

namespace poolscope {

// One event, flat. `value` holds None/bool/int/float inline (a float as its bits); any other
// value is an index into the side array, as is `text` (index + 1; 0 for no text).
struct EventLog::Record
{
    std::int64_t tNs;
    std::int64_t task;
    std::int64_t a;
    std::int64_t b;
    double delay;
    std::int64_t value;
    std::int32_t job;
    std::int32_t chunk;
    std::int32_t worker;
    std::int32_t pid;
    std::int32_t ppid;
    std::uint32_t text;
    EventKind kind;
    bool ok;
    Value::Kind valueKind;
};
struct EventLog::Storage
{
    static_assert(std::is_trivially_copyable_v<Record>);
    SegmentedArray<Record> records;
    SegmentedArray<Value> side; // out-of-line values and texts
};

EventLog::EventLog() : m_storage(std::make_unique<Storage>())
{}

EventLog::~EventLog() = default;

void EventLog::appendLocked(const Event& e)
{
    Storage& s = *m_storage;
    Record r;
    r.tNs = e.tNs;
    r.task = e.task;
    r.a = e.a;
    r.b = e.b;
    r.delay = e.delay;
    r.job = e.job;
    r.chunk = e.chunk;
    r.worker = e.worker;
    r.pid = e.pid;
    r.ppid = e.ppid;
    r.kind = e.kind;
    r.ok = e.ok;
    r.valueKind = e.value.kind();
    switch (r.valueKind) {
    case Value::Kind::None:
        r.value = 0;
        break;
    case Value::Kind::Bool:
        r.value = e.value.asBool() ? 1 : 0;
        break;
    case Value::Kind::Int:
        r.value = e.value.asInt();
        break;
    case Value::Kind::Float:
        r.value = std::bit_cast<std::int64_t>(e.value.asFloat());
        break;
    default:
        r.value = std::int64_t(s.side.pending());
        s.side.emplace(e.value);
        break;
    }
    r.text = 0;
    if (!e.text.empty()) {
        if (s.side.pending() >= std::numeric_limits<std::uint32_t>::max())
            throw std::length_error("event log is full");
        r.text = std::uint32_t(s.side.pending() + 1);
        s.side.emplace(e.text);
    }
    s.records.emplace(r);
}

void EventLog::append(const Event& event)
{
    std::lock_guard lock(m_writeMutex);
    appendLocked(event);
    m_storage->side.publish(); // side entries first: a reader that sees the record sees them
    m_storage->records.publish();
}

void EventLog::append(std::span<const Event> events)
{
    std::lock_guard lock(m_writeMutex);
    for (const auto& e : events)
        appendLocked(e);
    m_storage->side.publish();
    m_storage->records.publish();
}

EventLog::Batch::Batch(EventLog& log) : m_log(log), m_lock(log.m_writeMutex)
{}

EventLog::Batch::~Batch()
{
    m_log.m_storage->side.publish();
    m_log.m_storage->records.publish();
}

std::size_t EventLog::size() const
{
    return m_storage->records.size();
}

Event EventLog::at(std::size_t index) const
{
    const Record& r = m_storage->records[index];
    Event e;
    e.tNs = r.tNs;
    e.kind = r.kind;
    e.ok = r.ok;
    e.job = r.job;
    e.chunk = r.chunk;
    e.worker = r.worker;
    e.pid = r.pid;
    e.ppid = r.ppid;
    e.task = r.task;
    e.a = r.a;
    e.b = r.b;
    e.delay = r.delay;
    switch (r.valueKind) {
    case Value::Kind::None:
        break;
    case Value::Kind::Bool:
        e.value = Value(r.value != 0);
        break;
    case Value::Kind::Int:
        e.value = Value(static_cast<long long>(r.value));
        break;
    case Value::Kind::Float:
        e.value = Value(std::bit_cast<double>(r.value));
        break;
    default:
        e.value = m_storage->side[std::size_t(r.value)];
        break;
    }
    if (r.text)
        e.text = m_storage->side[r.text - 1].asStr();
    return e;
}

std::int64_t EventLog::timeAt(std::size_t index) const
{
    return m_storage->records[index].tNs;
}

EventKind EventLog::kindAt(std::size_t index) const
{
    return m_storage->records[index].kind;
}

std::int64_t EventLog::startNs() const
{
    return size() ? timeAt(0) : 0;
}

} // namespace poolscope
