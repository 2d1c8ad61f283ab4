#include "leaderelection/kube_lease_lock.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

namespace npc::leaderelection {
namespace {

using Json = nlohmann::json;
using ::testing::HasSubstr;

TEST(FormatMicroTimeTest, UtcWithMicroseconds) {
  // 2006-01-02T15:04:05Z = 1136214245
  auto t = std::chrono::system_clock::time_point(std::chrono::seconds(1136214245)) +
           std::chrono::microseconds(123456);
  EXPECT_EQ(FormatMicroTime(t), "2006-01-02T15:04:05.123456Z");
  EXPECT_EQ(FormatMicroTime(std::chrono::system_clock::time_point()),
            "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatMicroTime(std::chrono::system_clock::time_point() - std::chrono::microseconds(1)),
            "1969-12-31T23:59:59.999999Z");
}

TEST(LeaseJsonTest, WritesTheSpecAndLeavesOutUnsetFields) {
  LeaderElectionRecord r{"pod-a_1", 15, "2024-05-01T10:00:00.000000Z",
                         "2024-05-01T10:00:02.000000Z", 3};
  auto j = LeaseJson("ns", "lease", r, "");
  ASSERT_TRUE(j.ok());
  Json v = Json::parse(*j);
  EXPECT_EQ(v["apiVersion"], "coordination.k8s.io/v1");
  EXPECT_EQ(v["kind"], "Lease");
  EXPECT_EQ(v["metadata"]["name"], "lease");
  EXPECT_EQ(v["metadata"]["namespace"], "ns");
  EXPECT_FALSE(v["metadata"].contains("resourceVersion"));
  EXPECT_EQ(v["spec"], Json::parse(R"({"holderIdentity":"pod-a_1","leaseDurationSeconds":15,
      "acquireTime":"2024-05-01T10:00:00.000000Z","renewTime":"2024-05-01T10:00:02.000000Z",
      "leaseTransitions":3})"));

  auto released = LeaseJson("ns", "lease", LeaderElectionRecord{"", 1, "", "", 0}, "42");
  ASSERT_TRUE(released.ok());
  v = Json::parse(*released);
  EXPECT_EQ(v["metadata"]["resourceVersion"], "42");
  EXPECT_EQ(v["spec"], Json::parse(R"({"leaseDurationSeconds":1})"));
}

TEST(LeaseJsonTest, KeepsOtherFieldsOfTheBaseObject) {
  std::string base = R"({"apiVersion":"coordination.k8s.io/v1","kind":"Lease",
    "metadata":{"name":"lease","namespace":"ns","resourceVersion":"7","uid":"u1",
      "labels":{"team":"net"},"managedFields":[{"manager":"x"}]},
    "spec":{"holderIdentity":"old","leaseTransitions":9}})";
  auto j = LeaseJson("ns", "lease", LeaderElectionRecord{"new", 15, "", "", 10}, "8", base);
  ASSERT_TRUE(j.ok());
  Json v = Json::parse(*j);
  EXPECT_EQ(v["metadata"]["labels"]["team"], "net");
  EXPECT_EQ(v["metadata"]["uid"], "u1");
  EXPECT_EQ(v["metadata"]["resourceVersion"], "8");
  EXPECT_FALSE(v["metadata"].contains("managedFields"));
  EXPECT_EQ(v["spec"], Json::parse(R"({"holderIdentity":"new","leaseDurationSeconds":15,
      "leaseTransitions":10})"));
  EXPECT_FALSE(LeaseJson("ns", "lease", {}, "1", "[1]").ok());
}

TEST(ParseLeaseRecordTest, RoundTrips) {
  LeaderElectionRecord r{"pod-a_1", 15, "2024-05-01T10:00:00.000000Z",
                         "2024-05-01T10:00:02.000000Z", 3};
  auto j = LeaseJson("ns", "lease", r, "5");
  ASSERT_TRUE(j.ok());
  auto back = ParseLeaseRecord(*j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, r);
}

TEST(ParseLeaseRecordTest, AbsentSpecIsAnEmptyRecord) {
  auto r = ParseLeaseRecord(R"({"kind":"Lease","metadata":{"name":"x"}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, LeaderElectionRecord{});
  r = ParseLeaseRecord(R"({"spec":{"holderIdentity":null}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, LeaderElectionRecord{});
}

TEST(ParseLeaseRecordTest, RejectsWrongTypes) {
  auto r = ParseLeaseRecord(R"({"spec":{"leaseDurationSeconds":"15"}})");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("spec.leaseDurationSeconds"));
  r = ParseLeaseRecord(R"({"spec":{"holderIdentity":5}})");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("spec.holderIdentity"));
  EXPECT_FALSE(ParseLeaseRecord("not json").ok());
  EXPECT_FALSE(ParseLeaseRecord(R"({"spec":[]})").ok());
}

}  // namespace
}  // namespace npc::leaderelection
