// Time behind an interface for the Kubernetes client: the rate limiter, the
// retry policy and credential refresh read it, so unit tests run without sleeps.
//
// Thread-safety: both implementations are safe to use from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <vector>

namespace npc::kube {

class TimeSource {
 public:
  using Duration = std::chrono::steady_clock::duration;
  using TimePoint = std::chrono::steady_clock::time_point;
  using WallTime = std::chrono::system_clock::time_point;

  virtual ~TimeSource() = default;
  // Monotonic time, for intervals and deadlines.
  virtual TimePoint Now() const = 0;
  // Wall-clock time, only to compare with timestamps from elsewhere (credential expiry).
  virtual WallTime WallNow() const = 0;
  virtual void SleepFor(Duration d) const = 0;
  // Sleeps like SleepFor but ends early once `cancel` is true; false when cancelled.
  virtual bool SleepUnlessCancelled(Duration d, const std::atomic<bool>& cancel) const = 0;
};

class RealTimeSource final : public TimeSource {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() const override { return std::chrono::system_clock::now(); }
  void SleepFor(Duration d) const override;
  bool SleepUnlessCancelled(Duration d, const std::atomic<bool>& cancel) const override;
  static const RealTimeSource& Get();
};

// Moves only when told, or when someone sleeps (which advances it by the sleep).
class FakeTimeSource final : public TimeSource {
 public:
  TimePoint Now() const override;
  WallTime WallNow() const override;
  void SleepFor(Duration d) const override;
  // Cancelled only if `cancel` is already true; otherwise exactly SleepFor.
  bool SleepUnlessCancelled(Duration d, const std::atomic<bool>& cancel) const override;
  void Advance(Duration d);
  // Every SleepFor so far, in order.
  std::vector<Duration> sleeps() const;

 private:
  mutable std::mutex mu_;
  mutable Duration elapsed_{std::chrono::hours(1)};
  mutable std::vector<Duration> sleeps_;
  WallTime wall_start_{std::chrono::sys_days(std::chrono::year(2026) / 1 / 1)};
};

}  // namespace npc::kube
