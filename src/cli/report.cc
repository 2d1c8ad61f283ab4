// `netpol-ctrl report`: the observed flows (ObservedFlows objects, written by
// the node agents) that the desired policies would deny: what a team reads
// before it switches enforcement on (DESIGN.md section 5).
//
// It reads the cluster once, read-only (LIST of what `run` watches, and the
// ObservedFlows), synthesizes the desired policies as `run` would with the
// same flags, and judges every observed flow (synth/observed.h). With -f it
// reads manifests instead (ObservedFlows objects among them).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <tuple>

#include "cli/command.h"
#include "decode/decode.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/resources.h"
#include "synth/observed.h"

namespace npc::cli {
namespace {

// Puts a decoded object where synthesis reads it.
void AddToSnapshot(decode::Object o, Snapshot& s) {
  std::visit(
      [&](auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, Workload>) s.workloads.push_back(std::move(v));
        if constexpr (std::is_same_v<T, Pod>) s.pods.push_back(std::move(v));
        if constexpr (std::is_same_v<T, Service>) s.services.push_back(std::move(v));
        if constexpr (std::is_same_v<T, EndpointSlice>) s.endpoint_slices.push_back(std::move(v));
        if constexpr (std::is_same_v<T, Ingress>) s.ingresses.push_back(std::move(v));
        if constexpr (std::is_same_v<T, ConfigMap>) s.config_maps.push_back(std::move(v));
        if constexpr (std::is_same_v<T, Namespace>) s.namespaces.push_back(std::move(v));
        if constexpr (std::is_same_v<T, Secret>) s.secrets.push_back(std::move(v));
        if constexpr (std::is_same_v<T, decode::ObservedFlowsValue>) {
          s.observed_flows.insert(s.observed_flows.end(), v.flows.begin(), v.flows.end());
        }
      },
      o.value);
}

std::string Short(const WorkloadKey& k, const std::string& ns) {
  return k.ns == ns ? k.Kind() + "/" + k.name : k.ToString();
}

class ReportCommand final : public Command {
 public:
  CLI::App* Register(CLI::App& app) override {
    CLI::App* cmd = app.add_subcommand(
        "report",
        "List the observed flows (ObservedFlows, from the node agents) that the policies would "
        "deny: read it before enforcing");
    cmd->add_option("--kubeconfig", kubeconfig_,
                    "Path to a kubeconfig (default: $KUBECONFIG, then in-cluster, then "
                    "~/.kube/config)");
    cmd->add_option("--context", context_, "The kubeconfig context to use");
    cmd->add_option("-f,--filename", files_,
                    "Read manifests (with ObservedFlows objects) instead of the cluster: a file, "
                    "a directory or -; repeatable")
        ->allow_extra_args(false)
        ->type_name("PATH");
    cmd->add_option("-n,--namespace", namespace_,
                    "Only flows of clients in this namespace (default: every namespace)");
    cmd->add_option("-o,--output", output_, "table (one per namespace) or json")
        ->check(CLI::IsMember({"table", "json"}))
        ->capture_default_str();
    cmd->add_option("--read-configmaps", read_config_maps_,
                    "Read ConfigMaps that workloads use, as run does")
        ->capture_default_str();
    config_.Register(*cmd);
    cmd->add_option("--config", config_file_,
                    "A YAML file of flag-name: value; flags on the command line win");
    cmd->footer(
        "Examples:\n"
        "  netpol-ctrl report                        # the cluster of the current context\n"
        "  netpol-ctrl report -n shop -o json\n"
        "  netpol-ctrl report --observed-flows=allow # what allow would still deny (externals)\n"
        "  netpol-ctrl report -f manifests/ -f observed.yaml\n"
        "Exit codes: 0 (also when something would be denied), 1 the cluster or a manifest could\n"
        "not be read, 2 bad flags.");
    return cmd;
  }

