// The evaluator against the examples of the Kubernetes NetworkPolicy
// documentation, each asserting concrete allowed and denied flows.
#include "evaluator/evaluator.h"

#include <gtest/gtest.h>

#include <string>

namespace npc::eval {
namespace {

using nlohmann::json;

Endpoint P(const std::string& ns, const std::string& name) {
  return Endpoint::Pod(ns, name);
}
Endpoint X(const std::string& ip) {
  return Endpoint::External(ip);
}

json Policy(const std::string& ns, const std::string& name, const std::string& spec) {
  return json{{"apiVersion", "networking.k8s.io/v1"},
              {"kind", "NetworkPolicy"},
              {"metadata", {{"name", name}, {"namespace", ns}}},
              {"spec", json::parse(spec)}};
}

void MustAdd(Cluster& c, Pod p) {
  ASSERT_TRUE(c.AddPod(std::move(p)).ok());
}
void MustAdd(Cluster& c, const json& policy) {
  Status s = c.AddPolicy(policy);
  ASSERT_TRUE(s.ok()) << s.ToString();
}

// ---------------------------------------------------------------------------
// Addresses and selectors

TEST(CidrTest, Ipv4Containment) {
  auto c = Cidr::Parse("172.17.0.0/16");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->Contains(*IpAddress::Parse("172.17.255.1")));
  EXPECT_FALSE(c->Contains(*IpAddress::Parse("172.18.0.1")));
  EXPECT_TRUE(Cidr::Parse("0.0.0.0/0")->Contains(*IpAddress::Parse("203.0.113.7")));
  EXPECT_TRUE(Cidr::Parse("10.1.2.3/32")->Contains(*IpAddress::Parse("10.1.2.3")));
  EXPECT_FALSE(Cidr::Parse("10.1.2.3/32")->Contains(*IpAddress::Parse("10.1.2.4")));
  EXPECT_TRUE(Cidr::Parse("10.0.0.0/9")->Contains(*IpAddress::Parse("10.127.0.1")));
  EXPECT_FALSE(Cidr::Parse("10.0.0.0/9")->Contains(*IpAddress::Parse("10.128.0.1")));
  EXPECT_TRUE(c->Contains(*Cidr::Parse("172.17.1.0/24")));
  EXPECT_FALSE(Cidr::Parse("172.17.1.0/24")->Contains(*c));
}

TEST(CidrTest, Ipv6AndFamilies) {
  auto c = Cidr::Parse("2001:db8::/32");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->Contains(*IpAddress::Parse("2001:db8:ffff::1")));
  EXPECT_FALSE(c->Contains(*IpAddress::Parse("2001:db9::1")));
  EXPECT_TRUE(Cidr::Parse("::/0")->Contains(*IpAddress::Parse("fd00::7")));
  EXPECT_FALSE(Cidr::Parse("::/0")->Contains(*IpAddress::Parse("10.0.0.1")));
  EXPECT_FALSE(Cidr::Parse("0.0.0.0/0")->Contains(*IpAddress::Parse("::1")));
  EXPECT_TRUE(Cidr::Parse("::ffff:10.0.0.0/104")->Contains(*IpAddress::Parse("::ffff:10.1.2.3")));
  EXPECT_TRUE(Cidr::Parse("fe80::1:0:0:0/80")->Contains(*IpAddress::Parse("fe80:0:0:0:1::5")));
}

TEST(CidrTest, RejectsMalformed) {
  for (const char* bad : {"10.0.0.0", "10.0.0.0/33", "10.0.0/8", "256.0.0.0/8", "1::2::3/64",
                          "2001:db8::/129", "01.2.3.4/32", "1:2:3:4:5:6:7:8:9/64", "x/1"}) {
    EXPECT_FALSE(Cidr::Parse(bad)) << bad;
  }
}

TEST(SelectorTest, MatchLabelsAndExpressions) {
  auto s = Selector::FromJson(json::parse(R"({
      "matchLabels": {"app": "web"},
      "matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["a", "b"]},
        {"key": "env", "operator": "NotIn", "values": ["prod"]},
        {"key": "team", "operator": "Exists"},
        {"key": "legacy", "operator": "DoesNotExist"}]})"));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  LabelMap ok = {{"app", "web"}, {"tier", "a"}, {"team", "x"}};
  EXPECT_TRUE(s->Matches(ok));
  auto with = [&](const std::string& k, const std::string& v) {
    LabelMap l = ok;
    l[k] = v;
    return l;
  };
  EXPECT_TRUE(s->Matches(with("env", "dev")));
  EXPECT_FALSE(s->Matches(with("env", "prod")));
  EXPECT_FALSE(s->Matches(with("tier", "c")));
  EXPECT_FALSE(s->Matches(with("legacy", "")));
  EXPECT_FALSE(s->Matches(with("app", "db")));
  LabelMap no_team = ok;
  no_team.erase("team");
  EXPECT_FALSE(s->Matches(no_team));
  EXPECT_TRUE(Selector{}.Matches({}));
}

