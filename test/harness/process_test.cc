#include "test/harness/process.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test/harness/cluster.h"

namespace npc::harness {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

TEST(RunProcessTest, CapturesStdoutStderrAndExitCode) {
  StatusOr<ProcessResult> r = RunProcess({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_FALSE(r->ok());
}

TEST(RunProcessTest, FeedsStdinAndHandlesOutputLargerThanAPipe) {
  std::string big(1 << 20, 'x');  // 1 MiB each way: deadlocks without polling
  RunOptions opts;
  opts.stdin_data = big;
  StatusOr<ProcessResult> r = RunProcess({"sh", "-c", "cat; cat /dev/null >&2"}, opts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->out.size(), big.size());
  EXPECT_EQ(r->out, big);
}

TEST(RunProcessTest, ChildThatIgnoresStdinDoesNotKillTheParent) {
  RunOptions opts;
  opts.stdin_data = std::string(1 << 20, 'y');
  StatusOr<ProcessResult> r = RunProcess({"true"}, opts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 0);
}

TEST(RunProcessTest, ReportsSignalAsExitCode) {
  StatusOr<ProcessResult> r = RunProcess({"sh", "-c", "kill -9 $$"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 128 + 9);
}

TEST(RunProcessTest, MissingProgramIsNotFound) {
  StatusOr<ProcessResult> r = RunProcess({"npc-no-such-program-xyz"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(RunProcess({}).ok());
}

TEST(RunProcessTest, KillsAChildThatOutlivesTheTimeout) {
  RunOptions opts;
  opts.timeout = std::chrono::milliseconds(200);
  StatusOr<ProcessResult> r = RunProcess({"sleep", "30"}, opts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
}

TEST(ClusterEnvTest, MissingEnvironmentNamesWithCluster) {
  StatusOr<ClusterEnv> env = ClusterEnv::FromValues("", "");
  ASSERT_FALSE(env.ok());
  EXPECT_THAT(env.status().message(), HasSubstr("scripts/with-cluster"));
  env = ClusterEnv::FromValues("/nonexistent/kubeconfig", "/nonexistent");
  EXPECT_FALSE(env.ok());
}

TEST(ClusterEnvTest, ReadsServerFromClusterDir) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / UniqueName("harness-test");
  fs::create_directories(dir);
  std::ofstream(dir / "kubeconfig") << "apiVersion: v1\n";
  std::ofstream(dir / "ca.crt") << "x";
  std::ofstream(dir / "server") << "https://127.0.0.1:1234\n";
  StatusOr<ClusterEnv> env = ClusterEnv::FromValues((dir / "kubeconfig").string(), dir.string());
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  EXPECT_EQ(env->server(), "https://127.0.0.1:1234");
  EXPECT_EQ(env->ca_file(), (dir / "ca.crt").string());
  fs::remove_all(dir);
}

TEST(UniqueNameTest, IsAValidDnsLabelWithRandomSuffix) {
  std::string a = UniqueName("Deployment_Creates.ReplicaSet-And-Pods-With-A-Very-Long-Test-Name");
  std::string b = UniqueName("Deployment_Creates.ReplicaSet-And-Pods-With-A-Very-Long-Test-Name");
  EXPECT_NE(a, b);
  EXPECT_LE(a.size(), 63u);
  EXPECT_THAT(a, MatchesRegex("[a-z0-9]([-a-z0-9]*[a-z0-9])?"));
  EXPECT_THAT(UniqueName("--"), MatchesRegex("test-[a-z0-9]{6}"));
}

TEST(PollUntilTest, ReturnsWhenTheConditionHolds) {
  int calls = 0;
  EXPECT_TRUE(PollUntil([&] { return ++calls == 3; }, std::chrono::seconds(10),
                        std::chrono::milliseconds(1)));
  EXPECT_EQ(calls, 3);
  EXPECT_FALSE(
      PollUntil([] { return false; }, std::chrono::milliseconds(20), std::chrono::milliseconds(5)));
}

}  // namespace
}  // namespace npc::harness
