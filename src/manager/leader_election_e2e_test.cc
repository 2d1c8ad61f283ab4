// Leader election end to end: several `netpol-ctrl run --leader-elect`
// processes against one real API server (run under scripts/with-cluster).
// Short lease timings keep it quick: lease 4 s, renew deadline 3 s, retry 0.5 s.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "kube/client.h"
#include "kube/config.h"

extern char** environ;

namespace npc::manager {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace)

std::string Suffix() {
  static std::mt19937 rng{std::random_device{}()};
  std::string s;
  for (int i = 0; i < 5; ++i) s += "abcdefghijklmnopqrstuvwxyz0123456789"[rng() % 36];
  return s;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

// One controller process, its output in a log file.
class Replica {
 public:
  Replica(std::string name, const std::vector<std::string>& args) : name_(std::move(name)) {
    log_ = ::testing::TempDir() + "/npc-le-" + name_ + "-" + Suffix() + ".log";
    std::vector<std::string> argv = {NPC_BINARY_DIR "/netpol-ctrl"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    int rc = posix_spawn(&pid_, cargv[0], &fa, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) pid_ = -1;
  }
  ~Replica() { Kill(SIGKILL); }

  bool started() const { return pid_ > 0; }
  const std::string& name() const { return name_; }
  std::string Log() const { return ReadFile(log_); }
  bool IsLeader() const { return Log().find("became the leader") != std::string::npos; }
  size_t Writes(const std::string& ns) const {
    std::string log = Log();
    return Count(log, "created NetworkPolicy " + ns + "/") +
           Count(log, "updated NetworkPolicy " + ns + "/") +
           Count(log, "deleted NetworkPolicy " + ns + "/");
  }
  void Kill(int sig) {
    if (pid_ > 0 && !exited_) ::kill(pid_, sig);
    if (sig == SIGKILL) Wait(5s);
  }
  // Waits for the process to exit; returns its exit status (or -1 if still running).
  int Wait(std::chrono::milliseconds timeout) {
    if (exited_) return status_;
    auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      int st = 0;
      if (pid_ > 0 && waitpid(pid_, &st, WNOHANG) == pid_) {
        exited_ = true;
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return status_;
      }
      std::this_thread::sleep_for(20ms);
    }
    return -1;
  }

 private:
  std::string name_;
  std::string log_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = -1;
};

bool Eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

class LeaderElectionE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(std::getenv("KUBECONFIG"), nullptr) << "run under scripts/with-cluster";
    auto config = kube::ResolveConfig({});
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    auto c = kube::MakeClient(*config);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(*c);
    ns_ = "le-app-" + Suffix();
    lease_ns_ = "le-lease-" + Suffix();
    for (const auto& n : {ns_, lease_ns_}) {
      json obj = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", n}}}};
      ASSERT_TRUE(client_->Create(kube::Resource::kNamespaces, "", obj.dump()).ok());
    }
  }
  void TearDown() override {
    for (const auto& n : {ns_, lease_ns_}) (void)client_->Delete(kube::Resource::kNamespaces, "", n);
  }

  std::unique_ptr<Replica> Start(const std::string& name) {
    auto r = std::make_unique<Replica>(
        name, std::vector<std::string>{
                  "run", "--leader-elect", "--leader-election-namespace=" + lease_ns_,
                  "--leader-election-id=netpol-ctrl-e2e", "--leader-elect-lease-duration=4",
                  "--leader-elect-renew-deadline=3", "--leader-elect-retry-period=0.5",
                  "--metrics-bind-address=0", "--health-probe-bind-address=0", "--events=false"});
    EXPECT_TRUE(r->started());
    return r;
  }

  void Deploy(const std::string& name) {
    json labels = {{"app", name}};
    json d = {{"apiVersion", "apps/v1"},
              {"kind", "Deployment"},
              {"metadata", {{"name", name}, {"namespace", ns_}}},
              {"spec",
               {{"selector", {{"matchLabels", labels}}},
                {"template",
                 {{"metadata", {{"labels", labels}}},
                  {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "x"}}})}}}}}}}};
    ASSERT_TRUE(client_->Create(kube::Resource::kDeployments, ns_, d.dump()).ok());
  }
  bool PolicyExists(const std::string& name) {
    return client_->Get(kube::Resource::kNetworkPolicies, ns_, name).ok();
  }

  std::unique_ptr<kube::Client> client_;
  std::string ns_, lease_ns_;
};

