#include "synth/index.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_set>

#include "synth/internal.h"
#include "synth/namespaces.h"
#include "synth/observed.h"

namespace npc::synth {

LabelSelector EffectivePodSelector(const Workload& w) {
  if (w.kind == WorkloadKind::kPod && w.pod_selector.empty()) {
    LabelSelector s;
    s.match_labels[std::string(kBarePodLabel)] = BarePodLabelValue(w.name);
    return s;
  }
  return CanonicalSelector(w.pod_selector);
}

namespace {

// The template_from of a custom workload whose pods' spec is unknown.
constexpr std::string_view kNoPodSpecKnown = "no pod spec known";

std::string LabelKey(std::string_view ns, std::string_view k, std::string_view v) {
  std::string key;
  key.reserve(ns.size() + k.size() + v.size() + 2);
  key.append(ns);
  key += '\0';
  key.append(k);
  key += '\0';
  key.append(v);
  return key;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsTrue(const Annotations& a, std::string_view key) {
  auto it = a.find(std::string(key));
  return it != a.end() && Lower(it->second) == "true";
}

}  // namespace

Labels PrometheusPodLabels(const Prometheus& p) {
  return {{"app.kubernetes.io/name", "prometheus"}, {"prometheus", p.name}};
}

namespace {

std::string Substitute(std::string s, const Gateway& g) {
  for (const auto& [from, to] : {std::pair<std::string_view, const std::string&>{"{name}", g.name},
                                 std::pair<std::string_view, const std::string&>{"{namespace}", g.ns}}) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
      s.replace(at, from.size(), to);
    }
  }
  return s;
}

LabelSelector SubstituteSelector(LabelSelector sel, const Gateway& g) {
  Labels labels;
  for (auto& [k, v] : sel.match_labels) labels[k] = Substitute(v, g);
  sel.match_labels = std::move(labels);
  for (auto& r : sel.match_expressions) {
    for (auto& v : r.values) v = Substitute(v, g);
  }
  return sel;
}

// The group of an apiVersion ("apps/v1" -> "apps", "v1" -> "").
std::string_view GroupOf(std::string_view api_version) {
  const size_t slash = api_version.find('/');
  return slash == std::string_view::npos ? std::string_view() : api_version.substr(0, slash);
}

// Whether `owner` is the controlling owner `ref` (by uid when both have one).
bool SameOwner(const OwnerReference& a, const OwnerReference& b) {
  if (!a.uid.empty() && !b.uid.empty()) return a.uid == b.uid;
  return a.kind == b.kind && a.name == b.name && GroupOf(a.api_version) == GroupOf(b.api_version);
}

std::string WorkloadKeyString(std::string_view kind, std::string_view ns, std::string_view name) {
  std::string k(kind);
  k += '/';
  k += ns;
  k += '/';
  k += name;
  return k;
}

}  // namespace

PeerSelector InstantiateGatewayPeer(const PeerSelector& peer, const Gateway& g) {
  PeerSelector p = peer;
  p.namespaces = SubstituteSelector(p.namespaces, g);
  p.pods = SubstituteSelector(p.pods, g);
  return p;
}

bool SelectsMonitor(const Prometheus& p, const std::optional<LabelSelector>& selector,
                    const std::optional<LabelSelector>& namespace_selector,
                    const std::string& monitor_ns, const Labels& monitor_labels,
                    const Labels& namespace_labels) {
  if (!selector || !Matches(*selector, monitor_labels)) return false;
  if (!namespace_selector) return monitor_ns == p.ns;
  return Matches(*namespace_selector, namespace_labels);
}

