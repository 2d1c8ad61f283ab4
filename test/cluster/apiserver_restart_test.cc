// $NPC_CLUSTER_DIR/restart-apiserver, which later controller tests rely on.
// Registered RUN_SERIAL (see CMakeLists.txt): while the API server is down,
// any test running in parallel against the same cluster would fail.
#include <gtest/gtest.h>

#include <string>

#include "test/harness/cluster.h"

namespace npc {
namespace {

using harness::PollUntil;
using harness::ProcessResult;

class ApiServerRestartTest : public harness::ClusterTest {};

// Later controller tests rely on $NPC_CLUSTER_DIR/restart-apiserver: objects
// survive it (etcd keeps running) and the controller-manager reconnects.
TEST_F(ApiServerRestartTest, ApiServerRestartKeepsObjectsAndControllersResume) {
  ASSERT_TRUE(Kubectl({"create", "configmap", "before", "--from-literal=k=v"}).ok());
  StatusOr<ProcessResult> restart = cluster().RunHelper("restart-apiserver", {"--down", "1"});
  ASSERT_TRUE(restart.ok()) << restart.status().ToString();
  ASSERT_EQ(restart->exit_code, 0) << restart->Describe();

  ProcessResult r = Kubectl({"get", "configmap", "before", "-o", "jsonpath={.data.k}"});
  EXPECT_TRUE(r.ok()) << r.Describe();
  EXPECT_EQ(r.out, "v");
  ASSERT_TRUE(Kubectl({"create", "deployment", "web", "--image=registry.k8s.io/pause:3.10"}).ok());
  ProcessResult pods;
  EXPECT_TRUE(PollUntil(
      [&] {
        return !(pods = Kubectl({"get", "pods", "-l", "app=web", "-o", "name"})).out.empty();
      },
      std::chrono::seconds(60)))
      << pods.Describe();
}

}  // namespace
}  // namespace npc
