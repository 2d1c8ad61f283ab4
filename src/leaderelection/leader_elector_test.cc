#include "leaderelection/leader_elector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "leaderelection/kube_lease_lock.h"
#include "leaderelection/lease_lock.h"

namespace npc::leaderelection {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Wraps a lock and runs a hook once after the next Get or before the next
// Create/Update: what another candidate (or a slow network) does in between.
class HookedLock final : public LeaseLock {
 public:
  explicit HookedLock(LeaseLock& inner) : inner_(inner) {}
  StatusOr<LeaseState> Get() override {
    auto r = inner_.Get();
    RunHook(after_get_);
    return r;
  }
  StatusOr<std::string> Create(const LeaderElectionRecord& rec) override {
    RunHook(before_write_);
    return inner_.Create(rec);
  }
  StatusOr<std::string> Update(const LeaderElectionRecord& rec, const std::string& rv) override {
    RunHook(before_write_);
    return inner_.Update(rec, rv);
  }
  std::string Describe() const override { return inner_.Describe(); }

  std::function<void()> after_get_;
  std::function<void()> before_write_;

 private:
  static void RunHook(std::function<void()>& hook) {
    if (!hook) return;
    auto h = std::move(hook);
    hook = nullptr;
    h();
  }
  LeaseLock& inner_;
};

class LeaderElectorTest : public ::testing::Test {
 protected:
  // Wall time starts at 2024-05-01T10:00:00Z and moves with the fake clock.
  std::chrono::system_clock::time_point Wall() const {
    return std::chrono::system_clock::time_point(seconds(1714557600)) +
           std::chrono::duration_cast<std::chrono::system_clock::duration>(
               clock_.Now().time_since_epoch() - start_);
  }

  ElectionConfig Config(const std::string& id, LeaseLock* lock = nullptr) {
    ElectionConfig c;
    c.lock = lock != nullptr ? lock : &lock_;
    c.identity = id;
    c.clock = &clock_;
    c.wall_now = [this] { return Wall(); };
    c.sleep = [this](Clock::Duration d, const std::atomic<bool>&) {
      clock_.Advance(d);
      if (on_sleep_) on_sleep_();
    };
    return c;
  }

  std::unique_ptr<LeaderElector> Make(ElectionConfig c) {
    auto e = LeaderElector::Create(std::move(c));
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() ? std::move(*e) : nullptr;
  }
  std::unique_ptr<LeaderElector> Make(const std::string& id) { return Make(Config(id)); }

  // True when the attempt succeeded and we hold the lease.
  static bool Try(LeaderElector& e) {
    auto r = e.TryAcquireOrRenew();
    return r.ok() && *r;
  }
  std::string Holder() const {
    auto s = lock_.Peek();
    return s.has_value() ? s->record.holder_identity : "<none>";
  }
  LeaderElectionRecord Record() const { return lock_.Peek().value().record; }

