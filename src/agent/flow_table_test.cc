#include "agent/flow_table.h"

#include <gtest/gtest.h>

namespace npc::agent {
namespace {

using namespace std::chrono_literals;
using observedflows::Flow;

const WorkloadView kWeb{"apps/v1", "Deployment", "shop", "web", "uid-web"};
const WorkloadView kApi{"apps/v1", "Deployment", "shop", "api", "uid-api"};
const WorkloadView kDb{"apps/v1", "StatefulSet", "data", "db", ""};

ServerView ToWorkload(const WorkloadView& w, uint16_t port,
                      std::optional<ServiceHit> svc = std::nullopt) {
  ServerView s;
  s.type = PeerType::kWorkload;
  s.workload = w;
  s.port = port;
  s.service = svc;
  return s;
}

ServerView ToAddress(const char* ip, uint16_t port, Protocol p = Protocol::kTCP) {
  ServerView s;
  s.type = PeerType::kExternal;
  s.address = *IpAddr::Parse(ip);
  s.port = port;
  s.protocol = p;
  return s;
}

class FlowTableTest : public ::testing::Test {
 protected:
  WallTime wall_ = WallTime(std::chrono::seconds(1750000000));
  Clock::TimePoint now_ = Clock::TimePoint(std::chrono::hours(1));
};

TEST_F(FlowTableTest, AggregatesPerClientServerPortAndProtocol) {
  FlowTable t({});
  EXPECT_EQ(t.Add(kWeb, ToWorkload(kDb, 5432), wall_), FlowTable::AddResult::kNew);
  EXPECT_EQ(t.Add(kWeb, ToWorkload(kDb, 5432), wall_ + 5s), FlowTable::AddResult::kCounted);
  EXPECT_EQ(t.Add(kWeb, ToWorkload(kDb, 5433), wall_), FlowTable::AddResult::kNew);
  EXPECT_EQ(t.Add(kWeb, ToWorkload(kDb, 5432, ServiceHit{"data", "db", 5432}), wall_),
            FlowTable::AddResult::kNew)
      << "through the Service is a flow of its own";
  EXPECT_EQ(t.Add(kWeb, ToAddress("203.0.113.5", 443), wall_), FlowTable::AddResult::kNew);
  EXPECT_EQ(t.Add(kWeb, ToAddress("203.0.113.5", 443, Protocol::kUDP), wall_),
            FlowTable::AddResult::kNew);
  EXPECT_EQ(t.Add(kApi, ToWorkload(kDb, 5432), wall_), FlowTable::AddResult::kNew);
  EXPECT_EQ(t.flows(), 6u);
  EXPECT_EQ(t.clients(), 2u);

  auto due = t.TakeDue(now_, 60s, wall_ + 10s, "node-a");
  ASSERT_EQ(due.size(), 2u);
  const FlowTable::Report& web = due[0].client.name == "web" ? due[0] : due[1];
  EXPECT_EQ(web.client.kind, "Deployment");
  EXPECT_EQ(web.client.ns, "shop");
  EXPECT_EQ(web.client.uid, "uid-web");
  EXPECT_EQ(web.report.node, "node-a");
  EXPECT_EQ(web.report.observed_until, wall_ + 10s);
  ASSERT_EQ(web.report.flows.size(), 5u);
  // Sorted: workloads first (by namespace, kind, name), then addresses.
  const Flow& db = web.report.flows[0];
  EXPECT_EQ(db.server.ToString(), "StatefulSet/data/db");
  EXPECT_EQ(db.port, 5432);
  EXPECT_FALSE(db.service.has_value());
  EXPECT_EQ(db.count, 2u);
  EXPECT_EQ(db.first_seen, wall_);
  EXPECT_EQ(db.last_seen, wall_ + 5s);
  EXPECT_TRUE(web.report.flows[1].service.has_value());
  EXPECT_EQ(web.report.flows[1].service->name, "db");
  EXPECT_EQ(web.report.flows[2].port, 5433);
  EXPECT_EQ(web.report.flows[3].server.ToString(), "203.0.113.5");
  EXPECT_EQ(web.report.flows[3].protocol, Protocol::kTCP);
  EXPECT_EQ(web.report.flows[4].protocol, Protocol::kUDP);
}

TEST_F(FlowTableTest, AtMostOneWritePerIntervalAndNoneWhenQuiet) {
  FlowTable t({});
  t.Add(kWeb, ToWorkload(kDb, 5432), wall_);
  EXPECT_EQ(t.TakeDue(now_, 60s, wall_, "n").size(), 1u) << "a new client is written at once";
  EXPECT_EQ(t.TakeDue(now_ + 120s, 60s, wall_, "n").size(), 0u) << "nothing new: no write";
  t.Add(kWeb, ToWorkload(kDb, 5432), wall_);
  EXPECT_EQ(t.TakeDue(now_ + 30s, 60s, wall_, "n").size(), 0u) << "too soon";
  EXPECT_EQ(t.dirty_clients(), 1u);
  auto due = t.TakeDue(now_ + 60s, 60s, wall_, "n");
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].report.flows[0].count, 2u) << "counts are cumulative";
  // A failed write is due again after the interval.
  t.Failed(due[0].client_id);
  EXPECT_EQ(t.TakeDue(now_ + 61s, 60s, wall_, "n").size(), 0u);
  EXPECT_EQ(t.TakeDue(now_ + 120s, 60s, wall_, "n").size(), 1u);
  // Interval zero (shutdown): whatever is new, now.
  t.Add(kWeb, ToWorkload(kDb, 5432), wall_);
  EXPECT_EQ(t.TakeDue(now_ + 121s, 0s, wall_, "n").size(), 1u);
}

