// Health: named checks behind /healthz and /readyz, and a progress monitor
// that tells a busy-or-idle worker loop from a stuck one.
//
//   ProgressMonitor progress(RealClock::Get(), std::chrono::minutes(2));
//   HealthChecks healthz, readyz;
//   healthz.Add("workers", [&] { return progress.Check(queue.Len()); });
//   readyz.Add("informers", [&] {
//     return synced.load() ? Status::Ok() : Unavailable("caches not synced");
//   });
//   // worker loop:
//   while (auto key = queue.Get()) {
//     ProgressMonitor::Activity busy = progress.Begin();
//     Reconcile(*key);
//   }                                  // ~Activity: progress made
//
// Liveness is judged on the local monotonic clock: the process is healthy
// when no item has been in hand for longer than `stall_after`, and, if work is
// waiting, some item was started or finished within `stall_after`. An idle
// loop (nothing in hand, nothing waiting) is healthy however long it sleeps.
//
// Thread-safety: all methods are safe from any thread. Checks run on the HTTP
// server's thread: they must be quick, and whatever they capture must outlive
// the server that calls them (stop the server first).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace npc::observability {

class HealthChecks {
 public:
  using Check = std::function<Status()>;

  // Adds a check; a second check with the same name replaces the first.
  void Add(std::string name, Check check);

  // OK when every check passes (or there are none); otherwise Unavailable
  // with one "name: reason" per failing check, joined by "; ", in name order.
  [[nodiscard]] Status Run() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, Check> checks_;  // guarded by mu_
};

class ProgressMonitor {
 public:
  // `clock` must outlive the monitor.
  ProgressMonitor(const Clock& clock, Clock::Duration stall_after);
  ProgressMonitor(const ProgressMonitor&) = delete;
  ProgressMonitor& operator=(const ProgressMonitor&) = delete;

  // One item in hand, from Begin() until destroyed (movable, not copyable).
  // Must not outlive the monitor.
  class [[nodiscard]] Activity {
   public:
    Activity(Activity&& other) noexcept
        : monitor_(std::exchange(other.monitor_, nullptr)), id_(other.id_) {}
    Activity& operator=(Activity&& other) noexcept;
    Activity(const Activity&) = delete;
    Activity& operator=(const Activity&) = delete;
    ~Activity() { End(); }
    // Ends the activity early (idempotent).
    void End();

   private:
    friend class ProgressMonitor;
    Activity(ProgressMonitor* monitor, uint64_t id) : monitor_(monitor), id_(id) {}
    ProgressMonitor* monitor_;
    uint64_t id_;
  };

  // The worker took an item: counts as progress, and the item is "in hand".
  Activity Begin();
  // Progress without an activity (e.g. a recompute finished).
  void Beat();

  // `pending`: items waiting and ready to be taken (not those delayed by
  // backoff). Unavailable, with the reason, when stuck (see the file comment).
  [[nodiscard]] Status Check(size_t pending) const;

 private:
  void Finish(uint64_t id);

  const Clock& clock_;
  const Clock::Duration stall_after_;
  mutable std::mutex mu_;
  uint64_t next_id_ = 1;                         // guarded by mu_
  std::map<uint64_t, Clock::TimePoint> active_;  // guarded by mu_; id -> start
  Clock::TimePoint last_progress_;               // guarded by mu_
};

}  // namespace npc::observability