TEST(SelectorTest, RejectsBadOperators) {
  EXPECT_FALSE(
      Selector::FromJson(
          json::parse(R"({"matchExpressions": [{"key": "a", "operator": "in", "values": ["x"]}]})"))
          .ok());
  EXPECT_FALSE(
      Selector::FromJson(json::parse(R"({"matchExpressions": [{"key": "a", "operator": "In"}]})"))
          .ok());
  EXPECT_FALSE(
      Selector::FromJson(
          json::parse(
              R"({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]})"))
          .ok());
  EXPECT_FALSE(Selector::FromJson(json::parse(R"({"matchLabel": {"a": "b"}})")).ok());
}

// ---------------------------------------------------------------------------
// The documentation's examples

// The "test-network-policy" example: ipBlock with except, namespaceSelector and
// podSelector as separate (ORed) peers, one port; egress to a CIDR on one port.
class DocExampleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    c_.AddNamespace("default");
    c_.AddNamespace("myproject", {{"project", "myproject"}});
    c_.AddNamespace("other");
    MustAdd(c_, Pod{"default", "db", {{"role", "db"}}, "10.1.0.10", {}});
    MustAdd(c_, Pod{"default", "frontend", {{"role", "frontend"}}, "10.1.0.11", {}});
    MustAdd(c_, Pod{"default", "misc", {{"role", "misc"}}, "10.1.0.12", {}});
    MustAdd(c_, Pod{"myproject", "any", {{"x", "y"}}, "10.2.0.10", {}});
    MustAdd(c_, Pod{"other", "frontend", {{"role", "frontend"}}, "10.3.0.10", {}});
    MustAdd(c_, Pod{"other", "in-block", {}, "172.17.2.5", {}});
    MustAdd(c_, Pod{"other", "in-except", {}, "172.17.1.5", {}});
    MustAdd(c_, Policy("default", "test-network-policy", R"({
      "podSelector": {"matchLabels": {"role": "db"}},
      "policyTypes": ["Ingress", "Egress"],
      "ingress": [{
        "from": [
          {"ipBlock": {"cidr": "172.17.0.0/16", "except": ["172.17.1.0/24"]}},
          {"namespaceSelector": {"matchLabels": {"project": "myproject"}}},
          {"podSelector": {"matchLabels": {"role": "frontend"}}}],
        "ports": [{"protocol": "TCP", "port": 6379}]}],
      "egress": [{
        "to": [{"ipBlock": {"cidr": "10.0.0.0/24"}}],
        "ports": [{"protocol": "TCP", "port": 5978}]}]})"));
  }
  Cluster c_;
};

TEST_F(DocExampleTest, IngressPeersAreOred) {
  EXPECT_TRUE(c_.Allowed(P("default", "frontend"), P("default", "db"), 6379, "TCP"));
  EXPECT_TRUE(c_.Allowed(P("myproject", "any"), P("default", "db"), 6379, "TCP"));
  EXPECT_TRUE(c_.Allowed(X("172.17.0.1"), P("default", "db"), 6379, "TCP"));
  EXPECT_TRUE(c_.Allowed(P("other", "in-block"), P("default", "db"), 6379, "TCP"));
}

TEST_F(DocExampleTest, IngressDeniesEverythingElse) {
  EXPECT_FALSE(c_.Allowed(P("default", "misc"), P("default", "db"), 6379, "TCP"));
  // podSelector alone means the policy's namespace: a frontend elsewhere is denied.
  EXPECT_FALSE(c_.Allowed(P("other", "frontend"), P("default", "db"), 6379, "TCP"));
  EXPECT_FALSE(c_.Allowed(P("other", "in-except"), P("default", "db"), 6379, "TCP"));
  EXPECT_FALSE(c_.Allowed(X("172.17.1.200"), P("default", "db"), 6379, "TCP"));
  EXPECT_FALSE(c_.Allowed(X("203.0.113.7"), P("default", "db"), 6379, "TCP"));
  EXPECT_FALSE(c_.Allowed(P("default", "frontend"), P("default", "db"), 6380, "TCP"));
  EXPECT_FALSE(c_.Allowed(P("default", "frontend"), P("default", "db"), 6379, "UDP"));
}

TEST_F(DocExampleTest, EgressLimitedToCidrAndPort) {
  EXPECT_TRUE(c_.Allowed(P("default", "db"), X("10.0.0.77"), 5978, "TCP"));
  EXPECT_FALSE(c_.Allowed(P("default", "db"), X("10.0.0.77"), 5979, "TCP"));
  EXPECT_FALSE(c_.Allowed(P("default", "db"), X("10.0.1.1"), 5978, "TCP"));
  EXPECT_FALSE(c_.Allowed(P("default", "db"), P("default", "frontend"), 80, "TCP"));
}

TEST_F(DocExampleTest, UnselectedPodsStayOpen) {
  EXPECT_TRUE(c_.Allowed(P("other", "frontend"), P("default", "misc"), 1234, "UDP"));
  EXPECT_TRUE(c_.Allowed(P("default", "misc"), X("203.0.113.7"), 443, "TCP"));
  EXPECT_TRUE(c_.Allowed(X("203.0.113.7"), P("default", "frontend"), 80, "SCTP"));
}

TEST_F(DocExampleTest, ExplainNamesTheRule) {
  Verdict v = c_.Explain(P("default", "frontend"), P("default", "db"), 6379, "TCP");
  EXPECT_TRUE(v.allowed);
  EXPECT_FALSE(v.egress_isolated);
  EXPECT_TRUE(v.ingress_isolated);
  ASSERT_EQ(v.allowed_by.size(), 1u);
  EXPECT_EQ(v.allowed_by[0], "ingress default/test-network-policy rule 0");
}

