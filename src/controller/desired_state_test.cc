// DesiredState against a real ClusterCache: the one owner computes first
// everything, then batches, and its resync finds (and corrects) what the
// incremental state got wrong.
#include "controller/desired_state.h"

#include <gtest/gtest.h>

#include <set>

namespace npc::controller {
namespace {

decode::Object Obj(Workload w) {
  decode::Object o;
  o.meta.kind = std::string(KindName(w.kind));
  o.meta.ns = w.ns;
  o.meta.name = w.name;
  o.value = std::move(w);
  return o;
}

Workload Deploy(const std::string& ns, const std::string& name) {
  Workload w;
  w.kind = WorkloadKind::kDeployment;
  w.ns = ns;
  w.name = name;
  w.uid = "uid-" + name;
  w.pod_selector.match_labels = {{"app", name}};
  w.template_labels = {{"app", name}};
  return w;
}

class CountingObserver : public Observer {
 public:
  void OnResync(size_t differences, const std::string& examples, Clock::Duration) override {
    resyncs++;
    last_differences = differences;
    last_examples = examples;
  }
  int resyncs = 0;
  size_t last_differences = 0;
  std::string last_examples;
};

class DesiredStateTest : public ::testing::Test {
 protected:
  DesiredStateTest()
      : cache(SynthesisConfig::Defaults()),
        desired(
            {.debounce = {}, .resync_period = std::chrono::minutes(10)}, cache, observer,
            [this](const ReconcileKey& k) { queued.insert(k); }, clock) {}

  void Upsert(decode::Object o) {
    if (cache.Upsert(o).model_changed) desired.Notify();
  }
  // Runs everything due (a resync goes a slice at a time).
  void RunDue() {
    while (desired.Step()) {
    }
  }