  FakeClock clock_;
  const Clock::Duration start_ = clock_.Now().time_since_epoch();
  InMemoryLeaseLock lock_;
  std::function<void()> on_sleep_;  // run after each sleep in Run
};

TEST_F(LeaderElectorTest, AcquiresAMissingLeaseByCreatingIt) {
  auto a = Make("a");
  auto r = a->TryAcquireOrRenew();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(*r);
  LeaderElectionRecord rec = Record();
  EXPECT_EQ(rec.holder_identity, "a");
  EXPECT_EQ(rec.lease_duration_seconds, 15);
  EXPECT_EQ(rec.acquire_time, "2024-05-01T10:00:00.000000Z");
  EXPECT_EQ(rec.renew_time, "2024-05-01T10:00:00.000000Z");
  EXPECT_EQ(rec.lease_transitions, 0);
  EXPECT_EQ(a->GetLeader(), "a");
}

TEST_F(LeaderElectorTest, AcquiresAnExistingFreeLease) {
  lock_.Set({"", 1, "2024-05-01T09:00:00.000000Z", "2024-05-01T09:00:00.000000Z", 4});
  auto a = Make("a");
  EXPECT_TRUE(Try(*a));
  EXPECT_EQ(Holder(), "a");
  EXPECT_EQ(Record().lease_transitions, 5);
  EXPECT_EQ(Record().acquire_time, "2024-05-01T10:00:00.000000Z");
}

TEST_F(LeaderElectorTest, DoesNotStealALiveLease) {
  auto a = Make("a");
  auto b = Make("b");
  ASSERT_TRUE(Try(*a));
  auto r = b->TryAcquireOrRenew();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(*r);
  clock_.Advance(seconds(15) - milliseconds(1));
  EXPECT_FALSE(Try(*b));
  EXPECT_EQ(Holder(), "a");
  EXPECT_EQ(b->GetLeader(), "a");
}

TEST_F(LeaderElectorTest, TakesOverAfterTheLeaseDurationWithoutChange) {
  auto a = Make("a");
  auto b = Make("b");
  ASSERT_TRUE(Try(*a));
  EXPECT_FALSE(Try(*b));  // b first sees a's record now
  clock_.Advance(seconds(15));
  EXPECT_TRUE(Try(*b));
  EXPECT_EQ(Holder(), "b");
  EXPECT_EQ(Record().lease_transitions, 1);
  EXPECT_EQ(Record().acquire_time, "2024-05-01T10:00:15.000000Z");
  // a finds out at its next attempt that it no longer holds the lease.
  auto r = a->TryAcquireOrRenew();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  EXPECT_EQ(a->GetLeader(), "b");
}

TEST_F(LeaderElectorTest, ExpiryCountsFromWhenThisCandidateFirstSawTheRecord) {
  auto a = Make("a");
  ASSERT_TRUE(Try(*a));
  clock_.Advance(seconds(20));  // a has been silent for longer than the lease...
  auto b = Make("b");
  EXPECT_FALSE(Try(*b));  // ...but b has only just seen the record.
  clock_.Advance(seconds(14));
  EXPECT_FALSE(Try(*b));
  clock_.Advance(seconds(1));
  EXPECT_TRUE(Try(*b));
}

TEST_F(LeaderElectorTest, ARecordChangeRestartsTheExpiry) {
  auto a = Make("a");
  auto b = Make("b");
  ASSERT_TRUE(Try(*a));
  EXPECT_FALSE(Try(*b));
  clock_.Advance(seconds(10));
  ASSERT_TRUE(Try(*a));  // renewal: renewTime changes
  EXPECT_FALSE(Try(*b));
  clock_.Advance(seconds(14));
  EXPECT_FALSE(Try(*b));  // 24 s since b first saw a, 14 s since the change
  clock_.Advance(seconds(1));
  EXPECT_TRUE(Try(*b));
}

// The remote timestamps come from another machine's clock: a renewTime far in
// the future does not extend the lease, one far in the past does not shorten it.
TEST_F(LeaderElectorTest, RemoteTimestampsAreIgnoredUnderClockSkew) {
  for (const char* remote : {"2099-12-31T23:59:59.000000Z", "1970-01-01T00:00:01.000000Z"}) {
    SCOPED_TRACE(remote);
    lock_.Set({"x", 15, remote, remote, 3});
    auto b = Make("b");
    EXPECT_FALSE(Try(*b));
    clock_.Advance(seconds(15) - milliseconds(1));
    EXPECT_FALSE(Try(*b));
    EXPECT_EQ(Holder(), "x");
    clock_.Advance(milliseconds(1));
    EXPECT_TRUE(Try(*b));
    EXPECT_EQ(Holder(), "b");
    EXPECT_EQ(Record().lease_transitions, 4);
  }
}

TEST_F(LeaderElectorTest, HonoursTheHoldersLeaseDuration) {
  lock_.Set({"x", 40, "", "", 0});
  auto b = Make("b");  // configured with 15 s
  EXPECT_FALSE(Try(*b));
  clock_.Advance(seconds(39));
  EXPECT_FALSE(Try(*b));
  clock_.Advance(seconds(1));
  EXPECT_TRUE(Try(*b));
}

TEST_F(LeaderElectorTest, RenewalKeepsAcquireTimeAndTransitionsAndKeepsOthersOut) {
  auto a = Make("a");
  auto b = Make("b");
  ASSERT_TRUE(Try(*a));
  for (int i = 0; i < 30; ++i) {
    clock_.Advance(seconds(2));
    ASSERT_TRUE(Try(*a));
    ASSERT_FALSE(Try(*b)) << "after " << (i + 1) * 2 << " s";
  }
  LeaderElectionRecord rec = Record();
  EXPECT_EQ(rec.holder_identity, "a");
  EXPECT_EQ(rec.acquire_time, "2024-05-01T10:00:00.000000Z");
  EXPECT_EQ(rec.renew_time, "2024-05-01T10:01:00.000000Z");
  EXPECT_EQ(rec.lease_transitions, 0);
}

TEST_F(LeaderElectorTest, LockErrorsAreReturned) {
  auto a = Make("a");
  lock_.FailNext(Unavailable("connection refused"));
  auto r = a->TryAcquireOrRenew();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(Holder(), "<none>");
  EXPECT_TRUE(Try(*a));
}

TEST_F(LeaderElectorTest, OnlyOneWinsARaceToTakeOver) {
  lock_.Set({"x", 15, "", "", 0});
  HookedLock hooked(lock_);
  auto a = Make(Config("a", &hooked));
  auto b = Make("b");
  EXPECT_FALSE(Try(*a));
  EXPECT_FALSE(Try(*b));
  clock_.Advance(seconds(15));
  // Between a's read and a's write, b takes the lease.
  bool b_won = false;
  hooked.before_write_ = [&] { b_won = Try(*b); };
  auto r = a->TryAcquireOrRenew();
  EXPECT_TRUE(b_won);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_EQ(Holder(), "b");
  EXPECT_EQ(Record().lease_transitions, 1);
  // a reads again and sees b's fresh record.
  r = a->TryAcquireOrRenew();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
}

TEST_F(LeaderElectorTest, OnlyOneWinsARaceToCreate) {
  HookedLock hooked(lock_);
  auto a = Make(Config("a", &hooked));
  auto b = Make("b");
  bool b_won = false;
  hooked.before_write_ = [&] { b_won = Try(*b); };
  auto r = a->TryAcquireOrRenew();
  EXPECT_TRUE(b_won);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(Holder(), "b");
  r = a->TryAcquireOrRenew();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
}

TEST_F(LeaderElectorTest, ReleaseLetsAnotherCandidateAcquireAtOnce) {
  auto a = Make("a");
  auto b = Make("b");
  ASSERT_TRUE(Try(*a));
  EXPECT_FALSE(Try(*b));
  clock_.Advance(seconds(1));
  ASSERT_TRUE(a->Release().ok());
  LeaderElectionRecord rec = Record();
  EXPECT_EQ(rec.holder_identity, "");
  EXPECT_EQ(rec.lease_duration_seconds, 1);
  EXPECT_EQ(rec.lease_transitions, 0);
  EXPECT_TRUE(Try(*b));  // no time has passed
  EXPECT_EQ(Holder(), "b");
  EXPECT_EQ(Record().lease_transitions, 1);
  // Releasing again, or when not holding, writes nothing.
  int writes = lock_.writes();
  EXPECT_TRUE(a->Release().ok());
  EXPECT_EQ(lock_.writes(), writes);
  EXPECT_EQ(Holder(), "b");
}

TEST_F(LeaderElectorTest, ReleaseLeavesALeaseTakenOverByAnotherAlone) {
  auto a = Make("a");
  auto b = Make("b");
  ASSERT_TRUE(Try(*a));
  EXPECT_FALSE(Try(*b));
  clock_.Advance(seconds(15));
  ASSERT_TRUE(Try(*b));
  EXPECT_TRUE(a->Release().ok());  // a's version is stale; it re-reads and sees b
  EXPECT_EQ(Holder(), "b");
}

TEST_F(LeaderElectorTest, NotifiesEachNewLeader) {
  std::vector<std::string> seen;
  ElectionConfig c = Config("b");
  c.on_new_leader = [&](const std::string& id) { seen.push_back(id); };
  auto b = Make(std::move(c));
  auto a = Make("a");
  ASSERT_TRUE(Try(*a));
  EXPECT_FALSE(Try(*b));
  clock_.Advance(seconds(2));
  ASSERT_TRUE(Try(*a));
  EXPECT_FALSE(Try(*b));  // same holder: no new notification
  clock_.Advance(seconds(15));
  EXPECT_TRUE(Try(*b));
  EXPECT_THAT(seen, ElementsAre("a", "b"));
}

// --- Run ---

struct Calls {
  int started = 0;
  int stopped = 0;
  bool leader_in_stopped = true;
};

TEST_F(LeaderElectorTest, RunWaitsForTheLeaseThenLeadsAndReleasesOnStop) {
  auto holder = Make("x");
  ASSERT_TRUE(Try(*holder));  // x holds it and then goes silent (crashed)
  Calls calls;
  std::atomic<bool> stop{false};
  Clock::TimePoint begin = clock_.Now();
  Clock::TimePoint started_at;
  ElectionConfig c = Config("a");
  c.on_started_leading = [&] {
    ++calls.started;
    started_at = clock_.Now();
  };
  std::unique_ptr<LeaderElector> a;
  c.on_stopped_leading = [&] {
    ++calls.stopped;
    calls.leader_in_stopped = a->IsLeader();
    EXPECT_EQ(Holder(), "a");  // released only after the callback
  };
  a = Make(std::move(c));
  std::vector<bool> leader_while_running;
  on_sleep_ = [&] {
    if (calls.started > 0) leader_while_running.push_back(a->IsLeader());
    if (clock_.Now() - begin >= seconds(60)) stop = true;
  };
  Status s = a->Run(stop);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(calls.started, 1);
  EXPECT_EQ(calls.stopped, 1);
  EXPECT_TRUE(calls.leader_in_stopped);  // may still finish in-flight writes
  EXPECT_FALSE(a->IsLeader());
  // Acquired at the first attempt after 15 s of silence (attempts every 2 s).
  EXPECT_EQ(started_at - begin, seconds(16));
  EXPECT_FALSE(leader_while_running.empty());
  for (bool l : leader_while_running) EXPECT_TRUE(l);
  EXPECT_EQ(Holder(), "");  // released
  EXPECT_EQ(Record().lease_duration_seconds, 1);
}

TEST_F(LeaderElectorTest, RunStoppedBeforeLeadingCallsNothing) {
  auto holder = Make("x");
  ASSERT_TRUE(Try(*holder));
  Calls calls;
  std::atomic<bool> stop{false};
  ElectionConfig c = Config("a");
  c.on_started_leading = [&] { ++calls.started; };
  c.on_stopped_leading = [&] { ++calls.stopped; };
  auto a = Make(std::move(c));
  on_sleep_ = [&] {
    ASSERT_TRUE(Try(*holder));  // x keeps renewing
    if (clock_.Now() - Clock::TimePoint() > seconds(3600 + 60)) stop = true;
  };
  EXPECT_TRUE(a->Run(stop).ok());
  EXPECT_EQ(calls.started, 0);
  EXPECT_EQ(calls.stopped, 0);
  EXPECT_EQ(Holder(), "x");
}

TEST_F(LeaderElectorTest, RunKeepsLeadingThroughShortRenewalFailures) {
  std::atomic<bool> stop{false};
  int sleeps = 0;
  ElectionConfig c = Config("a");
  c.release_on_stop = false;
  auto a = Make(std::move(c));
  on_sleep_ = [&] {
    ++sleeps;
    // The renewals at 2, 4 and 6 s fail; the one at 8 s succeeds, under the
    // 10 s deadline counted from the renewal at 0 s.
    if (sleeps == 1) {
      for (int i = 0; i < 3; ++i) lock_.FailNext(Unavailable("apiserver down"));
    }
    if (sleeps == 20) stop = true;
  };
  Status s = a->Run(stop);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Holder(), "a");  // not released: release_on_stop is off
  EXPECT_EQ(sleeps, 20);
}

