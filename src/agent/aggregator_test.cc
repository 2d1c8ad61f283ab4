#include "agent/aggregator.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

#include "agent/test_util.h"

namespace npc::agent {
namespace {

using namespace std::chrono_literals;
using testing::Conn;
using testing::ControllerMeta;
using testing::PodMetaOf;
using testing::Running;
using testing::ServiceOf;

// shop/web (Deployment, 2 pods on node-a), data/db-a and data/db-b (two
// workloads behind Service data/db, 198.19.0.5:80 -> 5432), shop/remote on
// node-b, and the node itself (198.18.128.1, no pod).
class AggregatorTest : public ::testing::Test {
 protected:
  AggregatorTest() : metrics_(registry_, {.version = "test"}) {
    map_.UpsertController("ReplicaSet", ControllerMeta("shop", "web-1", "Deployment", "web"));
    map_.UpsertPod(PodMetaOf("shop", "web-1-a", "ReplicaSet", "web-1"), Running("198.18.0.2"));
    map_.UpsertPod(PodMetaOf("shop", "web-1-b", "ReplicaSet", "web-1"), Running("198.18.0.3"));
    map_.UpsertPod(PodMetaOf("data", "db-a-0", "StatefulSet", "db-a"), Running("198.18.0.10"));
    map_.UpsertPod(PodMetaOf("data", "db-b-0", "StatefulSet", "db-b"),
                   Running("198.18.16.10", "node-b"));
    map_.UpsertPod(PodMetaOf("shop", "remote"), Running("198.18.16.2", "node-b"));
    Service db = ServiceOf("data", "db", "198.19.0.5", 80);
    map_.UpsertService(db);
  }

  Aggregator Make(AggregatorOptions o = {}) { return Aggregator(map_, o, wall_, clock_, metrics_); }

  // The flows reported for a client, as "server port/proto [via svc:port] xcount".
  static std::vector<std::string> Flows(const std::vector<FlowTable::Report>& due,
                                        const std::string& client) {
    std::vector<std::string> out;
    for (const auto& r : due) {
      if (r.client.kind + "/" + r.client.ns + "/" + r.client.name != client) continue;
      for (const auto& f : r.report.flows) {
        std::string s = f.server.ToString() + " " + std::to_string(f.port) + "/" +
                        std::string(observedflows::ProtocolName(f.protocol));
        if (f.service)
          s += " via " + f.service->ns + "/" + f.service->name + ":" +
               std::to_string(f.service->port);
        s += " x" + std::to_string(f.count);
        out.push_back(s);
      }
    }
    return out;
  }

