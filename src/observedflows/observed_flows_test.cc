#include "observedflows/observed_flows.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace npc::observedflows {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

WallTime T(int64_t s) {
  return WallTime(std::chrono::seconds(s));
}

NodeReport Report(const std::string& node, uint64_t db_count, int64_t first, int64_t last) {
  NodeReport n;
  n.node = node;
  n.observed_until = T(last) + 123456789ns;
  Flow db;
  db.server.type = PeerType::kWorkload;
  db.server.workload = {"apps/v1", "StatefulSet", "data", "db", ""};
  db.service = ServiceRef{"data", "db", 5432};
  db.port = 5432;
  db.count = db_count;
  db.first_seen = T(first);
  db.last_seen = T(last);
  n.flows.push_back(db);
  Flow ext;
  ext.server.type = PeerType::kExternal;
  ext.server.address = "203.0.113.5";
  ext.port = 443;
  ext.protocol = Protocol::kUDP;
  ext.count = 1;
  ext.first_seen = ext.last_seen = T(first);
  n.flows.push_back(ext);
  return n;
}

// The body the agent applies, read back as the controller will read it.
ObservedFlows RoundTrip(const WorkloadRef& client, const NodeReport& r) {
  json body = json::parse(ApplyJson(client, client.ns, r));
  body["metadata"]["resourceVersion"] = "7";  // what the server adds
  auto o = ParseObservedFlows(body.dump());
  EXPECT_TRUE(o.ok()) << o.status().ToString();
  return o.ok() ? *o : ObservedFlows{};
}

TEST(ObservedFlowsTest, ApplyBodyRoundTrips) {
  const WorkloadRef web{"apps/v1", "Deployment", "shop", "web", "uid-1"};
  const json body =
      json::parse(ApplyJson(web, "shop", Report("node-a", 4, 1750000000, 1750000060)));
  EXPECT_EQ(body["apiVersion"], "netpol-ctrl.io/v1alpha1");
  EXPECT_EQ(body["kind"], "ObservedFlows");
  EXPECT_EQ(body["metadata"]["name"], "deployment-web");
  EXPECT_EQ(body["metadata"]["namespace"], "shop");
  EXPECT_EQ(body["metadata"]["ownerReferences"][0]["uid"], "uid-1");
  EXPECT_FALSE(body["metadata"]["ownerReferences"][0].contains("controller"))
      << "not the controller of the object: the workload's own controllers are untouched";
  EXPECT_EQ(body["status"]["nodes"].size(), 1u);
  EXPECT_EQ(body["status"]["nodes"][0]["observedUntil"], "2025-06-15T15:07:40.123457Z")
      << "rounded up to the microsecond";
  EXPECT_EQ(body["status"]["nodes"][0]["flows"][0]["firstSeen"], "2025-06-15T15:06:40Z");
  EXPECT_FALSE(body["status"]["nodes"][0].contains("droppedConnections"));

  ObservedFlows o = RoundTrip(web, Report("node-a", 4, 1750000000, 1750000060));
  EXPECT_EQ(o.ns, "shop");
  EXPECT_EQ(o.name, "deployment-web");
  EXPECT_EQ(o.workload.kind, "Deployment");
  EXPECT_EQ(o.workload.uid, "uid-1");
  ASSERT_EQ(o.nodes.size(), 1u);
  const NodeReport& n = o.nodes[0];
  EXPECT_EQ(n.node, "node-a");
  EXPECT_EQ(n.observed_until, T(1750000060) + 123457us);
  ASSERT_EQ(n.flows.size(), 2u);
  EXPECT_EQ(n.flows[0].server.ToString(), "StatefulSet/data/db");
  EXPECT_EQ(n.flows[0].server.workload.api_version, "apps/v1");
  ASSERT_TRUE(n.flows[0].service.has_value());
  EXPECT_EQ(*n.flows[0].service, (ServiceRef{"data", "db", 5432}));
  EXPECT_EQ(n.flows[0].count, 4u);
  EXPECT_EQ(n.flows[0].first_seen, T(1750000000));
  EXPECT_EQ(n.flows[1].server.address, "203.0.113.5");
  EXPECT_EQ(n.flows[1].protocol, Protocol::kUDP);

  // A workload whose uid is unknown gets no ownerReference.
  const json no_uid = json::parse(ApplyJson({"v1", "Pod", "shop", "debug", ""}, "shop", {}));
  EXPECT_FALSE(no_uid["metadata"].contains("ownerReferences"));
  EXPECT_EQ(no_uid["metadata"]["name"], "pod-debug");
}

