// `netpol-ctrl generate`: manifests (or a live cluster) in, NetworkPolicies out.
#include <algorithm>
#include <ostream>
#include <set>

#include "cli/command.h"
#include "cli/output_dir.h"
#include "render/render.h"
#include "synth/synth.h"

namespace npc::cli {
namespace {

class GenerateCommand : public Command {
 public:
  CLI::App* Register(CLI::App& app) override {
    CLI::App* cmd = app.add_subcommand(
        "generate",
        "Read manifests (no cluster needed), or a live cluster (--from-cluster), and print one "
        "NetworkPolicy per workload");
    input_.Register(*cmd, /*required=*/false);
    cmd->add_flag("--from-cluster", from_cluster_,
                  "Read the live cluster instead of -f (one paged LIST per kind, nothing written; "
                  "the controller's read-only RBAC is enough)");
    cluster_.Register(*cmd);
    config_.Register(*cmd);
    cmd->add_option("-o,--output", output_, "Output format")
        ->check(CLI::IsMember({"yaml", "json"}))
        ->capture_default_str();
    cmd->add_option("--output-dir", output_dir_,
                    "Write one file per policy (<namespace>_<name>.yaml, or .json) and a "
                    "kustomization.yaml listing them into DIR instead of stdout; files change "
                    "only when their policy does, stale ones an earlier run wrote are removed")
        ->type_name("DIR");
    cmd->add_flag("-q,--quiet", quiet_,
                  "Do not print unresolved references and warnings on stderr");
    cmd->footer(
        "Policies go to stdout (YAML documents, or a JSON `kind: List`) or to --output-dir;\n"
        "diagnostics, unresolved references and warnings to stderr. Exits 1 when an input\n"
        "document is invalid (unless --skip-invalid) or the cluster cannot be read, 2 on bad\n"
        "flags. Output is canonical: the same input always gives the same bytes.\n"
        "\n"
        "Example:\n"
        "  netpol-ctrl generate -f examples/app --default-deny | kubectl apply -f -\n"
        "  helm template my-chart | netpol-ctrl generate -f - -o json\n"
        "  netpol-ctrl generate --from-cluster --namespace-selector team=shop --output-dir gitops/");
    return cmd;
  }

  int Run(Io& io) override {
    if (from_cluster_ == !input_.files.empty()) {
      io.err << "error: give either -f/--filename or --from-cluster\n";
      return kExitUsage;
    }
    int exit_code = kExitOk;
    std::optional<Offline> offline;
    if (from_cluster_) {
      StatusOr<SynthesisConfig> c = config_.ToConfig();
      if (!c.ok()) {
        io.err << "error: " << c.status().message() << "\n";
        return kExitUsage;
      }
      c->read_config_maps = cluster_.read_config_maps;
      std::optional<ClusterInput> in = ReadCluster(cluster_, *c, io);
      if (!in) return kExitInvalidInput;
      offline = Offline{*std::move(c), std::move(in->snapshot), {}};
      offline->result = synth::Synthesize(offline->snapshot, offline->config);
    } else {
      offline = LoadAndSynthesize(input_, config_, io, &exit_code);
      if (!offline) return exit_code;
    }
    const synth::Result& result = offline->result;

    std::vector<NetworkPolicy> policies;
    for (const synth::WorkloadPolicy& p : result.policies) policies.push_back(p.policy);
    for (const NetworkPolicy& p : result.default_deny) policies.push_back(p);
    std::stable_sort(policies.begin(), policies.end(),
                     [](const NetworkPolicy& a, const NetworkPolicy& b) {
                       return std::tie(a.ns, a.name) < std::tie(b.ns, b.name);
                     });
    if (!output_dir_.empty()) {
      StatusOr<OutputDirResult> r = WriteOutputDir(output_dir_, policies, output_);
      if (!r.ok()) {
        io.err << "error: " << r.status().message() << "\n";
        return kExitInvalidInput;
      }
      if (!quiet_) {
        io.err << output_dir_ << ": " << policies.size() << " polic"
               << (policies.size() == 1 ? "y" : "ies") << ", " << r->written.size()
               << " file(s) written, " << r->removed.size() << " removed\n";
      }
    } else {
      io.out << (output_ == "json" ? render::PoliciesToJsonList(policies)
                                   : render::PoliciesToYaml(policies));
    }

    if (!quiet_) {
      PrintNamespaceWarnings(offline->snapshot, offline->config, io);
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
  ClusterFlags cluster_;
  ConfigFlags config_;
  bool from_cluster_ = false;
  std::string output_ = "yaml";
  std::string output_dir_;
  bool quiet_ = false;
};

}  // namespace

std::unique_ptr<Command> NewGenerateCommand() {
  return std::make_unique<GenerateCommand>();
}

}  // namespace npc::cli
