#include "kube/time_source.h"

#include <thread>

namespace npc::kube {

void RealTimeSource::SleepFor(Duration d) const {
  std::this_thread::sleep_for(d);
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

void FakeTimeSource::Advance(Duration d) {
  std::lock_guard<std::mutex> l(mu_);
  elapsed_ += d;
}

std::vector<TimeSource::Duration> FakeTimeSource::sleeps() const {
  std::lock_guard<std::mutex> l(mu_);
  return sleeps_;
}

}  // namespace npc::kube