TEST_F(LeaderElectionE2E, OneLeaderWritesAndOthersTakeOverOnCrashAndOnShutdown) {
  auto a = Start("a");
  auto b = Start("b");
  ASSERT_TRUE(Eventually([&] { return a->IsLeader() || b->IsLeader(); }, 15s))
      << a->Log() << b->Log();
  Replica* leader = a->IsLeader() ? a.get() : b.get();
  Replica* follower = leader == a.get() ? b.get() : a.get();

  // Only the leader writes.
  Deploy("one");
  Deploy("two");
  ASSERT_TRUE(Eventually([&] { return PolicyExists("deployment-one") && PolicyExists("deployment-two"); },
                         20s));
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(leader->Writes(ns_), 2u) << leader->Log();
  EXPECT_EQ(follower->Writes(ns_), 0u) << follower->Log();
  EXPECT_FALSE(follower->IsLeader());

  // kill -9 the leader: the follower takes over within the lease duration
  // (plus a retry period), and converges on a change made meanwhile.
  leader->Kill(SIGKILL);
  auto killed_at = std::chrono::steady_clock::now();
  Deploy("three");
  ASSERT_TRUE(Eventually([&] { return follower->IsLeader(); }, 10s)) << follower->Log();
  auto takeover = std::chrono::steady_clock::now() - killed_at;
  EXPECT_LE(takeover, 4s + 1500ms) << "took over after "
                                   << std::chrono::duration_cast<std::chrono::milliseconds>(takeover).count()
                                   << " ms";
  EXPECT_TRUE(Eventually([&] { return PolicyExists("deployment-three"); }, 20s)) << follower->Log();

  // SIGTERM the new leader: it releases the Lease, and a third replica takes
  // over within a few seconds (not a whole lease duration).
  auto c = Start("c");
  std::this_thread::sleep_for(2s);  // c is a warm follower now
  ASSERT_FALSE(c->IsLeader());
  follower->Kill(SIGTERM);
  auto termed_at = std::chrono::steady_clock::now();
  EXPECT_EQ(follower->Wait(10s), 0) << follower->Log();
  ASSERT_TRUE(Eventually([&] { return c->IsLeader(); }, 10s)) << c->Log();
  auto handover = std::chrono::steady_clock::now() - termed_at;
  EXPECT_LE(handover, 3s) << "took over after "
                          << std::chrono::duration_cast<std::chrono::milliseconds>(handover).count()
                          << " ms";
  Deploy("four");
  EXPECT_TRUE(Eventually([&] { return PolicyExists("deployment-four"); }, 20s)) << c->Log();
}

TEST_F(LeaderElectionE2E, LeaderStepsDownWhenTheApiServerIsGoneLongerThanTheRenewDeadline) {
  const char* dir = std::getenv("NPC_CLUSTER_DIR");
  ASSERT_NE(dir, nullptr) << "run under scripts/with-cluster";
  auto a = Start("solo");
  ASSERT_TRUE(Eventually([&] { return a->IsLeader(); }, 15s)) << a->Log();

  // The API server goes away for longer than the renew deadline (3 s).
  std::string stop = std::string(dir) + "/stop-apiserver --kill >/dev/null 2>&1";
  ASSERT_EQ(std::system(stop.c_str()), 0);
  int status = a->Wait(8s);
  std::string start = std::string(dir) + "/start-apiserver >/dev/null 2>&1";
  ASSERT_EQ(std::system(start.c_str()), 0);
  EXPECT_NE(status, -1) << "the leader kept running without its lease:\n" << a->Log();
  EXPECT_NE(status, 0) << a->Log();
  EXPECT_NE(a->Log().find("lost leadership"), std::string::npos) << a->Log();
}

}  // namespace
}  // namespace npc::manager
