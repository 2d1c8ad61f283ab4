#include "workqueue/workqueue.h"

#include <algorithm>

namespace npc {

std::chrono::milliseconds BackoffPolicy::Delay(int failures) const {
  if (failures <= 0) return std::chrono::milliseconds(0);
  // Double without overflowing: stop as soon as the cap is reached.
  std::chrono::milliseconds d = base;
  for (int i = 1; i < failures && d < max; ++i) d *= 2;
  return std::min(d, max);
}

WorkQueue::WorkQueue(const Clock& clock, BackoffPolicy backoff)
    : clock_(clock), backoff_(backoff) {}

void WorkQueue::AddLocked(const std::string& key) {
  if (shutting_down_) return;
  if (!dirty_.insert(key).second) return;  // already queued (or re-queue pending)
  ++adds_total_;
  if (on_add_) on_add_();
  // A key in flight is queued again by Done(); never hand it out twice.
  if (processing_.count(key)) return;
  queue_.push_back(key);
  cv_.notify_one();
}

void WorkQueue::Add(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  AddLocked(key);
}

void WorkQueue::AddAfter(const std::string& key, Clock::Duration delay) {
  std::lock_guard<std::mutex> lock(mu_);
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
  cv_.notify_all();  // a waiter may need to wake earlier
}

void WorkQueue::AddRateLimited(const std::string& key) {
  std::chrono::milliseconds delay;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutting_down_) return;
    ++retries_total_;
    if (on_retry_) on_retry_();
    delay = backoff_.Delay(++failures_[key]);
  }
  AddAfter(key, delay);
}

void WorkQueue::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_.erase(key);
}

int WorkQueue::Failures(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

void WorkQueue::PromoteReadyLocked() {
  const Clock::TimePoint now = clock_.Now();
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    std::string key = std::move(delayed_.begin()->second);
    delayed_.erase(delayed_.begin());
    delayed_at_.erase(key);
    AddLocked(key);
  }
}

std::optional<std::string> WorkQueue::PopLocked() {
  if (queue_.empty()) return std::nullopt;
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  processing_.insert(key);
  dirty_.erase(key);
  return key;
}

std::optional<std::string> WorkQueue::TryGet() {
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) return std::nullopt;
  PromoteReadyLocked();
  return PopLocked();
}

std::optional<std::string> WorkQueue::Get() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (shutting_down_) return std::nullopt;
    PromoteReadyLocked();
    if (auto key = PopLocked()) return key;
    if (delayed_.empty()) {
      cv_.wait(lock);
    } else {
      // Wait until the earliest delayed key is due (measured on our clock; a
      // FakeClock does not move by itself, so bound the wait and re-check).
      auto due = delayed_.begin()->first - clock_.Now();
      auto cap = std::chrono::milliseconds(100);
      cv_.wait_for(lock, std::clamp<Clock::Duration>(due, Clock::Duration::zero(), cap));
    }
  }
}

void WorkQueue::Done(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  processing_.erase(key);
  if (dirty_.count(key) && !shutting_down_) {
    queue_.push_back(key);
    cv_.notify_one();
  }
}

void WorkQueue::ShutDown() {
  std::lock_guard<std::mutex> lock(mu_);
  shutting_down_ = true;
  queue_.clear();
  delayed_.clear();
  delayed_at_.clear();
  dirty_.clear();
  cv_.notify_all();
}

bool WorkQueue::shutting_down() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shutting_down_;
}

void WorkQueue::Poke() {
  std::lock_guard<std::mutex> lock(mu_);
  cv_.notify_all();
}

void WorkQueue::SetHooks(std::function<void()> on_add, std::function<void()> on_retry) {
  std::lock_guard<std::mutex> lock(mu_);
  on_add_ = std::move(on_add);
  on_retry_ = std::move(on_retry);
}

WorkQueueStats WorkQueue::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {queue_.size(), delayed_.size(), processing_.size(), adds_total_, retries_total_};
}

}  // namespace npc