// namespaceSelector and podSelector in ONE peer are ANDed; in two peers, ORed.
TEST(SelectorSemanticsTest, AndVersusOr) {
  Cluster c;
  c.AddNamespace("app");
  c.AddNamespace("alice", {{"user", "alice"}});
  c.AddNamespace("bob", {{"user", "bob"}});
  MustAdd(c, Pod{"app", "server", {{"app", "server"}}, "10.0.0.1", {}});
  MustAdd(c, Pod{"app", "server2", {{"app", "server2"}}, "10.0.0.2", {}});
  MustAdd(c, Pod{"alice", "client", {{"role", "client"}}, "10.0.1.1", {}});
  MustAdd(c, Pod{"alice", "other", {{"role", "other"}}, "10.0.1.2", {}});
  MustAdd(c, Pod{"bob", "client", {{"role", "client"}}, "10.0.2.1", {}});
  MustAdd(c, Pod{"app", "client", {{"role", "client"}}, "10.0.0.3", {}});
  MustAdd(c, Policy("app", "and", R"({
      "podSelector": {"matchLabels": {"app": "server"}},
      "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"user": "alice"}},
                             "podSelector": {"matchLabels": {"role": "client"}}}]}]})"));
  MustAdd(c, Policy("app", "or", R"({
      "podSelector": {"matchLabels": {"app": "server2"}},
      "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"user": "alice"}}},
                            {"podSelector": {"matchLabels": {"role": "client"}}}]}]})"));
  // AND: only client pods in alice's namespaces.
  EXPECT_TRUE(c.Allowed(P("alice", "client"), P("app", "server"), 80, "TCP"));
  EXPECT_FALSE(c.Allowed(P("alice", "other"), P("app", "server"), 80, "TCP"));
  EXPECT_FALSE(c.Allowed(P("bob", "client"), P("app", "server"), 80, "TCP"));
  EXPECT_FALSE(c.Allowed(P("app", "client"), P("app", "server"), 80, "TCP"));
  // OR: every pod of alice's namespaces, and client pods of the policy's namespace.
  EXPECT_TRUE(c.Allowed(P("alice", "client"), P("app", "server2"), 80, "TCP"));
  EXPECT_TRUE(c.Allowed(P("alice", "other"), P("app", "server2"), 80, "TCP"));
  EXPECT_TRUE(c.Allowed(P("app", "client"), P("app", "server2"), 80, "TCP"));
  EXPECT_FALSE(c.Allowed(P("bob", "client"), P("app", "server2"), 80, "TCP"));
}

TEST(SelectorSemanticsTest, EmptyNamespaceSelectorMeansAllNamespaces) {
  Cluster c;
  c.AddNamespace("a");
  c.AddNamespace("b");
  MustAdd(c, Pod{"a", "srv", {{"app", "srv"}}, "10.0.0.1", {}});
  MustAdd(c, Pod{"b", "mon", {{"app", "mon"}}, "10.0.0.2", {}});
  MustAdd(c, Pod{"b", "web", {{"app", "web"}}, "10.0.0.3", {}});
  MustAdd(c, Policy("a", "p", R"({
      "podSelector": {},
      "ingress": [{"from": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "mon"}}}]}]})"));
  EXPECT_TRUE(c.Allowed(P("b", "mon"), P("a", "srv"), 9090, "TCP"));
  EXPECT_FALSE(c.Allowed(P("b", "web"), P("a", "srv"), 9090, "TCP"));
  EXPECT_FALSE(c.Allowed(X("203.0.113.7"), P("a", "srv"), 9090, "TCP"));
}

TEST(SelectorSemanticsTest, NamespaceNameLabelIsImplicit) {
  Cluster c;
  c.AddNamespace("a");
  c.AddNamespace("kube-system");
  MustAdd(c, Pod{"a", "x", {{"app", "x"}}, "10.0.0.1", {}});
  MustAdd(c, Pod{"kube-system", "dns", {{"k8s-app", "kube-dns"}}, "10.0.0.2", {}});
  MustAdd(c, Pod{"kube-system", "other", {{"k8s-app", "other"}}, "10.0.0.3", {}});
  MustAdd(c, Policy("a", "dns", R"({
      "podSelector": {},
      "policyTypes": ["Egress"],
      "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                          "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                  "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}]})"));
  EXPECT_TRUE(c.Allowed(P("a", "x"), P("kube-system", "dns"), 53, "UDP"));
  EXPECT_TRUE(c.Allowed(P("a", "x"), P("kube-system", "dns"), 53, "TCP"));
  EXPECT_FALSE(c.Allowed(P("a", "x"), P("kube-system", "dns"), 54, "UDP"));
  EXPECT_FALSE(c.Allowed(P("a", "x"), P("kube-system", "other"), 53, "UDP"));
  EXPECT_FALSE(c.Allowed(P("a", "x"), X("8.8.8.8"), 53, "UDP"));
}

