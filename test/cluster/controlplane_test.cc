// Integration tests of the local control plane that scripts/with-cluster
// starts: what later tests of netpol-ctrl rely on (namespaces, workload
// controllers, garbage collection, NetworkPolicy validation, ServiceAccount
// tokens and RBAC). Run under scripts/with-cluster; each test has its own
// namespace (npc::harness::ClusterTest).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "test/harness/cluster.h"

namespace npc {
namespace {

using harness::PollUntil;
using harness::ProcessResult;
using ::testing::HasSubstr;

constexpr auto kTimeout = std::chrono::seconds(60);

class ControlPlaneTest : public harness::ClusterTest {
 protected:
  // The items of `kubectl get <what> -o json` in the test namespace (empty when
  // kubectl fails, which the caller's assertion then shows).
  nlohmann::json Items(const std::string& what, const std::string& selector = "") {
    std::vector<std::string> args = {"get", what};
    if (!selector.empty()) args.push_back("--selector=" + selector);
    StatusOr<nlohmann::json> list = KubectlJson(args);
    if (!list.ok()) {
      ADD_FAILURE() << list.status().ToString();
      return nlohmann::json::array();
    }
    return (*list)["items"];
  }
};

const char kDeployment[] = R"(
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web, tier: front}
    spec:
      containers:
      - name: web
        image: registry.k8s.io/pause:3.10
        ports:
        - {name: http, containerPort: 8080}
)";

TEST_F(ControlPlaneTest, DefaultNamespacesExistAndServerIsV13x) {
  ProcessResult r = Kubectl({"get", "namespace", "default", "kube-system", "-o", "name"});
  ASSERT_TRUE(r.ok()) << r.Describe();
  EXPECT_EQ(r.out, "namespace/default\nnamespace/kube-system\n");

  StatusOr<nlohmann::json> version = KubectlJson({"version"});
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  const nlohmann::json& server = (*version)["serverVersion"];
  EXPECT_EQ(server.value("major", ""), "1");
  EXPECT_THAT(server.value("gitVersion", ""), ::testing::StartsWith("v1.3"));
}

TEST_F(ControlPlaneTest, DeploymentGetsReplicaSetAndPodsWithTemplateLabels) {
  ProcessResult r = Apply(kDeployment);
  ASSERT_TRUE(r.ok()) << r.Describe();

  nlohmann::json pods;
  ASSERT_TRUE(PollUntil([&] { return (pods = Items("pods", "app=web")).size() == 2; }, kTimeout))
      << "pods: " << pods.dump();
  nlohmann::json rs = Items("replicasets", "app=web");
  ASSERT_EQ(rs.size(), 1u) << rs.dump();
  const nlohmann::json& rs_owner = rs[0]["metadata"]["ownerReferences"][0];
  EXPECT_EQ(rs_owner.value("kind", ""), "Deployment");
  EXPECT_EQ(rs_owner.value("name", ""), "web");
  for (const nlohmann::json& pod : pods) {
    const nlohmann::json& labels = pod["metadata"]["labels"];
    EXPECT_EQ(labels.value("app", ""), "web") << labels.dump();
    EXPECT_EQ(labels.value("tier", ""), "front") << labels.dump();
    const nlohmann::json& owner = pod["metadata"]["ownerReferences"][0];
    EXPECT_EQ(owner.value("kind", ""), "ReplicaSet");
    EXPECT_EQ(owner.value("name", ""), rs[0]["metadata"].value("name", ""));
    EXPECT_TRUE(owner.value("controller", false));
  }
}

TEST_F(ControlPlaneTest, DeletingDeploymentCollectsItsReplicaSetAndPods) {
  ASSERT_TRUE(Apply(kDeployment).ok());
  ASSERT_TRUE(PollUntil([&] { return Items("pods", "app=web").size() == 2; }, kTimeout));

  ProcessResult r = Kubectl({"delete", "deployment", "web", "--wait=false"});
  ASSERT_TRUE(r.ok()) << r.Describe();
  EXPECT_TRUE(PollUntil(
      [&] { return Items("replicasets", "app=web").empty() && Items("pods", "app=web").empty(); },
      kTimeout))
      << "left: " << Kubectl({"get", "all"}).out;
}

