// Incremental synthesis: the controller's way of keeping desired policies
// current without re-synthesizing the cluster on every event.
//
//   Incremental inc(config);
//   inc.Upsert(workload); inc.Upsert(service); ...      // from informers
//   Changes c = inc.Recompute();                          // the first call: everything
//   inc.Remove(ObjectKind::kService, "shop", "api");
//   c = inc.Recompute();                                  // only what that touched
//
// It holds the objects synthesis reads (shared, immutable) and reverse
// indexes that say which workloads a change can affect:
//   - a workload: itself, the clients of every Service selecting it (before
//     and after), the backends of every Service its references may name
//     (before and after), the monitoring workloads when it is scraped, the
//     users of the workloads whose selectors overlap its template (their
//     selectors may change), and its namespace's default-deny;
//   - a Pod: nothing when it is one more pod of a known workload labelled as
//     its template (plus per-revision labels) and no selector names a
//     per-revision label; else its workload (live labels make it a backend),
//     the clients of the Services its labels match when that workload uses
//     hostNetwork, the custom workload it forms (kCustom, re-derived from all
//     its pods), and the clients naming its IP (pod DNS);
//   - a controller-owned ReplicaSet or Job: the workloads of its pods;
//   - a Service: the workloads whose references may name it, its backends
//     under the old and the new selector (templates and pods), and the
//     Prometheus workloads when a ServiceMonitor or Alertmanager names it;
//   - an EndpointSlice: the workloads whose references may name its Service
//     (and those allowed to reach the API server, and the backends of
//     API-server calls, for default/kubernetes; and the Prometheus workloads);
//   - an Ingress, Route, Gateway route, webhook configuration, APIService or
//     CRD: the backends of the Services it names (before and after);
//   - a ServiceMonitor or PodMonitor: what it selects and the Prometheus
//     workloads;
//   - a ConfigMap or Secret: the workloads that read it, each as a changed
//     workload;
//   - a Namespace: the workloads in it and its default-deny (everything when
//     Prometheus objects select monitors by namespace labels);
//   - an IngressClass: the backends of every Ingress; a Gateway,
//     GatewayClass or Prometheus: everything (they are few and rarely change).
// Recompute() then builds a snapshot of just the neighbourhood of those
// workloads (what ComputePolicy reads for each of them: pods of every
// workload it includes, the platform objects always) and runs the same
// ClusterIndex and ComputePolicy as Synthesize() over it. The result for every
// workload equals what Synthesize() gives over the whole cluster; the
// property test incremental_test checks that over random clusters and random
// change sequences of every kind.
//
// Memory: a pod costs its Pod struct (labels, owner reference, IP and, when
// given, its spec) and its entries in the label and owner indexes; the
// controller gives a spec to at most one pod per custom workload.
//
// Thread-safety: none; callers serialize access.
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "model/model.h"
#include "synth/index.h"
#include "synth/key_index.h"
#include "synth/observed.h"
#include "synth/synth.h"

namespace npc::synth {

enum class ObjectKind {
  kService,
  kEndpointSlice,
  kIngress,
  kConfigMap,
  kNamespace,
  kPod,  // a controller-owned pod (bare pods are workloads: Remove(WorkloadKey))
  kSecret,
  kIngressClass,
  kRoute,
  kGateway,
  kGatewayClass,
  kHTTPRoute,
  kGRPCRoute,
  kTLSRoute,
  kTCPRoute,
  kUDPRoute,
  kValidatingWebhookConfiguration,
  kMutatingWebhookConfiguration,
  kAPIService,
  kCustomResourceDefinition,
  kPrometheus,
  kServiceMonitor,
  kPodMonitor,
};

// The ObjectKind of a Kubernetes kind name ("HTTPRoute" -> kHTTPRoute);
// nullopt for workload kinds and kinds synthesis does not read.
std::optional<ObjectKind> ParseObjectKind(std::string_view kind);

// What a Recompute() found.
struct Changes {
  // For the workloads in `workloads` only: their policies (sorted by
  // namespace and name), skips, unresolved names and warnings; default_deny
  // holds the default-deny policies of the namespaces in `namespaces` that
  // get one. `edges` is left empty.
  Result result;
  // Every workload recomputed, including those gone since (sorted, unique).
  // A workload listed here without a policy in `result` has none.
  std::vector<WorkloadKey> workloads;
  // Namespaces whose default-deny policy was decided again (sorted, unique).
  std::vector<std::string> namespaces;
  bool full = false;  // everything was recomputed
};

class Incremental {
 public:
  // `reasons`: keep each rule's reasons in the policies returned (explain,
  // tests); the controller never shows them and saves their memory.
  explicit Incremental(SynthesisConfig config, bool reasons = true);
  Incremental(const Incremental&) = delete;
  Incremental& operator=(const Incremental&) = delete;
  ~Incremental();

