#include "model/model.h"

#include <gtest/gtest.h>

namespace npc {
namespace {

TEST(SelectorTest, MatchLabelsAndExpressionsAreAnded) {
  LabelSelector s;
  s.match_labels = {{"app", "web"}};
  s.match_expressions = {{"tier", "In", {"a", "b"}}, {"canary", "DoesNotExist", {}}};
  EXPECT_TRUE(Matches(s, {{"app", "web"}, {"tier", "a"}}));
  EXPECT_FALSE(Matches(s, {{"app", "web"}, {"tier", "c"}}));
  EXPECT_FALSE(Matches(s, {{"app", "web"}, {"tier", "a"}, {"canary", "1"}}));
  EXPECT_FALSE(Matches(s, {{"tier", "a"}}));
  EXPECT_TRUE(Matches(LabelSelector{}, {}));
}

TEST(SelectorTest, NotInAndExists) {
  LabelSelector s;
  s.match_expressions = {{"env", "NotIn", {"prod"}}, {"app", "Exists", {}}};
  EXPECT_TRUE(Matches(s, {{"app", "x"}}));
  EXPECT_TRUE(Matches(s, {{"app", "x"}, {"env", "dev"}}));
  EXPECT_FALSE(Matches(s, {{"app", "x"}, {"env", "prod"}}));
  EXPECT_FALSE(Matches(s, {{"env", "dev"}}));
}

TEST(KindTest, RoundTrip) {
  for (auto k : {WorkloadKind::kDeployment, WorkloadKind::kCronJob, WorkloadKind::kPod}) {
    EXPECT_EQ(ParseKind(KindName(k)), k);
  }
  EXPECT_FALSE(ParseKind("Service").has_value());
  EXPECT_EQ(KindApiVersion(WorkloadKind::kCronJob), "batch/v1");
  EXPECT_EQ((WorkloadKey{WorkloadKind::kJob, "a", "b"}.ToString()), "Job/a/b");
}

TEST(PolicySpecFingerprintTest, EqualSpecsAlikeAnyDifferenceApart) {
  NetworkPolicy base;
  base.ns = "shop";
  base.name = "deployment-web";
  base.pod_selector.match_labels = {{"app", "web"}};
  PolicyPeer own;
  own.pod_selector = LabelSelector{{{"app", "web"}}, {}};
  PolicyPeer db;
  db.namespace_selector = LabelSelector{{{"kubernetes.io/metadata.name", "data"}}, {}};
  db.pod_selector = LabelSelector{{{"app", "db"}}, {}};
  PolicyPort p5432;
  p5432.port.num = 5432;
  base.ingress.push_back(PolicyRule{{own}, {}});
  base.egress.push_back(PolicyRule{{own}, {}});
  base.egress.push_back(PolicyRule{{db}, {p5432}});
  const uint64_t f = PolicySpecFingerprint(base);

  NetworkPolicy same = base;
  same.name = "other";  // not spec
  same.labels["x"] = "y";
  EXPECT_EQ(PolicySpecFingerprint(same), f);

  std::vector<NetworkPolicy> different(9, base);
  different[0].egress[1].ports[0].port.num = 5433;
  different[1].egress[1].ports[0].protocol = "UDP";
  different[2].egress[1].peers[0].pod_selector->match_labels["app"] = "dbx";
  different[3].egress[1].peers[0].namespace_selector.reset();
  std::swap(different[4].egress[0], different[4].egress[1]);
  different[5].ingress.push_back(different[5].egress[1]);  // the same rule, other direction
  different[5].egress.pop_back();
  different[6].policy_types = {"Ingress"};
  different[7].egress[1].ports[0].port = IntOrString{std::nullopt, "postgres"};
  different[8].pod_selector.match_expressions.push_back({"tier", "In", {"a"}});
  for (size_t i = 0; i < different.size(); ++i) {
    EXPECT_NE(PolicySpecFingerprint(different[i]), f) << "variant " << i;
  }
}

// model/shared.h: values compare as values, a copy shares, changing one
// never changes the other.
TEST(SharedTest, ComparesByValueAndNeverChangesWhatIsShared) {
  Shared<Labels> a{{"app", "web"}};
  Shared<Labels> b = Labels{{"app", "web"}};
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a.SharesWith(b));
  b.ShareWith(a);
  EXPECT_TRUE(a.SharesWith(b));
  b.Edit()["role"] = "db";
  EXPECT_EQ(a.get(), (Labels{{"app", "web"}}));
  EXPECT_EQ(b.get(), (Labels{{"app", "web"}, {"role", "db"}}));
  EXPECT_NE(a, b);
  EXPECT_LT(a, b);
  EXPECT_TRUE(Shared<Labels>().empty());

  SharedOptional<OwnerReference> none;
  SharedOptional<OwnerReference> rs = OwnerReference{"apps/v1", "ReplicaSet", "web-1", "u1"};
  EXPECT_FALSE(none);
  EXPECT_NE(none, rs);
  EXPECT_EQ(none, SharedOptional<OwnerReference>(std::nullopt));
  EXPECT_EQ(rs, SharedOptional<OwnerReference>(std::optional<OwnerReference>(*rs)));
  EXPECT_EQ(rs->name, "web-1");
  EXPECT_EQ(rs.optional(), (std::optional<OwnerReference>(*rs)));
}

}  // namespace
}  // namespace npc
