#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <utility>
#include <vector>

#include "cli/command.h"

namespace npc::cli {

namespace {

// Every sub-command, in the order `--help` lists them.
std::vector<std::unique_ptr<Command>> Commands() {
  std::vector<std::unique_ptr<Command>> commands;
  commands.push_back(NewRunCommand());
  commands.push_back(NewGenerateCommand());
  commands.push_back(NewExplainCommand());
  commands.push_back(NewGraphCommand());
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
      "  netpol-ctrl generate -f manifests/ > policies.yaml\n"
      "  netpol-ctrl explain -f manifests/ shop/deployment/api\n"
      "  netpol-ctrl graph -f manifests/ | dot -Tsvg > graph.svg\n"
      "Run `netpol-ctrl COMMAND --help` for a command's flags.");

  std::vector<std::unique_ptr<Command>> commands = Commands();
  std::vector<std::pair<CLI::App*, Command*>> registered;
  for (auto& c : commands) registered.emplace_back(c->Register(app), c.get());

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, out, err);
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