  // Adds or replaces an object. Returns false when nothing synthesis reads
  // changed (an equal object, or a pod that changes no policy: see above). A
  // Pod, ReplicaSet or Job with a controller is never a workload: it
  // replaces nothing and removes a workload of the same key; such
  // ReplicaSets and Jobs are kept (they say who runs pods, and hold custom
  // workloads' templates).
  bool Upsert(const Workload& w);
  bool Upsert(const Pod& p);
  bool Upsert(const Service& s);
  bool Upsert(const EndpointSlice& e);
  bool Upsert(const Ingress& i);
  bool Upsert(const ConfigMap& c);
  bool Upsert(const Secret& s);
  bool Upsert(const Namespace& n);
  bool Upsert(const IngressClass& c);
  bool Upsert(const Route& r);
  bool Upsert(const Gateway& g);
  bool Upsert(const GatewayClass& c);
  bool Upsert(const GatewayRoute& r);
  bool Upsert(const ApiServerHook& h);
  bool Upsert(const Prometheus& p);
  bool Upsert(const ServiceMonitor& m);
  bool Upsert(const PodMonitor& m);
  // The flows of an ObservedFlows object (`object_key` "ns/name"), kept only
  // with SynthesisConfig::observed_flows allow (the flows ObservedAllowed
  // admits): they are edges of their clients, and touch both ends.
  // False when nothing synthesis reads changed.
  bool UpsertObserved(const std::string& object_key, const std::vector<ObservedFlow>& flows);
  bool RemoveObserved(const std::string& object_key);
  // Judges `flows` against the policies the objects now held say (as of now,
  // like Policy()): those the policies would deny (synth/observed.h).
  [[nodiscard]] std::vector<WouldDeny> Judge(const std::vector<ObservedFlow>& flows) const;

  // Forgets an object; false when it was not known. Remove(WorkloadKey)
  // forgets a controller-owned ReplicaSet or Job of that key too.
  bool Remove(const WorkloadKey& key);
  // `ns` is ignored for cluster-scoped kinds.
  bool Remove(ObjectKind kind, const std::string& ns, const std::string& name);

  // Synthesizes every workload a change since the last call may have
  // affected (all of them on the first call).
  //
  // `take`, when set, is handed each policy as soon as it is computed, and
  // result.policies does not hold it: a full recompute never holds every
  // policy at once (the controller keeps a summary of each; at 10,000
  // workloads the policies without their rules were 16 MB).
  using PolicyHook = std::function<void(WorkloadPolicy&&)>;
  //
  // The workloads are synthesized in batches of `batch_size` (default
  // kDefaultBatchSize), each over the objects its workloads' policies read:
  // memory grows with the batch, not with the cluster. A smaller batch
  // costs more time (objects near two batches are indexed for each).
  [[nodiscard]] Changes Recompute(const PolicyHook& take = nullptr);
  static constexpr size_t kDefaultBatchSize = 1000;
  void set_batch_size(size_t n) { batch_size_ = n > 0 ? n : 1; }
  bool pending() const;
  // Every workload held (unsorted): the controller's periodic resync checks
  // the desired policy of each, a few at a time, against Policy().
  // The Namespace object of that name, or nullptr when none is held.
  const Namespace* FindNamespace(const std::string& name) const;
  std::vector<WorkloadKey> Workloads() const {
    std::vector<WorkloadKey> keys;
    keys.reserve(workloads_.size());
    for (const auto& [k, w] : workloads_) keys.push_back(w->key());
    return keys;
  }