  FakeClock clock;
  ClusterCache cache;
  CountingObserver observer;
  std::set<ReconcileKey> queued;
  DesiredState desired;
};

const ReconcileKey kWeb = ReconcileKey::Policy("shop", "deployment-web");
const ReconcileKey kApi = ReconcileKey::Policy("shop", "deployment-api");

TEST_F(DesiredStateTest, NothingIsComputedOrQueuedBeforeTheCachesAreSynced) {
  Upsert(Obj(Deploy("shop", "web")));
  EXPECT_FALSE(desired.Step());
  EXPECT_TRUE(queued.empty());
  EXPECT_FALSE(desired.Stats().ready);
  desired.MarkSynced();
  EXPECT_TRUE(desired.Step());
  EXPECT_TRUE(desired.Stats().ready);
  EXPECT_TRUE(desired.Get(kWeb).has_value());
  EXPECT_EQ(queued, (std::set<ReconcileKey>{kWeb}));
  EXPECT_FALSE(desired.Step());  // nothing more is due
}

TEST_F(DesiredStateTest, ABatchQueuesOnlyWhatChanged) {
  Upsert(Obj(Deploy("shop", "web")));
  desired.MarkSynced();
  ASSERT_TRUE(desired.Step());
  queued.clear();
  Upsert(Obj(Deploy("shop", "api")));
  ASSERT_TRUE(desired.Step());
  EXPECT_EQ(queued, (std::set<ReconcileKey>{kApi}));
  EXPECT_EQ(desired.Stats().desired, 2u);
}

TEST_F(DesiredStateTest, AResyncIsDueEveryPeriodAndFindsNothingWhenAllIsWell) {
  Upsert(Obj(Deploy("shop", "web")));
  Upsert(Obj(Deploy("shop", "api")));
  desired.MarkSynced();
  ASSERT_TRUE(desired.Step());
  clock.Advance(std::chrono::minutes(9));
  EXPECT_FALSE(desired.Step());
  clock.Advance(std::chrono::minutes(1));
  ASSERT_TRUE(desired.Step());
  RunDue();
  EXPECT_EQ(observer.resyncs, 1);
  EXPECT_EQ(observer.last_differences, 0u);
  EXPECT_EQ(desired.Stats().resyncs, 1u);
  EXPECT_EQ(desired.Stats().resync_differences, 0u);
  EXPECT_FALSE(desired.Step());  // the next one is ten minutes away
}

// A change not yet recomputed when the resync comes is not a difference: the
// resync first publishes what is pending.
TEST_F(DesiredStateTest, PendingChangesAreNotDifferences) {
  Upsert(Obj(Deploy("shop", "web")));
  desired.MarkSynced();
  ASSERT_TRUE(desired.Step());
  Upsert(Obj(Deploy("shop", "api")));  // pending
  desired.RequestResync();
  RunDue();
  EXPECT_EQ(observer.resyncs, 1);
  EXPECT_EQ(observer.last_differences, 0u);
  EXPECT_TRUE(desired.Get(kApi).has_value());
  EXPECT_TRUE(queued.count(kApi));
}

TEST_F(DesiredStateTest, AResyncCountsCorrectsAndQueuesEveryDifference) {
  Upsert(Obj(Deploy("shop", "web")));
  Upsert(Obj(Deploy("shop", "api")));
  desired.MarkSynced();
  ASSERT_TRUE(desired.Step());
  queued.clear();
  // Bugs: a stale entry for a workload that does not exist, a lost entry,
  // and a wrong one.
  const ReconcileKey ghost = ReconcileKey::Policy("shop", "deployment-ghost");
  Desired stale = *desired.Get(kWeb);
  stale.workload.name = "ghost";
  desired.SetForTest(ghost, stale);
  desired.SetForTest(kApi, std::nullopt);
  Desired wrong = *desired.Get(kWeb);
  wrong.summary.spec ^= 1;
  desired.SetForTest(kWeb, wrong);

  desired.RequestResync();
  RunDue();
  EXPECT_EQ(observer.resyncs, 1);
  EXPECT_EQ(observer.last_differences, 3u);
  EXPECT_NE(observer.last_examples.find("shop/deployment-ghost"), std::string::npos)
      << observer.last_examples;
  EXPECT_EQ(desired.Stats().resync_differences, 3u);
  EXPECT_FALSE(desired.Get(ghost).has_value());
  EXPECT_TRUE(desired.Get(kApi).has_value());
  EXPECT_NE(desired.Get(kWeb)->summary.spec, wrong.summary.spec);
  EXPECT_EQ(queued, (std::set<ReconcileKey>{ghost, kApi, kWeb}));

  desired.RequestResync();  // corrected: the next one agrees
  RunDue();
  EXPECT_EQ(observer.resyncs, 2);
  EXPECT_EQ(observer.last_differences, 0u);
}

// A resync of many workloads goes a slice at a time, and a change made in the
// middle of it is published before the resync goes on (and is no difference).
TEST_F(DesiredStateTest, AChangeDuringAResyncIsPublishedFirst) {
  for (int i = 0; i < 1000; ++i) Upsert(Obj(Deploy("shop", "w" + std::to_string(i))));
  desired.MarkSynced();
  RunDue();
  desired.RequestResync();
  ASSERT_TRUE(desired.Step());  // one slice (2 ms at most)
  Upsert(Obj(Deploy("shop", "late")));
  queued.clear();
  ASSERT_TRUE(desired.Step());  // the batch, before any more of the resync
  EXPECT_EQ(queued, (std::set<ReconcileKey>{ReconcileKey::Policy("shop", "deployment-late")}));
  RunDue();
  EXPECT_EQ(observer.resyncs, 1);
  EXPECT_EQ(observer.last_differences, 0u);
}

TEST_F(DesiredStateTest, TheThreadIsTheOnlyOwner) {
  Upsert(Obj(Deploy("shop", "web")));
  desired.Start();
  desired.MarkSynced();
  EXPECT_FALSE(desired.Step());  // refused while the thread runs
  for (int i = 0; i < 500 && !desired.Stats().ready; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  desired.Stop();
  EXPECT_TRUE(desired.Get(kWeb).has_value());
}

}  // namespace
}  // namespace npc::controller
