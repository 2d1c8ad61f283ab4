#include "render/render.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <functional>
#include <string>

namespace npc::render {
namespace {

using nlohmann::ordered_json;

LabelSelector Sel(Labels labels) {
  LabelSelector s;
  s.match_labels = std::move(labels);
  return s;
}

PolicyPort Port(std::string proto, IntOrString port) {
  PolicyPort p;
  p.protocol = std::move(proto);
  p.port = std::move(port);
  return p;
}

IntOrString Num(int32_t n) {
  return IntOrString{n, ""};
}
IntOrString Name(std::string s) {
  return IntOrString{std::nullopt, std::move(s)};
}

// A policy that uses every field the renderer knows.
NetworkPolicy Full() {
  NetworkPolicy p;
  p.ns = "shop";
  p.name = "deployment-api";
  p.labels = {{"app.kubernetes.io/managed-by", "netpol-ctrl"}};
  p.annotations = {{"netpol-ctrl.io/generation", "3"}};
  p.owner = OwnerReference{"apps/v1", "Deployment", "api", "0b5e-11"};
  p.pod_selector = Sel({{"app", "api"}});
  p.pod_selector.match_expressions = {{"tier", "In", {"backend", "true"}},
                                      {"canary", "DoesNotExist", {}}};

  PolicyRule own;
  own.peers = {{std::nullopt, Sel({{"app", "api"}}), std::nullopt}};
  PolicyRule web;
  web.peers = {
      {Sel({{"kubernetes.io/metadata.name", "shop"}}), Sel({{"app", "web"}}), std::nullopt}};
  web.ports = {Port("TCP", Num(8080)), Port("TCP", Name("metrics"))};
  PolicyRule lb;
  lb.peers = {{std::nullopt, std::nullopt, IPBlock{"0.0.0.0/0", {}}},
              {std::nullopt, std::nullopt, IPBlock{"::/0", {}}}};
  PolicyPort range = Port("UDP", Num(30000));
  range.end_port = 30010;
  lb.ports = {range};
  p.ingress = {own, web, lb};

  PolicyRule dns;
  dns.peers = {{Sel({{"kubernetes.io/metadata.name", "kube-system"}}),
                Sel({{"k8s-app", "kube-dns"}}), std::nullopt}};
  dns.ports = {Port("UDP", Num(53)), Port("TCP", Num(53))};
  PolicyRule ext;
  ext.peers = {{std::nullopt, std::nullopt, IPBlock{"10.0.0.0/8", {"10.1.0.0/16"}}}};
  PolicyRule all_ports_anywhere;  // {}: everything
  p.egress = {dns, ext, all_ports_anywhere};
  return p;
}

constexpr char kFullYaml[] = R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deployment-api
  namespace: shop
  labels:
    app.kubernetes.io/managed-by: netpol-ctrl
  annotations:
    netpol-ctrl.io/generation: "3"
  ownerReferences:
  - apiVersion: apps/v1
    kind: Deployment
    name: api
    uid: "0b5e-11"
    controller: true
spec:
  podSelector:
    matchLabels:
      app: api
    matchExpressions:
    - key: tier
      operator: In
      values:
      - backend
      - "true"
    - key: canary
      operator: DoesNotExist
  policyTypes:
  - Ingress
  - Egress
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app: api
  - from:
    - podSelector:
        matchLabels:
          app: web
      namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: shop
    ports:
    - protocol: TCP
      port: 8080
    - protocol: TCP
      port: metrics
  - from:
    - ipBlock:
        cidr: "0.0.0.0/0"
    - ipBlock:
        cidr: "::/0"
    ports:
    - protocol: UDP
      port: 30000
      endPort: 30010
  egress:
  - to:
    - podSelector:
        matchLabels:
          k8s-app: kube-dns
      namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: kube-system
    ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
  - to:
    - ipBlock:
        cidr: "10.0.0.0/8"
        except:
        - "10.1.0.0/16"
  - {}
)";

TEST(Render, FullPolicyYamlGolden) {
  EXPECT_EQ(PolicyToYaml(Full()), kFullYaml);
}

TEST(Render, MinimalPolicyJsonGolden) {
  NetworkPolicy p;
  p.ns = "data";
  p.name = "default-deny";
  p.owner = OwnerReference{"apps/v1", "Deployment", "x", ""};  // offline: no uid
  EXPECT_EQ(PolicyToJson(p).dump(),
            R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy",)"
            R"("metadata":{"name":"default-deny","namespace":"data"},)"
            R"("spec":{"podSelector":{},"policyTypes":["Ingress","Egress"]}})");
}

TEST(Render, PortsAreIntOrStringAndRulesOmitEmptyFields) {
  ordered_json j = PolicyToJson(Full());
  const ordered_json& web = j["spec"]["ingress"][1];
  EXPECT_TRUE(web["ports"][0]["port"].is_number_integer());
  EXPECT_TRUE(web["ports"][1]["port"].is_string());
  EXPECT_FALSE(web["ports"][0].contains("endPort"));
  EXPECT_FALSE(j["spec"]["ingress"][0].contains("ports"));
  EXPECT_TRUE(j["spec"]["egress"][2].empty());
  EXPECT_EQ(j["metadata"]["ownerReferences"][0]["controller"], true);
}

// Reads YAML back into JSON (scalars typed as a YAML 1.2 core schema reader
// would: unquoted ints and booleans, everything else a string).
ordered_json FromYaml(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      ordered_json j = ordered_json::object();
      for (const auto& kv : n) j[kv.first.Scalar()] = FromYaml(kv.second);
      return j;
    }
    case YAML::NodeType::Sequence: {
      ordered_json j = ordered_json::array();
      for (const auto& item : n) j.push_back(FromYaml(item));
      return j;
    }
    case YAML::NodeType::Scalar: {
      if (n.Tag() == "!") return n.Scalar();
      int64_t i = 0;
      bool b = false;
      if (YAML::convert<int64_t>::decode(n, i)) return i;
      if (YAML::convert<bool>::decode(n, b)) return b;
      return n.Scalar();
    }
    default: return nullptr;
  }
}

