// WouldDenyReporter: Events once per flow, the TTL in allow, judging only
// once ready; the judgement itself is synth/observed_test's (here a fake).
#include "controller/would_deny.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

namespace npc::controller {
namespace {

ObservedFlow Flow(int port, int64_t last_seen) {
  ObservedFlow f;
  f.client = {WorkloadKind::kDeployment, "shop", "web"};
  f.server = WorkloadKey{WorkloadKind::kDeployment, "data", "db"};
  f.port = port;
  f.count = 2;
  f.first_seen = last_seen - 10;
  f.last_seen = last_seen;
  return f;
}

decode::Object Object(std::vector<ObservedFlow> flows) {
  decode::Object o;
  o.meta.kind = "ObservedFlows";
  o.meta.ns = "shop";
  o.meta.name = "deployment-web";
  o.value = decode::ObservedFlowsValue{{"apps/v1", "Deployment", "web", "uid-1"}, std::move(flows)};
  return o;
}

struct Fixture {
  int64_t now = 1'000'000;
  std::vector<WouldDenyEvent> events;
  std::vector<std::vector<ObservedFlow>> in_model;  // what allow handed over, in order
  std::set<int> allowed_ports;                      // the fake policies allow these
  WouldDenyReporter Make(ObservedFlowsMode mode) {
    WouldDenyOptions o;
    o.mode = mode;
    o.ttl = std::chrono::seconds(100);
    o.rejudge_period = std::chrono::seconds(50);
    o.event_period = std::chrono::seconds(1000);
    o.unix_now = [this] { return now; };
    auto judge = [this](const std::vector<ObservedFlow>& flows) {
      std::vector<synth::WouldDeny> out;
      for (const ObservedFlow& f : flows) {
        if (allowed_ports.contains(f.port)) continue;
        synth::WouldDeny d;
        d.flow = f;
        d.egress_denied = true;
        d.missing = "egress of shop/deployment-web to Deployment/data/db on " +
                    std::to_string(f.port) + "/TCP";
        out.push_back(d);
      }
      return out;
    };
    WouldDenyReporter::Model model{
        [this](decode::Object object) {
          in_model.push_back(std::get<decode::ObservedFlowsValue>(object.value).flows);
        },
        [this](const decode::Meta&) { in_model.push_back({}); }};
    return WouldDenyReporter(o, judge, model,
                             [this](const WouldDenyEvent& e) { events.push_back(e); });
  }
};

TEST(WouldDenyTest, OneEventPerFlowPerPeriodOnTheClient) {
  Fixture fx;
  WouldDenyReporter r = fx.Make(ObservedFlowsMode::kReport);
  r.Upsert(Object({Flow(5432, fx.now)}));
  EXPECT_EQ(r.Step(), 0u);  // not ready: the desired state is not computed yet
  r.SetReady();
  EXPECT_EQ(r.Step(), 1u);
  ASSERT_EQ(fx.events.size(), 1u);
  EXPECT_EQ(fx.events[0].ns, "shop");
  EXPECT_EQ(fx.events[0].regarding.kind, "Deployment");
  EXPECT_EQ(fx.events[0].regarding.uid, "uid-1");
  EXPECT_NE(fx.events[0].note.find("Deployment/shop/web -> Deployment/data/db 5432/TCP: "
                                   "observed 2 times since"),
            std::string::npos)
      << fx.events[0].note;
  EXPECT_NE(fx.events[0].note.find("missing egress of shop/deployment-web"), std::string::npos);
  // Seen again (the count grew), and judged again: no second Event within the period.
  fx.now += 60;
  r.Upsert(Object({Flow(5432, fx.now)}));
  EXPECT_EQ(r.Step(true), 0u);
  EXPECT_EQ(r.Stats().would_deny, 1u);
  // A new flow gets its own.
  r.Upsert(Object({Flow(5432, fx.now), Flow(6379, fx.now)}));
  EXPECT_EQ(r.Step(), 1u);
  // After the period, a reminder.
  fx.now += 1000;
  EXPECT_EQ(r.Step(true), 2u);
  // Allowed now (say, annotated): no longer counted, no Event.
  fx.allowed_ports = {5432, 6379};
  fx.now += 2000;
  EXPECT_EQ(r.Step(true), 0u);
  EXPECT_EQ(r.Stats().would_deny, 0u);
}

TEST(WouldDenyTest, ReportNeverTouchesTheModel) {
  Fixture fx;
  WouldDenyReporter r = fx.Make(ObservedFlowsMode::kReport);
  r.Upsert(Object({Flow(5432, fx.now)}));
  r.SetReady();
  (void)r.Step(true);
  EXPECT_TRUE(fx.in_model.empty());
}

TEST(WouldDenyTest, AllowHandsLiveFlowsToTheModelAndDropsThemAfterTheTtl) {
  Fixture fx;
  WouldDenyReporter r = fx.Make(ObservedFlowsMode::kAllow);
  // One flow seen just now, one 150 s ago (beyond the 100 s TTL).
  r.Upsert(Object({Flow(5432, fx.now), Flow(6379, fx.now - 150)}));
  ASSERT_EQ(fx.in_model.size(), 1u);
  ASSERT_EQ(fx.in_model[0].size(), 1u);
  EXPECT_EQ(fx.in_model[0][0].port, 5432);
  r.SetReady();
  (void)r.Step(true);
  EXPECT_EQ(fx.in_model.size(), 1u);  // nothing expired yet
  fx.now += 101;                      // now 5432 is unseen for longer than the TTL
  (void)r.Step(true);
  ASSERT_EQ(fx.in_model.size(), 2u);
  EXPECT_TRUE(fx.in_model[1].empty());  // removed from the model: the edge goes
  // Deleted object: removed (already empty) and forgotten.
  decode::Meta m = Object({}).meta;
  r.Remove(m);
  EXPECT_EQ(r.Stats().objects, 0u);
}

TEST(WouldDenyTest, OffHoldsNothing) {
  Fixture fx;
  WouldDenyReporter r = fx.Make(ObservedFlowsMode::kOff);
  r.Upsert(Object({Flow(5432, fx.now)}));
  r.SetReady();
  EXPECT_EQ(r.Step(true), 0u);
  EXPECT_EQ(r.Stats().objects, 0u);
}

TEST(WouldDenyTest, ThreadJudgesAChangeSoon) {
  Fixture fx;
  WouldDenyOptions o;
  std::atomic<int> posted{0};
  o.debounce = std::chrono::milliseconds(1);
  WouldDenyReporter r(
      o,
      [](const std::vector<ObservedFlow>& flows) {
        std::vector<synth::WouldDeny> out;
        for (const auto& f : flows) out.push_back({f, true, false, "", "", "m"});
        return out;
      },
      {}, [&](const WouldDenyEvent&) { ++posted; });
  r.SetReady();
  r.Start();
  r.Upsert(Object({Flow(5432, 1)}));
  for (int i = 0; i < 500 && posted == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  r.Stop();
  EXPECT_EQ(posted.load(), 1);
}

}  // namespace
}  // namespace npc::controller
