// The generator and its intent model, checked without synthesis: reproducible
// cases, coverage of the features the property must exercise, and agreement
// between the intent model and the evaluator when the intents are written
// out as NetworkPolicies by the most literal translation.
#include "property/cluster_for_case.h"
#include "property/generator.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>

namespace npc::property {
namespace {

using nlohmann::json;

json SelectorJson(const eval::Selector& s) {
  json j = json::object();
  if (!s.match_labels.empty()) j["matchLabels"] = s.match_labels;
  for (const eval::Requirement& r : s.match_expressions) {
    json e = {{"key", r.key}, {"operator", r.op}};
    if (!r.values.empty()) e["values"] = r.values;
    j["matchExpressions"].push_back(e);
  }
  return j;
}

json PeersJson(const PeerSpec& p) {
  switch (p.kind) {
    case PeerSpec::Kind::kAnyone:
      return json::array(
          {{{"ipBlock", {{"cidr", "0.0.0.0/0"}}}}, {{"ipBlock", {{"cidr", "::/0"}}}}});
    case PeerSpec::Kind::kSelected:
      return json::array(
          {{{"namespaceSelector", {{"matchLabels", {{"kubernetes.io/metadata.name", p.ns}}}}},
            {"podSelector", SelectorJson(p.pods)}}});
    case PeerSpec::Kind::kPeerSelector:
      return json::array({{{"namespaceSelector", SelectorJson(p.namespaces)},
                           {"podSelector", SelectorJson(p.pods)}}});
    case PeerSpec::Kind::kIpBlock: return json::array({{{"ipBlock", {{"cidr", p.cidr}}}}});
  }
  return json::array();
}

json RulesJson(const std::vector<IntentRule>& rules, const char* peers_key) {
  json out = json::array();
  for (const IntentRule& r : rules) {
    json rule = {{peers_key, PeersJson(r.peer)}};
    for (const PortSpec& p : r.ports) {
      json port = {{"protocol", p.protocol}};
      if (!p.name.empty()) {
        port["port"] = p.name;
      } else if (p.number) {
        port["port"] = *p.number;
        if (p.end) port["endPort"] = *p.end;
      }
      rule["ports"].push_back(port);
    }
    out.push_back(rule);
  }
  return out;
}

// The literal translation of an intent into a NetworkPolicy.
json IntentPolicy(const WorkloadIntent& in, size_t index) {
  return {{"apiVersion", "networking.k8s.io/v1"},
          {"kind", "NetworkPolicy"},
          {"metadata", {{"namespace", in.ns}, {"name", "intent-" + std::to_string(index)}}},
          {"spec",
           {{"podSelector", SelectorJson(in.selector)},
            {"policyTypes", {"Ingress", "Egress"}},
            {"ingress", RulesJson(in.ingress, "from")},
            {"egress", RulesJson(in.egress, "to")}}}};
}

int Cases(int dflt) {
  const char* v = std::getenv("NPC_PROPERTY_CASES");
  return v != nullptr ? std::atoi(v) : dflt;
}

TEST(GeneratorTest, SameSeedSameCase) {
  for (uint64_t seed : {1u, 2u, 77u}) {
    EXPECT_EQ(Describe(Generate(seed)), Describe(Generate(seed)));
  }
  EXPECT_NE(Describe(Generate(1)), Describe(Generate(2)));
}

// Over many seeds the generator produces every feature the property must
// exercise; a generator that lost one would make the property silently weaker.
TEST(GeneratorTest, CoversTheFeatures) {
  std::map<std::string, int> seen;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    GeneratedCase c = Generate(seed);
    for (const Workload& w : c.snapshot.workloads) {
      seen["kind " + std::string(KindName(w.kind))]++;
      if (!w.pod_selector.match_expressions.empty()) seen["selector expressions"]++;
      if (w.pod_selector.match_labels.size() + w.pod_selector.match_expressions.size() > 1) {
        seen["multi-key selector"]++;
      }
      if (w.annotations.contains("netpol-ctrl.io/ignore")) seen["ignored workload"]++;
      if (w.template_annotations.contains("prometheus.io/scrape")) seen["scraped"]++;
      if (w.has_controller) seen["pod of another controller"]++;
      if (w.host_network) seen["hostNetwork"]++;
      for (const Annotations* a : {&w.annotations, &w.template_annotations}) {
        for (const char* k : {"netpol-ctrl.io/allow-egress", "netpol-ctrl.io/allow-ingress-from",
                              "netpol-ctrl.io/allow-api-server"}) {
          if (a->contains(k)) seen[k]++;
        }
      }
    }
    if (c.config.default_deny) seen["default deny"]++;
    for (const Namespace& n : c.snapshot.namespaces) {
      if (n.annotations.contains("netpol-ctrl.io/ignore")) seen["ignored namespace"]++;
    }
    for (const WorkloadIntent& in : c.intents) {
      if (in.id == "Deployment/monitoring/prometheus") seen["managed prometheus"]++;
      for (const IntentRule& r : in.egress) {
        if (r.why.starts_with("scrapes ")) seen["prometheus egress to scrape target"]++;
      }
    }
    for (const EndpointSlice& e : c.snapshot.endpoint_slices) {
      seen[e.service_name == "kubernetes" ? "api server slice" : "selector-less endpoints"]++;
    }
    for (const Service& s : c.snapshot.services) {
      seen["service " + s.type]++;
      if (!s.selector && s.type != "ExternalName") seen["selector-less service"]++;
      if (s.headless) seen["headless"]++;
      if (s.ports.size() > 1) seen["multi-port service"]++;
      for (const ServicePort& sp : s.ports) {
        if (!sp.target_port.empty() && !sp.target_port.is_num()) seen["named targetPort"]++;
        if (sp.target_port.is_num()) seen["numbered targetPort"]++;
      }
    }
    if (!c.snapshot.ingresses.empty()) seen["ingress"]++;
    for (const std::string& r : c.references) {
      for (const char* form : {"env ", "from configmap", "envFrom", "(expanded)", "args", "command",
                               "volume", "initContainer", ".svc.cluster.local", "http://",
                               "member-0.", "prefix", "names nothing"}) {
        if (r.find(form) != std::string::npos) seen[std::string("ref ") + form]++;
      }
    }
    // Overlap: a pod governed by two managed workloads.
    for (const eval::Pod& p : c.pods) {
      int n = 0;
      for (const WorkloadIntent& in : c.intents)
        n += in.ns == p.ns && in.selector.Matches(p.labels);
      if (n > 1) seen["overlapping governance"]++;
    }
    eval::Matrix m = IntendedMatrix(c);
    for (size_t s = 0; s < m.endpoints().size(); ++s) {
      for (size_t d = 0; d < m.endpoints().size(); ++d) {
        if (!m.Judged(s, d)) continue;
        for (size_t k = 0; k < m.probes().size(); ++k) {
          if (m.at(s, d, k) == eval::Cell::kEither) seen["either cell"]++;
          if (d < c.pods.size() && s < c.pods.size() && c.pods[d].host_network &&
              c.pods[s].ns == "monitoring" && m.at(s, d, k) == eval::Cell::kAllowed) {
            seen["hostNetwork reached"]++;
          }
          if (!m.endpoints()[s].is_pod() || !m.endpoints()[d].is_pod()) {
            if (m.at(s, d, k) == eval::Cell::kAllowed) seen["external flow"]++;
          }
          if (m.endpoints()[s].ns != m.endpoints()[d].ns && m.endpoints()[s].ns.starts_with("ns") &&
              m.endpoints()[d].ns.starts_with("ns") && m.at(s, d, k) == eval::Cell::kAllowed) {
            seen["cross-namespace app flow"]++;
          }
        }
      }
    }
  }
  for (const char* feature : {"kind Deployment",
                              "kind StatefulSet",
                              "kind CronJob",
                              "kind Pod",
                              "selector expressions",
                              "multi-key selector",
                              "ignored workload",
                              "scraped",
                              "service ClusterIP",
                              "service NodePort",
                              "service LoadBalancer",
                              "headless",
                              "multi-port service",
                              "named targetPort",
                              "numbered targetPort",
                              "ingress",
                              "ref env ",
                              "ref from configmap",
                              "ref envFrom",
                              "ref (expanded)",
                              "ref args",
                              "ref command",
                              "ref volume",
                              "ref initContainer",
                              "ref .svc.cluster.local",
                              "ref http://",
                              "ref member-0.",
                              "ref prefix",
                              "ref names nothing",
                              "overlapping governance",
                              "either cell",
                              "cross-namespace app flow",
                              "service ExternalName",
                              "selector-less service",
                              "selector-less endpoints",
                              "api server slice",
                              "netpol-ctrl.io/allow-egress",
                              "netpol-ctrl.io/allow-ingress-from",
                              "netpol-ctrl.io/allow-api-server",
                              "default deny",
                              "ignored namespace",
                              "pod of another controller",
                              "managed prometheus",
                              "prometheus egress to scrape target",
                              "external flow",
                              "hostNetwork",
                              "hostNetwork reached"}) {
    EXPECT_GT(seen[feature], 0) << feature;
  }
}

// Basic facts of the intent, whatever the case: pods that a workload policy
// governs reach DNS on 53; a pod reaches an external address only when it is
// unrestricted or an annotation (an ipBlock) intends it; pods isolated by
// default-deny alone reach nothing.
TEST(IntentTest, DnsAndExternalFacts) {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    GeneratedCase c = Generate(seed);
    eval::Matrix m = IntendedMatrix(c);
    const size_t n_pods = c.pods.size();
    size_t dns = 0;
    while (c.pods[dns].ns != "kube-system") ++dns;
    size_t udp53 = 0;
    while (!(c.probes[udp53].port == 53 && c.probes[udp53].protocol == "UDP")) ++udp53;
    for (size_t i = 0; i < n_pods; ++i) {
      if (c.pods[i].host_network) continue;  // its node's address: no policy applies
      bool governed = false;
      bool workload = false;
      bool ip_block = false;
      for (const WorkloadIntent& in : c.intents) {
        if (in.ns != c.pods[i].ns || !in.selector.Matches(c.pods[i].labels)) continue;
        governed = true;
        workload = workload || !in.id.starts_with("default-deny/");
        for (const IntentRule& r : in.egress)
          ip_block = ip_block || r.peer.kind == PeerSpec::Kind::kIpBlock;
      }
      if (i == dns) continue;
      EXPECT_EQ(m.at(i, dns, udp53),
                governed && !workload ? eval::Cell::kDenied : eval::Cell::kAllowed)
          << "seed " << seed << " pod " << i;
      if (ip_block) continue;
      for (size_t k = 0; k < c.probes.size(); ++k) {
        for (size_t e = n_pods; e < m.endpoints().size(); ++e) {
          EXPECT_EQ(m.at(i, e, k), governed ? eval::Cell::kDenied : eval::Cell::kAllowed)
              << "seed " << seed << " " << c.pods[i].name << " " << c.probes[k].ToString();
        }
      }
    }
  }
}

// The intent model and the evaluator agree: the intents, written literally
// as NetworkPolicies, yield exactly the intended matrix. This checks the two
// judges against each other over thousands of random policies.
TEST(IntentTest, LiteralPoliciesMatchIntendedMatrix) {
  const int cases = Cases(1000);
  for (int i = 0; i < cases; ++i) {
    const uint64_t seed = 1000 + static_cast<uint64_t>(i);
    GeneratedCase c = Generate(seed);
    eval::Cluster cluster = MakeCluster(c);
    for (size_t k = 0; k < c.intents.size(); ++k) {
      Status s = cluster.AddPolicy(IntentPolicy(c.intents[k], k));
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
    eval::Matrix got = eval::Matrix::Compute(cluster, c.probes, c.external_ips);
    std::vector<std::string> diff = got.Diff(IntendedMatrix(c), 20);
    ASSERT_TRUE(diff.empty()) << "seed " << seed << "\n" << eval::JoinLines(diff) << Describe(c);
  }
}

}  // namespace
}  // namespace npc::property
