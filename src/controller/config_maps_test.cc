// ConfigMaps on demand (issue 13 item 5): the cache holds the data of the
// ConfigMaps some workload reads, and only the names of the others; a
// workload that starts reading one gets its data through a fetch, never a
// read inside a reconcile.
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <set>

#include "controller/cache.h"
#include "controller/controller.h"

namespace npc::controller {
namespace {

decode::Object Obj(std::string kind, std::string ns, std::string name, auto value) {
  decode::Object o;
  o.meta.kind = std::move(kind);
  o.meta.ns = std::move(ns);
  o.meta.name = std::move(name);
  o.value = std::move(value);
  return o;
}

decode::Object Cm(const std::string& ns, const std::string& name, std::string value) {
  return Obj("ConfigMap", ns, name, ConfigMap{ns, name, {{"target", std::move(value)}}});
}

// A Deployment whose env TARGET comes from ConfigMap `cm` (key "target").
decode::Object Reader(const std::string& ns, const std::string& name, const std::string& cm) {
  Workload w;
  w.kind = WorkloadKind::kDeployment;
  w.ns = ns;
  w.name = name;
  w.uid = "uid-" + name;
  w.pod_selector.match_labels = {{"app", name}};
  w.template_labels = {{"app", name}};
  Container c;
  c.name = "main";
  c.ports = {{"http", 8080, "TCP"}};
  if (!cm.empty()) c.env.push_back({"TARGET", std::nullopt, cm, "target"});
  w.containers.push_back(c);
  return Obj("Deployment", ns, name, std::move(w));
}

decode::Object Svc(const std::string& ns, const std::string& name) {
  Service s;
  s.ns = ns;
  s.name = name;
  s.selector = Labels{{"app", name}};
  ServicePort p;
  p.name = "http";
  p.port = 80;
  p.target_port.num = 8080;
  s.ports.push_back(p);
  return Obj("Service", ns, name, std::move(s));
}

decode::Object Ns(const std::string& name) {
  return Obj("Namespace", "", name,
             Namespace{name, {{std::string(kNamespaceNameLabel), name}}, {}});
}

bool EgressTo(const std::optional<NetworkPolicy>& p, const std::string& app) {
  if (!p) return false;
  for (const auto& r : p->egress) {
    for (const auto& peer : r.peers) {
      if (peer.pod_selector && peer.pod_selector->match_labels.count("app") &&
          peer.pod_selector->match_labels.at("app") == app) {
        return true;
      }
    }
  }
  return false;
}

using FetchList = std::vector<std::pair<std::string, std::string>>;

class ConfigMapCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cache.DropUnreadConfigMaps();
    (void)cache.Upsert(Ns("shop"));
    (void)cache.Upsert(Svc("shop", "db"));
    (void)cache.Upsert(Svc("shop", "api"));
    (void)cache.Upsert(Reader("shop", "db", ""));
    (void)cache.Upsert(Reader("shop", "api", ""));
  }
  std::optional<NetworkPolicy> Web() {
    return cache.Policy({WorkloadKind::kDeployment, "shop", "web"});
  }
  ClusterCache cache{SynthesisConfig::Defaults()};
};

TEST_F(ConfigMapCacheTest, AnUnreadConfigMapIsHeldAsANameAndFetchedWhenAWorkloadReadsIt) {
  ClusterCache::Effect e = cache.Upsert(Cm("shop", "web-config", "http://db:80"));
  EXPECT_FALSE(e.model_changed);  // nobody reads it: synthesis never sees it
  EXPECT_TRUE(e.fetch.empty());

  // A workload starts reading it: the data is not in the cache, so the
  // policy cannot name db yet, and the effect asks for a fetch (once).
  e = cache.Upsert(Reader("shop", "web", "web-config"));
  EXPECT_EQ(e.fetch, (FetchList{{"shop", "web-config"}}));
  EXPECT_FALSE(EgressTo(Web(), "db"));
  EXPECT_TRUE(cache.Upsert(Reader("shop", "web", "web-config")).fetch.empty());

  e = cache.UpsertFetched(Cm("shop", "web-config", "http://db:80"));
  EXPECT_TRUE(e.model_changed);
  EXPECT_TRUE(EgressTo(Web(), "db"));

  // Read now: later changes keep their data.
  e = cache.Upsert(Cm("shop", "web-config", "http://api:80"));
  EXPECT_TRUE(e.model_changed);
  EXPECT_TRUE(EgressTo(Web(), "api"));
  EXPECT_FALSE(EgressTo(Web(), "db"));
}

TEST_F(ConfigMapCacheTest, TheDataOfAConfigMapNobodyReadsAnyMoreIsDroppedOnItsNextChange) {
  (void)cache.Upsert(Reader("shop", "web", "web-config"));
  (void)cache.Upsert(Cm("shop", "web-config", "http://db:80"));
  ASSERT_TRUE(EgressTo(Web(), "db"));
  (void)cache.Upsert(Reader("shop", "web", ""));
  (void)cache.Upsert(Cm("shop", "web-config", "http://api:80"));  // dropped
  // Read again: the cache no longer has the data and asks for it.
  ClusterCache::Effect e = cache.Upsert(Reader("shop", "web", "web-config"));
  EXPECT_EQ(e.fetch, (FetchList{{"shop", "web-config"}}));
  EXPECT_FALSE(EgressTo(Web(), "api"));
  (void)cache.UpsertFetched(Cm("shop", "web-config", "http://api:80"));
  EXPECT_TRUE(EgressTo(Web(), "api"));
}

