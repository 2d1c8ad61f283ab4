// Real packets against the evaluator: the heart of the dataplane tests.
//
//   NPC_ASSIGN_OR_RETURN(ClusterState s, ReadCluster(client, cluster_id, namespaces));
//   Comparison c = Compare(s, /*intent=*/nullptr);
//   EXPECT_TRUE(c.failures.empty()) << c.Report();
//
// ReadCluster reads the Pods (with their real labels, IPs and container
// ports), the Namespaces and EVERY NetworkPolicy from the API server and
// builds test/evaluator's model from them. Compare probes, from every running
// pod, every other running pod on each of its container ports (TCP, UDP; a
// DNS query on 53), and each pod's DNS through the kube-dns Service (UDP and
// TCP, a query for `dns_name`), and holds each observation against the
// evaluator's verdict for the same flow (for DNS: the flow to the CoreDNS
// pod on 53). With `intent` (a generated case), the design's intended cell
// is checked too, and each difference says which part is wrong:
//   intent = evaluator != probe  -> the enforcer (or our reading of it)
//   intent = probe != evaluator  -> the evaluator
//   evaluator = probe != intent  -> synthesis (the policy does not say what
//                                   the design intends; both judges agree)
// Known enforcer behaviour that the evaluator does not model is listed in
// `known`, with the reason, and does not fail (NPC_DATAPLANE_STRICT=1 makes
// it fail):
//   - kube-router v2.1.0 reads a rule whose ports are all named ports that
//     resolve on no pod (ingress: no pod the policy selects; egress: no pod
//     of the rule's peers) as a rule WITHOUT ports: every port is allowed
//     from (to) its peers. The spec: a named port that resolves nowhere
//     matches nothing, so such a rule allows nothing. (policy.go decides
//     "no ports" from the resolved port lists, not from spec.ports.) The
//     comparison recognises it by judging the flow again under the policies
//     rewritten that way (KubeRouterReading);
//   - traffic from the pod's own node (a hostNetwork pod) into a pod is
//     always allowed (the NetworkPolicy API reference: "the only allowed
//     connections into the pod are those from the pod's node and those
//     allowed by the ingress list"); the evaluator treats a hostNetwork pod
//     as an outside address that only ipBlocks match.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "dataplane/view.h"
#include "evaluator/evaluator.h"
#include "kube/client.h"

namespace npc::dataplane {

struct ClusterState {
  std::vector<PodView> pods;  // the running pods of the chosen namespaces, plus CoreDNS
  std::map<std::string, std::map<std::string, std::string>> namespaces;
  std::vector<nlohmann::json> policies;
  eval::Cluster evaluator;
  // The same pods and namespaces under the policies as kube-router v2.1.0
  // reads them (KubeRouterReading), to recognise its known deviation.
  eval::Cluster kube_router;
  std::vector<std::string> kube_router_rewrites;  // which rules it reads differently
  const PodView* dns_pod = nullptr;  // the CoreDNS pod, in `pods`
  std::vector<std::string> notes;    // pods the evaluator could not take, ...
};

// The policies as kube-router v2.1.0 enforces them: each rule whose ports are
// all named and resolve on no pod loses its ports. `rewrites` says which.
[[nodiscard]] std::vector<nlohmann::json> KubeRouterReading(
    const std::vector<nlohmann::json>& policies, const std::vector<PodView>& pods,
    const std::map<std::string, std::map<std::string, std::string>>& namespaces,
    std::vector<std::string>* rewrites);

// `namespaces`: whose pods to probe (kube-system's CoreDNS pod is always added).
[[nodiscard]] StatusOr<ClusterState> ReadCluster(kube::Client& client, const std::string& cluster_id,
                                                 const std::vector<std::string>& namespaces);

// The intended verdict of a flow, when the design says one (a generated case).
using IntentFn = std::function<eval::Cell(const PodView& src, const PodView& dst, int port,
                                          const std::string& protocol)>;

struct Comparison {
  size_t probes = 0, allowed = 0;
  std::vector<std::string> failures;  // each with its evidence and attribution
  std::vector<std::string> known;     // known enforcer behaviour, not failures
  std::string matrix;                 // every probe and its result (FormatMatrix)
  std::string Report() const;
};

struct CompareOptions {
  std::string dns_name = "kubernetes.default.svc.cluster.local";
  std::string dns_answer = "198.19.0.1";  // the address dns_name must resolve to
  ProbeOptions probe;
};

[[nodiscard]] Comparison Compare(const ClusterState& state, const IntentFn& intent,
                                 const CompareOptions& options = {});

}  // namespace npc::dataplane