  int Run(Io& io) override {
    auto config = config_.ToConfig();
    if (!config.ok()) {
      io.err << "error: " << config.status().message() << "\n";
      return kExitUsage;
    }
    if (config->observed_flows == ObservedFlowsMode::kOff) {
      io.err << "error: --observed-flows=off: nothing to report\n";
      return kExitUsage;
    }
    config->read_config_maps = read_config_maps_;
    Snapshot snapshot;
    if (!files_.empty()) {
      InputFlags in;
      in.files = files_;
      auto s = LoadInputs(in, io);
      if (!s) return kExitInvalidInput;
      snapshot = std::move(*s);
    } else {
      Status st = ReadCluster(*config, snapshot, io);
      if (!st.ok()) {
        io.err << "error: " << st.message() << "\n";
        return kExitInvalidInput;
      }
    }
    std::optional<int64_t> now;
    if (files_.empty()) {
      now = std::chrono::duration_cast<std::chrono::seconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
    }
    config_.ApplyObservedFlowsTtl(snapshot, now, *config);
    const synth::Result result = synth::Synthesize(snapshot, *config);
    std::vector<synth::WouldDeny> denied = synth::JudgeObservedFlows(snapshot, *config, result);
    if (!namespace_.empty()) {
      std::erase_if(denied,
                    [&](const synth::WouldDeny& d) { return d.flow.client.ns != namespace_; });
    }
    std::sort(denied.begin(), denied.end(), [](const auto& a, const auto& b) {
      return std::tie(a.flow.client, a.flow.server, a.flow.address, a.flow.port, a.flow.protocol) <
             std::tie(b.flow.client, b.flow.server, b.flow.address, b.flow.port, b.flow.protocol);
    });
    size_t observed = 0;
    for (const ObservedFlow& f : snapshot.observed_flows) {
      if (namespace_.empty() || f.client.ns == namespace_) ++observed;
    }
    if (output_ == "json") {
      PrintJson(denied, observed, *config, io.out);
    } else {
      PrintTables(denied, observed, *config, io.out);
    }
    return kExitOk;
  }

 private:
  // LISTs what `run` watches, and the ObservedFlows (none when the CRD is
  // not served: said on stderr).
  Status ReadCluster(const SynthesisConfig& config, Snapshot& snapshot, Io& io) {
    kube::ConfigOptions ko;
    ko.kubeconfig = kubeconfig_;
    ko.context = context_;
    NPC_ASSIGN_OR_RETURN(kube::RestConfig rest, kube::ResolveConfig(ko));
    NPC_ASSIGN_OR_RETURN(std::unique_ptr<kube::Client> client, kube::MakeClient(rest));
    using kube::Resource;
    std::vector<Resource> resources = {
        Resource::kNamespaces,     Resource::kDeployments, Resource::kStatefulSets,
        Resource::kDaemonSets,     Resource::kReplicaSets, Resource::kJobs,
        Resource::kCronJobs,       Resource::kPods,        Resource::kServices,
        Resource::kEndpointSlices, Resource::kIngresses};
    if (config.read_config_maps) resources.push_back(Resource::kConfigMaps);
    resources.push_back(Resource::kObservedFlows);
    decode::Decoder decoder;
    for (Resource r : resources) {
      const kube::ResourceInfo& info = kube::Info(r);
      auto list = client->List(r, "");
      if (!list.ok()) {
        if (r == Resource::kObservedFlows && list.error().http_code == 404) {
          io.err << "note: ObservedFlows is not served (install the agent: kubectl apply -k "
                    "deploy/agent/): no observed flows\n";
          continue;
        }
        return Status(list.status().code(),
                      "listing " + info.GroupResource() + ": " + list.error().Describe());
      }
      decode::DecodeOptions opts;
      opts.default_kind = info.kind;
      for (const kube::Object& item : list->items) {
        auto o = decoder.Decode(item.json, opts);
        if (!o.ok()) {
          io.err << "warning: " << o.status().message() << " (left out)\n";
          continue;
        }
        AddToSnapshot(std::move(*o), snapshot);
      }
    }
    return Status::Ok();
  }

  static std::string Missing(const synth::WouldDeny& d) {
    std::string out;
    if (d.egress_denied) out += "egress " + d.client_policy;
    if (d.ingress_denied)
      out += std::string(out.empty() ? "" : ", ") + "ingress " + d.server_policy;
    return out;
  }