TEST(ObservedFlowsTest, MergeSumsNodes) {
  ObservedFlows o;
  o.ns = "shop";
  o.nodes.push_back(Report("node-b", 3, 1750000100, 1750000200));
  o.nodes.push_back(Report("node-a", 4, 1750000000, 1750000060));
  o.nodes[1].dropped_connections = 2;
  std::vector<MergedFlow> m = Merge(o);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].flow.server.ToString(), "StatefulSet/data/db");
  EXPECT_EQ(m[0].flow.count, 7u);
  EXPECT_EQ(m[0].flow.first_seen, T(1750000000));
  EXPECT_EQ(m[0].flow.last_seen, T(1750000200));
  EXPECT_EQ(m[0].nodes, (std::vector<std::string>{"node-a", "node-b"}));
  EXPECT_EQ(m[0].dropped_connections, 2u);
  EXPECT_EQ(m[1].flow.count, 2u);
}

TEST(ObservedFlowsTest, ParseErrorsNameTheField) {
  auto bad = [](const std::string& j) {
    auto o = ParseObservedFlows(j);
    return o.ok() ? std::string("ok") : o.status().message();
  };
  const std::string head =
      R"({"metadata":{"name":"deployment-web","namespace":"shop"},
          "spec":{"workload":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"}},)";
  EXPECT_EQ(bad(R"({"metadata":{"name":"x","namespace":"n"}})"),
            "ObservedFlows n/x: spec.workload: is missing");
  EXPECT_EQ(
      bad(head +
          R"("status":{"nodes":[{"node":"a","flows":[{"server":{"type":"Pod"},"port":1,"protocol":"TCP"}]}]}})"),
      "ObservedFlows shop/deployment-web: status.nodes[0].flows[0].server.type: expected "
      "Workload or External, got \"Pod\"");
  EXPECT_EQ(
      bad(head +
          R"("status":{"nodes":[{"node":"a","flows":[{"server":{"type":"External","address":"1.2.3.4"},"port":70000,"protocol":"TCP"}]}]}})"),
      "ObservedFlows shop/deployment-web: status.nodes[0].flows[0].port: out of range");
  EXPECT_EQ(bad(head + R"("status":{"nodes":[{"node":"a","observedUntil":"yesterday"}]}})"),
            "ObservedFlows shop/deployment-web: status.nodes[0].observedUntil: \"yesterday\" is "
            "not an RFC 3339 time");
  EXPECT_EQ(bad(head + R"("status":{"nodes":[{"flows":[]}]}})"),
            "ObservedFlows shop/deployment-web: status.nodes[0].node: is missing");
  EXPECT_EQ(bad(head + R"("status":{}})"), "ok");
  EXPECT_EQ(bad("[]"), "ObservedFlows: not a JSON object");
}

TEST(ObservedFlowsTest, Times) {
  EXPECT_EQ(FormatTime(T(1750000000)), "2025-06-15T15:06:40Z");
  EXPECT_EQ(FormatTime(T(1750000000) + 1ns, true), "2025-06-15T15:06:40.000001Z");
  EXPECT_EQ(FormatTime(T(1750000000), true), "2025-06-15T15:06:40.000000Z");
  EXPECT_EQ(*ParseTime("2025-06-15T15:06:40Z"), T(1750000000));
  EXPECT_EQ(*ParseTime("2025-06-15T17:06:40.5+02:00"), T(1750000000) + 500ms);
  EXPECT_EQ(*ParseTime("2025-06-15T15:06:40.000000001Z"), T(1750000000) + 1ns);
  EXPECT_FALSE(ParseTime("2025-06-15 14:40:00Z").ok());
  EXPECT_FALSE(ParseTime("2025-13-15T14:40:00Z").ok());
  EXPECT_FALSE(ParseTime("2025-06-15T14:40:00").ok());
  EXPECT_FALSE(ParseTime("2025-06-15T14:40:00.Z").ok());
}

TEST(ObservedFlowsTest, ObjectNamesFollowPolicyNames) {
  EXPECT_EQ(ObjectName("Deployment", "web"), "deployment-web");
  EXPECT_EQ(ObjectName("Pod", "debug"), "pod-debug");
  EXPECT_EQ(ObjectName("Rollout", "canary"), "rollout-canary");
  const std::string long_name(250, 'x');
  EXPECT_EQ(ObjectName("Deployment", long_name).size(), 253u);
  EXPECT_EQ(ObjectName("Rollout", long_name).size(), 253u);
  EXPECT_NE(ObjectName("Rollout", long_name), ObjectName("Rollout", long_name + "y"));
  EXPECT_EQ(ProtocolFromNumber(132), Protocol::kSCTP);
  EXPECT_FALSE(ProtocolFromNumber(1).has_value());
}

}  // namespace
}  // namespace npc::observedflows
