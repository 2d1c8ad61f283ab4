#include "controller/controller.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <set>
#include <thread>

namespace npc::controller {
namespace {

// A cluster's NetworkPolicies in memory: what the real API server would hold.
// When connected to a controller, writes are echoed back as watch events.
class FakeCluster : public PolicyWriter {
 public:
  // Like the API server: metadata.generation grows when the spec changes.
  StatusOr<int64_t> Apply(const NetworkPolicy& p) override {
    std::lock_guard<std::recursive_mutex> lock(mu);
    writes++;
    if (fail_next > 0) {
      fail_next--;
      return Unavailable("injected failure");
    }
    const std::string key = p.ns + "/" + p.name;
    auto old = policies.find(key);
    if (old == policies.end() || PolicySpecFingerprint(old->second) != PolicySpecFingerprint(p)) {
      generations[key]++;
    }
    policies[key] = p;
    if (controller && echo) controller->Upsert(AsObject(p, generations[key]));
    return generations[key];
  }
  // Server-side apply without force: a policy someone else wrote is a conflict.
  StatusOr<int64_t> Create(const NetworkPolicy& p) override {
    std::lock_guard<std::recursive_mutex> lock(mu);
    if (foreign.count(p.ns + "/" + p.name)) {
      writes++;
      return Status(StatusCode::kConflict, "Apply failed with 1 conflict: conflict with \"kubectl\"");
    }
    return Apply(p);
  }
  Status Delete(const std::string& ns, const std::string& name) override {
    std::lock_guard<std::recursive_mutex> lock(mu);
    writes++;
    if (!policies.erase(ns + "/" + name)) return NotFound("no such policy");
    generations.erase(ns + "/" + name);
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
  static decode::Object AsObject(const NetworkPolicy& p, int64_t generation = 0) {
    decode::Object o;
    o.meta = Meta("NetworkPolicy", p.ns, p.name);
    o.meta.generation = generation;
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
  std::map<std::string, int64_t> generations;  // metadata.generation of each policy
  bool echo = true;  // writes come back as watch events at once
  std::map<std::string, std::string> labelled;
  std::set<std::string> foreign;  // "ns/name" of policies netpol-ctrl does not manage
  int writes = 0;
  int fail_next = 0;
  Controller* controller = nullptr;
};

class RecordingObserver : public Observer {
 public:
  void OnWrite(Action action, const ReconcileKey& key, bool audit, const Status& result,
               const NetworkPolicy*) override {
    std::lock_guard<std::mutex> lock(mu);
    const char* names[] = {"create", "update", "delete", "label"};
    log.push_back(std::string(audit ? "would " : "") + names[static_cast<int>(action)] + " " +
                  key.ToString() + (result.ok() ? "" : " failed"));
  }
  void OnConflict(const ReconcileKey& key, const NetworkPolicy& wanted) override {
    std::lock_guard<std::mutex> lock(mu);
    log.push_back("conflict " + key.ToString() + " for " +
                  (wanted.owner ? wanted.owner->kind + "/" + wanted.owner->name : "?"));
  }
  void OnWarning(const std::string& message) override {
    std::lock_guard<std::mutex> lock(mu);
    warnings.push_back(message);
  }
  std::mutex mu;
  std::vector<std::string> log;
  std::vector<std::string> warnings;
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
  ASSERT_TRUE(c->Reconcile(ReconcileKey::Policy("shop", "deployment-web")).ok());
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

// The watch lags behind the writes (a stalling connection, an API server
// that restarts): the event of an earlier write arrives after a later write.
// It must not undo the later write in the cache and cause the same write
// again (FaultIT counts such duplicates against metadata.generation).
TEST_F(ControllerTest, AWatchEventOlderThanTheLastWriteCausesNoWrite) {
  cluster.echo = false;  // the test delivers the watch events
  c->Upsert(Obj(Ns("shop")));
  c->Upsert(Obj(Deploy("shop", "web", "http://api:80")));
  c->Upsert(Obj(Deploy("shop", "api")));
  c->Upsert(Obj(Deploy("shop", "db")));
  c->Upsert(Obj(Svc("shop", "api", "api")));
  c->Upsert(Obj(Svc("shop", "db", "db")));
  c->MarkSynced();
  Settle();
  const NetworkPolicy first = cluster.policies.at("shop/deployment-web");
  c->Upsert(Obj(Deploy("shop", "web", "http://api:80 http://db:80")));
  Settle();
  const NetworkPolicy second = cluster.policies.at("shop/deployment-web");
  ASSERT_EQ(cluster.generations.at("shop/deployment-web"), 2);
  ASSERT_TRUE(EgressMentions(second, "db"));
  const int writes = cluster.writes;

  c->Upsert(FakeCluster::AsObject(first, 1));  // late: the first write's event
  Settle();
  EXPECT_EQ(cluster.writes, writes) << "an event older than the last write caused a write";
  c->Upsert(FakeCluster::AsObject(second, 2));
  Settle();
  EXPECT_EQ(cluster.writes, writes);

  // A hand edit is newer than any write of ours: still put back.
  NetworkPolicy edited = second;
  edited.ingress.push_back(PolicyRule{});
  cluster.policies["shop/deployment-web"] = edited;
  cluster.generations["shop/deployment-web"] = 3;
  c->Upsert(FakeCluster::AsObject(edited, 3));
  Settle();
  EXPECT_EQ(cluster.writes, writes + 1);
  EXPECT_EQ(cluster.policies.at("shop/deployment-web"), second);
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

// The namespace label netpol-ctrl.io/mode through every transition (issue 14):
// audit keeps what is there (frozen), enforce brings it up to date, off
// deletes; with audit_removes, audit deletes too.
TEST_F(ControllerTest, TheNamespaceModeLabelDecidesWritingPerNamespace) {
  auto labelled = [](const std::string& mode) {
    Namespace n = Ns("shop");
    if (!mode.empty()) n.labels[std::string(kModeLabel)] = mode;
    return n;
  };
  c->Upsert(Obj(labelled("")));
  c->Upsert(Obj(Ns("data")));
  c->Upsert(Obj(Deploy("shop", "web", "http://api:80")));
  c->Upsert(Obj(Deploy("shop", "api")));
  c->Upsert(Obj(Svc("shop", "api", "api")));
  c->Upsert(Obj(Deploy("data", "db")));
  c->MarkSynced();
  Settle();
  ASSERT_EQ(cluster.policies.size(), 3u);

  c->Upsert(Obj(labelled("audit")));
  c->Upsert(Obj(Deploy("shop", "web")));  // no longer calls api
  Settle();
  ASSERT_TRUE(cluster.policies.count("shop/deployment-web"));
  EXPECT_TRUE(EgressMentions(cluster.policies.at("shop/deployment-web"), "api")) << "kept as is";

  c->Upsert(Obj(labelled("enforce")));
  Settle();
  ASSERT_TRUE(cluster.policies.count("shop/deployment-web"));
  EXPECT_FALSE(EgressMentions(cluster.policies.at("shop/deployment-web"), "api"));

  c->Upsert(Obj(labelled("off")));
  Settle();
  EXPECT_FALSE(cluster.policies.count("shop/deployment-web"));
  EXPECT_FALSE(cluster.policies.count("shop/deployment-api"));
  EXPECT_TRUE(cluster.policies.count("data/deployment-db"));

  c->Upsert(Obj(labelled("")));
  Settle();
  EXPECT_TRUE(cluster.policies.count("shop/deployment-web"));
  EXPECT_TRUE(cluster.policies.count("shop/deployment-api"));
}

// A misspelt mode label is read as audit and said once per namespace and
// value, naming the namespace, the value, the allowed values and what that
// means there; said again only once the label changed.
TEST_F(ControllerTest, AMisspeltModeLabelIsWarnedOncePerNamespaceAndValue) {
  auto labelled = [](const std::string& ns, const std::string& mode) {
    Namespace n = Ns(ns);
    n.labels[std::string(kModeLabel)] = mode;
    return n;
  };
  const std::string kept =
      ": nothing is written there and its managed policies are kept as they are";
  c->Upsert(Obj(labelled("shop", "enforced")));
  c->Upsert(Obj(labelled("shop", "enforced")));  // a resync, another label: said already
  c->Upsert(Obj(labelled("data", "enforced")));
  c->Upsert(Obj(labelled("shop", "Enforcd")));
  c->Upsert(Obj(labelled("shop", "enforce")));
  c->Upsert(Obj(labelled("shop", "enforced")));  // broken again
  c->Upsert(Obj(labelled("web", "audit")));
  c->Remove(FakeCluster::Meta("Namespace", "", "data"));
  c->Upsert(Obj(labelled("data", "enforced")));  // a new namespace of that name
  const std::string label = "label netpol-ctrl.io/mode=";
  const std::string allowed = " is none of audit, enforce, off; the namespace is treated as audit";
  EXPECT_EQ(observer.warnings, (std::vector<std::string>{
                                   "namespace shop: " + label + "enforced" + allowed + kept,
                                   "namespace data: " + label + "enforced" + allowed + kept,
                                   "namespace shop: " + label + "Enforcd" + allowed + kept,
                                   "namespace shop: " + label + "enforced" + allowed + kept,
                                   "namespace data: " + label + "enforced" + allowed + kept,
                               }));

  ControllerOptions o;
  o.audit_removes = true;
  RecordingObserver removes;
  Controller with_removes(o, cluster, removes, clock);
  with_removes.Upsert(Obj(labelled("shop", "enforced")));
  EXPECT_EQ(removes.warnings,
            (std::vector<std::string>{"namespace shop: " + label + "enforced" + allowed + kept}));
}

TEST_F(ControllerTest, AuditRemovesDeletesInAuditNamespacesOnly) {
  ControllerOptions o;
  o.mode = Mode::kAudit;
  o.audit_removes = true;
  c = std::make_unique<Controller>(o, cluster, observer, clock);
  cluster.controller = c.get();
  Namespace shop = Ns("shop");
  shop.labels[std::string(kModeLabel)] = "enforce";
  c->Upsert(Obj(shop));
  c->Upsert(Obj(Ns("data")));
  c->Upsert(Obj(Deploy("shop", "web")));
  c->Upsert(Obj(Deploy("data", "db")));
  c->MarkSynced();
  Settle();
  EXPECT_TRUE(cluster.policies.count("shop/deployment-web"));
  EXPECT_FALSE(cluster.policies.count("data/deployment-db")) << "data is in audit";

  // A misspelt mode is read as audit, but a typo deletes nothing.
  shop.labels[std::string(kModeLabel)] = "audt";
  c->Upsert(Obj(shop));
  Settle();
  EXPECT_TRUE(cluster.policies.count("shop/deployment-web")) << "a misspelt label deleted";

  shop.labels[std::string(kModeLabel)] = "audit";
  c->Upsert(Obj(shop));
  Settle();
  EXPECT_FALSE(cluster.policies.count("shop/deployment-web"));
}

TEST_F(ControllerTest, FailedWritesAreRetriedWithBackoff) {
  cluster.fail_next = 2;
  c->Upsert(Obj(Ns("shop")));
  c->Upsert(Obj(Deploy("shop", "web")));
  c->MarkSynced();
  c->DrainForTest();
  EXPECT_TRUE(cluster.policies.empty());
  EXPECT_EQ(c->queue().Failures(ReconcileKey::Policy("shop", "deployment-web")), 1);
  clock.Advance(std::chrono::milliseconds(5));
  c->DrainForTest();
  EXPECT_EQ(c->queue().Failures(ReconcileKey::Policy("shop", "deployment-web")), 2);
  clock.Advance(std::chrono::milliseconds(10));
  c->DrainForTest();
  EXPECT_TRUE(cluster.policies.count("shop/deployment-web"));
  EXPECT_EQ(c->queue().Failures(ReconcileKey::Policy("shop", "deployment-web")), 0);
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

// --- Issue 13, item 2: a failed read is never taken as "gone" ---------------

decode::Meta Unreadable(const std::string& kind, const std::string& ns, const std::string& name,
                        const std::string& uid) {
  decode::Meta m = FakeCluster::Meta(kind, ns, name);
  m.uid = uid;
  return m;
}

// The policies a previous run wrote for `workloads` (a restart's listing).
std::map<std::string, NetworkPolicy> PoliciesFor(const std::vector<Workload>& workloads) {
  FakeClock clock;
  FakeCluster cluster;
  RecordingObserver observer;
  Controller c(ControllerOptions{}, cluster, observer, clock);
  c.Upsert(Obj(Ns("shop")));
  for (const auto& w : workloads) c.Upsert(Obj(w));
  c.MarkSynced();
  c.DrainForTest();
  return cluster.policies;
}

TEST_F(ControllerTest, APolicyWhoseOwnerCannotBeReadIsKeptUntilTheOwnerIsKnownGone) {
  cluster.policies = PoliciesFor({Deploy("shop", "web")});
  ASSERT_TRUE(cluster.policies.count("shop/deployment-web"));
  const NetworkPolicy before = cluster.policies.at("shop/deployment-web");
  for (const auto& [k, p] : cluster.policies) c->Upsert(FakeCluster::AsObject(p));
  c->Upsert(Obj(Ns("shop")));
  // The Deployment is listed, but it does not decode.
  c->MarkUnknown(Unreadable("Deployment", "shop", "web", "uid-web"), "spec: expected an object");
  c->MarkSynced();
  Settle();
  ASSERT_TRUE(cluster.policies.count("shop/deployment-web")) << "deleted on a failed read";
  EXPECT_EQ(cluster.policies.at("shop/deployment-web"), before);
  EXPECT_GE(c->Stats().kept, 1u);
  EXPECT_EQ(c->Stats().unknown, 1u);
  EXPECT_EQ(c->Stats().deletes, 0u);

  // Now it is known to be gone: the policy goes.
  c->Remove(FakeCluster::Meta("Deployment", "shop", "web"));
  Settle();
  EXPECT_FALSE(cluster.policies.count("shop/deployment-web"));
  EXPECT_EQ(c->Stats().unknown, 0u);
}

TEST_F(ControllerTest, AnOwnerReadLaterIsJudgedAgain) {
  Workload ignored = Deploy("shop", "batch");
  cluster.policies = PoliciesFor({Deploy("shop", "web"), ignored});
  ASSERT_EQ(cluster.policies.size(), 2u);
  for (const auto& [k, p] : cluster.policies) c->Upsert(FakeCluster::AsObject(p));
  c->Upsert(Obj(Ns("shop")));
  c->MarkUnknown(Unreadable("Deployment", "shop", "web", "uid-web"), "GET failed: 503");
  c->MarkUnknown(Unreadable("Deployment", "shop", "batch", "uid-batch"), "GET failed: 503");
  c->MarkSynced();
  Settle();
  ASSERT_EQ(cluster.policies.size(), 2u);
  const int writes = cluster.writes;

  // web reads back as it was: nothing to write. batch reads back as no
  // longer managed: only now is its policy deleted.
  c->Upsert(Obj(Deploy("shop", "web")));
  ignored.annotations[std::string(kIgnoreAnnotation)] = "true";
  c->Upsert(Obj(ignored));
  Settle();
  EXPECT_TRUE(cluster.policies.count("shop/deployment-web"));
  EXPECT_FALSE(cluster.policies.count("shop/deployment-batch"));
  EXPECT_EQ(cluster.writes, writes + 1);  // the delete, nothing else
}

// An unreadable object controlled by the owner (a bare-looking ReplicaSet of
// the Deployment, here) keeps the owner's policy too; an unreadable object of
// the same name but another uid (a successor) does not.
TEST_F(ControllerTest, UnknownsCountByControllerAndByUid) {
  cluster.policies = PoliciesFor({Deploy("shop", "web"), Deploy("shop", "old")});
  for (const auto& [k, p] : cluster.policies) c->Upsert(FakeCluster::AsObject(p));
  c->Upsert(Obj(Ns("shop")));
  decode::Meta rs = Unreadable("ReplicaSet", "shop", "web-5d4f", "uid-rs");
  rs.controller = OwnerReference{"apps/v1", "Deployment", "web", "uid-web"};
  c->MarkUnknown(rs, "decode failed");
  c->MarkUnknown(Unreadable("Deployment", "shop", "old", "uid-successor"), "decode failed");
  c->MarkSynced();
  Settle();
  EXPECT_TRUE(cluster.policies.count("shop/deployment-web"));
  EXPECT_FALSE(cluster.policies.count("shop/deployment-old"));
}

// A bare pod not read yet (its GET failed) keeps its policy.
TEST_F(ControllerTest, ABarePodThatCannotBeReadKeepsItsPolicy) {
  Workload pod;
  pod.kind = WorkloadKind::kPod;
  pod.ns = "shop";
  pod.name = "debug";
  pod.uid = "uid-debug";
  pod.labels = {{"run", "debug"}};
  pod.template_labels = pod.labels;
  pod.pod_selector.match_labels = pod.labels;
  cluster.policies = PoliciesFor({pod});
  ASSERT_TRUE(cluster.policies.count("shop/pod-debug"));
  for (const auto& [k, p] : cluster.policies) c->Upsert(FakeCluster::AsObject(p));
  c->Upsert(Obj(Ns("shop")));
  c->MarkUnknown(Unreadable("Pod", "shop", "debug", "uid-debug"), "Forbidden (403)");
  c->MarkSynced();
  Settle();
  EXPECT_TRUE(cluster.policies.count("shop/pod-debug"));
  c->Upsert(Obj(pod));  // read at last
  Settle();
  EXPECT_TRUE(cluster.policies.count("shop/pod-debug"));
  EXPECT_EQ(c->Stats().unknown, 0u);
}

// --- Issue 13, item 1: the periodic resync ------------------------------------

TEST_F(ControllerTest, AResyncOfAConsistentControllerFindsNoDifferenceAndWritesNothing) {
  c->Upsert(Obj(Ns("shop")));
  c->Upsert(Obj(Deploy("shop", "web", "http://api:80")));
  c->Upsert(Obj(Deploy("shop", "api")));
  c->Upsert(Obj(Svc("shop", "api", "api")));
  c->MarkSynced();
  Settle();
  c->Upsert(Obj(Svc("shop", "api", "web")));  // a change, pending at the resync
  const int writes = cluster.writes;
  c->Resync();
  c->DrainForTest();
  EXPECT_EQ(c->Stats().resyncs, 1u);
  EXPECT_EQ(c->Stats().resync_differences, 0u);
  EXPECT_GT(cluster.writes, writes);  // the pending change was written, as always
  const int after = cluster.writes;
  c->Resync();
  c->DrainForTest();
  EXPECT_EQ(c->Stats().resync_differences, 0u);
  EXPECT_EQ(cluster.writes, after);
}

// Holds the first recompute between computing its batch and publishing it
// (OnRecompute is told in between), to let a later change overtake it.
class GateObserver : public RecordingObserver {
 public:
  void OnRecompute(const synth::Result&, const std::vector<MadePolicy>&, const Totals&,
                   Clock::Duration) override {
    std::unique_lock<std::mutex> lock(gate_mu_);
    const int n = ++recomputes_;
    gate_cv_.notify_all();
    if (n == 1) gate_cv_.wait(lock, [&] { return released_; });
  }
  // True once `n` recomputes have been reported within `timeout`.
  bool WaitForRecomputes(int n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(gate_mu_);
    return gate_cv_.wait_for(lock, timeout, [&] { return recomputes_ >= n; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(gate_mu_);
    released_ = true;
    gate_cv_.notify_all();
  }

 private:
  std::mutex gate_mu_;
  std::condition_variable gate_cv_;
  int recomputes_ = 0;
  bool released_ = false;
};

// Issue 13, item 1: the first (full) recompute and the recompute of a change
// made meanwhile must not publish out of order, or the older, larger batch
// brings back the desired policy of a workload deleted in between: its policy
// (here, written before a restart) is then never deleted.
TEST(ControllerStartupTest, AWorkloadDeletedDuringTheFirstRecomputeLosesItsPolicy) {
  FakeClock clock;
  FakeCluster cluster;
  auto objects = [](Controller& c) {
    c.Upsert(Obj(Ns("shop")));
    c.Upsert(Obj(Deploy("shop", "web")));
    c.Upsert(Obj(Deploy("shop", "gone")));
  };
  {  // The controller that ran before: both policies are in the cluster.
    RecordingObserver observer;
    Controller before(ControllerOptions{}, cluster, observer, clock);
    objects(before);
    before.MarkSynced();
    before.DrainForTest();
  }
  ASSERT_TRUE(cluster.Find("shop/deployment-gone").has_value());

  GateObserver observer;
  Controller c(ControllerOptions{}, cluster, observer, clock);
  objects(c);
  for (const auto& [k, p] : cluster.policies) c.Upsert(FakeCluster::AsObject(p));
  cluster.controller = &c;
  c.Start();
  std::thread synced([&] { c.MarkSynced(); });
  ASSERT_TRUE(observer.WaitForRecomputes(1, std::chrono::seconds(10)));
  // The first batch (web and gone) is computed, not yet published.
  c.Remove(FakeCluster::Meta("Deployment", "shop", "gone"));
  // Give the change's recompute a bounded while to publish: before the fix
  // it overtakes the first one; with one owner it waits its turn.
  for (int i = 0; i < 100 && c.Stats().recomputes == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  observer.Release();
  synced.join();
  auto settled = [&] {
    auto q = c.queue().Stats();
    return !cluster.Find("shop/deployment-gone").has_value() && q.depth == 0 && q.processing == 0 &&
           q.delayed == 0;
  };
  for (int i = 0; i < 300 && !settled(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  c.Stop();
  cluster.controller = nullptr;
  EXPECT_TRUE(cluster.Find("shop/deployment-web").has_value());
  EXPECT_FALSE(cluster.Find("shop/deployment-gone").has_value())
      << "the policy of a workload deleted during the first recompute was kept";
  EXPECT_EQ(c.Stats().desired, 1u);
}

// Rule 8: a NetworkPolicy with the name a workload wants that netpol-ctrl
// does not manage is never written nor deleted; the workload waits, the
// conflict is reported, and the policy is written once the name is free.
decode::Meta PolicyMeta(std::string ns, std::string name, bool ours) {
  decode::Meta m = FakeCluster::Meta("NetworkPolicy", std::move(ns), std::move(name));
  if (ours) m.labels[std::string(kManagedByLabel)] = std::string(kManagedByValue);
  return m;
}

size_t Count(RecordingObserver& o, const std::string& prefix) {
  std::lock_guard<std::mutex> lock(o.mu);
  size_t n = 0;
  for (const auto& l : o.log) n += l.rfind(prefix, 0) == 0;
  return n;
}

TEST_F(ControllerTest, NeverTakesOverAPolicyItDoesNotManage) {
  cluster.foreign.insert("shop/deployment-web");
  c->ObservePolicyName(PolicyMeta("shop", "deployment-web", /*ours=*/false), true);
  c->ObservePolicyName(PolicyMeta("shop", "other", /*ours=*/true), true);  // ours: no conflict
  c->Upsert(Obj(Ns("shop")));
  c->Upsert(Obj(Deploy("shop", "web", "http://api:80")));
  c->Upsert(Obj(Deploy("shop", "api")));
  c->Upsert(Obj(Svc("shop", "api", "api")));
  c->MarkSynced();
  Settle();
  EXPECT_EQ(cluster.policies.count("shop/deployment-web"), 0u);  // not written
  EXPECT_EQ(cluster.policies.count("shop/deployment-api"), 1u);  // the others are
  EXPECT_GE(Count(observer, "conflict shop/deployment-web for Deployment/web"), 1u);
  EXPECT_GE(c->Stats().conflicts, 1u);
  EXPECT_EQ(c->Stats().foreign, 1u);
  EXPECT_EQ(c->Stats().errors, 0u);

  // The user deletes their policy: ours is created at once.
  cluster.foreign.erase("shop/deployment-web");
  c->ObservePolicyName(PolicyMeta("shop", "deployment-web", false), false);
  Settle();
  ASSERT_EQ(cluster.policies.count("shop/deployment-web"), 1u);
  EXPECT_TRUE(EgressMentions(cluster.policies.at("shop/deployment-web"), "api"));
  EXPECT_EQ(c->Stats().foreign, 0u);
}

TEST_F(ControllerTest, ACreateThatMeetsAPolicyTheWatchHasNotShownIsAConflictNotATakeOver) {
  c->Upsert(Obj(Ns("shop")));
  c->Upsert(Obj(Deploy("shop", "web")));
  cluster.foreign.insert("shop/deployment-web");  // created by a user; not watched yet
  c->MarkSynced();
  Settle();
  EXPECT_EQ(cluster.policies.count("shop/deployment-web"), 0u);
  EXPECT_GE(Count(observer, "conflict shop/deployment-web"), 1u);
  EXPECT_GE(c->Stats().errors, 1u);  // retried later, with backoff

  // The watch catches up: the conflict is reported without writing.
  c->ObservePolicyName(PolicyMeta("shop", "deployment-web", false), true);
  const int writes = cluster.writes;
  clock.Advance(std::chrono::hours(1));
  Settle();
  EXPECT_EQ(cluster.writes, writes);
  EXPECT_EQ(cluster.policies.count("shop/deployment-web"), 0u);

  // Labelled as ours by the user (handed over): from then on it is written.
  cluster.foreign.erase("shop/deployment-web");
  c->ObservePolicyName(PolicyMeta("shop", "deployment-web", true), true);
  Settle();
  EXPECT_EQ(cluster.policies.count("shop/deployment-web"), 1u);
}

// The one watch over every NetworkPolicy (UpsertPolicy and friends): ours
// are told by their label. A policy whose label the user removes is theirs
// from then on: reported as a conflict, never written again nor deleted;
// labelled again, it is ours. Someone else's policy never enters the cache:
// the controller neither deletes it as an orphan nor compares it with its own.
decode::Object PolicyObj(const NetworkPolicy& p, bool ours) {
  decode::Object o = FakeCluster::AsObject(p, /*generation=*/1);
  o.meta = PolicyMeta(p.ns, p.name, ours);
  o.meta.generation = 1;
  return o;
}

TEST_F(ControllerTest, TheWatchOverEveryPolicyTellsOursByTheLabel) {
  cluster.echo = false;  // the watch below says what the cluster holds
  c->Upsert(Obj(Ns("shop")));
  c->Upsert(Obj(Deploy("shop", "web")));
  NetworkPolicy theirs;
  theirs.ns = "shop";
  theirs.name = "allow-all";
  cluster.foreign.insert("shop/allow-all");
  c->UpsertPolicy(PolicyObj(theirs, /*ours=*/false));
  c->MarkSynced();
  Settle();
  ASSERT_EQ(cluster.policies.count("shop/deployment-web"), 1u);
  const NetworkPolicy ours = cluster.policies.at("shop/deployment-web");
  c->UpsertPolicy(PolicyObj(ours, /*ours=*/true));  // our write comes back
  Settle();
  EXPECT_EQ(c->Stats().foreign, 1u);  // allow-all
  EXPECT_EQ(c->Stats().conflicts, 0u);
  int writes = cluster.writes;

  // The user takes it over by removing the label (and edits it).
  NetworkPolicy edited = ours;
  edited.egress.clear();
  cluster.policies["shop/deployment-web"] = edited;
  cluster.foreign.insert("shop/deployment-web");
  c->UpsertPolicy(PolicyObj(edited, /*ours=*/false));
  Settle();
  EXPECT_EQ(cluster.writes, writes) << "a policy handed to the user was written or deleted";
  EXPECT_EQ(c->Stats().foreign, 2u);
  EXPECT_GE(Count(observer, "conflict shop/deployment-web for Deployment/web"), 1u);

  // A policy that cannot be decoded is not ours to write either.
  c->MarkPolicyUnknown(FakeCluster::Meta("NetworkPolicy", "shop", "broken"), "bad field");
  EXPECT_EQ(c->Stats().foreign, 3u);

  // Labelled again: ours, and put back as the workload needs it.
  cluster.foreign.erase("shop/deployment-web");
  c->UpsertPolicy(PolicyObj(edited, /*ours=*/true));
  Settle();
  EXPECT_EQ(cluster.writes, writes + 1);
  EXPECT_EQ(PolicySpecFingerprint(cluster.policies.at("shop/deployment-web")),
            PolicySpecFingerprint(ours));
  EXPECT_EQ(c->Stats().foreign, 2u);
  writes = cluster.writes;

  // Deleted by the user: gone from the names, and ours is made again.
  cluster.policies.erase("shop/deployment-web");
  c->RemovePolicy(PolicyMeta("shop", "deployment-web", true));
  c->RemovePolicy(PolicyMeta("shop", "allow-all", false));
  Settle();
  EXPECT_EQ(cluster.writes, writes + 1);
  EXPECT_EQ(cluster.policies.count("shop/deployment-web"), 1u);
  EXPECT_EQ(c->Stats().foreign, 1u);  // broken
  EXPECT_EQ(c->Stats().errors, 0u);
}

// --observed-flows=allow through the controller's incremental path: the
// observed edge opens both policies, judging them says nothing is denied any
// more, the resync agrees, and removing the object (or its TTL, upstream in
// WouldDenyReporter) closes them again.
decode::Object ObservedObj(std::vector<ObservedFlow> flows) {
  decode::Object o;
  o.meta = FakeCluster::Meta("ObservedFlows", "shop", "deployment-web");
  o.value =
      decode::ObservedFlowsValue{{"apps/v1", "Deployment", "web", "uid-web"}, std::move(flows)};
  return o;
}

ObservedFlow WebToApi(int port) {
  ObservedFlow f;
  f.client = {WorkloadKind::kDeployment, "shop", "web"};
  f.server = WorkloadKey{WorkloadKind::kDeployment, "shop", "api"};
  f.port = port;
  f.count = 4;
  f.first_seen = 100;
  f.last_seen = 200;
  return f;
}

bool IngressFromApp(const NetworkPolicy& p, const std::string& app, int port) {
  for (const auto& r : p.ingress) {
    bool peer = false;
    for (const auto& pp : r.peers) {
      peer = peer || (pp.pod_selector && pp.pod_selector->match_labels.count("app") &&
                      pp.pod_selector->match_labels.at("app") == app);
    }
    for (const auto& port_ : r.ports) {
      if (peer && port_.port.num == port) return true;
    }
  }
  return false;
}

TEST_F(ControllerTest, ObservedFlowsAllowOpensBothSidesIncrementally) {
  ControllerOptions o;
  o.synthesis.observed_flows = ObservedFlowsMode::kAllow;
  c = std::make_unique<Controller>(o, cluster, observer, clock);
  cluster.controller = c.get();
  c->Upsert(Obj(Ns("shop")));
  c->Upsert(Obj(Deploy("shop", "web")));
  c->Upsert(Obj(Deploy("shop", "api")));
  c->MarkSynced();
  Settle();
  ASSERT_FALSE(EgressMentions(cluster.policies.at("shop/deployment-web"), "api"));
  EXPECT_EQ(c->JudgeObserved({WebToApi(8080)}).size(), 1u);

  c->Upsert(ObservedObj({WebToApi(8080)}));  // after the first computation: a batch
  Settle();
  EXPECT_TRUE(EgressMentions(cluster.policies.at("shop/deployment-web"), "api"));
  EXPECT_TRUE(IngressFromApp(cluster.policies.at("shop/deployment-api"), "web", 8080));
  EXPECT_TRUE(c->JudgeObserved({WebToApi(8080)}).empty());
  EXPECT_EQ(c->JudgeObserved({WebToApi(9090)}).size(), 1u);  // only the observed port
  c->Resync();
  Settle();
  EXPECT_EQ(c->Stats().resync_differences, 0u);

  c->Remove(FakeCluster::Meta("ObservedFlows", "shop", "deployment-web"));
  Settle();
  EXPECT_FALSE(EgressMentions(cluster.policies.at("shop/deployment-web"), "api"));
  EXPECT_FALSE(IngressFromApp(cluster.policies.at("shop/deployment-api"), "web", 8080));
}

TEST_F(ControllerTest, ObservedFlowsReportChangesNoPolicy) {
  c->Upsert(Obj(Ns("shop")));
  c->Upsert(Obj(Deploy("shop", "web")));
  c->Upsert(Obj(Deploy("shop", "api")));
  c->MarkSynced();
  Settle();
  const auto writes = cluster.writes;
  c->Upsert(ObservedObj({WebToApi(8080)}));
  Settle();
  EXPECT_EQ(cluster.writes, writes);
  EXPECT_FALSE(EgressMentions(cluster.policies.at("shop/deployment-web"), "api"));
  ASSERT_EQ(c->JudgeObserved({WebToApi(8080)}).size(), 1u);
}

}  // namespace
}  // namespace npc::controller
