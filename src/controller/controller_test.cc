#include "controller/controller.h"

#include <gtest/gtest.h>

#include <map>

namespace npc::controller {
namespace {

// A cluster's NetworkPolicies in memory: what the real API server would hold.
// When connected to a controller, writes are echoed back as watch events.
class FakeCluster : public PolicyWriter {
 public:
  Status Apply(const NetworkPolicy& p) override {
    std::lock_guard<std::recursive_mutex> lock(mu);
    writes++;
    if (fail_next > 0) {
      fail_next--;
      return Unavailable("injected failure");
    }
    policies[p.ns + "/" + p.name] = p;
    if (controller) controller->Upsert(AsObject(p));
    return Status::Ok();
  }
  Status Delete(const std::string& ns, const std::string& name) override {
    std::lock_guard<std::recursive_mutex> lock(mu);
    writes++;
    if (!policies.erase(ns + "/" + name)) return NotFound("no such policy");
    if (controller) controller->Remove(Meta("NetworkPolicy", ns, name));
    return Status::Ok();
  }
  Status LabelPod(const std::string& ns, const std::string& name, const std::string& key,
                  const std::string& value) override {
    std::lock_guard<std::recursive_mutex> lock(mu);
    writes++;
    labelled[ns + "/" + name] = key + "=" + value;
    return Status::Ok();
  }

  static decode::Meta Meta(std::string kind, std::string ns, std::string name) {
    decode::Meta m;
    m.kind = std::move(kind);
    m.ns = std::move(ns);
    m.name = std::move(name);
    return m;
  }
  static decode::Object AsObject(const NetworkPolicy& p) {
    decode::Object o;
    o.meta = Meta("NetworkPolicy", p.ns, p.name);
    o.value = decode::StoredPolicy{p};
    return o;
  }

  std::optional<NetworkPolicy> Find(const std::string& key) {
    std::lock_guard<std::recursive_mutex> lock(mu);
    auto it = policies.find(key);
    if (it == policies.end()) return std::nullopt;
    return it->second;
  }

  std::recursive_mutex mu;
  std::map<std::string, NetworkPolicy> policies;
  std::map<std::string, std::string> labelled;
  int writes = 0;
  int fail_next = 0;
  Controller* controller = nullptr;
};

class RecordingObserver : public Observer {
 public:
  void OnWrite(Action action, const std::string& key, bool audit, const Status& result,
               const NetworkPolicy*) override {
    std::lock_guard<std::mutex> lock(mu);
    const char* names[] = {"create", "update", "delete", "label"};
    log.push_back(std::string(audit ? "would " : "") + names[static_cast<int>(action)] + " " + key +
                  (result.ok() ? "" : " failed"));
  }
  std::mutex mu;
  std::vector<std::string> log;
};

decode::Object Obj(Workload w) {
  decode::Object o;
  o.meta = FakeCluster::Meta(std::string(KindName(w.kind)), w.ns, w.name);
  o.value = std::move(w);
  return o;
}
decode::Object Obj(Service s) {
  decode::Object o;
  o.meta = FakeCluster::Meta("Service", s.ns, s.name);
  o.value = std::move(s);
  return o;
}
decode::Object Obj(Namespace n) {
  decode::Object o;
  o.meta = FakeCluster::Meta("Namespace", "", n.name);
  o.value = std::move(n);
  return o;
}

Workload Deploy(std::string ns, std::string name, std::string env_value = "") {
  Workload w;
  w.kind = WorkloadKind::kDeployment;
  w.ns = std::move(ns);
  w.name = name;
  w.uid = "uid-" + name;
  w.pod_selector.match_labels = {{"app", name}};
  w.template_labels = {{"app", name}};
  Container c;
  c.name = "main";
  c.ports = {{"http", 8080, "TCP"}};
  if (!env_value.empty()) c.env.push_back({"TARGET", env_value, "", ""});
  w.containers.push_back(c);
  return w;
}

Service Svc(std::string ns, std::string name, std::string app) {
  Service s;
  s.ns = std::move(ns);
  s.name = std::move(name);
  s.selector = Labels{{"app", std::move(app)}};
  ServicePort p;
  p.name = "http";
  p.port = 80;
  p.target_port.num = 8080;
  s.ports.push_back(p);
  return s;
}

Namespace Ns(std::string name) {
  return Namespace{name, {{std::string(kNamespaceNameLabel), name}}, {}};
}

bool EgressMentions(const NetworkPolicy& p, const std::string& app) {
  for (const auto& r : p.egress) {
    for (const auto& peer : r.peers) {
      if (peer.pod_selector && peer.pod_selector->match_labels.count("app") &&
          peer.pod_selector->match_labels.at("app") == app) {
        return true;
      }
    }
  }
  return false;
}

class ControllerTest : public ::testing::Test {
 protected:
  void SetUp() override { Make(Mode::kEnforce); }
  void Make(Mode mode) {
    ControllerOptions o;
    o.mode = mode;
    c = std::make_unique<Controller>(o, cluster, observer, clock);
    cluster.controller = c.get();
  }
  void Settle() {
    for (int i = 0; i < 10; ++i) {
      c->Recompute();
      c->DrainForTest();
    }
  }

