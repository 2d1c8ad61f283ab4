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
//   WorkQueue<Key> queue;              // Key: a value type with == and std::hash
//   while (auto key = queue.Get()) {
//     Result r = Reconcile(*key);
//     if (r.ok()) queue.Forget(*key); else queue.AddRateLimited(*key);
//     queue.Done(*key);
//   }
//
// Keys are values with a meaning (the controller's is a struct of kind,
// namespace and name), not strings with prefixes; std::string is the default
// for tests and simple uses.
//
// Thread-safety: every method may be called from any thread; one mutex guards
// all state.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/thread_annotations.h"

namespace npc {

struct BackoffPolicy {
  std::chrono::milliseconds base{5};
  std::chrono::milliseconds max{1000 * 1000};
  // The delay after `failures` failures (1 for the first): base * 2^(failures-1), capped.
  std::chrono::milliseconds Delay(int failures) const;
};

// Counters the queue maintains, for metrics. All totals are monotonic.
struct WorkQueueStats {
  size_t depth = 0;            // keys ready to be handed out
  size_t delayed = 0;          // keys waiting for their time
  size_t processing = 0;       // keys handed out and not yet Done
  uint64_t adds_total = 0;     // Add calls that queued a key (after de-duplication)
  uint64_t retries_total = 0;  // AddRateLimited calls
};

template <typename Key = std::string, typename Hash = std::hash<Key>>
class WorkQueue {
 public:
  explicit WorkQueue(const Clock& clock = RealClock::Get(), BackoffPolicy backoff = {})
      : clock_(clock), backoff_(backoff) {}
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void Add(const Key& key) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    AddLocked(key);
  }

  void AddAfter(const Key& key, Clock::Duration delay) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    AddAfterLocked(key, delay);
  }

  void AddRateLimited(const Key& key) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    if (shutting_down_) return;
    ++retries_total_;
    if (on_retry_) on_retry_();
    AddAfterLocked(key, backoff_.Delay(++failures_[key]));
  }

  void Forget(const Key& key) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    failures_.erase(key);
  }

  int Failures(const Key& key) const EXCLUDES(mu_) {
    MutexLock lock(mu_);
    auto it = failures_.find(key);
    return it == failures_.end() ? 0 : it->second;
  }

  // Blocks until a key is ready or the queue is shut down.
  std::optional<Key> Get() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    while (true) {
      if (shutting_down_) return std::nullopt;
      PromoteReadyLocked();
      if (auto key = PopLocked()) return key;
      if (delayed_.empty()) {
        cv_.Wait(mu_);
      } else {
        // Wait until the earliest delayed key is due (measured on our clock; a
        // FakeClock does not move by itself, so bound the wait and re-check).
        auto due = delayed_.begin()->first - clock_.Now();
        auto cap = std::chrono::milliseconds(100);
        cv_.WaitFor(mu_, std::clamp<Clock::Duration>(due, Clock::Duration::zero(), cap));
      }
    }
  }

  // Like Get() but never blocks: a ready key, or nullopt.
  std::optional<Key> TryGet() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    if (shutting_down_) return std::nullopt;
    PromoteReadyLocked();
    return PopLocked();
  }

  void Done(const Key& key) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    processing_.erase(key);
    if (dirty_.count(key) && !shutting_down_) {
      queue_.push_back(key);
      cv_.Signal();
    }
  }

  void ShutDown() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    shutting_down_ = true;
    queue_.clear();
    delayed_.clear();
    delayed_at_.clear();
    dirty_.clear();
    cv_.SignalAll();
  }

  bool shutting_down() const EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return shutting_down_;
  }

  // Wakes waiting Get() calls so they re-check delayed keys against the clock
  // (for tests that move a FakeClock).
  void Poke() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    cv_.SignalAll();
  }

  WorkQueueStats Stats() const EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return {queue_.size(), delayed_.size(), processing_.size(), adds_total_, retries_total_};
  }

  // Metrics hooks: a key queued (after de-duplication) and a rate-limited
  // retry. Set before the queue is used; called with the queue's lock held,
  // so they must be quick and must not call back into the queue.
  void SetHooks(std::function<void()> on_add, std::function<void()> on_retry) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    on_add_ = std::move(on_add);
    on_retry_ = std::move(on_retry);
  }

 private:
  void AddLocked(const Key& key) REQUIRES(mu_) {
    if (shutting_down_) return;
    if (!dirty_.insert(key).second) return;  // already queued (or re-queue pending)
    ++adds_total_;
    if (on_add_) on_add_();
    // A key in flight is queued again by Done(); never hand it out twice.
    if (processing_.count(key)) return;
    queue_.push_back(key);
    cv_.Signal();
  }

  void AddAfterLocked(const Key& key, Clock::Duration delay) REQUIRES(mu_) {
    if (shutting_down_) return;
    if (delay <= Clock::Duration::zero()) {
      AddLocked(key);
      return;
    }
    const Clock::TimePoint at = clock_.Now() + delay;
    auto it = delayed_at_.find(key);
    if (it != delayed_at_.end()) {
      if (it->second <= at) return;  // the earliest time wins
      auto range = delayed_.equal_range(it->second);
      for (auto d = range.first; d != range.second; ++d) {
        if (d->second == key) {
          delayed_.erase(d);
          break;
        }
      }
      it->second = at;
    } else {
      delayed_at_.emplace(key, at);
    }
    delayed_.emplace(at, key);
    cv_.SignalAll();  // a waiter may need to wake earlier
  }

  void PromoteReadyLocked() REQUIRES(mu_) {
    const Clock::TimePoint now = clock_.Now();
    while (!delayed_.empty() && delayed_.begin()->first <= now) {
      Key key = std::move(delayed_.begin()->second);
      delayed_.erase(delayed_.begin());
      delayed_at_.erase(key);
      AddLocked(key);
    }
  }

  std::optional<Key> PopLocked() REQUIRES(mu_) {
    if (queue_.empty()) return std::nullopt;
    Key key = std::move(queue_.front());
    queue_.pop_front();
    processing_.insert(key);
    dirty_.erase(key);
    return key;
  }

  const Clock& clock_;
  const BackoffPolicy backoff_;

  mutable Mutex mu_;
  CondVar cv_;
  std::deque<Key> queue_ GUARDED_BY(mu_);
  std::unordered_set<Key, Hash> dirty_ GUARDED_BY(mu_);  // queued or to re-queue
  std::unordered_set<Key, Hash> processing_ GUARDED_BY(mu_);
  std::multimap<Clock::TimePoint, Key> delayed_ GUARDED_BY(mu_);
  std::unordered_map<Key, Clock::TimePoint, Hash> delayed_at_ GUARDED_BY(mu_);
  std::unordered_map<Key, int, Hash> failures_ GUARDED_BY(mu_);
  bool shutting_down_ GUARDED_BY(mu_) = false;
  uint64_t adds_total_ GUARDED_BY(mu_) = 0;
  uint64_t retries_total_ GUARDED_BY(mu_) = 0;
  std::function<void()> on_add_ GUARDED_BY(mu_);
  std::function<void()> on_retry_ GUARDED_BY(mu_);
};

}  // namespace npc
