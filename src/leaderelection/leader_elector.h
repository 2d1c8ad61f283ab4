// LeaderElector: Lease-based leader election among replicas of netpol-ctrl
// (the semantics of client-go's tools/leaderelection).
//
// Every candidate reads the shared record (a LeaseLock) every retry period.
// A lease held by another candidate is taken over only when its record has not
// changed for the lease duration, measured on this process's steady clock from
// the moment the record was first seen in its current form; the timestamps in
// the record come from other clocks and are never compared with local time, so
// clock skew between machines does not matter (only a difference in clock
// *rates* beyond lease_duration / renew_deadline would). The leader renews
// every retry period; when no renewal has succeeded for the renew deadline (or
// the lease is seen held by someone else) it stops leading at once and does not
// compete again: the process is expected to exit non-zero. On a clean stop the
// leader releases the lease (empty holder, 1 s duration) so that another
// candidate takes over at its next retry instead of after the lease duration.
//
// Wiring (informers may warm up before leadership; only the leader writes):
//
//   ElectionConfig c;
//   c.lock = lock.get();                       // e.g. MakeKubeLeaseLock(...)
//   c.on_started_leading = [&] { StartWorkers(); };
//   c.on_stopped_leading = [&] { StopWorkersAndWait(); };  // nothing writes after it returns
//   NPC_ASSIGN_OR_RETURN(auto elector, LeaderElector::Create(std::move(c)));
//   Status s = elector->Run(stop);  // blocks until `stop` is set or leadership is lost
//   if (!s.ok()) return s;          // lost: exit non-zero
//
// Timing guarantee: IsLeader() turns false exactly when the renew deadline has
// passed since the start of the last successful renewal, even while Run is
// blocked in a slow lock call; the others can take over no earlier than the
// lease duration after they saw that renewal. Keep lease_duration comfortably
// above renew_deadline (validated: lease > renew > retry).
//
// Thread-safety: Run blocks its calling thread and is called at most once.
// IsLeader, GetLeader and identity may be called from any thread at any time
// (IsLeader is lock-free). TryAcquireOrRenew and Release are serialized
// internally and may be called from any thread; they are public for tests and
// for callers that drive the election themselves instead of calling Run.
// Callbacks run on the thread that runs Run (on_new_leader: the thread calling
// TryAcquireOrRenew), never under an internal lock, so they may call IsLeader.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "leaderelection/lease_lock.h"

namespace npc::leaderelection {

struct ElectionConfig {
  // Required; not owned; must outlive the elector.
  LeaseLock* lock = nullptr;
  // Unique among candidates; empty: DefaultIdentity().
  std::string identity;

  // How long others wait, after last seeing the record change, before taking
  // over. Written into the record as leaseDurationSeconds (whole seconds, >= 1).
  Clock::Duration lease_duration = std::chrono::seconds(15);
  // The leader gives up when no renewal succeeded for this long.
  Clock::Duration renew_deadline = std::chrono::seconds(10);
  // Between attempts to acquire and to renew.
  Clock::Duration retry_period = std::chrono::seconds(2);
  // When Run is stopped while leading, release the lease before returning.
  bool release_on_stop = true;

  // Called once, when this candidate becomes the leader. Must return promptly
  // (start workers on their own threads): renewals wait for it.
  std::function<void()> on_started_leading;
  // Called once, when leadership ends: lost (IsLeader() is already false) or
  // stopped (before the lease is released: finish or abandon in-flight writes
  // here, within the renew deadline). Not called if leadership was never held.
  std::function<void()> on_stopped_leading;
  // Called when the observed holder changes to a non-empty identity (this
  // candidate's included).
  std::function<void(const std::string& identity)> on_new_leader;

  // Steady time for expiry and deadlines; null: RealClock. Not owned.
  const Clock* clock = nullptr;
  // Wall time for the acquireTime/renewTime written into the record; null:
  // std::chrono::system_clock::now.
  std::function<std::chrono::system_clock::time_point()> wall_now;
  // Waits `d` (on `clock`) or until `stop` is set, whichever is first; null:
  // a real sleep that notices `stop` within ~20 ms. Tests pass one that
  // advances a FakeClock.
  std::function<void(Clock::Duration d, const std::atomic<bool>& stop)> sleep;
};

// Every problem in `c` at once ("lease_duration (5s) must exceed renew_deadline (10s); ...").
[[nodiscard]] Status ValidateElectionConfig(const ElectionConfig& c);

// $POD_NAME, else the host name, plus "_" and 12 random hex digits
// ("netpol-ctrl-7d9f-abcde_3f9a0c1b2d4e"), so a restarted pod never inherits
// its predecessor's lease.
[[nodiscard]] std::string DefaultIdentity();

class LeaderElector {
 public:
  // Fails with kInvalidArgument for an invalid config (see ValidateElectionConfig).
  [[nodiscard]] static StatusOr<std::unique_ptr<LeaderElector>> Create(ElectionConfig config);

  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // Competes until leading, then renews, until `stop` is set or leadership is
  // lost. OK: stopped (lease released if it was held and release_on_stop).
  // kDeadlineExceeded: no renewal succeeded within the renew deadline.
  // kConflict: the lease was found held by another candidate. After a loss the
  // elector does not compete again; the caller should exit non-zero. Lock
  // errors while acquiring are logged and retried, never returned.
  [[nodiscard]] Status Run(const std::atomic<bool>& stop);

  // True while this candidate leads and its last successful renewal started
  // less than the renew deadline ago (by the injected clock). Lock-free.
  [[nodiscard]] bool IsLeader() const;
  // The holder last observed in the record ("" before the first read or after a release).
  [[nodiscard]] std::string GetLeader() const;
  [[nodiscard]] const std::string& identity() const { return config_.identity; }

  // One attempt: read the record; create it, take it over (free or expired)
  // or renew it (ours). true: we hold the lease now; false: another candidate
  // holds a live lease; error: the lock failed (kConflict/kAlreadyExists: lost
  // a race; read again next time).
  [[nodiscard]] StatusOr<bool> TryAcquireOrRenew();

  // If this candidate holds the lease, writes it back with an empty holder and
  // a 1 s duration so the next candidate need not wait. OK when there was
  // nothing to release. Does not call on_stopped_leading.
  [[nodiscard]] Status Release();

 private:
  explicit LeaderElector(ElectionConfig config);

  Clock::Duration ExpiryOf(const LeaderElectionRecord& r) const;
  Clock::TimePoint LastRenew() const;
  // Records `r` as observed at `now`; returns the identity to report to
  // on_new_leader, if the holder changed.
  std::optional<std::string> ObserveLocked(const LeaderElectionRecord& r, Clock::TimePoint now);
  void NotifyNewLeader(const std::optional<std::string>& identity);

  ElectionConfig config_;
  const Clock& clock_;

  mutable std::mutex mu_;  // serializes lock operations; guards the fields below
  std::optional<LeaderElectionRecord> observed_record_;
  Clock::TimePoint observed_time_;
  bool holding_ = false;          // our last write succeeded and nobody took it since
  LeaderElectionRecord written_;  // our last write, valid while holding_
  std::string written_version_;   // its resourceVersion

  std::atomic<bool> leading_{false};
  std::atomic<Clock::Duration::rep> last_renew_{0};  // steady time since epoch
};

}  // namespace npc::leaderelection