TEST_F(LeaderElectorTest, RunStepsDownWhenRenewalFailsForTheRenewDeadline) {
  Calls calls;
  std::atomic<bool> stop{false};
  Clock::TimePoint acquired_at;
  Clock::TimePoint stopped_at;
  std::unique_ptr<LeaderElector> a;
  ElectionConfig c = Config("a");
  c.on_started_leading = [&] {
    ++calls.started;
    acquired_at = clock_.Now();
    lock_.FailAll(Unavailable("apiserver down"));
  };
  c.on_stopped_leading = [&] {
    ++calls.stopped;
    stopped_at = clock_.Now();
    calls.leader_in_stopped = a->IsLeader();
  };
  a = Make(std::move(c));
  std::vector<std::pair<Clock::Duration, bool>> leader_at;
  on_sleep_ = [&] { leader_at.emplace_back(clock_.Now() - acquired_at, a->IsLeader()); };
  Status s = a->Run(stop);
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("lost"));
  EXPECT_EQ(calls.started, 1);
  EXPECT_EQ(calls.stopped, 1);
  EXPECT_FALSE(calls.leader_in_stopped);
  EXPECT_EQ(stopped_at - acquired_at, seconds(10));  // at once, not at the next retry
  for (auto [t, leader] : leader_at) EXPECT_EQ(leader, t < seconds(10)) << t.count();
  EXPECT_FALSE(a->IsLeader());
  lock_.ClearFailures();
  EXPECT_EQ(Holder(), "a");  // a lost leader does not write, not even a release
}

