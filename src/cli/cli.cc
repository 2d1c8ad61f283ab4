#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <memory>
#include <utility>
#include <vector>

#include "cli/command.h"
#include "cli/config_file.h"

namespace npc::cli {

namespace {

// Every sub-command, in the order `--help` lists them.
std::vector<std::unique_ptr<Command>> Commands() {
  std::vector<std::unique_ptr<Command>> commands;
  commands.push_back(NewRunCommand());
  commands.push_back(NewAgentCommand());
  commands.push_back(NewGenerateCommand());
  commands.push_back(NewDiffCommand());
  commands.push_back(NewExplainCommand());
  commands.push_back(NewGraphCommand());
  commands.push_back(NewReportCommand());
  return commands;
}

}  // namespace

int Run(int argc, const char* const* argv, std::istream& in, std::ostream& out, std::ostream& err) {
  CLI::App app{"netpol-ctrl keeps one least-privilege NetworkPolicy per Kubernetes workload.",
               "netpol-ctrl"};
  app.set_version_flag("--version", "netpol-ctrl 0.1.0");
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  netpol-ctrl run --kubeconfig ~/.kube/config\n"
      "  netpol-ctrl agent --kubeconfig ~/.kube/config --node-name node-a\n"
      "  netpol-ctrl generate -f manifests/ > policies.yaml\n"
      "  netpol-ctrl diff --kubeconfig ~/.kube/config      # what run would change\n"
      "  netpol-ctrl explain -f manifests/ shop/deployment/api\n"
      "  netpol-ctrl graph -f manifests/ | dot -Tsvg > graph.svg\n"
      "Run `netpol-ctrl COMMAND --help` for a command's flags.");

  std::vector<std::unique_ptr<Command>> commands = Commands();
  std::vector<std::pair<CLI::App*, Command*>> registered;
  for (auto& c : commands) registered.emplace_back(c->Register(app), c.get());

  // Sub-commands with --config: the file's flags go in before parsing.
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    CLI::App* sub = nullptr;
    for (auto& [s, c] : registered) {
      if (s->get_name() == args[i]) sub = s;
    }
    if (!sub) continue;
    if (sub->get_option_no_throw("--config")) {
      // diff reads run's file: run's other keys (mode, workers, ...) are not errors there.
      const CLI::App* run = nullptr;
      for (auto& [s, c] : registered) {
        if (s->get_name() == "run" && sub->get_name() == "diff") run = s;
      }
      if (Status s = ExpandConfigFile(*sub, i, args, run); !s.ok()) {
        err << "error: " << s.message() << "\n";
        return kExitUsage;
      }
    }
    break;
  }
  std::reverse(args.begin(), args.end());  // CLI11 takes them last first
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every flag error is a usage error (2),
    // whatever CLI11's own code for it.
    return app.exit(e, out, err) == 0 ? kExitOk : kExitUsage;
  }
  Io io{in, out, err};
  for (auto& [sub, command] : registered) {
    if (sub->parsed()) return command->Run(io);
  }
  return kExitUsage;  // unreachable: require_subcommand(1)
}

int Main(int argc, char** argv) {
  return Run(argc, argv, std::cin, std::cout, std::cerr);
}

}  // namespace npc::cli
