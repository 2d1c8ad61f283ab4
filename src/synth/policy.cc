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
#include "synth/observed.h"

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

// A peer with nothing set stands for every source: a rule without peers.
bool IsAnySource(const PolicyPeer& p) {
  return !p.namespace_selector && !p.pod_selector && !p.ip_block;
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
    // Any source on these ports subsumes the other peers of the group.
    if (std::any_of(group.first.begin(), group.first.end(), IsAnySource)) group.first.clear();
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

LabelSelector SelectorOf(const Labels& labels) {
  LabelSelector s;
  s.match_labels = labels;
  return s;
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

// Whether a container of `w` declares the named port `p` (name and protocol).
bool Declares(const Workload& w, const PolicyPort& p) {
  for (const Container& c : w.containers) {
    for (const ContainerPort& cp : c.ports) {
      if (cp.name == p.port.str && Protocol(cp.protocol) == p.protocol) return true;
    }
  }
  return false;
}

// The ports of `ports` that resolve on some pod of `on`: numbers always, a
// name when a container of one of them declares it (with its protocol). A
// workload whose pod spec is not known (no containers) could declare any
// name: then names stay; so do they when `on` is empty (the rule's peer
// selects no pod yet). Sets `dropped` to the names dropped. An empty
// result with `ports` non-empty means nothing resolves: NOT "all ports".
//
// Why: a NetworkPolicy enforcer reads a named port against the pods the rule
// selects, and kube-router (v2.1) reads a rule whose named ports resolve on
// no selected pod as a rule without ports: every port. A name no backend
// declares carries no traffic anyway (the Service has no endpoint for it).
std::optional<std::vector<PolicyPort>> Resolvable(
    const std::optional<std::vector<PolicyPort>>& ports, const std::vector<const Workload*>& on,
    std::vector<PolicyPort>* dropped) {
  if (!ports || on.empty()) return ports;  // no pod yet: the peer selects nothing now
  for (const Workload* w : on) {
    if (w->containers.empty()) return ports;
  }
  std::vector<PolicyPort> out;
  for (const PolicyPort& p : *ports) {
    const bool named = !p.port.is_num() && !p.port.empty();
    if (!named || std::any_of(on.begin(), on.end(), [&](const Workload* w) {
          return Declares(*w, p);
        })) {
      out.push_back(p);
    } else {
      dropped->push_back(p);
    }
  }
  return out;
}

std::string ServiceName(const Service& s) {
  return s.ns + "/" + s.name;
}

std::string PortsText(const std::optional<std::vector<PolicyPort>>& ports) {
  if (!ports || ports->empty()) return "all ports";
  std::string on;
  for (const PolicyPort& p : *ports) {
    on += (on.empty() ? "" : ", ") + p.port.ToString() + "/" + p.protocol;
  }
  return on;
}

const std::vector<PolicyPort> kDnsPorts = [] {
  std::vector<PolicyPort> ports(2);
  ports[0].protocol = "UDP";
  ports[0].port.num = 53;
  ports[1].protocol = "TCP";
  ports[1].port.num = 53;
  return ports;
}();

}  // namespace

class PolicyBuilder {
 public:
  PolicyBuilder(const ClusterIndex& index, const Workload& w, std::vector<Warning>* warnings)
      : ix_(index), w_(w), wi_(index.IndexOf(w)), warnings_(warnings) {}

  WorkloadPolicy Build() {
    PolicyPeer own;
    own.pod_selector = ix_.selector_[wi_];
    Add(ingress_, own, std::nullopt, "own pods");
    Add(egress_, own, std::nullopt, "own pods");
    IngressFromClients();
    IngressFromControllers();
    IngressFromRoutes();
    IngressFromGateways();
    Monitoring();
    ApiServerCalls();
    Dns();
    EgressToEdges();
    EgressToObservedAddresses();
    ApiServer();
    Annotation(kAllowIngressFromAnnotation, ingress_);
    Annotation(kAllowEgressAnnotation, egress_);
    for (const std::string& m : ix_.notes_[wi_]) Warn(m);
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
    if (w_.kind == WorkloadKind::kCustom && w_.controller) {
      p.owner = OwnerReference{w_.controller->api_version, w_.controller->kind, w_.name, w_.uid};
    } else {
      p.owner = OwnerReference{std::string(KindApiVersion(w_.kind)),
                               std::string(KindName(w_.kind)), w_.name, w_.uid};
    }
    p.pod_selector = ix_.selector_[wi_];
    p.policy_types = {"Ingress", "Egress"};
    out.selector_note = ix_.selector_notes_[wi_];
    out.template_from = w_.template_from;
    DropUnresolvedIngressPorts();
    Emit(ingress_, &p.ingress, &out.ingress_reasons);
    Emit(egress_, &p.egress, &out.egress_reasons);
    return out;
  }

 private:
  // W's ingress rules name ports on W's pods: a named port W does not
  // declare resolves on none of them (see Resolvable). Dropped, with a
  // warning; a rule left without ports is dropped whole. Egress keeps its
  // names: the pods behind a Service change with pods the incremental
  // recompute does not follow for clients, and the server's own ingress
  // (this filter) already refuses every port the name does not resolve to.
  void DropUnresolvedIngressPorts() {
    for (auto it = ingress_.begin(); it != ingress_.end();) {
      Grant& g = it->second;
      if (g.all_ports) {
        ++it;
        continue;
      }
      std::vector<PolicyPort> dropped;
      auto kept = Resolvable(std::vector<PolicyPort>(g.ports.begin(), g.ports.end()), {&w_},
                             &dropped);
      if (!dropped.empty()) {
        Warn("named port " + PortsText(dropped) + " is declared by no container of " +
             w_.key().ToString() + ": not allowed (" + *g.reasons.begin() + ")");
      }
      if (kept->empty()) {
        it = ingress_.erase(it);
        continue;
      }
      g.ports = PortSet(kept->begin(), kept->end());
      ++it;
    }
  }

  void Warn(std::string message) {
    if (warnings_) warnings_->push_back(Warning{w_.key(), std::move(message)});
  }

  // W's pods (or another workload's), from anywhere: namespace AND pods in one peer.
  PolicyPeer WorkloadPeer(const Workload& w) const {
    PolicyPeer p;
    p.namespace_selector = NamespaceIs(w.ns);
    p.pod_selector = ix_.PodSelectorOf(w);
    return p;
  }

  // The node addresses (--node-cidrs), for traffic from or to hostNetwork
  // pods; a warning naming the flag when it is not set.
  void NodeAddresses(Grants& grants, const std::optional<std::vector<PolicyPort>>& ports,
                     const std::string& reason, const std::string& what) {
    if (ix_.config_.node_cidrs.empty()) {
      Warn(what + " uses the nodes' addresses, which no pod selector matches: set --node-cidrs "
                  "(the nodes' addresses) to allow it on " +
           PortsText(ports));
      return;
    }
    for (const std::string& cidr : ix_.config_.node_cidrs) {
      Add(grants, CidrPeer(cidr), ports, reason + " (node addresses, --node-cidrs)");
    }
  }

  // A configured peer: pods, addresses, the nodes or any source. A pod
  // selector that matches hostNetwork pods needs the node addresses too.
  void AddConfigPeer(Grants& grants, const PeerSelector& peer,
                     const std::optional<std::vector<PolicyPort>>& ports,
                     const std::string& reason) {
    if (peer.any) Add(grants, PolicyPeer{}, ports, reason);
    for (const std::string& cidr : peer.cidrs) Add(grants, CidrPeer(cidr), ports, reason);
    if (peer.nodes) NodeAddresses(grants, ports, reason, reason);
    if (!peer.selects_pods()) return;
    Add(grants, ConfigPeer(peer), ports, reason);
    if (const std::string hn = ix_.HostNetworkMatch(peer); !hn.empty()) {
      NodeAddresses(grants, ports, reason, reason + ": " + hn + " (hostNetwork)");
    }
  }

  // Egress to a hostNetwork workload: its pods have node addresses. Named
  // ports are resolved through its container ports (a name never matches an
  // address).
  void HostNetworkEgress(const Workload& t, const std::optional<std::vector<PolicyPort>>& ports,
                         const std::string& role) {
    std::optional<std::vector<PolicyPort>> numeric;
    if (ports) {
      numeric.emplace();
      for (const PolicyPort& p : *ports) {
        if (p.port.is_num() || p.port.empty()) {
          numeric->push_back(p);
          continue;
        }
        for (const Container& c : t.containers) {
          for (const ContainerPort& cp : c.ports) {
            if (cp.name == p.port.str && Protocol(cp.protocol) == p.protocol && cp.port > 0) {
              PolicyPort n = p;
              n.port = IntOrString{cp.port, ""};
              numeric->push_back(n);
            }
          }
        }
      }
      if (numeric->empty()) {
        Warn(t.key().ToString() + " (" + role + ") uses hostNetwork and declares none of the "
             "named ports " + PortsText(ports) + ": no rule can reach it");
        return;
      }
    }
    NodeAddresses(egress_, numeric, role + ": " + t.key().ToString() + " uses hostNetwork",
                  t.key().ToString() + " (" + role + ", hostNetwork)");
  }

  // Ingress 2: every client of a Service selecting W, and pod DNS clients.
  void IngressFromClients() {
    auto add_client = [&](uint32_t ci, const Edge& e, const std::string& what) {
      if (ci == wi_) return;  // own pods are allowed already
      const Workload& c = *ix_.workloads_[ci];
      const std::string reason = "client " + c.key().ToString() + ": " + DescribeEdge(e);
      Add(ingress_, WorkloadPeer(c), TargetPorts(e.ports), reason);
      if (c.host_network) {
        NodeAddresses(ingress_, TargetPorts(e.ports), reason,
                      "client " + c.key().ToString() + " (hostNetwork, its traffic to " + what +
                          " comes from node addresses)");
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

  bool Selects(uint32_t si) const {
    const auto& sel = ix_.selected_by_[wi_];
    return std::find(sel.begin(), sel.end(), si) != sel.end();
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
          AddConfigPeer(ingress_, ic, TargetPorts(s.ports),
                        "ingress controllers (mode all): Service " + ServiceName(s) + " (" +
                            DescribePorts(s.ports) + ")");
        }
      }
    }
    if (cfg.ingress_controller_mode != IngressControllerMode::kExposed) return;
    auto it = ix_.ingresses_.find(w_.ns);
    if (it == ix_.ingresses_.end()) return;
    for (const Ingress* ing : it->second) {
      const ClusterIndex::IngressPeers& served = ix_.PeersOf(*ing);
      bool routed = false;
      for (const IngressBackend& b : ing->backends) {
        auto si = ix_.ServiceIndex(w_.ns, b.service_name);
        if (!si || !Selects(*si)) continue;
        const Service& s = *ix_.services_[*si];
        std::vector<ServicePort> ports;
        for (const ServicePort& sp : s.ports) {
          if (b.service_port.empty() || (b.service_port.is_num() ? sp.port == *b.service_port.num
                                                                 : sp.name == b.service_port.str)) {
            ports.push_back(sp);
          }
        }
        if (ports.empty()) {
          Warn("Ingress " + ing->ns + "/" + ing->name + " routes to port " +
               b.service_port.ToString() + ", which Service " + ServiceName(s) + " does not have");
          continue;
        }
        routed = true;
        for (const PeerSelector* ic : served.peers) {
          AddConfigPeer(ingress_, *ic, TargetPorts(ports),
                        "ingress controller: Ingress " + ing->ns + "/" + ing->name + ", " +
                            served.why + ", routes to Service " + ServiceName(s) + " (" +
                            DescribePorts(ports) + ")");
        }
      }
      if (routed && !served.warning.empty()) Warn(served.warning);
    }
  }

  // Ingress 3, OpenShift: the router reaches the Services of Routes.
  void IngressFromRoutes() {
    auto it = ix_.routes_.find(w_.ns);
    if (it == ix_.routes_.end()) return;
    for (const Route* route : it->second) {
      for (const std::string& name : route->services) {
        auto si = ix_.ServiceIndex(w_.ns, name);
        if (!si || !Selects(*si)) continue;
        const Service& s = *ix_.services_[*si];
        std::optional<std::vector<PolicyPort>> ports;
        std::string what;
        if (route->target_port.empty()) {
          ports = TargetPorts(s.ports);
          what = DescribePorts(s.ports);
        } else if (route->target_port.is_num()) {
          // A number is the pods' port (an endpoint port).
          ports = std::vector<PolicyPort>{};
          PolicyPort pp;
          pp.port = route->target_port;
          for (const ServicePort& sp : s.ports) {
            const IntOrString t = sp.target_port.empty() ? IntOrString{sp.port, ""} : sp.target_port;
            if (t == route->target_port) pp.protocol = Protocol(sp.protocol);
          }
          ports->push_back(pp);
          what = "targetPort " + route->target_port.ToString();
        } else {
          std::vector<ServicePort> named;
          for (const ServicePort& sp : s.ports) {
            if (sp.name == route->target_port.str) named.push_back(sp);
          }
          if (named.empty()) {
            Warn("Route " + route->ns + "/" + route->name + " targets port " +
                 route->target_port.str + ", which Service " + ServiceName(s) + " does not have");
            continue;
          }
          ports = TargetPorts(named);
          what = DescribePorts(named);
        }
        for (const PeerSelector& r : ix_.config_.openshift_router_peers) {
          AddConfigPeer(ingress_, r, ports,
                        "OpenShift router: Route " + route->ns + "/" + route->name +
                            " -> Service " + ServiceName(s) + " (" + what + ")");
        }
      }
    }
  }

  // Ingress 3, Gateway API: the pods of the Gateways a route is attached to.
  void IngressFromGateways() {
    for (uint32_t si : ix_.selected_by_[wi_]) {
      const Service& s = *ix_.services_[si];
      auto it = ix_.gateway_routes_.find(ServiceName(s));
      if (it == ix_.gateway_routes_.end()) continue;
      for (const auto& [route, bi] : it->second) {
        const GatewayRoute::Backend& b = route->backends[bi];
        const std::string what =
            route->kind + " " + route->ns + "/" + route->name + " -> Service " + ServiceName(s);
        std::vector<ServicePort> ports;
        for (const ServicePort& sp : s.ports) {
          if (!b.port || sp.port == *b.port) ports.push_back(sp);
        }
        if (ports.empty()) {
          Warn(what + " port " + std::to_string(b.port.value_or(0)) +
               ", which the Service does not have");
          continue;
        }
        for (const GatewayRoute::Parent& parent : route->parents) {
          if (parent.group != "gateway.networking.k8s.io" || parent.kind != "Gateway") continue;
          auto g = ix_.gateways_.find(JoinKey(parent.ns, parent.name));
          if (g == ix_.gateways_.end()) {
            Warn(what + ": its parent Gateway " + parent.ns + "/" + parent.name +
                 " does not exist");
            continue;
          }
          const Gateway& gw = *g->second;
          auto cls = ix_.gateway_classes_.find(gw.gateway_class);
          if (cls == ix_.gateway_classes_.end()) {
            Warn(what + ": Gateway " + gw.ns + "/" + gw.name + " has GatewayClass " +
                 gw.gateway_class + ", which does not exist");
            continue;
          }
          const std::string& controller = cls->second->controller;
          bool served = false;
          for (const PeerSelector& peer : ix_.config_.gateway_peers) {
            if (std::find(peer.controllers.begin(), peer.controllers.end(), controller) ==
                peer.controllers.end()) {
              continue;
            }
            served = true;
            const std::string reason = "Gateway " + gw.ns + "/" + gw.name + " (class " +
                                       gw.gateway_class + ", controller " + controller +
                                       "): " + what + " (" + DescribePorts(ports) + ")";
            AddConfigPeer(ingress_, InstantiateGatewayPeer(peer, gw), TargetPorts(ports), reason);
            if (peer.any) {
              Warn("Gateway " + gw.ns + "/" + gw.name + " is implemented by " + controller +
                   ", whose proxies' traffic no NetworkPolicy peer can select: any source may "
                   "reach " +
                   PortsText(TargetPorts(ports)) + " (" + what + ")");
            }
          }
          if (!served) {
            Warn(what + ": Gateway " + gw.ns + "/" + gw.name + " is implemented by " + controller +
                 ", which no --gateway-peer names: no Gateway pod may reach it; add one with "
                 "--gateway-peer 'NAMESPACE/LABEL=VALUE;controller=" +
                 controller + "'");
          }
        }
      }
    }
  }

  // Ingress 5 / egress 4: the prometheus.io/scrape annotation, and the
  // Prometheus operator's monitors.
  void Monitoring() {
    const auto& mon = ix_.config_.monitoring_peers;
    if (const auto& t = ix_.scrape_[wi_]) {
      for (const PeerSelector& m : mon) {
        AddConfigPeer(ingress_, m, t->ports, "monitoring: prometheus.io/scrape=true");
      }
    }
    if (ix_.MatchesPeer(mon, w_)) {
      for (uint32_t ti : ix_.scraped_) {
        if (ti == wi_) continue;
        const Workload& t = *ix_.workloads_[ti];
        if (t.host_network) {
          HostNetworkEgress(t, ix_.scrape_[ti]->ports,
                            "scrape target (prometheus.io/scrape=true)");
          continue;
        }
        Add(egress_, WorkloadPeer(t), ix_.scrape_[ti]->ports,
            "monitoring: scrapes " + t.key().ToString() + " (prometheus.io/scrape=true)");
      }
    }
    for (uint32_t id : ix_.scrapes_into_[wi_]) {
      const ClusterIndex::Scrape& s = ix_.scrapes_[id];
      if (s.prometheus) {
        PolicyPeer peer;
        peer.namespace_selector = NamespaceIs(s.prometheus->ns);
        peer.pod_selector = SelectorOf(PrometheusPodLabels(*s.prometheus));
        Add(ingress_, peer, s.ports,
            "Prometheus " + s.prometheus->ns + "/" + s.prometheus->name + " via " + s.via);
      } else {
        for (const PeerSelector& m : mon) {
          AddConfigPeer(ingress_, m, s.ports,
                        "monitoring peers (no Prometheus object) via " + s.via);
        }
      }
    }
    for (uint32_t id : ix_.scrapes_from_[wi_]) {
      const ClusterIndex::Scrape& s = ix_.scrapes_[id];
      const std::string reason =
          (s.prometheus ? "Prometheus " + s.prometheus->ns + "/" + s.prometheus->name
                        : std::string("monitoring (no Prometheus object)")) +
          " via " + s.via;
      if (s.selectorless) {
        MonitoredEndpoints(s, reason);
        continue;
      }
      PolicyPeer peer;
      peer.namespace_selector = s.any_namespace ? LabelSelector{} : NamespaceIs(s.target_ns);
      peer.pod_selector = s.target_pods;
      Add(egress_, peer, s.ports, reason);
      for (uint32_t ti : s.targets) {
        const Workload& t = *ix_.workloads_[ti];
        if (t.host_network) HostNetworkEgress(t, s.ports, "scrape target via " + s.via);
      }
    }
  }

  // Egress to the addresses of a monitored Service without selector.
  void MonitoredEndpoints(const ClusterIndex::Scrape& s, const std::string& reason) {
    const Service& svc = *s.selectorless;
    auto it = ix_.slices_.find(ServiceName(svc));
    if (it == ix_.slices_.end()) return;
    for (const EndpointSlice* slice : it->second) {
      std::optional<std::vector<PolicyPort>> ports;
      if (!s.endpoint_port.empty()) {
        ports.emplace();
        for (const EndpointPort& ep : slice->ports) {
          if (ep.name == s.endpoint_port && ep.port > 0) {
            PolicyPort pp;
            pp.protocol = Protocol(ep.protocol);
            pp.port.num = ep.port;
            ports->push_back(pp);
          }
        }
        if (ports->empty()) continue;
      } else if (s.ports) {
        ports.emplace();
        for (const PolicyPort& p : *s.ports) {
          if (p.port.is_num()) ports->push_back(p);
        }
        if (ports->empty()) ports.reset();
      }
      AddAddresses(*slice, ports, reason);
    }
  }

  // Ingress 6: the API server, on the target port of the Services that
  // admission webhooks, APIServices and CRD conversion webhooks call.
  void ApiServerCalls() {
    for (const ClusterIndex::HookCall& hc : ix_.hook_calls_) {
      if (!Selects(hc.service)) continue;
      const Service& s = *ix_.services_[hc.service];
      std::string what = "API server: " + std::string(HookKindName(hc.hook->kind)) + " " +
                         hc.hook->name +
                         (hc.call->webhook.empty() ? "" : ", webhook " + hc.call->webhook) +
                         " calls Service " + ServiceName(s) + ":" + std::to_string(hc.call->port);
      auto sp = std::find_if(s.ports.begin(), s.ports.end(),
                             [&](const ServicePort& p) { return p.port == hc.call->port; });
      if (sp == s.ports.end()) {
        Warn(what + ", which has no such port: the API server cannot reach it");
        continue;
      }
      what += " -> targetPort " + (sp->target_port.empty() ? std::to_string(sp->port)
                                                           : sp->target_port.ToString());
      const auto ports = TargetPorts({*sp});
      if (!ix_.config_.api_server_cidrs.empty()) {
        for (const std::string& cidr : ix_.config_.api_server_cidrs) {
          Add(ingress_, CidrPeer(cidr), ports, what + " (--api-server-cidrs)");
        }
        continue;
      }
      auto it = ix_.slices_.find("default/kubernetes");
      bool any = false;
      if (it != ix_.slices_.end()) {
        for (const EndpointSlice* slice : it->second) {
          if (slice->address_type == "FQDN") continue;
          for (const std::string& a : slice->addresses) {
            if (auto cidr = CanonicalCidr(a); cidr && a.find('/') == std::string::npos) {
              Add(ingress_, CidrPeer(*cidr), ports, what + " (endpoints of default/kubernetes)");
              any = true;
            }
          }
        }
      }
      if (!any) {
        Warn(what + ": the API server's addresses are unknown (no EndpointSlice for "
                    "default/kubernetes): set --api-server-cidrs");
      }
    }
  }

  // Egress 2.
  void Dns() {
    for (const PeerSelector& d : ix_.config_.dns_peers) {
      AddConfigPeer(egress_, d, kDnsPorts, "DNS");
    }
  }

  // Egress 3: the pods each Service W names selects, or its endpoints.
  void EgressToEdges() {
    for (const Edge& e : ix_.edges_[wi_]) {
      if (e.target) {
        const Workload* t = ix_.FindWorkload(*e.target);
        if (!t || *e.target == w_.key()) continue;
        if (t->host_network) {
          HostNetworkEgress(*t, TargetPorts(e.ports), "named by pod DNS " + e.host);
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
      // Every pod the Service selects, whoever runs it, as it is labelled now.
      PolicyPeer peer;
      peer.namespace_selector = NamespaceIs(s.ns);
      peer.pod_selector = SelectorOf(*s.selector);
      Add(egress_, peer, TargetPorts(e.ports), "Service " + ServiceName(s) + ": " + DescribeEdge(e));
      for (uint32_t bi : ix_.backends_[si]) {
        const Workload& b = *ix_.workloads_[bi];
        if (bi != wi_ && b.host_network) {
          HostNetworkEgress(b, TargetPorts(e.ports), "backend of Service " + ServiceName(s));
        }
      }
    }
  }

  // Egress 5: observed external addresses (--allow-observed-external), each
  // a /32 or /128 on the observed port.
  void EgressToObservedAddresses() {
    for (const ObservedFlow* f : ix_.observed_external_[wi_]) {
      const auto cidr =
          CanonicalCidr(f->address + (f->address.find(':') == std::string::npos ? "/32" : "/128"));
      if (!cidr) continue;
      PolicyPort pp;
      pp.protocol = Protocol(f->protocol);
      pp.port.num = f->port;
      Add(egress_, CidrPeer(*cidr), std::vector<PolicyPort>{pp},
          "external " + f->address + ": " + DescribeObserved(*f) + " on " +
              std::to_string(f->port) + "/" + pp.protocol);
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

  // Egress 4b: the API server, from the EndpointSlices of default/kubernetes:
  // asked for by annotation, and always for the pods of a Prometheus object
  // (the operator's configuration discovers targets through the API server).
  void ApiServer() {
    for (const Prometheus* p : ix_.prometheus_of_[wi_]) {
      AddApiServer("API server: Prometheus " + p->ns + "/" + p->name +
                       " discovers its scrape targets through it",
                   "Prometheus " + p->ns + "/" + p->name + " discovers its targets through the API server");
    }
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
    AddApiServer("API server (annotation " + std::string(kAllowApiServerAnnotation) + ")",
                 "annotation " + std::string(kAllowApiServerAnnotation));
  }

  void AddApiServer(const std::string& why, const std::string& what) {
    auto it = ix_.slices_.find("default/kubernetes");
    if (it == ix_.slices_.end()) {
      Warn(what + ": the API server's address is unknown (no EndpointSlice for default/kubernetes)");
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
      AddAddresses(*slice, ports, why);
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
