#include "synth/index.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_set>

#include "synth/internal.h"

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

ClusterIndex::ClusterIndex(const Snapshot& snapshot, const SynthesisConfig& config)
    : snapshot_(snapshot), config_(config) {
  domain_ = Lower(config.cluster_domain);
  while (!domain_.empty() && domain_.front() == '.') domain_.erase(0, 1);
  while (!domain_.empty() && domain_.back() == '.') domain_.pop_back();

  for (const Namespace& n : snapshot.namespaces) {
    namespaces_[n.name] = &n;
    known_namespaces_[n.name] = true;
  }

  // Workloads, sorted so that every derived order is independent of input order.
  for (const Workload& w : snapshot.workloads) {
    if (!w.has_controller) workloads_.push_back(&w);
  }
  std::sort(workloads_.begin(), workloads_.end(),
            [](const Workload* a, const Workload* b) { return a->key() < b->key(); });
  workloads_.erase(
      std::unique(workloads_.begin(), workloads_.end(),
                  [](const Workload* a, const Workload* b) { return a->key() == b->key(); }),
      workloads_.end());
  const size_t nw = workloads_.size();
  std::unordered_map<std::string, std::vector<uint32_t>> by_label;
  for (uint32_t i = 0; i < nw; ++i) {
    const Workload& w = *workloads_[i];
    workload_by_key_.emplace(w.key().ToString(), i);
    known_namespaces_[w.ns] = true;
    for (const auto& [k, v] : w.template_labels) by_label[LabelKey(w.ns, k, v)].push_back(i);
  }

  for (const Service& s : snapshot.services) services_.push_back(&s);
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
    const std::vector<uint32_t>* smallest = nullptr;
    for (const auto& [k, v] : *s.selector) {
      auto it = by_label.find(LabelKey(s.ns, k, v));
      if (it == by_label.end()) {
        smallest = nullptr;
        break;
      }
      if (!smallest || it->second.size() < smallest->size()) smallest = &it->second;
    }
    if (!smallest) continue;
    for (uint32_t wi : *smallest) {
      const Labels& labels = workloads_[wi]->template_labels;
      bool all = true;
      for (const auto& [k, v] : *s.selector) {
        auto it = labels.find(k);
        if (it == labels.end() || it->second != v) {
          all = false;
          break;
        }
      }
      if (!all) continue;
      backends_[si].push_back(wi);
      selected_by_[wi].push_back(si);
    }
  }

  for (const ConfigMap& c : snapshot.config_maps) config_maps_.emplace(JoinKey(c.ns, c.name), &c);
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
  for (const PodAddress& p : snapshot.pod_addresses) {
    auto [it, inserted] = pods_.emplace(JoinKey(p.ns, p.ip), p.owner);
    if (!inserted && p.owner < it->second) it->second = p.owner;  // deterministic on conflicts
  }

  skip_.resize(nw);
  for (uint32_t i = 0; i < nw; ++i) {
    const Workload& w = *workloads_[i];
    std::optional<std::string>& why = skip_[i];
    auto ns = namespaces_.find(w.ns);
    if (std::find(config.excluded_namespaces.begin(), config.excluded_namespaces.end(), w.ns) !=
        config.excluded_namespaces.end()) {
      why = "namespace " + w.ns + " is excluded";
    } else if (ns != namespaces_.end() && IsTrue(ns->second->annotations, kIgnoreAnnotation)) {
      why = "namespace " + w.ns + " is annotated " + std::string(kIgnoreAnnotation) + "=true";
    } else if (IsTrue(w.annotations, kIgnoreAnnotation) ||
               IsTrue(w.template_annotations, kIgnoreAnnotation)) {
      why = "annotated " + std::string(kIgnoreAnnotation) + "=true";
    } else if (w.host_network) {
      why = "hostNetwork pods are not subject to NetworkPolicy";
    } else if (MatchesPeer(config.dns_peers, w)) {
      why = "a configured DNS server";
    } else if (MatchesPeer(config.ingress_controller_peers, w)) {
      why = "a configured ingress controller";
    }
  }

  edges_.resize(nw);
  unresolved_.resize(nw);
  pod_clients_.resize(nw);
  for (uint32_t i = 0; i < nw; ++i) ScanWorkload(i);
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
  scrape_warnings_.resize(nw);
  for (uint32_t i = 0; i < nw; ++i) {
    ComputeScrape(i);
    if (scrape_[i]) scraped_.push_back(i);
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

const Service* ClusterIndex::FindService(std::string_view ns, std::string_view name) const {
  auto it = service_by_key_.find(JoinKey(ns, name));
  return it == service_by_key_.end() ? nullptr : services_[it->second];
}

Labels ClusterIndex::NamespaceLabels(const std::string& ns) const {
  Labels labels;
  auto it = namespaces_.find(ns);
  if (it != namespaces_.end()) labels = it->second->labels;
  labels[std::string(kNamespaceNameLabel)] = ns;  // set by the API server on every namespace
  return labels;
}

bool ClusterIndex::MatchesPeer(const std::vector<PeerSelector>& peers, const Workload& w) const {
  if (peers.empty()) return false;
  const Labels ns_labels = NamespaceLabels(w.ns);
  for (const PeerSelector& p : peers) {
    if (Matches(p.namespaces, ns_labels) && Matches(p.pods, w.template_labels)) return true;
  }
  return false;
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
    if (pods_.empty()) {
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

void VisitTemplateValues(const Workload& w, const ConfigMapLookup& config_map,
                         const TemplateValueVisitor& visit) {
  for (const Container& c : w.containers) {
    EnvMap env;
    // envFrom values as the process sees them: a later source wins, env[] overrides.
    std::map<std::string, std::pair<std::string_view, std::string>> from;
    for (const EnvFromSource& ef : c.env_from) {
      const ConfigMap* cm = config_map(ef.config_map_name);
      if (!cm) continue;
      for (const auto& [k, v] : cm->data) {
        std::string name = ef.prefix + k;
        env[name] = v;
        from[name] = {v, "envFrom configmap " + cm->name + " key " + k};
      }
    }
    for (const EnvVar& e : c.env) {
      from.erase(e.name);
      if (e.value) {
        std::string v = ExpandVars(*e.value, env);
        visit(c.name, "env " + e.name, v);
        env[e.name] = std::move(v);
      } else if (const ConfigMap* cm = config_map(e.config_map_name)) {
        auto it = cm->data.find(e.config_map_key);
        if (it == cm->data.end()) {
          env.erase(e.name);
          continue;
        }
        visit(c.name, "env " + e.name + " from configmap " + cm->name + " key " + e.config_map_key,
              it->second);
        env[e.name] = it->second;
      } else {
        env.erase(e.name);  // a value netpol-ctrl cannot know (secret, fieldRef, ...)
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
    const ConfigMap* cm = config_map(name);
    if (!cm) continue;
    for (const auto& [k, v] : cm->data) visit("", "volume configmap " + cm->name + " key " + k, v);
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

void ClusterIndex::ScanWorkload(uint32_t wi) {
  const Workload& w = *workloads_[wi];
  VisitTemplateValues(
      w,
      [&](const std::string& name) -> const ConfigMap* {
        if (!config_.read_config_maps || name.empty()) return nullptr;
        auto it = config_maps_.find(JoinKey(w.ns, name));
        return it == config_maps_.end() ? nullptr : it->second;
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
      scrape_warnings_[wi].push_back("annotation prometheus.io/port \"" +
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
      scrape_warnings_[wi].push_back(
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

}  // namespace npc::synth
