// The dataplane as the prober and the tests see it: the Pods, Namespaces and
// NetworkPolicies read back from the API server (npc_kube), each pod with the
// network namespace the node runner made for it, and the pod-to-pod matrix
// probed with real connections.
//
//   NPC_ASSIGN_OR_RETURN(auto client, MakeClientFor(kubeconfig));
//   NPC_ASSIGN_OR_RETURN(std::vector<PodView> pods, ListPods(*client, cluster_id));
//   std::vector<MatrixCell> cells = ProbeMatrix(pods);
//   std::cout << FormatMatrix(pods, cells);
//
// Thread-safety: plain functions; a Client may be shared (see kube/client.h).
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "dataplane/probe.h"
#include "kube/client.h"

namespace npc::dataplane {

struct PortView {
  std::string name;
  int port = 0;
  std::string protocol = "TCP";
};

struct PodView {
  std::string ns, name, uid, ip, phase;
  std::map<std::string, std::string> labels;
  std::vector<PortView> ports;  // of every (non-init) container
  bool host_network = false;
  bool deleting = false;
  std::string netns;  // where its processes run (the node's for hostNetwork)
  std::string id() const { return ns + "/" + name; }
  bool running() const { return phase == "Running" && !ip.empty() && !deleting; }
};

[[nodiscard]] StatusOr<std::unique_ptr<kube::Client>> MakeClientFor(const std::string& kubeconfig);

// Every Pod (or those of `namespaces` when not empty), sorted by namespace and name.
[[nodiscard]] StatusOr<std::vector<PodView>> ListPods(kube::Client& client, const std::string& cluster_id,
                                                      const std::vector<std::string>& namespaces = {});
// Namespace name -> labels.
[[nodiscard]] StatusOr<std::map<std::string, std::map<std::string, std::string>>> ListNamespaces(
    kube::Client& client);
// Every NetworkPolicy of the cluster, as the API server returns them.
[[nodiscard]] StatusOr<std::vector<nlohmann::json>> ListPolicies(kube::Client& client);

// One probe of the matrix: pods[src] -> pods[dst] on port/protocol.
struct MatrixCell {
  size_t src = 0, dst = 0;
  int port = 0;
  std::string protocol;
  ProbeResult result;
};

// Probes, from every running pod, every other running pod on each of that
// destination's container ports (TCP and UDP) at its pod IP. Flows whose both
// ends are the node's network (two hostNetwork pods) are left out.
[[nodiscard]] std::vector<MatrixCell> ProbeMatrix(const std::vector<PodView>& pods,
                                                  const ProbeOptions& options = {});

// One line per source pod: "shop/web-0 -> data/db-0 5432/TCP allowed, ..." as a table
// of allowed and denied flows.
[[nodiscard]] std::string FormatMatrix(const std::vector<PodView>& pods, const std::vector<MatrixCell>& cells);

}  // namespace npc::dataplane
