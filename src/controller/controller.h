// Controller: keeps one NetworkPolicy per workload in line with the cluster.
//
// Data flow (level-triggered, DESIGN.md section 5):
//
//   informers --Upsert/Remove--> synth::Incremental (cache of model structs,
//                                    |            and which workloads each
//                                    |            change affects)
//                                    |  (batched, after all caches synced)
//                                    v
//                        Recompute(): synthesize the affected workloads only
//                        -> desired policies; enqueue the policy keys whose
//                        desired state changed
//                                    |
//   managed NetworkPolicies --Upsert/Remove--> stored policies; enqueue that key
//                                    v
//                  WorkQueue of policy keys "namespace/name"
//                                    v
//                Reconcile(key): desired vs stored -> apply / delete / nothing
//
// The reconcile key is the managed policy, not the event that woke it: a
// workload deleted while the controller was down, a policy edited by hand, a
// Service that appeared late and an orphan found at start-up all come down to
// "desired and stored differ for this key". Reconcile never reads the API; it
// writes only when the stored policy differs from the desired one, so a
// restart against an unchanged cluster writes nothing.
//
// Thread-safety: Upsert/Remove/MarkSynced may be called from any thread (the
// informers'); Run() starts the workers; Stop() may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "decode/decode.h"
#include "model/model.h"
#include "synth/incremental.h"
#include "synth/synth.h"
#include "workqueue/workqueue.h"

namespace npc::controller {

// Writes to the cluster. The real one (kube_writer.h) talks to the API
// server; unit tests use a fake.
class PolicyWriter {
 public:
  virtual ~PolicyWriter() = default;
  // Server-side apply of `policy` (fieldManager netpol-ctrl, force).
  virtual Status Apply(const NetworkPolicy& policy) = 0;
  // Deletes the policy; NotFound counts as success for the caller.
  virtual Status Delete(const std::string& ns, const std::string& name) = 0;
  // Merge-patches one label onto a Pod (bare pods without labels).
  virtual Status LabelPod(const std::string& ns, const std::string& name, const std::string& key,
                          const std::string& value) = 0;
};

// What the controller reports to people and to metrics. Called from worker
// threads; implementations must be thread-safe.
class Observer {
 public:
  virtual ~Observer() = default;
  enum class Action { kCreate, kUpdate, kDelete, kLabelPod };
  // A write made (or, in audit mode, that would have been made). `policy` is
  // the policy written (create, update) or deleted, whose owner is the
  // workload it belongs to; null for kLabelPod.
  virtual void OnWrite(Action action, const std::string& key, bool audit, const Status& result,
                       const NetworkPolicy* policy) {
    (void)action, (void)key, (void)audit, (void)result, (void)policy;
  }
  // A reconcile finished: "unchanged", "written" (or, in audit mode, would
  // have written) or "error".
  virtual void OnReconcile(const std::string& key, std::string_view result, Clock::Duration took) {
    (void)key, (void)result, (void)took;
  }
  // A recompute finished. `changed` holds what was synthesized again (the
  // workloads a change may have affected; everything on the first one);
  // `totals` counts over the whole cluster.
  struct Totals {
    size_t policies = 0;
    size_t unresolved = 0;
  };
  virtual void OnRecompute(const synth::Result& changed, const Totals& totals,
                           Clock::Duration took) {
    (void)changed, (void)totals, (void)took;
  }
};

struct ControllerOptions {
  SynthesisConfig synthesis = SynthesisConfig::Defaults();
  Mode mode = Mode::kEnforce;
  int workers = 2;
  // After the first event of a batch, wait this long for more before
  // recomputing (events arriving during a recompute make the next batch).
  Clock::Duration debounce = std::chrono::milliseconds(1);
};

struct ControllerStats {
  uint64_t recomputes = 0;
  uint64_t reconciles = 0;
  uint64_t applies = 0;
  uint64_t deletes = 0;
  uint64_t pod_labels = 0;
  uint64_t errors = 0;
  size_t desired = 0;
  size_t stored = 0;
  size_t unresolved = 0;
};

// What the controller keeps of a policy, desired or in the cluster: enough to
// tell whether the two say the same, not the policy itself (that is computed
// again from the cache when it must be written).
struct PolicySummary {
  uint64_t spec = 0;  // PolicySpecFingerprint
  Labels labels;
  std::optional<OwnerReference> owner;
  bool operator==(const PolicySummary&) const = default;
};
[[nodiscard]] PolicySummary Summarize(const NetworkPolicy& policy);

class Controller {
 public:
  Controller(ControllerOptions options, PolicyWriter& writer, Observer& observer,
             const Clock& clock = RealClock::Get());
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // --- informer side -------------------------------------------------------
  // An object was added or changed (any kind the controller watches; managed
  // NetworkPolicies included).
  void Upsert(decode::Object object);
  // An object was deleted (its kind, namespace and name are enough).
  void Remove(const decode::Meta& meta);
  // Every informer has listed its resource once: from now on desired policies
  // are computed, and every known key is reconciled.
  void MarkSynced();
  bool synced() const { return synced_.load(); }