  FakeClock clock;
  FakeCluster cluster;
  RecordingObserver observer;
  std::unique_ptr<Controller> c;
};

TEST_F(ControllerTest, WritesOnePolicyPerWorkloadWithTheEdgeOnBothSides) {
  c->Upsert(Obj(Ns("shop")));
  c->Upsert(Obj(Deploy("shop", "web", "http://api:80")));
  c->Upsert(Obj(Deploy("shop", "api")));
  c->Upsert(Obj(Svc("shop", "api", "api")));
  c->MarkSynced();
  c->DrainForTest();
  ASSERT_EQ(cluster.policies.size(), 2u);
  const auto& web = cluster.policies.at("shop/deployment-web");
  EXPECT_TRUE(EgressMentions(web, "api"));
  EXPECT_EQ(web.labels.at(std::string(kManagedByLabel)), "netpol-ctrl");
  ASSERT_TRUE(web.owner.has_value());
  EXPECT_EQ(web.owner->uid, "uid-web");
}

// A key written before the recompute that follows a change (here: a hand
// edit is undone while a new reference waits for its batch) gets the policy
// of the cache as it is now, and the recompute that catches up writes
// nothing more for it.
TEST_F(ControllerTest, AWriteTakesThePolicyOfTheCacheAsItIsNow) {
  c->Upsert(Obj(Ns("shop")));
  c->Upsert(Obj(Deploy("shop", "web", "http://api:80")));
  c->Upsert(Obj(Deploy("shop", "api")));
  c->Upsert(Obj(Deploy("shop", "db")));
  c->Upsert(Obj(Svc("shop", "api", "api")));
  c->Upsert(Obj(Svc("shop", "db", "db")));
  c->MarkSynced();
  Settle();
  ASSERT_FALSE(EgressMentions(cluster.policies.at("shop/deployment-web"), "db"));

  NetworkPolicy edited = cluster.policies.at("shop/deployment-web");
  edited.egress.clear();
  cluster.policies["shop/deployment-web"] = edited;
  c->Upsert(FakeCluster::AsObject(edited));                             // the watch sees the edit
  c->Upsert(Obj(Deploy("shop", "web", "http://api:80 http://db:80")));  // no recompute yet
  const int writes = cluster.writes;
  ASSERT_TRUE(c->Reconcile("shop/deployment-web").ok());
  EXPECT_TRUE(EgressMentions(cluster.policies.at("shop/deployment-web"), "api"));
  EXPECT_TRUE(EgressMentions(cluster.policies.at("shop/deployment-web"), "db"));
  EXPECT_EQ(cluster.writes, writes + 1);

  Settle();  // the recompute catches up: db gains web as a client; web is written already
  EXPECT_EQ(cluster.writes, writes + 2);
  EXPECT_TRUE(EgressMentions(cluster.policies.at("shop/deployment-web"), "db"));
}

TEST_F(ControllerTest, RestartAgainstAnUnchangedClusterWritesNothing) {
  c->Upsert(Obj(Ns("shop")));
  c->Upsert(Obj(Deploy("shop", "web", "http://api:80")));
  c->Upsert(Obj(Deploy("shop", "api")));
  c->Upsert(Obj(Svc("shop", "api", "api")));
  c->MarkSynced();
  Settle();
  const int writes = cluster.writes;
  ASSERT_EQ(writes, 2);

  // A second controller that lists everything, the policies included.
  cluster.controller = nullptr;
  Make(Mode::kEnforce);
  c->Upsert(Obj(Ns("shop")));
  c->Upsert(Obj(Deploy("shop", "web", "http://api:80")));
  c->Upsert(Obj(Deploy("shop", "api")));
  c->Upsert(Obj(Svc("shop", "api", "api")));
  for (const auto& [k, p] : cluster.policies) c->Upsert(FakeCluster::AsObject(p));
  cluster.controller = c.get();
  c->MarkSynced();
  Settle();
  EXPECT_EQ(cluster.writes, writes);
}

TEST_F(ControllerTest, ServiceAppearingLaterAddsTheEdgeAndItsDeletionRemovesIt) {
  c->Upsert(Obj(Ns("shop")));
  c->Upsert(Obj(Deploy("shop", "web", "http://api:80")));
  c->Upsert(Obj(Deploy("shop", "api")));
  c->MarkSynced();
  Settle();
  EXPECT_FALSE(EgressMentions(cluster.policies.at("shop/deployment-web"), "api"));

  c->Upsert(Obj(Svc("shop", "api", "api")));
  Settle();
  EXPECT_TRUE(EgressMentions(cluster.policies.at("shop/deployment-web"), "api"));

  c->Remove(FakeCluster::Meta("Service", "shop", "api"));
  Settle();
  EXPECT_FALSE(EgressMentions(cluster.policies.at("shop/deployment-web"), "api"));
}

TEST_F(ControllerTest, DeletedWorkloadLosesItsPolicyAndOrphansAreCollectedAtStart) {
  // An orphan left from a workload deleted while the controller was down.
  NetworkPolicy orphan;
  orphan.ns = "shop";
  orphan.name = "deployment-gone";
  orphan.labels = {{std::string(kManagedByLabel), std::string(kManagedByValue)}};
  cluster.policies["shop/deployment-gone"] = orphan;
  c->Upsert(FakeCluster::AsObject(orphan));
  // A managed-looking policy in an excluded namespace is never touched.
  NetworkPolicy excluded = orphan;
  excluded.ns = "kube-system";
  cluster.policies["kube-system/deployment-gone"] = excluded;
  c->Upsert(FakeCluster::AsObject(excluded));

  c->Upsert(Obj(Ns("shop")));
  c->Upsert(Obj(Deploy("shop", "web")));
  c->MarkSynced();
  Settle();
  EXPECT_FALSE(cluster.policies.count("shop/deployment-gone"));
  EXPECT_TRUE(cluster.policies.count("kube-system/deployment-gone"));
  EXPECT_TRUE(cluster.policies.count("shop/deployment-web"));

  c->Remove(FakeCluster::Meta("Deployment", "shop", "web"));
  Settle();
  EXPECT_FALSE(cluster.policies.count("shop/deployment-web"));
}

TEST_F(ControllerTest, DriftIsPutBack) {
  c->Upsert(Obj(Ns("shop")));
  c->Upsert(Obj(Deploy("shop", "web")));
  c->MarkSynced();
  Settle();
  NetworkPolicy good = cluster.policies.at("shop/deployment-web");

  // Someone widens the policy by hand.
  NetworkPolicy edited = good;
  edited.ingress.push_back(PolicyRule{});  // allow everything in
  cluster.policies["shop/deployment-web"] = edited;
  c->Upsert(FakeCluster::AsObject(edited));
  Settle();
  EXPECT_EQ(cluster.policies.at("shop/deployment-web"), good);

  // Someone deletes it.
  cluster.policies.erase("shop/deployment-web");
  c->Remove(FakeCluster::Meta("NetworkPolicy", "shop", "deployment-web"));
  Settle();
  ASSERT_TRUE(cluster.policies.count("shop/deployment-web"));
  EXPECT_EQ(cluster.policies.at("shop/deployment-web"), good);
}

TEST_F(ControllerTest, AuditModeWritesNothingAndReportsWhatItWouldDo) {
  Make(Mode::kAudit);
  c->Upsert(Obj(Ns("shop")));
  c->Upsert(Obj(Deploy("shop", "web")));
  c->MarkSynced();
  Settle();
  EXPECT_EQ(cluster.writes, 0);
  ASSERT_FALSE(observer.log.empty());
  EXPECT_EQ(observer.log[0], "would create shop/deployment-web");
}

TEST_F(ControllerTest, FailedWritesAreRetriedWithBackoff) {
  cluster.fail_next = 2;
  c->Upsert(Obj(Ns("shop")));
  c->Upsert(Obj(Deploy("shop", "web")));
  c->MarkSynced();
  c->DrainForTest();
  EXPECT_TRUE(cluster.policies.empty());
  EXPECT_EQ(c->queue().Failures("shop/deployment-web"), 1);
  clock.Advance(std::chrono::milliseconds(5));
  c->DrainForTest();
  EXPECT_EQ(c->queue().Failures("shop/deployment-web"), 2);
  clock.Advance(std::chrono::milliseconds(10));
  c->DrainForTest();
  EXPECT_TRUE(cluster.policies.count("shop/deployment-web"));
  EXPECT_EQ(c->queue().Failures("shop/deployment-web"), 0);
}

TEST_F(ControllerTest, BarePodWithoutLabelsGetsItsLabel) {
  Workload pod;
  pod.kind = WorkloadKind::kPod;
  pod.ns = "shop";
  pod.name = "debug";
  c->Upsert(Obj(Ns("shop")));
  c->Upsert(Obj(pod));
  c->MarkSynced();
  Settle();
  ASSERT_TRUE(cluster.labelled.count("shop/debug"));
  EXPECT_EQ(cluster.labelled.at("shop/debug"), "netpol-ctrl.io/pod=debug");
}

TEST_F(ControllerTest, RunningThreadsConverge) {
  c->Upsert(Obj(Ns("shop")));
  c->Upsert(Obj(Deploy("shop", "web", "http://api:80")));
  c->Upsert(Obj(Deploy("shop", "api")));
  c->Start();
  c->MarkSynced();
  c->Upsert(Obj(Svc("shop", "api", "api")));
  // The real clock drives the threads here; wait for convergence.
  for (int i = 0; i < 500; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    clock.Advance(std::chrono::milliseconds(10));
    auto p = cluster.Find("shop/deployment-web");
    if (p && EgressMentions(*p, "api")) break;
  }
  c->Stop();
  EXPECT_TRUE(EgressMentions(cluster.policies.at("shop/deployment-web"), "api"));
}

}  // namespace
}  // namespace npc::controller
