// ClusterIndex: the snapshot, indexed once for synthesis.
//
//   ClusterIndex index(snapshot, config);           // O(cluster), edges resolved once
//   if (const Workload* w = index.FindWorkload(key); w && !index.SkipReason(*w)) {
//     std::vector<Warning> warnings;
//     WorkloadPolicy p = ComputePolicy(index, *w, &warnings);  // O(what touches w)
//   }
//
// Building the index scans every pod template once, resolves every reference
// (edges and unresolved names), and inverts the graph (Service -> clients,
// workload -> Services selecting it), so computing one workload's policy
// reads only what concerns that workload. Synthesize() is ComputePolicy over
// every managed workload; the controller can build an index per reconcile
// batch and recompute only the workloads it needs.
//
// Lifetime: the index keeps pointers into `snapshot` and `config`; both must
// outlive it and stay unchanged. Thread-safety: const methods may be called
// concurrently; the index is immutable after construction.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/model.h"
#include "synth/refs.h"
#include "synth/synth.h"

namespace npc::synth {

// The selector of W's pods as a policy writes it: W.pod_selector with
// expressions sorted and values de-duplicated; for a bare Pod without labels,
// {netpol-ctrl.io/pod: BarePodLabelValue(name)}.
[[nodiscard]] LabelSelector EffectivePodSelector(const Workload& w);

// Every value of W's pod template that may name a host, as the process sees
// it: env values after $(VAR) expansion (envFrom and configMapKeyRef values
// included), command and args after expansion, and the data of ConfigMaps
// mounted as volumes. `field` says where the value was read ("env DB_URL",
// "args[2]", "volume configmap app-config key settings.ini", ...). ConfigMaps
// come from `config_map` (null: unknown or not read).
using ConfigMapLookup = std::function<const ConfigMap*(const std::string& name)>;
using TemplateValueVisitor =
    std::function<void(const std::string& container, std::string field, std::string_view value)>;
void VisitTemplateValues(const Workload& w, const ConfigMapLookup& config_map,
                         const TemplateValueVisitor& visit);

// The names of the ConfigMaps W's template reads (envFrom, configMapKeyRef,
// volumes), whether they exist or not; sorted, unique.
[[nodiscard]] std::vector<std::string> ConfigMapsRead(const Workload& w);

class ClusterIndex {
 public:
  ClusterIndex(const Snapshot& snapshot, const SynthesisConfig& config);
  ClusterIndex(const ClusterIndex&) = delete;
  ClusterIndex& operator=(const ClusterIndex&) = delete;

  const Snapshot& snapshot() const { return snapshot_; }
  const SynthesisConfig& config() const { return config_; }

  // Workloads (Pods, ReplicaSets and Jobs with a controller left out), sorted by key.
  const std::vector<const Workload*>& workloads() const { return workloads_; }
  const Workload* FindWorkload(const WorkloadKey& key) const;

  // Why `w` gets no policy; nullopt when it gets one. `w` must be one of workloads().
  std::optional<std::string> SkipReason(const Workload& w) const;

  // Resolution of every host name in `value` as read by a client in `client_ns`
  // (references the index would find, without building edges). For tests and
  // `explain`.
  struct Resolution {
    std::string host;
    std::string port;
    // Set when resolved: the Service ("ns/name") or, for pod DNS, the workload.
    const Service* service = nullptr;
    std::optional<WorkloadKey> target;
    std::vector<ServicePort> ports;  // the Service ports narrowed to (all when none written)
    std::string why;                 // set when unresolved
  };
  std::vector<Resolution> ResolveValue(std::string_view client_ns, std::string_view value) const;

  // Edges and unresolved names found in the templates of every workload.
  std::vector<Edge> AllEdges() const;
  std::vector<Unresolved> AllUnresolved() const;
  // The unresolved names of one workload (one of workloads()), sorted.
  const std::vector<Unresolved>& UnresolvedOf(const Workload& w) const;

 private:
  friend WorkloadPolicy ComputePolicy(const ClusterIndex&, const Workload&, std::vector<Warning>*);
  friend class PolicyBuilder;

  struct ScrapeTarget {
    uint32_t workload;
    std::vector<PolicyPort> ports;
  };

  uint32_t IndexOf(const Workload& w) const;
  const Service* FindService(std::string_view ns, std::string_view name) const;
  Labels NamespaceLabels(const std::string& ns) const;
  bool MatchesPeer(const std::vector<PeerSelector>& peers, const Workload& w) const;
  void ResolveHost(std::string_view client_ns, const HostRef& ref, Resolution* out) const;
  void ScanWorkload(uint32_t wi);
  void AddRefs(uint32_t wi, const std::string& container, std::string field,
               std::string_view value);
  void NarrowPorts(const Service& svc, const HostRef& ref, Resolution* out) const;
  void ComputeScrape(uint32_t wi);

  const Snapshot& snapshot_;
  const SynthesisConfig& config_;
  std::string domain_;  // cluster domain, lower case, no dots around

  std::vector<const Workload*> workloads_;
  std::unordered_map<std::string, uint32_t> workload_by_key_;  // "Kind/ns/name"
  std::vector<const Service*> services_;                       // sorted by ns, name
  std::unordered_map<std::string, uint32_t> service_by_key_;   // "ns/name"
  std::unordered_map<std::string, std::vector<std::string>> service_namespaces_;  // name -> ns
  std::unordered_map<std::string, const Namespace*> namespaces_;
  std::unordered_map<std::string, bool> known_namespaces_;
  std::unordered_map<std::string, const ConfigMap*> config_maps_;              // "ns/name"
  std::unordered_map<std::string, std::vector<const EndpointSlice*>> slices_;  // "ns/service"
  std::unordered_map<std::string, std::vector<const Ingress*>> ingresses_;     // ns
  std::unordered_map<std::string, WorkloadKey> pods_;                          // "ns/ip"

  std::vector<std::optional<std::string>> skip_;     // per workload
  std::vector<std::vector<uint32_t>> backends_;      // per service: workloads selected
  std::vector<std::vector<uint32_t>> selected_by_;   // per workload: services selecting it
  std::vector<std::vector<Edge>> edges_;             // per workload (client)
  std::vector<std::vector<Unresolved>> unresolved_;  // per workload (client)
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> service_clients_;  // (client, edge)
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> pod_clients_;      // per target
  std::vector<std::optional<ScrapeTarget>> scrape_;                          // per workload
  std::vector<std::vector<std::string>> scrape_warnings_;
  std::vector<uint32_t> scraped_;  // workloads with scrape ports
};

// The policy of one managed workload (SkipReason(w) must be nullopt), with
// canonical rules. Appends what cannot be expressed to `warnings` when given.
[[nodiscard]] WorkloadPolicy ComputePolicy(const ClusterIndex& index, const Workload& w,
                                           std::vector<Warning>* warnings = nullptr);

}  // namespace npc::synth
