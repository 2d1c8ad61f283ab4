#include "cli/cli.h"

#include <CLI/CLI.hpp>

namespace npc::cli {

int Main(int argc, char** argv) {
  CLI::App app{"netpol-ctrl keeps one least-privilege NetworkPolicy per Kubernetes workload."};
  app.set_version_flag("--version", "netpol-ctrl 0.1.0");
  app.require_subcommand(1);
  CLI11_PARSE(app, argc, argv);
  return 0;
}

}  // namespace npc::cli
