#include "kube/flow_control.h"

#include <gtest/gtest.h>

#include <vector>

namespace npc::kube {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(TokenBucketTest, BurstThenSteadyRate) {
  FakeTimeSource time;
  std::vector<TokenBucket::Duration> waits;
  TokenBucket b({.qps = 10, .burst = 3}, time,
                [&](TokenBucket::Duration d) { waits.push_back(d); });
  EXPECT_EQ(b.Wait(), TokenBucket::Duration::zero());
  EXPECT_EQ(b.Wait(), TokenBucket::Duration::zero());
  EXPECT_EQ(b.Wait(), TokenBucket::Duration::zero());
  // The bucket is empty: the next token comes 100 ms later, and the sleep is through
  // the injected time source.
  EXPECT_EQ(b.Wait(), milliseconds(100));
  EXPECT_EQ(time.sleeps(), (std::vector<TokenBucket::Duration>{milliseconds(100)}));
  ASSERT_EQ(waits.size(), 4u);
  EXPECT_EQ(waits[3], milliseconds(100));
}

TEST(TokenBucketTest, WaitersQueueBehindEachOther) {
  FakeTimeSource time;
  TokenBucket b({.qps = 2, .burst = 1}, time);
  EXPECT_EQ(b.Reserve(), TokenBucket::Duration::zero());
  EXPECT_EQ(b.Reserve(), milliseconds(500));
  EXPECT_EQ(b.Reserve(), milliseconds(1000));
  time.Advance(seconds(10));  // refills, but never above the burst
  EXPECT_EQ(b.Reserve(), TokenBucket::Duration::zero());
  EXPECT_EQ(b.Reserve(), milliseconds(500));
}

TEST(TokenBucketTest, DisabledNeverWaits) {
  FakeTimeSource time;
  TokenBucket b({.qps = 0, .burst = 0}, time);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(b.Wait(), TokenBucket::Duration::zero());
  EXPECT_TRUE(time.sleeps().empty());
}

KubeError Err(Reason r, std::optional<int> retry_after = std::nullopt) {
  KubeError e;
  e.reason = r;
  e.retry_after_seconds = retry_after;
  return e;
}

TEST(RetryPolicyTest, TooManyRequestsFollowsRetryAfterForAnyRequest) {
  RetryPolicy p;
  EXPECT_EQ(p.NextDelay(1, Err(Reason::kTooManyRequests, 3), Idempotency::kUnsafe), seconds(3));
  EXPECT_EQ(p.NextDelay(1, Err(Reason::kTooManyRequests, 0), Idempotency::kSafe), seconds(1));
  EXPECT_EQ(p.NextDelay(1, Err(Reason::kTooManyRequests, 3600), Idempotency::kSafe), p.max_delay);
}

TEST(RetryPolicyTest, ServerErrorsOnlyWithRetryAfterAndOnlyWhenSafe) {
  RetryPolicy p;
  EXPECT_EQ(p.NextDelay(1, Err(Reason::kServiceUnavailable, 2), Idempotency::kSafe), seconds(2));
  EXPECT_EQ(p.NextDelay(1, Err(Reason::kServiceUnavailable, 2), Idempotency::kUnsafe),
            std::nullopt);
  EXPECT_EQ(p.NextDelay(1, Err(Reason::kInternalError), Idempotency::kSafe), std::nullopt);
}

TEST(RetryPolicyTest, TransportFailuresBackOffWhenSafe) {
  RetryPolicy p;
  EXPECT_EQ(p.NextDelay(1, Err(Reason::kTransport), Idempotency::kSafe), milliseconds(500));
  EXPECT_EQ(p.NextDelay(2, Err(Reason::kTransport), Idempotency::kSafe), milliseconds(1000));
  EXPECT_EQ(p.NextDelay(3, Err(Reason::kTransport), Idempotency::kSafe), milliseconds(2000));
  EXPECT_EQ(p.NextDelay(1, Err(Reason::kTransport), Idempotency::kUnsafe), std::nullopt);
}

TEST(RetryPolicyTest, BoundedAndNeverForClientErrors) {
  RetryPolicy p;
  p.max_retries = 2;
  EXPECT_TRUE(p.NextDelay(2, Err(Reason::kTooManyRequests, 1), Idempotency::kSafe).has_value());
  EXPECT_EQ(p.NextDelay(3, Err(Reason::kTooManyRequests, 1), Idempotency::kSafe), std::nullopt);
  for (Reason r : {Reason::kNotFound, Reason::kConflict, Reason::kInvalid, Reason::kForbidden,
                   Reason::kUnauthorized, Reason::kExpired, Reason::kTls}) {
    EXPECT_EQ(p.NextDelay(1, Err(r, 1), Idempotency::kSafe), std::nullopt) << ReasonName(r);
  }
}

}  // namespace
}  // namespace npc::kube
