// ComputePolicy: the NetworkPolicy of one workload (DESIGN.md section 3).
//
// Every allowance is first collected as a grant (peer, ports or "all ports",
// reason). Grants of one peer are merged; peers with the same final port set
// form one rule. Peers are never merged with each other and a selector is
// never split, so the rules say exactly what the grants say.
#include <algorithm>
#include <map>
#include <set>

#include "synth/annotations.h"
#include "synth/index.h"
#include "synth/internal.h"

namespace npc::synth {

namespace {

using PortSet = std::set<PolicyPort>;

struct Grant {
  bool all_ports = false;
  PortSet ports;
  std::set<std::string> reasons;
};

using Grants = std::map<PolicyPeer, Grant>;

void Add(Grants& grants, const PolicyPeer& peer,
         const std::optional<std::vector<PolicyPort>>& ports, const std::string& reason) {
  Grant& g = grants[peer];
  if (!ports || ports->empty()) {
    g.all_ports = true;
  } else {
    g.ports.insert(ports->begin(), ports->end());
  }
  g.reasons.insert(reason);
}

void Emit(const Grants& grants, std::vector<PolicyRule>* rules,
          std::vector<std::vector<std::string>>* reasons) {
  std::map<std::pair<bool, PortSet>, std::pair<std::vector<PolicyPeer>, std::set<std::string>>>
      groups;
  for (const auto& [peer, g] : grants) {
    auto& group = groups[{g.all_ports, g.all_ports ? PortSet{} : g.ports}];
    group.first.push_back(peer);  // map order: sorted and unique
    group.second.insert(g.reasons.begin(), g.reasons.end());
  }
  std::vector<std::pair<PolicyRule, std::vector<std::string>>> out;
  for (auto& [key, group] : groups) {
    PolicyRule rule;
    rule.peers = std::move(group.first);
    rule.ports.assign(key.second.begin(), key.second.end());
    out.emplace_back(std::move(rule),
                     std::vector<std::string>(group.second.begin(), group.second.end()));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [rule, why] : out) {
    rules->push_back(std::move(rule));
    reasons->push_back(std::move(why));
  }
}

LabelSelector NamespaceIs(const std::string& ns) {
  LabelSelector s;
  s.match_labels[std::string(kNamespaceNameLabel)] = ns;
  return s;
}

// W's pods, from anywhere: namespace AND pods in one peer.
PolicyPeer WorkloadPeer(const Workload& w) {
  PolicyPeer p;
  p.namespace_selector = NamespaceIs(w.ns);
  p.pod_selector = EffectivePodSelector(w);
  return p;
}

PolicyPeer ConfigPeer(const PeerSelector& s) {
  PolicyPeer p;
  p.namespace_selector = CanonicalSelector(s.namespaces);
  p.pod_selector = CanonicalSelector(s.pods);
  return p;
}

PolicyPeer CidrPeer(std::string cidr) {
  PolicyPeer p;
  p.ip_block = IPBlock{std::move(cidr), {}};
  return p;
}

std::string Protocol(const std::string& p) {
  return p.empty() ? "TCP" : p;
}

// The ports a Service's traffic arrives on: each targetPort (the port when
// empty), with its protocol. A named targetPort stays a name (DESIGN.md
// section 2): each selected pod resolves it to its own container port, so a
// selector that spans workloads declaring the name with different numbers
// opens exactly the right number on each pod.
std::optional<std::vector<PolicyPort>> TargetPorts(const std::vector<ServicePort>& ports) {
  if (ports.empty()) return std::nullopt;
  std::vector<PolicyPort> out;
  for (const ServicePort& sp : ports) {
    PolicyPort pp;
    pp.protocol = Protocol(sp.protocol);
    pp.port = sp.target_port.empty() ? IntOrString{sp.port, ""} : sp.target_port;
    out.push_back(pp);
  }
  return out;
}

std::string ServiceName(const Service& s) {
  return s.ns + "/" + s.name;
}

}  // namespace

class PolicyBuilder {
 public:
  PolicyBuilder(const ClusterIndex& index, const Workload& w, std::vector<Warning>* warnings)
      : ix_(index), w_(w), wi_(index.IndexOf(w)), warnings_(warnings) {}

