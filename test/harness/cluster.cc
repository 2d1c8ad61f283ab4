#include "test/harness/cluster.h"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace npc::harness {
namespace {

std::string GetEnv(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

}  // namespace

StatusOr<ClusterEnv> ClusterEnv::FromEnvironment() {
  return FromValues(GetEnv("KUBECONFIG"), GetEnv("NPC_CLUSTER_DIR"));
}

StatusOr<ClusterEnv> ClusterEnv::FromValues(std::string kubeconfig, std::string cluster_dir) {
  const std::string hint =
      "integration tests run under scripts/with-cluster, which exports KUBECONFIG and "
      "NPC_CLUSTER_DIR (e.g. scripts/with-cluster ctest -L integration)";
  if (kubeconfig.empty() || cluster_dir.empty()) {
    return InvalidArgument("KUBECONFIG or NPC_CLUSTER_DIR is not set: " + hint);
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(kubeconfig, ec)) {
    return InvalidArgument("KUBECONFIG " + kubeconfig + " is not a file: " + hint);
  }
  std::ifstream server_file(cluster_dir + "/server");
  std::string server;
  if (!fs::is_regular_file(cluster_dir + "/ca.crt", ec) || !std::getline(server_file, server) ||
      server.empty()) {
    return InvalidArgument("NPC_CLUSTER_DIR " + cluster_dir +
                           " holds no ca.crt and server (cluster gone?): " + hint);
  }
  return ClusterEnv(std::move(kubeconfig), std::move(cluster_dir), std::move(server));
}

StatusOr<ProcessResult> ClusterEnv::Kubectl(const std::vector<std::string>& args,
                                            const RunOptions& options) const {
  std::vector<std::string> argv = {"kubectl", "--kubeconfig=" + kubeconfig_};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, options);
}

StatusOr<ProcessResult> ClusterEnv::RunHelper(const std::string& name,
                                              const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {cluster_dir_ + "/" + name};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv);
}

bool PollUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
               std::chrono::milliseconds interval) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(interval);
  }
  return condition();
}

std::string UniqueName(std::string_view prefix) {
  std::string name;
  for (char c : prefix) {
    unsigned char u = static_cast<unsigned char>(c);
    name += std::isalnum(u) ? static_cast<char>(std::tolower(u)) : '-';
  }
  // A namespace name is a DNS label: at most 63 characters, alphanumeric ends.
  name = name.substr(0, 48);
  while (!name.empty() && name.back() == '-') name.pop_back();
  while (!name.empty() && name.front() == '-') name.erase(0, 1);
  if (name.empty()) name = "test";
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<size_t> pick(0, sizeof(kAlphabet) - 2);
  name += '-';
  for (int i = 0; i < 6; ++i) name += kAlphabet[pick(rng)];
  return name;
}

void ClusterTest::SetUp() {
  StatusOr<ClusterEnv> env = ClusterEnv::FromEnvironment();
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  env_ = std::move(*env);
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  ns_ = UniqueName(std::string(info->name()));
  StatusOr<ProcessResult> r = env_->Kubectl({"create", "namespace", ns_});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->exit_code, 0) << "creating namespace " << ns_ << ": " << r->Describe();
}

void ClusterTest::TearDown() {
  if (!env_ || ns_.empty()) return;
  StatusOr<ProcessResult> r = env_->Kubectl({"delete", "namespace", ns_, "--wait=false"});
  EXPECT_TRUE(r.ok() && r->exit_code == 0)
      << "deleting namespace " << ns_ << ": " << (r.ok() ? r->Describe() : r.status().ToString());
}

ProcessResult ClusterTest::Kubectl(const std::vector<std::string>& args,
                                   const std::string& stdin_data) {
  std::vector<std::string> full = {"--namespace=" + ns_};
  full.insert(full.end(), args.begin(), args.end());
  RunOptions options;
  options.stdin_data = stdin_data;
  StatusOr<ProcessResult> r = env_->Kubectl(full, options);
  if (!r.ok()) {
    ADD_FAILURE() << "kubectl: " << r.status().ToString();
    ProcessResult failed;
    failed.err = r.status().ToString();
    return failed;
  }
  return std::move(*r);
}

StatusOr<nlohmann::json> ClusterTest::KubectlJson(std::vector<std::string> args) {
  args.push_back("-o");
  args.push_back("json");
  ProcessResult r = Kubectl(args);
  if (!r.ok()) return Internal("kubectl failed: " + r.Describe());
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Internal("kubectl printed no JSON: " + r.Describe());
  return j;
}

}  // namespace npc::harness
