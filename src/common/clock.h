// Clock: time behind an interface, so tests control it.
//
// RealClock reads std::chrono::steady_clock (monotonic; use it for timeouts,
// backoff and lease expiry, never wall time). FakeClock only moves when told.
// Thread-safety: both are safe to call from any thread.
#pragma once

#include <atomic>
#include <chrono>

namespace npc {

class Clock {
 public:
  using Duration = std::chrono::steady_clock::duration;
  using TimePoint = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class RealClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  // A process-wide instance for production wiring.
  static const RealClock& Get() {
    static const RealClock clock;
    return clock;
  }
};

class FakeClock final : public Clock {
 public:
  TimePoint Now() const override { return TimePoint(Duration(now_.load())); }
  void Advance(Duration d) { now_.fetch_add(d.count()); }

 private:
  std::atomic<Duration::rep> now_{Duration(std::chrono::hours(1)).count()};
};

}  // namespace npc
