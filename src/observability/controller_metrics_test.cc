#include "observability/controller_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace npc::observability {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Fills every ControllerMetrics metric, labels and histograms included.
void Populate(ControllerMetrics& m) {
  m.ObserveReconcile("written", std::chrono::milliseconds(12));
  m.ObserveReconcile("unchanged", std::chrono::microseconds(300));
  m.ObserveReconcile("error", std::chrono::seconds(20));
  m.ObserveWrite("create");
  m.ObserveWrite("label");
  m.ObserveApiRequest("list", 200);
  m.ObserveApiRequest("watch", 200);
  m.ObserveApiRequest("apply", 403);
  m.ObserveApiRequest("get", 0);
  m.ObserveWatchRestart("pods");
  m.ObserveRelist("deployments.apps");
  m.ObserveRateLimiterWait(std::chrono::milliseconds(0));
  m.ObserveRateLimiterWait(std::chrono::milliseconds(40));
  m.ObserveQueueAdd();
  m.ObserveQueueRetry();
  m.SetLeader(true);
  m.SetManagedPolicies(12);
  m.SetUnresolvedReferences(2);
  m.BindQueueDepth([] { return 5.0; });
  m.ObserveResync(0);
  m.ObserveResync(2);
  m.ObserveDecodeError("pods");
  m.unknown_objects.SetValue([] { return 3.0; });
}

TEST(ControllerMetrics, ExposesEveryMetricWithItsLabels) {
  Registry r;
  ControllerMetrics m(r, {.version = "1.2.3", .compiler = "gcc 12.2.0"});
  Populate(m);
  std::string text = r.Expose();
  for (std::string_view line : {
           "netpol_ctrl_reconciles_total{result=\"written\"} 1\n",
           "netpol_ctrl_reconciles_total{result=\"error\"} 1\n",
           "netpol_ctrl_reconcile_duration_seconds_bucket{le=\"0.0005\"} 1\n",
           "netpol_ctrl_reconcile_duration_seconds_bucket{le=\"+Inf\"} 3\n",
           "netpol_ctrl_reconcile_duration_seconds_count 3\n",
           "netpol_ctrl_workqueue_depth 5\n",
           "netpol_ctrl_workqueue_adds_total 1\n",
           "netpol_ctrl_workqueue_retries_total 1\n",
           "netpol_ctrl_watch_restarts_total{resource=\"pods\"} 1\n",
           "netpol_ctrl_watch_relists_total{resource=\"deployments.apps\"} 1\n",
           "netpol_ctrl_api_requests_total{verb=\"apply\",code=\"403\"} 1\n",
           "netpol_ctrl_api_requests_total{verb=\"get\",code=\"<error>\"} 1\n",
           "netpol_ctrl_client_rate_limiter_wait_seconds_count 2\n",
           "netpol_ctrl_client_rate_limiter_wait_seconds_sum 0.04\n",
           "netpol_ctrl_managed_policies 12\n",
           "netpol_ctrl_unresolved_references 2\n",
           "netpol_ctrl_leader_is_leader 1\n",
           "netpol_ctrl_build_info{version=\"1.2.3\",compiler=\"gcc 12.2.0\"} 1\n",
           "netpol_ctrl_writes_total{action=\"create\"} 1\n",
           "netpol_ctrl_writes_total{action=\"label\"} 1\n",
           "netpol_ctrl_resyncs_total 2\n",
           "netpol_ctrl_resync_differences_total 2\n",
           "netpol_ctrl_decode_errors_total{resource=\"pods\"} 1\n",
           "netpol_ctrl_unknown_objects 3\n",
       }) {
    EXPECT_THAT(text, HasSubstr("\n" + std::string(line))) << line;
  }
}

TEST(ControllerMetrics, KnownSeriesStartAtZeroAndLeaderFlips) {
  Registry r;
  ControllerMetrics m(r, {.version = "dev"});
  std::string text = r.Expose();
  EXPECT_THAT(text, HasSubstr("\nnetpol_ctrl_reconciles_total{result=\"unchanged\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("\nnetpol_ctrl_reconciles_total{result=\"kept\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("\nnetpol_ctrl_resync_differences_total 0\n"));
  EXPECT_THAT(text, HasSubstr("\nnetpol_ctrl_writes_total{action=\"delete\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("\nnetpol_ctrl_writes_total{action=\"update\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("\nnetpol_ctrl_leader_is_leader 0\n"));
  EXPECT_THAT(text, Not(HasSubstr("\nnetpol_ctrl_workqueue_depth ")));  // not bound yet
  // Nothing GETs a pod any more (pods come whole from their watch): no
  // counter that can never move.
  EXPECT_THAT(text, Not(HasSubstr("netpol_ctrl_pod_read_errors_total")));
  m.SetLeader(true);
  EXPECT_THAT(r.Expose(), HasSubstr("\nnetpol_ctrl_leader_is_leader 1\n"));
  m.SetLeader(false);
  EXPECT_THAT(r.Expose(), HasSubstr("\nnetpol_ctrl_leader_is_leader 0\n"));
}

TEST(CompilerVersion, NamesTheCompiler) {
  EXPECT_THAT(CompilerVersion(), ::testing::MatchesRegex("(gcc|clang) [0-9]+\\.[0-9]+\\.[0-9]+"));
}

// promtool from PATH, else the Debian location; empty when absent.
std::string FindPromtool() {
  if (const char* path = std::getenv("PATH")) {
    std::string_view rest = path;
    while (!rest.empty()) {
      size_t colon = rest.find(':');
      std::string dir(rest.substr(0, colon));
      rest = colon == std::string_view::npos ? "" : rest.substr(colon + 1);
      if (dir.empty()) continue;
      std::string candidate = dir + "/promtool";
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  if (access("/usr/bin/promtool", X_OK) == 0) return "/usr/bin/promtool";
  return "";
}

struct PromtoolResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs `promtool check metrics` with `exposition` on stdin.
PromtoolResult CheckMetrics(const std::string& promtool, const std::string& exposition) {
  std::filesystem::path input =
      std::filesystem::path(::testing::TempDir()) /
      ("exposition-" + std::to_string(getpid()) + "-" +
       ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".txt");
  std::ofstream(input) << exposition;
  std::string cmd = "'" + promtool + "' check metrics < '" + input.string() + "' 2>&1";
  PromtoolResult result;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return result;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) result.output.append(buf, n);
  int status = pclose(p);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::filesystem::remove(input);
  return result;
}

class PromtoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    promtool_ = FindPromtool();
    ASSERT_FALSE(promtool_.empty())
        << "promtool not found on PATH or at /usr/bin/promtool: install it with scripts/setup "
           "(Debian package prometheus); this test checks the /metrics output with it";
  }
  std::string promtool_;
};

TEST_F(PromtoolTest, ControllerMetricsPassCheckMetricsWithoutAnyProblem) {
  Registry r;
  ControllerMetrics m(r, {.version = "0.1.0"});
  Populate(m);
  std::string text = r.Expose();
  PromtoolResult result = CheckMetrics(promtool_, text);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output, "") << "promtool reported problems for:\n" << text;
}

// The check above can fail: promtool (as we run it) does report a bad metric.
TEST_F(PromtoolTest, CheckMetricsReportsALintProblem) {
  Registry r;
  r.AddCounter("netpol_ctrl_badly_named", "A counter without _total.").Inc();
  PromtoolResult result = CheckMetrics(promtool_, r.Expose());
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.output, HasSubstr("netpol_ctrl_badly_named"));
}

}  // namespace
}  // namespace npc::observability
