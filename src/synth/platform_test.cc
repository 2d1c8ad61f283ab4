// The platform's own flows (DESIGN.md section 1-4, issue 10): one group of
// tests per rule — API-server calls, the Prometheus operator, pods of any
// controller, overlapping selectors, ingress classes, Routes and Gateways,
// address peers, Secrets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "synth/index.h"
#include "synth/synth.h"

namespace npc::synth {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// --- Building snapshots -----------------------------------------------------

Workload Deploy(std::string ns, std::string name, Labels labels = {}) {
  Workload w;
  w.kind = WorkloadKind::kDeployment;
  w.ns = std::move(ns);
  w.name = std::move(name);
  w.uid = "uid-" + w.name;
  if (labels.empty()) labels = {{"app", w.name}};
  w.pod_selector.match_labels = labels;
  w.template_labels = labels;
  Container c;
  c.name = w.name;
  w.containers.push_back(c);
  return w;
}

Workload& Env(Workload& w, std::string name, std::string value) {
  EnvVar e;
  e.name = std::move(name);
  e.value = std::move(value);
  w.containers[0].env.push_back(e);
  return w;
}

Service Svc(std::string ns, std::string name, std::optional<Labels> selector,
            std::vector<std::pair<int32_t, IntOrString>> ports) {
  Service s;
  s.ns = std::move(ns);
  s.name = std::move(name);
  s.selector = std::move(selector);
  for (auto& [port, target] : ports) {
    ServicePort p;
    p.port = port;
    p.target_port = target;
    p.name = "p" + std::to_string(port);
    s.ports.push_back(p);
  }
  return s;
}

IntOrString Num(int32_t n) { return IntOrString{n, ""}; }
IntOrString Name(std::string s) { return IntOrString{std::nullopt, std::move(s)}; }

LabelSelector Sel(Labels l) {
  LabelSelector s;
  s.match_labels = std::move(l);
  return s;
}

PolicyPeer NsPods(const std::string& ns, Labels pods) {
  PolicyPeer p;
  p.namespace_selector = Sel({{"kubernetes.io/metadata.name", ns}});
  p.pod_selector = Sel(std::move(pods));
  return p;
}

PolicyPeer Cidr(std::string c) {
  PolicyPeer p;
  p.ip_block = IPBlock{std::move(c), {}};
  return p;
}

PolicyPort Tcp(int32_t n, std::string proto = "TCP") {
  PolicyPort p;
  p.protocol = std::move(proto);
  p.port.num = n;
  return p;
}

PolicyPort Named(std::string name) {
  PolicyPort p;
  p.port.str = std::move(name);
  return p;
}

const WorkloadPolicy* Find(const Result& r, const std::string& ns, const std::string& name) {
  for (const auto& p : r.policies) {
    if (p.workload.ns == ns && p.workload.name == name) return &p;
  }
  return nullptr;
}

std::vector<PolicyPort> PortsFor(const std::vector<PolicyRule>& rules, const PolicyPeer& peer) {
  std::vector<PolicyPort> out;
  for (const PolicyRule& r : rules) {
    if (std::find(r.peers.begin(), r.peers.end(), peer) == r.peers.end()) continue;
    if (r.ports.empty()) return {PolicyPort{"", {}, std::nullopt}};
    out.insert(out.end(), r.ports.begin(), r.ports.end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The ports of the rules without peers (any source), sorted.
std::vector<PolicyPort> AnySourcePorts(const std::vector<PolicyRule>& rules) {
  std::vector<PolicyPort> out;
  for (const PolicyRule& r : rules) {
    if (r.peers.empty()) out.insert(out.end(), r.ports.begin(), r.ports.end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> AllReasons(const std::vector<std::vector<std::string>>& reasons) {
  std::vector<std::string> out;
  for (const auto& r : reasons) out.insert(out.end(), r.begin(), r.end());
  return out;
}

std::vector<std::string> Messages(const Result& r) {
  std::vector<std::string> out;
  for (const auto& w : r.warnings) out.push_back(w.workload.ToString() + ": " + w.message);
  return out;
}

EndpointSlice ApiServerSlice() {
  return EndpointSlice{"default", "kubernetes", "kubernetes", "IPv4", {"192.0.2.10"},
                       {{"https", 6443, "TCP"}}};
}

// --- Rule 1: the API server's calls --------------------------------------------

Snapshot WebhookCluster() {
  Snapshot s;
  Workload hook = Deploy("policy", "webhook");
  hook.containers[0].ports = {{"https", 8443, "TCP"}};
  s.workloads.push_back(hook);
  s.workloads.push_back(Deploy("policy", "other"));
  s.services.push_back(Svc("policy", "webhook", Labels{{"app", "webhook"}}, {{443, Name("https")}}));
  ApiServerHook v;
  v.kind = ApiServerHook::Kind::kValidatingWebhookConfiguration;
  v.name = "policy-check";
  v.calls.push_back({"check.policy.example.com", "policy", "webhook", 443});
  s.api_server_hooks.push_back(v);
  s.endpoint_slices.push_back(ApiServerSlice());
  return s;
}

TEST(ApiServerTest, WebhookBackendsAdmitTheApiServerOnTheTargetPort) {
  const Result r = Synthesize(WebhookCluster(), SynthesisConfig::Defaults());
  const auto* hook = Find(r, "policy", "webhook");
  ASSERT_NE(hook, nullptr);
  EXPECT_EQ(PortsFor(hook->policy.ingress, Cidr("192.0.2.10/32")),
            (std::vector<PolicyPort>{Named("https")}));
  EXPECT_THAT(AllReasons(hook->ingress_reasons),
              Contains("API server: ValidatingWebhookConfiguration policy-check, webhook "
                       "check.policy.example.com calls Service policy/webhook:443 -> targetPort "
                       "https (endpoints of default/kubernetes)"));
  EXPECT_TRUE(PortsFor(Find(r, "policy", "other")->policy.ingress, Cidr("192.0.2.10/32")).empty());
}

TEST(ApiServerTest, ConfiguredCidrsWin) {
  SynthesisConfig config = SynthesisConfig::Defaults();
  config.api_server_cidrs = {"10.0.0.0/28", "fd00::/120"};
  const Result r = Synthesize(WebhookCluster(), config);
  const auto& in = Find(r, "policy", "webhook")->policy.ingress;
  EXPECT_EQ(PortsFor(in, Cidr("10.0.0.0/28")), (std::vector<PolicyPort>{Named("https")}));
  EXPECT_EQ(PortsFor(in, Cidr("fd00::/120")), (std::vector<PolicyPort>{Named("https")}));
  EXPECT_TRUE(PortsFor(in, Cidr("192.0.2.10/32")).empty());
}

TEST(ApiServerTest, UnknownAddressesAndMissingPortsWarn) {
  Snapshot s = WebhookCluster();
  s.endpoint_slices.clear();
  Result r = Synthesize(s, SynthesisConfig::Defaults());
  EXPECT_THAT(Messages(r), Contains(AllOf(HasSubstr("Deployment/policy/webhook: API server"),
                                          HasSubstr("set --api-server-cidrs"))));
  s = WebhookCluster();
  s.api_server_hooks[0].calls[0].port = 8443;
  r = Synthesize(s, SynthesisConfig::Defaults());
  EXPECT_THAT(Messages(r), Contains(HasSubstr("calls Service policy/webhook:8443, which has no "
                                              "such port")));
}

TEST(ApiServerTest, AggregatedApisAndConversionWebhooks) {
  Snapshot s;
  Workload metrics = Deploy("monitoring", "metrics-server");
  s.workloads.push_back(metrics);
  s.workloads.push_back(Deploy("widgets", "converter"));
  s.services.push_back(
      Svc("monitoring", "metrics-server", Labels{{"app", "metrics-server"}}, {{443, Num(10250)}}));
  s.services.push_back(Svc("widgets", "converter", Labels{{"app", "converter"}}, {{9443, {}}}));
  ApiServerHook api;
  api.kind = ApiServerHook::Kind::kAPIService;
  api.name = "v1beta1.metrics.k8s.io";
  api.calls.push_back({"", "monitoring", "metrics-server", 443});
  ApiServerHook crd;
  crd.kind = ApiServerHook::Kind::kCustomResourceDefinition;
  crd.name = "widgets.example.com";
  crd.calls.push_back({"", "widgets", "converter", 9443});
  s.api_server_hooks = {api, crd};
  s.endpoint_slices.push_back(ApiServerSlice());
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  EXPECT_EQ(PortsFor(Find(r, "monitoring", "metrics-server")->policy.ingress,
                     Cidr("192.0.2.10/32")),
            (std::vector<PolicyPort>{Tcp(10250)}));
  EXPECT_EQ(PortsFor(Find(r, "widgets", "converter")->policy.ingress, Cidr("192.0.2.10/32")),
            (std::vector<PolicyPort>{Tcp(9443)}));
}

// --- Rule 2: the Prometheus operator ------------------------------------------

Snapshot MonitoredCluster() {
  Snapshot s;
  s.namespaces.push_back({"monitoring", {{"kubernetes.io/metadata.name", "monitoring"}}, {}});
  s.namespaces.push_back(
      {"shop", {{"kubernetes.io/metadata.name", "shop"}, {"monitored", "yes"}}, {}});
  // The StatefulSet the operator makes for Prometheus k8s.
  Workload prom = Deploy("monitoring", "prometheus-k8s",
                         {{"app.kubernetes.io/name", "prometheus"}, {"prometheus", "k8s"}});
  prom.kind = WorkloadKind::kStatefulSet;
  s.workloads.push_back(prom);
  Workload api = Deploy("shop", "api");
  api.containers[0].ports = {{"metrics", 9090, "TCP"}};
  s.workloads.push_back(api);
  s.workloads.push_back(Deploy("shop", "db"));
  Service svc = Svc("shop", "api", Labels{{"app", "api"}}, {{80, Num(8080)}, {9090, Name("metrics")}});
  svc.ports[1].name = "metrics";
  svc.labels = {{"app", "api"}};
  s.services.push_back(svc);
  Prometheus p;
  p.ns = "monitoring";
  p.name = "k8s";
  p.service_monitor_selector = LabelSelector{};                  // every ServiceMonitor
  p.service_monitor_namespace_selector = Sel({{"monitored", "yes"}});
  p.pod_monitor_selector = Sel({{"team", "data"}});
  p.pod_monitor_namespace_selector = Sel({{"monitored", "yes"}});
  s.prometheuses.push_back(p);
  ServiceMonitor sm;
  sm.ns = "shop";
  sm.name = "api";
  sm.selector = Sel({{"app", "api"}});
  sm.endpoints.push_back({"metrics", {}});
  s.service_monitors.push_back(sm);
  PodMonitor pm;
  pm.ns = "shop";
  pm.name = "db";
  pm.labels = {{"team", "data"}};
  pm.selector = Sel({{"app", "db"}});
  pm.endpoints.push_back({"", 9187, {}});
  s.pod_monitors.push_back(pm);
  return s;
}

TEST(PrometheusTest, MonitorsOpenBothSides) {
  const Result r = Synthesize(MonitoredCluster(), SynthesisConfig::Defaults());
  const PolicyPeer prom =
      NsPods("monitoring", {{"app.kubernetes.io/name", "prometheus"}, {"prometheus", "k8s"}});
  const auto* api = Find(r, "shop", "api");
  EXPECT_EQ(PortsFor(api->policy.ingress, prom), (std::vector<PolicyPort>{Named("metrics")}));
  EXPECT_THAT(AllReasons(api->ingress_reasons),
              Contains("Prometheus monitoring/k8s via ServiceMonitor shop/api endpoint port "
                       "metrics -> Service shop/api"));
  EXPECT_EQ(PortsFor(Find(r, "shop", "db")->policy.ingress, prom),
            (std::vector<PolicyPort>{Tcp(9187)}));
  const auto& egress = Find(r, "monitoring", "prometheus-k8s")->policy.egress;
  EXPECT_EQ(PortsFor(egress, NsPods("shop", {{"app", "api"}})),
            (std::vector<PolicyPort>{Named("metrics")}));
  EXPECT_EQ(PortsFor(egress, NsPods("shop", {{"app", "db"}})), (std::vector<PolicyPort>{Tcp(9187)}));
}

// The operator's Prometheus finds its targets with Kubernetes service
// discovery: its pods reach the API server, and only they.
TEST(PrometheusTest, PrometheusPodsReachTheApiServer) {
  Snapshot s = MonitoredCluster();
  s.endpoint_slices.push_back(ApiServerSlice());
  Result r = Synthesize(s, SynthesisConfig::Defaults());
  const auto* prom = Find(r, "monitoring", "prometheus-k8s");
  EXPECT_EQ(PortsFor(prom->policy.egress, Cidr("192.0.2.10/32")),
            (std::vector<PolicyPort>{Tcp(6443)}));
  EXPECT_THAT(AllReasons(prom->egress_reasons),
              Contains(HasSubstr("API server: Prometheus monitoring/k8s discovers its scrape "
                                 "targets through it")));
  EXPECT_TRUE(PortsFor(Find(r, "shop", "api")->policy.egress, Cidr("192.0.2.10/32")).empty());

  s.endpoint_slices.clear();
  r = Synthesize(s, SynthesisConfig::Defaults());
  EXPECT_THAT(Messages(r),
              Contains(HasSubstr("Prometheus monitoring/k8s discovers its targets through the "
                                 "API server: the API server's address is unknown")));
}

// serviceMonitorSelector null selects none; a namespace selector that does
// not match the monitor's namespace, none either.
TEST(PrometheusTest, SelectorSemantics) {
  Snapshot s = MonitoredCluster();
  s.prometheuses[0].service_monitor_selector.reset();
  Result r = Synthesize(s, SynthesisConfig::Defaults());
  const PolicyPeer prom =
      NsPods("monitoring", {{"app.kubernetes.io/name", "prometheus"}, {"prometheus", "k8s"}});
  EXPECT_TRUE(PortsFor(Find(r, "shop", "api")->policy.ingress, prom).empty());

  s = MonitoredCluster();
  s.prometheuses[0].service_monitor_namespace_selector.reset();  // its own namespace only
  s.prometheuses[0].pod_monitor_namespace_selector.reset();
  r = Synthesize(s, SynthesisConfig::Defaults());
  EXPECT_TRUE(PortsFor(Find(r, "shop", "api")->policy.ingress, prom).empty());
  EXPECT_EQ(PortsFor(Find(r, "shop", "db")->policy.ingress, prom).size(), 0u);  // PM: own ns too

  s = MonitoredCluster();
  s.prometheuses[0].pod_monitor_namespace_selector = LabelSelector{};  // every namespace
  r = Synthesize(s, SynthesisConfig::Defaults());
  EXPECT_EQ(PortsFor(Find(r, "shop", "db")->policy.ingress, prom),
            (std::vector<PolicyPort>{Tcp(9187)}));
}

TEST(PrometheusTest, WithoutPrometheusObjectsTheMonitoringPeersScrape) {
  Snapshot s = MonitoredCluster();
  s.prometheuses.clear();
  s.workloads[0].template_labels = {{"app.kubernetes.io/name", "prometheus"}};
  s.workloads[0].pod_selector = Sel({{"app.kubernetes.io/name", "prometheus"}});
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  const PolicyPeer peers = NsPods("monitoring", {{"app.kubernetes.io/name", "prometheus"}});
  EXPECT_EQ(PortsFor(Find(r, "shop", "api")->policy.ingress, peers),
            (std::vector<PolicyPort>{Named("metrics")}));
  EXPECT_EQ(PortsFor(Find(r, "shop", "db")->policy.ingress, peers),
            (std::vector<PolicyPort>{Tcp(9187)}));
  EXPECT_EQ(PortsFor(Find(r, "monitoring", "prometheus-k8s")->policy.egress,
                     NsPods("shop", {{"app", "db"}})),
            (std::vector<PolicyPort>{Tcp(9187)}));
}

TEST(PrometheusTest, Alertmanagers) {
  Snapshot s = MonitoredCluster();
  Workload am = Deploy("monitoring", "alertmanager-main",
                       {{"app.kubernetes.io/name", "alertmanager"}, {"alertmanager", "main"}});
  am.kind = WorkloadKind::kStatefulSet;
  am.containers[0].ports = {{"web", 9093, "TCP"}};  // the name its Service targets
  s.workloads.push_back(am);
  Service svc = Svc("monitoring", "alertmanager-main", Labels{{"alertmanager", "main"}},
                    {{9093, Name("web")}});
  svc.ports[0].name = "web";
  s.services.push_back(svc);
  s.prometheuses[0].alertmanagers.push_back({"monitoring", "alertmanager-main", Name("web")});
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  EXPECT_EQ(PortsFor(Find(r, "monitoring", "prometheus-k8s")->policy.egress,
                     NsPods("monitoring", {{"alertmanager", "main"}})),
            (std::vector<PolicyPort>{Named("web")}));
  EXPECT_EQ(PortsFor(Find(r, "monitoring", "alertmanager-main")->policy.ingress,
                     NsPods("monitoring",
                            {{"app.kubernetes.io/name", "prometheus"}, {"prometheus", "k8s"}})),
            (std::vector<PolicyPort>{Named("web")}));
}

// --- Rule 3: pods of any controller --------------------------------------------

Pod PodOf(std::string ns, std::string name, Labels labels, OwnerReference owner,
          std::string ip = "") {
  Pod p;
  p.ns = std::move(ns);
  p.name = std::move(name);
  p.labels = std::move(labels);
  p.controller = std::move(owner);
  p.ip = std::move(ip);
  return p;
}

const OwnerReference kRedisCr{"databases.example.com/v1", "RedisCluster", "cache", "cr-1"};

TEST(CustomWorkloadTest, PodsOfAnOperatorFormAWorkload) {
  Snapshot s;
  Pod a = PodOf("data", "cache-0",
                {{"app", "redis"}, {"role", "primary"}, {"controller-revision-hash", "x"}},
                kRedisCr);
  a.spec = Pod::Spec{};
  a.spec.Edit().containers.push_back(Container{"redis", false, {}, {}, {}, {}, {}});
  a.spec.Edit().containers[0].env.push_back({"PEER", "sentinel.data:26379", "", ""});
  Pod b = PodOf("data", "cache-1", {{"app", "redis"}, {"role", "replica"}}, kRedisCr);
  s.pods = {a, b};
  s.services.push_back(Svc("data", "sentinel", Labels{{"app", "sentinel"}}, {{26379, {}}}));
  s.workloads.push_back(Deploy("data", "sentinel"));
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  const auto* cache = Find(r, "data", "cache");
  ASSERT_NE(cache, nullptr);
  EXPECT_EQ(cache->workload.ToString(), "RedisCluster/data/cache");
  EXPECT_EQ(cache->policy.name, "rediscluster-cache");
  EXPECT_EQ(cache->policy.pod_selector, Sel({{"app", "redis"}}));
  EXPECT_EQ(cache->policy.owner,
            (OwnerReference{"databases.example.com/v1", "RedisCluster", "cache", "cr-1"}));
  // Its dependencies come from a pod's spec.
  EXPECT_EQ(PortsFor(cache->policy.egress, NsPods("data", {{"app", "sentinel"}})),
            (std::vector<PolicyPort>{Tcp(26379)}));
  EXPECT_EQ(PortsFor(Find(r, "data", "sentinel")->policy.ingress, NsPods("data", {{"app", "redis"}})),
            (std::vector<PolicyPort>{Tcp(26379)}));
}

TEST(CustomWorkloadTest, RolloutThroughReplicaSetsTakesTheNewestTemplate) {
  Snapshot s;
  const OwnerReference rollout{"argoproj.io/v1alpha1", "Rollout", "api", "ro-1"};
  for (const auto& [name, created, target] :
       {std::tuple{"api-old", "2024-01-01T00:00:00Z", "old.shop:80"},
        std::tuple{"api-new", "2024-02-01T00:00:00Z", "new.shop:80"}}) {
    Workload rs = Deploy("shop", name, {{"app", "api"}});
    rs.kind = WorkloadKind::kReplicaSet;
    rs.has_controller = true;
    rs.controller = rollout;
    rs.created = created;
    Env(rs, "UPSTREAM", target);
    s.workloads.push_back(rs);
  }
  const OwnerReference via_new{"apps/v1", "ReplicaSet", "api-new", "rs-new"};
  s.pods.push_back(PodOf("shop", "api-new-1",
                         {{"app", "api"}, {"rollouts-pod-template-hash", "n1"}}, via_new));
  s.pods.push_back(PodOf("shop", "api-old-1",
                         {{"app", "api"}, {"rollouts-pod-template-hash", "o1"}},
                         {"apps/v1", "ReplicaSet", "api-old", "rs-old"}));
  for (const char* svc : {"old", "new"}) {
    s.services.push_back(Svc("shop", svc, Labels{{"app", svc}}, {{80, {}}}));
  }
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  const auto* api = Find(r, "shop", "api");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->workload.ToString(), "Rollout/shop/api");
  EXPECT_EQ(api->policy.pod_selector, Sel({{"app", "api"}}));
  EXPECT_EQ(PortsFor(api->policy.egress, NsPods("shop", {{"app", "new"}})),
            (std::vector<PolicyPort>{Tcp(80)}));
  EXPECT_TRUE(PortsFor(api->policy.egress, NsPods("shop", {{"app", "old"}})).empty());
  // Controller-owned ReplicaSets are no workloads of their own.
  EXPECT_EQ(r.policies.size(), 1u);
  const ClusterIndex index(s, SynthesisConfig::Defaults());
  const Workload* w = index.FindWorkload({WorkloadKind::kCustom, "shop", "api", "Rollout"});
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->template_from, "ReplicaSet shop/api-new (the newest of 2)");
}

TEST(CustomWorkloadTest, NoSharedLabelMeansNoPolicy) {
  Snapshot s;
  s.pods.push_back(PodOf("data", "x-0", {{"a", "1"}}, kRedisCr));
  s.pods.push_back(PodOf("data", "x-1", {{"b", "2"}}, kRedisCr));
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  EXPECT_THAT(r.policies, IsEmpty());
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0].workload.ToString(), "RedisCluster/data/cache");
  EXPECT_THAT(r.skipped[0].why, HasSubstr("an empty selector would select every pod"));
}

// Without a template or a pod's spec its dependencies are unknown: a policy
// would cut them, so there is none (the controller keeps one spec per such
// workload).
TEST(CustomWorkloadTest, NoSpecKnownMeansNoPolicy) {
  Snapshot s;
  s.pods.push_back(PodOf("data", "cache-0", {{"app", "redis"}}, kRedisCr));
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  EXPECT_THAT(r.policies, IsEmpty());
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_THAT(r.skipped[0].why, HasSubstr("nor a pod's spec is known"));
}

// Backends are every pod the Service selects, as it is labelled now: the
// StatefulSet whose pod was relabelled role=primary backs redis-primary.
TEST(CustomWorkloadTest, FailoverLabelsMakeBackends) {
  Snapshot s;
  Workload redis = Deploy("data", "redis");
  redis.kind = WorkloadKind::kStatefulSet;
  s.workloads.push_back(redis);
  Workload web = Deploy("shop", "web");
  Env(web, "REDIS", "redis-primary.data:6379");
  s.workloads.push_back(web);
  s.services.push_back(
      Svc("data", "redis-primary", Labels{{"app", "redis"}, {"role", "primary"}}, {{6379, {}}}));
  s.pods.push_back(PodOf("data", "redis-0",
                         {{"app", "redis"}, {"role", "primary"},
                          {"statefulset.kubernetes.io/pod-name", "redis-0"}},
                         {"apps/v1", "StatefulSet", "redis", "ss-1"}));
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  EXPECT_EQ(PortsFor(Find(r, "shop", "web")->policy.egress,
                     NsPods("data", {{"app", "redis"}, {"role", "primary"}})),
            (std::vector<PolicyPort>{Tcp(6379)}));
  EXPECT_EQ(PortsFor(Find(r, "data", "redis")->policy.ingress, NsPods("shop", {{"app", "web"}})),
            (std::vector<PolicyPort>{Tcp(6379)}));
  // Without the live label, the template does not match: no ingress.
  s.pods.clear();
  const Result none = Synthesize(s, SynthesisConfig::Defaults());
  EXPECT_TRUE(
      PortsFor(Find(none, "data", "redis")->policy.ingress, NsPods("shop", {{"app", "web"}})).empty());
}

TEST(CustomWorkloadTest, PodIpsResolvePodDnsNames) {
  Snapshot s;
  Workload web = Deploy("shop", "web");
  Env(web, "PEER", "10-1-2-3.data.pod.cluster.local:7000");
  s.workloads.push_back(web);
  Workload node = Deploy("data", "node");
  node.kind = WorkloadKind::kStatefulSet;
  s.workloads.push_back(node);
  s.pods.push_back(
      PodOf("data", "node-0", {{"app", "node"}}, {"apps/v1", "StatefulSet", "node", "s"}, "10.1.2.3"));
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  EXPECT_EQ(PortsFor(Find(r, "shop", "web")->policy.egress, NsPods("data", {{"app", "node"}})),
            (std::vector<PolicyPort>{Tcp(7000)}));
}

// --- Rule 4: overlapping selectors ----------------------------------------------

TEST(OverlapTest, SelectorsThatOverlapUseTheTemplateLabels) {
  Snapshot s;
  Workload primary = Deploy("data", "redis-primary", {{"app", "redis"}, {"role", "primary"}});
  primary.pod_selector = Sel({{"app", "redis"}});
  Workload replica = Deploy("data", "redis-replica", {{"app", "redis"}, {"role", "replica"}});
  replica.pod_selector = Sel({{"app", "redis"}});
  Workload web = Deploy("shop", "web");
  Env(web, "R", "redis-primary.data:6379");
  Env(replica, "P", "redis-primary.data:6379");
  s.workloads = {primary, replica, web};
  s.services.push_back(
      Svc("data", "redis-primary", Labels{{"app", "redis"}, {"role", "primary"}}, {{6379, {}}}));
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  const auto* p = Find(r, "data", "redis-primary");
  EXPECT_EQ(p->policy.pod_selector, Sel({{"app", "redis"}, {"role", "primary"}}));
  EXPECT_EQ(Find(r, "data", "redis-replica")->policy.pod_selector,
            Sel({{"app", "redis"}, {"role", "replica"}}));
  // The replica as a client is named by its own labels too.
  EXPECT_EQ(PortsFor(p->policy.ingress, NsPods("data", {{"app", "redis"}, {"role", "replica"}})),
            (std::vector<PolicyPort>{Tcp(6379)}));
  EXPECT_THAT(Messages(r), IsEmpty());
}

TEST(OverlapTest, WarnsWhenNothingSeparates) {
  Snapshot s;
  Workload wide = Deploy("data", "wide", {{"app", "redis"}});
  Workload narrow = Deploy("data", "narrow", {{"app", "redis"}, {"role", "x"}});
  s.workloads = {wide, narrow};
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  EXPECT_EQ(Find(r, "data", "wide")->policy.pod_selector, Sel({{"app", "redis"}}));
  EXPECT_THAT(Messages(r), Contains(AllOf(HasSubstr("Deployment/data/wide: its selector"),
                                          HasSubstr("Deployment/data/narrow"),
                                          HasSubstr("do not tell them apart"))));
}

// --- Rule 5: ingress classes, Routes, Gateways -----------------------------------

Snapshot ExposedBy(Ingress ing) {
  Snapshot s;
  s.workloads.push_back(Deploy("shop", "web"));
  s.services.push_back(Svc("shop", "web", Labels{{"app", "web"}}, {{80, Num(8080)}}));
  ing.ns = "shop";
  ing.name = "main";
  ing.backends.push_back(IngressBackend{"web", Num(80)});
  s.ingresses.push_back(ing);
  return s;
}

const PolicyPeer kNginx = NsPods("ingress-nginx", {{"app.kubernetes.io/name", "ingress-nginx"}});
const PolicyPeer kTraefik = NsPods("traefik", {{"app.kubernetes.io/name", "traefik"}});

TEST(IngressClassTest, OnlyTheControllerOfTheClass) {
  Ingress ing;
  ing.ingress_class = "public";
  Snapshot s = ExposedBy(ing);
  s.ingress_classes.push_back({"public", "traefik.io/ingress-controller", false});
  Result r = Synthesize(s, SynthesisConfig::Defaults());
  auto in = Find(r, "shop", "web")->policy.ingress;
  EXPECT_EQ(PortsFor(in, kTraefik), (std::vector<PolicyPort>{Tcp(8080)}));
  EXPECT_TRUE(PortsFor(in, kNginx).empty());

  // The legacy annotation, naming a class with no IngressClass object.
  ing = Ingress{};
  ing.class_annotation = "nginx";
  r = Synthesize(ExposedBy(ing), SynthesisConfig::Defaults());
  in = Find(r, "shop", "web")->policy.ingress;
  EXPECT_EQ(PortsFor(in, kNginx), (std::vector<PolicyPort>{Tcp(8080)}));
  EXPECT_TRUE(PortsFor(in, kTraefik).empty());

  // No class: the default IngressClass.
  s = ExposedBy(Ingress{});
  s.ingress_classes.push_back({"nginx", "k8s.io/ingress-nginx", true});
  r = Synthesize(s, SynthesisConfig::Defaults());
  in = Find(r, "shop", "web")->policy.ingress;
  EXPECT_EQ(PortsFor(in, kNginx), (std::vector<PolicyPort>{Tcp(8080)}));
  EXPECT_TRUE(PortsFor(in, kTraefik).empty());

  // No class and no default: every configured controller (as before).
  r = Synthesize(ExposedBy(Ingress{}), SynthesisConfig::Defaults());
  in = Find(r, "shop", "web")->policy.ingress;
  EXPECT_EQ(PortsFor(in, kNginx), (std::vector<PolicyPort>{Tcp(8080)}));
  EXPECT_EQ(PortsFor(in, kTraefik), (std::vector<PolicyPort>{Tcp(8080)}));
}

TEST(IngressClassTest, AClassNoPeerServesWarns) {
  Ingress ing;
  ing.ingress_class = "alb";
  Snapshot s = ExposedBy(ing);
  s.ingress_classes.push_back({"alb", "ingress.k8s.aws/alb", false});
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  EXPECT_EQ(Find(r, "shop", "web")->policy.ingress.size(), 1u);  // own pods only
  EXPECT_THAT(Messages(r), Contains(AllOf(HasSubstr("class alb (controller ingress.k8s.aws/alb)"),
                                          HasSubstr("--ingress-controller-peer"))));
  // A peer that names neither controllers nor classes serves every class.
  SynthesisConfig config = SynthesisConfig::Defaults();
  PeerSelector any_class;
  any_class.namespaces = Sel({{"kubernetes.io/metadata.name", "edge"}});
  any_class.pods = Sel({{"app", "proxy"}});
  config.ingress_controller_peers.push_back(any_class);
  const Result served = Synthesize(s, config);
  EXPECT_EQ(PortsFor(Find(served, "shop", "web")->policy.ingress, NsPods("edge", {{"app", "proxy"}})),
            (std::vector<PolicyPort>{Tcp(8080)}));
}

TEST(RouteTest, TheRouterReachesRoutedServices) {
  Snapshot s;
  s.workloads.push_back(Deploy("shop", "web"));
  s.workloads.push_back(Deploy("shop", "canary"));
  Service web = Svc("shop", "web", Labels{{"app", "web"}}, {{80, Num(8080)}, {443, Num(8443)}});
  web.ports[0].name = "http";
  s.services.push_back(web);
  s.services.push_back(Svc("shop", "canary", Labels{{"app", "canary"}}, {{80, Num(8080)}}));
  s.routes.push_back({"shop", "web", {"web", "canary"}, Name("http")});
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  PolicyPeer router;
  router.namespace_selector = Sel({{"kubernetes.io/metadata.name", "openshift-ingress"}});
  LabelSelector pods;
  pods.match_expressions.push_back(
      {"ingresscontroller.operator.openshift.io/deployment-ingresscontroller", "Exists", {}});
  router.pod_selector = pods;
  EXPECT_EQ(PortsFor(Find(r, "shop", "web")->policy.ingress, router),
            (std::vector<PolicyPort>{Tcp(8080)}));
  // canary has no port named http: warned, not opened.
  EXPECT_TRUE(PortsFor(Find(r, "shop", "canary")->policy.ingress, router).empty());
  EXPECT_THAT(Messages(r), Contains(HasSubstr("targets port http, which Service shop/canary")));
}

Snapshot GatewayCluster(const std::string& controller) {
  Snapshot s;
  s.workloads.push_back(Deploy("shop", "web"));
  s.services.push_back(Svc("shop", "web", Labels{{"app", "web"}}, {{80, Num(8080)}}));
  s.gateways.push_back({"infra", "edge", "the-class"});
  s.gateway_classes.push_back({"the-class", controller});
  GatewayRoute route;
  route.kind = "HTTPRoute";
  route.ns = "shop";
  route.name = "web";
  route.parents.push_back({"gateway.networking.k8s.io", "Gateway", "infra", "edge"});
  route.backends.push_back({"", "Service", "shop", "web", 80});
  s.gateway_routes.push_back(route);
  return s;
}

TEST(GatewayTest, EachImplementationsPods) {
  Result r = Synthesize(GatewayCluster("gateway.envoyproxy.io/gatewayclass-controller"),
                        SynthesisConfig::Defaults());
  EXPECT_EQ(PortsFor(Find(r, "shop", "web")->policy.ingress,
                     NsPods("envoy-gateway-system",
                            {{"gateway.envoyproxy.io/owning-gateway-name", "edge"},
                             {"gateway.envoyproxy.io/owning-gateway-namespace", "infra"}})),
            (std::vector<PolicyPort>{Tcp(8080)}));
  for (const char* c : {"istio.io/gateway-controller", "gateway.nginx.org/nginx-gateway-controller"}) {
    r = Synthesize(GatewayCluster(c), SynthesisConfig::Defaults());
    EXPECT_EQ(PortsFor(Find(r, "shop", "web")->policy.ingress,
                       NsPods("infra", {{"gateway.networking.k8s.io/gateway-name", "edge"}})),
              (std::vector<PolicyPort>{Tcp(8080)}))
        << c;
  }
  // Cilium: no peer selects its proxies' traffic; any source on the port.
  r = Synthesize(GatewayCluster("io.cilium/gateway-controller"), SynthesisConfig::Defaults());
  EXPECT_EQ(AnySourcePorts(Find(r, "shop", "web")->policy.ingress),
            (std::vector<PolicyPort>{Tcp(8080)}));
  EXPECT_THAT(Messages(r), Contains(HasSubstr("no NetworkPolicy peer can select")));
  // An implementation no --gateway-peer names: a warning, nothing opened.
  r = Synthesize(GatewayCluster("example.com/gw"), SynthesisConfig::Defaults());
  EXPECT_EQ(Find(r, "shop", "web")->policy.ingress.size(), 1u);
  EXPECT_THAT(Messages(r), Contains(HasSubstr("--gateway-peer")));
}

TEST(GatewayTest, TheGatewaysOwnPodsAreNotManaged) {
  Snapshot s = GatewayCluster("istio.io/gateway-controller");
  s.workloads.push_back(
      Deploy("infra", "edge-istio", {{"gateway.networking.k8s.io/gateway-name", "edge"}}));
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  EXPECT_EQ(Find(r, "infra", "edge-istio"), nullptr);
  EXPECT_THAT(r.skipped, Contains(::testing::Field(&Skipped::why, "pods of Gateway infra/edge")));
}

// --- Rule 6: address peers ----------------------------------------------------------

TEST(AddressPeerTest, CidrDnsPeerAndHostNetworkControllers) {
  SynthesisConfig config = SynthesisConfig::Defaults();
  PeerSelector local_dns;
  local_dns.cidrs = {"169.254.20.10/32"};
  config.dns_peers.push_back(local_dns);
  Snapshot s = ExposedBy(Ingress{});
  Workload nginx = Deploy("ingress-nginx", "controller",
                          {{"app.kubernetes.io/name", "ingress-nginx"}});
  nginx.host_network = true;
  s.workloads.push_back(nginx);
  Result r = Synthesize(s, config);
  const auto* web = Find(r, "shop", "web");
  EXPECT_EQ(PortsFor(web->policy.egress, Cidr("169.254.20.10/32")),
            (std::vector<PolicyPort>{Tcp(53), Tcp(53, "UDP")}));
  EXPECT_THAT(Messages(r), Contains(AllOf(HasSubstr("Deployment/shop/web: ingress controller"),
                                          HasSubstr("Deployment/ingress-nginx/controller"),
                                          HasSubstr("--node-cidrs"))));
  config.node_cidrs = {"172.18.0.0/24"};
  r = Synthesize(s, config);
  EXPECT_EQ(PortsFor(Find(r, "shop", "web")->policy.ingress, Cidr("172.18.0.0/24")),
            (std::vector<PolicyPort>{Tcp(8080)}));
  EXPECT_THAT(Messages(r), Not(Contains(HasSubstr("--node-cidrs"))));
}

// --- Rule 7: Secrets, opt-in --------------------------------------------------------

TEST(SecretTest, ReadOnlyWhenAsked) {
  Snapshot s;
  Workload api = Deploy("shop", "api");
  EnvVar from_secret;
  from_secret.name = "DB";
  from_secret.secret_name = "db";
  from_secret.secret_key = "url";
  api.containers[0].env.push_back(from_secret);
  api.containers[0].env_from.push_back({"", "", "queue"});
  api.containers[0].env.push_back({"CACHE", "http://$(CACHE_HOST)/", "", ""});
  api.secret_volumes.push_back("files");
  s.workloads.push_back(api);
  s.secrets.push_back({"shop", "db", {{"url", "db.data:5432"}}, {"url"}});
  s.secrets.push_back({"shop", "queue", {{"CACHE_HOST", "cache.data"}}, {"CACHE_HOST"}});
  s.secrets.push_back({"shop", "files", {{"conf", "search.data:9200 tcp://mail"}}, {}});
  s.services.push_back(Svc("data", "db", Labels{{"app", "db"}}, {{5432, {}}}));
  s.services.push_back(Svc("data", "cache", Labels{{"app", "cache"}}, {{80, {}}}));
  s.services.push_back(Svc("data", "search", Labels{{"app", "search"}}, {{9200, {}}}));
  s.services.push_back(Svc("shop", "mail", Labels{{"app", "mail"}}, {{25, {}}}));
  Result r = Synthesize(s, SynthesisConfig::Defaults());
  EXPECT_THAT(r.edges, IsEmpty());
  SynthesisConfig config = SynthesisConfig::Defaults();
  config.read_secrets = true;
  r = Synthesize(s, config);
  std::vector<std::string> named;
  for (const Edge& e : r.edges) named.push_back(e.service_ns + "/" + e.service_name + " " + e.source.field);
  std::sort(named.begin(), named.end());
  EXPECT_THAT(named, ElementsAre("data/cache env CACHE",
                                 "data/cache envFrom secret queue key CACHE_HOST",
                                 "data/db env DB from secret db key url",
                                 "data/search volume secret files key conf",
                                 "shop/mail volume secret files key conf"));
}

}  // namespace
}  // namespace npc::synth
