// ClusterIndex: the snapshot, indexed once for synthesis.
//
//   ClusterIndex index(snapshot, config);           // O(cluster), edges resolved once
//   if (const Workload* w = index.FindWorkload(key); w && !index.SkipReason(*w)) {
//     std::vector<Warning> warnings;
//     WorkloadPolicy p = ComputePolicy(index, *w, &warnings);  // O(what touches w)
//   }
//
// Building the index scans every pod template once, resolves every reference
// (edges and unresolved names), forms the workloads of pods run by
// controllers of unknown kinds (kCustom), attributes every pod to its
// workload, and inverts the graph (Service -> clients, workload -> Services
// selecting its template or its pods, monitors, routes and API-server calls
// -> the workloads they reach), so computing one workload's policy reads only
// what concerns that workload. Synthesize() is ComputePolicy over every
// managed workload; the controller's Incremental builds an index over the
// neighbourhood of the workloads it recomputes.
//
// Cost: O(workloads + pods x labels + Services x selector size + monitors x
// Services) to build; pods are indexed by label, never compared pairwise.
//
// Lifetime: the index keeps pointers into `snapshot` and `config`; both must
// outlive it and stay unchanged. Thread-safety: const methods may be called
// concurrently; the index is immutable after construction.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/model.h"
#include "synth/refs.h"
#include "synth/synth.h"

namespace npc::synth {

// The selector of W's pods before overlaps are considered: W.pod_selector
// with expressions sorted and values de-duplicated; for a bare Pod without
// labels, {netpol-ctrl.io/pod: BarePodLabelValue(name)}.
// ClusterIndex::PodSelectorOf says what a policy writes (DESIGN.md section 1).
[[nodiscard]] LabelSelector EffectivePodSelector(const Workload& w);

// Every value of W's pod template that may name a host, as the process sees
// it: env values after $(VAR) expansion (envFrom, configMapKeyRef and
// secretKeyRef values included), command and args after expansion, and the
// data of ConfigMaps and Secrets mounted as volumes. `field` says where the
// value was read ("env DB_URL", "args[2]", "volume configmap app-config key
// settings.ini", "env DB from secret db key url", ...). ConfigMaps and
// Secrets come from the lookups (null: unknown or not read). A Secret
// value is its host names only (model.h Secret); it stands for a $(VAR)
// only when it was exactly one host name.
using ConfigMapLookup = std::function<const ConfigMap*(const std::string& name)>;
using SecretLookup = std::function<const Secret*(const std::string& name)>;
using TemplateValueVisitor =
    std::function<void(const std::string& container, std::string field, std::string_view value)>;
void VisitTemplateValues(const Workload& w, const ConfigMapLookup& config_map,
                         const SecretLookup& secret, const TemplateValueVisitor& visit);

// The names of the ConfigMaps (Secrets) W's template reads, whether they
// exist or not; sorted, unique.
[[nodiscard]] std::vector<std::string> ConfigMapsRead(const Workload& w);
[[nodiscard]] std::vector<std::string> SecretsRead(const Workload& w);

// The Prometheus operator's labels on the pods of Prometheus `p`
// ({app.kubernetes.io/name: prometheus, prometheus: <name>}).
[[nodiscard]] Labels PrometheusPodLabels(const Prometheus& p);

// The pods of the Gateway implementation `peer` for Gateway `g`: "{name}"
// and "{namespace}" replaced in its selectors.
[[nodiscard]] PeerSelector InstantiateGatewayPeer(const PeerSelector& peer, const Gateway& g);

// Whether a Prometheus selects a monitor in namespace `monitor_ns` with
// labels `monitor_labels` (operator semantics: a null selector selects no
// monitor, {} all; a null namespace selector means the Prometheus' own
// namespace). `namespace_labels` are the monitor namespace's labels.
[[nodiscard]] bool SelectsMonitor(const Prometheus& p,
                                  const std::optional<LabelSelector>& selector,
                                  const std::optional<LabelSelector>& namespace_selector,
                                  const std::string& monitor_ns, const Labels& monitor_labels,
                                  const Labels& namespace_labels);

// Who runs a pod (DESIGN.md section 1): the key ("Kind/ns/name") of its
// workload, and, for the pods of a controller of an unknown kind (directly or
// through a ReplicaSet or Job), the owner the custom workload is named after.
// `controlled` finds controller-owned ReplicaSets and Jobs by key
// ("ReplicaSet/ns/name"). nullopt: no workload (a bare pod is a workload of
// its own; a static pod's mirror, owned by its Node, is none).
struct PodOwner {
  std::string key;
  std::optional<OwnerReference> custom;
};
// The controller of the ReplicaSet or Job `key` (nullptr when it is not known).
using ControlledLookup = std::function<const OwnerReference*(const std::string& key)>;
[[nodiscard]] std::optional<PodOwner> ResolvePodOwner(const Pod& pod,
                                                      const ControlledLookup& controlled);

// The custom workload of `owner` in `ns` from all its pods (sorted by name)
// and the controller-owned ReplicaSets and Jobs it owns (any order): its
// selector is the labels every pod has but the per-revision ones, its
// template the newest ReplicaSet's or Job's, else the first pod's spec.
[[nodiscard]] Workload MakeCustomWorkload(const OwnerReference& owner, const std::string& ns,
                                          const std::vector<const Pod*>& pods,
                                          std::vector<const Workload*> templates);

// Whether a controller-owned ReplicaSet or Job belongs to `owner`.
[[nodiscard]] bool OwnedBy(const Workload& controlled, const OwnerReference& owner);

class ClusterIndex {
 public:
  ClusterIndex(const Snapshot& snapshot, const SynthesisConfig& config);
  ClusterIndex(const ClusterIndex&) = delete;
  ClusterIndex& operator=(const ClusterIndex&) = delete;

