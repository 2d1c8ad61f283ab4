#include "dataplane/compare.h"

#include <algorithm>
#include <cstdlib>

namespace npc::dataplane {
namespace {

using json = nlohmann::json;

bool SelectsPod(const json& policy, const PodView& pod, bool egress) {
  if (policy["metadata"].value("namespace", "") != pod.ns || pod.host_network) return false;
  json types = policy["spec"].value("policyTypes", json::array());
  bool has = false;
  for (const json& t : types) has = has || t == (egress ? "Egress" : "Ingress");
  if (types.empty()) has = !egress || policy["spec"].contains("egress");
  if (!has) return false;
  StatusOr<eval::Selector> sel = eval::Selector::FromJson(policy["spec"].value("podSelector", json::object()));
  return sel.ok() && sel->Matches(pod.labels);
}

std::string PoliciesOf(const ClusterState& s, const PodView& pod, bool egress) {
  std::string out;
  for (const json& p : s.policies) {
    if (SelectsPod(p, pod, egress)) out += (out.empty() ? "" : ", ") + p["metadata"].value("namespace", "") + "/" + p["metadata"].value("name", "");
  }
  return out.empty() ? "none (not isolated)" : out;
}

std::string PolicyYaml(const ClusterState& s, const PodView& src, const PodView& dst) {
  std::string out;
  for (const json& p : s.policies) {
    if (!SelectsPod(p, src, true) && !SelectsPod(p, dst, false)) continue;
    json shown = {{"metadata", {{"namespace", p["metadata"].value("namespace", "")}, {"name", p["metadata"].value("name", "")}}},
                  {"spec", p["spec"]}};
    out += "      " + shown.dump() + "\n";
  }
  return out;
}

bool Matches(const json& selector, const std::map<std::string, std::string>& labels) {
  StatusOr<eval::Selector> sel = eval::Selector::FromJson(selector);
  return sel.ok() && sel->Matches({labels.begin(), labels.end()});
}

// Whether some pod in `pods` defines a container port named one of `ports`'
// names (with its protocol).
bool AnyResolves(const json& ports, const std::vector<const PodView*>& pods) {
  for (const json& p : ports) {
    const std::string name = p["port"].get<std::string>();
    const std::string proto = p.value("protocol", "TCP");
    for (const PodView* pod : pods) {
      for (const PortView& cp : pod->ports) {
        if (cp.name == name && cp.protocol == proto) return true;
      }
    }
  }
  return false;
}

}  // namespace

std::vector<json> KubeRouterReading(const std::vector<json>& policies, const std::vector<PodView>& pods,
                                    const std::map<std::string, std::map<std::string, std::string>>& namespaces,
                                    std::vector<std::string>* rewrites) {
  std::vector<json> out = policies;
  for (json& p : out) {
    const std::string ns = p["metadata"].value("namespace", "");
    const std::string id = ns + "/" + p["metadata"].value("name", "");
    std::vector<const PodView*> selected;
    for (const PodView& pod : pods) {
      if (pod.ns == ns && !pod.host_network && Matches(p["spec"].value("podSelector", json::object()), pod.labels)) {
        selected.push_back(&pod);
      }
    }
    for (const char* dir : {"ingress", "egress"}) {
      if (!p["spec"].contains(dir)) continue;
      json& rules = p["spec"][dir];
      for (size_t i = 0; i < rules.size(); ++i) {
        json& rule = rules[i];
        const json ports = rule.value("ports", json::array());
        if (ports.empty()) continue;
        bool all_named = true;
        for (const json& port : ports) all_named = all_named && port.contains("port") && port["port"].is_string();
        if (!all_named) continue;
        std::vector<const PodView*> where = selected;
        if (std::string(dir) == "egress") {
          // Named egress ports resolve on the rule's peer pods.
          where.clear();
          const json peers = rule.value("to", json::array());
          for (const PodView& pod : pods) {
            if (pod.host_network) continue;
            for (const json& peer : peers) {
              if (peer.contains("ipBlock")) continue;
              const bool ns_ok = peer.contains("namespaceSelector")
                                     ? namespaces.contains(pod.ns) && Matches(peer["namespaceSelector"], namespaces.at(pod.ns))
                                     : pod.ns == ns;
              if (ns_ok && Matches(peer.value("podSelector", json::object()), pod.labels)) {
                where.push_back(&pod);
                break;
              }
            }
          }
        }
        if (AnyResolves(ports, where)) continue;
        rule.erase("ports");
        if (rewrites != nullptr) {
          rewrites->push_back(id + " " + dir + " rule " + std::to_string(i) + " (ports " + ports.dump() +
                              " resolve on no pod): kube-router allows every port");
        }
      }
    }
  }
  return out;
}

StatusOr<ClusterState> ReadCluster(kube::Client& client, const std::string& cluster_id,
                                   const std::vector<std::string>& namespaces) {
  ClusterState s;
  NPC_ASSIGN_OR_RETURN(std::vector<PodView> all, ListPods(client, cluster_id));
  NPC_ASSIGN_OR_RETURN(s.namespaces, ListNamespaces(client));
  NPC_ASSIGN_OR_RETURN(s.policies, ListPolicies(client));
  for (const auto& [name, labels] : s.namespaces) {
    s.evaluator.AddNamespace(name, labels);
    s.kube_router.AddNamespace(name, labels);
  }
  for (PodView& p : all) {
    const bool wanted = std::find(namespaces.begin(), namespaces.end(), p.ns) != namespaces.end();
    const bool dns = p.ns == "kube-system" && p.labels.contains("k8s-app") && p.labels.at("k8s-app") == "kube-dns";
    if ((!wanted && !dns) || !p.running()) continue;
    eval::Pod ep{p.ns, p.name, {p.labels.begin(), p.labels.end()}, p.ip, {}, p.host_network};
    for (const PortView& port : p.ports) ep.ports.push_back({port.name, port.port, port.protocol});
    Status st = s.evaluator.AddPod(ep);
    if (!st.ok()) {
      s.notes.push_back("pod " + p.id() + " left out of the comparison: " + st.message());
      continue;
    }
    (void)s.kube_router.AddPod(ep);
    s.pods.push_back(p);
  }
  for (const PodView& p : s.pods) {
    if (p.ns == "kube-system" && p.labels.contains("k8s-app")) s.dns_pod = &p;
  }
  for (const json& p : s.policies) {
    Status st = s.evaluator.AddPolicy(p);
    if (!st.ok()) return st.WithContext("NetworkPolicy " + p["metadata"].value("namespace", "") + "/" + p["metadata"].value("name", ""));
  }
  std::erase_if(all, [](const PodView& p) { return !p.running(); });
  for (const json& p : KubeRouterReading(s.policies, all, s.namespaces, &s.kube_router_rewrites)) {
    NPC_RETURN_IF_ERROR(s.kube_router.AddPolicy(p));
  }
  return s;
}

std::string Comparison::Report() const {
  std::string out = std::to_string(probes) + " probes (" + std::to_string(allowed) + " allowed), " +
                    std::to_string(failures.size()) + " differences, " + std::to_string(known.size()) +
                    " known enforcer behaviours\n";
  for (const std::string& f : failures) out += "DIFFERENCE " + f + "\n";
  // Every flow kube-router gets wrong; of the rest (the node's own
  // traffic, notes), the first three.
  size_t others = 0;
  for (const std::string& k : known) {
    if (k.find("kube-router v2.1.0") != std::string::npos) out += "known: " + k + "\n";
  }
  for (const std::string& k : known) {
    if (k.find("kube-router v2.1.0") != std::string::npos) continue;
    if (++others <= 3) out += "known: " + k + "\n";
  }
  if (others > 3) out += "  ... and " + std::to_string(others - 3) + " more like these\n";
  return out;
}

Comparison Compare(const ClusterState& s, const IntentFn& intent, const CompareOptions& options) {
  Comparison c;
  const char* strict_env = std::getenv("NPC_DATAPLANE_STRICT");
  const bool strict = strict_env != nullptr && std::string(strict_env) == "1";
  // The matrix, and each pod's DNS through the Service.
  std::vector<MatrixCell> cells = ProbeMatrix(s.pods, options.probe);
  struct DnsCell {
    size_t src;
    std::string protocol;
  };
  std::vector<DnsCell> dns_cells;
  std::vector<ProbeSpec> dns_specs;
  if (s.dns_pod != nullptr) {
    for (size_t i = 0; i < s.pods.size(); ++i) {
      if (&s.pods[i] == s.dns_pod || s.pods[i].host_network) continue;
      for (const char* proto : {"UDP", "TCP"}) {
        dns_cells.push_back({i, proto});
        dns_specs.push_back({s.pods[i].netns, "198.19.0.10", 53, proto, options.dns_name});
      }
    }
  }
  std::vector<ProbeResult> dns_results = ProbeAll(dns_specs, options.probe);
  c.matrix = FormatMatrix(s.pods, cells);

  auto judge = [&](const PodView& src, const PodView& dst, int port, const std::string& proto,
                   const ProbeResult& observed, const std::string& what, const std::string& wrong_answer) {
    ++c.probes;
    const bool seen = observed.answered() && wrong_answer.empty();
    c.allowed += seen;
    const eval::Verdict v = s.evaluator.Explain(eval::Endpoint::Pod(src.ns, src.name),
                                                eval::Endpoint::Pod(dst.ns, dst.name), port, proto);
    const eval::Cell want = intent ? intent(src, dst, port, proto) : eval::Cell::kEither;
    const bool intent_known = want != eval::Cell::kEither;
    const bool intended = want == eval::Cell::kAllowed;
    const std::string flow = src.id() + " -> " + dst.id() + " " + std::to_string(port) + "/" + proto + what;
    if (seen == v.allowed && (!intent_known || intended == v.allowed)) return;
    if (!strict && seen && !v.allowed && src.host_network && !dst.host_network && (!intent_known || !intended)) {
      c.known.push_back(flow + ": allowed from the pod's own node (hostNetwork source " + src.ip +
                        "); the evaluator only lets ipBlocks match a node address");
      return;
    }
    const bool kr = s.kube_router.Allowed(eval::Endpoint::Pod(src.ns, src.name), eval::Endpoint::Pod(dst.ns, dst.name),
                                          port, proto);
    if (!strict && seen && !v.allowed && kr && (!intent_known || !intended)) {
      std::string rules;
      for (const std::string& r : s.kube_router_rewrites) rules += "\n      " + r;
      c.known.push_back(flow + ": allowed by kube-router, denied by the spec: kube-router v2.1.0 reads a rule "
                        "whose ports are all named ports that resolve on no pod as a rule without ports "
                        "(every port); such rules here:" + rules);
      return;
    }
    std::string culprit;
    if (seen == v.allowed) {
      culprit = "SYNTHESIS is wrong: the evaluator and the enforcer agree on what the policies say (" +
                std::string(v.allowed ? "allowed" : "denied") + "), but the design intends " +
                (intended ? "allowed" : "denied");
    } else if (intent_known && intended == v.allowed) {
      culprit = "the ENFORCER (kube-router, or our reading of it) is wrong: the policies say " +
                std::string(v.allowed ? "allowed" : "denied") + " as the design intends, but real traffic was " +
                (seen ? "allowed" : "denied");
    } else if (intent_known && intended == seen) {
      culprit = "the EVALUATOR is wrong: real traffic was " + std::string(seen ? "allowed" : "denied") +
                " as the design intends, but the evaluator judges the policies " + (v.allowed ? "allowed" : "denied");
    } else {
      culprit = std::string("the EVALUATOR or the ENFORCER is wrong (no design intent to tell them apart): ") +
                "read the policies below against the NetworkPolicy spec; the evaluator says " +
                (v.allowed ? "allowed" : "denied") + ", real traffic was " + (seen ? "allowed" : "denied");
    }
    c.failures.push_back(flow + ": " + culprit + "\n    probe: " + observed.ToString() + wrong_answer +
                         "\n    evaluator: " + v.ToString() + "\n    policies isolating the source (egress): " +
                         PoliciesOf(s, src, true) + "\n    policies isolating the destination (ingress): " +
                         PoliciesOf(s, dst, false) + "\n    those policies:\n" + PolicyYaml(s, src, dst));
  };
  for (const MatrixCell& cell : cells) {
    judge(s.pods[cell.src], s.pods[cell.dst], cell.port, cell.protocol, cell.result, "", "");
  }
  for (size_t i = 0; i < dns_cells.size(); ++i) {
    const ProbeResult& r = dns_results[i];
    std::string wrong;
    if (r.answered() && r.answer.find(options.dns_answer) == std::string::npos) {
      wrong = " (answered, but not with " + options.dns_answer + ": DNS itself is broken)";
    }
    judge(s.pods[dns_cells[i].src], *s.dns_pod, 53, dns_cells[i].protocol, r,
          " (DNS query for " + options.dns_name + " to the kube-dns Service)", wrong);
  }
  return c;
}

}  // namespace npc::dataplane
