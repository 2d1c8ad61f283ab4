#include "informer/pod_thinner.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <variant>

namespace npc::informer {
namespace {

// Remembers what reached the next sink, by pod name.
class Recorder : public Sink {
 public:
  void OnUpsert(decode::Object o) override {
    upserts++;
    if (auto* p = std::get_if<Pod>(&o.value)) {
      pods[o.meta.name] = *p;
    } else {
      other[o.meta.name]++;
    }
  }
  void OnDelete(const decode::Meta& m) override {
    pods.erase(m.name);
    deleted++;
  }
  void OnUnknown(const decode::Meta&, const std::string&) override { unknown++; }
  std::map<std::string, Pod> pods;
  std::map<std::string, int> other;
  int upserts = 0, deleted = 0, unknown = 0;
};

decode::Object MakePod(const std::string& name, const std::string& api_version,
                       const std::string& kind, const std::string& owner,
                       const std::string& env = "db.data:5432") {
  decode::Object o;
  o.meta.kind = "Pod";
  o.meta.ns = "shop";
  o.meta.name = name;
  Pod p;
  p.ns = "shop";
  p.name = name;
  p.labels = {{"app", owner}};
  p.ip = "198.18.0.1";
  p.controller = OwnerReference{api_version, kind, owner, "uid-" + owner};
  Pod::Spec spec;
  Container c;
  c.name = "main";
  c.env.push_back({"DB", env, "", ""});
  spec.containers.push_back(c);
  p.spec = spec;
  o.meta.controller = p.controller.optional();
  o.value = std::move(p);
  return o;
}

TEST(PodThinnerTest, PodsOfKnownControllersKeepNoSpecButTheirAddressAndLabels) {
  Recorder next;
  PodThinner t(next);
  t.OnUpsert(MakePod("web-1", "apps/v1", "ReplicaSet", "web-abc"));
  t.OnUpsert(MakePod("db-0", "apps/v1", "StatefulSet", "db"));
  t.OnUpsert(MakePod("node-pod", "v1", "Node", "node-1"));
  ASSERT_EQ(next.pods.size(), 3u);
  for (const auto& [name, p] : next.pods) {
    EXPECT_FALSE(p.spec.has_value()) << name;
    EXPECT_EQ(p.ip, "198.18.0.1");
    EXPECT_FALSE(p.labels.empty());
  }
  EXPECT_EQ(t.owners(), 0u);
  EXPECT_EQ(t.custom_pods(), 0u);
}

TEST(PodThinnerTest, OnePodPerCustomOwnerKeepsTheSpecAndHandsItOnWhenItGoes) {
  Recorder next;
  PodThinner t(next);
  t.OnUpsert(MakePod("pg-1", "postgres.example.com/v1", "PostgresCluster", "pg"));
  t.OnUpsert(MakePod("pg-2", "postgres.example.com/v1", "PostgresCluster", "pg"));
  t.OnUpsert(MakePod("pg-0", "postgres.example.com/v1", "PostgresCluster", "pg"));
  t.OnUpsert(MakePod("other-0", "example.com/v1", "Thing", "other"));
  EXPECT_TRUE(next.pods.at("pg-1").spec.has_value());  // the first seen holds it
  EXPECT_FALSE(next.pods.at("pg-2").spec.has_value());
  EXPECT_FALSE(next.pods.at("pg-0").spec.has_value());
  EXPECT_TRUE(next.pods.at("other-0").spec.has_value());  // one per owner
  EXPECT_EQ(t.owners(), 2u);
  EXPECT_EQ(t.label_sets(), 2u);  // pg-* share theirs

  // The holder changes: its newer spec is kept.
  t.OnUpsert(MakePod("pg-1", "postgres.example.com/v1", "PostgresCluster", "pg", "db2.data:1"));
  ASSERT_TRUE(next.pods.at("pg-1").spec.has_value());
  EXPECT_EQ(next.pods.at("pg-1").spec->containers[0].env[0].value, "db2.data:1");

  // The holder goes: the first other pod by name is sent again with the spec.
  decode::Meta gone;
  gone.kind = "Pod";
  gone.ns = "shop";
  gone.name = "pg-1";
  t.OnDelete(gone);
  EXPECT_EQ(next.pods.count("pg-1"), 0u);
  ASSERT_TRUE(next.pods.at("pg-0").spec.has_value());
  EXPECT_EQ(next.pods.at("pg-0").spec->containers[0].env[0].value, "db2.data:1");
  EXPECT_EQ(next.pods.at("pg-0").ip, "198.18.0.1");
  EXPECT_FALSE(next.pods.at("pg-2").spec.has_value());

  // The last pods go (deleted by a re-list: name only): nothing is kept.
  for (const char* n : {"pg-0", "pg-2", "other-0"}) {
    decode::Meta m;
    m.kind = "Pod";
    m.ns = "shop";
    m.name = n;
    t.OnDelete(m);
  }
  EXPECT_EQ(t.owners(), 0u);
  EXPECT_EQ(t.custom_pods(), 0u);
  EXPECT_EQ(t.label_sets(), 0u);
  EXPECT_TRUE(next.pods.empty());
}

TEST(PodThinnerTest, BarePodsPassWhole) {
  Recorder next;
  PodThinner t(next);
  decode::Object o;
  o.meta.kind = "Pod";
  o.meta.ns = "shop";
  o.meta.name = "debug";
  Workload w;
  w.kind = WorkloadKind::kPod;
  w.ns = "shop";
  w.name = "debug";
  w.containers.push_back(Container{});
  o.value = w;
  t.OnUpsert(o);
  EXPECT_EQ(next.other["debug"], 1);
}

}  // namespace
}  // namespace npc::informer
