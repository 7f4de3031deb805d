#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace poolscope {

class EventLog;

// How long the same job took on pools of different sizes: the data behind a speedup plot.
// Built from a run's event log, so that whoever has the log (the scenario, the window's plot,
// a trace reader) gets the same numbers: a job is timed from its JobSubmitted event to the
// hand-over of its results (its first ResultYielded), and its pool size is the processes of the
// PoolCreated event before it (pools of a series run one after another).
class SpeedupSeries
{
public:
    struct Point
    {
        int workers = 0;
        double seconds = 0;
        double speedup = 0; // the first point's seconds / this point's seconds
    };

    // Every job of the log whose JobSubmitted text is `jobText` ("map is_prime") and that took
    // `items` inputs, in submission order; jobs not finished yet are left out.
    static SpeedupSeries fromLog(const EventLog& log, std::string_view jobText, std::int64_t items);

    const std::vector<Point>& points() const { return m_points; }

private:
    std::vector<Point> m_points;
};

} // namespace poolscope
