// The parts `run` builds, without an API server: nothing here makes a
// request (the informers are built, not run).
#include "manager/parts.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace npc::manager {
namespace {

// A kubeconfig naming a server nothing listens on.
std::string WriteKubeconfig() {
  const std::filesystem::path path =
      std::filesystem::path(::testing::TempDir()) /
      ("parts-test-kubeconfig-" + std::to_string(getpid()) + "-" +
       ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::ofstream(path) << R"(apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "http://127.0.0.1:9"}
users:
- name: u
  user: {token: t}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
)";
  return path.string();
}

// Every informer is named apart: the metrics (watch restarts, re-lists,
// decode errors by `resource`), the logs and /readyz must tell them apart.
// One informer over NetworkPolicies: every policy, whole (the API server
// sends each write back once).
TEST(BuildParts, EveryInformerHasANameOfItsOwn) {
  ManagerOptions o;
  o.kube.kubeconfig = WriteKubeconfig();
  o.kube.getenv = [](const char*) -> const char* { return nullptr; };
  o.events = false;
  o.metrics_bind_address = "0";
  o.health_probe_bind_address = "0";
  auto parts = BuildParts(o);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  std::map<std::string, int> names;
  for (const auto& i : (*parts)->informers) names[i->name()]++;
  for (const auto& [name, n] : names) EXPECT_EQ(n, 1) << name << " names " << n << " informers";
  EXPECT_EQ(names.count("networkpolicies.networking.k8s.io"), 1u);
  int over_policies = 0;
  for (const auto& [name, n] : names) over_policies += name.rfind("networkpolicies.", 0) == 0;
  EXPECT_EQ(over_policies, 1) << "one watch over NetworkPolicies, not two";
  EXPECT_EQ(names.count("pods"), 1u);
  std::filesystem::remove(o.kube.kubeconfig);
}

}  // namespace
}  // namespace npc::manager
