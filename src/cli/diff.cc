// `netpol-ctrl diff`: what `run` would change in the live cluster, as a
// unified diff per policy (kubectl diff's shape and exit codes).
#include <dtl/dtl.hpp>

#include <algorithm>
#include <map>
#include <ostream>
#include <set>
#include <sstream>
#include <tuple>

#include "cli/command.h"
#include "controller/summary.h"
#include "render/render.h"
#include "synth/synth.h"

namespace npc::cli {
namespace {

constexpr int kExitDifferent = 1;
constexpr int kExitError = 2;  // kubectl diff: >1 is an error

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

// One file's unified diff, as `diff -u -N` prints it.
void UnifiedDiff(const std::string& path, const std::string& live, const std::string& merged,
                 std::ostream& out) {
  out << "diff -u -N LIVE/" << path << " MERGED/" << path << "\n";
  out << "--- LIVE/" << path << "\n+++ MERGED/" << path << "\n";
  const std::vector<std::string> a = Lines(live);
  const std::vector<std::string> b = Lines(merged);
  if (a.empty() || b.empty()) {  // created or deleted: one hunk
    out << "@@ -" << (a.empty() ? 0 : 1) << "," << a.size() << " +" << (b.empty() ? 0 : 1) << ","
        << b.size() << " @@\n";
    for (const std::string& l : a) out << "-" << l << "\n";
    for (const std::string& l : b) out << "+" << l << "\n";
    return;
  }
  dtl::Diff<std::string> d(a, b);
  d.onHuge();
  d.compose();
  d.composeUnifiedHunks();
  d.printUnifiedFormat(out);
}

class DiffCommand : public Command {
 public:
  CLI::App* Register(CLI::App& app) override {
    CLI::App* cmd = app.add_subcommand(
        "diff",
        "Read the live cluster and show, as a unified diff, what `run` would change in the "
        "policies it manages (nothing is written)");
    cluster_.Register(*cmd);
    config_.Register(*cmd);
    // Read by ExpandConfigFile before parsing; declared here for --help.
    cmd->add_option("--config", config_file_,
                    "run's config file (flag-name: value); its keys that do not change synthesis "
                    "(mode, workers, ...) are ignored; flags on the command line win");
    cmd->footer(
        "Reads the cluster with your kubeconfig: one paged LIST per kind, no watch, no write\n"
        "(the controller's read-only RBAC is enough). Computes every policy with the same core\n"
        "and flags as `run` (--namespace-selector and the netpol-ctrl.io/mode=off label\n"
        "included) and compares it with the managed policies that exist: new, changed and\n"
        "deleted ones, each as LIVE/<file> -> MERGED/<file>. Policies in --exclude-namespaces\n"
        "are never touched. Namespaces in audit are shown as `run` would enforce them.\n"
        "Exit status: 0 no differences, 1 differences, 2 an error (bad flags, the cluster could\n"
        "not be read, a 403 names the missing permission).\n"
        "\n"
        "Examples:\n"
        "  netpol-ctrl diff\n"
        "  netpol-ctrl diff --namespace-selector team=shop --api-server-cidrs 172.16.0.0/28\n"
        "  netpol-ctrl diff --context prod | less");
    return cmd;
  }

  int Run(Io& io) override {
    StatusOr<SynthesisConfig> c = config_.ToConfig();
    if (!c.ok()) {
      io.err << "error: " << c.status().message() << "\n";
      return kExitUsage;
    }
    c->read_config_maps = cluster_.read_config_maps;
    std::optional<ClusterInput> in = ReadCluster(cluster_, *c, io);
    if (!in) return kExitError;
    const synth::Result result = synth::Synthesize(in->snapshot, *c);
    PrintNamespaceWarnings(in->snapshot, *c, io);

    using Key = std::tuple<std::string, std::string>;
    std::map<Key, const NetworkPolicy*> desired;
    for (const synth::WorkloadPolicy& p : result.policies) {
      desired.emplace(Key(p.policy.ns, p.policy.name), &p.policy);
    }
    for (const NetworkPolicy& p : result.default_deny) desired.emplace(Key(p.ns, p.name), &p);
    std::map<Key, const NetworkPolicy*> live;
    for (const NetworkPolicy& p : in->managed) live.emplace(Key(p.ns, p.name), &p);
    std::set<Key> keys;
    for (const auto& [k, p] : desired) keys.insert(k);
    for (const auto& [k, p] : live) keys.insert(k);

    const auto& ex = c->excluded_namespaces;
    int created = 0, changed = 0, deleted = 0;
    for (const Key& k : keys) {
      const std::string& ns = std::get<0>(k);
      auto d = desired.find(k);
      auto l = live.find(k);
      const NetworkPolicy* want = d == desired.end() ? nullptr : d->second;
      const NetworkPolicy* have = l == live.end() ? nullptr : l->second;
      if (!want && std::find(ex.begin(), ex.end(), ns) != ex.end()) continue;  // never touched
      std::string before, after;
      if (have) before = render::PolicyToYaml(*have);
      if (want && have) {
        // What run compares: the spec, our labels, the owner.
        if (controller::PolicyUpToDate(controller::Summarize(*have), controller::Summarize(*want))) {
          continue;
        }
        // The object after run's server-side apply: others' labels and
        // annotations stay.
        NetworkPolicy merged = *want;
        for (const auto& [lk, lv] : have->labels) merged.labels.emplace(lk, lv);
        for (const auto& [ak, av] : have->annotations) merged.annotations.emplace(ak, av);
        after = render::PolicyToYaml(merged);
        ++changed;
      } else if (want) {
        after = render::PolicyToYaml(*want);
        ++created;
      } else {
        ++deleted;
      }
      UnifiedDiff("networking.k8s.io.v1.NetworkPolicy." + ns + "." + std::get<1>(k), before, after,
                  io.out);
    }
    if (created + changed + deleted == 0) return kExitOk;
    io.err << created << " to create, " << changed << " to change, " << deleted << " to delete\n";
    return kExitDifferent;
  }

 private:
  ClusterFlags cluster_;
  ConfigFlags config_;
  std::string config_file_;
};

}  // namespace

std::unique_ptr<Command> NewDiffCommand() {
  return std::make_unique<DiffCommand>();
}

}  // namespace npc::cli