TEST_F(FlowTableTest, BoundsDropNewFlowsAndSaySo) {
  FlowTable t({.max_flows = 3, .max_flows_per_workload = 2});
  EXPECT_EQ(t.Add(kWeb, ToAddress("203.0.113.1", 443), wall_), FlowTable::AddResult::kNew);
  EXPECT_EQ(t.Add(kWeb, ToAddress("203.0.113.2", 443), wall_), FlowTable::AddResult::kNew);
  EXPECT_EQ(t.Add(kWeb, ToAddress("203.0.113.3", 443), wall_),
            FlowTable::AddResult::kDroppedPerWorkload);
  EXPECT_EQ(t.Add(kWeb, ToAddress("203.0.113.1", 443), wall_), FlowTable::AddResult::kCounted)
      << "known flows still count";
  EXPECT_EQ(t.Add(kApi, ToAddress("203.0.113.1", 443), wall_), FlowTable::AddResult::kNew);
  EXPECT_EQ(t.Add(kApi, ToAddress("203.0.113.2", 443), wall_, 5),
            FlowTable::AddResult::kDroppedMaxFlows);
  EXPECT_EQ(t.flows(), 3u);
  auto due = t.TakeDue(now_, 60s, wall_, "n");
  ASSERT_EQ(due.size(), 2u);
  for (const auto& r : due) {
    EXPECT_EQ(r.report.dropped_connections, r.client.name == "web" ? 1u : 5u) << r.client.name;
  }
}

TEST_F(FlowTableTest, ForgetsOldFlowsAndFreesTheirNames) {
  FlowTable t({.max_flows = 2, .max_flows_per_workload = 2});
  t.Add(kWeb, ToWorkload(kDb, 5432, ServiceHit{"data", "db", 5432}), wall_);
  t.Add(kWeb, ToAddress("203.0.113.1", 443), wall_ + 100s);
  (void)t.TakeDue(now_, 60s, wall_, "n");
  EXPECT_EQ(t.Forget(wall_ + 50s), 1u);
  EXPECT_EQ(t.flows(), 1u);
  auto due = t.TakeDue(now_ + 60s, 60s, wall_, "n");
  ASSERT_EQ(due.size(), 1u) << "a forgotten flow is a change to write";
  EXPECT_EQ(due[0].report.flows.size(), 1u);
  // Room again.
  EXPECT_EQ(t.Add(kWeb, ToWorkload(kDb, 5432), wall_ + 200s), FlowTable::AddResult::kNew);
  // A client without flows goes once its empty entry is written.
  EXPECT_EQ(t.Forget(wall_ + 1000s), 2u);
  EXPECT_EQ(t.clients(), 1u);
  (void)t.TakeDue(now_ + 120s, 60s, wall_, "n");
  (void)t.Forget(wall_ + 1000s);
  EXPECT_EQ(t.clients(), 0u);
}

TEST_F(FlowTableTest, LoadTakesOverCountsAndTheLastWrite) {
  observedflows::ObservedFlows o;
  o.ns = "shop";
  o.workload = {"apps/v1", "Deployment", "shop", "web", "uid-web"};
  observedflows::NodeReport mine;
  mine.node = "node-a";
  mine.observed_until = wall_ - 10s;
  Flow f;
  f.server.type = PeerType::kWorkload;
  f.server.workload = {"apps/v1", "StatefulSet", "data", "db", ""};
  f.port = 5432;
  f.count = 7;
  f.first_seen = wall_ - 100s;
  f.last_seen = wall_ - 20s;
  mine.flows.push_back(f);
  FlowTable t({});
  EXPECT_EQ(t.Load(o, mine, now_, wall_), 0u);
  EXPECT_TRUE(t.Contains(kWeb, ToWorkload(kDb, 5432)));
  EXPECT_EQ(t.LoadedUntil(kWeb), wall_ - 10s);
  EXPECT_EQ(t.dirty_clients(), 0u) << "nothing new: nothing to write";
  t.Add(kWeb, ToWorkload(kDb, 5432), wall_);
  EXPECT_EQ(t.TakeDue(now_, 60s, wall_, "node-a").size(), 0u)
      << "the last write (10 s ago) starts the interval";
  auto due = t.TakeDue(now_ + 50s, 60s, wall_, "node-a");
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].report.flows[0].count, 8u);
  EXPECT_EQ(due[0].report.flows[0].first_seen, wall_ - 100s);
}

TEST_F(FlowTableTest, EpochsTellDumpedFlowsFromKnownOnes) {
  FlowTable t({});
  t.Add(kWeb, ToWorkload(kDb, 5432), wall_);
  const uint32_t e = t.NewEpoch();
  EXPECT_TRUE(t.KnownBefore(kWeb, ToWorkload(kDb, 5432), e));
  t.Add(kWeb, ToWorkload(kDb, 5433), wall_);
  EXPECT_TRUE(t.Contains(kWeb, ToWorkload(kDb, 5433)));
  EXPECT_FALSE(t.KnownBefore(kWeb, ToWorkload(kDb, 5433), e));
  EXPECT_FALSE(t.KnownBefore(kApi, ToWorkload(kDb, 5432), e));
}

}  // namespace
}  // namespace npc::agent
