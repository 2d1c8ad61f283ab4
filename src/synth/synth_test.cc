// Policies: one test per ingress/egress rule type, skips, canonical output.
#include "synth/synth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <sstream>

#include "synth/index.h"

namespace npc::synth {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
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

Service Svc(std::string ns, std::string name, Labels selector,
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

IntOrString Num(int32_t n) {
  return IntOrString{n, ""};
}
IntOrString Name(std::string s) {
  return IntOrString{std::nullopt, std::move(s)};
}

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

PolicyPort NamedPort(std::string name, std::string proto = "TCP") {
  PolicyPort p;
  p.protocol = std::move(proto);
  p.port.str = std::move(name);
  return p;
}

const WorkloadPolicy* Find(const Result& r, const std::string& ns, const std::string& name) {
  for (const auto& p : r.policies) {
    if (p.workload.ns == ns && p.workload.name == name) return &p;
  }
  return nullptr;
}

// The ports on which `rules` allow `peer` (sorted); {} when none; a single
// empty-port entry stands for "all ports".
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

const std::vector<PolicyPort> kAll = {PolicyPort{"", {}, std::nullopt}};

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

// --- Basic shape -------------------------------------------------------------

TEST(PolicyTest, OwnPodsDnsAndMetadata) {
  Snapshot s;
  s.workloads.push_back(Deploy("shop", "web"));
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  ASSERT_EQ(r.policies.size(), 1u);
  const NetworkPolicy& p = r.policies[0].policy;
  EXPECT_EQ(p.ns, "shop");
  EXPECT_EQ(p.name, "deployment-web");
  EXPECT_EQ(p.labels.at("app.kubernetes.io/managed-by"), "netpol-ctrl");
  ASSERT_TRUE(p.owner.has_value());
  EXPECT_EQ(*p.owner, (OwnerReference{"apps/v1", "Deployment", "web", "uid-web"}));
  EXPECT_EQ(p.pod_selector, Sel({{"app", "web"}}));
  EXPECT_EQ(p.policy_types, (std::vector<std::string>{"Ingress", "Egress"}));
  PolicyPeer own;
  own.pod_selector = Sel({{"app", "web"}});
  EXPECT_EQ(p.ingress, (std::vector<PolicyRule>{{{own}, {}}}));
  EXPECT_EQ(r.policies[0].ingress_reasons, (std::vector<std::vector<std::string>>{{"own pods"}}));
  ASSERT_EQ(p.egress.size(), 2u);
  EXPECT_EQ(PortsFor(p.egress, own), kAll);
  EXPECT_EQ(PortsFor(p.egress, NsPods("kube-system", {{"k8s-app", "kube-dns"}})),
            (std::vector<PolicyPort>{Tcp(53), Tcp(53, "UDP")}));
  EXPECT_EQ(r.policies[0].egress_reasons.size(), p.egress.size());
}

// --- Client -> Service -> backend -------------------------------------------

Snapshot ClientServer() {
  Snapshot s;
  Workload web = Deploy("shop", "web", {{"app", "web"}, {"tier", "fe"}});
  Env(web, "API_URL", "http://api.data:8080");
  s.workloads.push_back(web);
  Workload api = Deploy("data", "api");
  api.containers[0].ports.push_back(ContainerPort{"http", 8081, "TCP"});
  s.workloads.push_back(api);
  s.workloads.push_back(Deploy("data", "other"));
  s.services.push_back(
      Svc("data", "api", {{"app", "api"}}, {{8080, Name("http")}, {9090, Num(9091)}}));
  return s;
}

TEST(PolicyTest, ClientAndBackendOnTargetPorts) {
  const Result r = Synthesize(ClientServer(), SynthesisConfig::Defaults());
  const WorkloadPolicy* web = Find(r, "shop", "web");
  const WorkloadPolicy* api = Find(r, "data", "api");
  ASSERT_TRUE(web && api);
  // Egress of the client: backend pods (namespace AND pods in ONE peer), the
  // named targetPort kept as a name (each pod resolves it), and only the
  // Service port the reference named.
  EXPECT_EQ(PortsFor(web->policy.egress, NsPods("data", {{"app", "api"}})),
            (std::vector<PolicyPort>{NamedPort("http")}));
  // Ingress of the backend: the client's whole selector, never split.
  EXPECT_EQ(PortsFor(api->policy.ingress, NsPods("shop", {{"app", "web"}, {"tier", "fe"}})),
            (std::vector<PolicyPort>{NamedPort("http")}));
  EXPECT_THAT(
      AllReasons(api->ingress_reasons),
      Contains("client Deployment/shop/web: container web env API_URL=\"http://api.data:8080\" "
               "names Service data/api (port p8080 8080 -> targetPort http/TCP)"));
  // Nothing for the workload the Service does not select.
  const WorkloadPolicy* other = Find(r, "data", "other");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->policy.ingress.size(), 1u);
  EXPECT_TRUE(PortsFor(web->policy.egress, NsPods("data", {{"app", "other"}})).empty());
  ASSERT_EQ(r.edges.size(), 1u);
  EXPECT_EQ(r.edges[0].service_name, "api");
  EXPECT_EQ(r.edges[0].source.field, "env API_URL");
}

TEST(PolicyTest, NoPortWrittenMeansAllServicePorts) {
  Snapshot s = ClientServer();
  s.workloads[0].containers[0].env[0].value = "api.data";
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  EXPECT_EQ(PortsFor(Find(r, "shop", "web")->policy.egress, NsPods("data", {{"app", "api"}})),
            (std::vector<PolicyPort>{NamedPort("http"), Tcp(9091)}));
}

// A named targetPort that no backend declares resolves on no pod. kube-router
// (2.1) reads a rule whose named ports resolve on no selected pod as a rule
// for every port: such a port is dropped, with a warning, and a rule left
// without ports is dropped whole (never "all ports"). It carries no traffic
// anyway: the Service has no endpoint for that name.
TEST(PolicyTest, NamedTargetPortThatNoBackendDeclaresIsDropped) {
  Snapshot s = ClientServer();
  s.workloads[1].containers[0].ports.clear();
  Result r = Synthesize(s, SynthesisConfig::Defaults());
  const PolicyPeer web = NsPods("shop", {{"app", "web"}, {"tier", "fe"}});
  const PolicyPeer api = NsPods("data", {{"app", "api"}});
  EXPECT_TRUE(PortsFor(Find(r, "data", "api")->policy.ingress, web).empty());
  EXPECT_THAT(Messages(r), Contains(AllOf(HasSubstr("Deployment/data/api"),
                                          HasSubstr("named port http/TCP is declared by no"))));
  // The client's egress keeps the name: the server's ingress refuses it.
  EXPECT_EQ(PortsFor(Find(r, "shop", "web")->policy.egress, api),
            (std::vector<PolicyPort>{NamedPort("http")}));

  // With every Service port referenced, the numeric one stays; the name goes.
  s.workloads[0].containers[0].env[0].value = "api.data";
  r = Synthesize(s, SynthesisConfig::Defaults());
  EXPECT_EQ(PortsFor(Find(r, "data", "api")->policy.ingress, web),
            (std::vector<PolicyPort>{Tcp(9091)}));

  // Declared with another protocol: still no match.
  s.workloads[1].containers[0].ports = {{"http", 8081, "UDP"}};
  r = Synthesize(s, SynthesisConfig::Defaults());
  EXPECT_EQ(PortsFor(Find(r, "data", "api")->policy.ingress, web),
            (std::vector<PolicyPort>{Tcp(9091)}));

  // Declared: kept as the name (each pod resolves it).
  s.workloads[1].containers[0].ports = {{"http", 8081, "TCP"}};
  r = Synthesize(s, SynthesisConfig::Defaults());
  EXPECT_EQ(PortsFor(Find(r, "shop", "web")->policy.egress, api),
            (std::vector<PolicyPort>{NamedPort("http"), Tcp(9091)}));
  EXPECT_EQ(PortsFor(Find(r, "data", "api")->policy.ingress, web),
            (std::vector<PolicyPort>{NamedPort("http"), Tcp(9091)}));
}

// A workload whose pod spec is not known (an operator's pods, no spec read)
// could declare any name: its names stay.
TEST(PolicyTest, NamedTargetPortStaysWhenTheBackendsSpecIsUnknown) {
  Snapshot s = ClientServer();
  s.workloads[1].containers.clear();
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  EXPECT_EQ(PortsFor(Find(r, "data", "api")->policy.ingress,
                     NsPods("shop", {{"app", "web"}, {"tier", "fe"}})),
            (std::vector<PolicyPort>{NamedPort("http")}));
}

// DESIGN.md section 2: a named targetPort is written as the name. Resolving it
// through one backend's container ports (api's grpc is 6379) would open 6379
// on db's pods, which the same selector picks and whose grpc is 5432.
TEST(PolicyTest, NamedTargetPortNeverResolvedThroughOneBackend) {
  Snapshot s;
  Workload api = Deploy("shop", "api", {{"app", "api"}, {"tier", "backend"}});
  api.pod_selector = Sel({{"tier", "backend"}});
  api.containers[0].ports = {{"grpc", 6379, "TCP"}};
  Workload db = Deploy("shop", "db", {{"app", "db"}, {"tier", "backend"}});
  db.pod_selector = Sel({{"app", "db"}});
  db.containers[0].ports = {{"grpc", 5432, "TCP"}};
  Workload web = Deploy("shop", "web");
  Env(web, "BACKEND", "backend:80");
  s.workloads = {api, db, web};
  s.services.push_back(Svc("shop", "backend", {{"tier", "backend"}}, {{80, Name("grpc")}}));
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  const std::vector<PolicyPort> grpc = {NamedPort("grpc")};
  const auto& eg = Find(r, "shop", "web")->policy.egress;
  // The client reaches the pods the Service selects: one peer, its selector.
  EXPECT_EQ(PortsFor(eg, NsPods("shop", {{"tier", "backend"}})), grpc);
  EXPECT_TRUE(PortsFor(eg, NsPods("shop", {{"app", "db"}})).empty());
  EXPECT_EQ(PortsFor(Find(r, "shop", "api")->policy.ingress, NsPods("shop", {{"app", "web"}})),
            grpc);
  EXPECT_EQ(PortsFor(Find(r, "shop", "db")->policy.ingress, NsPods("shop", {{"app", "web"}})),
            grpc);
}

TEST(PolicyTest, ClientsInOtherNamespacesAreSeparatePeers) {
  Snapshot s = ClientServer();
  Workload web2 = Deploy("shop2", "web", {{"app", "web"}, {"tier", "fe"}});
  Env(web2, "U", "api.data.svc:9090");
  s.workloads.push_back(web2);
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  const auto& in = Find(r, "data", "api")->policy.ingress;
  EXPECT_EQ(PortsFor(in, NsPods("shop", {{"app", "web"}, {"tier", "fe"}})),
            (std::vector<PolicyPort>{NamedPort("http")}));
  EXPECT_EQ(PortsFor(in, NsPods("shop2", {{"app", "web"}, {"tier", "fe"}})),
            (std::vector<PolicyPort>{Tcp(9091)}));
  for (const PolicyRule& rule : in) {
    for (const PolicyPeer& p : rule.peers) {
      // Every peer is a whole selector: own pods, or namespace AND pods.
      EXPECT_TRUE(p.pod_selector.has_value());
    }
  }
}

TEST(PolicyTest, ClientInExcludedNamespaceIsStillAllowedIn) {
  Snapshot s = ClientServer();
  Workload sys = Deploy("kube-system", "agent");
  Env(sys, "X", "api.data:8080");
  s.workloads.push_back(sys);
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  EXPECT_EQ(Find(r, "kube-system", "agent"), nullptr);
  EXPECT_EQ(
      PortsFor(Find(r, "data", "api")->policy.ingress, NsPods("kube-system", {{"app", "agent"}})),
      (std::vector<PolicyPort>{NamedPort("http")}));
}

TEST(PolicyTest, SelfReferenceAddsNoIngressBeyondOwnPods) {
  Snapshot s;
  Workload api = Deploy("shop", "api");
  Env(api, "SELF", "api:80");
  s.workloads.push_back(api);
  s.services.push_back(Svc("shop", "api", {{"app", "api"}}, {{80, Num(8080)}}));
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  EXPECT_EQ(r.edges.size(), 1u);
  EXPECT_EQ(r.policies[0].policy.ingress.size(), 1u);
  // Own pods, DNS, and the pods the Service selects (whoever runs them).
  EXPECT_EQ(r.policies[0].policy.egress.size(), 3u);
  EXPECT_EQ(PortsFor(r.policies[0].policy.egress, NsPods("shop", {{"app", "api"}})),
            (std::vector<PolicyPort>{Tcp(8080)}));
}

TEST(PolicyTest, UnresolvedShortNameInOtherNamespace) {
  Snapshot s = ClientServer();
  s.workloads[0].containers[0].env[0].value = "api:8080";
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  EXPECT_THAT(r.edges, IsEmpty());
  ASSERT_EQ(r.unresolved.size(), 1u);
  EXPECT_EQ(r.unresolved[0].host, "api");
  EXPECT_EQ(r.unresolved[0].port, "8080");
  EXPECT_THAT(r.unresolved[0].why, HasSubstr("api.data"));
  EXPECT_EQ(Find(r, "data", "api")->policy.ingress.size(), 1u);
}

// --- $(VAR), ConfigMaps -------------------------------------------------------

TEST(PolicyTest, VarExpansionAndConfigMaps) {
  Snapshot s;
  s.services.push_back(Svc("data", "db", {{"app", "db"}}, {{5432, {}}}));
  s.services.push_back(Svc("data", "cache", {{"app", "cache"}}, {{6379, {}}}));
  s.services.push_back(Svc("data", "queue", {{"app", "queue"}}, {{5672, {}}}));
  s.services.push_back(Svc("data", "mail", {{"app", "mail"}}, {{25, {}}}));
  s.services.push_back(Svc("data", "late", {{"app", "late"}}, {{1, {}}}));
  for (const char* n : {"db", "cache", "queue", "mail", "late"})
    s.workloads.push_back(Deploy("data", n));
  Workload app = Deploy("data", "app");
  Env(app, "EARLY", "$(LATE_HOST):1");  // LATE_HOST is defined later: stays literal
  Env(app, "DB_HOST", "db");
  Env(app, "DB_PORT", "5432");
  Env(app, "DB_URL", "$(DB_HOST):$(DB_PORT)");
  Env(app, "LATE_HOST", "nothing");
  EnvVar ref;
  ref.name = "CACHE";
  ref.config_map_name = "settings";
  ref.config_map_key = "cache";
  app.containers[0].env.push_back(ref);
  app.containers[0].env_from.push_back(EnvFromSource{"settings", "CFG_"});
  app.containers[0].args = {"--queue=$(CFG_queue)", "$$(DB_URL)"};
  app.config_map_volumes = {"files"};
  s.workloads.push_back(app);
  s.config_maps.push_back(
      ConfigMap{"data", "settings", {{"cache", "cache:6379"}, {"queue", "queue:5672"}}});
  s.config_maps.push_back(
      ConfigMap{"data", "files", {{"app.ini", "[smtp]\nurl = smtp://mail:25\n"}}});

  SynthesisConfig config = SynthesisConfig::Defaults();
  Result r = Synthesize(s, config);
  std::vector<std::string> got;
  for (const Edge& e : r.edges) got.push_back(e.service_name + " <- " + e.source.field);
  EXPECT_EQ(got, (std::vector<std::string>{
                     "cache <- env CACHE from configmap settings key cache",
                     "cache <- envFrom configmap settings key cache",
                     "db <- env DB_HOST",
                     "db <- env DB_URL",
                     "mail <- volume configmap files key app.ini",
                     "queue <- args[0]",
                     "queue <- envFrom configmap settings key queue",
                 }));
  const WorkloadPolicy* p = Find(r, "data", "app");
  EXPECT_EQ(PortsFor(p->policy.egress, NsPods("data", {{"app", "mail"}})),
            (std::vector<PolicyPort>{Tcp(25)}));
  EXPECT_TRUE(PortsFor(p->policy.egress, NsPods("data", {{"app", "late"}})).empty());

  config.read_config_maps = false;
  r = Synthesize(s, config);
  got.clear();
  for (const Edge& e : r.edges) got.push_back(e.service_name + " <- " + e.source.field);
  EXPECT_EQ(got, (std::vector<std::string>{"db <- env DB_HOST", "db <- env DB_URL"}));
}

// --- Ingress controllers, LoadBalancer, monitoring -----------------------------

Snapshot Exposed() {
  Snapshot s;
  s.workloads.push_back(Deploy("shop", "web"));
  s.workloads.push_back(Deploy("shop", "admin"));
  s.services.push_back(Svc("shop", "web", {{"app", "web"}}, {{80, Num(8080)}, {81, Num(8081)}}));
  s.services.push_back(Svc("shop", "admin", {{"app", "admin"}}, {{80, Num(9000)}}));
  Ingress ing;
  ing.ns = "shop";
  ing.name = "main";
  ing.backends.push_back(IngressBackend{"web", Num(80)});
  s.ingresses.push_back(ing);
  return s;
}

const PolicyPeer kNginx = NsPods("ingress-nginx", {{"app.kubernetes.io/name", "ingress-nginx"}});

TEST(PolicyTest, IngressControllersOnlyForExposedWorkloads) {
  const Result r = Synthesize(Exposed(), SynthesisConfig::Defaults());
  EXPECT_EQ(PortsFor(Find(r, "shop", "web")->policy.ingress, kNginx),
            (std::vector<PolicyPort>{Tcp(8080)}));
  EXPECT_TRUE(PortsFor(Find(r, "shop", "admin")->policy.ingress, kNginx).empty());
  EXPECT_THAT(AllReasons(Find(r, "shop", "web")->ingress_reasons),
              Contains(AllOf(HasSubstr("Ingress shop/main, no class and no default IngressClass"),
                             HasSubstr("routes to Service shop/web"))));
}

TEST(PolicyTest, IngressControllersModeAll) {
  SynthesisConfig config = SynthesisConfig::Defaults();
  config.ingress_controller_mode = IngressControllerMode::kAll;
  const Result r = Synthesize(Exposed(), config);
  EXPECT_EQ(PortsFor(Find(r, "shop", "web")->policy.ingress, kNginx),
            (std::vector<PolicyPort>{Tcp(8080), Tcp(8081)}));
  EXPECT_EQ(PortsFor(Find(r, "shop", "admin")->policy.ingress, kNginx),
            (std::vector<PolicyPort>{Tcp(9000)}));
}

TEST(PolicyTest, IngressToMissingServicePortWarns) {
  Snapshot s = Exposed();
  s.ingresses[0].backends[0].service_port = Name("nope");
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  EXPECT_TRUE(PortsFor(Find(r, "shop", "web")->policy.ingress, kNginx).empty());
  EXPECT_THAT(Messages(r), Contains(HasSubstr("routes to port nope")));
}

TEST(PolicyTest, LoadBalancerAndNodePortOpenToAnyone) {
  Snapshot s = Exposed();
  s.services[0].type = "LoadBalancer";
  s.services[1].type = "NodePort";
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  for (const char* cidr : {"0.0.0.0/0", "::/0"}) {
    EXPECT_EQ(PortsFor(Find(r, "shop", "web")->policy.ingress, Cidr(cidr)),
              (std::vector<PolicyPort>{Tcp(8080), Tcp(8081)}));
    EXPECT_EQ(PortsFor(Find(r, "shop", "admin")->policy.ingress, Cidr(cidr)),
              (std::vector<PolicyPort>{Tcp(9000)}));
  }
  Snapshot c = Exposed();  // ClusterIP: nobody from outside
  const Result rc = Synthesize(c, SynthesisConfig::Defaults());
  EXPECT_TRUE(PortsFor(Find(rc, "shop", "web")->policy.ingress, Cidr("0.0.0.0/0")).empty());
}

TEST(PolicyTest, MonitoringScrapePortsBothWays) {
  Snapshot s;
  Workload a = Deploy("shop", "a");
  a.template_annotations = {{"prometheus.io/scrape", "true"}, {"prometheus.io/port", "9102"}};
  Workload b = Deploy("shop", "b");
  b.template_annotations = {{"prometheus.io/scrape", "true"}};
  b.containers[0].ports = {{"metrics", 9100, "TCP"}, {"http", 80, "TCP"}};
  Workload c = Deploy("shop", "c");
  c.template_annotations = {{"prometheus.io/scrape", "true"}};  // no port anywhere
  Workload d = Deploy("shop", "d");
  d.template_annotations = {{"prometheus.io/scrape", "false"}, {"prometheus.io/port", "1"}};
  Workload prom = Deploy("monitoring", "prometheus", {{"app.kubernetes.io/name", "prometheus"}});
  s.workloads = {a, b, c, d, prom};
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  const PolicyPeer mon = NsPods("monitoring", {{"app.kubernetes.io/name", "prometheus"}});
  EXPECT_EQ(PortsFor(Find(r, "shop", "a")->policy.ingress, mon),
            (std::vector<PolicyPort>{Tcp(9102)}));
  EXPECT_EQ(PortsFor(Find(r, "shop", "b")->policy.ingress, mon),
            (std::vector<PolicyPort>{Tcp(9100)}));
  EXPECT_TRUE(PortsFor(Find(r, "shop", "c")->policy.ingress, mon).empty());
  EXPECT_TRUE(PortsFor(Find(r, "shop", "d")->policy.ingress, mon).empty());
  EXPECT_THAT(Messages(r), Contains(HasSubstr("Deployment/shop/c: prometheus.io/scrape is true")));
  const auto& pe = Find(r, "monitoring", "prometheus")->policy.egress;
  EXPECT_EQ(PortsFor(pe, NsPods("shop", {{"app", "a"}})), (std::vector<PolicyPort>{Tcp(9102)}));
  EXPECT_EQ(PortsFor(pe, NsPods("shop", {{"app", "b"}})), (std::vector<PolicyPort>{Tcp(9100)}));
  EXPECT_TRUE(PortsFor(pe, NsPods("shop", {{"app", "d"}})).empty());
}

// --- Annotations ---------------------------------------------------------------

TEST(PolicyTest, AnnotationsAddPeers) {
  Snapshot s;
  Workload w = Deploy("shop", "web");
  w.annotations = {
      {"netpol-ctrl.io/allow-ingress-from", "batch, monitoring/app=grafana&tier=ui:3000"},
      {"netpol-ctrl.io/allow-egress",
       "10.0.0.1/8:443, 203.0.113.5:5432/TCP, bogus!, 10.0.0.0/8:80"},
      {"netpol-ctrl.io/allow-api-server", "true"},
  };
  s.workloads.push_back(w);
  EndpointSlice api;
  api.ns = "default";
  api.name = "kubernetes";
  api.service_name = "kubernetes";
  api.addresses = {"172.18.0.2", "172.18.0.3"};
  api.ports = {{"https", 6443, "TCP"}};
  s.endpoint_slices.push_back(api);
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  const NetworkPolicy& p = r.policies[0].policy;
  PolicyPeer batch;
  batch.namespace_selector = Sel({{"kubernetes.io/metadata.name", "batch"}});
  EXPECT_EQ(PortsFor(p.ingress, batch), kAll);
  EXPECT_EQ(PortsFor(p.ingress, NsPods("monitoring", {{"app", "grafana"}, {"tier", "ui"}})),
            (std::vector<PolicyPort>{Tcp(3000)}));
  EXPECT_EQ(PortsFor(p.egress, Cidr("10.0.0.0/8")), (std::vector<PolicyPort>{Tcp(80), Tcp(443)}));
  EXPECT_EQ(PortsFor(p.egress, Cidr("203.0.113.5/32")), (std::vector<PolicyPort>{Tcp(5432)}));
  EXPECT_EQ(PortsFor(p.egress, Cidr("172.18.0.2/32")), (std::vector<PolicyPort>{Tcp(6443)}));
  EXPECT_EQ(PortsFor(p.egress, Cidr("172.18.0.3/32")), (std::vector<PolicyPort>{Tcp(6443)}));
  EXPECT_THAT(Messages(r), Contains(HasSubstr("bogus!")));
}

TEST(PolicyTest, BadAnnotationsOnlyWarn) {
  Snapshot s;
  Workload w = Deploy("shop", "web");
  w.annotations = {{"netpol-ctrl.io/allow-ingress-from", ",,,[[[:::/"},
                   {"netpol-ctrl.io/allow-egress", std::string(100000, ':')},
                   {"netpol-ctrl.io/allow-api-server", "yes"}};
  s.workloads.push_back(w);
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  ASSERT_EQ(r.policies.size(), 1u);
  EXPECT_EQ(r.policies[0].policy.ingress.size(), 1u);
  EXPECT_EQ(r.policies[0].policy.egress.size(), 2u);
  EXPECT_EQ(r.warnings.size(), 3u);
}

// --- Services without backends as workloads -------------------------------------

TEST(PolicyTest, SelectorlessServiceUsesEndpointAddresses) {
  Snapshot s;
  Workload w = Deploy("shop", "web");
  Env(w, "DB", "postgres://legacy-db:5432/x");
  Env(w, "EXT", "https://ext.shop.svc.cluster.local");
  s.workloads.push_back(w);
  Service legacy = Svc("shop", "legacy-db", {}, {{5432, Num(15432)}});
  legacy.selector.reset();
  s.services.push_back(legacy);
  Service ext = Svc("shop", "ext", {}, {{443, {}}});
  ext.selector.reset();
  ext.type = "ExternalName";
  ext.external_name = "api.example.com";
  s.services.push_back(ext);
  EndpointSlice e4{"shop", "legacy-db-abc",  "legacy-db",
                   "IPv4", {"192.168.1.10"}, {{"p5432", 15432, "TCP"}}};
  EndpointSlice e6{"shop", "legacy-db-def", "legacy-db",
                   "IPv6", {"fd00::10"},    {{"p5432", 15432, "TCP"}}};
  s.endpoint_slices = {e4, e6};
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  const auto& eg = r.policies[0].policy.egress;
  EXPECT_EQ(PortsFor(eg, Cidr("192.168.1.10/32")), (std::vector<PolicyPort>{Tcp(15432)}));
  EXPECT_EQ(PortsFor(eg, Cidr("fd00::10/128")), (std::vector<PolicyPort>{Tcp(15432)}));
  EXPECT_THAT(Messages(r),
              Contains("Deployment/shop/web: ExternalName Service shop/ext (-> api.example.com) "
                       "cannot be expressed in a NetworkPolicy; use netpol-ctrl.io/allow-egress"));
  EXPECT_EQ(r.edges.size(), 2u);
}

// An ExternalName Service has no ports: a port written in the reference must
// not make it "unresolved"; the edge is reported as inexpressible instead.
TEST(PolicyTest, ExternalNameWithPortWarnsAndIsNotUnresolved) {
  Snapshot s;
  Workload api = Deploy("a", "api");
  Env(api, "PAY", "https://payments:443");
  Env(api, "PAY2", "payments.a.svc:grpc");
  s.workloads.push_back(api);
  Service pay;
  pay.ns = "a";
  pay.name = "payments";
  pay.type = "ExternalName";
  pay.external_name = "pay.example.com";
  s.services.push_back(pay);
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  EXPECT_THAT(r.unresolved, IsEmpty());
  ASSERT_EQ(r.edges.size(), 2u);
  EXPECT_EQ(r.edges[0].service_name, "payments");
  EXPECT_EQ(Messages(r),
            (std::vector<std::string>{
                "Deployment/a/api: ExternalName Service a/payments (-> pay.example.com) "
                "cannot be expressed in a NetworkPolicy; use netpol-ctrl.io/allow-egress"}));
  EXPECT_EQ(r.policies[0].policy.egress.size(), 2u);  // own pods, DNS: nothing for payments
}

// hostNetwork pods have node addresses: a pod selector never matches them, so
// egress to them needs the node addresses (--node-cidrs); without, no rule
// and a warning that names the flag.
TEST(PolicyTest, HostNetworkTargetsWarnInsteadOfRules) {
  Snapshot s;
  Workload exporter = Deploy("monitoring", "node-exporter");
  exporter.kind = WorkloadKind::kDaemonSet;
  exporter.host_network = true;
  exporter.template_annotations = {{"prometheus.io/scrape", "true"},
                                   {"prometheus.io/port", "9100"}};
  Workload agent = Deploy("infra", "agent");
  agent.host_network = true;
  Workload app = Deploy("shop", "app");
  app.template_annotations = {{"prometheus.io/scrape", "true"}, {"prometheus.io/port", "8080"}};
  Workload web = Deploy("shop", "web");
  Env(web, "AGENT", "agent.infra:8126");
  Workload prom = Deploy("monitoring", "prometheus", {{"app.kubernetes.io/name", "prometheus"}});
  s.workloads = {exporter, agent, app, web, prom};
  s.services.push_back(Svc("infra", "agent", {{"app", "agent"}}, {{8126, {}}}));
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  const auto& pe = Find(r, "monitoring", "prometheus")->policy.egress;
  EXPECT_TRUE(PortsFor(pe, NsPods("monitoring", {{"app", "node-exporter"}})).empty());
  EXPECT_EQ(PortsFor(pe, NsPods("shop", {{"app", "app"}})), (std::vector<PolicyPort>{Tcp(8080)}));
  EXPECT_EQ(PortsFor(pe, NsPods("kube-system", {{"k8s-app", "kube-dns"}})),
            (std::vector<PolicyPort>{Tcp(53), Tcp(53, "UDP")}));
  const auto& we = Find(r, "shop", "web")->policy.egress;
  // The Service's selector is written (it matches no hostNetwork pod, and
  // follows the Service should other pods back it); no address rule.
  EXPECT_EQ(PortsFor(we, NsPods("infra", {{"app", "agent"}})), (std::vector<PolicyPort>{Tcp(8126)}));
  EXPECT_EQ(we.size(), 3u);  // own pods, DNS, the Service's pods
  EXPECT_THAT(Messages(r),
              Contains("Deployment/monitoring/prometheus: DaemonSet/monitoring/node-exporter "
                       "(scrape target (prometheus.io/scrape=true), hostNetwork) uses the nodes' "
                       "addresses, which no pod selector matches: set --node-cidrs (the nodes' "
                       "addresses) to allow it on 9100/TCP"));
  EXPECT_THAT(Messages(r),
              Contains(AllOf(HasSubstr("Deployment/shop/web: Deployment/infra/agent "
                                       "(backend of Service infra/agent, hostNetwork)"),
                             HasSubstr("--node-cidrs"), HasSubstr("on 8126/TCP"))));

  // With the nodes' addresses, both get a rule on the node CIDRs.
  SynthesisConfig config = SynthesisConfig::Defaults();
  config.node_cidrs = {"172.18.0.0/24"};
  const Result n = Synthesize(s, config);
  PolicyPeer nodes;
  nodes.ip_block = IPBlock{"172.18.0.0/24", {}};
  EXPECT_EQ(PortsFor(Find(n, "monitoring", "prometheus")->policy.egress, nodes),
            (std::vector<PolicyPort>{Tcp(9100)}));
  EXPECT_EQ(PortsFor(Find(n, "shop", "web")->policy.egress, nodes),
            (std::vector<PolicyPort>{Tcp(8126)}));
  EXPECT_THAT(Messages(n), Not(Contains(HasSubstr("--node-cidrs"))));
}

TEST(PolicyTest, PodDnsNameAllowsThatWorkload) {
  Snapshot s;
  Workload w = Deploy("shop", "web");
  Env(w, "PEER", "10-1-2-3.data.pod.cluster.local:7000");
  s.workloads.push_back(w);
  s.workloads.push_back(Deploy("data", "node"));
  s.pod_addresses.push_back(
      PodAddress{"data", "10.1.2.3", {WorkloadKind::kDeployment, "data", "node"}});
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  EXPECT_EQ(PortsFor(Find(r, "shop", "web")->policy.egress, NsPods("data", {{"app", "node"}})),
            (std::vector<PolicyPort>{Tcp(7000)}));
  EXPECT_EQ(PortsFor(Find(r, "data", "node")->policy.ingress, NsPods("shop", {{"app", "web"}})),
            (std::vector<PolicyPort>{Tcp(7000)}));
}

// --- Skips -------------------------------------------------------------------------

TEST(SkipTest, EveryKindOfSkip) {
  Snapshot s;
  s.namespaces.push_back(Namespace{"quiet", {}, {{"netpol-ctrl.io/ignore", "true"}}});
  s.workloads.push_back(Deploy("kube-system", "coredns", {{"k8s-app", "kube-dns"}}));
  s.workloads.push_back(Deploy("quiet", "x"));
  Workload ignored = Deploy("shop", "ignored");
  ignored.annotations = {{"netpol-ctrl.io/ignore", "true"}};
  s.workloads.push_back(ignored);
  Workload host = Deploy("shop", "host");
  host.host_network = true;
  s.workloads.push_back(host);
  Workload owned = Deploy("shop", "web-abc-123");
  owned.kind = WorkloadKind::kPod;
  owned.has_controller = true;
  s.workloads.push_back(owned);
  s.workloads.push_back(
      Deploy("ingress-nginx", "controller", {{"app.kubernetes.io/name", "ingress-nginx"}}));
  s.workloads.push_back(Deploy("dns", "resolver", {{"role", "dns"}}));
  s.workloads.push_back(Deploy("shop", "web"));
  SynthesisConfig config = SynthesisConfig::Defaults();
  PeerSelector dns;
  dns.namespaces = Sel({{"kubernetes.io/metadata.name", "dns"}});
  dns.pods = Sel({{"role", "dns"}});
  config.dns_peers.push_back(dns);
  const Result r = Synthesize(s, config);
  ASSERT_EQ(r.policies.size(), 1u);
  EXPECT_EQ(r.policies[0].policy.name, "deployment-web");
  std::vector<std::string> skipped;
  for (const Skipped& k : r.skipped) skipped.push_back(k.workload.ToString() + ": " + k.why);
  EXPECT_EQ(skipped,
            (std::vector<std::string>{
                "Deployment/dns/resolver: a configured DNS server",
                "Deployment/ingress-nginx/controller: a configured ingress controller",
                "Deployment/kube-system/coredns: namespace kube-system is excluded",
                "Deployment/quiet/x: namespace quiet is annotated netpol-ctrl.io/ignore=true",
                "Deployment/shop/host: hostNetwork pods are not subject to NetworkPolicy",
                "Deployment/shop/ignored: annotated netpol-ctrl.io/ignore=true",
            }));
}

// --- Bare pods, names ------------------------------------------------------------

TEST(NameTest, BarePodWithoutLabels) {
  Snapshot s;
  Workload pod = Deploy("shop", "debug");
  pod.kind = WorkloadKind::kPod;
  pod.pod_selector = {};
  pod.template_labels = {};
  s.workloads.push_back(pod);
  const Result r = Synthesize(s, SynthesisConfig::Defaults());
  ASSERT_EQ(r.policies.size(), 1u);
  EXPECT_EQ(r.policies[0].policy.name, "pod-debug");
  EXPECT_EQ(r.policies[0].policy.owner->api_version, "v1");
  EXPECT_EQ(r.policies[0].policy.pod_selector, Sel({{"netpol-ctrl.io/pod", "debug"}}));
  // Only the controller adds that label: offline output must say so.
  EXPECT_EQ(Messages(r), (std::vector<std::string>{
                             "Pod/shop/debug: bare Pod shop/debug has no labels: the controller "
                             "labels it netpol-ctrl.io/pod=debug; when applying offline output, "
                             "add that label"}));
  Snapshot labelled;
  labelled.workloads.push_back(Deploy("shop", "debug"));
  labelled.workloads.back().kind = WorkloadKind::kPod;
  EXPECT_THAT(Synthesize(labelled, SynthesisConfig::Defaults()).warnings, IsEmpty());

  const std::string long_name(200, 'p');
  const std::string v = BarePodLabelValue(long_name);
  EXPECT_LE(v.size(), 63u);
  EXPECT_EQ(v.substr(0, 40), long_name.substr(0, 40));
  EXPECT_NE(v, BarePodLabelValue(long_name + "q"));
  EXPECT_EQ(v, BarePodLabelValue(long_name));
  EXPECT_EQ(BarePodLabelValue("short"), "short");
  // The cut never leaves '-' or '.' before the hash.
  const std::string dashed = std::string(51, 'a') + "-.-" + std::string(30, 'b');
  const std::string d = BarePodLabelValue(dashed);
  EXPECT_LE(d.size(), 63u);
  EXPECT_EQ(d.find("--"), std::string::npos) << d;
  EXPECT_EQ(d.find(".-"), std::string::npos) << d;
}

TEST(NameTest, PolicyNameLengthAndHash) {
  EXPECT_EQ(PolicyName({WorkloadKind::kStatefulSet, "data", "DB"}), "statefulset-db");
  EXPECT_EQ(PolicyName({WorkloadKind::kCronJob, "x", "nightly"}), "cronjob-nightly");
  const std::string n250(250, 'a');
  const std::string a = PolicyName({WorkloadKind::kDeployment, "x", n250});
  const std::string b = PolicyName({WorkloadKind::kDeployment, "x", n250.substr(0, 249) + "b"});
  EXPECT_EQ(a.size(), 253u);
  EXPECT_EQ(b.size(), 253u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a, PolicyName({WorkloadKind::kDeployment, "x", n250}));
  EXPECT_EQ(a.substr(0, 11), "deployment-");
  EXPECT_EQ(PolicyName({WorkloadKind::kDeployment, "x", std::string(242, 'a')}).size(), 253u);
  EXPECT_EQ(PolicyName({WorkloadKind::kDeployment, "x", std::string(242, 'a')}),
            "deployment-" + std::string(242, 'a'));  // exactly 253: not cut
}

// --- Default deny ------------------------------------------------------------------

TEST(DefaultDenyTest, OnePerManagedNamespace) {
  Snapshot s;
  s.namespaces = {{"shop", {}, {}},
                  {"empty", {}, {}},
                  {"kube-system", {}, {}},
                  {"quiet", {}, {{"netpol-ctrl.io/ignore", "true"}}}};
  s.workloads.push_back(Deploy("shop", "web"));
  s.workloads.push_back(
      Deploy("ingress-nginx", "c", {{"app.kubernetes.io/name", "ingress-nginx"}}));
  SynthesisConfig config = SynthesisConfig::Defaults();
  EXPECT_THAT(Synthesize(s, config).default_deny, IsEmpty());
  config.default_deny = true;
  const Result r = Synthesize(s, config);
  std::vector<std::string> ns;
  for (const NetworkPolicy& p : r.default_deny) {
    ns.push_back(p.ns);
    EXPECT_EQ(p.name, "default-deny");
    EXPECT_TRUE(p.pod_selector.empty());
    EXPECT_TRUE(p.ingress.empty() && p.egress.empty());
    EXPECT_EQ(p.policy_types, (std::vector<std::string>{"Ingress", "Egress"}));
    EXPECT_FALSE(p.owner.has_value());
  }
  // ingress-nginx holds an unmanaged controller: isolating it would break it.
  EXPECT_EQ(ns, (std::vector<std::string>{"empty", "shop"}));
  EXPECT_THAT(Messages(r), Contains(HasSubstr("gets no default-deny")));
}

// --- Canonical output ---------------------------------------------------------------

std::string Dump(const Result& r) {
  std::ostringstream o;
  auto sel = [&](const LabelSelector& s) {
    for (const auto& [k, v] : s.match_labels) o << k << "=" << v << ",";
    for (const auto& e : s.match_expressions) {
      o << e.key << " " << e.op << " (";
      for (const auto& v : e.values) o << v << " ";
      o << ")";
    }
  };
  auto rules = [&](const std::vector<PolicyRule>& rs,
                   const std::vector<std::vector<std::string>>& why) {
    for (size_t i = 0; i < rs.size(); ++i) {
      o << "  rule\n";
      for (const auto& p : rs[i].peers) {
        o << "    peer ns{";
        if (p.namespace_selector) sel(*p.namespace_selector);
        o << "} pods{";
        if (p.pod_selector) sel(*p.pod_selector);
        o << "} ip{" << (p.ip_block ? p.ip_block->cidr : "") << "}\n";
      }
      for (const auto& p : rs[i].ports)
        o << "    port " << p.protocol << " " << p.port.ToString() << "\n";
      for (const auto& w : why[i]) o << "    why " << w << "\n";
    }
  };
  for (const auto& p : r.policies) {
    o << p.policy.ns << "/" << p.policy.name << " sel{";
    sel(p.policy.pod_selector);
    o << "}\n ingress\n";
    rules(p.policy.ingress, p.ingress_reasons);
    o << " egress\n";
    rules(p.policy.egress, p.egress_reasons);
  }
  for (const auto& e : r.edges) {
    o << "edge " << e.client.ToString() << " " << e.service_ns << "/" << e.service_name << " "
      << e.host << " " << e.source.field << " " << e.ports.size() << "\n";
  }
  for (const auto& u : r.unresolved)
    o << "unresolved " << u.client.ToString() << " " << u.host << " " << u.why << "\n";
  for (const auto& k : r.skipped) o << "skipped " << k.workload.ToString() << " " << k.why << "\n";
  for (const auto& w : r.warnings)
    o << "warning " << w.workload.ToString() << " " << w.message << "\n";
  for (const auto& d : r.default_deny) o << "deny " << d.ns << "\n";
  return o.str();
}

Snapshot RandomCluster(uint32_t seed) {
  std::mt19937 rng(seed);
  Snapshot s;
  const std::vector<std::string> nss = {"a",         "b", "c", "kube-system", "ingress-nginx",
                                        "monitoring"};
  for (const auto& n : nss) s.namespaces.push_back(Namespace{n, {}, {}});
  for (int i = 0; i < 60; ++i) {
    const std::string ns = nss[rng() % nss.size()];
    Workload w = Deploy(ns, "w" + std::to_string(i), {{"app", "w" + std::to_string(i % 20)}});
    if (rng() % 3 == 0)
      w.pod_selector.match_expressions.push_back({"tier", "NotIn", {"z", "y", "z"}});
    for (int k = 0; k < 3; ++k) {
      const int t = static_cast<int>(rng() % 30);
      Env(w, "E" + std::to_string(k),
          "http://s" + std::to_string(t) + "." + nss[rng() % nss.size()] + ":" +
              std::to_string(80 + rng() % 3) + ",s" + std::to_string(t) + ":81");
    }
    if (rng() % 5 == 0)
      w.template_annotations = {{"prometheus.io/scrape", "true"}, {"prometheus.io/port", "9090"}};
    if (rng() % 7 == 0) w.annotations = {{"netpol-ctrl.io/allow-egress", "10.0.0.0/8:443"}};
    s.workloads.push_back(w);
  }
  for (int i = 0; i < 30; ++i) {
    Service svc =
        Svc(nss[rng() % 3], "s" + std::to_string(i), {{"app", "w" + std::to_string(rng() % 20)}},
            {{80, Num(8080)}, {81, Name("http")}});
    if (i % 9 == 0) svc.type = "LoadBalancer";
    s.services.push_back(svc);
  }
  Ingress ing;
  ing.ns = "a";
  ing.name = "i";
  ing.backends = {{"s1", Num(80)}, {"s2", {}}};
  s.ingresses.push_back(ing);
  return s;
}

TEST(CanonicalTest, ShuffledInputGivesIdenticalOutput) {
  SynthesisConfig config = SynthesisConfig::Defaults();
  config.default_deny = true;
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    Snapshot s = RandomCluster(seed);
    const std::string want = Dump(Synthesize(s, config));
    ASSERT_THAT(want, HasSubstr("edge "));
    std::mt19937 rng(seed * 7919);
    for (int round = 0; round < 5; ++round) {
      std::shuffle(s.workloads.begin(), s.workloads.end(), rng);
      std::shuffle(s.services.begin(), s.services.end(), rng);
      std::shuffle(s.namespaces.begin(), s.namespaces.end(), rng);
      const Result got = Synthesize(s, config);
      ASSERT_EQ(Dump(got), want) << "seed " << seed << " round " << round;
    }
  }
}