ClusterIndex::ClusterIndex(const Snapshot& snapshot, const SynthesisConfig& config)
    : snapshot_(snapshot), config_(config) {
  domain_ = Lower(config.cluster_domain);
  while (!domain_.empty() && domain_.front() == '.') domain_.erase(0, 1);
  while (!domain_.empty() && domain_.back() == '.') domain_.pop_back();

  namespaces_.reserve(snapshot.namespaces.size() + snapshot.namespace_refs.size());
  for (const Namespace& n : snapshot.namespaces) namespaces_[n.name] = &n;
  for (const Namespace* n : snapshot.namespace_refs) namespaces_[n->name] = n;
  for (const auto& [name, n] : namespaces_) known_namespaces_[name] = true;

  // Workloads, sorted so that every derived order is independent of input
  // order; controller-owned ReplicaSets and Jobs apart.
  auto add_workload = [&](const Workload& w) {
    if (!w.has_controller) {
      workloads_.push_back(&w);
    } else if (w.kind == WorkloadKind::kReplicaSet || w.kind == WorkloadKind::kJob) {
      auto [it, inserted] = controlled_.emplace(w.key().ToString(), &w);
      if (!inserted && w.uid < it->second->uid) it->second = &w;
    }
  };
  for (const Workload& w : snapshot.workloads) add_workload(w);
  for (const Workload* w : snapshot.workload_refs) add_workload(*w);
  pods_list_.reserve(snapshot.pods.size() + snapshot.pod_refs.size());
  for (const Pod& p : snapshot.pods) pods_list_.push_back(&p);
  pods_list_.insert(pods_list_.end(), snapshot.pod_refs.begin(), snapshot.pod_refs.end());
  // Stable: of two pods with one name, the snapshot's own (listed first) wins.
  std::stable_sort(pods_list_.begin(), pods_list_.end(), [](const Pod* a, const Pod* b) {
    return std::tie(a->ns, a->name) < std::tie(b->ns, b->name);
  });
  pods_list_.erase(std::unique(pods_list_.begin(), pods_list_.end(),
                               [](const Pod* a, const Pod* b) {
                                 return a->ns == b->ns && a->name == b->name;
                               }),
                   pods_list_.end());
  FormCustomWorkloads();
  std::sort(workloads_.begin(), workloads_.end(),
            [](const Workload* a, const Workload* b) { return a->key() < b->key(); });
  workloads_.erase(
      std::unique(workloads_.begin(), workloads_.end(),
                  [](const Workload* a, const Workload* b) { return a->key() == b->key(); }),
      workloads_.end());
  const size_t nw = workloads_.size();
  for (uint32_t i = 0; i < nw; ++i) {
    const Workload& w = *workloads_[i];
    workload_by_key_.emplace(w.key().ToString(), i);
    workloads_in_ns_[w.ns].push_back(i);
    known_namespaces_[w.ns] = true;
    for (const auto& [k, v] : w.template_labels) by_label_[LabelKey(w.ns, k, v)].push_back(i);
  }
  AttributePods();

  for (const Service& s : snapshot.services) services_.push_back(&s);
  services_.insert(services_.end(), snapshot.service_refs.begin(), snapshot.service_refs.end());
  std::sort(services_.begin(), services_.end(), [](const Service* a, const Service* b) {
    return std::tie(a->ns, a->name) < std::tie(b->ns, b->name);
  });
  services_.erase(std::unique(services_.begin(), services_.end(),
                              [](const Service* a, const Service* b) {
                                return a->ns == b->ns && a->name == b->name;
                              }),
                  services_.end());
  backends_.resize(services_.size());
  selected_by_.resize(nw);
  service_clients_.resize(services_.size());
  for (uint32_t si = 0; si < services_.size(); ++si) {
    const Service& s = *services_[si];
    service_by_key_.emplace(JoinKey(s.ns, s.name), si);
    service_namespaces_[s.name].push_back(s.ns);
    known_namespaces_[s.ns] = true;
    // An empty selector is no selector (Kubernetes manages no endpoints for it).
    if (!s.selector || s.selector->empty() || s.type == "ExternalName") continue;
    backends_[si] = SelectedIn(s.ns, *s.selector);
    for (uint32_t wi : backends_[si]) selected_by_[wi].push_back(si);
  }

  for (const ConfigMap& c : snapshot.config_maps) config_maps_.emplace(JoinKey(c.ns, c.name), &c);
  for (const ConfigMap* c : snapshot.config_map_refs) config_maps_.emplace(JoinKey(c->ns, c->name), c);
  for (const Secret& c : snapshot.secrets) secrets_.emplace(JoinKey(c.ns, c.name), &c);
  for (const EndpointSlice& e : snapshot.endpoint_slices) {
    slices_[JoinKey(e.ns, e.service_name)].push_back(&e);
  }
  for (auto& [k, v] : slices_) {
    std::sort(v.begin(), v.end(),
              [](const EndpointSlice* a, const EndpointSlice* b) { return a->name < b->name; });
  }
  for (const Ingress& i : snapshot.ingresses) ingresses_[i.ns].push_back(&i);
  for (auto& [k, v] : ingresses_) {
    std::sort(v.begin(), v.end(),
              [](const Ingress* a, const Ingress* b) { return a->name < b->name; });
  }
  for (const Route& r : snapshot.routes) routes_[r.ns].push_back(&r);
  for (auto& [k, v] : routes_) {
    std::sort(v.begin(), v.end(), [](const Route* a, const Route* b) { return a->name < b->name; });
  }
  for (const IngressClass& c : snapshot.ingress_classes) {
    auto [it, inserted] = ingress_classes_.emplace(c.name, &c);
    if (!inserted && c.controller < it->second->controller) it->second = &c;
  }
  for (const Gateway& g : snapshot.gateways) gateways_.emplace(JoinKey(g.ns, g.name), &g);
  for (const GatewayClass& c : snapshot.gateway_classes) gateway_classes_.emplace(c.name, &c);
  for (const GatewayRoute& r : snapshot.gateway_routes) {
    for (size_t b = 0; b < r.backends.size(); ++b) {
      const GatewayRoute::Backend& be = r.backends[b];
      if (!be.group.empty() || be.kind != "Service") continue;
      gateway_routes_[JoinKey(be.ns, be.name)].emplace_back(&r, b);
    }
  }
  for (auto& [k, v] : gateway_routes_) {
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
      return std::tie(a.first->ns, a.first->kind, a.first->name, a.second) <
             std::tie(b.first->ns, b.first->kind, b.first->name, b.second);
    });
  }
  for (const PodAddress& p : snapshot.pod_addresses) {
    auto [it, inserted] = pods_.emplace(JoinKey(p.ns, p.ip), p.owner);
    if (!inserted && p.owner < it->second) it->second = p.owner;  // deterministic on conflicts
  }
  pod_ips_known_ = !snapshot.pod_addresses.empty();
  for (size_t pi = 0; pi < pods_list_.size(); ++pi) {
    const Pod& p = *pods_list_[pi];
    if (p.ip.empty()) continue;
    pod_ips_known_ = true;
    if (!pod_owner_[pi]) continue;
    const WorkloadKey owner = workloads_[*pod_owner_[pi]]->key();
    auto [it, inserted] = pods_.emplace(JoinKey(p.ns, p.ip), owner);
    if (!inserted && owner < it->second) it->second = owner;
  }

  // Pods of Gateways (rule 5): not managed, like ingress controllers.
  for (const Gateway& g : snapshot.gateways) {
    auto cls = gateway_classes_.find(g.gateway_class);
    if (cls == gateway_classes_.end()) continue;
    for (const PeerSelector& peer : config.gateway_peers) {
      if (!peer.selects_pods()) continue;
      if (std::find(peer.controllers.begin(), peer.controllers.end(), cls->second->controller) ==
          peer.controllers.end()) {
        continue;
      }
      gateway_pods_.emplace_back(InstantiateGatewayPeer(peer, g), JoinKey(g.ns, g.name));
    }
  }
  std::sort(gateway_pods_.begin(), gateway_pods_.end(),
            [](const auto& a, const auto& b) { return a.second < b.second; });

  skip_.resize(nw);
  for (uint32_t i = 0; i < nw; ++i) {
    const Workload& w = *workloads_[i];
    std::optional<std::string>& why = skip_[i];
    auto ns = namespaces_.find(w.ns);
    const NamespaceDecision nd =
        DecideNamespace(w.ns, ns != namespaces_.end() ? ns->second : nullptr, config);
    if (!nd.managed) {
      why = nd.why_not;
    } else if (IsTrue(w.annotations, kIgnoreAnnotation) ||
               IsTrue(w.template_annotations, kIgnoreAnnotation)) {
      why = "annotated " + std::string(kIgnoreAnnotation) + "=true";
    } else if (w.host_network) {
      why = "hostNetwork pods are not subject to NetworkPolicy";
    } else if (w.kind == WorkloadKind::kCustom && w.pod_selector.empty()) {
      why = "no label (but per-revision ones) is shared by all its pods, and an empty selector "
            "would select every pod of namespace " +
            w.ns;
    } else if (w.kind == WorkloadKind::kCustom && w.template_from == kNoPodSpecKnown) {
      // Without the pods' spec its dependencies are unknown: a policy would
      // deny them.
      why = "neither a ReplicaSet or Job template nor a pod's spec is known, so its "
            "dependencies are not";
    } else if (MatchesPeer(config.dns_peers, w)) {
      why = "a configured DNS server";
    } else if (MatchesPeer(config.ingress_controller_peers, w)) {
      why = "a configured ingress controller";
    } else if (MatchesPeer(config.openshift_router_peers, w)) {
      why = "the OpenShift router (configured)";
    } else {
      for (const auto& [peer, gateway] : gateway_pods_) {
        if (MatchesPeer(peer, w)) {
          why = "pods of Gateway " + gateway;
          break;
        }
      }
    }
  }

  notes_.resize(nw);
  ComputeSelectors();

  edges_.resize(nw);
  unresolved_.resize(nw);
  pod_clients_.resize(nw);
  for (uint32_t i = 0; i < nw; ++i) ScanWorkload(i);
  AddObservedEdges();
  for (uint32_t ci = 0; ci < nw; ++ci) {
    for (uint32_t ei = 0; ei < edges_[ci].size(); ++ei) {
      const Edge& e = edges_[ci][ei];
      if (e.target) {
        auto it = workload_by_key_.find(e.target->ToString());
        if (it != workload_by_key_.end()) pod_clients_[it->second].emplace_back(ci, ei);
      } else {
        service_clients_[service_by_key_.at(JoinKey(e.service_ns, e.service_name))].emplace_back(
            ci, ei);
      }
    }
  }

  scrape_.resize(nw);
  for (uint32_t i = 0; i < nw; ++i) {
    ComputeScrape(i);
    if (scrape_[i]) scraped_.push_back(i);
  }

  // Rule 1: the API server's calls, in a stable order.
  std::vector<const ApiServerHook*> hooks;
  for (const ApiServerHook& h : snapshot.api_server_hooks) hooks.push_back(&h);
  std::sort(hooks.begin(), hooks.end(), [](const ApiServerHook* a, const ApiServerHook* b) {
    return std::tie(a->kind, a->name) < std::tie(b->kind, b->name);
  });
  for (const ApiServerHook* h : hooks) {
    for (const ApiServerHook::Call& c : h->calls) {
      if (auto si = ServiceIndex(c.ns, c.service)) hook_calls_.push_back({h, &c, *si});
    }
  }

  // Rule 5: which ingress controllers serve each Ingress.
  for (const auto& [ns, list] : ingresses_) {
    for (const Ingress* ing : list) ingress_peers_.emplace(ing, ResolveIngressPeers(*ing));
  }

  scrapes_into_.resize(nw);
  scrapes_from_.resize(nw);
  prometheus_of_.resize(nw);
  ComputeMonitoring();

  // Configured selector peers that match hostNetwork pods (rule 6).
  for (const Workload* w : workloads_) {
    if (w->host_network) host_network_.push_back(w);
  }
  for (const auto* list : {&config.dns_peers, &config.monitoring_peers,
                           &config.ingress_controller_peers, &config.openshift_router_peers}) {
    for (const PeerSelector& p : *list) {
      if (!p.selects_pods()) continue;
      for (const Workload* w : host_network_) {
        if (MatchesPeer(p, *w)) {
          host_network_peer_[&p] = w->key().ToString();
          break;
        }
      }
    }
  }
}

