// Synthesis: the pure function at the heart of netpol-ctrl.
//
//   Result r = Synthesize(snapshot, SynthesisConfig::Defaults());
//   for (const WorkloadPolicy& p : r.policies) Write(p.policy);
//
// Cluster state in, desired NetworkPolicies and the reasons behind them out
// (DESIGN.md sections 1-3). No I/O, no clock, no logging, no JSON: the
// controller, `generate`, `explain` and `graph` all feed this same function.
// Output is canonical: the same snapshot always yields byte-identical
// policies, whatever the order of the snapshot's vectors.
//
// Thread-safety: Synthesize is reentrant; it reads its arguments only.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/model.h"

namespace npc::synth {

// Where in a pod template a value was read.
struct RefSource {
  std::string container;  // container name ("" for a ConfigMap volume)
  // What held the value, for people: "env DB_URL", "args[2]", "command[0]",
  // "envFrom configmap app-config key DB_URL", "env DB_URL from configmap
  // app-config key url", "volume configmap app-config key settings.ini".
  std::string field;
  std::string value;  // the value after $(VAR) expansion, cut to 200 bytes for display
};

// A resolved dependency: `client` talks to Service `service_ns/service_name`
// on `ports` (the Service ports the reference narrowed to: all of them when no
// port was written; empty only when the Service has no ports at all).
// A pod DNS name (a-b-c-d.ns.pod.<domain>) resolves to a workload instead:
// then `target` is set, `service_name` is empty, and `ports` holds the port
// written (port == targetPort), or nothing for all ports.
struct Edge {
  WorkloadKey client;
  std::string service_ns;
  std::string service_name;
  std::vector<ServicePort> ports;
  std::optional<WorkloadKey> target;
  std::string host;  // the host name as written
  RefSource source;
  // An observed flow (SynthesisConfig::observed_flows allow): source.value
  // says "observed N times since T, last L" (synth/observed.h).
  bool observed = false;
};

// A host name that did not resolve to a Service, and why ("no Service db in
// namespace shop", "port 6380 is not a port of Service redis/cache", ...).
struct Unresolved {
  WorkloadKey client;
  std::string host;
  std::string port;  // as written, "" when none
  std::string why;
  RefSource source;
};

// A workload that gets no policy, and why ("namespace kube-system is
// excluded", "hostNetwork pods are not subject to NetworkPolicy", ...).
struct Skipped {
  WorkloadKey workload;
  std::string why;
};

// Something the policy cannot express, for the operator to know (an
// ExternalName Service, an annotation that does not parse, ...).
struct Warning {
  WorkloadKey workload;
  std::string message;
};

struct WorkloadPolicy {
  WorkloadKey workload;
  NetworkPolicy policy;
  // Parallel to policy.ingress / policy.egress: why each rule exists, one line
  // per reason ("own pods", "DNS", "client Deployment/shop/web: env API_URL=
  // http://api:8080 names Service shop/api port 8080", ...).
  std::vector<std::vector<std::string>> ingress_reasons;
  std::vector<std::vector<std::string>> egress_reasons;
  // Why the pod selector is not the workload's own selector ("" when it is):
  // "{app=redis} also matches the template of Deployment/data/replica".
  std::string selector_note;
  // A custom workload's template: "ReplicaSet shop/api-7d9f (the newest of 2)".
  std::string template_from;
};

struct Result {
  std::vector<WorkloadPolicy> policies;     // sorted by namespace, then policy name
  std::vector<NetworkPolicy> default_deny;  // one per managed namespace when configured
  std::vector<Edge> edges;                  // sorted
  std::vector<Unresolved> unresolved;       // sorted
  std::vector<Skipped> skipped;             // sorted
  std::vector<Warning> warnings;            // sorted
};

Result Synthesize(const Snapshot& snapshot, const SynthesisConfig& config);

// The default-deny policy of one namespace (SynthesisConfig::default_deny):
// none when the option is off, the namespace is excluded or annotated
// netpol-ctrl.io/ignore=true, or when a workload there that gets no policy
// would be isolated by it (then a warning per such workload says so).
struct NamespaceWorkload {
  WorkloadKey key;
  std::optional<std::string> skip_reason;  // set: the workload gets no policy
  bool host_network = false;
};
struct DefaultDenyDecision {
  std::optional<NetworkPolicy> policy;
  std::vector<Warning> warnings;
};
// The default-deny policy of a namespace: every pod, no rule.
[[nodiscard]] NetworkPolicy DefaultDenyPolicy(const std::string& ns);
[[nodiscard]] DefaultDenyDecision DecideDefaultDeny(
    const std::string& ns, const Namespace* object, const SynthesisConfig& config,
    const std::vector<NamespaceWorkload>& workloads);

// The policy name for a workload: "<kind>-<name>" in lower case, at most 253
// characters (cut, with a short hash of the full name, when longer).
std::string PolicyName(const WorkloadKey& workload);

// "app=web, tier in (a,b), !canary": a selector for people ("" when empty).
[[nodiscard]] std::string DescribeSelector(const LabelSelector& s);

// The value of the label netpol-ctrl.io/pod that the controller patches onto a
// bare Pod without labels: the pod name, or when longer than 63 characters its
// head and a short hash. Synthesis selects such a pod by this label.
std::string BarePodLabelValue(std::string_view pod_name);

// The name of the per-namespace default-deny policy (SynthesisConfig::default_deny).
inline constexpr std::string_view kDefaultDenyPolicyName = "default-deny";

}  // namespace npc::synth