  const Snapshot& snapshot() const { return snapshot_; }
  const SynthesisConfig& config() const { return config_; }

  // Workloads, sorted by key: those of the snapshot (controller-owned Pods,
  // ReplicaSets and Jobs left out) and the custom ones formed from pods.
  const std::vector<const Workload*>& workloads() const { return workloads_; }
  const Workload* FindWorkload(const WorkloadKey& key) const;

  // Why `w` gets no policy; nullopt when it gets one. `w` must be one of workloads().
  std::optional<std::string> SkipReason(const Workload& w) const;

  // The pod selector a policy writes for `w`: EffectivePodSelector, or, when
  // that also matches another workload's template in its namespace, W's own
  // template labels without per-revision ones (DESIGN.md section 1).
  const LabelSelector& PodSelectorOf(const Workload& w) const;

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

  // The flows rules 1 and 2 add beyond references, for `graph`: API-server
  // calls (client "API server"), scrapes (client a Prometheus or the
  // monitoring peers) and routes (client an ingress controller, the router
  // or a Gateway), each to a workload.
  struct PlatformEdge {
    std::string from;  // "API server", "Prometheus monitoring/k8s", "Gateway shop/web", ...
    WorkloadKey to;
    std::string label;  // ports
    bool pods = false;  // not a flow: `to` makes the pods of `from` (a Prometheus)
  };
  std::vector<PlatformEdge> PlatformEdges() const;

  // The workloads a Service sends to: those whose template or pods its
  // selector selects (empty for selector-less and ExternalName Services).
  std::vector<WorkloadKey> Backends(std::string_view ns, std::string_view name) const;

 private:
  friend WorkloadPolicy ComputePolicy(const ClusterIndex&, const Workload&, std::vector<Warning>*);
  friend class PolicyBuilder;

  struct ScrapeTarget {
    uint32_t workload;
    std::vector<PolicyPort> ports;
  };
  // A scrape (or alerting) flow of rule 2.
  struct Scrape {
    const Prometheus* prometheus = nullptr;  // null: the configured monitoring peers
    std::string via;                         // "ServiceMonitor ns/name endpoint web", ...
    std::string target_ns;                   // "" with any_namespace
    bool any_namespace = false;
    LabelSelector target_pods;             // a Service's selector or a PodMonitor's
    std::optional<std::vector<PolicyPort>> ports;  // nullopt: every port
    const Service* selectorless = nullptr;  // set: its EndpointSlices' addresses instead
    std::string endpoint_port;              // with selectorless: the Service port name
    std::vector<uint32_t> targets;          // the workloads scraped (for ingress)
  };
  struct HookCall {
    const ApiServerHook* hook;
    const ApiServerHook::Call* call;
    uint32_t service;
  };
  // Class resolution of one Ingress (rule 5).
  struct IngressPeers {
    std::vector<const PeerSelector*> peers;
    std::string why;      // "class nginx (controller k8s.io/ingress-nginx)", ...
    std::string warning;  // set when no configured peer serves it
  };

  uint32_t IndexOf(const Workload& w) const;
  const Service* FindService(std::string_view ns, std::string_view name) const;
  std::optional<uint32_t> ServiceIndex(std::string_view ns, std::string_view name) const;
  Labels NamespaceLabels(const std::string& ns) const;
  bool MatchesPeer(const std::vector<PeerSelector>& peers, const Workload& w) const;
  bool MatchesPeer(const PeerSelector& peer, const Workload& w) const;
  void ResolveHost(std::string_view client_ns, const HostRef& ref, Resolution* out) const;
  void ScanWorkload(uint32_t wi);
  void AddObservedEdges();  // synth/observed.h
  void AddRefs(uint32_t wi, const std::string& container, std::string field,
               std::string_view value);
  void NarrowPorts(const Service& svc, const HostRef& ref, Resolution* out) const;
  void ComputeScrape(uint32_t wi);
  void AttributePods();
  void FormCustomWorkloads();
  void ComputeSelectors();
  // Workloads whose template or live pods `selector` selects in `ns`.
  std::vector<uint32_t> SelectedIn(const std::string& ns, const LabelSelector& selector) const;
  std::vector<uint32_t> SelectedIn(const std::string& ns, const Labels& selector) const;
  std::vector<uint32_t> SelectedInTemplates(const std::string& ns,
                                            const LabelSelector& selector) const;
  IngressPeers ResolveIngressPeers(const Ingress& ing) const;
  void ComputeMonitoring();
  void AddScrape(Scrape s);
  const IngressPeers& PeersOf(const Ingress& ing) const;
  // A hostNetwork workload a configured selector peer matches ("" when none).
  std::string HostNetworkMatch(const PeerSelector& peer) const;

