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

}  // namespace
}  // namespace npc
