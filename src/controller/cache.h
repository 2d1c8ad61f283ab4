// ClusterCache: what the informers have said about the cluster, behind one
// lock (controller-runtime's cache, in the shape the controller needs).
//
// It holds
// - the model synthesis reads (synth::Incremental: workloads, Services,
//   EndpointSlices, Ingresses, ConfigMaps, Namespaces);
// - the managed NetworkPolicies as the cluster stores them (summaries);
// - the bare Pods that need a label before a policy can select them;
// - objects known to exist whose content is unknown (a read or a decode
//   failed): what was known of them stays, and a policy they own is never
//   deleted as an orphan (a failed read is not "gone").
//
// Informer threads write it (Upsert, Remove, MarkUnknown) and are told what
// their change means: the model changed (the desired state must be
// recomputed) and which keys to reconcile now. No key is handed out before
// SetReady(): until the first desired state is published, "no desired
// policy" means "not computed yet", not "delete it".
//
// The desired-state owner (DesiredState) recomputes from it; reconcile
// workers read it and record what they wrote.
//
// Thread-safety: every method may be called from any thread; one mutex guards
// everything. Recompute holds it while synthesis runs, so informers wait for
// a recompute to finish (as they wait for nothing else).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/mutex.h"
#include "common/thread_annotations.h"
#include "controller/keys.h"
#include "controller/summary.h"
#include "decode/decode.h"
#include "model/model.h"
#include "synth/incremental.h"
#include "synth/namespaces.h"

namespace npc::controller {

class ClusterCache {
 public:
  explicit ClusterCache(const SynthesisConfig& config);
  ClusterCache(const ClusterCache&) = delete;
  ClusterCache& operator=(const ClusterCache&) = delete;

  // ConfigMaps on demand: from now on the data of a ConfigMap no workload
  // reads is dropped (its name is kept: it exists); when a workload starts
  // reading one, Effect::fetch names it and the caller must read it (not
  // inside a reconcile) and hand it to UpsertFetched. Off by default: every
  // ConfigMap's data is kept. Call before the first event.
  void DropUnreadConfigMaps() EXCLUDES(mu_);

  // --- informer side --------------------------------------------------------
  // What an informer's change means for the others.
  struct Effect {
    bool model_changed = false;           // desired policies may differ: recompute
    std::vector<ReconcileKey> reconcile;  // reconcile these now (empty until ready)
    // ConfigMaps (namespace, name) whose data was dropped and that a workload
    // now reads: read them and call UpsertFetched (DropUnreadConfigMaps).
    std::vector<std::pair<std::string, std::string>> fetch;
    bool synced_now = false;  // RequestSynced() said "not yet"; now it is done
    // A namespace's mode label is none of audit, enforce, off: the warning of
    // synth::DecideNamespace, once per namespace and value (again only after
    // the label was fixed or changed).
    std::vector<std::string> mode_warnings;
  };
  // An object was added or changed (any kind; managed NetworkPolicies too).
  [[nodiscard]] Effect Upsert(const decode::Object& object) EXCLUDES(mu_);
  // A ConfigMap read because Effect::fetch named it. Ignored when a watch
  // event brought it meanwhile (this copy may be older) or it was deleted.
  [[nodiscard]] Effect UpsertFetched(const decode::Object& object) EXCLUDES(mu_);
  // Every informer has listed once. True when the desired state may be
  // computed now; false while ConfigMaps asked for are still being read (the
  // Effect that brings the last one says synced_now).
  [[nodiscard]] bool RequestSynced() EXCLUDES(mu_);
  // An object was deleted (its kind, namespace and name are enough).
  [[nodiscard]] Effect Remove(const decode::Meta& meta) EXCLUDES(mu_);
  // A NetworkPolicy's name, from the watch over every NetworkPolicy:
  // present with its managed-by label, or deleted. A policy not labelled as
  // netpol-ctrl's is foreign: never written nor deleted, and a workload that
  // wants its name waits (rule 8).
  [[nodiscard]] Effect ObservePolicyName(const decode::Meta& meta, bool present) EXCLUDES(mu_);
  // The object exists, but its content could not be read or decoded (`why`).
  // What the cache knew of it stays; until it is read, the policies it owns
  // are kept as they are.
  [[nodiscard]] Effect MarkUnknown(const decode::Meta& meta, const std::string& why) EXCLUDES(mu_);

  // --- desired-state owner ----------------------------------------------------
  struct Computed {
    // Without its policies (changes.result.policies is empty): `made` says
    // what they were, summarised as they came, in no particular order.
    synth::Changes changes;
    std::vector<MadePolicy> made;
    size_t policies = 0;    // over the whole cluster
    size_t unresolved = 0;  // over the whole cluster
  };
  // Synthesizes what changed since the last call (everything the first time).
  [[nodiscard]] Computed Recompute() EXCLUDES(mu_);
  // For the resync: every workload held now.
  [[nodiscard]] std::vector<WorkloadKey> WorkloadKeys() const EXCLUDES(mu_);
  // For the resync: the summary of each workload's policy as the cache says
  // (nullopt: it gets none), computed one workload at a time like Policy();
  // nullopt as a whole when changes are waiting for a Recompute() (the
  // answer would not match the published desired state yet).
  [[nodiscard]] std::optional<std::vector<std::optional<PolicySummary>>> SummariesIfSettled(
      const std::vector<WorkloadKey>& workloads) const EXCLUDES(mu_);
  // The first desired state is published: from now on changes return keys to
  // reconcile. Returns every key to reconcile once now: the stored policies
  // (orphans whose owner went away while nobody watched) and pods to label.
  [[nodiscard]] std::vector<ReconcileKey> SetReady() EXCLUDES(mu_);