  // The policy of one workload as the objects now held say (not as of the
  // last Recompute()); nullopt when it is unknown or gets none. Computed over
  // its neighbourhood: costs about what one workload costs in Recompute().
  [[nodiscard]] std::optional<NetworkPolicy> Policy(const WorkloadKey& workload) const;
  // How many objects of some kinds Policy(workload) reads: what a policy
  // costs follows from it (tests).
  struct NeighbourhoodSize {
    size_t workloads = 0;
    size_t pods = 0;
    size_t services = 0;
    size_t endpoint_slices = 0;
  };
  NeighbourhoodSize PolicyNeighbourhoodSize(const WorkloadKey& workload) const;

  // True when some workload held now reads ConfigMap ns/name (env, envFrom
  // or a volume): the controller keeps the data of those only.
  [[nodiscard]] bool ReadsConfigMap(const std::string& ns, const std::string& name) const;

  // Totals over the whole cluster, as of the last Recompute().
  size_t policies() const { return managed_ + default_deny_.size(); }
  size_t unresolved() const { return unresolved_total_; }
  size_t pods() const { return pods_.size(); }
  // Each workload key the reverse indexes hold, with its number of entries
  // in them (tests: after any history of changes, the same as in an
  // Incremental given only the objects held now; a stale entry shows here).
  std::map<std::string, size_t> IndexEntries() const {
    return {key_pool_.counts().begin(), key_pool_.counts().end()};
  }
  // Distinct label sets over the pods kept (each held once).
  size_t pod_label_sets() const { return pod_label_sets_.size(); }
  // The pod as kept (nullptr when unknown).
  const Pod* FindPod(const std::string& ns, const std::string& name) const;

 private:
  template <typename T>
  using Ptr = std::shared_ptr<const T>;
  using KeySet = std::set<std::string>;

  // What the indexes remember of a workload.
  struct Derived {
    std::vector<std::string> candidates;   // "ns/name" of Services its references may name
    std::vector<std::string> short_names;  // single-label host names it writes
    std::vector<std::string> labels;       // every DNS label of every host it writes
    std::vector<std::string> config_maps;  // "ns/name" of ConfigMaps it reads
    std::vector<std::string> secrets;      // "ns/name" of Secrets it reads
    std::vector<std::string> pod_ips;      // "ns/ip" of the pod DNS names it writes
    bool scraped = false;
    bool monitor = false;
    bool api_server = false;
  };
  // What the last Recompute() decided for a workload.
  struct Outcome {
    WorkloadKey key;
    std::optional<std::string> skip_reason;
    bool host_network = false;
    size_t unresolved = 0;
  };
  // A pod's key in pods_: its namespace and name, viewed in the Pod its
  // entry holds (no copy: about 100 bytes a pod as an "ns/name" string).
  // Ordered as the string "ns/name" would be (a LIST's order).
  struct PodKey {
    std::string_view ns;
    std::string_view name;
    bool operator==(const PodKey&) const = default;
    bool operator<(const PodKey& o) const;
    // "ns/name" of an object key (a view into it).
    static PodKey Of(const std::string& joined);
  };
  // A pod as kept: small, its labels and owner shared with its siblings
  // (SharedWithSiblings); its ReplicaSet or Job is DirectKey(pod). The Pod
  // is held in the entry, and the entry is the element of pods_ (its key is
  // read from the Pod): no separate Pod allocation and no key beside it,
  // about 80 bytes a pod less than a map node with a shared Pod.
  struct PodEntry {
    Pod pod;
    Shared<std::string> owner;  // its workload's key ("" for none), one copy per workload
    bool custom = false;        // that workload is a custom one
    SharedOptional<OwnerReference> custom_owner;  // with custom: the owner it is named after
    PodKey key() const { return PodKey{pod.ns, pod.name}; }
  };
  // pods_ looks entries up by PodKey (heterogeneous lookup), without a Pod.
  struct PodKeyHash {
    using is_transparent = void;
    // noexcept: the node keeps no copy of the hash (it is read from the Pod).
    size_t operator()(const PodKey& k) const noexcept {
      return std::hash<std::string_view>()(k.ns) * 31 ^ std::hash<std::string_view>()(k.name);
    }
    size_t operator()(const PodEntry& e) const noexcept { return (*this)(e.key()); }
  };
  struct PodKeyEq {
    using is_transparent = void;
    static PodKey K(const PodKey& k) { return k; }
    static PodKey K(const PodEntry& e) { return e.key(); }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return K(a) == K(b);
    }
  };

