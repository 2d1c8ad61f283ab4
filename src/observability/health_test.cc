#include "observability/health.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>

namespace npc::observability {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;

TEST(HealthChecks, NoChecksIsHealthy) {
  HealthChecks checks;
  EXPECT_TRUE(checks.Run().ok());
}

TEST(HealthChecks, ReportsEveryFailingCheckByNameInNameOrder) {
  HealthChecks checks;
  checks.Add("zeta", [] { return Unavailable("caches not synced"); });
  checks.Add("alpha", [] { return Status::Ok(); });
  checks.Add("beta", [] { return Internal("broken"); });
  Status s = checks.Run();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "beta: broken; zeta: caches not synced");
}

TEST(HealthChecks, SameNameReplaces) {
  HealthChecks checks;
  checks.Add("informers", [] { return Unavailable("not yet"); });
  checks.Add("informers", [] { return Status::Ok(); });
  EXPECT_TRUE(checks.Run().ok());
}

class ProgressMonitorTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  ProgressMonitor monitor_{clock_, seconds(60)};
};

TEST_F(ProgressMonitorTest, IdleLoopStaysHealthyForever) {
  clock_.Advance(std::chrono::hours(24));
  EXPECT_TRUE(monitor_.Check(0).ok());
}

TEST_F(ProgressMonitorTest, WorkWaitingWithoutProgressIsUnhealthy) {
  clock_.Advance(seconds(61));
  Status s = monitor_.Check(3);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("3 items waiting and no progress for 61s"));
  monitor_.Beat();
  EXPECT_TRUE(monitor_.Check(3).ok());
}

TEST_F(ProgressMonitorTest, WorkWaitingWithRecentProgressIsHealthy) {
  clock_.Advance(seconds(50));
  { ProgressMonitor::Activity a = monitor_.Begin(); }
  clock_.Advance(seconds(50));
  EXPECT_TRUE(monitor_.Check(10).ok());
}

TEST_F(ProgressMonitorTest, ItemHeldTooLongIsUnhealthyUntilItEnds) {
  ProgressMonitor::Activity a = monitor_.Begin();
  clock_.Advance(seconds(60));
  EXPECT_TRUE(monitor_.Check(0).ok());  // at the limit, not past it
  clock_.Advance(seconds(1));
  Status s = monitor_.Check(0);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("in hand for 61s"));
  a.End();
  EXPECT_TRUE(monitor_.Check(0).ok());
}

TEST_F(ProgressMonitorTest, OneStuckWorkerIsNotHiddenByAnotherThatProgresses) {
  ProgressMonitor::Activity stuck = monitor_.Begin();
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(seconds(20));
    ProgressMonitor::Activity quick = monitor_.Begin();
  }
  EXPECT_FALSE(monitor_.Check(0).ok());
}

TEST_F(ProgressMonitorTest, MovedActivityEndsOnce) {
  std::optional<ProgressMonitor::Activity> holder;
  {
    ProgressMonitor::Activity a = monitor_.Begin();
    holder.emplace(std::move(a));
  }  // the moved-from `a` ends nothing
  clock_.Advance(seconds(61));
  EXPECT_FALSE(monitor_.Check(0).ok());
  ProgressMonitor::Activity other = monitor_.Begin();
  other = std::move(*holder);  // ends `other`'s own activity, takes over the old one
  EXPECT_FALSE(monitor_.Check(0).ok());
  other.End();
  EXPECT_TRUE(monitor_.Check(0).ok());
}

}  // namespace
}  // namespace npc::observability