TEST_F(LeaderElectorTest, IsLeaderTurnsFalseDuringASlowRenewal) {
  HookedLock hooked(lock_);
  std::atomic<bool> stop{false};
  std::unique_ptr<LeaderElector> a;
  std::vector<bool> during_call;
  ElectionConfig c = Config("a", &hooked);
  int sleeps = 0;
  a = Make(std::move(c));
  on_sleep_ = [&] {
    if (++sleeps == 2) {
      // The next renewal's read takes 11 s (a hung connection).
      hooked.after_get_ = [&] {
        during_call.push_back(a->IsLeader());
        clock_.Advance(seconds(5));
        during_call.push_back(a->IsLeader());
        clock_.Advance(seconds(6));
        during_call.push_back(a->IsLeader());
      };
    }
  };
  Status s = a->Run(stop);
  // Last renewal started at 2 s; the read began at 4 s: leader at 4 and 9, not at 15.
  EXPECT_THAT(during_call, ElementsAre(true, true, false));
  // The late write still lands (the lock could not stop it), but Run reports the loss.
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded) << s.ToString();
}

TEST_F(LeaderElectorTest, RunStepsDownAtOnceWhenAnotherHoldsTheLease) {
  Calls calls;
  std::atomic<bool> stop{false};
  ElectionConfig c = Config("a");
  c.on_started_leading = [&] { ++calls.started; };
  c.on_stopped_leading = [&] { ++calls.stopped; };
  auto a = Make(std::move(c));
  int sleeps = 0;
  on_sleep_ = [&] {
    if (++sleeps == 3) lock_.Set({"intruder", 15, "", "", 7});
  };
  Status s = a->Run(stop);
  EXPECT_EQ(s.code(), StatusCode::kConflict) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("intruder"));
  EXPECT_EQ(calls.started, 1);
  EXPECT_EQ(calls.stopped, 1);
  EXPECT_EQ(sleeps, 3);
  EXPECT_EQ(Holder(), "intruder");
}

