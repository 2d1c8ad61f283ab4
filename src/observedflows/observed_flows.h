// ObservedFlows (netpol-ctrl.io/v1alpha1): what the node agents saw, per
// client workload, as a Kubernetes object. The CRD is deploy/agent/crd.yaml.
//
// One object per client workload, in the workload's namespace, named like the
// workload's policy ("deployment-web"). Every node's agent writes its own
// entry of status.nodes (a list keyed by node, written by server-side apply
// with one field manager per node), so agents never overwrite each other:
//
//   apiVersion: netpol-ctrl.io/v1alpha1
//   kind: ObservedFlows
//   metadata: {name: deployment-web, namespace: shop, ownerReferences: [the workload]}
//   spec:
//     workload: {apiVersion: apps/v1, kind: Deployment, name: web, uid: ...}
//   status:
//     nodes:
//       - node: node-a
//         observedUntil: "2025-06-01T10:00:00.123456Z"
//         droppedConnections: 0
//         flows:
//           - server: {type: Workload, apiVersion: apps/v1, kind: Deployment,
//                      namespace: data, name: db}
//             service: {namespace: data, name: db, port: 5432}
//             port: 5432
//             protocol: TCP
//             count: 12
//             firstSeen: "2025-06-01T09:00:00Z"
//             lastSeen: "2025-06-01T09:59:30Z"
//
// Counts are cumulative per node (since the node's agent first saw the flow).
// The controller reads every object and merges the nodes' entries (Merge).
//
//   auto o = ParseObservedFlows(json);        // an item of a LIST or WATCH
//   for (const MergedFlow& f : Merge(*o)) ... // one per (server, service, port, protocol)
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "model/model.h"

namespace npc::observedflows {

inline constexpr std::string_view kGroup = "netpol-ctrl.io";
inline constexpr std::string_view kVersion = "v1alpha1";
inline constexpr std::string_view kApiVersion = "netpol-ctrl.io/v1alpha1";
inline constexpr std::string_view kKind = "ObservedFlows";
// The field manager of node N's agent: kFieldManagerPrefix + N (cut to 128).
inline constexpr std::string_view kFieldManagerPrefix = "netpol-ctrl-agent/";

using WallTime = std::chrono::system_clock::time_point;

enum class Protocol : uint8_t { kTCP, kUDP, kSCTP };
std::string_view ProtocolName(Protocol p);  // "TCP"
std::optional<Protocol> ParseProtocol(std::string_view s);
// IANA protocol numbers: 6, 17, 132; nullopt for others.
std::optional<Protocol> ProtocolFromNumber(int ip_protocol);

// A workload, as an owner reference names it. `ns` is set for servers (a
// client's namespace is its object's).
struct WorkloadRef {
  std::string api_version;  // "apps/v1", "v1" (a bare Pod), "argoproj.io/v1alpha1"
  std::string kind;         // "Deployment", "Pod", "Rollout"
  std::string ns;
  std::string name;
  std::string uid;  // "" when unknown (never compared)

  bool SameWorkload(const WorkloadRef& o) const {
    return kind == o.kind && ns == o.ns && name == o.name && api_version == o.api_version;
  }
};

// Who answered a connection.
enum class PeerType : uint8_t {
  kWorkload,  // a pod of the cluster: its workload
  kExternal,  // an address that is no known pod (outside the cluster, a node, ...)
};
std::string_view PeerTypeName(PeerType t);  // "Workload", "External"

struct Peer {
  PeerType type = PeerType::kWorkload;
  WorkloadRef workload;  // kWorkload (uid not kept)
  std::string address;   // kExternal: "203.0.113.5", "2001:db8::1"

  // "Deployment/data/db", "203.0.113.5"
  std::string ToString() const;
  bool operator==(const Peer& o) const {
    return type == o.type && address == o.address && workload.SameWorkload(o.workload);
  }
};

// The Service whose ClusterIP the client connected to (before kube-proxy's
// translation), and that Service's port.
struct ServiceRef {
  std::string ns;
  std::string name;
  int port = 0;
  bool operator==(const ServiceRef&) const = default;
};

struct Flow {
  Peer server;
  std::optional<ServiceRef> service;
  int port = 0;  // the port the server answered on (after any translation)
  Protocol protocol = Protocol::kTCP;
  uint64_t count = 0;  // connections (conntrack entries) seen, cumulative
  WallTime first_seen;
  WallTime last_seen;
};

// One node's entry.
struct NodeReport {
  std::string node;
  // Every connection that this node's agent had received before this time
  // is counted in `flows` (the agent's resume point after a restart).
  WallTime observed_until;
  // Connections of this workload the agent saw but could not keep (its
  // --max-flows or --max-flows-per-workload was reached): when > 0 the
  // flows are incomplete.
  uint64_t dropped_connections = 0;
  std::vector<Flow> flows;
};

struct ObservedFlows {
  std::string ns;        // metadata.namespace: the client workload's
  std::string name;      // metadata.name: ObjectName(workload)
  WorkloadRef workload;  // spec.workload (its ns is `ns`)
  std::vector<NodeReport> nodes;
};

// The object's name for a workload: "<kind>-<name>" in lower case, as the
// workload's NetworkPolicy is named (synth::PolicyName).
std::string ObjectName(std::string_view kind, std::string_view name);

// Server-side apply body for one node's entry: apiVersion, kind, metadata
// (name, namespace, a managed-by label, an ownerReference to the workload
// when its uid is known), spec.workload and status.nodes = [report].
std::string ApplyJson(const WorkloadRef& client, std::string_view ns, const NodeReport& report);

// Parses an object as the API server returns it. Errors name the field
// ("ObservedFlows shop/deployment-web: status.nodes[0].flows[2].port: ...").
[[nodiscard]] StatusOr<ObservedFlows> ParseObservedFlows(std::string_view json);

// The flows of all nodes, merged per (server, service, port, protocol):
// counts summed, the earliest firstSeen, the latest lastSeen, and the nodes
// that saw it. Sorted by server, service, port and protocol.
struct MergedFlow {
  Flow flow;
  std::vector<std::string> nodes;
  uint64_t dropped_connections = 0;  // summed over every node of the object (same value on each)
};
std::vector<MergedFlow> Merge(const ObservedFlows& o);

// The workload a reference names, as synthesis keys it: a built-in kind
// whose apiVersion is its own, else a custom workload (kCustom, its kind
// qualified with the API group when it has a built-in kind's name).
WorkloadKey ToWorkloadKey(const WorkloadRef& ref, std::string_view ns);

// The merged flows of an object as synthesis reads them
// (Snapshot::observed_flows): one per MergedFlow, times in Unix seconds.
std::vector<ObservedFlow> ToModel(const ObservedFlows& o);

// RFC 3339 in UTC: "2025-06-01T10:00:00Z", or with microseconds (rounded up)
// "2025-06-01T10:00:00.123457Z" when `micros`.
std::string FormatTime(WallTime t, bool micros = false);
// Accepts "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm)".
[[nodiscard]] StatusOr<WallTime> ParseTime(std::string_view s);

}  // namespace npc::observedflows
