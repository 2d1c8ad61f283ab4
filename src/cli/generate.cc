// `netpol-ctrl generate`: manifests in, NetworkPolicies out.
#include <algorithm>
#include <ostream>
#include <set>

#include "cli/command.h"
#include "render/render.h"
#include "synth/synth.h"

namespace npc::cli {
namespace {

class GenerateCommand : public Command {
 public:
  CLI::App* Register(CLI::App& app) override {
    CLI::App* cmd = app.add_subcommand(
        "generate", "Read manifests (no cluster needed) and print one NetworkPolicy per workload");
    input_.Register(*cmd);
    config_.Register(*cmd);
    cmd->add_option("-o,--output", output_, "Output format")
        ->check(CLI::IsMember({"yaml", "json"}))
        ->capture_default_str();
    cmd->add_flag("-q,--quiet", quiet_,
                  "Do not print unresolved references and warnings on stderr");
    cmd->footer(
        "Policies go to stdout (YAML documents, or a JSON `kind: List`); diagnostics,\n"
        "unresolved references and warnings to stderr. Exits 1 when an input document\n"
        "is invalid (unless --skip-invalid). Output is canonical: the same input always\n"
        "gives the same bytes.\n"
        "\n"
        "Example:\n"
        "  netpol-ctrl generate -f examples/app --default-deny | kubectl apply -f -\n"
        "  helm template my-chart | netpol-ctrl generate -f - -o json");
    return cmd;
  }

  int Run(Io& io) override {
    int exit_code = kExitOk;
    std::optional<Offline> offline = LoadAndSynthesize(input_, config_, io, &exit_code);
    if (!offline) return exit_code;
    const synth::Result& result = offline->result;

    std::vector<NetworkPolicy> policies;
    for (const synth::WorkloadPolicy& p : result.policies) policies.push_back(p.policy);
    for (const NetworkPolicy& p : result.default_deny) policies.push_back(p);
    std::stable_sort(policies.begin(), policies.end(),
                     [](const NetworkPolicy& a, const NetworkPolicy& b) {
                       return std::tie(a.ns, a.name) < std::tie(b.ns, b.name);
                     });
    io.out << (output_ == "json" ? render::PoliciesToJsonList(policies)
                                 : render::PoliciesToYaml(policies));

    if (!quiet_) {
      // One line per name, however many values repeat it (explain shows each).
      std::set<std::string> lines;
      for (const synth::Unresolved& u : result.unresolved) {
        const std::string line = "unresolved: " + u.client.ToString() + ": " + u.host +
                                 (u.port.empty() ? "" : ":" + u.port) + ": " + u.why + "\n";
        if (lines.insert(line).second) io.err << line;
      }
      for (const synth::Warning& w : result.warnings) {
        io.err << "warning: " << w.workload.ToString() << ": " << w.message << "\n";
      }
    }
    return kExitOk;
  }

 private:
  InputFlags input_;
  ConfigFlags config_;
  std::string output_ = "yaml";
  bool quiet_ = false;
};

}  // namespace

std::unique_ptr<Command> NewGenerateCommand() {
  return std::make_unique<GenerateCommand>();
}

}  // namespace npc::cli