TEST(ElectionConfigTest, ReportsEveryProblemAtOnce) {
  ElectionConfig c;
  c.lease_duration = seconds(5);
  c.renew_deadline = seconds(10);
  c.retry_period = seconds(10);
  Status s = ValidateElectionConfig(c);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("lock is required"));
  EXPECT_THAT(s.message(), HasSubstr("lease_duration (5000ms, whole seconds) must exceed "
                                     "renew_deadline (10000ms)"));
  EXPECT_THAT(s.message(), HasSubstr("renew_deadline (10000ms) must exceed retry_period"));
  InMemoryLeaseLock lock;
  ElectionConfig ok;
  ok.lock = &lock;
  EXPECT_TRUE(ValidateElectionConfig(ok).ok());
  EXPECT_FALSE(LeaderElector::Create(c).ok());
  ok.lease_duration = milliseconds(2900);  // written as 2 s
  ok.renew_deadline = milliseconds(2500);
  ok.retry_period = milliseconds(500);
  EXPECT_THAT(ValidateElectionConfig(ok).message(), HasSubstr("whole seconds"));
}

TEST(DefaultIdentityTest, IsUniquePerCall) {
  std::string a = DefaultIdentity();
  std::string b = DefaultIdentity();
  EXPECT_NE(a, b);
  EXPECT_THAT(a, ::testing::MatchesRegex(".+_[0-9a-f]{12}"));
}

}  // namespace
}  // namespace npc::leaderelection
