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
//     (before and after), the monitoring workloads when it is scraped, and
//     its namespace's default-deny;
//   - a Service: the workloads whose references may name it, and its
//     backends under the old and the new selector;
//   - an EndpointSlice: the workloads whose references may name its Service
//     (and those allowed to reach the API server, for default/kubernetes);
//   - an Ingress: the workloads of its namespace;
//   - a ConfigMap: the workloads that read it, each as a changed workload;
//   - a Namespace: the workloads in it and its default-deny (peers select
//     namespaces by name only, so no other workload reads its labels).
// Recompute() then builds a snapshot of just the neighbourhood of those
// workloads (what ComputePolicy reads for each of them) and runs the same
// ClusterIndex and ComputePolicy as Synthesize() over it. The result for every
// workload equals what Synthesize() gives over the whole cluster; the
// property test incremental_test checks that over random clusters and random
// change sequences.
//
// Pod addresses (pod DNS names) are not tracked: such references stay
// unresolved, as they do for Synthesize() over a snapshot without pods.
//
// Thread-safety: none; callers serialize access.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/model.h"
#include "synth/synth.h"

namespace npc::synth {

enum class ObjectKind { kService, kEndpointSlice, kIngress, kConfigMap, kNamespace };

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
  // changed (an equal object). A workload with a controller (a Pod of a
  // ReplicaSet, ...) is never a workload: it replaces nothing and removes a
  // workload of the same key.
  bool Upsert(const Workload& w);
  bool Upsert(const Service& s);
  bool Upsert(const EndpointSlice& e);
  bool Upsert(const Ingress& i);
  bool Upsert(const ConfigMap& c);
  bool Upsert(const Namespace& n);
  // Forgets an object; false when it was not known.
  bool Remove(const WorkloadKey& key);
  bool Remove(ObjectKind kind, const std::string& ns, const std::string& name);

  // Synthesizes every workload a change since the last call may have
  // affected (all of them on the first call).
  [[nodiscard]] Changes Recompute();
  bool pending() const;
  // Every workload held (unsorted): the controller's periodic resync checks
  // the desired policy of each, a few at a time, against Policy().
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

  // Totals over the whole cluster, as of the last Recompute().
  size_t policies() const { return managed_ + default_deny_.size(); }
  size_t unresolved() const { return unresolved_total_; }

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
  void DirtyBackends(const Service& s);
  void DirtyClients(const std::string& service_key);
  void DirtyNamespace(const std::string& ns);  // the workloads in it
  void TouchSlice(const EndpointSlice& e);
  void Rederive(const std::string& workload_key);
  void RederiveReaders(const std::string& config_map_key);
  // The objects ComputePolicy reads for `workloads` (everything when
  // `everything`), as a snapshot for ClusterIndex.
  Snapshot Neighbourhood(const std::map<std::string, WorkloadKey>& workloads,
                         bool everything) const;

  const SynthesisConfig config_;
  const bool reasons_;

  std::unordered_map<std::string, Ptr<Workload>> workloads_;     // "Kind/ns/name"
  std::unordered_map<std::string, Derived> derived_;             // same keys
  std::unordered_map<std::string, KeySet> ns_workloads_;         // ns -> workload keys
  std::unordered_map<std::string, Ptr<Service>> services_;       // "ns/name"
  std::unordered_map<std::string, KeySet> ns_services_;          // ns -> service keys
  std::unordered_map<std::string, KeySet> services_by_name_;     // name -> service keys
  std::unordered_map<std::string, Ptr<EndpointSlice>> slices_;   // "ns/name"
  std::unordered_map<std::string, KeySet> slices_by_service_;    // "ns/service" -> slice keys
  std::unordered_map<std::string, Ptr<Ingress>> ingresses_;      // "ns/name"
  std::unordered_map<std::string, KeySet> ns_ingresses_;         // ns -> ingress keys
  std::unordered_map<std::string, Ptr<ConfigMap>> config_maps_;  // "ns/name"
  std::map<std::string, Ptr<Namespace>> namespaces_;             // name
  // name -> its Namespace object + workloads + Services there
  std::unordered_map<std::string, int> known_namespaces_;

  // Reverse indexes over Derived.
  std::unordered_map<std::string, KeySet> clients_;      // candidate "ns/name" -> workloads
  std::unordered_map<std::string, KeySet> short_users_;  // short name -> workloads
  std::unordered_map<std::string, KeySet> label_users_;  // DNS label -> workloads
  std::unordered_map<std::string, KeySet> readers_;      // ConfigMap "ns/name" -> workloads
  KeySet scraped_;
  KeySet monitors_;
  KeySet api_server_users_;

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