// The naive DNS rule (podSelector alone) selects only the policy's namespace.
TEST(SelectorSemanticsTest, NaiveDnsRuleMissesKubeSystem) {
  Cluster c;
  c.AddNamespace("a");
  c.AddNamespace("kube-system");
  MustAdd(c, Pod{"a", "x", {{"app", "x"}}, "10.0.0.1", {}});
  MustAdd(c, Pod{"kube-system", "dns", {{"k8s-app", "kube-dns"}}, "10.0.0.2", {}});
  MustAdd(c, Policy("a", "dns", R"({
      "podSelector": {}, "policyTypes": ["Egress"],
      "egress": [{"to": [{"podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                  "ports": [{"protocol": "UDP", "port": 53}]}]})"));
  EXPECT_FALSE(c.Allowed(P("a", "x"), P("kube-system", "dns"), 53, "UDP"));
}

// ---------------------------------------------------------------------------
// Default policies

class DefaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    c_.AddNamespace("ns");
    c_.AddNamespace("other");
    MustAdd(c_, Pod{"ns", "a", {{"app", "a"}}, "10.0.0.1", {}});
    MustAdd(c_, Pod{"ns", "b", {{"app", "b"}}, "10.0.0.2", {}});
    MustAdd(c_, Pod{"other", "c", {{"app", "c"}}, "10.0.0.3", {}});
  }
  Cluster c_;
};

TEST_F(DefaultsTest, DefaultDenyIngress) {
  MustAdd(c_, Policy("ns", "default-deny-ingress",
                     R"({"podSelector": {}, "policyTypes": ["Ingress"]})"));
  EXPECT_FALSE(c_.Allowed(P("ns", "a"), P("ns", "b"), 80, "TCP"));
  EXPECT_FALSE(c_.Allowed(P("other", "c"), P("ns", "b"), 80, "TCP"));
  EXPECT_FALSE(c_.Allowed(X("203.0.113.7"), P("ns", "a"), 80, "TCP"));
  EXPECT_TRUE(c_.Allowed(P("ns", "a"), P("other", "c"), 80, "TCP"));  // egress untouched
  EXPECT_TRUE(c_.Allowed(P("ns", "a"), X("203.0.113.7"), 80, "TCP"));
}

TEST_F(DefaultsTest, AllowAllIngressOverridesDeny) {
  MustAdd(c_, Policy("ns", "default-deny-ingress",
                     R"({"podSelector": {}, "policyTypes": ["Ingress"]})"));
  MustAdd(c_, Policy("ns", "allow-all-ingress",
                     R"({"podSelector": {}, "ingress": [{}], "policyTypes": ["Ingress"]})"));
  EXPECT_TRUE(c_.Allowed(P("other", "c"), P("ns", "b"), 80, "TCP"));
  EXPECT_TRUE(c_.Allowed(X("203.0.113.7"), P("ns", "a"), 9, "UDP"));
}

TEST_F(DefaultsTest, DefaultDenyEgress) {
  MustAdd(c_,
          Policy("ns", "default-deny-egress", R"({"podSelector": {}, "policyTypes": ["Egress"]})"));
  EXPECT_FALSE(c_.Allowed(P("ns", "a"), P("ns", "b"), 80, "TCP"));
  EXPECT_FALSE(c_.Allowed(P("ns", "a"), P("other", "c"), 53, "UDP"));
  EXPECT_FALSE(c_.Allowed(P("ns", "a"), X("203.0.113.7"), 443, "TCP"));
  EXPECT_TRUE(c_.Allowed(P("other", "c"), P("ns", "a"), 80, "TCP"));  // ingress untouched
  EXPECT_TRUE(c_.Allowed(X("203.0.113.7"), P("ns", "a"), 80, "TCP"));
}

TEST_F(DefaultsTest, AllowAllEgress) {
  MustAdd(c_,
          Policy("ns", "default-deny-egress", R"({"podSelector": {}, "policyTypes": ["Egress"]})"));
  MustAdd(c_, Policy("ns", "allow-all-egress",
                     R"({"podSelector": {}, "egress": [{}], "policyTypes": ["Egress"]})"));
  EXPECT_TRUE(c_.Allowed(P("ns", "a"), X("203.0.113.7"), 443, "TCP"));
  EXPECT_TRUE(c_.Allowed(P("ns", "a"), P("other", "c"), 7, "SCTP"));
}

TEST_F(DefaultsTest, DefaultDenyAll) {
  MustAdd(c_, Policy("ns", "default-deny-all",
                     R"({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})"));
  EXPECT_FALSE(c_.Allowed(P("ns", "a"), P("ns", "b"), 80, "TCP"));
  EXPECT_FALSE(c_.Allowed(P("ns", "a"), P("other", "c"), 80, "TCP"));
  EXPECT_FALSE(c_.Allowed(P("other", "c"), P("ns", "a"), 80, "TCP"));
  EXPECT_TRUE(c_.Allowed(P("other", "c"), X("203.0.113.7"), 80, "TCP"));
}

TEST_F(DefaultsTest, EmptyPeerListAndEmptyPortListMeanAll) {
  MustAdd(c_, Policy("ns", "p", R"({"podSelector": {"matchLabels": {"app": "a"}},
      "ingress": [{"from": [], "ports": [{"port": 80}]}, {"from": [{"podSelector": {}}], "ports": []}]})"));
  EXPECT_TRUE(c_.Allowed(X("203.0.113.7"), P("ns", "a"), 80, "TCP"));
  EXPECT_FALSE(c_.Allowed(X("203.0.113.7"), P("ns", "a"), 81, "TCP"));
  EXPECT_TRUE(c_.Allowed(P("ns", "b"), P("ns", "a"), 81, "UDP"));
  EXPECT_FALSE(c_.Allowed(P("other", "c"), P("ns", "a"), 81, "UDP"));
}

TEST_F(DefaultsTest, PolicyTypesDefaulting) {
  // No policyTypes, ingress rules only: Ingress; egress stays open.
  MustAdd(c_, Policy("ns", "ing", R"({"podSelector": {"matchLabels": {"app": "a"}},
      "ingress": [{"ports": [{"port": 80}]}]})"));
  EXPECT_FALSE(c_.Allowed(P("ns", "b"), P("ns", "a"), 81, "TCP"));
  EXPECT_TRUE(c_.Allowed(P("ns", "a"), X("203.0.113.7"), 81, "TCP"));
  // No policyTypes and no rules at all: still Ingress (deny all ingress).
  MustAdd(c_, Policy("ns", "none", R"({"podSelector": {"matchLabels": {"app": "b"}}})"));
  EXPECT_FALSE(c_.Allowed(P("other", "c"), P("ns", "b"), 80, "TCP"));
  EXPECT_TRUE(c_.Allowed(P("ns", "b"), P("other", "c"), 80, "TCP"));
  // An egress section makes it Ingress and Egress.
  Cluster c;
  c.AddNamespace("ns");
  MustAdd(c, Pod{"ns", "a", {{"app", "a"}}, "10.0.0.1", {}});
  MustAdd(c, Policy("ns", "eg", R"({"podSelector": {},
      "egress": [{"ports": [{"port": 443}]}]})"));
  EXPECT_TRUE(c.Allowed(P("ns", "a"), X("203.0.113.7"), 443, "TCP"));
  EXPECT_FALSE(c.Allowed(P("ns", "a"), X("203.0.113.7"), 80, "TCP"));
  EXPECT_FALSE(c.Allowed(X("203.0.113.7"), P("ns", "a"), 443, "TCP"));  // ingress isolated too
}

TEST_F(DefaultsTest, ExplicitEgressOnlyIgnoresIngressRules) {
  MustAdd(c_, Policy("ns", "p", R"({"podSelector": {}, "policyTypes": ["Egress"],
      "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "nobody"}}}]}]})"));
  EXPECT_TRUE(c_.Allowed(P("other", "c"), P("ns", "a"), 80, "TCP"));
  EXPECT_FALSE(c_.Allowed(P("ns", "a"), P("other", "c"), 80, "TCP"));
}

// Several policies selecting a pod add up.
TEST_F(DefaultsTest, PoliciesAddUp) {
  MustAdd(c_, Policy("ns", "one", R"({"podSelector": {"matchLabels": {"app": "a"}},
      "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "b"}}}], "ports": [{"port": 80}]}]})"));
  MustAdd(c_, Policy("ns", "two", R"({"podSelector": {},
      "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "other"}}}],
                   "ports": [{"port": 443}]}]})"));
  EXPECT_TRUE(c_.Allowed(P("ns", "b"), P("ns", "a"), 80, "TCP"));
  EXPECT_TRUE(c_.Allowed(P("other", "c"), P("ns", "a"), 443, "TCP"));
  EXPECT_FALSE(c_.Allowed(P("ns", "b"), P("ns", "a"), 443, "TCP"));
  EXPECT_FALSE(c_.Allowed(P("other", "c"), P("ns", "a"), 80, "TCP"));
  EXPECT_FALSE(c_.Allowed(P("other", "c"), P("ns", "b"), 80, "TCP"));
  EXPECT_TRUE(c_.Allowed(P("other", "c"), P("ns", "b"), 443, "TCP"));
}

