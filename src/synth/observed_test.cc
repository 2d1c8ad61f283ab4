// Observed flows in synthesis: allow turns them into edges, report judges
// them; both checked against the independent evaluator (test/evaluator).
#include "synth/observed.h"

#include <gtest/gtest.h>

#include "evaluator/evaluator.h"
#include "render/render.h"
#include "synth/synth.h"

namespace npc::synth {
namespace {

Workload Deploy(std::string ns, std::string name, int port = 0) {
  Workload w;
  w.kind = WorkloadKind::kDeployment;
  w.ns = ns;
  w.name = name;
  w.pod_selector.match_labels = {{"app", name}};
  w.template_labels = {{"app", name}};
  Container c;
  c.name = "main";
  if (port) c.ports.push_back({"svc", port, "TCP"});
  w.containers.push_back(c);
  return w;
}

WorkloadKey Key(const std::string& ns, const std::string& name) {
  return {WorkloadKind::kDeployment, ns, name};
}

ObservedFlow Flow(WorkloadKey client, std::optional<WorkloadKey> server, int port,
                  std::string address = "") {
  ObservedFlow f;
  f.client = std::move(client);
  f.server = std::move(server);
  f.address = std::move(address);
  f.port = port;
  f.count = 3;
  f.first_seen = 1764590400;  // 2025-12-01T12:00:00Z
  f.last_seen = 1764594000;
  return f;
}

Snapshot Cluster() {
  Snapshot s;
  s.namespaces = {{"shop", {}, {}}, {"data", {{"tier", "data"}}, {}}};
  s.workloads = {Deploy("shop", "web"), Deploy("data", "db", 5432), Deploy("shop", "other")};
  return s;
}

// The evaluator's view of `s` with `r`'s policies: one pod per workload.
eval::Cluster Judge(const Snapshot& s, const Result& r) {
  eval::Cluster c;
  for (const Namespace& n : s.namespaces) c.AddNamespace(n.name, n.labels);
  int ip = 1;
  for (const Workload& w : s.workloads) {
    eval::Pod p{w.ns, w.name + "-0", w.template_labels, "198.18.0." + std::to_string(ip++), {}};
    for (const Container& ct : w.containers) {
      for (const ContainerPort& cp : ct.ports) p.ports.push_back({cp.name, cp.port, cp.protocol});
    }
    EXPECT_TRUE(c.AddPod(p).ok());
  }
  for (const WorkloadPolicy& p : r.policies) {
    const Status st = c.AddPolicy(render::PolicyToJson(p.policy));
    EXPECT_TRUE(st.ok()) << st.message();
  }
  return c;
}

bool EvalAllowed(const eval::Cluster& c, const ObservedFlow& f) {
  const eval::Endpoint src = eval::Endpoint::Pod(f.client.ns, f.client.name + "-0");
  const eval::Endpoint dst = f.server ? eval::Endpoint::Pod(f.server->ns, f.server->name + "-0")
                                      : eval::Endpoint::External(f.address);
  return c.Allowed(src, dst, f.port, f.protocol);
}

TEST(ObservedTest, ReportJudgesLikeTheEvaluator) {
  Snapshot s = Cluster();
  s.observed_flows = {Flow(Key("shop", "web"), Key("data", "db"), 5432),
                      Flow(Key("shop", "web"), std::nullopt, 443, "203.0.113.5"),
                      Flow(Key("shop", "web"), Key("shop", "other"), 8080)};
  SynthesisConfig config = SynthesisConfig::Defaults();
  config.observed_flows = ObservedFlowsMode::kReport;
  const Result r = Synthesize(s, config);
  const std::vector<WouldDeny> d = JudgeObservedFlows(s, config, r);
  ASSERT_EQ(d.size(), 3u);
  const eval::Cluster c = Judge(s, r);
  for (const WouldDeny& w : d) {
    EXPECT_FALSE(EvalAllowed(c, w.flow)) << w.missing;
    EXPECT_TRUE(w.egress_denied) << w.missing;
  }
  EXPECT_EQ(d[0].missing,
            "egress of shop/deployment-web to Deployment/data/db on 5432/TCP; "
            "ingress of data/deployment-db from Deployment/shop/web on 5432/TCP");
  EXPECT_FALSE(d[1].ingress_denied);  // an external server has no policy
  EXPECT_EQ(d[1].missing, "egress of shop/deployment-web to 203.0.113.5 on 443/TCP");
}

TEST(ObservedTest, OffJudgesNothing) {
  Snapshot s = Cluster();
  s.observed_flows = {Flow(Key("shop", "web"), Key("data", "db"), 5432)};
  SynthesisConfig config = SynthesisConfig::Defaults();
  config.observed_flows = ObservedFlowsMode::kOff;
  EXPECT_TRUE(JudgeObservedFlows(s, config, Synthesize(s, config)).empty());
}

TEST(ObservedTest, AllowOpensExactlyTheObservedFlow) {
  Snapshot s = Cluster();
  s.observed_flows = {Flow(Key("shop", "web"), Key("data", "db"), 5432),
                      Flow(Key("shop", "web"), std::nullopt, 443, "203.0.113.5")};
  SynthesisConfig config = SynthesisConfig::Defaults();
  config.observed_flows = ObservedFlowsMode::kAllow;
  const Result r = Synthesize(s, config);
  const eval::Cluster c = Judge(s, r);
  EXPECT_TRUE(EvalAllowed(c, s.observed_flows[0]));
  // Nothing more: another port, the reverse direction, another client.
  EXPECT_FALSE(EvalAllowed(c, Flow(Key("shop", "web"), Key("data", "db"), 5433)));
  EXPECT_FALSE(EvalAllowed(c, Flow(Key("data", "db"), Key("shop", "web"), 5432)));
  EXPECT_FALSE(EvalAllowed(c, Flow(Key("shop", "other"), Key("data", "db"), 5432)));
  // External: reported, never allowed without --allow-observed-external.
  EXPECT_FALSE(EvalAllowed(c, s.observed_flows[1]));
  const std::vector<WouldDeny> d = JudgeObservedFlows(s, config, r);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].Server(), "203.0.113.5");