  AddressMap map_{"node-a"};
  FakeWallClock wall_;
  FakeClock clock_;
  observability::Registry registry_;
  AgentMetrics metrics_;
};

TEST_F(AggregatorTest, ClusterIpIsAttributedToTheBackendThatAnswered) {
  Aggregator a = Make();
  std::vector<ConnEvent> events = {
      // web-1-a -> Service data/db: kube-proxy chose db-a, then db-b (on another node).
      Conn("198.18.0.2", "198.19.0.5", 80, "198.18.0.10", 5432),
      Conn("198.18.0.3", "198.19.0.5", 80, "198.18.16.10", 5432),
      Conn("198.18.0.2", "198.19.0.5", 80, "198.18.16.10", 5432),
      // Directly to a pod address (no Service).
      Conn("198.18.0.2", "198.18.0.10", 5432),
      // Outside the cluster, UDP.
      Conn("198.18.0.2", "203.0.113.7", 53, "", 0, IPPROTO_UDP),
  };
  a.OnEvents(events);
  auto due = a.TakeDue(60s, "node-a");
  EXPECT_EQ(
      Flows(due, "Deployment/shop/web"),
      (std::vector<std::string>{
          "StatefulSet/data/db-a 5432/TCP x1", "StatefulSet/data/db-a 5432/TCP via data/db:80 x1",
          "StatefulSet/data/db-b 5432/TCP via data/db:80 x2", "203.0.113.7 53/UDP x1"}));
  EXPECT_EQ(metrics_.counted.Value(), 5);
}

TEST_F(AggregatorTest, OnlyThisNodesPodsAreClients) {
  Aggregator a = Make();
  std::vector<ConnEvent> events = {
      // A pod of node-b: its own agent counts it.
      Conn("198.18.16.2", "198.18.0.10", 5432),
      // The node itself (kubelet, a hostNetwork pod, the agent's own API calls).
      Conn("198.18.128.1", "198.18.0.10", 5432),
      // An address outside the cluster into a pod.
      Conn("203.0.113.9", "198.18.0.2", 8080),
  };
  a.OnEvents(events);
  a.FlushRetries();
  EXPECT_TRUE(a.TakeDue(60s, "node-a").empty());
  EXPECT_EQ(metrics_.ignored_remote_client.Value(), 1);
  EXPECT_EQ(metrics_.ignored_not_a_pod.Value(), 2);
  EXPECT_EQ(metrics_.counted.Value(), 0);
}

TEST_F(AggregatorTest, APodSeenLateIsStillAttributed) {
  Aggregator a = Make();
  // A new pod's first connection beats its watch event.
  std::vector<ConnEvent> events = {Conn("198.18.0.4", "198.18.0.10", 5432)};
  a.OnEvents(events);
  EXPECT_TRUE(a.TakeDue(60s, "node-a").empty());
  map_.UpsertPod(PodMetaOf("shop", "web-1-c", "ReplicaSet", "web-1"), Running("198.18.0.4"));
  a.OnIdle();
  EXPECT_EQ(Flows(a.TakeDue(60s, "node-a"), "Deployment/shop/web"),
            std::vector<std::string>{"StatefulSet/data/db-a 5432/TCP x1"});
  // A pod whose ReplicaSet is unknown waits for it, then is named after it.
  map_.UpsertPod(PodMetaOf("shop", "new-1-a", "ReplicaSet", "new-1"), Running("198.18.0.5"));
  a.OnEvents(std::vector<ConnEvent>{Conn("198.18.0.5", "198.18.0.10", 5432)});
  a.OnIdle();
  EXPECT_TRUE(a.TakeDue(0s, "node-a").empty()) << "still waiting for the ReplicaSet";
  clock_.Advance(4s);
  a.OnIdle();
  EXPECT_EQ(Flows(a.TakeDue(0s, "node-a"), "ReplicaSet/shop/new-1"),
            std::vector<std::string>{"StatefulSet/data/db-a 5432/TCP x1"});
}

TEST_F(AggregatorTest, RetriesAreBounded) {
  AggregatorOptions o;
  o.max_retrying = 4;
  Aggregator a = Make(o);
  std::vector<ConnEvent> events;
  for (int i = 0; i < 10; ++i) events.push_back(Conn("203.0.113.9", "198.18.0.2", 8080));
  a.OnEvents(events);
  EXPECT_EQ(metrics_.ignored_not_a_pod.Value(), 6) << "the oldest were judged to make room";
  a.FlushRetries();
  EXPECT_EQ(metrics_.ignored_not_a_pod.Value(), 10);
}

ConnEvent Started(ConnEvent e, WallTime t, uint32_t id) {
  e.start_ns = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
  e.id = id;
  return e;
}

Aggregator::DumpFn DumpOf(std::vector<ConnEvent> entries) {
  return [entries](const std::function<void(const ConnEvent&)>& fn) {
    for (const ConnEvent& e : entries) fn(e);
    return Status::Ok();
  };
}

observedflows::ObservedFlows WebReadBack(WallTime until) {
  observedflows::ObservedFlows o;
  o.ns = "shop";
  o.name = "deployment-web";
  o.workload = {"apps/v1", "Deployment", "shop", "web", "uid-web"};
  observedflows::NodeReport n;
  n.node = "node-a";
  n.observed_until = until;
  observedflows::Flow f;
  f.server.workload = {"apps/v1", "StatefulSet", "data", "db-a", ""};
  f.port = 5432;
  f.count = 3;
  f.first_seen = f.last_seen = until - 60s;
  n.flows.push_back(f);
  o.nodes.push_back(n);
  observedflows::NodeReport other = n;
  other.node = "node-b";
  other.flows[0].count = 100;
  o.nodes.push_back(other);
  return o;
}

// After a restart without start times: a flow known from the read-back is not
// counted again from the table (its connections may have been counted); a
// flow never reported is counted with every connection the table holds.
TEST_F(AggregatorTest, StartupDumpWithoutTimestampsCountsOnlyUnknownFlows) {
  Aggregator a = Make();
  const WallTime until = wall_.Now() - 30s;
  a.Load({WebReadBack(until)}, "node-a");
  auto r = a.ApplyDump(DumpOf({Conn("198.18.0.2", "198.18.0.10", 5432, "", 0, IPPROTO_TCP, 1, 11),
                               Conn("198.18.0.2", "198.18.0.10", 5433, "", 0, IPPROTO_TCP, 2, 12),
                               Conn("198.18.0.3", "198.18.0.10", 5433, "", 0, IPPROTO_TCP, 3, 13),
                               Conn("198.18.16.2", "198.18.0.10", 5433)}),
                       Aggregator::DumpKind::kStartup, /*timestamps=*/false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->entries, 3u);
  EXPECT_EQ(r->counted, 2u);
  // The NEW event of a dumped connection, still queued, is not counted again.
  a.OnEvents(
      std::vector<ConnEvent>{Conn("198.18.0.2", "198.18.0.10", 5433, "", 0, IPPROTO_TCP, 2, 12)});
  EXPECT_EQ(metrics_.duplicates.Value(), 1);
  EXPECT_EQ(Flows(a.TakeDue(0s, "node-a"), "Deployment/shop/web"),
            (std::vector<std::string>{"StatefulSet/data/db-a 5432/TCP x3",
                                      "StatefulSet/data/db-a 5433/TCP x2"}));
}

// With start times: connections that started after the last write are
// counted, those before it are not (they were counted then).
TEST_F(AggregatorTest, StartupDumpWithTimestampsCountsWhatStartedAfterTheLastWrite) {
  Aggregator a = Make();
  const WallTime until = wall_.Now() - 30s;
  a.Load({WebReadBack(until)}, "node-a");
  auto r = a.ApplyDump(DumpOf({Started(Conn("198.18.0.2", "198.18.0.10", 5432), until - 1s, 21),
                               Started(Conn("198.18.0.2", "198.18.0.10", 5432), until + 1s, 22),
                               Started(Conn("198.18.0.3", "198.18.0.10", 5432), until + 2s, 23)}),
                       Aggregator::DumpKind::kStartup, /*timestamps=*/true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->counted, 2u);
  EXPECT_EQ(Flows(a.TakeDue(0s, "node-a"), "Deployment/shop/web"),
            std::vector<std::string>{"StatefulSet/data/db-a 5432/TCP x5"});
}

// An address reused while the conntrack entry of its former pod lives: with
// start times, the entry is told apart (it predates the pod).
TEST_F(AggregatorTest, StartupDumpSkipsConnectionsOlderThanThePodWithTheAddress) {
  decode::Meta meta = PodMetaOf("shop", "new");
  meta.creation_timestamp = observedflows::FormatTime(wall_.Now() - 10s);
  map_.UpsertPod(meta, Running("198.18.0.20"));
  decode::Meta server = PodMetaOf("data", "fresh");
  server.creation_timestamp = observedflows::FormatTime(wall_.Now() - 10s);
  map_.UpsertPod(server, Running("198.18.0.21"));
  Aggregator a = Make();
  auto r =
      a.ApplyDump(DumpOf({Started(Conn("198.18.0.20", "198.18.0.10", 5432), wall_.Now() - 60s, 31),
                          Started(Conn("198.18.0.20", "198.18.0.10", 5432), wall_.Now() - 5s, 32),
                          Started(Conn("198.18.0.2", "198.18.0.21", 80), wall_.Now() - 60s, 33),
                          Started(Conn("198.18.0.2", "198.18.0.21", 80), wall_.Now() - 1s, 34)}),
                  Aggregator::DumpKind::kStartup, /*timestamps=*/true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stale, 2u);
  EXPECT_EQ(r->counted, 2u);
  auto due = a.TakeDue(0s, "node-a");
  EXPECT_EQ(Flows(due, "Pod/shop/new"),
            std::vector<std::string>{"StatefulSet/data/db-a 5432/TCP x1"});
  EXPECT_EQ(Flows(due, "Deployment/shop/web"),
            std::vector<std::string>{"Pod/data/fresh 80/TCP x1"});
}

// After lost events: only flows not seen yet are counted from the table.
TEST_F(AggregatorTest, OverflowAsksForAResyncThatAddsOnlyUnknownFlows) {
  Aggregator a = Make();
  a.OnEvents(std::vector<ConnEvent>{Conn("198.18.0.2", "198.18.0.10", 5432)});
  a.OnOverflow(7);
  EXPECT_EQ(metrics_.events_lost.Value(), 7);
  EXPECT_TRUE(a.TakeResyncRequest());
  EXPECT_FALSE(a.TakeResyncRequest());
  auto r = a.ApplyDump(
      DumpOf({Conn("198.18.0.2", "198.18.0.10", 5432), Conn("198.18.0.2", "203.0.113.7", 443),
              Conn("198.18.0.3", "203.0.113.7", 443)}),
      Aggregator::DumpKind::kResync, /*timestamps=*/true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->counted, 2u);
  EXPECT_EQ(metrics_.resyncs.Value(), 1);
  a.OnOverflow(9);
  EXPECT_EQ(metrics_.events_lost.Value(), 9);
  EXPECT_EQ(
      Flows(a.TakeDue(0s, "node-a"), "Deployment/shop/web"),
      (std::vector<std::string>{"StatefulSet/data/db-a 5432/TCP x1", "203.0.113.7 443/TCP x2"}));
}

TEST_F(AggregatorTest, DumpErrorsAreReturned) {
  Aggregator a = Make();
  auto r = a.ApplyDump(
      [](const auto& fn) {
        fn(Conn("198.18.0.2", "203.0.113.7", 443));
        return Unavailable("dump: recv: interrupted");
      },
      Aggregator::DumpKind::kResync, false);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(Flows(a.TakeDue(0s, "node-a"), "Deployment/shop/web"),
            std::vector<std::string>{"203.0.113.7 443/TCP x1"})
      << "what was counted before the error stays counted";
}

TEST(AttributeTest, UnknownProtocolsAndUntranslatedPorts) {
  AddressMap map("node-a");
  map.UpsertPod(PodMetaOf("shop", "web"), Running("198.18.0.2"));
  // A Service whose ClusterIP is dialled but answered by an address outside.
  map.UpsertService(ServiceOf("default", "kubernetes", "198.19.0.1", 443));
  auto v = map.Read();
  Attribution a = Attribute(Conn("198.18.0.2", "198.19.0.1", 443, "198.18.128.10", 6443), v, false);
  ASSERT_EQ(a.verdict, Attribution::Verdict::kFlow);
  EXPECT_EQ(a.server.type, PeerType::kExternal);
  EXPECT_EQ(a.server.address.ToString(), "198.18.128.10");
  EXPECT_EQ(a.server.port, 6443);
  ASSERT_TRUE(a.server.service.has_value());
  EXPECT_EQ(a.server.service->name, "kubernetes");
  EXPECT_EQ(a.server.service->port, 443);
  EXPECT_EQ(a.client.workload.kind, "Pod");
  a = Attribute(Conn("198.18.0.2", "198.18.0.9", 80, "", 0, /*ICMP*/ 1), v, false);
  EXPECT_EQ(a.verdict, Attribution::Verdict::kOtherProto);
  a = Attribute(Conn("198.18.0.2", "198.19.0.1", 443), v, false);
  EXPECT_FALSE(a.server.service.has_value()) << "not translated: no Service lookup";
}

}  // namespace
}  // namespace npc::agent