// Both ends must agree: egress of the source AND ingress of the destination.
TEST_F(DefaultsTest, FlowNeedsEgressAndIngress) {
  MustAdd(c_, Policy("ns", "a-out", R"({"podSelector": {"matchLabels": {"app": "a"}},
      "policyTypes": ["Egress"], "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "b"}}}]}]})"));
  MustAdd(c_, Policy("ns", "b-in", R"({"podSelector": {"matchLabels": {"app": "b"}},
      "ingress": [{"ports": [{"port": 8080}]}]})"));
  EXPECT_TRUE(c_.Allowed(P("ns", "a"), P("ns", "b"), 8080, "TCP"));
  EXPECT_FALSE(c_.Allowed(P("ns", "a"), P("ns", "b"), 9090, "TCP"));     // ingress says no
  EXPECT_FALSE(c_.Allowed(P("ns", "a"), P("other", "c"), 8080, "TCP"));  // egress says no
  Verdict v = c_.Explain(P("ns", "a"), P("ns", "b"), 9090, "TCP");
  EXPECT_TRUE(v.egress_allowed);
  EXPECT_FALSE(v.ingress_allowed);
}

// ---------------------------------------------------------------------------
// Ports

TEST(PortsTest, EndPortRange) {
  Cluster c;
  c.AddNamespace("default");
  MustAdd(c, Pod{"default", "db", {{"role", "db"}}, "10.1.0.10", {}});
  MustAdd(c, Policy("default", "multi-port-egress", R"({
      "podSelector": {"matchLabels": {"role": "db"}},
      "policyTypes": ["Egress"],
      "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/24"}}],
                  "ports": [{"protocol": "TCP", "port": 32000, "endPort": 32768}]}]})"));
  EXPECT_TRUE(c.Allowed(P("default", "db"), X("10.0.0.1"), 32000, "TCP"));
  EXPECT_TRUE(c.Allowed(P("default", "db"), X("10.0.0.1"), 32500, "TCP"));
  EXPECT_TRUE(c.Allowed(P("default", "db"), X("10.0.0.1"), 32768, "TCP"));
  EXPECT_FALSE(c.Allowed(P("default", "db"), X("10.0.0.1"), 31999, "TCP"));
  EXPECT_FALSE(c.Allowed(P("default", "db"), X("10.0.0.1"), 32769, "TCP"));
  EXPECT_FALSE(c.Allowed(P("default", "db"), X("10.0.0.1"), 32500, "UDP"));
}

