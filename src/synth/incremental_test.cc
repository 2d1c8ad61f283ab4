// Unit tests of Incremental: what a change recomputes. That the results equal
// Synthesize() over random clusters and change sequences is the property test
// test/property/incremental_test.cc.
#include "synth/incremental.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <tuple>
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

// The controller's full recompute summarises each policy as it comes: the
// hook is handed every policy, whole, and the result keeps none of them.
TEST(IncrementalTest, TheHookTakesEachPolicyWholeAndTheResultKeepsNone) {
  Incremental plain(SynthesisConfig::Defaults());
  const Changes expected = Pairs(plain).Recompute();
  Incremental hooked(SynthesisConfig::Defaults());
  std::vector<WorkloadPolicy> seen;
  const Changes c = Pairs(hooked).Recompute([&](WorkloadPolicy&& wp) {
    seen.push_back(std::move(wp));
  });
  ASSERT_EQ(seen.size(), expected.result.policies.size());
  EXPECT_TRUE(c.result.policies.empty());
  std::sort(seen.begin(), seen.end(), [](const WorkloadPolicy& a, const WorkloadPolicy& b) {
    return std::tie(a.policy.ns, a.policy.name) < std::tie(b.policy.ns, b.policy.name);
  });
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].policy, expected.result.policies[i].policy) << i;
    EXPECT_EQ(seen[i].workload, expected.result.policies[i].workload) << i;
    EXPECT_FALSE(seen[i].policy.ingress.empty() && seen[i].policy.egress.empty()) << i;
  }
  EXPECT_EQ(c.workloads, expected.workloads);
  EXPECT_EQ(c.result.default_deny, expected.result.default_deny);
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