  // explain: the reasons say it was observed.
  bool found = false;
  for (const WorkloadPolicy& p : r.policies) {
    for (const auto& reasons : p.ingress_reasons) {
      for (const std::string& why : reasons) {
        if (why.find("observed 3 times since 2025-12-01T12:00:00Z, last 2025-12-01T13:00:00Z "
                     "on 5432/TCP") != std::string::npos) {
          found = true;
        }
      }
    }
  }
  EXPECT_TRUE(found);
  // The edge is an edge like any other (graph, explain).
  bool edge = false;
  for (const Edge& e : r.edges) edge = edge || (e.observed && e.target == Key("data", "db"));
  EXPECT_TRUE(edge);
}

TEST(ObservedTest, AllowExternalOpensOneAddressOnOnePort) {
  Snapshot s = Cluster();
  s.observed_flows = {Flow(Key("shop", "web"), std::nullopt, 443, "203.0.113.5"),
                      Flow(Key("shop", "web"), std::nullopt, 443, "2001:db8::7")};
  SynthesisConfig config = SynthesisConfig::Defaults();
  config.observed_flows = ObservedFlowsMode::kAllow;
  config.allow_observed_external = true;
  const Result r = Synthesize(s, config);
  const eval::Cluster c = Judge(s, r);
  EXPECT_TRUE(EvalAllowed(c, s.observed_flows[0]));
  EXPECT_TRUE(EvalAllowed(c, s.observed_flows[1]));
  EXPECT_FALSE(EvalAllowed(c, Flow(Key("shop", "web"), std::nullopt, 80, "203.0.113.5")));
  EXPECT_FALSE(EvalAllowed(c, Flow(Key("shop", "web"), std::nullopt, 443, "203.0.113.6")));
  EXPECT_TRUE(JudgeObservedFlows(s, config, r).empty());
}

TEST(ObservedTest, AnEdgeUnseenForTheTtlIsDropped) {
  Snapshot s = Cluster();
  s.observed_flows = {Flow(Key("shop", "web"), Key("data", "db"), 5432)};
  SynthesisConfig config = SynthesisConfig::Defaults();
  config.observed_flows = ObservedFlowsMode::kAllow;
  config.observed_not_before = s.observed_flows[0].last_seen;  // seen exactly then: kept
  EXPECT_TRUE(JudgeObservedFlows(s, config, Synthesize(s, config)).empty());
  config.observed_not_before = s.observed_flows[0].last_seen + 1;
  const Result r = Synthesize(s, config);
  EXPECT_FALSE(EvalAllowed(Judge(s, r), s.observed_flows[0]));
  EXPECT_EQ(JudgeObservedFlows(s, config, r).size(), 1u);
}

TEST(ObservedTest, JudgementMatchesTheEvaluatorOverAMatrix) {
  // Some flows allowed by allow, judged over every pair and port.
  Snapshot s = Cluster();
  s.workloads[1].containers[0].ports.push_back({"metrics", 9090, "TCP"});
  s.observed_flows = {Flow(Key("shop", "web"), Key("data", "db"), 5432),
                      Flow(Key("shop", "other"), Key("shop", "web"), 80)};
  for (const ObservedFlowsMode mode : {ObservedFlowsMode::kReport, ObservedFlowsMode::kAllow}) {
    SynthesisConfig config = SynthesisConfig::Defaults();
    config.observed_flows = mode;
    const Result r = Synthesize(s, config);
    const eval::Cluster c = Judge(s, r);
    std::vector<ObservedFlow> all;
    for (const Workload& a : s.workloads) {
      for (const Workload& b : s.workloads) {
        if (a.key() == b.key()) continue;
        for (int port : {80, 5432, 9090}) {
          for (const char* proto : {"TCP", "UDP"}) {
            ObservedFlow f = Flow(a.key(), b.key(), port);
            f.protocol = proto;
            all.push_back(f);
          }
        }
      }
    }
    Snapshot judged = s;
    judged.observed_flows = all;
    std::vector<WouldDeny> d = JudgeObservedFlows(judged, config, r);
    size_t k = 0;
    for (const ObservedFlow& f : all) {
      const bool denied = k < d.size() && d[k].flow == f;
      if (denied) ++k;
      EXPECT_EQ(!denied, EvalAllowed(c, f))
          << f.client.ToString() << " -> " << f.server->ToString() << " " << f.port << "/"
          << f.protocol << " mode " << ObservedFlowsModeName(mode);
    }
  }
}

TEST(ObservedTest, FormatUnixTime) {
  EXPECT_EQ(FormatUnixTime(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatUnixTime(1764594000), "2025-12-01T13:00:00Z");
}

}  // namespace
}  // namespace npc::synth
