#include "agent/address_map.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

#include "agent/test_util.h"

namespace npc::agent {
namespace {

using testing::ControllerMeta;
using testing::PodMetaOf;
using testing::Running;
using testing::ServiceOf;

IpAddr Ip(const char* s) {
  return *IpAddr::Parse(s);
}

std::string WorkloadOf(const AddressMap& m, const char* ip) {
  auto v = m.Read();
  auto hit = v.FindPod(Ip(ip));
  if (!hit) return "-";
  return std::string(hit->workload.kind) + "/" + std::string(hit->workload.ns) + "/" +
         std::string(hit->workload.name) + (hit->owner_pending ? " (pending)" : "");
}

TEST(AddressMapTest, PodsAreTheirWorkloads) {
  AddressMap m("node-a");
  // A Deployment's pod: through its ReplicaSet, once that is known.
  m.UpsertPod(PodMetaOf("shop", "web-1-x", "ReplicaSet", "web-1"), Running("198.18.0.2"));
  EXPECT_EQ(WorkloadOf(m, "198.18.0.2"), "ReplicaSet/shop/web-1 (pending)");
  m.UpsertController("ReplicaSet", ControllerMeta("shop", "web-1", "Deployment", "web"));
  EXPECT_EQ(WorkloadOf(m, "198.18.0.2"), "Deployment/shop/web");
  // A bare pod.
  m.UpsertPod(PodMetaOf("shop", "debug"), Running("198.18.0.3"));
  EXPECT_EQ(WorkloadOf(m, "198.18.0.3"), "Pod/shop/debug");
  {
    auto v = m.Read();
    EXPECT_EQ(v.FindPod(Ip("198.18.0.3"))->workload.uid, "uid-debug");
    EXPECT_EQ(v.FindPod(Ip("198.18.0.2"))->workload.uid, "uid-web");
    EXPECT_EQ(v.FindPod(Ip("198.18.0.2"))->workload.api_version, "apps/v1");
  }
  // A CronJob's pod through its Job; a Job of its own.
  m.UpsertController("Job", ControllerMeta("shop", "report-1", "CronJob", "report", "batch/v1"));
  m.UpsertPod(PodMetaOf("shop", "report-1-a", "Job", "report-1", "batch/v1"),
              Running("198.18.0.4"));
  EXPECT_EQ(WorkloadOf(m, "198.18.0.4"), "CronJob/shop/report");
  m.UpsertController("Job", ControllerMeta("shop", "once"));
  m.UpsertPod(PodMetaOf("shop", "once-a", "Job", "once", "batch/v1"), Running("198.18.0.5"));
  EXPECT_EQ(WorkloadOf(m, "198.18.0.5"), "Job/shop/once");
  // StatefulSet, DaemonSet and an operator's resource: the owner itself.
  m.UpsertPod(PodMetaOf("data", "db-0", "StatefulSet", "db"), Running("198.18.0.6"));
  EXPECT_EQ(WorkloadOf(m, "198.18.0.6"), "StatefulSet/data/db");
  m.UpsertPod(PodMetaOf("data", "pg-1", "Cluster", "pg", "postgresql.cnpg.io/v1"),
              Running("198.18.0.7"));
  EXPECT_EQ(WorkloadOf(m, "198.18.0.7"), "Cluster/data/pg");
  // A ReplicaSet run by a Rollout: the Rollout.
  m.UpsertController("ReplicaSet", ControllerMeta("shop", "canary-9", "Rollout", "canary",
                                                  "argoproj.io/v1alpha1"));
  m.UpsertPod(PodMetaOf("shop", "canary-9-a", "ReplicaSet", "canary-9"), Running("198.18.0.8"));
  EXPECT_EQ(WorkloadOf(m, "198.18.0.8"), "Rollout/shop/canary");
  // A ReplicaSet without an owner is a workload of its own.
  m.UpsertController("ReplicaSet", ControllerMeta("shop", "plain"));
  m.UpsertPod(PodMetaOf("shop", "plain-a", "ReplicaSet", "plain"), Running("198.18.0.9"));
  EXPECT_EQ(WorkloadOf(m, "198.18.0.9"), "ReplicaSet/shop/plain");
}

TEST(AddressMapTest, LocalRemoteHostNetworkFinishedAndDeleted) {
  AddressMap m("node-a");
  m.UpsertPod(PodMetaOf("a", "here"), Running("198.18.0.2", "node-a"));
  m.UpsertPod(PodMetaOf("a", "there"), Running("198.18.16.2", "node-b"));
  decode::PodMeta host = Running("198.18.128.1");
  host.host_network = true;
  m.UpsertPod(PodMetaOf("kube-system", "proxy"), host);
  decode::PodMeta done = Running("198.18.0.3");
  done.terminated = true;
  m.UpsertPod(PodMetaOf("a", "done"), done);
  decode::PodMeta pending;  // no IP yet
  m.UpsertPod(PodMetaOf("a", "pending"), pending);
  {
    auto v = m.Read();
    ASSERT_TRUE(v.FindPod(Ip("198.18.0.2")));
    EXPECT_TRUE(v.FindPod(Ip("198.18.0.2"))->local);
    ASSERT_TRUE(v.FindPod(Ip("198.18.16.2")));
    EXPECT_FALSE(v.FindPod(Ip("198.18.16.2"))->local);
    EXPECT_FALSE(v.FindPod(Ip("198.18.128.1"))) << "hostNetwork pods have the node's address";
    EXPECT_FALSE(v.FindPod(Ip("198.18.0.3"))) << "a finished pod's address is free";
  }
  EXPECT_EQ(m.sizes().pods, 2u);
  // A pod that finishes leaves the map; its address goes to the next pod.
  m.UpsertPod(PodMetaOf("a", "next"), Running("198.18.0.2"));
  EXPECT_EQ(WorkloadOf(m, "198.18.0.2"), "Pod/a/next");
  m.DeletePod("a", "next");
  EXPECT_EQ(WorkloadOf(m, "198.18.0.2"), "Pod/a/here");
  m.UpsertPod(PodMetaOf("a", "here"), done);
  EXPECT_EQ(WorkloadOf(m, "198.18.0.2"), "-");
  m.DeletePod("a", "there");
  EXPECT_EQ(m.sizes().pods, 0u);
  EXPECT_EQ(m.sizes().addresses, 0u);
}

TEST(AddressMapTest, OwnersAreSharedAndFreed) {
  AddressMap m("node-a");
  m.UpsertController("ReplicaSet", ControllerMeta("shop", "web-1", "Deployment", "web"));
  for (int i = 0; i < 10; ++i) {
    m.UpsertPod(PodMetaOf("shop", "web-1-" + std::to_string(i), "ReplicaSet", "web-1"),
                Running("198.18.0." + std::to_string(10 + i)));
  }
  EXPECT_EQ(m.sizes().owners, 2u) << "one ReplicaSet and one Deployment for ten pods";
  for (int i = 0; i < 10; ++i) m.DeletePod("shop", "web-1-" + std::to_string(i));
  EXPECT_EQ(m.sizes().owners, 2u) << "the ReplicaSet still exists";
  m.DeleteController("ReplicaSet", "shop", "web-1");
  EXPECT_EQ(m.sizes().owners, 0u);
  // A pod whose ReplicaSet is deleted first keeps its owner, now pending.
  m.UpsertController("ReplicaSet", ControllerMeta("shop", "web-2", "Deployment", "web"));
  m.UpsertPod(PodMetaOf("shop", "web-2-a", "ReplicaSet", "web-2"), Running("198.18.0.2"));
  m.DeleteController("ReplicaSet", "shop", "web-2");
  EXPECT_EQ(WorkloadOf(m, "198.18.0.2"), "ReplicaSet/shop/web-2 (pending)");
  m.DeletePod("shop", "web-2-a");
  EXPECT_EQ(m.sizes().owners, 0u);
}

TEST(AddressMapTest, ServicesByClusterIpPortAndProtocol) {
  AddressMap m("node-a");
  Service s = ServiceOf("data", "db", "198.19.0.5", 5432);
  ServicePort udp;
  udp.port = 53;
  udp.protocol = "UDP";
  s.ports.push_back(udp);
  m.UpsertService(s);
  auto v = m.Read();
  auto hit = v.FindService(Ip("198.19.0.5"), 5432, IPPROTO_TCP);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->ns, "data");
  EXPECT_EQ(hit->name, "db");
  EXPECT_EQ(hit->port, 5432);
  EXPECT_TRUE(v.FindService(Ip("198.19.0.5"), 53, IPPROTO_UDP));
  EXPECT_FALSE(v.FindService(Ip("198.19.0.5"), 53, IPPROTO_TCP));
  EXPECT_FALSE(v.FindService(Ip("198.19.0.5"), 80, IPPROTO_TCP));
}

TEST(AddressMapTest, ServiceChangesAndDeletes) {
  AddressMap m("node-a");
  m.UpsertService(ServiceOf("data", "db", "198.19.0.5", 5432));
  m.UpsertService(ServiceOf("data", "db", "198.19.0.5", 5433));
  {
    auto v = m.Read();
    EXPECT_FALSE(v.FindService(Ip("198.19.0.5"), 5432, IPPROTO_TCP));
    EXPECT_TRUE(v.FindService(Ip("198.19.0.5"), 5433, IPPROTO_TCP));
  }
  // Another Service takes the address over (the first one's deletion comes late).
  m.UpsertService(ServiceOf("data", "db2", "198.19.0.5", 5433));
  m.DeleteService("data", "db");
  {
    auto v = m.Read();
    ASSERT_TRUE(v.FindService(Ip("198.19.0.5"), 5433, IPPROTO_TCP));
    EXPECT_EQ(v.FindService(Ip("198.19.0.5"), 5433, IPPROTO_TCP)->name, "db2");
  }
  Service headless = ServiceOf("data", "db2", "198.19.0.5", 5433);
  headless.cluster_ips.clear();
  m.UpsertService(headless);
  EXPECT_EQ(m.sizes().services, 0u);
  EXPECT_FALSE(m.Read().FindService(Ip("198.19.0.5"), 5433, IPPROTO_TCP));
}

}  // namespace
}  // namespace npc::agent