  WorkloadPolicy Build() {
    PolicyPeer own;
    own.pod_selector = EffectivePodSelector(w_);
    Add(ingress_, own, std::nullopt, "own pods");
    Add(egress_, own, std::nullopt, "own pods");
    IngressFromClients();
    IngressFromControllers();
    Monitoring();
    Dns();
    EgressToEdges();
    ApiServer();
    Annotation(kAllowIngressFromAnnotation, ingress_);
    Annotation(kAllowEgressAnnotation, egress_);
    for (const std::string& m : ix_.scrape_warnings_[wi_]) Warn(m);
    if (w_.kind == WorkloadKind::kPod && w_.pod_selector.empty()) {
      Warn("bare Pod " + w_.ns + "/" + w_.name + " has no labels: the controller labels it " +
           std::string(kBarePodLabel) + "=" + BarePodLabelValue(w_.name) +
           "; when applying offline output, add that label");
    }

    WorkloadPolicy out;
    out.workload = w_.key();
    NetworkPolicy& p = out.policy;
    p.ns = w_.ns;
    p.name = PolicyName(w_.key());
    p.labels[std::string(kManagedByLabel)] = std::string(kManagedByValue);
    p.owner = OwnerReference{std::string(KindApiVersion(w_.kind)), std::string(KindName(w_.kind)),
                             w_.name, w_.uid};
    p.pod_selector = EffectivePodSelector(w_);
    p.policy_types = {"Ingress", "Egress"};
    Emit(ingress_, &p.ingress, &out.ingress_reasons);
    Emit(egress_, &p.egress, &out.egress_reasons);
    return out;
  }

 private:
  void Warn(std::string message) {
    if (warnings_) warnings_->push_back(Warning{w_.key(), std::move(message)});
  }

  // Egress to a hostNetwork workload cannot be written with a pod selector
  // (its pods have node addresses): no rule, a warning that says what to do.
  void WarnHostNetwork(const Workload& t, const std::string& role,
                       const std::optional<std::vector<PolicyPort>>& ports) {
    std::string on;
    if (ports) {
      for (const PolicyPort& p : *ports) {
        on += (on.empty() ? " on " : ", ") + p.port.ToString() + "/" + p.protocol;
      }
    }
    Warn(t.key().ToString() + " (" + role +
         ") uses hostNetwork: no pod selector matches its "
         "pods, so no rule is written; to reach it" +
         on + ", add the node CIDRs to " + std::string(kAllowEgressAnnotation));
  }

  // Ingress 2: every client of a Service selecting W, and pod DNS clients.
  void IngressFromClients() {
    auto add_client = [&](uint32_t ci, const Edge& e, const std::string& what) {
      if (ci == wi_) return;  // own pods are allowed already
      const Workload& c = *ix_.workloads_[ci];
      Add(ingress_, WorkloadPeer(c), TargetPorts(e.ports),
          "client " + c.key().ToString() + ": " + DescribeEdge(e));
      if (c.host_network) {
        Warn("client " + c.key().ToString() + " uses hostNetwork: its traffic to " + what +
             " comes from node addresses, which pod selectors do not match");
      }
    };
    for (uint32_t si : ix_.selected_by_[wi_]) {
      for (const auto& [ci, ei] : ix_.service_clients_[si]) {
        add_client(ci, ix_.edges_[ci][ei], "Service " + ServiceName(*ix_.services_[si]));
      }
    }
    for (const auto& [ci, ei] : ix_.pod_clients_[wi_]) {
      add_client(ci, ix_.edges_[ci][ei], "its pods");
    }
  }

