#include "workqueue/workqueue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace npc {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(WorkQueueTest, DeduplicatesWaitingKeys) {
  FakeClock clock;
  WorkQueue q(clock);
  q.Add("a");
  q.Add("b");
  q.Add("a");
  EXPECT_EQ(q.Stats().depth, 2u);
  EXPECT_EQ(q.TryGet(), "a");
  EXPECT_EQ(q.TryGet(), "b");
  EXPECT_EQ(q.TryGet(), std::nullopt);
}

TEST(WorkQueueTest, KeyAddedWhileProcessingIsRequeuedAfterDoneNotBefore) {
  FakeClock clock;
  WorkQueue q(clock);
  q.Add("a");
  auto k = q.TryGet();
  ASSERT_EQ(k, "a");
  q.Add("a");
  q.Add("a");
  // Not handed out a second time while in flight.
  EXPECT_EQ(q.TryGet(), std::nullopt);
  q.Done("a");
  EXPECT_EQ(q.TryGet(), "a");
  q.Done("a");
  EXPECT_EQ(q.TryGet(), std::nullopt);
}

TEST(WorkQueueTest, AddAfterWaitsForTheClockAndEarliestTimeWins) {
  FakeClock clock;
  WorkQueue q(clock);
  q.AddAfter("a", seconds(10));
  q.AddAfter("a", seconds(3));
  q.AddAfter("a", seconds(20));
  EXPECT_EQ(q.Stats().delayed, 1u);
  clock.Advance(seconds(2));
  EXPECT_EQ(q.TryGet(), std::nullopt);
  clock.Advance(seconds(1));
  EXPECT_EQ(q.TryGet(), "a");
  q.Done("a");
  clock.Advance(seconds(30));
  EXPECT_EQ(q.TryGet(), std::nullopt);  // the later schedules were merged away
}

TEST(WorkQueueTest, BackoffDoublesPerKeyAndForgetResets) {
  BackoffPolicy p;
  EXPECT_EQ(p.Delay(1), milliseconds(5));
  EXPECT_EQ(p.Delay(2), milliseconds(10));
  EXPECT_EQ(p.Delay(4), milliseconds(40));
  EXPECT_EQ(p.Delay(100), seconds(1000));

  FakeClock clock;
  WorkQueue q(clock);
  q.AddRateLimited("a");  // first failure: 5 ms
  clock.Advance(milliseconds(4));
  EXPECT_EQ(q.TryGet(), std::nullopt);
  clock.Advance(milliseconds(1));
  ASSERT_EQ(q.TryGet(), "a");
  q.AddRateLimited("a");  // second failure while in flight: 10 ms
  q.Done("a");
  clock.Advance(milliseconds(9));
  EXPECT_EQ(q.TryGet(), std::nullopt);
  clock.Advance(milliseconds(1));
  ASSERT_EQ(q.TryGet(), "a");
  EXPECT_EQ(q.Failures("a"), 2);
  q.Forget("a");  // success
  q.Done("a");
  EXPECT_EQ(q.Failures("a"), 0);
  q.AddRateLimited("a");  // back to 5 ms
  clock.Advance(milliseconds(5));
  EXPECT_EQ(q.TryGet(), "a");
  q.Done("a");
  EXPECT_EQ(q.Stats().retries_total, 3u);
}

TEST(WorkQueueTest, ShutDownWakesBlockedGetters) {
  WorkQueue q;
  std::atomic<int> woke{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 3; ++i) {
    ts.emplace_back([&] {
      if (!q.Get()) woke++;
    });
  }
  std::this_thread::sleep_for(milliseconds(20));
  q.ShutDown();
  for (auto& t : ts) t.join();
  EXPECT_EQ(woke.load(), 3);
  q.Add("x");
  EXPECT_EQ(q.Get(), std::nullopt);
}

// Many workers, many adds: every key is processed, and never by two workers
// at the same time.
TEST(WorkQueueTest, NoKeyIsProcessedConcurrently) {
  WorkQueue q;
  constexpr int kKeys = 20;
  std::vector<std::atomic<int>> in_flight(kKeys);
  std::atomic<bool> overlap{false};
  std::atomic<int> processed{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      while (auto k = q.Get()) {
        int i = std::stoi(*k);
        if (in_flight[i].fetch_add(1) != 0) overlap = true;
        std::this_thread::yield();
        in_flight[i].fetch_sub(1);
        processed++;
        q.Done(*k);
      }
    });
  }
  for (int round = 0; round < 200; ++round) {
    for (int i = 0; i < kKeys; ++i) q.Add(std::to_string(i));
  }
  // Wait for the queue to drain, then stop.
  for (int i = 0; i < 1000; ++i) {
    auto s = q.Stats();
    if (s.depth == 0 && s.processing == 0) break;
    std::this_thread::sleep_for(milliseconds(2));
  }
  q.ShutDown();
  for (auto& t : workers) t.join();
  EXPECT_FALSE(overlap.load());
  EXPECT_GE(processed.load(), kKeys);
}

TEST(WorkQueueTest, GetReturnsDelayedKeyOnRealClock) {
  WorkQueue q;
  q.AddAfter("a", milliseconds(30));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(q.Get(), "a");
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(29));
}

}  // namespace
}  // namespace npc
