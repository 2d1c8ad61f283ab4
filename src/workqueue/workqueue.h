// WorkQueue: the controller's queue of keys to reconcile (client-go's
// rate-limited delaying work queue, in the shape we need).
//
// Contract:
// - Add(key): the key will be handed out by Get(). A key already waiting is not
//   added twice (de-duplication).
// - A key is never handed to two workers at once: a key added while it is being
//   processed is held back and queued again when Done(key) is called.
// - AddAfter(key, d): queue the key after d; if it is already scheduled, the
//   earliest time wins.
// - AddRateLimited(key): AddAfter with the key's backoff: 5 ms doubling per
//   failure up to 1000 s. Forget(key) resets the failure count (call it on
//   success).
// - Get() blocks until a key is ready or the queue is shut down (then it
//   returns std::nullopt). Every key returned by Get() must be passed to Done().
// - ShutDown() wakes every waiting Get(); keys still queued are dropped.
//
//   while (auto key = queue.Get()) {
//     Result r = Reconcile(*key);
//     if (r.ok()) queue.Forget(*key); else queue.AddRateLimited(*key);
//     queue.Done(*key);
//   }
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "common/clock.h"

namespace npc {

struct BackoffPolicy {
  std::chrono::milliseconds base{5};
  std::chrono::milliseconds max{1000 * 1000};
  // The delay after `failures` failures (1 for the first): base * 2^(failures-1), capped.
  std::chrono::milliseconds Delay(int failures) const;
};

// Counters the queue maintains, for metrics. All totals are monotonic.
struct WorkQueueStats {
  size_t depth = 0;          // keys ready to be handed out
  size_t delayed = 0;        // keys waiting for their time
  size_t processing = 0;     // keys handed out and not yet Done
  uint64_t adds_total = 0;   // Add calls that queued a key (after de-duplication)
  uint64_t retries_total = 0;  // AddRateLimited calls
};

class WorkQueue {
 public:
  explicit WorkQueue(const Clock& clock = RealClock::Get(), BackoffPolicy backoff = {});
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void Add(const std::string& key);
  void AddAfter(const std::string& key, Clock::Duration delay);
  void AddRateLimited(const std::string& key);
  void Forget(const std::string& key);
  int Failures(const std::string& key) const;

  // Blocks until a key is ready or the queue is shut down.
  std::optional<std::string> Get();
  // Like Get() but never blocks: a ready key, or nullopt.
  std::optional<std::string> TryGet();
  void Done(const std::string& key);

  void ShutDown();
  bool shutting_down() const;
  // Wakes waiting Get() calls so they re-check delayed keys against the clock
  // (for tests that move a FakeClock).
  void Poke();

  WorkQueueStats Stats() const;

  // Metrics hooks: a key queued (after de-duplication) and a rate-limited
  // retry. Set before the queue is used; called with the queue's lock held,
  // so they must be quick and must not call back into the queue.
  void SetHooks(std::function<void()> on_add, std::function<void()> on_retry);

 private:
  void AddLocked(const std::string& key);
  void PromoteReadyLocked();
  std::optional<std::string> PopLocked();

  const Clock& clock_;
  const BackoffPolicy backoff_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;                // GUARDED_BY(mu_)
  std::unordered_set<std::string> dirty_;        // queued or to re-queue; GUARDED_BY(mu_)
  std::unordered_set<std::string> processing_;   // GUARDED_BY(mu_)
  std::multimap<Clock::TimePoint, std::string> delayed_;  // GUARDED_BY(mu_)
  std::unordered_map<std::string, Clock::TimePoint> delayed_at_;  // GUARDED_BY(mu_)
  std::unordered_map<std::string, int> failures_;  // GUARDED_BY(mu_)
  bool shutting_down_ = false;                     // GUARDED_BY(mu_)
  uint64_t adds_total_ = 0;                        // GUARDED_BY(mu_)
  uint64_t retries_total_ = 0;                     // GUARDED_BY(mu_)
  std::function<void()> on_add_;
  std::function<void()> on_retry_;
};

}  // namespace npc
