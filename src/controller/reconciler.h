// Reconciler: the queue and the workers (controller-runtime's controller,
// in the shape we need). A worker takes a key from the queue and makes the
// cluster match: desired (DesiredState) against stored (ClusterCache) ->
// apply, delete, label, or nothing.
//
// Reconcile(key) never reads the API and never knows which event woke it; it
// writes only when the stored policy differs from the desired one, so a
// restart against an unchanged cluster writes nothing. A managed policy
// nobody wants is deleted only when its owner is known to be gone (or known
// and no longer managed): while the owner, or what it controls, exists but
// cannot be read, the policy is kept as it is ("kept").
//
//   Reconciler r(options, cache, desired, queue, writer, observer);
//   r.Start();     // the workers
//   ...
//   r.Stop();      // in-flight keys finish; the queue is shut down
//
// Thread-safety: every method from any thread; Start/Stop from one thread at
// a time. It holds no lock of its own: counters are atomics, state lives in
// the cache, the desired state and the queue.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "controller/cache.h"
#include "controller/desired_state.h"
#include "controller/interfaces.h"
#include "controller/keys.h"
#include "model/model.h"
#include "workqueue/workqueue.h"

namespace npc::controller {

using ReconcileQueue = WorkQueue<ReconcileKey, ReconcileKeyHash>;

struct ReconcilerOptions {
  // The global mode; a namespace's netpol-ctrl.io/mode label overrides it
  // there (synth::DecideNamespace, read from the cache at each reconcile).
  Mode mode = Mode::kEnforce;
  // Audit namespaces: delete the managed policies there (instead of keeping
  // them as they are, the default).
  bool audit_removes = false;
  int workers = 2;
  // Never touched, whatever they hold.
  std::vector<std::string> excluded_namespaces;
};

struct ReconcilerStats {
  uint64_t reconciles = 0;
  uint64_t applies = 0;
  uint64_t deletes = 0;
  uint64_t pod_labels = 0;
  uint64_t errors = 0;
  uint64_t kept = 0;  // orphans kept because their owner could not be read
  uint64_t conflicts = 0;  // wanted names held by a policy netpol-ctrl does not manage
};

class Reconciler {
 public:
  Reconciler(ReconcilerOptions options, ClusterCache& cache, const DesiredState& desired,
             ReconcileQueue& queue, PolicyWriter& writer, Observer& observer,
             const Clock& clock = RealClock::Get());
  ~Reconciler();
  Reconciler(const Reconciler&) = delete;
  Reconciler& operator=(const Reconciler&) = delete;

  void Start();
  // Shuts the queue down, lets in-flight reconciles finish, joins the workers.
  void Stop();

  // Reconciles one key on the calling thread. An error means "retry later".
  Status Reconcile(const ReconcileKey& key);
  // Processes queued keys on the calling thread until none is ready (tests;
  // failures are queued again with backoff and not waited for).
  void DrainForTest();

  ReconcilerStats Stats() const;

 private:
  void WorkerLoop();
  void ProcessOne(const ReconcileKey& key);
  // `wrote` is set when a write was made (or, in audit mode, reported);
  // `kept` when an unwanted policy was kept because its owner is unknown.
  Status ReconcileKeyOnce(const ReconcileKey& key, bool* wrote, bool* kept);
  Status ReconcilePolicy(const ReconcileKey& key, bool* wrote, bool* kept);
  Status ReconcilePodLabel(const ReconcileKey& key, bool* wrote);
  bool Excluded(const std::string& ns) const;

  const ReconcilerOptions options_;
  ClusterCache& cache_;
  const DesiredState& desired_;
  ReconcileQueue& queue_;
  PolicyWriter& writer_;
  Observer& observer_;
  const Clock& clock_;

  std::atomic<uint64_t> reconciles_{0};
  std::atomic<uint64_t> applies_{0};
  std::atomic<uint64_t> deletes_{0};
  std::atomic<uint64_t> pod_labels_{0};
  std::atomic<uint64_t> errors_{0};
  std::atomic<uint64_t> kept_{0};
  std::atomic<uint64_t> conflicts_{0};
  std::vector<std::thread> workers_;
};

}  // namespace npc::controller
