// Stand-in used only while src/synth is not built: --help and --version work,
// no command does.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/cli.h"

namespace npc::cli {

int Run(int argc, const char* const* argv, std::istream& /*in*/, std::ostream& out,
        std::ostream& err) {
  CLI::App app{"netpol-ctrl keeps one least-privilege NetworkPolicy per Kubernetes workload."};
  app.set_version_flag("--version", "netpol-ctrl 0.1.0");
  app.require_subcommand(1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, out, err);
  }
  return 0;
}

int Main(int argc, char** argv) {
  return Run(argc, argv, std::cin, std::cout, std::cerr);
}

}  // namespace npc::cli
