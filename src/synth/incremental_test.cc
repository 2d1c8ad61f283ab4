// Unit tests of Incremental: what a change recomputes. That the results equal
// Synthesize() over random clusters and change sequences is the property test
// test/property/incremental_test.cc.
#include "synth/incremental.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace npc::synth {
namespace {

Workload Deploy(const std::string& ns, const std::string& name, const std::string& env = "") {
  Workload w;
  w.kind = WorkloadKind::kDeployment;
  w.ns = ns;
  w.name = name;
  w.uid = "uid-" + name;
  w.pod_selector.match_labels = {{"app", name}};
  w.template_labels = {{"app", name}};
  Container c;
  c.name = "main";
  if (!env.empty()) c.env.push_back(EnvVar{"PEER", env, "", ""});
  w.containers.push_back(c);
  return w;
}

Service Svc(const std::string& ns, const std::string& name, const std::string& app) {
  Service s;
  s.ns = ns;
  s.name = name;
  s.selector = Labels{{"app", app}};
  ServicePort p;
  p.port = 80;
  s.ports.push_back(p);
  return s;
}

std::vector<std::string> Names(const Changes& c) {
  std::vector<std::string> out;
  for (const auto& k : c.workloads) out.push_back(k.ToString());
  return out;
}

// Ten independent client -> server pairs in one namespace.
Incremental& Pairs(Incremental& inc) {
  for (int i = 0; i < 10; ++i) {
    const std::string n = std::to_string(i);
    inc.Upsert(Deploy("shop", "client" + n, "http://server" + n + ":80"));
    inc.Upsert(Deploy("shop", "server" + n));
    inc.Upsert(Svc("shop", "server" + n, "server" + n));
  }
  return inc;
}

TEST(IncrementalTest, FirstRecomputeIsEverything) {
  Incremental inc(SynthesisConfig::Defaults());
  Pairs(inc);
  Changes c = inc.Recompute();
  EXPECT_TRUE(c.full);
  EXPECT_EQ(c.workloads.size(), 20u);
  EXPECT_EQ(c.result.policies.size(), 20u);
  EXPECT_EQ(inc.policies(), 20u);
  EXPECT_FALSE(inc.pending());
}

TEST(IncrementalTest, EqualObjectIsNoChange) {
  Incremental inc(SynthesisConfig::Defaults());
  Pairs(inc);
  (void)inc.Recompute();
  // The same spec again (a status update, a new resourceVersion): nothing to do.
  EXPECT_FALSE(inc.Upsert(Deploy("shop", "client3", "http://server3:80")));
  EXPECT_FALSE(inc.Upsert(Svc("shop", "server3", "server3")));
  EXPECT_FALSE(inc.pending());
  // Another kind under the same name is another object; removal is a change.
  EXPECT_TRUE(inc.Upsert(Svc("shop", "client3", "client3")));
  EXPECT_TRUE(inc.Remove(ObjectKind::kService, "shop", "client3"));
  EXPECT_FALSE(inc.Remove(ObjectKind::kService, "shop", "client3"));
  EXPECT_TRUE(inc.pending());
}

TEST(IncrementalTest, ClientChangeRecomputesItAndItsOldAndNewServers) {
  Incremental inc(SynthesisConfig::Defaults());
  Pairs(inc);
  (void)inc.Recompute();
  ASSERT_TRUE(inc.Upsert(Deploy("shop", "client3", "http://server7:80")));
  Changes c = inc.Recompute();
  EXPECT_FALSE(c.full);
  EXPECT_EQ(Names(c),
            (std::vector<std::string>{"Deployment/shop/client3", "Deployment/shop/server3",
                                      "Deployment/shop/server7"}));
  ASSERT_EQ(c.result.policies.size(), 3u);
  EXPECT_EQ(c.namespaces, std::vector<std::string>{"shop"});
}

TEST(IncrementalTest, ServiceChangeRecomputesClientsAndBackends) {
  Incremental inc(SynthesisConfig::Defaults());
  Pairs(inc);
  (void)inc.Recompute();
  ASSERT_TRUE(inc.Upsert(Svc("shop", "server4", "server5")));  // selects server5 now
  Changes c = inc.Recompute();
  EXPECT_EQ(Names(c),
            (std::vector<std::string>{"Deployment/shop/client4", "Deployment/shop/server4",
                                      "Deployment/shop/server5"}));
}

TEST(IncrementalTest, ServiceAppearingLateReachesTheClientThatNamedIt) {
  Incremental inc(SynthesisConfig::Defaults());
  inc.Upsert(Deploy("shop", "web", "db.data.svc.cluster.local:5432"));
  inc.Upsert(Deploy("data", "db"));
  Changes c = inc.Recompute();
  EXPECT_EQ(inc.unresolved(), 1u);
  Service db = Svc("data", "db", "db");
  db.ports[0].port = 5432;
  ASSERT_TRUE(inc.Upsert(db));
  c = inc.Recompute();
  EXPECT_EQ(Names(c), (std::vector<std::string>{"Deployment/data/db", "Deployment/shop/web"}));
  EXPECT_EQ(inc.unresolved(), 0u);
}

TEST(IncrementalTest, DeletedWorkloadIsListedWithoutPolicy) {
  Incremental inc(SynthesisConfig::Defaults());
  Pairs(inc);
  (void)inc.Recompute();
  ASSERT_TRUE(inc.Remove(WorkloadKey{WorkloadKind::kDeployment, "shop", "server2"}));
  Changes c = inc.Recompute();
  EXPECT_EQ(Names(c),
            (std::vector<std::string>{"Deployment/shop/client2", "Deployment/shop/server2"}));
  ASSERT_EQ(c.result.policies.size(), 1u);
  EXPECT_EQ(c.result.policies[0].workload.name, "client2");
  EXPECT_EQ(inc.policies(), 19u);
}

TEST(IncrementalTest, NamespaceChangeRecomputesItsWorkloads) {
  Incremental inc(SynthesisConfig::Defaults());
  Pairs(inc);
  inc.Upsert(Deploy("other", "alone"));
  (void)inc.Recompute();
  ASSERT_TRUE(inc.Upsert(Namespace{"shop", {{"team", "a"}}, {}}));
  Changes c = inc.Recompute();
  EXPECT_FALSE(c.full);
  EXPECT_EQ(c.workloads.size(), 20u);
  EXPECT_EQ(c.namespaces, std::vector<std::string>{"shop"});
  // Ignoring the namespace takes its workloads' policies away.
  ASSERT_TRUE(inc.Upsert(Namespace{"shop", {}, {{"netpol-ctrl.io/ignore", "true"}}}));
  c = inc.Recompute();
  EXPECT_EQ(c.result.skipped.size(), 20u);
  EXPECT_EQ(inc.policies(), 1u);
}

}  // namespace
}  // namespace npc::synth