// A short name reaches a Service of the client's own namespace only.
// Services of that name elsewhere word the "did you mean" when it does not
// resolve, so a policy reads them then and only then: with a Service of the
// same name in every namespace, reading them all made each policy cost as
// much as the namespaces.
TEST(IncrementalTest, AShortNameReadsOtherNamespacesOnlyWhenItDoesNotResolve) {
  Incremental inc(SynthesisConfig::Defaults());
  for (const std::string ns : {"a", "b", "c"}) {
    inc.Upsert(Deploy(ns, "db"));
    inc.Upsert(Svc(ns, "db", "db"));
    EndpointSlice slice;
    slice.ns = ns;
    slice.name = "db-1";
    slice.service_name = "db";
    inc.Upsert(slice);
  }
  for (const std::string ns : {"b", "c"}) inc.Upsert(Svc(ns, "cache", "cache"));
  const WorkloadKey web{WorkloadKind::kDeployment, "a", "web"};
  const WorkloadKey lost{WorkloadKind::kDeployment, "a", "lost"};
  inc.Upsert(Deploy("a", "web", "http://db:80"));
  inc.Upsert(Deploy("a", "lost", "http://cache:80"));
  Changes c = inc.Recompute();

  const Incremental::NeighbourhoodSize resolves = inc.PolicyNeighbourhoodSize(web);
  EXPECT_EQ(resolves.services, 1u);  // a/db
  EXPECT_EQ(resolves.endpoint_slices, 1u);  // a/db-1
  const Incremental::NeighbourhoodSize does_not = inc.PolicyNeighbourhoodSize(lost);
  EXPECT_EQ(does_not.services, 2u);  // b/cache and c/cache, for the message
  ASSERT_EQ(c.result.unresolved.size(), 1u);
  EXPECT_NE(c.result.unresolved[0].why.find("did you mean cache.b, cache.c?"), std::string::npos)
      << c.result.unresolved[0].why;
  ASSERT_TRUE(inc.Policy(web).has_value());
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

// --- pods and the platform ----------------------------------------------------

Pod PodOf(const std::string& ns, const std::string& name, Labels labels, OwnerReference owner) {
  Pod p;
  p.ns = ns;
  p.name = name;
  p.labels = std::move(labels);
  p.controller = std::move(owner);
  return p;
}

// Pods of one ReplicaSet hold their labels and owner once (model/shared.h):
// at 100,000 cached Pods that is most of the memory. A pod that differs (a
// relabelled one, a pod of another ReplicaSet) keeps its own, and an update
// keeps sharing what did not change.
TEST(IncrementalTest, PodsOfOneReplicaSetShareLabelsAndOwner) {
  Incremental inc(SynthesisConfig::Defaults());
  inc.Upsert(Deploy("shop", "web"));
  const OwnerReference rs{"apps/v1", "ReplicaSet", "web-5d8f7", "uid-rs"};
  const Labels labels{{"app", "web"}, {"pod-template-hash", "5d8f7"}};
  for (const char* n : {"web-5d8f7-a", "web-5d8f7-b", "web-5d8f7-c"}) {
    (void)inc.Upsert(PodOf("shop", n, labels, rs));  // each decoded on its own
  }
  const Pod* a = inc.FindPod("shop", "web-5d8f7-a");
  const Pod* b = inc.FindPod("shop", "web-5d8f7-b");
  const Pod* c = inc.FindPod("shop", "web-5d8f7-c");
  ASSERT_TRUE(a && b && c);
  EXPECT_TRUE(b->labels.SharesWith(a->labels));
  EXPECT_TRUE(c->labels.SharesWith(a->labels));
  EXPECT_TRUE(b->controller.SharesWith(a->controller));
  EXPECT_TRUE(c->controller.SharesWith(a->controller));
  EXPECT_EQ(c->labels, labels);
  EXPECT_EQ(*c->controller, rs);

  // An IP arrives: the new version shares with the old one.
  Pod b2 = PodOf("shop", "web-5d8f7-b", labels, rs);
  b2.ip = "10.0.0.2";
  (void)inc.Upsert(b2);
  b = inc.FindPod("shop", "web-5d8f7-b");
  EXPECT_EQ(b->ip, "10.0.0.2");
  EXPECT_TRUE(b->labels.SharesWith(a->labels));
  // Relabelled: its own labels, still the shared owner.
  Labels other = labels;
  other["role"] = "canary";
  (void)inc.Upsert(PodOf("shop", "web-5d8f7-c", other, rs));
  c = inc.FindPod("shop", "web-5d8f7-c");
  EXPECT_FALSE(c->labels.SharesWith(a->labels));
  EXPECT_EQ(c->labels, other);
  EXPECT_TRUE(c->controller.SharesWith(a->controller));
  // Another ReplicaSet of the same Deployment: nothing in common to share.
  const OwnerReference rs2{"apps/v1", "ReplicaSet", "web-77c9b", "uid-rs2"};
  (void)inc.Upsert(PodOf("shop", "web-77c9b-a", {{"app", "web"}, {"pod-template-hash", "77c9b"}}, rs2));
  const Pod* d = inc.FindPod("shop", "web-77c9b-a");
  ASSERT_NE(d, nullptr);
  EXPECT_FALSE(d->labels.SharesWith(a->labels));
  EXPECT_EQ(d->controller->name, "web-77c9b");
  EXPECT_EQ(inc.pod_label_sets(), 3u);
  // Equal labels share across owners too (pods an operator makes directly).
  const OwnerReference cr{"example.com/v1", "Cache", "cache", "uid-cr"};
  (void)inc.Upsert(PodOf("shop", "cache-0", labels, cr));
  EXPECT_TRUE(inc.FindPod("shop", "cache-0")->labels.SharesWith(a->labels));
  EXPECT_EQ(inc.pod_label_sets(), 3u);
  // A set no pod has any more is forgotten; the others stay shared.
  (void)inc.Remove(ObjectKind::kPod, "shop", "web-77c9b-a");
  EXPECT_EQ(inc.pod_label_sets(), 2u);
  (void)inc.Remove(ObjectKind::kPod, "shop", "web-5d8f7-c");
  EXPECT_EQ(inc.pod_label_sets(), 1u);
  for (const char* n : {"web-5d8f7-a", "web-5d8f7-b", "cache-0"}) {
    (void)inc.Remove(ObjectKind::kPod, "shop", n);
  }
  EXPECT_EQ(inc.pod_label_sets(), 0u);
  EXPECT_EQ(inc.pods(), 0u);
}

// Decision 11 of issue 10: one more pod of a known workload, labelled as its
// template plus per-revision labels, recomputes nothing, also when it gets
// an IP; a relabelled one (failover) recomputes its workload.
TEST(IncrementalTest, PodsOfKnownWorkloadsCostNothing) {
  Incremental inc(SynthesisConfig::Defaults());
  Pairs(inc);
  Workload ss = Deploy("shop", "redis");
  ss.kind = WorkloadKind::kStatefulSet;
  inc.Upsert(ss);
  (void)inc.Recompute();
  const OwnerReference owner{"apps/v1", "StatefulSet", "redis", "uid-redis"};
  Pod p = PodOf("shop", "redis-0",
                {{"app", "redis"}, {"statefulset.kubernetes.io/pod-name", "redis-0"}}, owner);
  EXPECT_FALSE(inc.Upsert(p));
  p.ip = "10.1.2.3";
  EXPECT_FALSE(inc.Upsert(p));
  EXPECT_FALSE(inc.pending());
  EXPECT_EQ(inc.pods(), 1u);
  // Relabelled by an operator: now it may back Services its template does not.
  p.labels.Edit()["role"] = "primary";
  EXPECT_TRUE(inc.Upsert(p));
  Changes c = inc.Recompute();
  EXPECT_EQ(Names(c), (std::vector<std::string>{"StatefulSet/shop/redis"}));
  // Deleting a pod labelled as its template costs nothing either.
  Pod q = PodOf("shop", "redis-1", {{"app", "redis"}}, owner);
  inc.Upsert(q);
  (void)inc.Recompute();
  EXPECT_FALSE(inc.Remove(WorkloadKey{WorkloadKind::kPod, "shop", "redis-1"}));
  EXPECT_EQ(inc.pods(), 1u);
}

// A Service may select a workload by a label only its pods carry (an
// operator's role=primary): a new such Service, or one whose selector moves
// off it, recomputes that workload as a backend.
TEST(IncrementalTest, AServiceSelectingOnlyPodLabelsRecomputesTheirWorkload) {
  Incremental inc(SynthesisConfig::Defaults());
  Pairs(inc);
  Workload ss = Deploy("shop", "redis");
  ss.kind = WorkloadKind::kStatefulSet;
  inc.Upsert(ss);
  const OwnerReference owner{"apps/v1", "StatefulSet", "redis", "uid-redis"};
  inc.Upsert(PodOf("shop", "redis-0", {{"app", "redis"}, {"role", "primary"}}, owner));
  inc.Upsert(PodOf("shop", "redis-1", {{"app", "redis"}, {"role", "replica"}}, owner));
  (void)inc.Recompute();
  Service primary = Svc("shop", "redis-primary", "unused");
  primary.selector = Labels{{"role", "primary"}};
  ASSERT_TRUE(inc.Upsert(primary));
  EXPECT_EQ(Names(inc.Recompute()), (std::vector<std::string>{"StatefulSet/shop/redis"}));
  primary.selector = Labels{{"role", "none"}};
  ASSERT_TRUE(inc.Upsert(primary));
  EXPECT_EQ(Names(inc.Recompute()), (std::vector<std::string>{"StatefulSet/shop/redis"}));
  // The pod that carried it goes: then a Service naming it selects nothing.
  EXPECT_TRUE(inc.Remove(WorkloadKey{WorkloadKind::kPod, "shop", "redis-0"}));
  (void)inc.Recompute();
  primary.selector = Labels{{"role", "primary"}};
  ASSERT_TRUE(inc.Upsert(primary));
  EXPECT_TRUE(Names(inc.Recompute()).empty());
}

// A Deployment's ReplicaSets only lead pods to it: a new revision or a scale
// changes nothing, and their templates are not kept; a Rollout's ReplicaSet
// is the template of its workload.
TEST(IncrementalTest, ReplicaSetsOfDeploymentsCostNothing) {
  Incremental inc(SynthesisConfig::Defaults());
  Pairs(inc);
  (void)inc.Recompute();
  Workload rs = Deploy("shop", "client1-5d8f7");
  rs.kind = WorkloadKind::kReplicaSet;
  rs.has_controller = true;
  rs.controller = OwnerReference{"apps/v1", "Deployment", "client1", "uid-client1"};
  EXPECT_TRUE(inc.Upsert(rs));  // new: pods may now resolve through it
  (void)inc.Recompute();
  rs.containers[0].env.push_back({"X", "server1.shop:80", "", ""});
  EXPECT_FALSE(inc.Upsert(rs));
  EXPECT_FALSE(inc.pending());
  // Owned by a Rollout, with a pod: its template is the workload's.
  rs.controller = OwnerReference{"argoproj.io/v1alpha1", "Rollout", "client1", "ro-1"};
  EXPECT_TRUE(inc.Upsert(rs));
  inc.Upsert(PodOf("shop", "client1-5d8f7-a", {{"app", "client1-5d8f7"}},
                   {"apps/v1", "ReplicaSet", "client1-5d8f7", "uid-client1-5d8f7"}));
  const Changes c = inc.Recompute();
  bool found = false;
  for (const WorkloadPolicy& p : c.result.policies) {
    if (p.workload.ToString() != "Rollout/shop/client1") continue;
    found = true;
    bool to_server = false;
    for (const PolicyRule& rule : p.policy.egress) {
      for (const PolicyPeer& peer : rule.peers) {
        if (peer.pod_selector && peer.pod_selector->match_labels.contains("app") &&
            peer.pod_selector->match_labels.at("app") == "server1") {
          to_server = true;
        }
      }
    }
    EXPECT_TRUE(to_server);
  }
  EXPECT_TRUE(found);
}

// A Service that selects a per-revision label (a per-pod Service) makes such
// pods matter.
TEST(IncrementalTest, PerPodServicesMakePodsMatter) {
  Incremental inc(SynthesisConfig::Defaults());
  Workload ss = Deploy("shop", "kafka");
  ss.kind = WorkloadKind::kStatefulSet;
  inc.Upsert(ss);
  Service per_pod = Svc("shop", "kafka-0", "kafka");
  per_pod.selector = Labels{{"statefulset.kubernetes.io/pod-name", "kafka-0"}};
  inc.Upsert(per_pod);
  (void)inc.Recompute();
  EXPECT_TRUE(inc.Upsert(PodOf("shop", "kafka-0",
                               {{"app", "kafka"}, {"statefulset.kubernetes.io/pod-name", "kafka-0"}},
                               {"apps/v1", "StatefulSet", "kafka", "uid-kafka"})));
  EXPECT_EQ(Names(inc.Recompute()), (std::vector<std::string>{"StatefulSet/shop/kafka"}));
}

TEST(IncrementalTest, PodsOfAnOperatorFormAWorkloadThatFollowsThem) {
  Incremental inc(SynthesisConfig::Defaults());
  (void)inc.Recompute();
  const OwnerReference cr{"cache.example.com/v1", "RedisCluster", "rc", "cr-1"};
  Pod first = PodOf("shop", "rc-0", {{"app", "rc"}, {"role", "primary"}}, cr);
  first.spec = Pod::Spec{};  // the one pod whose spec the controller keeps
  inc.Upsert(first);
  Changes c = inc.Recompute();
  EXPECT_EQ(Names(c), (std::vector<std::string>{"RedisCluster/shop/rc"}));
  ASSERT_EQ(c.result.policies.size(), 1u);
  EXPECT_EQ(c.result.policies[0].policy.pod_selector.match_labels,
            (Labels{{"app", "rc"}, {"role", "primary"}}));
  // A second pod with another role: the selector is what both share.
  inc.Upsert(PodOf("shop", "rc-1", {{"app", "rc"}, {"role", "replica"}}, cr));
  c = inc.Recompute();
  ASSERT_EQ(c.result.policies.size(), 1u);
  EXPECT_EQ(c.result.policies[0].policy.pod_selector.match_labels, (Labels{{"app", "rc"}}));
  // All pods gone: the workload is gone.
  inc.Remove(WorkloadKey{WorkloadKind::kPod, "shop", "rc-0"});
  inc.Remove(WorkloadKey{WorkloadKind::kPod, "shop", "rc-1"});
  c = inc.Recompute();
  EXPECT_EQ(Names(c), (std::vector<std::string>{"RedisCluster/shop/rc"}));
  EXPECT_TRUE(c.result.policies.empty());
  EXPECT_EQ(inc.policies(), 0u);
}

// Webhook configurations recompute the backends of the Services they name,
// not the cluster.
TEST(IncrementalTest, AWebhookConfigurationReachesItsServiceOnly) {
  Incremental inc(SynthesisConfig::Defaults());
  Pairs(inc);
  (void)inc.Recompute();
  ApiServerHook h;
  h.kind = ApiServerHook::Kind::kValidatingWebhookConfiguration;
  h.name = "check";
  h.calls.push_back({"check.example.com", "shop", "server6", 80});
  ASSERT_TRUE(inc.Upsert(h));
  Changes c = inc.Recompute();
  EXPECT_FALSE(c.full);
  EXPECT_EQ(Names(c), (std::vector<std::string>{"Deployment/shop/server6"}));
  ASSERT_TRUE(inc.Remove(ObjectKind::kValidatingWebhookConfiguration, "", "check"));
  EXPECT_EQ(Names(inc.Recompute()), (std::vector<std::string>{"Deployment/shop/server6"}));
}

TEST(IncrementalTest, ParseObjectKind) {
  EXPECT_EQ(ParseObjectKind("HTTPRoute"), ObjectKind::kHTTPRoute);
  EXPECT_EQ(ParseObjectKind("APIService"), ObjectKind::kAPIService);
  EXPECT_EQ(ParseObjectKind("PodMonitor"), ObjectKind::kPodMonitor);
  EXPECT_EQ(ParseObjectKind("Deployment"), std::nullopt);
}

}  // namespace
}  // namespace npc::synth