TEST_F(ConfigMapCacheTest, AFetchOlderThanTheWatchIsIgnored) {
  (void)cache.Upsert(Cm("shop", "web-config", "http://db:80"));
  ASSERT_EQ(cache.Upsert(Reader("shop", "web", "web-config")).fetch.size(), 1u);
  // The watch brings a change before the fetch returns the older state.
  (void)cache.Upsert(Cm("shop", "web-config", "http://api:80"));
  EXPECT_FALSE(cache.UpsertFetched(Cm("shop", "web-config", "http://db:80")).model_changed);
  EXPECT_TRUE(EgressTo(Web(), "api"));
  EXPECT_FALSE(EgressTo(Web(), "db"));
}

TEST_F(ConfigMapCacheTest, SyncWaitsForTheFetches) {
  (void)cache.Upsert(Cm("shop", "web-config", "http://db:80"));
  ASSERT_EQ(cache.Upsert(Reader("shop", "web", "web-config")).fetch.size(), 1u);
  EXPECT_FALSE(cache.RequestSynced());
  EXPECT_TRUE(cache.UpsertFetched(Cm("shop", "web-config", "http://db:80")).synced_now);
}

TEST_F(ConfigMapCacheTest, ADeletedConfigMapIsNotWaitedFor) {
  (void)cache.Upsert(Cm("shop", "web-config", "http://db:80"));
  ASSERT_EQ(cache.Upsert(Reader("shop", "web", "web-config")).fetch.size(), 1u);
  EXPECT_FALSE(cache.RequestSynced());
  decode::Meta m;
  m.kind = "ConfigMap";
  m.ns = "shop";
  m.name = "web-config";
  EXPECT_TRUE(cache.Remove(m).synced_now);
  // Created again later: the watch brings it, and it is read.
  EXPECT_TRUE(cache.Upsert(Cm("shop", "web-config", "http://db:80")).model_changed);
  EXPECT_TRUE(EgressTo(Web(), "db"));
}

TEST(ConfigMapCacheDefaultTest, WithoutAFetcherEveryConfigMapIsKept) {
  ClusterCache cache{SynthesisConfig::Defaults()};
  (void)cache.Upsert(Ns("shop"));
  (void)cache.Upsert(Svc("shop", "db"));
  (void)cache.Upsert(Reader("shop", "db", ""));
  (void)cache.Upsert(Cm("shop", "web-config", "http://db:80"));
  ClusterCache::Effect e = cache.Upsert(Reader("shop", "web", "web-config"));
  EXPECT_TRUE(e.fetch.empty());
  EXPECT_TRUE(EgressTo(cache.Policy({WorkloadKind::kDeployment, "shop", "web"}), "db"));
  EXPECT_TRUE(cache.RequestSynced());
}

// The controller with a fetcher: it asks, and computes nothing before the
// answers of the start-up are in.
class ListFetcher : public ConfigMapFetcher {
 public:
  void Fetch(const std::string& ns, const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu);
    asked.emplace_back(ns, name);
  }
  std::mutex mu;
  FetchList asked;
};

class NullWriter : public PolicyWriter {
 public:
  StatusOr<int64_t> Apply(const NetworkPolicy& p) override {
    written[p.ns + "/" + p.name] = p;
    return int64_t{0};
  }
  Status Delete(const std::string&, const std::string&) override { return Status::Ok(); }
  Status LabelPod(const std::string&, const std::string&, const std::string&,
                  const std::string&) override {
    return Status::Ok();
  }
  std::map<std::string, NetworkPolicy> written;
};

TEST(ConfigMapControllerTest, FetchesWhatAWorkloadReadsAndWaitsForItAtStart) {
  NullWriter writer;
  Observer observer;
  FakeClock clock;
  Controller c({}, writer, observer, clock);
  ListFetcher fetcher;
  c.SetConfigMapFetcher(&fetcher);
  c.Upsert(Ns("shop"));
  c.Upsert(Svc("shop", "db"));
  c.Upsert(Reader("shop", "db", ""));
  for (int i = 0; i < 20; ++i) c.Upsert(Cm("shop", "unread-" + std::to_string(i), "x"));
  c.Upsert(Cm("shop", "web-config", "http://db:80"));
  c.Upsert(Reader("shop", "web", "web-config"));
  EXPECT_EQ(fetcher.asked, (FetchList{{"shop", "web-config"}}));
  c.MarkSynced();
  c.DrainForTest();
  EXPECT_TRUE(writer.written.empty());  // not before the ConfigMap is in

  c.UpsertFetched(Cm("shop", "web-config", "http://db:80"));
  c.DrainForTest();
  ASSERT_TRUE(writer.written.contains("shop/deployment-web"));
  EXPECT_TRUE(EgressTo(writer.written.at("shop/deployment-web"), "db"));
}

}  // namespace
}  // namespace npc::controller