  void PrintTables(const std::vector<synth::WouldDeny>& denied, size_t observed,
                   const SynthesisConfig& config, std::ostream& out) const {
    out << observed << " observed flow" << (observed == 1 ? "" : "s") << ", " << denied.size()
        << " would be denied by the policies (--observed-flows="
        << ObservedFlowsModeName(config.observed_flows) << ")\n";
    std::map<std::string, std::vector<const synth::WouldDeny*>> by_ns;
    for (const auto& d : denied) by_ns[d.flow.client.ns].push_back(&d);
    for (const auto& [ns, rows] : by_ns) {
      std::vector<std::array<std::string, 6>> table = {
          {"CLIENT", "SERVER", "PORT", "COUNT", "LAST SEEN", "MISSING"}};
      for (const synth::WouldDeny* d : rows) {
        const ObservedFlow& f = d->flow;
        std::string server = f.server ? Short(*f.server, ns) : f.address;
        if (!f.service_name.empty()) {
          server += " (svc " +
                    (f.service_ns == ns ? f.service_name : f.service_ns + "/" + f.service_name) +
                    ")";
        }
        table.push_back({Short(f.client, ns), server, std::to_string(f.port) + "/" + f.protocol,
                         std::to_string(f.count), synth::FormatUnixTime(f.last_seen), Missing(*d)});
      }
      std::array<size_t, 6> width{};
      for (const auto& row : table) {
        for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
      }
      out << "\nNAMESPACE " << ns << "\n";
      for (const auto& row : table) {
        std::string line;
        for (size_t i = 0; i < row.size(); ++i) {
          line += row[i];
          if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 3, ' ');
        }
        out << line << "\n";
      }
    }
    if (!denied.empty()) {
      out << "\nMISSING names the policy without the rule: egress of the client's, ingress of the "
             "server's.\nNext: --observed-flows=allow (in-cluster flows become edges), or the "
             "netpol-ctrl.io/allow-egress\nand allow-ingress-from annotations; then enforce.\n";
    }
  }

  void PrintJson(const std::vector<synth::WouldDeny>& denied, size_t observed,
                 const SynthesisConfig& config, std::ostream& out) const {
    nlohmann::ordered_json items = nlohmann::ordered_json::array();
    for (const synth::WouldDeny& d : denied) {
      const ObservedFlow& f = d.flow;
      nlohmann::ordered_json j;
      j["namespace"] = f.client.ns;
      j["client"] = {
          {"kind", f.client.Kind()}, {"namespace", f.client.ns}, {"name", f.client.name}};
      if (f.server) {
        j["server"] = {
            {"kind", f.server->Kind()}, {"namespace", f.server->ns}, {"name", f.server->name}};
      } else {
        j["server"] = {{"address", f.address}};
      }
      if (!f.service_name.empty())
        j["service"] = {{"namespace", f.service_ns}, {"name", f.service_name}};
      j["port"] = f.port;
      j["protocol"] = f.protocol;
      j["count"] = f.count;
      j["firstSeen"] = synth::FormatUnixTime(f.first_seen);
      j["lastSeen"] = synth::FormatUnixTime(f.last_seen);
      j["egressDenied"] = d.egress_denied;
      j["ingressDenied"] = d.ingress_denied;
      if (d.egress_denied) j["clientPolicy"] = d.client_policy;
      if (d.ingress_denied) j["serverPolicy"] = d.server_policy;
      j["missing"] = d.missing;
      items.push_back(std::move(j));
    }
    nlohmann::ordered_json root;
    root["observedFlowsMode"] = std::string(ObservedFlowsModeName(config.observed_flows));
    root["observed"] = observed;
    root["wouldDeny"] = std::move(items);
    out << root.dump(2) << "\n";
  }

  std::string kubeconfig_;
  std::string context_;
  std::vector<std::string> files_;
  std::string namespace_;
  std::string output_ = "table";
  bool read_config_maps_ = true;
  std::string config_file_;
  ConfigFlags config_;
};

}  // namespace

std::unique_ptr<Command> NewReportCommand() {
  return std::make_unique<ReportCommand>();
}

}  // namespace npc::cli