  Derived Derive(const Workload& w) const;
  void Index(const std::string& key, const Derived& d);
  void Unindex(const std::string& key, const Derived& d);
  void SetWorkload(const std::string& key, Ptr<Workload> next);
  void TouchWorkload(const Workload* before, const Derived* before_d, const Workload* after,
                     const Derived* after_d);
  void TouchService(const Service* before, const Service* after);
  void TouchNamespaceKnown(const std::string& ns, int delta);
  void TouchNamespace(const std::string& ns, int delta);
  void Dirty(const std::string& workload_key);
  void DirtyAll(const KeySet& workload_keys);
  void DirtyAll(const KeyRefs* workload_keys);  // nullptr: none
  void DirtyEverything();
  void DirtyBackends(const Service& s);
  void DirtyBackends(const std::string& ns, const std::string& service);
  void DirtyClients(const std::string& service_key);
  void DirtyNamespace(const std::string& ns);  // the workloads in it
  void DirtyScrapers();
  void DirtyPeerUsers(const std::string& workload_key);
  void DirtyPodIp(const std::string& ns, const std::string& ip);
  void TouchSlice(const EndpointSlice& e);
  void TouchServiceMonitor(const ServiceMonitor& m);
  void TouchPodMonitor(const PodMonitor& m);
  void Rederive(const std::string& workload_key);
  void RederiveReaders(const std::string& config_map_key);
  void RederiveSecretReaders(const std::string& secret_key);
  // Pods.
  // `p` as kept under `key`: its owner shared with an equal pod's (its last
  // version, a pod of its ReplicaSet or workload) when there is one (SetPod
  // interns its labels).
  Pod SharedWithSiblings(const std::string& key, const Pod& p);
  // "ReplicaSet/ns/name" or "Job/ns/name" of the pod's controller ("" for others).
  static std::string DirectKey(const Pod& p);
  // An element of pods_, and pods as sets of those (stable while the pod is
  // kept; ordered by key): the indexes hold no copy of a pod's key.
  using PodNode = PodEntry;
  struct ByPodKey {
    bool operator()(const PodNode* a, const PodNode* b) const { return a->key() < b->key(); }
  };
  // Pods as a vector sorted by key: a pointer each, where a std::set node
  // took 48 bytes (and every pod is in two: its workload's and its
  // ReplicaSet's). A LIST delivers pods in name order, so most inserts append.
  class PodSet {
   public:
    void insert(const PodNode* n) {
      if (pods_.empty() || ByPodKey{}(pods_.back(), n)) {
        pods_.push_back(n);
        return;
      }
      auto it = std::lower_bound(pods_.begin(), pods_.end(), n, ByPodKey{});
      if (it == pods_.end() || ByPodKey{}(n, *it)) pods_.insert(it, n);
    }
    void erase(const PodNode* n) {
      auto it = std::lower_bound(pods_.begin(), pods_.end(), n, ByPodKey{});
      if (it != pods_.end() && !ByPodKey{}(n, *it)) pods_.erase(it);
      if (pods_.capacity() > 2 * pods_.size() + 4) pods_.shrink_to_fit();
    }
    bool empty() const { return pods_.empty(); }
    size_t size() const { return pods_.size(); }
    auto begin() const { return pods_.begin(); }
    auto end() const { return pods_.end(); }

