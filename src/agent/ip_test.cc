#include "agent/ip.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <unordered_set>

namespace npc::agent {
namespace {

TEST(IpAddrTest, ParsesFormatsAndCompares) {
  auto v4 = IpAddr::Parse("198.18.0.7");
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(v4->family, AF_INET);
  EXPECT_EQ(v4->ToString(), "198.18.0.7");
  EXPECT_EQ(*v4, IpAddr::V4(inet_addr("198.18.0.7")));
  auto v6 = IpAddr::Parse("2001:db8::1");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->family, AF_INET6);
  EXPECT_EQ(v6->ToString(), "2001:db8::1");
  EXPECT_NE(*v4, *v6);
  EXPECT_FALSE(IpAddr::Parse("").has_value());
  EXPECT_FALSE(IpAddr::Parse("198.18.0").has_value());
  EXPECT_FALSE(IpAddr::Parse("web.shop").has_value());
  EXPECT_FALSE(IpAddr().valid());
  std::unordered_set<IpAddr, IpAddrHash> set{*v4, *v6, *IpAddr::Parse("198.18.0.7")};
  EXPECT_EQ(set.size(), 2u);
}

TEST(IpAddrTest, Loopback) {
  EXPECT_TRUE(IpAddr::Parse("127.0.0.1")->IsLoopback());
  EXPECT_TRUE(IpAddr::Parse("127.255.0.3")->IsLoopback());
  EXPECT_TRUE(IpAddr::Parse("::1")->IsLoopback());
  EXPECT_FALSE(IpAddr::Parse("198.18.128.1")->IsLoopback());
  EXPECT_FALSE(IpAddr::Parse("::2")->IsLoopback());
}

}  // namespace
}  // namespace npc::agent
