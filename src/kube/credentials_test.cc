#include "kube/credentials.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace npc::kube {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("npc-kube-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

void Write(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::trunc) << content;
}

TEST(TokenFileCredentialsTest, RereadsEveryMinuteAndAfterUnauthorized) {
  TempDir dir;
  FakeTimeSource time;
  std::string path = dir.File("token");
  Write(path, "one\n");
  auto p = MakeTokenFileCredentials(path, time);
  ASSERT_EQ(p->Get()->token, "one");
  Write(path, "two\n");
  EXPECT_EQ(p->Get()->token, "one");  // cached within the minute
  time.Advance(std::chrono::seconds(60));
  EXPECT_EQ(p->Get()->token, "two");
  Write(path, "three");
  p->OnUnauthorized(Credentials{"two", {}, {}});
  EXPECT_EQ(p->Get()->token, "three");  // a 401 forces a re-read
}

TEST(TokenFileCredentialsTest, KeepsLastGoodTokenWhenTheFileGoesAway) {
  TempDir dir;
  FakeTimeSource time;
  std::string path = dir.File("token");
  Write(path, "good");
  auto p = MakeTokenFileCredentials(path, time);
  ASSERT_EQ(p->Get()->token, "good");
  fs::remove(path);
  time.Advance(std::chrono::minutes(5));
  EXPECT_EQ(p->Get()->token, "good");
  Write(path, "");
  time.Advance(std::chrono::minutes(5));
  EXPECT_EQ(p->Get()->token, "good");
  Write(path, "fresh");
  EXPECT_EQ(p->Get()->token, "fresh");  // retried on every Get until a read succeeds
}

TEST(TokenFileCredentialsTest, MissingFileAtStartNamesIt) {
  FakeTimeSource time;
  auto p = MakeTokenFileCredentials("/nonexistent/token", time);
  auto c = p->Get();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(c.status().message(), HasSubstr("/nonexistent/token"));
}

ExecConfig Plugin(const TempDir& dir, std::vector<std::pair<std::string, std::string>> env) {
  ExecConfig x;
  x.api_version = "client.authentication.k8s.io/v1";
  x.command = std::string(NPC_SOURCE_DIR) + "/src/kube/testdata/exec-plugin.sh";
  x.env = std::move(env);
  x.env.emplace_back("COUNT_FILE", dir.File("count"));
  x.origin = "kubeconfig test: users[\"u\"].user.exec";
  return x;
}

TEST(ExecCredentialsTest, CachesUntilExpiry) {
  TempDir dir;
  FakeTimeSource time;  // wall clock starts at 2026-01-01T01:00:00Z
  RestConfig cluster;
  cluster.server = "https://127.0.0.1:6443";
  auto p = MakeExecCredentials(Plugin(dir, {{"EXPIRY", "2026-01-01T01:10:00Z"}}), cluster, time);
  ASSERT_EQ(p->Get()->token, "tok-1");
  time.Advance(std::chrono::minutes(9));
  EXPECT_EQ(p->Get()->token, "tok-1");
  time.Advance(std::chrono::minutes(1));
  EXPECT_EQ(p->Get()->token, "tok-2");  // expired: the plugin runs again
}

TEST(ExecCredentialsTest, RerunsAfterUnauthorized) {
  TempDir dir;
  FakeTimeSource time;
  RestConfig cluster;
  auto p = MakeExecCredentials(Plugin(dir, {}), cluster, time);
  auto first = p->Get();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(p->Get()->token, "tok-1");  // no expiry: cached
  p->OnUnauthorized(*first);
  EXPECT_EQ(p->Get()->token, "tok-2");
}

TEST(ExecCredentialsTest, NonZeroExitCarriesStderr) {
  TempDir dir;
  FakeTimeSource time;
  RestConfig cluster;
  auto p = MakeExecCredentials(Plugin(dir, {{"FAIL", "no credentials today"}}), cluster, time);
  auto c = p->Get();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(c.status().message(), HasSubstr("exited with code 3"));
  EXPECT_THAT(c.status().message(), HasSubstr("plugin says: no credentials today"));
  EXPECT_THAT(c.status().message(), HasSubstr("users[\"u\"].user.exec"));
}

TEST(ExecCredentialsTest, MissingCommand) {
  FakeTimeSource time;
  RestConfig cluster;
  ExecConfig x;
  x.api_version = "client.authentication.k8s.io/v1";
  x.command = "/nonexistent/plugin";
  auto c = MakeExecCredentials(x, cluster, time)->Get();
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("/nonexistent/plugin"));
}

TEST(ParseRfc3339Test, Forms) {
  using std::chrono::sys_days;
  auto base = sys_days(std::chrono::year(2026) / 3 / 4);
  EXPECT_EQ(*ParseRfc3339("2026-03-04T05:06:07Z"),
            base + std::chrono::hours(5) + std::chrono::minutes(6) + std::chrono::seconds(7));
  EXPECT_EQ(*ParseRfc3339("2026-03-04T05:06:07.123456Z"), *ParseRfc3339("2026-03-04T05:06:07Z"));
  EXPECT_EQ(*ParseRfc3339("2026-03-04T07:06:07+02:00"), *ParseRfc3339("2026-03-04T05:06:07Z"));
  EXPECT_FALSE(ParseRfc3339("yesterday").ok());
  EXPECT_FALSE(ParseRfc3339("2026-13-04T05:06:07Z").ok());
}

}  // namespace
}  // namespace npc::kube