   private:
    std::vector<const PodNode*> pods_;
  };

  // Replaces (or, with nullopt, removes) the pod kept under `key`: the
  // labels of the pod it keeps are interned in pod_label_sets_, those of the
  // pod it drops released.
  void SetPod(std::string key, std::optional<Pod> next);
  void IndexPod(const PodNode& pod, int delta);
  void RederiveCustom(const std::string& owner_key);
  void ReresolvePods(const std::string& direct_key);
  // A ReplicaSet or Job that another object controls. One of a Deployment
  // or CronJob only leads its pods to their workload: it keeps its uid and
  // controller, not a Workload (about 500 bytes less each, and a Deployment
  // keeps ten old ReplicaSets). One of an operator's resource keeps its
  // whole object (`full`): its template may be the workload's (rule 3).
  struct Controlled {
    Ptr<Workload> full;
    WorkloadKind kind = WorkloadKind::kReplicaSet;  // without `full`
    std::string uid;
    OwnerReference controller;
    const OwnerReference* Controller() const {
      if (!full) return &controller;
      return full->controller ? &*full->controller : nullptr;
    }
    bool operator==(const Controlled& o) const {
      if (full || o.full) return full && o.full && *full == *o.full;
      return kind == o.kind && uid == o.uid && controller == o.controller;
    }
  };
  // The Workload a ClusterIndex sees for controlled_[key] without `full`.
  static Workload SlimWorkload(const std::string& key, const Controlled& c);
  void SetControlled(const std::string& key, std::optional<Controlled> next);
  bool Boring(const PodEntry& e) const;
  // The distinct label sets of the pods of workload `key` in `ns` (its pods
  // mostly share one), so a Service is tested against each set once.
  std::vector<const Labels*> PodLabelSets(const std::string& key, const std::string& ns) const;
  // Whether Service `s` (of w's namespace) selects workload `w`: its
  // template, or a pod with one of `pod_labels` (PodLabelSets of w).
  static bool ServiceSelects(const Service& s, const Workload& w,
                             const std::vector<const Labels*>& pod_labels);
  // The workloads (keys) whose template or pods `selector` selects in `ns`.
  KeySet SelectedIn(const std::string& ns, const LabelSelector& selector) const;
  // The workloads in `ns` whose selector matches `template_labels`.
  KeySet Overlapping(const std::string& ns, const Labels& template_labels) const;
  // The workloads in `ns` whose template labels `selector` matches (through
  // template_label_workloads_: only those carrying its rarest pair are tested).
  KeySet TemplatesMatching(const std::string& ns, const LabelSelector& selector) const;
  std::optional<PodOwner> OwnerOf(const Pod& p) const;
  // The objects ComputePolicy reads for `workloads`, as a snapshot for
  // ClusterIndex.
  Snapshot Neighbourhood(const std::map<std::string, WorkloadKey>& workloads) const;

  const SynthesisConfig config_;
  const bool reasons_;
  size_t batch_size_ = kDefaultBatchSize;

