#include "synth/synth.h"

#include <gtest/gtest.h>

namespace npc::synth {
namespace {

TEST(PolicyNameTest, KindAndName) {
  EXPECT_EQ(PolicyName({WorkloadKind::kDeployment, "shop", "web"}), "deployment-web");
}

}  // namespace
}  // namespace npc::synth