  // --- reconcile workers ------------------------------------------------------
  [[nodiscard]] std::optional<PolicySummary> Stored(const ReconcileKey& key) const EXCLUDES(mu_);
  // A write succeeded: until the watch delivers the object, take it as stored,
  // so a key queued again meanwhile does not write the same thing twice.
  void RecordApplied(const ReconcileKey& key, PolicySummary summary) EXCLUDES(mu_);
  void RecordDeleted(const ReconcileKey& key) EXCLUDES(mu_);
  // The policy of one workload as the cache says now (see synth::Incremental::Policy).
  [[nodiscard]] std::optional<NetworkPolicy> Policy(const WorkloadKey& workload) const
      EXCLUDES(mu_);
  [[nodiscard]] bool NeedsLabel(const ReconcileKey& pod) const EXCLUDES(mu_);
  // A NetworkPolicy of this name exists that netpol-ctrl does not manage.
  [[nodiscard]] bool Foreign(const ReconcileKey& key) const EXCLUDES(mu_);
  // Whether `ns` is managed and its mode label (synth::DecideNamespace over
  // the Namespace as cached now).
  [[nodiscard]] synth::NamespaceDecision NamespaceMode(const std::string& ns) const EXCLUDES(mu_);
  // The observed flows the policies would deny, as the cache says now
  // (synth::Incremental::Judge; controller/would_deny.h).
  [[nodiscard]] std::vector<synth::WouldDeny> JudgeObserved(
      const std::vector<ObservedFlow>& flows) const EXCLUDES(mu_);
  // Why an owner of a policy in `ns` cannot be judged gone: it, or an object
  // it controls, exists but could not be read. nullopt when nothing says so.
  [[nodiscard]] std::optional<std::string> OwnerUnknown(const std::string& ns,
                                                        const OwnerReference& owner) const
      EXCLUDES(mu_);

  struct Counts {
    size_t stored = 0;
    size_t unknown = 0;  // objects whose content is unknown
    size_t foreign = 0;  // NetworkPolicies that are not netpol-ctrl's
  };
  [[nodiscard]] Counts counts() const EXCLUDES(mu_);

 private:
  struct ObjectRef {
    std::string kind;
    std::string ns;
    std::string name;
    auto operator<=>(const ObjectRef&) const = default;
  };
  struct UnknownObject {
    std::string uid;
    std::optional<OwnerReference> controller;
    std::string why;
  };

  // Clears what was unknown about `ref`; returns the stored policies it owned
  // (or that its controller owns), to reconcile again now that it is known.
  std::vector<ReconcileKey> ForgetUnknownLocked(const ObjectRef& ref) REQUIRES(mu_);
  // Every key of namespace `ns` (stored policies, the workloads' policies, the
  // default-deny): its mode changed, so writing or not is decided again.
  std::vector<ReconcileKey> NamespaceKeysLocked(const std::string& ns) const REQUIRES(mu_);
  std::vector<ReconcileKey> StoredOwnedByLocked(const std::string& ns, const std::string& kind,
                                                const std::string& name) const REQUIRES(mu_);

  const SynthesisConfig config_;

  using NsName = std::pair<std::string, std::string>;
  // ConfigMaps on demand: whether `object` is an unread ConfigMap to hold as
  // a name only (then it is dropped from the model); and the dropped
  // ConfigMaps a workload or pod spec reads, to fetch.
  bool DropIfUnreadLocked(const decode::Object& object, Effect& e) REQUIRES(mu_);
  void WantReadLocked(const decode::Object& object, Effect& e) REQUIRES(mu_);
  void FetchedLocked(const NsName& cm, Effect& e) REQUIRES(mu_);
  // Effect::mode_warnings for namespace `ns` decided as `d`.
  void ModeWarningLocked(const Namespace& ns, const synth::NamespaceDecision& d, Effect& e)
      REQUIRES(mu_);

  mutable Mutex mu_;
  bool drop_unread_config_maps_ GUARDED_BY(mu_) = false;
  std::set<NsName> unread_config_maps_ GUARDED_BY(mu_);  // exist; data not held
  std::set<NsName> fetching_ GUARDED_BY(mu_);            // in Effect::fetch, not back yet
  bool sync_requested_ GUARDED_BY(mu_) = false;
  synth::Incremental model_ GUARDED_BY(mu_);
  std::map<ReconcileKey, PolicySummary> stored_ GUARDED_BY(mu_);
  std::set<ReconcileKey> pods_to_label_ GUARDED_BY(mu_);  // kPodLabel keys
  std::set<ReconcileKey> foreign_ GUARDED_BY(mu_);        // kPolicy keys not ours
  std::map<ObjectRef, UnknownObject> unknown_ GUARDED_BY(mu_);
  // Namespace -> the misspelt mode label value last warned about.
  std::map<std::string, std::string> mode_warned_ GUARDED_BY(mu_);
  bool ready_ GUARDED_BY(mu_) = false;
};

}  // namespace npc::controller