  // The workload keys the reverse indexes (KeyIndex) hold, each once:
  // declared before them, so that it outlives them.
  KeyPool key_pool_;
  std::unordered_map<std::string, Ptr<Workload>> workloads_;     // "Kind/ns/name"
  std::unordered_map<std::string, Derived> derived_;             // same keys
  KeyIndex ns_workloads_{key_pool_};                             // ns -> workload keys
  // ns\0key\0value of a template label -> the workloads whose template has it.
  KeyIndex template_label_workloads_{key_pool_};
  std::unordered_map<std::string, Controlled> controlled_;       // "Kind/ns/name"
  std::unordered_map<std::string, KeySet> controlled_by_owner_;  // custom key -> controlled
  std::unordered_map<std::string, Ptr<Service>> services_;       // "ns/name"
  // ns -> its Services by key (what services_ holds: kept current by Upsert)
  std::unordered_map<std::string, std::map<std::string, const Service*>> ns_services_;
  std::unordered_map<std::string, KeySet> services_by_name_;     // name -> service keys
  std::unordered_map<std::string, Ptr<EndpointSlice>> slices_;   // "ns/name"
  std::unordered_map<std::string, KeySet> slices_by_service_;    // "ns/service" -> slice keys
  std::unordered_map<std::string, Ptr<Ingress>> ingresses_;      // "ns/name"
  std::unordered_map<std::string, KeySet> ns_ingresses_;         // ns -> ingress keys
  std::unordered_map<std::string, Ptr<Route>> routes_;           // "ns/name"
  std::unordered_map<std::string, KeySet> ns_routes_;            // ns -> route keys
  std::unordered_map<std::string, Ptr<ConfigMap>> config_maps_;  // "ns/name"
  std::unordered_map<std::string, Ptr<Secret>> secrets_;         // "ns/name"
  std::map<std::string, Ptr<Namespace>> namespaces_;             // name
  // name -> its Namespace object + workloads + Services there
  std::unordered_map<std::string, int> known_namespaces_;
  // Platform objects: few, always in every neighbourhood.
  std::map<std::string, Ptr<IngressClass>> ingress_classes_;     // name
  std::map<std::string, Ptr<Gateway>> gateways_;                 // "ns/name"
  std::map<std::string, Ptr<GatewayClass>> gateway_classes_;     // name
  std::map<std::string, Ptr<GatewayRoute>> gateway_routes_;      // "Kind/ns/name"
  std::map<std::string, Ptr<ApiServerHook>> hooks_;              // "Kind/name"
  std::map<std::string, Ptr<Prometheus>> prometheuses_;          // "ns/name"
  std::map<std::string, Ptr<ServiceMonitor>> service_monitors_;  // "ns/name"
  std::map<std::string, Ptr<PodMonitor>> pod_monitors_;          // "ns/name"
  // Observed flows (allow only): ObservedFlows "ns/name" -> its flows, and
  // workload key -> the objects with a flow from or to it.
  std::map<std::string, std::vector<ObservedFlow>> observed_;
  std::unordered_map<std::string, KeySet> observed_by_workload_;

  // Pods.
  std::unordered_set<PodEntry, PodKeyHash, PodKeyEq> pods_;  // found by PodKey
  Interned<Labels, MapHash> pod_label_sets_;                  // of pods_, each once
  std::unordered_map<std::string, PodSet> owner_pods_;        // workload key -> its pods
  std::unordered_map<std::string, PodSet> direct_pods_;       // "ReplicaSet/ns/name" -> pods
  std::unordered_map<std::string, PodSet> ip_pods_;           // "ns/ip" -> pods
  // ns\0key\0value -> workload key -> how many of its pods have that label.
  KeyCountIndex pod_label_owners_{key_pool_};
  size_t pods_with_ip_ = 0;
  int revision_selectors_ = 0;  // Services and PodMonitors naming per-revision labels

  // Reverse indexes over Derived.
  KeyIndex clients_{key_pool_};         // candidate "ns/name" -> workloads
  KeyIndex short_users_{key_pool_};     // short name -> workloads
  KeyIndex label_users_{key_pool_};     // DNS label -> workloads
  KeyIndex readers_{key_pool_};         // ConfigMap "ns/name" -> workloads
  KeyIndex secret_readers_{key_pool_};  // Secret "ns/name" -> workloads
  KeyIndex ip_users_{key_pool_};        // "ns/ip" -> workloads
  KeySet scraped_;
  KeySet monitors_;
  KeySet api_server_users_;
  KeySet host_network_;  // hostNetwork workloads

  // Since the last Recompute().
  std::map<std::string, WorkloadKey> dirty_workloads_;  // key -> workload (may be gone)
  std::set<std::string> dirty_namespaces_;
  bool dirty_all_ = true;

  std::unordered_map<std::string, Outcome> outcomes_;  // workload key -> last outcome
  std::set<std::string> default_deny_;                 // namespaces that have one
  size_t managed_ = 0;
  size_t unresolved_total_ = 0;
};

}  // namespace npc::synth
