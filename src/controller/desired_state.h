// DesiredState: the one owner of the desired policies (STYLE.md 10).
//
// One thread computes them, in order:
// - once the caches are synced (MarkSynced), everything, once; only then are
//   keys handed to the workers (ClusterCache::SetReady), so that "no desired
//   policy" always means "none wanted", never "not computed yet";
// - after each batch of changes (Notify), the workloads the batch may affect;
// - every resync period, every workload's policy again, compared with what
//   the incremental recomputes published. A difference is a bug: it is
//   counted (Observer::OnResync, the netpol_ctrl_resync_differences_total
//   metric), logged loudly, and corrected. The resync goes a few workloads
//   at a time (about 2 ms of work) and lets any batch of changes run first,
//   so a change never waits for it; each slice is judged only when no change
//   is pending, so what it compares describes the same cache.
// Since one thread computes and publishes, a batch can never be overtaken by
// an older one (issue 13: the first, full recompute once ran on the caller's
// thread beside the recompute thread, and its older, larger batch could bring
// back the desired policy of a workload deleted meanwhile).
//
//   DesiredState desired(options, cache, observer, [&](const ReconcileKey& k) { queue.Add(k); });
//   desired.Start();
//   desired.MarkSynced();              // informers listed everything
//   desired.Notify();                  // a change the model reads (from informers)
//   std::optional<Desired> d = desired.Get(key);   // workers
//
// Tests drive it without its thread: Step() runs what is due on the caller's
// thread (never while the thread runs: there is one owner).
//
// Thread-safety: every method may be called from any thread, except Step()
// (only while the thread is not running). One mutex guards the published
// state and the signals; computing happens outside it.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/thread_annotations.h"
#include "controller/cache.h"
#include "controller/interfaces.h"
#include "controller/keys.h"
#include "controller/summary.h"

namespace npc::controller {

// The desired state of one key: a summary only (the policy is computed again
// from the cache when it is written).
struct Desired {
  PolicySummary summary;
  WorkloadKey workload;       // whose policy it is ...
  bool default_deny = false;  // ... or the namespace's default-deny
  bool operator==(const Desired&) const = default;
};

struct DesiredStateOptions {
  // After the first change of a batch, wait this long for more before
  // recomputing (changes arriving during a recompute make the next batch).
  Clock::Duration debounce = std::chrono::milliseconds(1);
  // Recompute everything this often and compare; zero turns it off.
  Clock::Duration resync_period = std::chrono::minutes(10);
};

struct DesiredStats {
  uint64_t recomputes = 0;
  uint64_t resyncs = 0;
  uint64_t resync_differences = 0;  // must stay 0
  size_t desired = 0;
  size_t unresolved = 0;
  bool ready = false;  // the first desired state is published
};

class DesiredState {
 public:
  using Enqueue = std::function<void(const ReconcileKey&)>;

  DesiredState(DesiredStateOptions options, ClusterCache& cache, Observer& observer,
               Enqueue enqueue, const Clock& clock = RealClock::Get());
  ~DesiredState();
  DesiredState(const DesiredState&) = delete;
  DesiredState& operator=(const DesiredState&) = delete;

  // Something the model reads changed (ignored until synced: the first
  // computation covers it).
  void Notify() EXCLUDES(mu_);
  // Every informer has listed its resource once: compute everything.
  void MarkSynced() EXCLUDES(mu_);
  // Resync at the next opportunity (tests, and an operator's signal one day).
  void RequestResync() EXCLUDES(mu_);

  // Starts the computing thread; Stop() joins it. Stop may be called twice.
  void Start() EXCLUDES(mu_);
  void Stop() EXCLUDES(mu_);
  // Runs what is due now (the first computation, a batch, a resync) on the
  // calling thread; false when nothing was. Only while the thread is not
  // running.
  bool Step() EXCLUDES(mu_);

  [[nodiscard]] std::optional<Desired> Get(const ReconcileKey& key) const EXCLUDES(mu_);
  // Overwrites one published entry, as a bug would (tests of the resync).
  void SetForTest(const ReconcileKey& key, std::optional<Desired> desired) EXCLUDES(mu_);
  [[nodiscard]] DesiredStats Stats() const EXCLUDES(mu_);

 private:
  enum class Work { kNone, kFirst, kBatch, kResync };
  using Next = std::map<ReconcileKey, std::optional<Desired>>;
  // A resync in progress: first every workload the cache holds, then every
  // desired entry (stale ones), a slice at a time.
  struct ResyncRun {
    // A constructor, not member initializers: clang 14 cannot default-construct
    // a nested class with those inside std::optional of the enclosing class.
    ResyncRun() : next_workload(0), next_key(0), differences(0) {}
    std::vector<WorkloadKey> workloads;
    std::vector<ReconcileKey> keys;
    size_t next_workload;
    size_t next_key;
    size_t differences;
    std::string examples;
    Clock::TimePoint start;
  };

  Work DueLocked() const REQUIRES(mu_);
  void Loop() EXCLUDES(mu_);
  // The steps; on the owner thread only (or Step's caller), never under mu_.
  void Run(Work work) EXCLUDES(mu_);
  void ComputeFirst() EXCLUDES(mu_);
  void ComputeBatch() EXCLUDES(mu_);
  // One slice of the resync (starting it when none is running).
  void ResyncStep() EXCLUDES(mu_);
  void FinishResync() EXCLUDES(mu_);
  // What a computation says about each key it decided (nullopt: no policy).
  static Next Entries(const ClusterCache::Computed& c);
  // Publishes `next` and returns the keys whose desired state changed.
  std::vector<ReconcileKey> Publish(const Next& next, const ClusterCache::Computed& c)
      EXCLUDES(mu_);
  void Report(const ClusterCache::Computed& c, Clock::Duration took) EXCLUDES(mu_);

  const DesiredStateOptions options_;
  ClusterCache& cache_;
  Observer& observer_;
  const Enqueue enqueue_;
  const Clock& clock_;

  mutable Mutex mu_;
  CondVar cv_;
  std::map<ReconcileKey, Desired> desired_ GUARDED_BY(mu_);  // written by the owner only
  bool synced_ GUARDED_BY(mu_) = false;
  bool ready_ GUARDED_BY(mu_) = false;
  bool dirty_ GUARDED_BY(mu_) = false;
  bool resync_requested_ GUARDED_BY(mu_) = false;
  bool resync_running_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
  bool running_ GUARDED_BY(mu_) = false;
  Clock::TimePoint next_resync_ GUARDED_BY(mu_);
  DesiredStats stats_ GUARDED_BY(mu_);
  std::optional<ResyncRun> run_;  // the owner's only (the thread, or Step's caller)
  std::thread thread_;            // started and joined by Start/Stop (one caller at a time)
};

}  // namespace npc::controller
