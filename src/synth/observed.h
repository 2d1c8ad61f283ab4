// Observed flows in the pure core (DESIGN.md section 5): what the node
// agents saw (Snapshot::observed_flows) as edges of synthesis, and the
// judgement of each observed flow against the policies (WouldDeny).
//
//   // allow: ClusterIndex appends ObservedEdges() to each client's edges.
//   std::vector<WouldDeny> d = JudgeObservedFlows(index, flows, policies_in);
//
// The judgement follows NetworkPolicy semantics as test/evaluator states
// them: a flow is allowed when the client's egress allows it (no policy in
// its namespace selects it for Egress, or a rule of one that does matches
// the server and the port) and the server's ingress allows it (likewise; an
// external server has no policy). Pods are judged by their workload's
// template labels and container ports (named ports resolve against the
// server's), namespaces by their labels plus kubernetes.io/metadata.name.
// An ipBlock matches an external address only: the agent reports in-cluster
// servers by workload, not by address.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/model.h"
#include "synth/synth.h"

namespace npc::synth {

class ClusterIndex;

// "2026-12-01T12:00:00Z" (UTC).
[[nodiscard]] std::string FormatUnixTime(int64_t seconds);

// Whether `f` is an edge of synthesis under `config`: mode allow, last seen
// at or after observed_not_before, and in-cluster (a server workload) or,
// with allow_observed_external, an external address.
[[nodiscard]] bool ObservedAllowed(const ObservedFlow& f, const SynthesisConfig& config);

// "observed 12 times since 2026-12-01T09:00:00Z, last 2026-12-01T09:59:30Z".
[[nodiscard]] std::string DescribeObserved(const ObservedFlow& f);

// The edge an allowed in-cluster flow becomes: target = the server workload,
// ports = {port/protocol}, host "observed", source.field "observed",
// source.value DescribeObserved(f), `observed` set.
[[nodiscard]] Edge ObservedEdge(const ObservedFlow& f);

// An observed flow the policies would deny.
struct WouldDeny {
  ObservedFlow flow;
  bool egress_denied = false;   // the client's policy has no egress rule for it
  bool ingress_denied = false;  // the server's policy has no ingress rule for it
  std::string client_policy;    // "ns/name" of the policy denying egress ("" when allowed)
  std::string server_policy;    // "ns/name" of the policy denying ingress
  // Which rule is missing, for people: "egress of shop/deployment-web to
  // Deployment/data/db on 5432/TCP; ingress of data/deployment-db from
  // Deployment/shop/web on 5432/TCP".
  std::string missing;

  // "Deployment/data/db", "203.0.113.5"
  std::string Server() const;
};

// The policies in a namespace (null or empty: none).
using PoliciesIn = std::function<std::vector<const NetworkPolicy*>(const std::string& ns)>;

// Judges each flow of `flows` whose client (and server, when a workload) the
// index knows; flows of unknown workloads are left out (their workload is
// gone). Returns those denied, in the order of `flows`.
[[nodiscard]] std::vector<WouldDeny> JudgeObservedFlows(const ClusterIndex& index,
                                                        const std::vector<ObservedFlow>& flows,
                                                        const PoliciesIn& policies_in);

// Judges the observed flows of `snapshot` against a Synthesize() result over
// it (the offline commands and `report`). Nothing when mode is off.
[[nodiscard]] std::vector<WouldDeny> JudgeObservedFlows(const Snapshot& snapshot,
                                                        const SynthesisConfig& config,
                                                        const Result& result);

}  // namespace npc::synth
