// The controller's two boundaries: what it writes to the cluster
// (PolicyWriter) and what it reports to people and metrics (Observer).
// The real ones live in manager/; unit tests use fakes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "controller/keys.h"
#include "controller/summary.h"
#include "model/model.h"
#include "synth/synth.h"

namespace npc::controller {

// Writes to the cluster. Thread-safety: called from several workers at once.
class PolicyWriter {
 public:
  virtual ~PolicyWriter() = default;
  // Server-side apply of `policy` (fieldManager netpol-ctrl, force). Returns
  // the policy's metadata.generation as the server answered (0: unknown).
  virtual StatusOr<int64_t> Apply(const NetworkPolicy& policy) = 0;
  // Creates `policy` when no NetworkPolicy of that name exists: server-side
  // apply without force, so an existing policy that someone else manages is
  // never taken over (DESIGN.md 3, rule 8): the answer is then kConflict (or
  // kAlreadyExists). Fakes may keep the default, a plain Apply.
  virtual StatusOr<int64_t> Create(const NetworkPolicy& policy) { return Apply(policy); }
  // Deletes the policy; NotFound counts as success for the caller.
  virtual Status Delete(const std::string& ns, const std::string& name) = 0;
  // Merge-patches one label onto a Pod (bare pods without labels).
  virtual Status LabelPod(const std::string& ns, const std::string& name, const std::string& key,
                          const std::string& value) = 0;
};

// Reads a ConfigMap whose data the cache dropped (no workload read it) once a
// workload reads it (ClusterCache::DropUnreadConfigMaps). Fetch() must not
// block: the implementation reads on its own thread, retrying until it can,
// and hands the object to Controller::UpsertFetched; a ConfigMap that is
// gone needs nothing (its watch reports the deletion).
// Thread-safety: Fetch() is called from the informers' threads.
class ConfigMapFetcher {
 public:
  virtual ~ConfigMapFetcher() = default;
  virtual void Fetch(const std::string& ns, const std::string& name) = 0;
};

// What the controller reports. Called from the workers and from the thread
// that computes the desired state; implementations must be thread-safe and
// quick (they run on those threads).
class Observer {
 public:
  virtual ~Observer() = default;
  enum class Action { kCreate, kUpdate, kDelete, kLabelPod };
  // A write made (or, in audit mode, that would have been made). `policy` is
  // the policy written (create, update) or deleted, whose owner is the
  // workload it belongs to; null for kLabelPod.
  virtual void OnWrite(Action action, const ReconcileKey& key, bool audit, const Status& result,
                       const NetworkPolicy* policy) {
    (void)action, (void)key, (void)audit, (void)result, (void)policy;
  }
  // A reconcile finished: "unchanged", "written" (or, in audit mode, would
  // have written), "kept" (a policy nobody wants whose owner exists but could
  // not be read: kept as it is, see `why`) or "error".
  virtual void OnReconcile(const ReconcileKey& key, std::string_view result, Clock::Duration took) {
    (void)key, (void)result, (void)took;
  }
  virtual void OnKept(const ReconcileKey& key, const std::string& why) { (void)key, (void)why; }
  // The policy `key` that a workload wants exists and is not netpol-ctrl's
  // (no app.kubernetes.io/managed-by: netpol-ctrl label): it is left alone
  // and the workload gets no policy until the conflict is gone (DESIGN.md 3,
  // rule 8). `wanted` is the policy that would have been written (its owner
  // is the workload). Called on every reconcile of the key while it lasts.
  virtual void OnConflict(const ReconcileKey& key, const NetworkPolicy& wanted) {
    (void)key, (void)wanted;
  }
  // A recompute finished. `changed` holds what was synthesized again (the
  // workloads a change may have affected; everything on the first one)
  // except its policies, which `made` summarises; `totals` counts over the
  // whole cluster.
  struct Totals {
    size_t policies = 0;
    size_t unresolved = 0;
  };
  virtual void OnRecompute(const synth::Result& changed, const std::vector<MadePolicy>& made,
                           const Totals& totals, Clock::Duration took) {
    (void)changed, (void)made, (void)totals, (void)took;
  }
  // A periodic resync recomputed everything and compared it with the
  // incremental state: `differences` keys disagreed (each one a bug, already
  // corrected), `examples` names a few of them.
  virtual void OnResync(size_t differences, const std::string& examples, Clock::Duration took) {
    (void)differences, (void)examples, (void)took;
  }
  // Something in the cluster the user should fix, read in a documented way
  // meanwhile (a namespace's netpol-ctrl.io/mode label that is none of
  // audit, enforce, off). Said once per cause, not on every event.
  virtual void OnWarning(const std::string& message) { (void)message; }
};

}  // namespace npc::controller