TEST(Render, YamlReadsBackAsTheSameObject) {
  NetworkPolicy p = Full();
  // Strings a YAML reader would otherwise take for numbers, booleans or nulls.
  p.labels = {{"a", "yes"}, {"b", "0x1F"},  {"c", "1e3"},  {"d", ""},     {"e", "null"},
              {"f", "~"},   {"g", "-1"},    {"h", "x: y"}, {"i", "#c"},   {"j", "line\nbreak"},
              {"k", "ON"},  {"l", " lead"}, {"m", "1.5"},  {"n", "*ref"}, {"o", "12"}};
  const std::string yaml = PolicyToYaml(p);
  YAML::Node n = YAML::Load(yaml);
  EXPECT_EQ(FromYaml(n), PolicyToJson(p)) << yaml;
  EXPECT_EQ(n["metadata"]["labels"]["a"].Tag(), "!");  // quoted, so a string
}

TEST(Render, MultiDocumentYaml) {
  NetworkPolicy a = Full();
  NetworkPolicy b;
  b.ns = "x";
  b.name = "y";
  const std::string yaml = PoliciesToYaml({a, b});
  EXPECT_EQ(yaml, "---\n" + PolicyToYaml(a) + "---\n" + PolicyToYaml(b));
  std::vector<YAML::Node> docs = YAML::LoadAll(yaml);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[1]["metadata"]["name"].Scalar(), "y");
  EXPECT_EQ(PoliciesToYaml({}), "");
}

TEST(Render, JsonList) {
  NetworkPolicy b;
  b.ns = "x";
  b.name = "y";
  ordered_json j = ordered_json::parse(PoliciesToJsonList({Full(), b}));
  EXPECT_EQ(j["apiVersion"], "v1");
  EXPECT_EQ(j["kind"], "List");
  ASSERT_EQ(j["items"].size(), 2u);
  EXPECT_EQ(j["items"][0], PolicyToJson(Full()));
  EXPECT_EQ(ordered_json::parse(PoliciesToJsonList({}))["items"], ordered_json::array());
}

TEST(Render, EqualPoliciesRenderToEqualBytes) {
  EXPECT_EQ(PolicyToYaml(Full()), PolicyToYaml(Full()));
  NetworkPolicy other = Full();
  other.egress.pop_back();
  EXPECT_NE(PolicyToYaml(Full()), PolicyToYaml(other));
}

}  // namespace
}  // namespace npc::render
