#include "dataplane/view.h"

#include <algorithm>

#include "dataplane/naming.h"
#include "kube/config.h"

namespace npc::dataplane {

using json = nlohmann::json;

StatusOr<std::unique_ptr<kube::Client>> MakeClientFor(const std::string& kubeconfig) {
  kube::ConfigOptions co;
  co.kubeconfig = kubeconfig;
  NPC_ASSIGN_OR_RETURN(kube::RestConfig config, kube::ResolveConfig(co));
  return kube::MakeClient(config);
}

StatusOr<std::vector<PodView>> ListPods(kube::Client& client, const std::string& cluster_id,
                                        const std::vector<std::string>& namespaces) {
  auto list = client.List(kube::Resource::kPods, "");
  if (!list.ok()) return list.status().WithContext("listing pods");
  std::vector<PodView> out;
  for (const kube::Object& o : list->items) {
    json p = json::parse(o.json, nullptr, false);
    if (p.is_discarded()) continue;
    PodView v;
    const json& md = p["metadata"];
    v.ns = md.value("namespace", "");
    if (!namespaces.empty() && std::find(namespaces.begin(), namespaces.end(), v.ns) == namespaces.end()) continue;
    v.name = md.value("name", "");
    v.uid = md.value("uid", "");
    v.deleting = md.contains("deletionTimestamp") && !md["deletionTimestamp"].is_null();
    const json labels = md.value("labels", json::object());
    for (const auto& [k, val] : labels.items()) v.labels[k] = val.get<std::string>();
    const json& spec = p["spec"];
    v.host_network = spec.value("hostNetwork", false);
    for (const json& c : spec.value("containers", json::array())) {
      for (const json& port : c.value("ports", json::array())) {
        v.ports.push_back({port.value("name", ""), port.value("containerPort", 0), port.value("protocol", "TCP")});
      }
    }
    const json st = p.value("status", json::object());
    v.phase = st.value("phase", "");
    v.ip = st.value("podIP", "");
    v.netns = v.host_network ? NodeNetns(cluster_id) : PodNetns(cluster_id, v.uid);
    out.push_back(std::move(v));
  }
  std::sort(out.begin(), out.end(), [](const PodView& a, const PodView& b) { return a.id() < b.id(); });
  return out;
}

StatusOr<std::map<std::string, std::map<std::string, std::string>>> ListNamespaces(kube::Client& client) {
  auto list = client.List(kube::Resource::kNamespaces, "");
  if (!list.ok()) return list.status().WithContext("listing namespaces");
  std::map<std::string, std::map<std::string, std::string>> out;
  for (const kube::Object& o : list->items) {
    json n = json::parse(o.json, nullptr, false);
    if (n.is_discarded()) continue;
    auto& labels = out[n["metadata"].value("name", "")];
    const json given = n["metadata"].value("labels", json::object());
    for (const auto& [k, v] : given.items()) labels[k] = v.get<std::string>();
  }
  return out;
}

StatusOr<std::vector<json>> ListPolicies(kube::Client& client) {
  auto list = client.List(kube::Resource::kNetworkPolicies, "");
  if (!list.ok()) return list.status().WithContext("listing networkpolicies");
  std::vector<json> out;
  for (const kube::Object& o : list->items) {
    json p = json::parse(o.json, nullptr, false);
    if (p.is_discarded()) continue;
    p["apiVersion"] = "networking.k8s.io/v1";
    p["kind"] = "NetworkPolicy";
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<MatrixCell> ProbeMatrix(const std::vector<PodView>& pods, const ProbeOptions& options) {
  std::vector<MatrixCell> cells;
  std::vector<ProbeSpec> specs;
  for (size_t s = 0; s < pods.size(); ++s) {
    if (!pods[s].running()) continue;
    for (size_t d = 0; d < pods.size(); ++d) {
      if (d == s || !pods[d].running()) continue;
      if (pods[s].host_network && pods[d].host_network) continue;
      for (const PortView& port : pods[d].ports) {
        if (port.protocol != "TCP" && port.protocol != "UDP") continue;
        cells.push_back({s, d, port.port, port.protocol, {}});
        // A DNS server answers DNS queries only: ask it one on port 53.
        specs.push_back({pods[s].netns, pods[d].ip, port.port, port.protocol,
                         port.port == 53 ? "kubernetes.default.svc.cluster.local" : ""});
      }
    }
  }
  std::vector<ProbeResult> results = ProbeAll(specs, options);
  for (size_t i = 0; i < cells.size(); ++i) cells[i].result = std::move(results[i]);
  return cells;
}

std::string FormatMatrix(const std::vector<PodView>& pods, const std::vector<MatrixCell>& cells) {
  std::string out;
  size_t allowed = 0;
  for (const MatrixCell& c : cells) {
    const bool ok = c.result.answered();
    allowed += ok;
    out += (ok ? "  allowed  " : "  DENIED   ") + pods[c.src].id() + " -> " + pods[c.dst].id() + " (" +
           pods[c.dst].ip + ") " + std::to_string(c.port) + "/" + c.protocol + ": " + c.result.ToString() + "\n";
  }
  return std::to_string(cells.size()) + " probes, " + std::to_string(allowed) + " allowed, " +
         std::to_string(cells.size() - allowed) + " denied\n" + out;
}

}  // namespace npc::dataplane
