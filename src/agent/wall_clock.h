// WallClock: the time of day behind an interface, so tests control it.
// Reports carry wall times (first and last seen); intervals and timeouts use
// the monotonic npc::Clock (common/clock.h).
//
// Thread-safety: both are safe from any thread.
#pragma once

#include <atomic>
#include <chrono>

namespace npc::agent {

using WallTime = std::chrono::system_clock::time_point;

class WallClock {
 public:
  virtual ~WallClock() = default;
  virtual WallTime Now() const = 0;
};

class RealWallClock final : public WallClock {
 public:
  WallTime Now() const override { return std::chrono::system_clock::now(); }
  static const RealWallClock& Get() {
    static const RealWallClock clock;
    return clock;
  }
};

class FakeWallClock final : public WallClock {
 public:
  explicit FakeWallClock(WallTime start = WallTime(std::chrono::seconds(1750000000)))
      : now_(start.time_since_epoch().count()) {}
  WallTime Now() const override { return WallTime(WallTime::duration(now_.load())); }
  void Advance(WallTime::duration d) { now_.fetch_add(d.count()); }

 private:
  std::atomic<WallTime::duration::rep> now_;
};

}  // namespace npc::agent
