#include "runoptions.h"

#include "optionvalues.h"
#include "scenariocatalog.h"
#include "usageerror.h"

#include <algorithm>
#include <cmath>

namespace poolscope {

using namespace optionvalues;

namespace {

constexpr ParameterSpec::Name kNames[] = {
    ParameterSpec::Name::Workers, ParameterSpec::Name::Chunksize, ParameterSpec::Name::StartMethod,
    ParameterSpec::Name::Seed, ParameterSpec::Name::TimeScale};

const ParameterSpec* findSpec(const std::vector<ParameterSpec>& specs, ParameterSpec::Name name)
{
    for (const auto& s : specs) {
        if (s.name == name)
            return &s;
    }
    return nullptr;
}

std::string optionsOf(const std::vector<ParameterSpec>& specs)
{
    std::vector<std::string> names;
    for (const auto& s : specs)
        names.push_back("--" + ParameterSpec::optionName(s.name));
    names.push_back("--trace");
    names.push_back("--quiet");
    return joined(names);
}

void setParameter(RunOptions& o, const ParameterSpec& spec, const std::string& option,
                  const std::string& value)
{
    using N = ParameterSpec::Name;
    switch (spec.name) {
    case N::Workers:
        o.params.workers =
            int(integerAtLeast(option, value, std::int64_t(spec.min), std::int64_t(spec.max)));
        break;
    case N::Chunksize:
        o.params.chunksize =
            int(integerAtLeast(option, value, std::int64_t(spec.min), std::int64_t(spec.max)));
        break;
    case N::StartMethod: {
        const auto m = parseStartMethod(value);
        if (!m) {
            throw UsageError(option + " must be one of fork, spawn, forkserver; got " +
                             quoted(value));
        }
        o.params.startMethod = *m;
        break;
    }
    case N::Seed: {
        const auto v = toInteger<std::uint64_t>(value);
        if (!v)
            throw UsageError(option + " must be an integer >= 0, got " + quoted(value));
        o.params.seed = *v;
        break;
    }
    case N::TimeScale:
        o.params.timeScale = numberAtLeast(option, value, spec.min, true, spec.max);
        break;
    }
}

} // namespace

RunOptions RunOptions::parse(const std::vector<std::string>& args, const ScenarioCatalog& catalog)
{
    RunOptions o;
    if (std::any_of(args.begin(), args.end(), [](const std::string& a) { return isHelp(a); })) {
        o.help = true;
        return o;
    }
    std::vector<std::string> ids;
    for (const auto& s : catalog.all())
        ids.push_back(s->id());
    if (args.empty() || args.front().starts_with("-"))
        throw UsageError("missing scenario id (one of " + joined(ids) + ")");
    o.id = args.front();
    const Scenario* scenario = catalog.find(o.id);
    if (!scenario)
        throw UsageError("unknown scenario " + quoted(o.id) + " (one of " + joined(ids) + ")");
    const auto specs = scenario->parameters();

    auto parameterOf = [](std::string_view option) -> std::optional<ParameterSpec::Name> {
        for (auto n : kNames) {
            if (option == "--" + ParameterSpec::optionName(n))
                return n;
        }
        return std::nullopt;
    };
    const auto pairs = splitOptions(
        {args.begin() + 1, args.end()},
        [&](std::string_view name) {
            return name == "--trace" || name == "--quiet" || parameterOf(name).has_value();
        },
        [](std::string_view name) { return name == "--quiet"; });
    for (const auto& [name, value] : pairs) {
        if (name == "--quiet") {
            o.quiet = true;
        } else if (name == "--trace") {
            o.tracePath = value;
        } else {
            const ParameterSpec* spec = findSpec(specs, *parameterOf(name));
            if (!spec) {
                throw UsageError(name + " does not apply to scenario " + o.id + " (it takes " +
                                 optionsOf(specs) + ")");
            }
            setParameter(o, *spec, name, value);
        }
    }
    return o;
}

std::string RunOptions::usage(const ScenarioCatalog& catalog)
{
    std::string u = R"(Usage: poolscope run ID [options]

Runs one of the article's examples on the real pool, headless: prints what the Python program
prints as it happens, then one line per checked fact ("ok: ..." or "FAILED: ...") and notes on
what depends on timing. `poolscope list` lists the scenarios.

Options (each scenario takes the ones listed with it below):
  --workers N          pool size or number of processes
  --chunksize K        items per chunk for the map family
  --start-method M     fork, spawn or forkserver
  --seed S             seeds the random delays (the same seed gives the same delays)
  --time-scale F       multiplies every sleep (0.5: twice as fast; 0: no sleeping);
                       printed durations are the real, measured ones
  --trace FILE         write every event as Chrome Trace Event JSON (Perfetto opens it)
  --quiet              print only the facts and notes
  -h, --help           show this help

Exit status: 0 every fact held, 1 a fact did not hold (or the run failed), 2 bad arguments.

Scenarios and their options:
)";
    for (const auto& s : catalog.all()) {
        u += "  " + s->id() + "\n";
        for (const auto& spec : s->parameters()) {
            std::string line = "      --" + ParameterSpec::optionName(spec.name);
            line.resize(std::max<std::size_t>(line.size() + 1, 22), ' ');
            u += line + spec.help + "\n";
        }
    }
    return u;
}

} // namespace poolscope
