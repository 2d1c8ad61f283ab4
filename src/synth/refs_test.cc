// Reference extraction and resolution: a table of vectors (value, client
// namespace -> what it names), plus $(VAR) expansion and robustness cases.
#include "synth/refs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "synth/annotations.h"
#include "synth/index.h"

namespace npc::synth {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

ServicePort Port(std::string name, int32_t port, std::string proto = "TCP") {
  ServicePort p;
  p.name = std::move(name);
  p.port = port;
  p.protocol = std::move(proto);
  return p;
}

Service Svc(std::string ns, std::string name, std::vector<ServicePort> ports) {
  Service s;
  s.ns = std::move(ns);
  s.name = std::move(name);
  s.selector = Labels{{"app", s.name}};
  s.ports = std::move(ports);
  return s;
}

Snapshot Fixture() {
  Snapshot s;
  for (const char* ns : {"shop", "data", "cache", "redis", "other", "monitoring"}) {
    s.namespaces.push_back(Namespace{ns, {}, {}});
  }
  s.services.push_back(Svc("shop", "api", {Port("http", 8080), Port("grpc", 9090)}));
  s.services.push_back(Svc("shop", "my-server", {Port("", 5024)}));
  s.services.push_back(Svc("shop", "web", {Port("http", 80)}));
  s.services.back().ports[0].target_port.num = 8080;
  s.services.push_back(Svc("shop", "dns", {Port("dns-udp", 53, "UDP"), Port("dns-tcp", 53)}));
  for (const char* n : {"a", "b", "c", "d"}) s.services.push_back(Svc("shop", n, {Port("", 1), Port("", 2)}));
  s.services.push_back(Svc("data", "db", {Port("postgres", 5432)}));
  s.services.back().headless = true;
  s.services.push_back(Svc("data", "mongo", {Port("mongo", 27017)}));
  Service ext = Svc("data", "external", {});
  ext.type = "ExternalName";
  ext.selector.reset();
  ext.external_name = "db.example.com";
  s.services.push_back(ext);
  s.services.push_back(Svc("cache", "redis", {Port("redis", 6379)}));
  s.services.push_back(Svc("redis", "redis-leader", {Port("", 6379)}));
  s.services.push_back(Svc("other", "db", {Port("", 5432)}));
  s.pod_addresses.push_back(PodAddress{"data", "10.1.2.3", {WorkloadKind::kStatefulSet, "data", "db"}});
  return s;
}

// "ns/name:P1+P2" (ports written) or "ns/name:*" (none written, all ports);
// "pod:Kind/ns/name:..." for pod DNS; "?host[:port]" when unresolved.
std::string Show(const ClusterIndex::Resolution& r) {
  if (!r.service && !r.target) return "?" + r.host + (r.port.empty() ? "" : ":" + r.port);
  std::string out = r.service ? r.service->ns + "/" + r.service->name : "pod:" + r.target->ToString();
  out += ':';
  if (r.port.empty()) return out + "*";
  for (size_t i = 0; i < r.ports.size(); ++i) {
    if (i) out += '+';
    out += std::to_string(r.ports[i].port);
    if (r.ports[i].protocol != "TCP") out += "/" + r.ports[i].protocol;
  }
  return out;
}

struct Vector {
  std::string value;
  std::string ns;
  std::vector<std::string> want;
  std::string domain = "cluster.local";
};

void PrintTo(const Vector& v, std::ostream* os) {
  *os << "\"" << v.value.substr(0, 80) << "\" from " << v.ns;
}

class RefVectorTest : public ::testing::TestWithParam<Vector> {};

TEST_P(RefVectorTest, Resolves) {
  const Vector& v = GetParam();
  const Snapshot snap = Fixture();
  SynthesisConfig config = SynthesisConfig::Defaults();
  config.cluster_domain = v.domain;
  const ClusterIndex index(snap, config);
  std::vector<std::string> got;
  for (const auto& r : index.ResolveValue(v.ns, v.value)) got.push_back(Show(r));
  EXPECT_EQ(got, v.want) << "value: " << v.value.substr(0, 200) << " (client namespace " << v.ns
                         << ")";
}

const std::vector<Vector> kVectors = {
    // URLs.
    {"postgres://u:p@db.data.svc.cluster.local:5432/app?sslmode=disable", "shop", {"data/db:5432"}},
    {"http://api", "shop", {"shop/api:*"}},
    {"http://api:8080/v1/users?x=1#frag", "shop", {"shop/api:8080"}},
    {"http://web.shop", "data", {"shop/web:*"}},
    {"tcp://redis.cache:6379", "shop", {"cache/redis:6379"}},
    {"redis://:password@redis.cache:6379/0", "shop", {"cache/redis:6379"}},
    {"jdbc:postgresql://db.data:5432/app", "shop", {"data/db:5432"}},
    {"user:pw@tcp(db.data:5432)/app", "shop", {"data/db:5432"}},
    {"mongodb://u:p@mongo.data:27017,db.data:5432/app?replicaSet=rs", "shop",
     {"data/mongo:27017", "data/db:5432"}},
    {"api.shop.svc.cluster.local:8080/health", "data", {"shop/api:8080"}},
    {"http://gw:80/next?to=http://api.shop:8080/x", "data", {"shop/api:8080"}},
    {"amqp://guest:guest@rabbit:5672", "shop", {}},
    // Flags.
    {"-server=my-server:5024", "shop", {"shop/my-server:5024"}},
    {"--db=db.data:5432", "shop", {"data/db:5432"}},
    {"-server=my-server:5024 --db=db.data.svc:5432", "shop", {"shop/my-server:5024", "data/db:5432"}},
    {"--upstream=api", "shop", {}},  // after '=' without a port: not in host position
    {"API_URL=http://api:8080", "shop", {"shop/api:8080"}},
    // Short names: own namespace, host position only.
    {"api", "shop", {"shop/api:*"}},
    {"  api  ", "shop", {"shop/api:*"}},
    {"api\n", "shop", {"shop/api:*"}},
    {"api:8080", "shop", {"shop/api:8080"}},
    {"api:http", "shop", {"shop/api:8080"}},
    {"api:grpc", "shop", {"shop/api:9090"}},
    {"'api:8080'", "shop", {"shop/api:8080"}},
    {"{\"url\":\"http://api:8080\"}", "shop", {"shop/api:8080"}},
    {"call api now", "shop", {}},
    {"api:", "shop", {}},
    {"api", "data", {"?api"}},  // api lives in shop only
    {"db", "data", {"data/db:*"}},
    {"db:5432", "shop", {"?db:5432"}},  // db exists in data and other, not in shop
    {"db", "shop", {"?db"}},
    {"redis-leader:6379", "shop", {"?redis-leader:6379"}},
    {"dns:53", "shop", {"shop/dns:53/UDP+53"}},
    // Namespace-qualified names.
    {"redis-leader.redis:6379", "shop", {"redis/redis-leader:6379"}},
    {"use redis.cache please", "shop", {"cache/redis:*"}},
    {"db.other", "shop", {"other/db:*"}},
    {"external.data", "shop", {"data/external:*"}},
    {"nope.data", "shop", {"?nope.data"}},
    {"foo.bar", "shop", {}},
    {"api.shop.svc", "data", {"shop/api:*"}},
    {"api.shop.svc:8080", "data", {"shop/api:8080"}},
    {"API.Shop.SVC.Cluster.Local", "data", {"shop/api:*"}},
    {"api.shop.svc.cluster.local.", "data", {"shop/api:*"}},
    {"nope.data.svc.cluster.local", "shop", {"?nope.data.svc.cluster.local"}},
    {"nope.nowhere.svc", "shop", {"?nope.nowhere.svc"}},
    {"a.b.c.svc.cluster.local", "shop", {"?a.b.c.svc.cluster.local"}},
    {"foo.cluster.local", "shop", {"?foo.cluster.local"}},
    {"the cluster.local domain", "shop", {}},
    // Headless per-pod DNS and pod DNS.
    {"db-0.db.data.svc.cluster.local", "shop", {"data/db:*"}},
    {"db-0.db.data.svc.cluster.local:5432", "shop", {"data/db:5432"}},
    {"db-0.db.data.svc", "shop", {"data/db:*"}},
    {"10-1-2-3.data.pod.cluster.local:5432", "shop", {"pod:StatefulSet/data/db:5432"}},
    {"10-1-2-3.data.pod", "shop", {"pod:StatefulSet/data/db:*"}},
    {"10-9-9-9.data.pod.cluster.local", "shop", {"?10-9-9-9.data.pod.cluster.local"}},
    {"x-y.data.pod.cluster.local", "shop", {"?x-y.data.pod.cluster.local"}},
    // Named and bad ports.
    {"redis.cache:redis", "shop", {"cache/redis:6379"}},
    {"redis.cache:nope", "shop", {"?redis.cache:nope"}},
    {"api:8081", "shop", {"?api:8081"}},
    {"api:70000", "shop", {}},
    {"api:0", "shop", {}},
    {"http://api:70000/", "shop", {"?api:70000"}},
    {"db.data:70000", "shop", {"?db.data:70000"}},
    {"db.data:99999999999999999999", "shop", {"?db.data:99999999999999999999"}},
    // Lists.
    {"a:1,b:2;c d", "shop", {"shop/a:1", "shop/b:2"}},
    {"web.shop:80,api.shop:8080", "data", {"shop/web:80", "shop/api:8080"}},
    {"api.shop:8080;web.shop:80", "data", {"shop/api:8080", "shop/web:80"}},
    {"http://api:8080 http://api:8080", "shop", {"shop/api:8080"}},
    // IPs, numbers and noise are not Service references.
    {"10.0.0.1:5432", "shop", {}},
    {"10.0.0.1", "shop", {}},
    {"[::1]:8080", "shop", {}},
    {"http://[2001:db8::1]:8080/x", "shop", {}},
    {"fe80::1", "shop", {}},
    {"12:30", "shop", {}},
    {"1.2.3", "shop", {}},
    {"v1.2", "shop", {}},
    {"my_server:5024", "shop", {}},
    {"example.com", "shop", {}},
    {"api.example.com:443", "shop", {}},
    {"", "shop", {}},
    {"   ", "shop", {}},
    {":::::", "shop", {}},
    {"://", "shop", {}},
    {"@@@:", "shop", {}},
    // Unicode.
    {"\xc3\xbc" "n\xc3\xaf" "code api:8080 \xe2\x9c\x93", "shop", {"shop/api:8080"}},
    {"\xd0\xb0pi:8080", "shop", {}},  // Cyrillic 'a'
    {"caf\xc3\xa9" ".data", "shop", {}},
    // A custom cluster domain.
    {"api.shop.svc.corp.example:8080", "data", {"shop/api:8080"}, "corp.example"},
    {"api.shop.svc.cluster.local:8080", "data", {"?api.shop.svc.cluster.local:8080"},
     "corp.example"},
    {"10-1-2-3.data.pod.corp.example", "shop", {"pod:StatefulSet/data/db:*"}, "corp.example"},
    {"api.shop.svc:8080", "data", {"shop/api:8080"}, "corp.example"},
};

INSTANTIATE_TEST_SUITE_P(Vectors, RefVectorTest, ::testing::ValuesIn(kVectors));

TEST(RefVectorTest, HasEnoughVectors) { EXPECT_GE(kVectors.size(), 60u); }

TEST(ResolveTest, UnresolvedSaysWhy) {
  const Snapshot snap = Fixture();
  const SynthesisConfig config = SynthesisConfig::Defaults();
  const ClusterIndex index(snap, config);
  auto why = [&](std::string_view ns, std::string_view v) {
    auto r = index.ResolveValue(ns, v);
    return r.size() == 1 ? r[0].why : std::string("<" + std::to_string(r.size()) + " results>");
  };
  EXPECT_THAT(why("shop", "db:5432"), HasSubstr("db.data, db.other"));
  EXPECT_THAT(why("shop", "api:8081"), HasSubstr("port 8081 is not a port of Service shop/api"));
  EXPECT_THAT(why("shop", "redis.cache:nope"), HasSubstr("port name nope"));
  EXPECT_THAT(why("shop", "nope.data"), HasSubstr("no Service nope in namespace data"));
  EXPECT_THAT(why("shop", "db.data:70000"), HasSubstr("not a port number"));
  EXPECT_THAT(why("shop", "10-9-9-9.data.pod"), HasSubstr("no known pod with IP 10.9.9.9"));
}

TEST(ResolveTest, PodDnsOfflineSaysPodIpsUnknown) {
  Snapshot snap = Fixture();
  snap.pod_addresses.clear();
  const SynthesisConfig config = SynthesisConfig::Defaults();
  const ClusterIndex index(snap, config);
  auto r = index.ResolveValue("shop", "10-1-2-3.data.pod.cluster.local");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_THAT(r[0].why, HasSubstr("not known"));
}

TEST(ResolveTest, MegabyteValues) {
  const Snapshot snap = Fixture();
  const SynthesisConfig config = SynthesisConfig::Defaults();
  const ClusterIndex index(snap, config);
  std::string words;
  while (words.size() < (1u << 20)) words += "lorem ipsum dolor sit amet, ";
  EXPECT_THAT(index.ResolveValue("shop", words + "http://api:8080"), ElementsAre(::testing::_));
  EXPECT_THAT(index.ResolveValue("shop", std::string(1u << 20, 'a')), IsEmpty());
  EXPECT_THAT(index.ResolveValue("shop", std::string(1u << 20, ':')), IsEmpty());
  EXPECT_THAT(index.ResolveValue("shop", std::string(1u << 20, '$')), IsEmpty());
  std::string repeated;
  while (repeated.size() < (1u << 20)) repeated += "api.shop:8080,";
  EXPECT_EQ(index.ResolveValue("shop", repeated).size(), 1u);
  std::string many;
  for (int i = 0; many.size() < (1u << 20); ++i) many += "h" + std::to_string(i) + ".data:1 ";
  EXPECT_GT(index.ResolveValue("shop", many).size(), 10000u);  // all unresolved, all listed once
  std::string opens;
  while (opens.size() < (1u << 20)) opens += "$(";
  EXPECT_EQ(ExpandVars(opens, {}), opens);  // linear: one ')' search, not one per "$("
  EXPECT_EQ(ExpandVars(opens + "A)", {{"A", "x"}}).size(), opens.size() + 2);
  std::string dots(1u << 20, '.');
  EXPECT_THAT(index.ResolveValue("shop", dots), IsEmpty());
  std::string url = "http://" + std::string(1u << 20, '/');
  EXPECT_THAT(index.ResolveValue("shop", url), IsEmpty());
}

TEST(FindHostRefsTest, Positions) {
  EXPECT_THAT(FindHostRefs("api"), ElementsAre(HostRef{"api", "", true, true}));
  EXPECT_THAT(FindHostRefs("x api"), IsEmpty());
  EXPECT_THAT(FindHostRefs("x a.b"), ElementsAre(HostRef{"a.b", "", true, false}));
  EXPECT_THAT(FindHostRefs("a.b x a.b:1 http://a.b"),
              ElementsAre(HostRef{"a.b", "", true, true, true}, HostRef{"a.b", "1", true, true}));
  EXPECT_THAT(FindHostRefs("a.b:99999"), ElementsAre(HostRef{"a.b", "99999", false, false}));
}

struct ExpandCase {
  std::string in;
  std::string want;
};

TEST(ExpandVarsTest, KubernetesRules) {
  const EnvMap env = {{"DB_HOST", "db.data"}, {"DB_PORT", "5432"}, {"A", "v"},
                      {"NESTED", "$(A)"}, {"", "empty-name"}};
  const std::vector<ExpandCase> cases = {
      {"$(DB_HOST):$(DB_PORT)", "db.data:5432"},
      {"$$(X)", "$(X)"},
      {"$$(DB_HOST)", "$(DB_HOST)"},
      {"$(UNKNOWN)", "$(UNKNOWN)"},
      {"$(A", "$(A"},
      {"$(A$(A)", "$(A$(A)"},  // "A$(A" is not defined
      {"$", "$"},
      {"a$b", "a$b"},
      {"$$$$", "$$"},
      {"$$$", "$$"},
      {"$(A)$(A)", "vv"},
      {"$(NESTED)", "$(A)"},  // substituted values are not expanded again
      {"x$(A)y", "xvy"},
      {"$()", "empty-name"},
      {"no vars", "no vars"},
      {"", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(ExpandVars(c.in, env), c.want) << c.in;
}

TEST(AnnotationTest, PeerList) {
  ParsedPeerList p = ParsePeerList(
      "10.0.0.0/8:443, 203.0.113.5:5432/TCP [2001:db8::/32]:443,2001:db8::1 10.1.2.3/8:53/udp");
  EXPECT_THAT(p.errors, IsEmpty());
  ASSERT_EQ(p.peers.size(), 5u);
  EXPECT_EQ(p.peers[0].peer.ip_block->cidr, "10.0.0.0/8");
  EXPECT_EQ(p.peers[0].port->port.num, 443);
  EXPECT_EQ(p.peers[1].peer.ip_block->cidr, "203.0.113.5/32");
  EXPECT_EQ(p.peers[2].peer.ip_block->cidr, "2001:db8::/32");
  EXPECT_EQ(p.peers[3].peer.ip_block->cidr, "2001:db8::1/128");
  EXPECT_FALSE(p.peers[3].port.has_value());
  EXPECT_EQ(p.peers[4].peer.ip_block->cidr, "10.0.0.0/8");
  EXPECT_EQ(p.peers[4].port->protocol, "UDP");

  p = ParsePeerList("monitoring/app.kubernetes.io/name=grafana&tier=ui:3000, batch, */role=probe, *");
  EXPECT_THAT(p.errors, IsEmpty());
  ASSERT_EQ(p.peers.size(), 4u);
  EXPECT_EQ(p.peers[0].peer.namespace_selector->match_labels.at("kubernetes.io/metadata.name"),
            "monitoring");
  EXPECT_EQ(p.peers[0].peer.pod_selector->match_labels.size(), 2u);
  EXPECT_EQ(p.peers[0].port->port.num, 3000);
  EXPECT_FALSE(p.peers[1].peer.pod_selector.has_value());
  EXPECT_TRUE(p.peers[2].peer.namespace_selector->empty());
  EXPECT_TRUE(p.peers[3].peer.namespace_selector->empty());

  p = ParsePeerList("10.0.0.0/33, Bad_NS, ns/k, 10.0.0.1:99999, ns/a=b:80/XTP, [::1, 1.2.3.4:");
  EXPECT_EQ(p.errors.size(), 7u);
  EXPECT_THAT(p.peers, IsEmpty());
  EXPECT_EQ(p.errors.size(), 7u);

  p = ParsePeerList("10.0.0.0/8:8000-8080");
  ASSERT_EQ(p.peers.size(), 1u);
  EXPECT_EQ(p.peers[0].port->end_port, 8080);
}

// Secrets (DESIGN.md section 4): only names that can resolve survive the
// reduction, and scanning the reduction finds them exactly as scanning the
// value did; nothing that merely looks like a word is kept.
TEST(ReduceToHostsTest, KeepsQualifiedNamesAndUrlHostsOnly) {
  bool exact = true;
  EXPECT_EQ(ReduceToHosts("s3cr3t", &exact), "");
  EXPECT_FALSE(exact);
  EXPECT_EQ(ReduceToHosts("admin:hunter2"), "");
  EXPECT_EQ(ReduceToHosts("postgres://u:pw@db.data:5432/app?sslmode=require"), "db.data:5432");
  EXPECT_EQ(ReduceToHosts("redis://cache:6379 amqp://mq"), "cache:6379 tcp://mq");
  EXPECT_EQ(ReduceToHosts("db.data.svc.cluster.local:5432", &exact),
            "db.data.svc.cluster.local:5432");
  EXPECT_TRUE(exact);
  EXPECT_EQ(ReduceToHosts("x db.data", &exact), "db.data");
  EXPECT_FALSE(exact);
  EXPECT_EQ(ReduceToHosts("http://api:70000/x"), "tcp://api:70000");

  const std::vector<std::string> values = {
      "postgres://u:pw@db.data:5432/app", "redis://cache:6379", "a.b:99999 c.d:http",
      "http://api:70000/x", "amqp://mq, q.ns.svc.cluster.local:5672", "x db.data -f=e.f:1",
      "https://web/path?next=http://other.ns:81/", "10.0.0.1:80 host.example.com"};
  for (const std::string& v : values) {
    std::vector<HostRef> want = FindHostRefs(v);
    std::erase_if(want, [](const HostRef& r) {
      return r.host.find('.') == std::string::npos && !r.url;
    });
    std::vector<HostRef> got = FindHostRefs(ReduceToHosts(v));
    ASSERT_EQ(got.size(), want.size()) << v;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(got[i].host, want[i].host) << v;
      EXPECT_EQ(got[i].port, want[i].port) << v;
      EXPECT_EQ(got[i].port_valid, want[i].port_valid) << v;
      if (want[i].host.find('.') == std::string::npos) {
        EXPECT_EQ(got[i].host_position, want[i].host_position) << v;
      }
    }
  }
}

}  // namespace
}  // namespace npc::synth