TEST(CanonicalTest, RulesArePeersSortedUniqueAndReasonsParallel) {
  const Result r = Synthesize(RandomCluster(3), SynthesisConfig::Defaults());
  ASSERT_FALSE(r.policies.empty());
  for (const auto& p : r.policies) {
    for (const auto* rules : {&p.policy.ingress, &p.policy.egress}) {
      EXPECT_TRUE(std::is_sorted(rules->begin(), rules->end()));
      EXPECT_EQ(std::adjacent_find(rules->begin(), rules->end()), rules->end());
      std::vector<PolicyPeer> all;
      for (const auto& rule : *rules) {
        EXPECT_TRUE(std::is_sorted(rule.peers.begin(), rule.peers.end()));
        EXPECT_TRUE(std::is_sorted(rule.ports.begin(), rule.ports.end()));
        EXPECT_EQ(std::adjacent_find(rule.ports.begin(), rule.ports.end()), rule.ports.end());
        all.insert(all.end(), rule.peers.begin(), rule.peers.end());
        for (const auto& peer : rule.peers) {
          if (peer.pod_selector) {
            for (const auto& e : peer.pod_selector->match_expressions) {
              EXPECT_TRUE(std::is_sorted(e.values.begin(), e.values.end()));
              EXPECT_EQ(std::adjacent_find(e.values.begin(), e.values.end()), e.values.end());
            }
          }
        }
      }
      std::sort(all.begin(), all.end());
      EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end()) << "a peer in two rules";
    }
    EXPECT_EQ(p.ingress_reasons.size(), p.policy.ingress.size());
    EXPECT_EQ(p.egress_reasons.size(), p.policy.egress.size());
    for (const auto& why : p.ingress_reasons) EXPECT_THAT(why, Not(IsEmpty()));
    for (const auto& why : p.egress_reasons) EXPECT_THAT(why, Not(IsEmpty()));
  }
}

TEST(IndexTest, ComputePolicyMatchesSynthesize) {
  const Snapshot s = RandomCluster(4);
  const SynthesisConfig config = SynthesisConfig::Defaults();
  const Result r = Synthesize(s, config);
  const ClusterIndex index(s, config);
  for (const WorkloadPolicy& p : r.policies) {
    const Workload* w = index.FindWorkload(p.workload);
    ASSERT_NE(w, nullptr);
    EXPECT_FALSE(index.SkipReason(*w).has_value());
    const WorkloadPolicy one = ComputePolicy(index, *w);
    EXPECT_EQ(one.policy, p.policy);
    EXPECT_EQ(one.ingress_reasons, p.ingress_reasons);
    EXPECT_EQ(one.egress_reasons, p.egress_reasons);
  }
}

}  // namespace
}  // namespace npc::synth
