// Checked by the ThreadSanitizer build (make tsan, make test-sanitizers):
// without src/common/spdlog_before_main.cc in the test program, TSan reports
// the second thread's first log as a race with the first thread's
// construction of spdlog's registry (the false positive that failed
// LeaderElectionIntegrationTest under TSan when two candidates logged first
// at once). In other builds it only checks that both threads log.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <thread>

namespace {

TEST(SpdlogBeforeMainTest, ThreadsWhoseFirstLogsAreUnorderedDoNotRace) {
  // Relaxed: the hand-over orders nothing, like two threads that merely
  // happen to log one after the other.
  std::atomic<bool> first_logged{false};
  std::atomic<int> logged{0};
  std::thread first([&] {
    spdlog::info("spdlog_before_main_test: first thread logs");
    logged.fetch_add(1, std::memory_order_relaxed);
    first_logged.store(true, std::memory_order_relaxed);
  });
  std::thread second([&] {
    while (!first_logged.load(std::memory_order_relaxed)) std::this_thread::yield();
    spdlog::info("spdlog_before_main_test: second thread logs");
    logged.fetch_add(1, std::memory_order_relaxed);
  });
  first.join();
  second.join();
  EXPECT_EQ(logged.load(), 2);
}

}  // namespace
