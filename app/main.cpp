// poolscope: the command-line entry. A thin dispatcher: each subcommand lives in its own
// class (poolscope_cli) so that the GUI can reuse it.
#include "runoptions.h"
#include "sandboxcommand.h"
#include "sandboxoptions.h"
#include "scenariocatalog.h"
#include "scenariocommand.h"
#include "usageerror.h"

#include <csignal>
#include <iostream>
#include <string>
#include <vector>

namespace {

constexpr const char* kUsage = R"(Usage: poolscope <command> [options]

PoolScope makes Python's multiprocessing visible: a real process pool (real worker
processes started by fork, spawn or forkserver, real pipes) with CPython's observable
behaviour, every step recorded as a timestamped event.

Commands:
  list          list the article's examples (scenarios): id and title.
  run ID        run one scenario headless: print what its Python program prints, then
                one line per checked fact ("ok: parent counter stayed 0").
                See `poolscope run --help`.
  pool          run one Pool call (map, starmap, map_async, imap, imap_unordered, apply,
                apply_async) on a real pool and print what the equivalent Python program
                prints; optionally write a trace of every event.
                See `poolscope pool --help`.

Options:
  -h, --help    show this help
  --version     print the version

Exit status: 0 success (run: every fact held), 1 the call raised or timed out (run: a
fact did not hold), 2 bad arguments.
)";

} // namespace

int main(int argc, char** argv)
{
    using namespace poolscope;
    // A closed stdout (`poolscope pool ... | head -1`) must become a write error that ends the
    // call cleanly (pool terminated, workers reaped), not a SIGPIPE death.
    std::signal(SIGPIPE, SIG_IGN);

    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) {
        std::cerr << "poolscope: missing command (try `poolscope --help`)\n";
        return 2;
    }
    const std::string& command = args.front();
    if (command == "--help" || command == "-h" || command == "help") {
        std::cout << kUsage;
        return 0;
    }
    if (command == "--version") {
        std::cout << "poolscope " << POOLSCOPE_VERSION << '\n';
        return 0;
    }
    if (command == "pool") {
        SandboxOptions options;
        try {
            options = SandboxOptions::parse({args.begin() + 1, args.end()});
        } catch (const UsageError& e) {
            std::cerr << "poolscope pool: " << e.what() << '\n';
            return 2;
        }
        if (options.help) {
            std::cout << SandboxOptions::usage();
            return 0;
        }
        return SandboxCommand(std::move(options), std::cout, std::cerr).run();
    }
    if (command == "list" || command == "run") {
        const ScenarioCatalog catalog = ScenarioCatalog::article();
        ScenarioCommand scenarios(catalog, std::cout, std::cerr);
        if (command == "list") {
            if (args.size() > 1) {
                std::cerr << "poolscope list: unexpected argument '" << args[1] << "'\n";
                return 2;
            }
            return scenarios.list();
        }
        RunOptions options;
        try {
            options = RunOptions::parse({args.begin() + 1, args.end()}, catalog);
        } catch (const UsageError& e) {
            std::cerr << "poolscope run: " << e.what() << '\n';
            return 2;
        }
        if (options.help) {
            std::cout << RunOptions::usage(catalog);
            return 0;
        }
        return scenarios.run(options);
    }
    std::cerr << "poolscope: unknown " << (command.starts_with("-") ? "option" : "command") << " '"
              << command << "' (commands: list, run, pool; see `poolscope --help`)\n";
    return 2;
}