  // Ingress 3 and 4: ingress controllers and anyone (LoadBalancer, NodePort).
  void IngressFromControllers() {
    const SynthesisConfig& cfg = ix_.config_;
    for (uint32_t si : ix_.selected_by_[wi_]) {
      const Service& s = *ix_.services_[si];
      if (s.type == "LoadBalancer" || s.type == "NodePort") {
        const std::string why = "anyone: Service " + ServiceName(s) + " is type " + s.type + " (" +
                                DescribePorts(s.ports) + ")";
        Add(ingress_, CidrPeer("0.0.0.0/0"), TargetPorts(s.ports), why);
        Add(ingress_, CidrPeer("::/0"), TargetPorts(s.ports), why);
      }
      if (cfg.ingress_controller_mode == IngressControllerMode::kAll) {
        for (const PeerSelector& ic : cfg.ingress_controller_peers) {
          Add(ingress_, ConfigPeer(ic), TargetPorts(s.ports),
              "ingress controllers (mode all): Service " + ServiceName(s) + " (" +
                  DescribePorts(s.ports) + ")");
        }
      }
    }
    if (cfg.ingress_controller_mode != IngressControllerMode::kExposed) return;
    auto it = ix_.ingresses_.find(w_.ns);
    if (it == ix_.ingresses_.end()) return;
    for (const Ingress* ing : it->second) {
      for (const IngressBackend& b : ing->backends) {
        const Service* s = ix_.FindService(w_.ns, b.service_name);
        if (!s) continue;
        const uint32_t si = ix_.service_by_key_.at(s->ns + "/" + s->name);
        const auto& sel = ix_.selected_by_[wi_];
        if (std::find(sel.begin(), sel.end(), si) == sel.end()) continue;
        std::vector<ServicePort> ports;
        for (const ServicePort& sp : s->ports) {
          if (b.service_port.empty() || (b.service_port.is_num() ? sp.port == *b.service_port.num
                                                                 : sp.name == b.service_port.str)) {
            ports.push_back(sp);
          }
        }
        if (ports.empty()) {
          Warn("Ingress " + ing->ns + "/" + ing->name + " routes to port " +
               b.service_port.ToString() + ", which Service " + ServiceName(*s) + " does not have");
          continue;
        }
        for (const PeerSelector& ic : ix_.config_.ingress_controller_peers) {
          Add(ingress_, ConfigPeer(ic), TargetPorts(ports),
              "ingress controllers: Ingress " + ing->ns + "/" + ing->name + " routes to Service " +
                  ServiceName(*s) + " (" + DescribePorts(ports) + ")");
        }
      }
    }
  }

  // Ingress 5 (monitoring -> W's scrape port), and the matching egress when W
  // itself is a configured monitoring workload.
  void Monitoring() {
    const auto& mon = ix_.config_.monitoring_peers;
    if (const auto& t = ix_.scrape_[wi_]) {
      for (const PeerSelector& m : mon) {
        Add(ingress_, ConfigPeer(m), t->ports, "monitoring: prometheus.io/scrape=true");
      }
    }
    if (!ix_.MatchesPeer(mon, w_)) return;
    for (uint32_t ti : ix_.scraped_) {
      if (ti == wi_) continue;
      const Workload& t = *ix_.workloads_[ti];
      if (t.host_network) {
        WarnHostNetwork(t, "scrape target (prometheus.io/scrape=true)", ix_.scrape_[ti]->ports);
        continue;
      }
      Add(egress_, WorkloadPeer(t), ix_.scrape_[ti]->ports,
          "monitoring: scrapes " + t.key().ToString() + " (prometheus.io/scrape=true)");
    }
  }

  // Egress 2.
  void Dns() {
    std::vector<PolicyPort> ports(2);
    ports[0].protocol = "UDP";
    ports[0].port.num = 53;
    ports[1].protocol = "TCP";
    ports[1].port.num = 53;
    for (const PeerSelector& d : ix_.config_.dns_peers) Add(egress_, ConfigPeer(d), ports, "DNS");
  }

  // Egress 3: backends of every Service W names, or their endpoints.
  void EgressToEdges() {
    for (const Edge& e : ix_.edges_[wi_]) {
      if (e.target) {
        const Workload* t = ix_.FindWorkload(*e.target);
        if (!t || *e.target == w_.key()) continue;
        if (t->host_network) {
          WarnHostNetwork(*t, "named by pod DNS " + e.host, TargetPorts(e.ports));
          continue;
        }
        Add(egress_, WorkloadPeer(*t), TargetPorts(e.ports), "to pod: " + DescribeEdge(e));
        continue;
      }
      const uint32_t si = ix_.service_by_key_.at(e.service_ns + "/" + e.service_name);
      const Service& s = *ix_.services_[si];
      if (s.type == "ExternalName") {
        Warn("ExternalName Service " + ServiceName(s) + " (-> " + s.external_name +
             ") cannot be expressed in a NetworkPolicy; use " +
             std::string(kAllowEgressAnnotation));
        continue;
      }
      if (!s.selector || s.selector->empty()) {
        SelectorlessEgress(s, e);
        continue;
      }
      for (uint32_t bi : ix_.backends_[si]) {
        if (bi == wi_) continue;
        const Workload& b = *ix_.workloads_[bi];
        if (b.host_network) {
          WarnHostNetwork(b, "backend of Service " + ServiceName(s), TargetPorts(e.ports));
          continue;
        }
        Add(egress_, WorkloadPeer(b), TargetPorts(e.ports),
            "backend " + b.key().ToString() + ": " + DescribeEdge(e));
      }
    }
  }