std::optional<PodOwner> ResolvePodOwner(const Pod& p, const ControlledLookup& controlled) {
  if (!p.controller) return std::nullopt;
  const OwnerReference& c = *p.controller;
  auto custom_key = [&](const OwnerReference& o) {
    std::string kind = o.kind;
    if (ParseKind(kind)) kind += "." + std::string(GroupOf(o.api_version));
    return WorkloadKeyString(kind, p.ns, o.name);
  };
  if (IsKnownController(c.api_version, c.kind)) {
    if (c.kind != "ReplicaSet" && c.kind != "Job") {
      return PodOwner{WorkloadKeyString(c.kind, p.ns, c.name), std::nullopt};
    }
    const std::string key = WorkloadKeyString(c.kind, p.ns, c.name);
    const OwnerReference* via = controlled(key);
    if (!via) return PodOwner{key, std::nullopt};  // a ReplicaSet or Job of its own (or unknown)
    const OwnerReference& up = *via;
    if (IsKnownController(up.api_version, up.kind)) {
      return PodOwner{WorkloadKeyString(up.kind, p.ns, up.name), std::nullopt};
    }
    return PodOwner{custom_key(up), up};
  }
  if (GroupOf(c.api_version).empty() && c.kind == "Node") return std::nullopt;
  return PodOwner{custom_key(c), c};
}

bool OwnedBy(const Workload& controlled, const OwnerReference& owner) {
  return controlled.controller && SameOwner(*controlled.controller, owner);
}

Workload MakeCustomWorkload(const OwnerReference& owner, const std::string& ns,
                            const std::vector<const Pod*>& pods,
                            std::vector<const Workload*> templates) {
  Workload w;
  w.kind = WorkloadKind::kCustom;
  w.custom_kind = owner.kind;
  if (ParseKind(owner.kind)) w.custom_kind += "." + std::string(GroupOf(owner.api_version));
  w.ns = ns;
  w.name = owner.name;
  w.uid = owner.uid;
  w.controller = owner;
  // The labels every pod has, but the per-revision ones.
  Labels shared = pods.empty() ? Labels() : WithoutPerRevisionLabels(pods.front()->labels);
  for (const Pod* p : pods) {
    for (auto it = shared.begin(); it != shared.end();) {
      auto found = p->labels.find(it->first);
      it = found == p->labels.end() || found->second != it->second ? shared.erase(it)
                                                                    : std::next(it);
    }
  }
  w.template_labels = shared;
  w.pod_selector.match_labels = shared;
  // The template: the newest ReplicaSet or Job of the owner, else a pod's spec.
  std::sort(templates.begin(), templates.end(), [](const Workload* a, const Workload* b) {
    return std::tie(a->created, a->name) > std::tie(b->created, b->name);
  });
  if (!templates.empty()) {
    const Workload& t = *templates.front();
    w.template_annotations = t.template_annotations;
    w.containers = t.containers;
    w.config_map_volumes = t.config_map_volumes;
    w.secret_volumes = t.secret_volumes;
    w.host_network = t.host_network;
    w.template_from = std::string(KindName(t.kind)) + " " + t.ns + "/" + t.name;
    if (templates.size() > 1) {
      w.template_from += " (the newest of " + std::to_string(templates.size()) + ")";
    }
    return w;
  }
  for (const Pod* p : pods) {
    if (!p->spec) continue;
    w.template_annotations = p->spec->annotations;
    w.containers = p->spec->containers;
    w.config_map_volumes = p->spec->config_map_volumes;
    w.secret_volumes = p->spec->secret_volumes;
    w.host_network = p->host_network;
    w.template_from = "Pod " + p->ns + "/" + p->name;
    return w;
  }
  if (!pods.empty()) w.host_network = pods.front()->host_network;
  w.template_from = std::string(kNoPodSpecKnown);
  return w;
}

void ClusterIndex::FormCustomWorkloads() {
  // Pods whose controlling owner is of an unknown kind, directly or through
  // a ReplicaSet or Job, grouped by the workload they form.
  auto lookup = [&](const std::string& key) -> const OwnerReference* {
    auto it = controlled_.find(key);
    if (it == controlled_.end() || !it->second->controller) return nullptr;
    return &*it->second->controller;
  };
  std::map<std::string, std::pair<OwnerReference, std::vector<const Pod*>>> groups;
  for (const Pod* p : pods_list_) {  // sorted by namespace and name
    std::optional<PodOwner> owner = ResolvePodOwner(*p, lookup);
    if (!owner || !owner->custom) continue;
    auto& g = groups[owner->key];
    if (g.second.empty()) g.first = *owner->custom;
    g.second.push_back(p);
  }
  if (groups.empty()) return;
  // The ReplicaSets and Jobs of each owner (by namespace and uid, or name
  // when the owner reference carries no uid).
  std::map<std::string, std::vector<const Workload*>> by_owner;
  for (const auto& [k, c] : controlled_) {
    if (c->controller) by_owner[JoinKey(c->ns, c->controller->name)].push_back(c);
  }
  for (auto& [key, g] : groups) {
    const std::string& ns = g.second.front()->ns;
    std::vector<const Workload*> templates;
    if (auto it = by_owner.find(JoinKey(ns, g.first.name)); it != by_owner.end()) {
      for (const Workload* c : it->second) {
        if (OwnedBy(*c, g.first)) templates.push_back(c);
      }
    }
    custom_.push_back(MakeCustomWorkload(g.first, ns, g.second, std::move(templates)));
    workloads_.push_back(&custom_.back());
  }
}

void ClusterIndex::AttributePods() {
  auto lookup = [&](const std::string& key) -> const OwnerReference* {
    auto it = controlled_.find(key);
    if (it == controlled_.end() || !it->second->controller) return nullptr;
    return &*it->second->controller;
  };
  pod_owner_.assign(pods_list_.size(), std::nullopt);
  live_pods_.assign(workloads_.size(), {});
  for (uint32_t pi = 0; pi < pods_list_.size(); ++pi) {
    const Pod& p = *pods_list_[pi];
    for (const auto& [k, v] : p.labels) pods_by_label_[LabelKey(p.ns, k, v)].push_back(pi);
    pods_in_ns_[p.ns].push_back(pi);
    std::optional<PodOwner> owner = ResolvePodOwner(p, lookup);
    if (!owner) continue;
    auto it = workload_by_key_.find(owner->key);
    if (it == workload_by_key_.end()) continue;
    pod_owner_[pi] = it->second;
    live_pods_[it->second].push_back(pi);
  }
}

