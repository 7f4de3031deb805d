#include "primetestingscenario.h"

#include "clock.h"
#include "pool.h"
#include "scenariorun.h"
#include "taskregistry.h"
#include "texttable.h"

#include <algorithm>
#include <string>
#include <thread>

namespace poolscope {

namespace {

constexpr const char* kJobText = "map is_prime"; // JobSubmitted's text for pool.map(is_prime)

Value::List seriesInput()
{
    Value::List numbers;
    numbers.reserve(std::size_t(PrimeTestingScenario::kSeriesCount));
    for (std::int64_t i = 0; i < PrimeTestingScenario::kSeriesCount; ++i)
        numbers.emplace_back(PrimeTestingScenario::kSeriesFirst + 2 * i);
    return numbers;
}

int cpuCount()
{
    const unsigned n = std::thread::hardware_concurrency();
    return n > 0 ? int(n) : 1;
}

} // namespace

std::vector<ParameterSpec> PrimeTestingScenario::parameters() const
{
    using N = ParameterSpec::Name;
    return {
        {N::Workers, 0, 1, 64,
         "pool size for the four numbers and the largest pool of the speedup series "
         "(default: one worker per CPU; the series goes up to at least 2)"},
        {N::StartMethod, 0, 0, 2, "how the workers start"},
    };
}

SpeedupSeries PrimeTestingScenario::speedupSeries(const EventLog& log)
{
    return SpeedupSeries::fromLog(log, kJobText, kSeriesCount);
}

void PrimeTestingScenario::run(ScenarioRun& run) const
{
    // --- the article's program: four numbers, one worker per CPU ---
    const Value::List numbers{10'000'019, 10'000'079, 10'000'091, 10'000'099};
    const int workers = run.workers();
    run.describeMainCall("is_prime", std::int64_t(numbers.size()), workers,
                         Pool::defaultChunksize(numbers.size(), workers));

    Value::List verdicts;
    double elapsed = 0;
    {
        Pool pool(run.poolOptions(workers));
        // As the article's perf_counter(): the pool is up, only the map is timed.
        const std::int64_t start = monotonicNs();
        verdicts = pool.map("is_prime", numbers);
        elapsed = double(monotonicNs() - start) / 1e9;
        pool.close();
        pool.join();
    }
    Value::List pairs;
    for (std::size_t i = 0; i < numbers.size() && i < verdicts.size(); ++i)
        pairs.push_back(Value::tuple({numbers[i], verdicts[i]}));
    run.print(Value(pairs).repr());
    run.print("Time elapsed: " + TextTable::fixed(elapsed, 2) + "s with " +
              std::to_string(workers) + " workers");

    Value::List expected;
    int primes = 0;
    for (const auto& n : numbers) {
        expected.emplace_back(isPrime(n.asInt()));
        primes += expected.back().asBool();
    }
    run.check(verdicts == expected,
              "the workers' verdicts equal is_prime run in the parent, in input order (" +
                  std::to_string(primes) + " of 4 prime)",
              "got " + Value(verdicts).repr() + ", expected " + Value(expected).repr());
    if (run.cancelled())
        return;

    // --- the speedup series: the same map on a larger input, pools of 1..N workers ---
    const int largest = run.params().workers ? *run.params().workers : std::max(2, cpuCount());
    const Value::List input = seriesInput();
    run.print("--- Speedup: is_prime over " + TextTable::grouped(kSeriesCount) +
              " odd numbers from " + TextTable::grouped(kSeriesFirst) + " ---");
    TextTable table({"workers", "seconds", "speedup"},
                    {TextTable::Align::Right, TextTable::Align::Right, TextTable::Align::Right});
    run.print(table.lines().front());

    std::vector<Value::List> runs;
    for (int w = 1; w <= largest && !run.cancelled(); ++w) {
        Pool pool(run.poolOptions(w));
        pool.waitForWorkers(); // time the work, not the start-up
        runs.push_back(pool.map("is_prime", input));
        pool.close();
        pool.join();
        // Timed from the events (submission to hand-over), as a plot of the log would time it.
        const auto series = speedupSeries(*run.log());
        if (series.points().empty())
            break;
        const auto& p = series.points().back();
        table.addRow({std::to_string(p.workers), TextTable::fixed(p.seconds, 3),
                      TextTable::fixed(p.speedup, 2) + "x"});
        run.print(table.line(runs.size() - 1));
    }
    if (run.cancelled())
        return;

    int seriesPrimes = 0;
    for (const auto& v : runs.front())
        seriesPrimes += v.isBool() && v.asBool();
    const bool same = std::all_of(runs.begin(), runs.end(), [&](const Value::List& r) {
        return r == runs.front() && r.size() == input.size();
    });
    run.check(int(runs.size()) == largest && same,
              "every pool of the series (1 to " + std::to_string(largest) +
                  " workers) returned the same " + TextTable::grouped(kSeriesCount) +
                  " verdicts (" + std::to_string(seriesPrimes) + " primes)",
              std::to_string(runs.size()) + " runs");

    const auto series = speedupSeries(*run.log());
    if (!series.points().empty()) {
        const auto& last = series.points().back();
        run.note(
            "speedup with " + std::to_string(last.workers) + " workers: " +
            TextTable::fixed(last.speedup, 2) + "x on " + std::to_string(cpuCount()) + " CPUs" +
            (last.workers > cpuCount() ? " (workers beyond the CPU count only take turns)" : ""));
    }
    run.note("the four numbers took " + TextTable::fixed(elapsed * 1e3, 1) +
             " ms: a few thousand divisions each, so messages and scheduling dominate");
}

} // namespace poolscope