TEST(PortsTest, NamedPortsResolveAgainstTheDestination) {
  Cluster c;
  c.AddNamespace("ns");
  MustAdd(c, Pod{"ns", "web", {{"app", "web"}}, "10.0.0.1", {{"http", 8080, "TCP"}}});
  MustAdd(c, Pod{"ns", "web2", {{"app", "web"}}, "10.0.0.2", {{"http", 9000, "TCP"}}});
  MustAdd(c, Pod{"ns", "udp", {{"app", "web"}}, "10.0.0.3", {{"http", 8080, "UDP"}}});
  MustAdd(c, Pod{"ns", "client", {{"app", "client"}}, "10.0.0.4", {{"http", 7000, "TCP"}}});
  MustAdd(c, Policy("ns", "in", R"({"podSelector": {"matchLabels": {"app": "web"}},
      "ingress": [{"ports": [{"port": "http"}]}]})"));
  MustAdd(c, Policy("ns", "out", R"({"podSelector": {"matchLabels": {"app": "client"}},
      "policyTypes": ["Egress"], "egress": [{"ports": [{"port": "http"}]}]})"));
  // Ingress: the name means each destination pod's own port.
  EXPECT_TRUE(c.Allowed(X("203.0.113.7"), P("ns", "web"), 8080, "TCP"));
  EXPECT_FALSE(c.Allowed(X("203.0.113.7"), P("ns", "web"), 9000, "TCP"));
  EXPECT_TRUE(c.Allowed(X("203.0.113.7"), P("ns", "web2"), 9000, "TCP"));
  EXPECT_FALSE(c.Allowed(X("203.0.113.7"), P("ns", "web2"), 8080, "TCP"));
  // The name and the protocol must both match (the policy port defaults to TCP).
  EXPECT_FALSE(c.Allowed(X("203.0.113.7"), P("ns", "udp"), 8080, "UDP"));
  EXPECT_FALSE(c.Allowed(X("203.0.113.7"), P("ns", "udp"), 8080, "TCP"));
  // Egress: the destination's port, not the source's (7000).
  EXPECT_TRUE(c.Allowed(P("ns", "client"), P("ns", "web2"), 9000, "TCP"));
  EXPECT_FALSE(c.Allowed(P("ns", "client"), P("ns", "web2"), 7000, "TCP"));
  EXPECT_FALSE(c.Allowed(P("ns", "client"), X("203.0.113.7"), 7000, "TCP"));
}

TEST(PortsTest, ProtocolOnlyEntryCoversEveryPort) {
  Cluster c;
  c.AddNamespace("ns");
  MustAdd(c, Pod{"ns", "a", {{"app", "a"}}, "10.0.0.1", {}});
  MustAdd(c, Policy("ns", "p",
                    R"({"podSelector": {}, "ingress": [{"ports": [{"protocol": "UDP"}]}]})"));
  EXPECT_TRUE(c.Allowed(X("203.0.113.7"), P("ns", "a"), 1, "UDP"));
  EXPECT_TRUE(c.Allowed(X("203.0.113.7"), P("ns", "a"), 65535, "UDP"));
  EXPECT_FALSE(c.Allowed(X("203.0.113.7"), P("ns", "a"), 53, "TCP"));
}

// ---------------------------------------------------------------------------
// ipBlock

TEST(IpBlockTest, MatchesPodIpsAndIpv6) {
  Cluster c;
  c.AddNamespace("ns");
  c.AddNamespace("other");
  MustAdd(c, Pod{"ns", "srv", {{"app", "srv"}}, "10.0.0.1", {}});
  MustAdd(c, Pod{"other", "near", {}, "10.9.0.1", {}});
  MustAdd(c, Pod{"other", "far", {}, "10.12.0.1", {}});
  MustAdd(c, Pod{"other", "v6", {}, "fd00::5", {}});
  MustAdd(c, Policy("ns", "p", R"({"podSelector": {},
      "ingress": [{"from": [{"ipBlock": {"cidr": "10.8.0.0/14", "except": ["10.8.0.0/16"]}},
                            {"ipBlock": {"cidr": "fd00::/8", "except": ["fd00::4/127"]}}]}]})"));
  EXPECT_TRUE(c.Allowed(P("other", "near"), P("ns", "srv"), 80, "TCP"));
  EXPECT_FALSE(c.Allowed(P("other", "far"), P("ns", "srv"), 80, "TCP"));
  EXPECT_FALSE(c.Allowed(X("10.8.3.3"), P("ns", "srv"), 80, "TCP"));
  EXPECT_TRUE(c.Allowed(X("10.11.255.255"), P("ns", "srv"), 80, "TCP"));
  EXPECT_FALSE(c.Allowed(P("other", "v6"), P("ns", "srv"), 80, "TCP"));  // fd00::5 is in the except
  EXPECT_TRUE(c.Allowed(X("fd00::6"), P("ns", "srv"), 80, "TCP"));
  EXPECT_TRUE(c.Allowed(X("fdff::1"), P("ns", "srv"), 80, "TCP"));
  EXPECT_FALSE(c.Allowed(X("2001:db8::1"), P("ns", "srv"), 80, "TCP"));
}