  // Egress to the addresses of a Service without selector (EndpointSlices).
  void SelectorlessEgress(const Service& s, const Edge& e) {
    auto it = ix_.slices_.find(s.ns + "/" + s.name);
    if (it == ix_.slices_.end()) {
      Warn("Service " + ServiceName(s) +
           " has no selector and no EndpointSlice: nothing to allow for it");
      return;
    }
    const std::string why = "endpoints of Service " + ServiceName(s) + ": " + DescribeEdge(e);
    for (const EndpointSlice* slice : it->second) {
      std::optional<std::vector<PolicyPort>> ports;
      if (!e.ports.empty()) {
        ports.emplace();
        for (const ServicePort& sp : e.ports) {
          PolicyPort pp;
          pp.protocol = Protocol(sp.protocol);
          bool found = false;
          for (const EndpointPort& ep : slice->ports) {
            if (ep.name == sp.name && Protocol(ep.protocol) == pp.protocol && ep.port > 0) {
              pp.port.num = ep.port;
              found = true;
            }
          }
          if (!found) {
            pp.port = sp.target_port.empty() ? IntOrString{sp.port, ""} : sp.target_port;
          }
          ports->push_back(pp);
        }
      }
      AddAddresses(*slice, ports, why);
    }
  }

  void AddAddresses(const EndpointSlice& slice, const std::optional<std::vector<PolicyPort>>& ports,
                    const std::string& why) {
    if (slice.address_type == "FQDN") {
      Warn("EndpointSlice " + slice.ns + "/" + slice.name +
           " holds FQDN addresses, which a NetworkPolicy cannot express");
      return;
    }
    for (const std::string& a : slice.addresses) {
      if (a.find('/') != std::string::npos) continue;
      if (auto cidr = CanonicalCidr(a)) Add(egress_, CidrPeer(*cidr), ports, why);
    }
  }

  // Egress 4b: the API server, from the EndpointSlices of default/kubernetes.
  void ApiServer() {
    const Annotations* from = nullptr;
    if (w_.annotations.contains(std::string(kAllowApiServerAnnotation))) {
      from = &w_.annotations;
    } else if (w_.template_annotations.contains(std::string(kAllowApiServerAnnotation))) {
      from = &w_.template_annotations;
    }
    if (!from) return;
    const std::string& v = from->at(std::string(kAllowApiServerAnnotation));
    if (v == "false" || v == "False") return;
    if (v != "true" && v != "True") {
      Warn("annotation " + std::string(kAllowApiServerAnnotation) + "=\"" + CutForDisplay(v) +
           "\" is neither true nor false: ignored");
      return;
    }
    auto it = ix_.slices_.find("default/kubernetes");
    if (it == ix_.slices_.end()) {
      Warn("annotation " + std::string(kAllowApiServerAnnotation) +
           ": the API server's address is unknown (no EndpointSlice for default/kubernetes)");
      return;
    }
    for (const EndpointSlice* slice : it->second) {
      std::vector<PolicyPort> ports;
      for (const EndpointPort& ep : slice->ports) {
        if (ep.port <= 0) continue;
        PolicyPort pp;
        pp.protocol = Protocol(ep.protocol);
        pp.port.num = ep.port;
        ports.push_back(pp);
      }
      AddAddresses(*slice, ports,
                   "API server (annotation " + std::string(kAllowApiServerAnnotation) + ")");
    }
  }

  // Ingress 6 / egress 4a: peers written in an annotation (annotations.h).
  void Annotation(std::string_view key, Grants& grants) {
    for (const Annotations* a : {&w_.annotations, &w_.template_annotations}) {
      auto it = a->find(std::string(key));
      if (it == a->end()) continue;
      ParsedPeerList parsed = ParsePeerList(it->second);
      for (const std::string& err : parsed.errors) {
        Warn("annotation " + std::string(key) + ": " + err + " (entry ignored)");
      }
      for (AnnotationPeer& p : parsed.peers) {
        std::optional<std::vector<PolicyPort>> ports;
        if (p.port) ports = std::vector<PolicyPort>{*p.port};
        if (p.peer.pod_selector) p.peer.pod_selector = CanonicalSelector(*p.peer.pod_selector);
        Add(grants, p.peer, ports, "annotation " + std::string(key) + ": " + p.entry);
      }
    }
  }

  const ClusterIndex& ix_;
  const Workload& w_;
  const uint32_t wi_;
  std::vector<Warning>* warnings_;
  Grants ingress_;
  Grants egress_;
};

WorkloadPolicy ComputePolicy(const ClusterIndex& index, const Workload& w,
                             std::vector<Warning>* warnings) {
  return PolicyBuilder(index, w, warnings).Build();
}

}  // namespace npc::synth
