#include "speedupseries.h"

#include "eventlog.h"

#include <map>

namespace poolscope {

SpeedupSeries SpeedupSeries::fromLog(const EventLog& log, std::string_view jobText,
                                     std::int64_t items)
{
    struct Job
    {
        int workers = 0;
        std::int64_t submittedNs = 0;
        std::int64_t yieldedNs = 0;
    };
    std::vector<int> order; // job ids in submission order
    std::map<int, Job> jobs;
    int poolSize = 0;
    const std::size_t n = log.size();
    for (std::size_t i = 0; i < n; ++i) {
        const Event e = log.at(i);
        if (e.kind == EventKind::PoolCreated) {
            poolSize = int(e.a);
        } else if (e.kind == EventKind::JobSubmitted && e.text == jobText && e.a == items) {
            jobs[e.job] = Job{poolSize, e.tNs, 0};
            order.push_back(e.job);
        } else if (e.kind == EventKind::ResultYielded) {
            auto it = jobs.find(e.job);
            if (it != jobs.end() && it->second.yieldedNs == 0)
                it->second.yieldedNs = e.tNs;
        }
    }

    SpeedupSeries s;
    for (int id : order) {
        const Job& j = jobs[id];
        if (j.yieldedNs == 0)
            continue;
        Point p;
        p.workers = j.workers;
        p.seconds = double(j.yieldedNs - j.submittedNs) / 1e9;
        s.m_points.push_back(p);
    }
    for (auto& p : s.m_points) {
        const double base = s.m_points.front().seconds;
        p.speedup = p.seconds > 0 ? base / p.seconds : 0;
    }
    return s;
}

} // namespace poolscope