TEST(IpBlockTest, AnyoneNeedsBothFamilies) {
  Cluster c;
  c.AddNamespace("ns");
  MustAdd(c, Pod{"ns", "lb", {{"app", "lb"}}, "10.0.0.1", {}});
  MustAdd(c, Policy("ns", "p", R"({"podSelector": {},
      "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443}]}]})"));
  EXPECT_TRUE(c.Allowed(X("203.0.113.7"), P("ns", "lb"), 443, "TCP"));
  EXPECT_FALSE(c.Allowed(X("2001:db8::7"), P("ns", "lb"), 443, "TCP"));
}

// A hostNetwork pod is its node's address: policies neither select it nor
// match it by selector; only an ipBlock of the node's address reaches it.
TEST(HostNetworkTest, OnlyIpBlocksMatchAndNoPolicySelectsIt) {
  Cluster c;
  c.AddNamespace("monitoring");
  MustAdd(c, Pod{"monitoring", "prom", {{"app", "prom"}}, "10.0.0.1", {}});
  Pod exporter{
      "monitoring", "exporter", {{"app", "exporter"}}, "172.18.0.2", {{"metrics", 9100, "TCP"}}};
  exporter.host_network = true;
  MustAdd(c, exporter);
  // Selects every pod of the namespace, denies everything, and lets prom
  // reach the exporter by selector and by named port: none of it applies.
  MustAdd(c, Policy("monitoring", "p", R"({"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
      "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "exporter"}}}]},
                 {"ports": [{"port": "metrics"}]}]})"));
  EXPECT_FALSE(c.Allowed(P("monitoring", "prom"), P("monitoring", "exporter"), 9100, "TCP"));
  EXPECT_TRUE(
      c.Allowed(P("monitoring", "exporter"), X("203.0.113.7"), 443, "TCP"));  // not isolated
  MustAdd(c, Policy("monitoring", "q", R"({"podSelector": {"matchLabels": {"app": "prom"}},
      "policyTypes": ["Egress"],
      "egress": [{"to": [{"ipBlock": {"cidr": "172.18.0.0/24"}}], "ports": [{"port": 9100}]}]})"));
  EXPECT_TRUE(c.Allowed(P("monitoring", "prom"), P("monitoring", "exporter"), 9100, "TCP"));
  EXPECT_FALSE(c.Allowed(P("monitoring", "prom"), P("monitoring", "exporter"), 9101, "TCP"));
  // The matrix judges it the same way.
  const Matrix m = Matrix::Compute(c, {{9100, "TCP"}, {443, "TCP"}});
  EXPECT_EQ(m.at(0, 1, 0), Cell::kAllowed);
  EXPECT_EQ(m.at(0, 1, 1), Cell::kDenied);
  EXPECT_EQ(m.at(1, 0, 1), Cell::kDenied);  // prom's ingress is isolated by p
}

// ---------------------------------------------------------------------------
// Validation: malformed policies are refused, not misjudged.

TEST(ValidationTest, RejectsWhatTheApiServerRejects) {
  Cluster c;
  c.AddNamespace("ns");
  const char* bad_specs[] = {
      R"({"podSelector": {}, "ingress": [{"from": [{}]}]})",
      R"({"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]}]})",
      R"({"podSelector": {}, "ingress": [{"ports": [{"port": "http", "endPort": 90}]}]})",
      R"({"podSelector": {}, "ingress": [{"ports": [{"port": 90, "endPort": 80}]}]})",
      R"({"podSelector": {}, "ingress": [{"ports": [{"endPort": 80}]}]})",
      R"({"podSelector": {}, "ingress": [{"ports": [{"port": 80, "protocol": "ICMP"}]}]})",
      R"({"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["11.0.0.0/16"]}}]}]})",
      R"({"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.1"}}]}]})",
      R"({"podSelector": {}, "policyTypes": ["ingress"]})",
      R"({"podSelector": {}, "ingress": [{"to": []}]})",
      R"({"podSelector": {}, "egress": [{"from": []}]})",
      R"({"podselector": {}})",
      R"({"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"a": 1}}}]}]})",
  };
  for (const char* spec : bad_specs) {
    EXPECT_FALSE(c.AddPolicy(Policy("ns", "p", spec)).ok()) << spec;
  }
  json wrong_kind = Policy("ns", "p", R"({"podSelector": {}})");
  wrong_kind["kind"] = "Service";
  EXPECT_FALSE(c.AddPolicy(wrong_kind).ok());
  EXPECT_EQ(c.policy_count(), 0u);
}

