// The cluster an integration test runs against, and a GoogleTest fixture that
// gives each test its own namespace.
//
// Integration tests (ctest label `integration`) run under scripts/with-cluster,
// which exports KUBECONFIG (admin) and NPC_CLUSTER_DIR (ca.crt, ca.key, server,
// logs/, run/, and the helpers restart-apiserver, stop-apiserver,
// start-apiserver, mint-kubeconfig) and puts kubectl first on PATH.
//
//   class MyTest : public npc::harness::ClusterTest {};
//   TEST_F(MyTest, Deploys) {
//     ASSERT_TRUE(Kubectl({"create", "deployment", "web", "--image=nginx"}).ok());
//     EXPECT_TRUE(npc::harness::PollUntil([&] {
//       return Kubectl({"get", "pods", "-l", "app=web", "-o", "name"}).out != "";
//     }, std::chrono::seconds(30)));
//   }
//
// This is temporary plumbing (kubectl as a subprocess) until tests use the C++
// kube client; keep it small.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "test/harness/process.h"

namespace npc::harness {

// Where the cluster started by scripts/with-cluster is. Immutable; thread-safe.
class ClusterEnv {
 public:
  // Reads KUBECONFIG and NPC_CLUSTER_DIR. InvalidArgument, with a message
  // naming scripts/with-cluster, when either is missing.
  [[nodiscard]] static StatusOr<ClusterEnv> FromEnvironment();
  // Same checks on given values: both non-empty, the kubeconfig a file and the
  // directory holding ca.crt and server.
  [[nodiscard]] static StatusOr<ClusterEnv> FromValues(std::string kubeconfig,
                                                       std::string cluster_dir);

  const std::string& kubeconfig() const { return kubeconfig_; }
  const std::string& cluster_dir() const { return cluster_dir_; }
  std::string ca_file() const { return cluster_dir_ + "/ca.crt"; }
  // The API server URL, e.g. "https://127.0.0.1:24123".
  const std::string& server() const { return server_; }

  // Runs `kubectl --kubeconfig=<admin kubeconfig> args...`.
  [[nodiscard]] StatusOr<ProcessResult> Kubectl(const std::vector<std::string>& args,
                                                const RunOptions& options = {}) const;
  // Runs a helper installed in the cluster directory, e.g.
  // RunHelper("restart-apiserver", {"--down", "3"}).
  [[nodiscard]] StatusOr<ProcessResult> RunHelper(const std::string& name,
                                                  const std::vector<std::string>& args) const;

 private:
  ClusterEnv(std::string kubeconfig, std::string cluster_dir, std::string server)
      : kubeconfig_(std::move(kubeconfig)),
        cluster_dir_(std::move(cluster_dir)),
        server_(std::move(server)) {}

  std::string kubeconfig_;
  std::string cluster_dir_;
  std::string server_;
};

// Calls `condition` every `interval` until it returns true (returns true) or
// `timeout` has passed (returns false, after one last call).
bool PollUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
               std::chrono::milliseconds interval = std::chrono::milliseconds(200));

// "<prefix>-<6 random [a-z0-9]>", lower-cased and cut to a valid namespace name.
std::string UniqueName(std::string_view prefix);

// A fixture for one test in its own namespace. SetUp fails the test (fatally)
// when not run under scripts/with-cluster, then creates the namespace, named
// after the test with a random suffix; TearDown deletes it without waiting.
class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  const ClusterEnv& cluster() const { return *env_; }
  // This test's namespace.
  const std::string& ns() const { return ns_; }

  // Runs admin kubectl with --namespace=ns() (ignored for cluster-scoped
  // objects). A failure to run kubectl at all is reported as a test failure and
  // returned as exit code -1 with the reason in `err`.
  ProcessResult Kubectl(const std::vector<std::string>& args, const std::string& stdin_data = "");
  // kubectl apply -f - with `yaml` on stdin, in ns().
  ProcessResult Apply(const std::string& yaml) { return Kubectl({"apply", "-f", "-"}, yaml); }
  // Runs kubectl with `-o json` appended and parses stdout. Errors carry the
  // kubectl output.
  [[nodiscard]] StatusOr<nlohmann::json> KubectlJson(std::vector<std::string> args);

 private:
  std::optional<ClusterEnv> env_;
  std::string ns_;
};

}  // namespace npc::harness
