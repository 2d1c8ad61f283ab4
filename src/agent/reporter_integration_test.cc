// The reports against a real API server (run under scripts/with-cluster):
// deploy/agent/crd.yaml accepts what the agent writes; two nodes' agents
// write one object without overwriting each other; the read-back returns a
// node's own entries; the object goes with its workload.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "agent/reporter.h"
#include "kube/client.h"
#include "kube/config.h"
#include "test/harness/cluster.h"

namespace npc::agent {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using observedflows::Flow;
using observedflows::NodeReport;
using observedflows::PeerType;

class ReportsTest : public harness::ClusterTest {
 protected:
  void SetUp() override {
    harness::ClusterTest::SetUp();
    if (HasFatalFailure()) return;
    harness::ProcessResult r =
        Kubectl({"apply", "-f", std::string(NPC_SOURCE_DIR) + "/deploy/agent/crd.yaml"});
    ASSERT_TRUE(r.ok()) << r.Describe();
    r = Kubectl({"wait", "--for=condition=established", "--timeout=60s",
                 "crd/observedflows.netpol-ctrl.io"});
    ASSERT_TRUE(r.ok()) << r.Describe();
    kube::ConfigOptions o;
    o.kubeconfig = cluster().kubeconfig();
    auto config = kube::ResolveConfig(o);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    auto client = kube::MakeClient(*config);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(*client);
  }

  NodeReport Report(const std::string& node, uint64_t count) {
    NodeReport n;
    n.node = node;
    n.observed_until = std::chrono::system_clock::now();
    Flow f;
    f.server.type = PeerType::kWorkload;
    f.server.workload = {"apps/v1", "StatefulSet", ns(), "db", ""};
    f.service = observedflows::ServiceRef{ns(), "db", 5432};
    f.port = 5432;
    f.count = count;
    f.first_seen = f.last_seen = std::chrono::system_clock::now();
    n.flows.push_back(f);
    Flow ext;
    ext.server.type = PeerType::kExternal;
    ext.server.address = "203.0.113.5";
    ext.port = 443;
    ext.count = 1;
    ext.first_seen = ext.last_seen = std::chrono::system_clock::now();
    n.flows.push_back(ext);
    return n;
  }

  observedflows::ObservedFlows Read(const std::string& name) {
    auto o = client_->Get(kube::Resource::kObservedFlows, ns(), name);
    EXPECT_TRUE(o.ok()) << o.status().ToString();
    if (!o.ok()) return {};
    auto parsed = observedflows::ParseObservedFlows(o->json);
    EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
    return parsed.ok() ? *parsed : observedflows::ObservedFlows{};
  }

  std::unique_ptr<kube::Client> client_;
};

TEST_F(ReportsTest, NodesShareAnObjectAndReadBackTheirOwnEntries) {
  ASSERT_TRUE(Kubectl({"create", "deployment", "web", "--image=registry.k8s.io/pause:3.10"}).ok());
  auto dep = client_->Get(kube::Resource::kDeployments, ns(), "web");
  ASSERT_TRUE(dep.ok());
  const observedflows::WorkloadRef web{"apps/v1", "Deployment", ns(), "web", dep->meta.uid};
  KubeReportWriter a(*client_, "node-a"), b(*client_, "node-b");
  ASSERT_TRUE(a.Write(web, Report("node-a", 4)).ok());
  ASSERT_TRUE(b.Write(web, Report("node-b", 3)).ok());
  ASSERT_TRUE(a.Write(web, Report("node-a", 9)).ok()) << "a node rewrites its own entry";

  observedflows::ObservedFlows o = Read("deployment-web");
  EXPECT_EQ(o.workload.kind, "Deployment");
  EXPECT_EQ(o.workload.uid, dep->meta.uid);
  ASSERT_EQ(o.nodes.size(), 2u);
  std::vector<observedflows::MergedFlow> merged = observedflows::Merge(o);
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_EQ(merged[0].flow.server.ToString(), "StatefulSet/" + ns() + "/db");
  EXPECT_EQ(merged[0].flow.count, 12u) << "node-a's 9 and node-b's 3";
  EXPECT_EQ(merged[0].nodes, (std::vector<std::string>{"node-a", "node-b"}));

  // Each node's agent owns its entry (its own field manager).
  auto raw = client_->Get(kube::Resource::kObservedFlows, ns(), "deployment-web");
  ASSERT_TRUE(raw.ok());
  std::set<std::string> managers;
  const json object = json::parse(raw->json);
  for (const json& m : object["metadata"]["managedFields"]) {
    managers.insert(m.value("manager", ""));
  }
  EXPECT_TRUE(managers.contains("netpol-ctrl-agent/node-a"));
  EXPECT_TRUE(managers.contains("netpol-ctrl-agent/node-b"));

  auto back = ReadBack(*client_, "node-b");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  bool found = false;
  for (const auto& obj : *back) {
    if (obj.ns != ns()) continue;
    found = true;
    ASSERT_EQ(obj.nodes.size(), 1u);
    EXPECT_EQ(obj.nodes[0].node, "node-b");
    EXPECT_EQ(obj.nodes[0].flows[0].count, 3u);
  }
  EXPECT_TRUE(found);

  // The object goes with its workload (ownerReference, garbage collector).
  ASSERT_TRUE(Kubectl({"delete", "deployment", "web", "--wait=true"}).ok());
  EXPECT_TRUE(harness::PollUntil(
      [&] {
        auto g = client_->Get(kube::Resource::kObservedFlows, ns(), "deployment-web");
        return !g.ok() && g.error().reason == kube::Reason::kNotFound;
      },
      60s, 500ms))
      << "the ObservedFlows of a deleted Deployment was not garbage-collected";
}

TEST_F(ReportsTest, TheSchemaRejectsWhatNoAgentWrites) {
  harness::ProcessResult r = Apply(R"(
apiVersion: netpol-ctrl.io/v1alpha1
kind: ObservedFlows
metadata: {name: pod-x}
spec: {workload: {apiVersion: v1, kind: Pod, name: x}}
status:
  nodes:
    - node: a
      flows: [{server: {type: External, address: 203.0.113.5}, port: 443, protocol: ICMP, count: 1}]
)");
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.err.find("protocol"), std::string::npos) << r.Describe();
  r = Apply(R"(
apiVersion: netpol-ctrl.io/v1alpha1
kind: ObservedFlows
metadata: {name: pod-x}
spec: {workload: {apiVersion: v1, kind: Pod, name: x}}
status:
  nodes:
    - node: a
      flows: [{server: {type: External, address: 203.0.113.5}, port: 443, protocol: TCP, count: -1}]
)");
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace npc::agent