  const Snapshot& snapshot_;
  const SynthesisConfig& config_;
  std::string domain_;  // cluster domain, lower case, no dots around

  std::deque<Workload> custom_;  // the kCustom workloads (stable addresses)
  std::vector<const Workload*> workloads_;
  std::unordered_map<std::string, uint32_t> workload_by_key_;  // "Kind/ns/name"
  std::unordered_map<std::string, std::vector<uint32_t>> workloads_in_ns_;
  // Controller-owned ReplicaSets and Jobs, "Kind/ns/name".
  std::unordered_map<std::string, const Workload*> controlled_;
  std::vector<const Service*> services_;                       // sorted by ns, name
  std::unordered_map<std::string, uint32_t> service_by_key_;   // "ns/name"
  std::unordered_map<std::string, std::vector<std::string>> service_namespaces_;  // name -> ns
  std::unordered_map<std::string, const Namespace*> namespaces_;
  std::unordered_map<std::string, bool> known_namespaces_;
  std::unordered_map<std::string, const ConfigMap*> config_maps_;              // "ns/name"
  std::unordered_map<std::string, const Secret*> secrets_;                     // "ns/name"
  std::unordered_map<std::string, std::vector<const EndpointSlice*>> slices_;  // "ns/service"
  std::unordered_map<std::string, std::vector<const Ingress*>> ingresses_;     // ns
  std::unordered_map<std::string, std::vector<const Route*>> routes_;          // ns
  std::unordered_map<std::string, const IngressClass*> ingress_classes_;       // name
  std::unordered_map<std::string, const Gateway*> gateways_;                   // "ns/name"
  std::unordered_map<std::string, const GatewayClass*> gateway_classes_;       // name
  // Service "ns/name" -> the Gateway routes with a backendRef to it.
  std::unordered_map<std::string, std::vector<std::pair<const GatewayRoute*, size_t>>>
      gateway_routes_;
  std::unordered_map<std::string, WorkloadKey> pods_;  // "ns/ip" (pod DNS names)
  bool pod_ips_known_ = false;
  std::vector<std::pair<PeerSelector, std::string>> gateway_pods_;  // instantiated, "ns/name"
  std::map<const Ingress*, IngressPeers> ingress_peers_;

  // Pods attributed to workloads.
  std::vector<const Pod*> pods_list_;
  std::vector<std::optional<uint32_t>> pod_owner_;           // per pod: its workload
  std::vector<std::vector<uint32_t>> live_pods_;             // per workload: its pods
  std::unordered_map<std::string, std::vector<uint32_t>> pods_by_label_;  // ns\0k\0v -> pods
  std::unordered_map<std::string, std::vector<uint32_t>> pods_in_ns_;
  std::unordered_map<std::string, std::vector<uint32_t>> by_label_;  // ns\0k\0v -> workloads

  std::vector<LabelSelector> selector_;              // per workload (PodSelectorOf)
  std::vector<std::string> selector_notes_;          // per workload: why narrowed
  std::vector<std::vector<std::string>> notes_;      // per workload: warnings found indexing
  std::vector<std::optional<std::string>> skip_;     // per workload
  std::vector<std::vector<uint32_t>> backends_;      // per service: workloads selected
  std::vector<std::vector<uint32_t>> selected_by_;   // per workload: services selecting it
  std::vector<std::vector<Edge>> edges_;             // per workload (client)
  std::vector<std::vector<Unresolved>> unresolved_;  // per workload (client)
  // per workload (client): observed external flows to allow
  std::vector<std::vector<const ObservedFlow*>> observed_external_;
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> service_clients_;  // (client, edge)
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> pod_clients_;      // per target
  std::vector<std::optional<ScrapeTarget>> scrape_;                          // per workload
  std::vector<uint32_t> scraped_;  // workloads with scrape ports
  std::vector<HookCall> hook_calls_;
  std::vector<Scrape> scrapes_;
  std::vector<std::vector<uint32_t>> scrapes_into_;  // per workload: scrapes reaching it
  std::vector<std::vector<uint32_t>> scrapes_from_;  // per workload: scrapes it makes
  // per workload: the Prometheus objects whose pods it makes (they discover
  // their targets through the API server)
  std::vector<std::vector<const Prometheus*>> prometheus_of_;
  std::map<const PeerSelector*, std::string> host_network_peer_;  // configured peer -> workload
  std::vector<const Workload*> host_network_;  // the hostNetwork workloads
};

// The policy of one managed workload (SkipReason(w) must be nullopt), with
// canonical rules. Appends what cannot be expressed to `warnings` when given.
[[nodiscard]] WorkloadPolicy ComputePolicy(const ClusterIndex& index, const Workload& w,
                                           std::vector<Warning>* warnings = nullptr);

}  // namespace npc::synth
