// The pieces every netpol-ctrl sub-command shares: the Command interface that
// cli.cc dispatches to, the standard streams, and the flags that say where
// manifests come from and how synthesis is configured.
//
// Adding a command: implement Command (Register adds a CLI11 sub-command and
// binds its flags to members; Run executes it after parsing), and list it in
// cli.cc's Commands(). Not thread-safe: one command runs per process.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "model/model.h"
#include "synth/synth.h"

namespace npc::cli {

// The process's streams, injectable for tests.
struct Io {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
};

class Command {
 public:
  virtual ~Command() = default;
  // Adds the sub-command (with its flags, help and example footer) to `app`.
  virtual CLI::App* Register(CLI::App& app) = 0;
  // Runs after a successful parse when this sub-command was chosen; returns
  // the process exit code.
  virtual int Run(Io& io) = 0;
};

std::unique_ptr<Command> NewGenerateCommand();
std::unique_ptr<Command> NewExplainCommand();
std::unique_ptr<Command> NewGraphCommand();
std::unique_ptr<Command> NewRunCommand();
std::unique_ptr<Command> NewAgentCommand();  // cli/agent.cc: the node agent
std::unique_ptr<Command> NewDiffCommand();   // cli/diff.cc
std::unique_ptr<Command> NewReportCommand();  // cli/report.cc: observed flows denied

// Exit codes of the offline commands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitInvalidInput = 1;  // a manifest was invalid, or a path unreadable
inline constexpr int kExitUsage = 2;         // flags that parse but make no sense

// -f/--filename, --namespace, --skip-invalid.
struct InputFlags {
  std::vector<std::string> files;
  std::string default_namespace = "default";
  bool skip_invalid = false;

  // `required`: -f must be given (generate also reads --from-cluster).
  void Register(CLI::App& cmd, bool required = true);
};

// Where a live cluster is read from, and what of it (`diff`,
// `generate --from-cluster`): --kubeconfig, --context, --read-configmaps.
struct ClusterFlags {
  std::string kubeconfig;
  std::string context;
  bool read_config_maps = true;

  void Register(CLI::App& cmd);
};

// Reads the cluster (clusterread::Read, one paged LIST per kind) into `*out`;
// skipped API groups and objects that did not decode go to io.err. On
// failure prints why and returns false.
struct ClusterInput {
  Snapshot snapshot;
  std::vector<NetworkPolicy> managed;  // stored, labelled managed-by=netpol-ctrl
};
std::optional<ClusterInput> ReadCluster(const ClusterFlags& flags, const SynthesisConfig& config,
                                        Io& io);

// Warnings about namespaces (a netpol-ctrl.io/mode value that is not audit,
// enforce or off), one line each.
void PrintNamespaceWarnings(const Snapshot& snapshot, const SynthesisConfig& config, Io& io);

// Loads the manifests named by `flags` ("-" reads io.in), printing every
// diagnostic to io.err as "file:doc N:line L: message". Returns the snapshot,
// or nothing when a path cannot be read or a document was invalid and
// --skip-invalid was not given (the reason is printed).
std::optional<Snapshot> LoadInputs(const InputFlags& flags, Io& io);

struct ConfigFlags;

// What the offline commands share: the configuration, the loaded manifests and
// the synthesis over them.
struct Offline {
  SynthesisConfig config;
  Snapshot snapshot;
  synth::Result result;
};

// Parses the configuration flags, loads the inputs and synthesizes. On failure
// prints why to io.err, sets *exit_code (kExitUsage or kExitInvalidInput) and
// returns nothing.
std::optional<Offline> LoadAndSynthesize(const InputFlags& input, const ConfigFlags& config,
                                         Io& io, int* exit_code);

// The synthesis configuration flags (DESIGN.md section 4). Flags that take
// lists replace the defaults when given.
struct ConfigFlags {
  std::string cluster_domain = "cluster.local";
  std::vector<std::string> exclude_namespaces;
  std::string ingress_controller_mode = "exposed";
  std::vector<std::string> dns_peers;
  std::vector<std::string> monitoring_peers;
  std::vector<std::string> ingress_controller_peers;
  std::vector<std::string> openshift_router_peers;
  std::vector<std::string> gateway_peers;
  std::vector<std::string> api_server_cidrs;
  std::vector<std::string> node_cidrs;
  bool read_secrets = false;
  bool default_deny = false;
  std::string namespace_selector;
  // Observed flows (ObservedFlows objects, DESIGN.md section 5).
  std::string observed_flows = "report";  // off | report | allow
  std::string observed_flows_ttl = "168h";
  bool allow_observed_external = false;

  void Register(CLI::App& cmd);
  // --observed-flows-ttl (checked by the parser).
  std::chrono::milliseconds ObservedFlowsTtl() const;
  // Sets config.observed_not_before to `now` (Unix seconds) minus the TTL;
  // without `now` (manifests: the same input always gives the same output),
  // to the newest lastSeen of the snapshot's observed flows minus the TTL.
  void ApplyObservedFlowsTtl(const Snapshot& snapshot, std::optional<int64_t> now,
                             SynthesisConfig& config) const;
  // The configuration, or InvalidArgument naming the flag that does not parse.
  StatusOr<SynthesisConfig> ToConfig() const;
};

// Parses a peer flag value:
//
//   PEER [";controller=" CONTROLLER]... [";class=" CLASS]...
//   PEER = NAMESPACE "/" LABEL ["," LABEL]...   pods with all LABELs in NAMESPACE
//        | "*/" LABEL ["," LABEL]...            ... in any namespace
//        | CIDR ["," CIDR]...                   addresses ("169.254.20.10/32")
//        | "nodes"                              the node addresses (--node-cidrs)
//        | "any"                                every address (a rule without peers)
//   LABEL = KEY "=" VALUE | KEY                 KEY alone: the label exists
//
// '&' may separate labels too, as in the netpol-ctrl.io/allow-* annotations.
// "controller=" names an IngressClass spec.controller or GatewayClass
// spec.controllerName the peer implements, "class=" a legacy ingress class
// name it answers to; Gateway peers may write {name} and {namespace} in the
// namespace and label values (the Gateway's).
StatusOr<PeerSelector> ParsePeer(const std::string& text);

// A peer as the flags write it (ParsePeer's inverse, for help and logs).
std::string PeerString(const PeerSelector& peer);

// "app=web, tier in (a,b), !canary" in kubectl's selector syntax; "{}" for the
// empty selector (everything).
std::string SelectorString(const LabelSelector& selector);

}  // namespace npc::cli