std::vector<uint32_t> ClusterIndex::SelectedIn(const std::string& ns,
                                               const LabelSelector& selector) const {
  std::vector<uint32_t> out;
  auto candidates = [&](const auto& index, const auto& all_in_ns) -> const std::vector<uint32_t>* {
    const std::vector<uint32_t>* smallest = nullptr;
    for (const auto& [k, v] : selector.match_labels) {
      auto it = index.find(LabelKey(ns, k, v));
      if (it == index.end()) return nullptr;
      if (!smallest || it->second.size() < smallest->size()) smallest = &it->second;
    }
    if (smallest) return smallest;
    auto it = all_in_ns.find(ns);
    return it == all_in_ns.end() ? nullptr : &it->second;
  };
  static const std::vector<uint32_t> kNone;
  if (const auto* ws = candidates(by_label_, workloads_in_ns_)) {
    for (uint32_t wi : *ws) {
      if (Matches(selector, workloads_[wi]->template_labels)) out.push_back(wi);
    }
  }
  if (const auto* ps = candidates(pods_by_label_, pods_in_ns_)) {
    for (uint32_t pi : *ps) {
      if (pod_owner_[pi] && Matches(selector, pods_list_[pi]->labels)) out.push_back(*pod_owner_[pi]);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<uint32_t> ClusterIndex::SelectedIn(const std::string& ns, const Labels& selector) const {
  LabelSelector s;
  s.match_labels = selector;
  return SelectedIn(ns, s);
}

void ClusterIndex::ComputeSelectors() {
  // Rule 4: a selector that also matches another workload's template in its
  // namespace is replaced by the workload's own template labels.
  selector_.resize(workloads_.size());
  selector_notes_.resize(workloads_.size());
  for (uint32_t wi = 0; wi < workloads_.size(); ++wi) {
    const Workload& w = *workloads_[wi];
    LabelSelector base = EffectivePodSelector(w);
    std::vector<uint32_t> others;
    for (uint32_t oi : SelectedInTemplates(w.ns, base)) {
      if (oi != wi && !workloads_[oi]->host_network) others.push_back(oi);
    }
    if (others.empty()) {
      selector_[wi] = std::move(base);
      continue;
    }
    const Labels own = WithoutPerRevisionLabels(w.template_labels);
    if (own.empty()) {
      notes_[wi].push_back("its selector {" + DescribeSelector(base) +
                           "} also selects the pods of " + workloads_[others[0]]->key().ToString() +
                           " and its pod template has no labels to tell them apart: both "
                           "workloads' policies select those pods");
      selector_[wi] = std::move(base);
      continue;
    }
    LabelSelector own_sel;
    own_sel.match_labels = own;
    selector_notes_[wi] = "its selector {" + DescribeSelector(base) +
                          "} also matches the pod template of " +
                          workloads_[others[0]]->key().ToString() +
                          (others.size() > 1 ? " and " + std::to_string(others.size() - 1) +
                                                   " more"
                                             : std::string()) +
                          ": selected by its template labels instead";
    for (uint32_t oi : others) {
      if (Matches(own_sel, workloads_[oi]->template_labels)) {
        notes_[wi].push_back("its selector {" + DescribeSelector(base) +
                             "} also matches the pod template of " +
                             workloads_[oi]->key().ToString() +
                             ", and its own template labels do not tell them apart: its policy "
                             "also selects those pods");
      }
    }
    selector_[wi] = std::move(own_sel);
  }
}

const Workload* ClusterIndex::FindWorkload(const WorkloadKey& key) const {
  auto it = workload_by_key_.find(key.ToString());
  return it == workload_by_key_.end() ? nullptr : workloads_[it->second];
}

uint32_t ClusterIndex::IndexOf(const Workload& w) const {
  return workload_by_key_.at(w.key().ToString());
}

std::optional<std::string> ClusterIndex::SkipReason(const Workload& w) const {
  return skip_[IndexOf(w)];
}

const LabelSelector& ClusterIndex::PodSelectorOf(const Workload& w) const {
  return selector_[IndexOf(w)];
}

const Service* ClusterIndex::FindService(std::string_view ns, std::string_view name) const {
  auto it = service_by_key_.find(JoinKey(ns, name));
  return it == service_by_key_.end() ? nullptr : services_[it->second];
}

std::optional<uint32_t> ClusterIndex::ServiceIndex(std::string_view ns,
                                                   std::string_view name) const {
  auto it = service_by_key_.find(JoinKey(ns, name));
  if (it == service_by_key_.end()) return std::nullopt;
  return it->second;
}

std::vector<uint32_t> ClusterIndex::SelectedInTemplates(const std::string& ns,
                                                        const LabelSelector& selector) const {
  std::vector<uint32_t> out;
  const std::vector<uint32_t>* candidates = nullptr;
  for (const auto& [k, v] : selector.match_labels) {
    auto it = by_label_.find(LabelKey(ns, k, v));
    if (it == by_label_.end()) return out;
    if (!candidates || it->second.size() < candidates->size()) candidates = &it->second;
  }
  if (!candidates) {
    auto it = workloads_in_ns_.find(ns);
    if (it == workloads_in_ns_.end()) return out;
    candidates = &it->second;
  }
  for (uint32_t wi : *candidates) {
    if (Matches(selector, workloads_[wi]->template_labels)) out.push_back(wi);
  }
  return out;
}

Labels ClusterIndex::NamespaceLabels(const std::string& ns) const {
  Labels labels;
  auto it = namespaces_.find(ns);
  if (it != namespaces_.end()) labels = it->second->labels;
  labels[std::string(kNamespaceNameLabel)] = ns;  // set by the API server on every namespace
  return labels;
}

bool ClusterIndex::MatchesPeer(const std::vector<PeerSelector>& peers, const Workload& w) const {
  for (const PeerSelector& p : peers) {
    if (MatchesPeer(p, w)) return true;
  }
  return false;
}

bool ClusterIndex::MatchesPeer(const PeerSelector& p, const Workload& w) const {
  if (!p.selects_pods()) return false;
  return Matches(p.pods, w.template_labels) && Matches(p.namespaces, NamespaceLabels(w.ns));
}

std::string ClusterIndex::HostNetworkMatch(const PeerSelector& peer) const {
  if (auto it = host_network_peer_.find(&peer); it != host_network_peer_.end()) return it->second;
  if (!peer.selects_pods()) return "";
  for (const Workload* w : host_network_) {
    if (MatchesPeer(peer, *w)) return w->key().ToString();
  }
  return "";
}

void ClusterIndex::NarrowPorts(const Service& svc, const HostRef& ref, Resolution* out) const {
  out->service = &svc;
  if (svc.type == "ExternalName") {
    // A DNS alias, usually without ports: whatever port is written, the edge
    // exists and is reported as inexpressible (policy.cc), never unresolved.
    const int n = ref.port_valid ? ParsePortNumber(ref.port) : 0;
    for (const ServicePort& sp : svc.ports) {
      if (n != 0 ? sp.port == n : (!ref.port.empty() && sp.name == ref.port)) {
        out->ports.push_back(sp);
      }
    }
    if (ref.port.empty()) {
      out->ports = svc.ports;
    } else if (out->ports.empty() && n != 0) {
      ServicePort sp;
      sp.port = n;
      sp.target_port.num = n;
      out->ports.push_back(sp);
    }
    return;
  }
  if (ref.port.empty()) {
    out->ports = svc.ports;
    return;
  }
  if (!ref.port_valid) {
    out->service = nullptr;
    out->why = "\"" + ref.port + "\" is not a port number (1-65535) or port name";
    return;
  }
  const int n = ParsePortNumber(ref.port);
  for (const ServicePort& sp : svc.ports) {
    const bool match =
        n != 0 ? sp.port == n || (svc.headless && sp.target_port.num == n) : sp.name == ref.port;
    if (match) out->ports.push_back(sp);
  }
  if (!out->ports.empty()) return;
  if (svc.headless && svc.ports.empty() && n != 0) {
    // A headless Service without ports: clients reach the pods on the port they write.
    ServicePort sp;
    sp.port = n;
    sp.target_port.num = n;
    out->ports.push_back(sp);
    return;
  }
  out->service = nullptr;
  std::string list;
  for (const ServicePort& sp : svc.ports) {
    if (!list.empty()) list += ", ";
    if (!sp.name.empty()) list += sp.name + " ";
    list += std::to_string(sp.port) + "/" + sp.protocol;
  }
  out->why = (n != 0 ? "port " : "port name ") + ref.port + " is not a port of Service " + svc.ns +
             "/" + svc.name + " (ports: " + (list.empty() ? "none" : list) + ")";
}

void ClusterIndex::ResolveHost(std::string_view client_ns, const HostRef& ref,
                               Resolution* out) const {
  out->host = ref.host;
  out->port = ref.port;
  std::string_view h = ref.host;
  bool in_domain = false;
  if (!domain_.empty()) {
    if (h == domain_) return;
    if (h.size() > domain_.size() + 1 && h.ends_with(domain_) &&
        h[h.size() - domain_.size() - 1] == '.') {
      h.remove_suffix(domain_.size() + 1);
      in_domain = true;
    }
  }
  const std::vector<std::string_view> labels = SplitLabels(h);
  const size_t n = labels.size();
  if ((n == 3 || n == 4) && labels[n - 1] == "svc") {
    const std::string_view ns = labels[n - 2];
    const std::string_view name = labels[n - 3];
    if (const Service* svc = FindService(ns, name)) {
      NarrowPorts(*svc, ref, out);
    } else {
      out->why = "no Service " + std::string(name) + " in namespace " + std::string(ns);
    }
    return;
  }
  if (n > 4 && labels[n - 1] == "svc") {
    out->why = "not a Service DNS name (expected [pod.]service.namespace.svc)";
    return;
  }
  if (n == 3 && labels[2] == "pod") {
    std::string ip(labels[0]);
    std::replace(ip.begin(), ip.end(), '-', '.');
    const std::string ns(labels[1]);
    if (!IsIPv4(ip)) {
      out->why = "not a pod DNS name (expected a-b-c-d.namespace.pod)";
      return;
    }
    if (!pod_ips_known_) {
      out->why = "pod IPs are not known (no pods in the snapshot)";
      return;
    }
    auto it = pods_.find(JoinKey(ns, ip));
    if (it == pods_.end()) {
      out->why = "no known pod with IP " + ip + " in namespace " + ns;
      return;
    }
    if (!ref.port.empty()) {
      if (!ref.port_valid) {
        out->why = "\"" + ref.port + "\" is not a port number (1-65535) or port name";
        return;
      }
      ServicePort sp;
      if (const int p = ParsePortNumber(ref.port); p != 0) {
        sp.port = p;
        sp.target_port.num = p;
      } else {
        sp.name = ref.port;
        sp.target_port.str = ref.port;
      }
      out->ports.push_back(sp);
    }
    out->target = it->second;
    return;
  }
  if (in_domain) {
    out->why = "not a Service or pod DNS name of cluster domain " + domain_;
    return;
  }
  for (size_t i = 2; i <= 3 && i + 1 < n; ++i) {
    if (labels[i] == "svc") {
      out->why = "looks like a Service DNS name, but the cluster domain is " +
                 (domain_.empty() ? std::string("(none)") : domain_);
      return;
    }
  }
  if (n == 2) {
    if (const Service* svc = FindService(labels[1], labels[0])) {
      NarrowPorts(*svc, ref, out);
    } else if (known_namespaces_.contains(std::string(labels[1]))) {
      out->why = "no Service " + std::string(labels[0]) + " in namespace " + std::string(labels[1]);
    }
    return;
  }
  if (n == 1 && ref.host_position) {
    if (const Service* svc = FindService(client_ns, h)) {
      NarrowPorts(*svc, ref, out);
      return;
    }
    auto it = service_namespaces_.find(std::string(h));
    if (it != service_namespaces_.end()) {
      std::string where;
      for (size_t i = 0; i < it->second.size() && i < 3; ++i) {
        where += (i ? ", " : "") + std::string(h) + "." + it->second[i];
      }
      if (it->second.size() > 3) where += ", ...";
      out->why = "no Service " + std::string(h) + " in namespace " + std::string(client_ns) +
                 " (a short name only reaches the client's own namespace; did you mean " + where +
                 "?)";
    }
  }
}

std::vector<ClusterIndex::Resolution> ClusterIndex::ResolveValue(std::string_view client_ns,
                                                                 std::string_view value) const {
  std::vector<Resolution> out;
  for (const HostRef& ref : FindHostRefs(value)) {
    Resolution r;
    ResolveHost(client_ns, ref, &r);
    if (r.service || r.target || !r.why.empty()) out.push_back(std::move(r));
  }
  return out;
}

void ClusterIndex::AddRefs(uint32_t wi, const std::string& container, std::string field,
                           std::string_view value) {
  std::vector<HostRef> refs = FindHostRefs(value);
  if (refs.empty()) return;
  const Workload& w = *workloads_[wi];
  RefSource source{container, std::move(field), CutForDisplay(value)};
  for (const HostRef& ref : refs) {
    Resolution r;
    ResolveHost(w.ns, ref, &r);
    if (r.service || r.target) {
      Edge e;
      e.client = w.key();
      if (r.service) {
        e.service_ns = r.service->ns;
        e.service_name = r.service->name;
      } else {
        e.service_ns = r.target->ns;
      }
      e.ports = std::move(r.ports);
      e.target = std::move(r.target);
      e.host = ref.host;
      e.source = source;
      edges_[wi].push_back(std::move(e));
    } else if (!r.why.empty()) {
      unresolved_[wi].push_back(Unresolved{w.key(), ref.host, ref.port, std::move(r.why), source});
    }
  }
}

namespace {
bool IsExact(const Secret& s, const std::string& key) {
  return std::binary_search(s.exact.begin(), s.exact.end(), key);
}
}  // namespace

void VisitTemplateValues(const Workload& w, const ConfigMapLookup& config_map,
                         const SecretLookup& secret, const TemplateValueVisitor& visit) {
  for (const Container& c : w.containers) {
    EnvMap env;
    // envFrom values as the process sees them: a later source wins, env[] overrides.
    std::map<std::string, std::pair<std::string_view, std::string>> from;
    for (const EnvFromSource& ef : c.env_from) {
      if (const ConfigMap* cm = ef.config_map_name.empty() ? nullptr : config_map(ef.config_map_name)) {
        for (const auto& [k, v] : cm->data) {
          std::string name = ef.prefix + k;
          env[name] = v;
          from[name] = {v, "envFrom configmap " + cm->name + " key " + k};
        }
      }
      if (const Secret* s = ef.secret_name.empty() ? nullptr : secret(ef.secret_name)) {
        for (const auto& [k, v] : s->hosts) {
          std::string name = ef.prefix + k;
          // Only a value that was exactly one host name stands for $(VAR).
          if (IsExact(*s, k)) {
            env[name] = v;
          } else {
            env.erase(name);
          }
          from[name] = {v, "envFrom secret " + s->name + " key " + k};
        }
      }
    }
    for (const EnvVar& e : c.env) {
      from.erase(e.name);
      if (e.value) {
        std::string v = ExpandVars(*e.value, env);
        visit(c.name, "env " + e.name, v);
        env[e.name] = std::move(v);
      } else if (const ConfigMap* cm =
                     e.config_map_name.empty() ? nullptr : config_map(e.config_map_name)) {
        auto it = cm->data.find(e.config_map_key);
        if (it == cm->data.end()) {
          env.erase(e.name);
          continue;
        }
        visit(c.name, "env " + e.name + " from configmap " + cm->name + " key " + e.config_map_key,
              it->second);
        env[e.name] = it->second;
      } else if (const Secret* s = e.secret_name.empty() ? nullptr : secret(e.secret_name)) {
        auto it = s->hosts.find(e.secret_key);
        if (it == s->hosts.end()) {
          env.erase(e.name);
          continue;
        }
        visit(c.name, "env " + e.name + " from secret " + s->name + " key " + e.secret_key,
              it->second);
        if (IsExact(*s, e.secret_key)) {
          env[e.name] = it->second;
        } else {
          env.erase(e.name);
        }
      } else {
        env.erase(e.name);  // a value netpol-ctrl cannot know (fieldRef, unread secret, ...)
      }
    }
    for (const auto& [name, vf] : from) visit(c.name, vf.second, vf.first);
    for (size_t i = 0; i < c.command.size(); ++i) {
      visit(c.name, "command[" + std::to_string(i) + "]", ExpandVars(c.command[i], env));
    }
    for (size_t i = 0; i < c.args.size(); ++i) {
      visit(c.name, "args[" + std::to_string(i) + "]", ExpandVars(c.args[i], env));
    }
  }
  std::set<std::string> volumes(w.config_map_volumes.begin(), w.config_map_volumes.end());
  for (const std::string& name : volumes) {
    const ConfigMap* cm = name.empty() ? nullptr : config_map(name);
    if (!cm) continue;
    for (const auto& [k, v] : cm->data) visit("", "volume configmap " + cm->name + " key " + k, v);
  }
  std::set<std::string> secret_volumes(w.secret_volumes.begin(), w.secret_volumes.end());
  for (const std::string& name : secret_volumes) {
    const Secret* s = name.empty() ? nullptr : secret(name);
    if (!s) continue;
    for (const auto& [k, v] : s->hosts) visit("", "volume secret " + s->name + " key " + k, v);
  }
}

std::vector<std::string> ConfigMapsRead(const Workload& w) {
  std::vector<std::string> out(w.config_map_volumes.begin(), w.config_map_volumes.end());
  for (const Container& c : w.containers) {
    for (const EnvFromSource& ef : c.env_from) out.push_back(ef.config_map_name);
    for (const EnvVar& e : c.env) {
      if (!e.value) out.push_back(e.config_map_name);
    }
  }
  std::erase(out, std::string());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::string> SecretsRead(const Workload& w) {
  std::vector<std::string> out(w.secret_volumes.begin(), w.secret_volumes.end());
  for (const Container& c : w.containers) {
    for (const EnvFromSource& ef : c.env_from) out.push_back(ef.secret_name);
    for (const EnvVar& e : c.env) {
      if (!e.value) out.push_back(e.secret_name);
    }
  }
  std::erase(out, std::string());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void ClusterIndex::ScanWorkload(uint32_t wi) {
  const Workload& w = *workloads_[wi];
  VisitTemplateValues(
      w,
      [&](const std::string& name) -> const ConfigMap* {
        if (!config_.read_config_maps || name.empty()) return nullptr;
        auto it = config_maps_.find(JoinKey(w.ns, name));
        return it == config_maps_.end() ? nullptr : it->second;
      },
      [&](const std::string& name) -> const Secret* {
        if (!config_.read_secrets || name.empty()) return nullptr;
        auto it = secrets_.find(JoinKey(w.ns, name));
        return it == secrets_.end() ? nullptr : it->second;
      },
      [&](const std::string& container, std::string field, std::string_view value) {
        AddRefs(wi, container, std::move(field), value);
      });
  // Canonical order; one edge per (Service, ports, where it was read).
  std::vector<Edge>& edges = edges_[wi];
  std::sort(edges.begin(), edges.end(), EdgeLess);
  edges.erase(
      std::unique(edges.begin(), edges.end(),
                  [](const Edge& a, const Edge& b) { return !EdgeLess(a, b) && !EdgeLess(b, a); }),
      edges.end());
  std::vector<Unresolved>& un = unresolved_[wi];
  std::sort(un.begin(), un.end(), UnresolvedLess);
  un.erase(std::unique(un.begin(), un.end(),
                       [](const Unresolved& a, const Unresolved& b) {
                         return !UnresolvedLess(a, b) && !UnresolvedLess(b, a);
                       }),
           un.end());
}

void ClusterIndex::ComputeScrape(uint32_t wi) {
  const Workload& w = *workloads_[wi];
  if (!IsTrue(w.template_annotations, "prometheus.io/scrape")) return;
  ScrapeTarget t{wi, {}};
  auto port = w.template_annotations.find("prometheus.io/port");
  if (port != w.template_annotations.end()) {
    std::string_view p = port->second;
    while (!p.empty() && p.front() == ' ') p.remove_prefix(1);
    while (!p.empty() && p.back() == ' ') p.remove_suffix(1);
    if (const int n = ParsePortNumber(p); n != 0) {
      PolicyPort pp;
      pp.port.num = n;
      t.ports.push_back(pp);
    } else {
      notes_[wi].push_back("annotation prometheus.io/port \"" +
                                     std::string(CutForDisplay(port->second)) +
                                     "\" is not a port number: monitoring not allowed");
      return;
    }
  } else {
    for (const Container& c : w.containers) {
      for (const ContainerPort& cp : c.ports) {
        if ((cp.name == "metrics" || cp.name == "http-metrics") && cp.port > 0) {
          PolicyPort pp;
          pp.protocol = cp.protocol.empty() ? "TCP" : cp.protocol;
          pp.port.num = cp.port;
          t.ports.push_back(pp);
        }
      }
    }
    if (t.ports.empty()) {
      notes_[wi].push_back(
          "prometheus.io/scrape is true but there is no prometheus.io/port annotation and no "
          "container port named metrics or http-metrics: monitoring not allowed");
      return;
    }
  }
  std::sort(t.ports.begin(), t.ports.end());
  t.ports.erase(std::unique(t.ports.begin(), t.ports.end()), t.ports.end());
  scrape_[wi] = std::move(t);
}

std::vector<Edge> ClusterIndex::AllEdges() const {
  std::vector<Edge> out;
  for (const auto& v : edges_) out.insert(out.end(), v.begin(), v.end());
  return out;  // workloads are sorted and each list is sorted: so is this
}

const std::vector<Unresolved>& ClusterIndex::UnresolvedOf(const Workload& w) const {
  return unresolved_[IndexOf(w)];
}

std::vector<Unresolved> ClusterIndex::AllUnresolved() const {
  std::vector<Unresolved> out;
  for (const auto& v : unresolved_) out.insert(out.end(), v.begin(), v.end());
  return out;
}

// --- rule 2: the Prometheus operator ----------------------------------------

namespace {

std::optional<std::vector<PolicyPort>> ServiceTargetPorts(const std::vector<ServicePort>& ports) {
  if (ports.empty()) return std::nullopt;
  std::vector<PolicyPort> out;
  for (const ServicePort& sp : ports) {
    PolicyPort pp;
    pp.protocol = sp.protocol.empty() ? "TCP" : sp.protocol;
    pp.port = sp.target_port.empty() ? IntOrString{sp.port, ""} : sp.target_port;
    out.push_back(pp);
  }
  return out;
}

PolicyPort TcpPort(const IntOrString& port) {
  PolicyPort p;
  p.port = port;
  return p;
}

}  // namespace

void ClusterIndex::AddScrape(Scrape s) {
  const uint32_t id = static_cast<uint32_t>(scrapes_.size());
  for (uint32_t t : s.targets) scrapes_into_[t].push_back(id);
  scrapes_.push_back(std::move(s));
}

void ClusterIndex::ComputeMonitoring() {
  const auto& sms = snapshot_.service_monitors;
  const auto& pms = snapshot_.pod_monitors;
  std::vector<const Prometheus*> proms;
  for (const Prometheus& p : snapshot_.prometheuses) proms.push_back(&p);
  std::sort(proms.begin(), proms.end(), [](const Prometheus* a, const Prometheus* b) {
    return std::tie(a->ns, a->name) < std::tie(b->ns, b->name);
  });
  if (sms.empty() && pms.empty() && proms.empty()) return;
  std::vector<const ServiceMonitor*> smons;
  for (const ServiceMonitor& m : sms) smons.push_back(&m);
  std::sort(smons.begin(), smons.end(), [](const ServiceMonitor* a, const ServiceMonitor* b) {
    return std::tie(a->ns, a->name) < std::tie(b->ns, b->name);
  });
  std::vector<const PodMonitor*> pmons;
  for (const PodMonitor& m : pms) pmons.push_back(&m);
  std::sort(pmons.begin(), pmons.end(), [](const PodMonitor* a, const PodMonitor* b) {
    return std::tie(a->ns, a->name) < std::tie(b->ns, b->name);
  });
  std::vector<std::string> all_namespaces;
  for (const auto& [n, known] : known_namespaces_) all_namespaces.push_back(n);
  std::sort(all_namespaces.begin(), all_namespaces.end());
  auto in_scope = [&](const MonitorNamespaces& scope, const std::string& own,
                      const std::string& ns) {
    if (scope.any) return true;
    if (scope.names.empty()) return ns == own;
    return std::find(scope.names.begin(), scope.names.end(), ns) != scope.names.end();
  };

  // The scrapes of one ServiceMonitor or PodMonitor by `p` (null: the
  // configured monitoring peers).
  auto service_monitor = [&](const Prometheus* p, const ServiceMonitor& m) {
    for (uint32_t si = 0; si < services_.size(); ++si) {
      const Service& svc = *services_[si];
      if (svc.type == "ExternalName" || !in_scope(m.namespaces, m.ns, svc.ns) ||
          !Matches(m.selector, svc.labels)) {
        continue;
      }
      for (const ServiceMonitor::Endpoint& ep : m.endpoints) {
        Scrape s;
        s.prometheus = p;
        s.target_ns = svc.ns;
        std::string what;
        if (!ep.port.empty()) {
          auto sp = std::find_if(svc.ports.begin(), svc.ports.end(),
                                 [&](const ServicePort& x) { return x.name == ep.port; });
          if (sp == svc.ports.end()) continue;  // the operator finds no target
          s.ports = ServiceTargetPorts({*sp});
          s.endpoint_port = ep.port;
          what = "endpoint port " + ep.port;
        } else if (!ep.target_port.empty()) {
          s.ports = std::vector<PolicyPort>{TcpPort(ep.target_port)};
          what = "endpoint targetPort " + ep.target_port.ToString();
        } else {
          s.ports = ServiceTargetPorts(svc.ports);
          what = "endpoint (every port)";
        }
        s.via = "ServiceMonitor " + m.ns + "/" + m.name + " " + what + " -> Service " + svc.ns +
                "/" + svc.name;
        if (!svc.selector || svc.selector->empty()) {
          s.selectorless = &svc;
        } else {
          s.target_pods.match_labels = *svc.selector;
          s.targets = backends_[si];
        }
        AddScrape(std::move(s));
      }
    }
  };
  auto pod_monitor = [&](const Prometheus* p, const PodMonitor& m) {
    std::vector<std::string> namespaces;
    for (const std::string& ns : all_namespaces) {
      if (in_scope(m.namespaces, m.ns, ns)) namespaces.push_back(ns);
    }
    for (const PodMonitor::Endpoint& ep : m.endpoints) {
      Scrape s;
      s.prometheus = p;
      s.target_pods = CanonicalSelector(m.selector);
      std::string what;
      if (!ep.port.empty()) {
        s.ports = std::vector<PolicyPort>{TcpPort(IntOrString{std::nullopt, ep.port})};
        what = "endpoint port " + ep.port;
      } else if (ep.port_number) {
        s.ports = std::vector<PolicyPort>{TcpPort(IntOrString{*ep.port_number, ""})};
        what = "endpoint portNumber " + std::to_string(*ep.port_number);
      } else if (!ep.target_port.empty()) {
        s.ports = std::vector<PolicyPort>{TcpPort(ep.target_port)};
        what = "endpoint targetPort " + ep.target_port.ToString();
      } else {
        what = "endpoint (every port)";
      }
      s.via = "PodMonitor " + m.ns + "/" + m.name + " " + what;
      if (m.namespaces.any) {
        s.any_namespace = true;
        for (const std::string& ns : namespaces) {
          for (uint32_t wi : SelectedIn(ns, m.selector)) s.targets.push_back(wi);
        }
        AddScrape(std::move(s));
        continue;
      }
      for (const std::string& ns : namespaces) {
        Scrape one = s;
        one.target_ns = ns;
        one.targets = SelectedIn(ns, m.selector);
        AddScrape(std::move(one));
      }
      // A named namespace that nothing lives in yet is still a target.
      for (const std::string& ns : m.namespaces.names) {
        if (std::find(namespaces.begin(), namespaces.end(), ns) != namespaces.end()) continue;
        Scrape one = s;
        one.target_ns = ns;
        AddScrape(std::move(one));
      }
    }
  };

  // Who scrapes: each Prometheus the monitors it selects; with no Prometheus
  // object, the configured monitoring peers every monitor.
  std::vector<std::pair<const Prometheus*, size_t>> ranges;  // first scrape of each source
  if (proms.empty()) {
    ranges.emplace_back(nullptr, scrapes_.size());
    for (const ServiceMonitor* m : smons) service_monitor(nullptr, *m);
    for (const PodMonitor* m : pmons) pod_monitor(nullptr, *m);
  }
  for (const Prometheus* p : proms) {
    ranges.emplace_back(p, scrapes_.size());
    for (const ServiceMonitor* m : smons) {
      if (SelectsMonitor(*p, p->service_monitor_selector, p->service_monitor_namespace_selector,
                         m->ns, m->labels, NamespaceLabels(m->ns))) {
        service_monitor(p, *m);
      }
    }
    for (const PodMonitor* m : pmons) {
      if (SelectsMonitor(*p, p->pod_monitor_selector, p->pod_monitor_namespace_selector, m->ns,
                         m->labels, NamespaceLabels(m->ns))) {
        pod_monitor(p, *m);
      }
    }
    for (const Prometheus::Alertmanager& am : p->alertmanagers) {
      auto si = ServiceIndex(am.ns, am.service);
      if (!si) continue;
      const Service& svc = *services_[*si];
      if (svc.type == "ExternalName") continue;
      std::vector<ServicePort> ports;
      for (const ServicePort& sp : svc.ports) {
        if (am.port.empty() ||
            (am.port.is_num() ? sp.port == *am.port.num : sp.name == am.port.str)) {
          ports.push_back(sp);
        }
      }
      if (ports.empty()) continue;
      Scrape s;
      s.prometheus = p;
      s.target_ns = svc.ns;
      s.ports = ServiceTargetPorts(ports);
      s.via = "alerting: Alertmanager Service " + svc.ns + "/" + svc.name +
              (am.port.empty() ? "" : " port " + am.port.ToString());
      if (!svc.selector || svc.selector->empty()) {
        s.selectorless = &svc;
        if (ports.size() == 1) s.endpoint_port = ports[0].name;
      } else {
        s.target_pods.match_labels = *svc.selector;
        s.targets = backends_[*si];
      }
      AddScrape(std::move(s));
    }
  }
  ranges.emplace_back(nullptr, scrapes_.size());
  for (size_t r = 0; r + 1 < ranges.size(); ++r) {
    const Prometheus* p = ranges[r].first;
    std::vector<uint32_t> scrapers;
    if (p) {
      LabelSelector pods;
      pods.match_labels = PrometheusPodLabels(*p);
      scrapers = SelectedInTemplates(p->ns, pods);
      for (uint32_t wi : scrapers) prometheus_of_[wi].push_back(p);
    } else {
      for (uint32_t wi = 0; wi < workloads_.size(); ++wi) {
        if (MatchesPeer(config_.monitoring_peers, *workloads_[wi])) scrapers.push_back(wi);
      }
    }
    for (uint32_t wi : scrapers) {
      for (size_t id = ranges[r].second; id < ranges[r + 1].second; ++id) {
        scrapes_from_[wi].push_back(static_cast<uint32_t>(id));
      }
    }
  }
}

// --- rule 5: which ingress controllers serve an Ingress ---------------------

ClusterIndex::IngressPeers ClusterIndex::ResolveIngressPeers(const Ingress& ing) const {
  IngressPeers out;
  const auto& peers = config_.ingress_controller_peers;
  auto serving = [&](const std::string& controller, const std::string& class_name) {
    for (const PeerSelector& p : peers) {
      const bool all = p.controllers.empty() && p.classes.empty();
      const bool by_controller =
          !controller.empty() &&
          std::find(p.controllers.begin(), p.controllers.end(), controller) != p.controllers.end();
      const bool by_class =
          controller.empty() &&
          std::find(p.classes.begin(), p.classes.end(), class_name) != p.classes.end();
      if (all || by_controller || by_class) out.peers.push_back(&p);
    }
  };
  const std::string flag =
      "add one with --ingress-controller-peer 'NAMESPACE/LABEL=VALUE;controller=...'";
  std::string class_name = ing.ingress_class.empty() ? ing.class_annotation : ing.ingress_class;
  if (!class_name.empty()) {
    auto it = ingress_classes_.find(class_name);
    if (it != ingress_classes_.end()) {
      out.why = "class " + class_name + " (controller " + it->second->controller + ")";
      serving(it->second->controller, "");
    } else {
      out.why = "class " + class_name + " (no IngressClass object)";
      serving("", class_name);
    }
  } else {
    std::vector<const IngressClass*> defaults;
    for (const IngressClass& c : snapshot_.ingress_classes) {
      if (c.is_default) defaults.push_back(&c);
    }
    std::sort(defaults.begin(), defaults.end(),
              [](const IngressClass* a, const IngressClass* b) { return a->name < b->name; });
    if (defaults.empty()) {
      out.why = "no class and no default IngressClass: every configured ingress controller";
      for (const PeerSelector& p : peers) out.peers.push_back(&p);
      return out;
    }
    for (const IngressClass* c : defaults) {
      out.why += std::string(out.why.empty() ? "" : ", ") + "default class " + c->name +
                 " (controller " + c->controller + ")";
      serving(c->controller, "");
    }
  }
  std::sort(out.peers.begin(), out.peers.end());
  out.peers.erase(std::unique(out.peers.begin(), out.peers.end()), out.peers.end());
  if (out.peers.empty()) {
    out.warning = "Ingress " + ing.ns + "/" + ing.name + ": " + out.why +
                  " is served by no configured ingress controller, so none may reach its "
                  "backends; " +
                  flag;
  }
  return out;
}

const ClusterIndex::IngressPeers& ClusterIndex::PeersOf(const Ingress& ing) const {
  return ingress_peers_.at(&ing);
}

std::vector<WorkloadKey> ClusterIndex::Backends(std::string_view ns, std::string_view name) const {
  std::vector<WorkloadKey> out;
  if (auto si = ServiceIndex(ns, name)) {
    for (uint32_t wi : backends_[*si]) out.push_back(workloads_[wi]->key());
  }
  return out;
}

std::vector<ClusterIndex::PlatformEdge> ClusterIndex::PlatformEdges() const {
  std::vector<PlatformEdge> out;
  auto ports_label = [](const std::optional<std::vector<PolicyPort>>& ports) {
    if (!ports) return std::string();
    std::string s;
    for (const PolicyPort& p : *ports) {
      s += (s.empty() ? "" : ", ") + p.port.ToString();
      if (p.protocol != "TCP") s += "/" + p.protocol;
    }
    return s;
  };
  for (const HookCall& h : hook_calls_) {
    const Service& svc = *services_[h.service];
    std::string label;
    for (const ServicePort& sp : svc.ports) {
      if (sp.port == h.call->port) {
        label = sp.target_port.empty() ? std::to_string(sp.port) : sp.target_port.ToString();
      }
    }
    for (uint32_t wi : backends_[h.service]) {
      out.push_back({"API server", workloads_[wi]->key(), label});
    }
  }
  for (const Scrape& s : scrapes_) {
    const std::string from =
        s.prometheus ? "Prometheus " + s.prometheus->ns + "/" + s.prometheus->name : "monitoring";
    for (uint32_t wi : s.targets) out.push_back({from, workloads_[wi]->key(), ports_label(s.ports)});
  }
  for (uint32_t wi = 0; wi < prometheus_of_.size(); ++wi) {
    for (const Prometheus* p : prometheus_of_[wi]) {
      out.push_back({"Prometheus " + p->ns + "/" + p->name, workloads_[wi]->key(), "pods", true});
    }
  }
  return out;
}

// Observed flows (allow): in-cluster ones become edges of their client (to
// the server workload, like a pod DNS name); external ones are kept for the
// client's egress. Flows of unknown or unmanaged workloads add nothing.
void ClusterIndex::AddObservedEdges() {
  observed_external_.resize(workloads_.size());
  if (config_.observed_flows != ObservedFlowsMode::kAllow) return;
  for (const ObservedFlow& f : snapshot_.observed_flows) {
    if (!ObservedAllowed(f, config_)) continue;
    auto ci = workload_by_key_.find(f.client.ToString());
    if (ci == workload_by_key_.end()) continue;
    if (!f.server) {
      observed_external_[ci->second].push_back(&f);
      continue;
    }
    if (!workload_by_key_.contains(f.server->ToString()) || *f.server == f.client) continue;
    edges_[ci->second].push_back(ObservedEdge(f));
  }
  for (auto& v : edges_) {
    std::sort(v.begin(), v.end(), EdgeLess);
  }
}

}  // namespace npc::synth