  // --- running -------------------------------------------------------------
  // Starts the recompute thread and the workers; returns at once.
  void Start();
  // Stops taking work, lets in-flight reconciles finish, joins the threads.
  void Stop();

  // --- steps, for tests and for the threads above --------------------------
  // Synthesizes the workloads changes since the last recompute may have
  // affected (all of them the first time) and enqueues the keys whose desired
  // policy changed.
  void Recompute();
  // Reconciles one key ("namespace/name" of a policy, or "pod:namespace/name"
  // for a bare pod that needs its label). Returns an error to retry with backoff.
  Status Reconcile(const std::string& key);
  // Processes queued keys on the calling thread until the queue is empty
  // (tests; errors are re-queued with backoff and not waited for).
  void DrainForTest();

  WorkQueue& queue() { return queue_; }
  ControllerStats Stats() const;

 private:
  struct Desired {
    PolicySummary summary;
    WorkloadKey workload;       // whose policy it is ...
    bool default_deny = false;  // ... or the namespace's default-deny
    bool operator==(const Desired&) const = default;
  };

  void MarkDirty();
  void RecomputeLoop();
  void WorkerLoop();
  void ProcessOne(const std::string& key);
  // `wrote` is set when a write was made (or, in audit mode, reported).
  Status ReconcileKey(const std::string& key, bool* wrote);
  Status ReconcilePolicy(const std::string& key, bool* wrote);
  Status ReconcilePodLabel(const std::string& key, bool* wrote);
  bool Excluded(const std::string& ns) const;

  const ControllerOptions options_;
  PolicyWriter& writer_;
  Observer& observer_;
  const Clock& clock_;
  WorkQueue queue_;

  mutable std::mutex state_mu_;
  synth::Incremental state_;  // GUARDED_BY(state_mu_)

  mutable std::mutex mu_;
  std::map<std::string, Desired> desired_;       // GUARDED_BY(mu_)
  std::map<std::string, PolicySummary> stored_;  // GUARDED_BY(mu_)
  std::set<std::string> pods_to_label_;          // GUARDED_BY(mu_)
  ControllerStats stats_;                        // GUARDED_BY(mu_)

  std::mutex dirty_mu_;
  std::condition_variable dirty_cv_;
  bool dirty_ = false;     // GUARDED_BY(dirty_mu_)
  bool stopping_ = false;  // GUARDED_BY(dirty_mu_)

  std::atomic<bool> synced_{false};
  std::thread recompute_thread_;
  std::vector<std::thread> workers_;
};

// True when the stored policy already says what the desired one says: same
// spec, our labels, and the same controlling owner. Labels and annotations
// that others added are left alone (synthesis writes no annotations).
[[nodiscard]] bool PolicyUpToDate(const PolicySummary& stored, const PolicySummary& desired);

}  // namespace npc::controller
