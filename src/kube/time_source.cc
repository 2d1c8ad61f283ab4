#include "kube/time_source.h"

#include <algorithm>
#include <thread>

namespace npc::kube {

void RealTimeSource::SleepFor(Duration d) const {
  std::this_thread::sleep_for(d);
}

bool RealTimeSource::SleepUnlessCancelled(Duration d, const std::atomic<bool>& cancel) const {
  const TimePoint until = Now() + d;
  while (!cancel.load(std::memory_order_relaxed)) {
    const TimePoint now = Now();
    if (now >= until) return true;
    std::this_thread::sleep_for(std::min<Duration>(until - now, std::chrono::milliseconds(20)));
  }
  return false;
}

const RealTimeSource& RealTimeSource::Get() {
  static const RealTimeSource source;
  return source;
}

TimeSource::TimePoint FakeTimeSource::Now() const {
  std::lock_guard<std::mutex> l(mu_);
  return TimePoint(elapsed_);
}

TimeSource::WallTime FakeTimeSource::WallNow() const {
  std::lock_guard<std::mutex> l(mu_);
  return wall_start_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(elapsed_);
}

void FakeTimeSource::SleepFor(Duration d) const {
  std::lock_guard<std::mutex> l(mu_);
  sleeps_.push_back(d);
  elapsed_ += d;
}

bool FakeTimeSource::SleepUnlessCancelled(Duration d, const std::atomic<bool>& cancel) const {
  if (cancel.load()) return false;
  SleepFor(d);
  return true;
}

void FakeTimeSource::Advance(Duration d) {
  std::lock_guard<std::mutex> l(mu_);
  elapsed_ += d;
}

std::vector<TimeSource::Duration> FakeTimeSource::sleeps() const {
  std::lock_guard<std::mutex> l(mu_);
  return sleeps_;
}

}  // namespace npc::kube