TEST_F(ControlPlaneTest, NetworkPolicyWithNamespaceAndPodSelectorPeerAndNamedPortIsAccepted) {
  ProcessResult r = Apply(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web
spec:
  podSelector:
    matchLabels: {app: web}
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    - namespaceSelector:
        matchLabels: {kubernetes.io/metadata.name: clients}
      podSelector:
        matchLabels: {app: client}
    ports:
    - {protocol: TCP, port: http}
)");
  ASSERT_TRUE(r.ok()) << r.Describe();

  StatusOr<nlohmann::json> np = KubectlJson({"get", "networkpolicy", "web"});
  ASSERT_TRUE(np.ok()) << np.status().ToString();
  const nlohmann::json& rule = (*np)["spec"]["ingress"][0];
  ASSERT_EQ(rule["from"].size(), 1u) << rule.dump();  // one peer, both selectors
  const nlohmann::json& peer = rule["from"][0];
  EXPECT_EQ(peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], "clients");
  EXPECT_EQ(peer["podSelector"]["matchLabels"]["app"], "client");
  EXPECT_EQ(rule["ports"][0]["port"], "http");  // a named port stays a string
  EXPECT_EQ(rule["ports"][0]["protocol"], "TCP");
}

TEST_F(ControlPlaneTest, NetworkPolicyWithPortOutOfRangeIsRejectedAsInvalid) {
  // -v=6 makes kubectl log the HTTP status of each response.
  ProcessResult r = Kubectl({"create", "-f", "-", "-v=6"}, R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: bad
spec:
  podSelector: {}
  ingress:
  - ports:
    - {protocol: TCP, port: 70000}
)");
  EXPECT_NE(r.exit_code, 0) << r.Describe();
  EXPECT_THAT(r.err, HasSubstr("is invalid"));
  EXPECT_THAT(r.err, HasSubstr("Invalid value: 70000"));
  EXPECT_THAT(r.err, HasSubstr("422 Unprocessable Entity"));
  EXPECT_FALSE(Kubectl({"get", "networkpolicy", "bad"}).ok());
}

TEST_F(ControlPlaneTest, ServiceAccountTokenIsForbiddenUntilARoleBindingGrantsAccess) {
  ASSERT_TRUE(Kubectl({"create", "serviceaccount", "reader"}).ok());
  ProcessResult token = Kubectl({"create", "token", "reader", "--duration=10m"});
  ASSERT_TRUE(token.ok()) << token.Describe();
  ASSERT_FALSE(token.out.empty());
  while (!token.out.empty() && token.out.back() == '\n') token.out.pop_back();

  // A kubeconfig with only the token, as a Pod of that ServiceAccount would use.
  namespace fs = std::filesystem;
  fs::path kubeconfig = fs::path(cluster().cluster_dir()) / (ns() + "-reader.kubeconfig");
  std::ofstream(kubeconfig) << "apiVersion: v1\nkind: Config\n"
                            << "clusters:\n- name: c\n  cluster:\n    server: "
                            << cluster().server()
                            << "\n    certificate-authority: " << cluster().ca_file()
                            << "\nusers:\n- name: reader\n  user:\n    token: " << token.out
                            << "\ncontexts:\n- name: c\n  context: {cluster: c, user: reader}\n"
                            << "current-context: c\n";
  auto as_reader = [&] {
    StatusOr<ProcessResult> r = harness::RunProcess(
        {"kubectl", "--kubeconfig=" + kubeconfig.string(), "get", "pods", "-n", ns(), "-v=6"});
    return r.ok() ? *r : ProcessResult{};
  };

  ProcessResult denied = as_reader();
  EXPECT_NE(denied.exit_code, 0);
  EXPECT_THAT(denied.err, HasSubstr("Forbidden"));
  EXPECT_THAT(denied.err, HasSubstr("403 Forbidden"));
  EXPECT_THAT(denied.err, HasSubstr("system:serviceaccount:" + ns() + ":reader"));

  ASSERT_TRUE(
      Kubectl({"create", "role", "pod-reader", "--verb=get,list,watch", "--resource=pods"}).ok());
  ASSERT_TRUE(Kubectl({"create", "rolebinding", "reader", "--role=pod-reader",
                       "--serviceaccount=" + ns() + ":reader"})
                  .ok());
  ProcessResult allowed;
  EXPECT_TRUE(PollUntil([&] { return (allowed = as_reader()).ok(); }, kTimeout))
      << allowed.Describe();
  fs::remove(kubeconfig);
}

}  // namespace
}  // namespace npc
