// Controller: keeps one NetworkPolicy per workload in line with the cluster.
//
// Three parts, each with one job and one lock (controller-runtime's split):
//
//   informers --Upsert/Remove/MarkUnknown--> ClusterCache (cache.h)
//        |         the model synthesis reads, the stored policies, the pods
//        |         to label, the objects that could not be read
//        | Notify                               ^ reads
//        v                                      |
//   DesiredState (desired_state.h): ONE thread computes the desired policies
//        (everything once the caches are synced, then what each batch of
//        changes affects, and everything again every resync period) and
//        enqueues the keys whose desired state changed
//        |
//        v
//   ReconcileQueue of ReconcileKeys (policy, or bare pod to label)
//        v
//   Reconciler (reconciler.h): workers; desired vs stored -> apply / delete /
//        label / nothing, through the PolicyWriter
//
// The reconcile key is the managed policy, not the event that woke it: a
// workload deleted while the controller was down, a policy edited by hand, a
// Service that appeared late and an orphan found at start-up all come down to
// "desired and stored differ for this key". Reconcile never reads the API; it
// writes only when the stored policy differs from the desired one, so a
// restart against an unchanged cluster writes nothing; it deletes a policy
// only when its owner is known to be gone, never because a read failed.
//
// Thread-safety: Upsert/Remove/MarkUnknown/MarkSynced from any thread (the
// informers'); Start() starts the computing thread and the workers; Stop()
// from the thread that called Start(). The test helpers (Recompute, Resync,
// DrainForTest) run on the caller's thread and only without Start().
#pragma once

#include <chrono>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "controller/cache.h"
#include "controller/desired_state.h"
#include "controller/interfaces.h"
#include "controller/keys.h"
#include "controller/reconciler.h"
#include "controller/summary.h"
#include "decode/decode.h"
#include "model/model.h"

namespace npc::controller {

struct ControllerOptions {
  SynthesisConfig synthesis = SynthesisConfig::Defaults();
  Mode mode = Mode::kEnforce;
  // In namespaces whose mode is audit (--mode or the netpol-ctrl.io/mode
  // label), delete the managed policies instead of keeping them as they are.
  bool audit_removes = false;
  int workers = 2;
  // After the first event of a batch, wait this long for more before
  // recomputing (events arriving during a recompute make the next batch).
  Clock::Duration debounce = std::chrono::milliseconds(1);
  // Recompute everything this often and compare with the incremental state
  // (differences are bugs: counted and logged). Zero turns it off.
  Clock::Duration resync_period = std::chrono::minutes(10);
};

struct ControllerStats {
  uint64_t recomputes = 0;
  uint64_t resyncs = 0;
  uint64_t resync_differences = 0;
  uint64_t reconciles = 0;
  uint64_t applies = 0;
  uint64_t deletes = 0;
  uint64_t pod_labels = 0;
  uint64_t errors = 0;
  uint64_t kept = 0;
  uint64_t conflicts = 0;  // reconciles that found a foreign policy with the wanted name
  size_t foreign = 0;      // NetworkPolicies known that are not netpol-ctrl's
  size_t desired = 0;
  size_t stored = 0;
  size_t unresolved = 0;
  size_t unknown = 0;  // objects known to exist whose content could not be read
};

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
  // A NetworkPolicy's name and labels (any policy): present, or deleted.
  // See ClusterCache::ObservePolicyName.
  void ObservePolicyName(const decode::Meta& meta, bool present);
  // An object exists but could not be read or decoded (`why`): what was known
  // of it stays, and policies it owns are kept until it is read.
  void MarkUnknown(const decode::Meta& meta, const std::string& why);
  // The one watch over every NetworkPolicy, whole. Each one's name is taken
  // (ObservePolicyName); the ones labelled as netpol-ctrl's also go to the
  // cache (Upsert), and one whose label was removed leaves it as if deleted
  // (Remove: it is someone else's now, never written nor deleted). One that
  // cannot be decoded counts as someone else's and keeps what was known.
  void UpsertPolicy(decode::Object object);
  void RemovePolicy(const decode::Meta& meta);
  void MarkPolicyUnknown(const decode::Meta& meta, const std::string& why);
  // Every informer has listed its resource once: the desired state is
  // computed (on its own thread), then every known key is reconciled. With a
  // ConfigMapFetcher, not before the ConfigMaps it was asked for are in.
  void MarkSynced();
  // Keep only the data of ConfigMaps some workload reads; `fetcher` reads
  // the others when a workload starts reading them. Call before the first
  // event; `fetcher` must outlive the informers that feed this controller.
  void SetConfigMapFetcher(ConfigMapFetcher* fetcher);
  // A ConfigMap the fetcher read.
  void UpsertFetched(const decode::Object& object);

  // --- running -------------------------------------------------------------
  // Starts the computing thread and the workers; returns at once.
  void Start();
  // Stops taking work, lets in-flight reconciles finish, joins the threads.
  void Stop();

  // --- steps, for tests (without Start()) -----------------------------------
  // Runs what the desired-state owner has due (the first computation, or the
  // batch of changes since the last one) on the calling thread.
  void Recompute();
  // Recomputes everything and compares, now.
  void Resync();
  // Reconciles one key. Returns an error to retry with backoff.
  Status Reconcile(const ReconcileKey& key);
  // Runs what is due (as Recompute), then processes queued keys until none is
  // ready (errors are re-queued with backoff and not waited for).
  void DrainForTest();

  // Observed flows the desired policies would deny (controller/would_deny.h).
  [[nodiscard]] std::vector<synth::WouldDeny> JudgeObserved(
      const std::vector<ObservedFlow>& flows) const {
    return cache_.JudgeObserved(flows);
  }

  ReconcileQueue& queue() { return queue_; }
  ControllerStats Stats() const;

 private:
  void Apply(const ClusterCache::Effect& effect);

  ClusterCache cache_;
  ConfigMapFetcher* fetcher_ = nullptr;  // set before the first event, then only read
  ReconcileQueue queue_;
  DesiredState desired_;
  Reconciler reconciler_;
  Observer& observer_;
};

}  // namespace npc::controller