TEST(ValidationTest, AcceptsListsAndOrderedJson) {
  Cluster c;
  c.AddNamespace("ns");
  MustAdd(c, Pod{"ns", "a", {{"app", "a"}}, "10.0.0.1", {}});
  json list = {{"apiVersion", "v1"},
               {"kind", "List"},
               {"items",
                {Policy("ns", "p1", R"({"podSelector": {}, "policyTypes": ["Ingress"]})"),
                 Policy("ns", "p2", R"({"podSelector": {}, "policyTypes": ["Egress"]})")}}};
  ASSERT_TRUE(c.AddPolicy(list).ok());
  nlohmann::ordered_json ordered = Policy("ns", "p3", R"({"podSelector": {}, "ingress": [{}]})");
  ASSERT_TRUE(c.AddPolicy(ordered).ok());
  EXPECT_EQ(c.policy_count(), 3u);
  EXPECT_TRUE(c.Allowed(X("203.0.113.7"), P("ns", "a"), 1, "TCP"));
  EXPECT_FALSE(c.Allowed(P("ns", "a"), X("203.0.113.7"), 1, "TCP"));
}

TEST(ClusterTest, RejectsBadPods) {
  Cluster c;
  c.AddNamespace("ns");
  EXPECT_FALSE(c.AddPod(Pod{"nope", "a", {}, "10.0.0.1", {}}).ok());
  EXPECT_FALSE(c.AddPod(Pod{"ns", "a", {}, "10.0.0.300", {}}).ok());
  EXPECT_TRUE(c.AddPod(Pod{"ns", "a", {}, "10.0.0.1", {}}).ok());
  EXPECT_FALSE(c.AddPod(Pod{"ns", "a", {}, "10.0.0.2", {}}).ok());
  EXPECT_FALSE(c.AddPod(Pod{"ns", "b", {}, "10.0.0.1", {}}).ok());
  EXPECT_FALSE(c.Allowed(P("ns", "missing"), P("ns", "a"), 80, "TCP"));
  EXPECT_FALSE(c.Allowed(X("203.0.113.7"), P("ns", "a"), 80, "ICMP"));
}

// ---------------------------------------------------------------------------
// Matrix

TEST(MatrixTest, ComputeAgreesWithAllowedAndDiffReads) {
  Cluster c;
  c.AddNamespace("shop");
  c.AddNamespace("data");
  MustAdd(c, Pod{"shop", "web", {{"app", "web"}}, "10.0.0.1", {{"http", 8080, "TCP"}}});
  MustAdd(c, Pod{"data", "db", {{"app", "db"}}, "10.0.0.2", {{"pg", 5432, "TCP"}}});
  MustAdd(c, Policy("data", "db", R"({"podSelector": {"matchLabels": {"app": "db"}},
      "policyTypes": ["Ingress", "Egress"],
      "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "shop"}},
                             "podSelector": {"matchLabels": {"app": "web"}}}],
                   "ports": [{"port": "pg"}]}]})"));
  std::vector<Probe> probes = {{5432, "TCP"}, {8080, "TCP"}, {53, "UDP"}};
  Matrix m = Matrix::Compute(c, probes, {"203.0.113.7"});
  ASSERT_EQ(m.endpoints().size(), 3u);
  for (size_t s = 0; s < 3; ++s) {
    for (size_t d = 0; d < 3; ++d) {
      if (!m.Judged(s, d)) continue;
      for (size_t k = 0; k < probes.size(); ++k) {
        EXPECT_EQ(m.at(s, d, k) == Cell::kAllowed,
                  c.Allowed(m.endpoints()[s], m.endpoints()[d], probes[k].port, probes[k].protocol))
            << s << " " << d << " " << k;
      }
    }
  }
  EXPECT_EQ(m.at(0, 1, 0), Cell::kAllowed);
  EXPECT_EQ(m.at(0, 1, 1), Cell::kDenied);
  EXPECT_EQ(m.at(1, 0, 1), Cell::kDenied);  // db is egress-isolated with no rules
  EXPECT_EQ(m.at(2, 0, 1), Cell::kAllowed);

  Matrix expected(m.endpoints(), probes);
  expected.set(0, 1, 1, Cell::kAllowed);  // a wrong expectation
  expected.set(2, 0, 0, Cell::kEither);   // accepts whatever is there
  expected.set(0, 2, 0, Cell::kAllowed);
  expected.set(0, 2, 1, Cell::kAllowed);
  expected.set(0, 2, 2, Cell::kAllowed);
  expected.set(2, 0, 1, Cell::kAllowed);
  expected.set(2, 0, 2, Cell::kAllowed);
  std::vector<std::string> diff = m.Diff(expected);
  ASSERT_EQ(diff.size(), 2u) << JoinLines(diff);
  EXPECT_EQ(diff[0], "shop/web -> data/db 5432/TCP: allowed, expected denied");
  EXPECT_EQ(diff[1], "shop/web -> data/db 8080/TCP: denied, expected allowed");
  EXPECT_EQ(m.Diff(expected, 1).back(), "... and 1 more");
  EXPECT_NE(m.ToString().find("shop/web -> data/db: 5432/TCP\n"), std::string::npos);
}

}  // namespace
}  // namespace npc::eval
