// Unit tests of the prober's parts that need no root and no namespaces.
#include "dataplane/probe.h"

#include <gtest/gtest.h>

#include "dataplane/naming.h"

namespace npc::dataplane {
namespace {

TEST(DnsWireTest, QueryEncodesNameAndAnswerDecodesAddresses) {
  const std::string q = DnsQuery("api.shop.svc.cluster.local", 0x1234);
  ASSERT_GE(q.size(), 12u);
  EXPECT_EQ(static_cast<uint8_t>(q[0]), 0x12);
  EXPECT_EQ(static_cast<uint8_t>(q[1]), 0x34);
  EXPECT_NE(q.find(std::string("\x03" "api" "\x04" "shop" "\x03" "svc" "\x07" "cluster" "\x05" "local" "\x00", 28)),
            std::string::npos);
  // An answer: the query with QR set, one A record by a compression pointer.
  std::string a = q;
  a[2] = static_cast<char>(0x81);
  a[3] = static_cast<char>(0x80);
  a[7] = 1;  // ANCOUNT
  a += std::string("\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x05\x00\x04\xc6\x13\x00\x0a", 16);
  StatusOr<std::vector<std::string>> ips = DnsAnswerAddresses(a, 0x1234);
  ASSERT_TRUE(ips.ok()) << ips.status().ToString();
  EXPECT_EQ(*ips, std::vector<std::string>{"198.19.0.10"});
  EXPECT_FALSE(DnsAnswerAddresses(a, 0x9999).ok()) << "an answer to another query";
  a[3] = static_cast<char>(0x83);  // NXDOMAIN
  EXPECT_EQ(DnsAnswerAddresses(a, 0x1234).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(DnsAnswerAddresses(a.substr(0, 20), 0x1234).ok()) << "truncated";
}

// Nothing leaves 198.18.0.0/15: a probe elsewhere is refused before any
// socket exists (so this needs no namespace and no root).
TEST(ProbeSafetyTest, RefusesAddressesOutsideTheDataplane) {
  for (const char* ip : {"8.8.8.8", "10.0.0.1", "127.0.0.1", "198.20.0.1", "198.17.255.255"}) {
    std::vector<ProbeResult> r = ProbeAll({{"/proc/self/ns/net", ip, 53, "UDP", ""}});
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].outcome, Outcome::kError) << ip;
    EXPECT_NE(r[0].detail.find("outside 198.18.0.0/15"), std::string::npos) << ip << ": " << r[0].detail;
  }
}

TEST(NamingTest, NamesFromClusterDirectoryAndUid) {
  EXPECT_EQ(ClusterId("/tmp/npc-cluster.AbC123"), "AbC123");
  EXPECT_EQ(ClusterId("/tmp/npc-cluster.AbC123/"), "AbC123");
  EXPECT_EQ(ClusterId("/tmp/other"), "");
  EXPECT_EQ(PodNetns("AbC123", "1f2e3d4c-5b6a-4789-8abc-def012345678"), "npc-AbC123-1f2e3d4c5b");
  EXPECT_EQ(PodVeth("1f2e3d4c-5b6a-4789-8abc-def012345678"), "veth1f2e3d4c5b");
  EXPECT_LE(PodVeth("1f2e3d4c-5b6a-4789-8abc-def012345678").size(), 15u);
  EXPECT_EQ(NodeNetns("AbC123"), "npc-AbC123-node");
}

}  // namespace
}  // namespace npc::dataplane
