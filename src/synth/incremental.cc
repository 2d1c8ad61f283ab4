#include "synth/incremental.h"

#include <algorithm>

#include "synth/index.h"
#include "synth/internal.h"
#include "synth/refs.h"

namespace npc::synth {
namespace {

void SortUnique(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

bool MatchesMap(const Labels& selector, const Labels& labels) {
  for (const auto& [k, v] : selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

// True when Service `s` selects the template of `w` (as ClusterIndex decides backends).
bool Selects(const Service& s, const Workload& w) {
  if (!s.selector || s.selector->empty() || s.type == "ExternalName" || s.ns != w.ns) return false;
  return MatchesMap(*s.selector, w.template_labels);
}

bool SelectsLabels(const Service& s, const Labels& labels) {
  if (!s.selector || s.selector->empty() || s.type == "ExternalName") return false;
  return MatchesMap(*s.selector, labels);
}

template <typename Map>
auto Find(const Map& m, const std::string& key) -> decltype(m.begin()->second.get()) {
  auto it = m.find(key);
  return it == m.end() ? nullptr : it->second.get();
}

template <typename Map, typename Key>
void AddTo(Map& index, const std::string& at, const Key& key) {
  index[at].insert(key);
}

template <typename Map, typename Key>
void RemoveFrom(Map& index, const std::string& at, const Key& key) {
  auto it = index.find(at);
  if (it == index.end()) return;
  it->second.erase(key);
  if (it->second.empty()) index.erase(it);
}

std::string LabelIndexKey(std::string_view ns, std::string_view k, std::string_view v) {
  std::string key(ns);
  key += '\0';
  key += k;
  key += '\0';
  key += v;
  return key;
}

bool NamesPerRevisionLabel(const LabelSelector& s) {
  for (const auto& [k, v] : s.match_labels) {
    if (IsPerRevisionLabel(k)) return true;
  }
  for (const auto& r : s.match_expressions) {
    if (IsPerRevisionLabel(r.key)) return true;
  }
  return false;
}

bool NamesPerRevisionLabel(const Service& s) {
  if (!s.selector) return false;
  for (const auto& [k, v] : *s.selector) {
    if (IsPerRevisionLabel(k)) return true;
  }
  return false;
}

bool InScope(const MonitorNamespaces& scope, const std::string& own, const std::string& ns) {
  if (scope.any) return true;
  if (scope.names.empty()) return ns == own;
  return std::find(scope.names.begin(), scope.names.end(), ns) != scope.names.end();
}

std::string HookKey(const ApiServerHook& h) {
  return std::string(HookKindName(h.kind)) + "/" + h.name;
}

}  // namespace

std::optional<ObjectKind> ParseObjectKind(std::string_view kind) {
  static const std::map<std::string_view, ObjectKind> kKinds = {
      {"Service", ObjectKind::kService},
      {"EndpointSlice", ObjectKind::kEndpointSlice},
      {"Ingress", ObjectKind::kIngress},
      {"ConfigMap", ObjectKind::kConfigMap},
      {"Namespace", ObjectKind::kNamespace},
      {"Pod", ObjectKind::kPod},
      {"Secret", ObjectKind::kSecret},
      {"IngressClass", ObjectKind::kIngressClass},
      {"Route", ObjectKind::kRoute},
      {"Gateway", ObjectKind::kGateway},
      {"GatewayClass", ObjectKind::kGatewayClass},
      {"HTTPRoute", ObjectKind::kHTTPRoute},
      {"GRPCRoute", ObjectKind::kGRPCRoute},
      {"TLSRoute", ObjectKind::kTLSRoute},
      {"TCPRoute", ObjectKind::kTCPRoute},
      {"UDPRoute", ObjectKind::kUDPRoute},
      {"ValidatingWebhookConfiguration", ObjectKind::kValidatingWebhookConfiguration},
      {"MutatingWebhookConfiguration", ObjectKind::kMutatingWebhookConfiguration},
      {"APIService", ObjectKind::kAPIService},
      {"CustomResourceDefinition", ObjectKind::kCustomResourceDefinition},
      {"Prometheus", ObjectKind::kPrometheus},
      {"ServiceMonitor", ObjectKind::kServiceMonitor},
      {"PodMonitor", ObjectKind::kPodMonitor},
  };
  auto it = kKinds.find(kind);
  if (it == kKinds.end()) return std::nullopt;
  return it->second;
}

Incremental::Incremental(SynthesisConfig config, bool reasons)
    : config_(std::move(config)), reasons_(reasons) {}
Incremental::~Incremental() = default;

// --- what a workload's policy depends on --------------------------------------

Incremental::Derived Incremental::Derive(const Workload& w) const {
  Derived d;
  if (config_.read_config_maps) {
    for (const std::string& name : ConfigMapsRead(w)) d.config_maps.push_back(JoinKey(w.ns, name));
  }
  if (config_.read_secrets) {
    for (const std::string& name : SecretsRead(w)) d.secrets.push_back(JoinKey(w.ns, name));
  }
  VisitTemplateValues(
      w,
      [&](const std::string& name) -> const ConfigMap* {
        if (!config_.read_config_maps || name.empty()) return nullptr;
        return Find(config_maps_, JoinKey(w.ns, name));
      },
      [&](const std::string& name) -> const Secret* {
        if (!config_.read_secrets || name.empty()) return nullptr;
        return Find(secrets_, JoinKey(w.ns, name));
      },
      [&](const std::string&, std::string, std::string_view value) {
        for (const HostRef& ref : FindHostRefs(value)) {
          const std::vector<std::string_view> labels = SplitLabels(ref.host);
          // A superset of what ClusterIndex::ResolveHost can resolve to: a
          // single label is a Service of the client's namespace; otherwise
          // the Service is some label and its namespace the next one.
          if (labels.size() == 1) {
            d.candidates.push_back(JoinKey(w.ns, labels[0]));
            d.short_names.emplace_back(labels[0]);
          }
          for (size_t i = 0; i + 1 < labels.size(); ++i) {
            d.candidates.push_back(JoinKey(labels[i + 1], labels[i]));
          }
          for (std::string_view l : labels) d.labels.emplace_back(l);
          // a-b-c-d.ns.pod[.domain]: the pod with that IP.
          if (labels.size() >= 3 && labels[2] == "pod") {
            std::string ip(labels[0]);
            std::replace(ip.begin(), ip.end(), '-', '.');
            d.pod_ips.push_back(JoinKey(labels[1], ip));
          }
        }
      });
  SortUnique(d.candidates);
  SortUnique(d.short_names);
  SortUnique(d.labels);
  SortUnique(d.pod_ips);
  // Over-approximations are safe: they only recompute more.
  d.scraped = w.template_annotations.contains("prometheus.io/scrape");
  for (const PeerSelector& p : config_.monitoring_peers) {
    if (Matches(p.pods, w.template_labels)) d.monitor = true;
  }
  // The pods of a Prometheus (the operator's labels).
  if (w.template_labels.contains("prometheus")) d.monitor = true;
  d.api_server = w.annotations.contains(std::string(kAllowApiServerAnnotation)) ||
                 w.template_annotations.contains(std::string(kAllowApiServerAnnotation));
  return d;
}

void Incremental::Index(const std::string& key, const Derived& d) {
  for (const auto& c : d.candidates) clients_.Add(c, key);
  for (const auto& n : d.short_names) short_users_.Add(n, key);
  for (const auto& l : d.labels) label_users_.Add(l, key);
  for (const auto& c : d.config_maps) readers_.Add(c, key);
  for (const auto& c : d.secrets) secret_readers_.Add(c, key);
  for (const auto& ip : d.pod_ips) ip_users_.Add(ip, key);
  if (d.scraped) scraped_.insert(key);
  if (d.monitor) monitors_.insert(key);
  if (d.api_server) api_server_users_.insert(key);
}

void Incremental::Unindex(const std::string& key, const Derived& d) {
  for (const auto& c : d.candidates) clients_.Remove(c, key);
  for (const auto& n : d.short_names) short_users_.Remove(n, key);
  for (const auto& l : d.labels) label_users_.Remove(l, key);
  for (const auto& c : d.config_maps) readers_.Remove(c, key);
  for (const auto& c : d.secrets) secret_readers_.Remove(c, key);
  for (const auto& ip : d.pod_ips) ip_users_.Remove(ip, key);
  scraped_.erase(key);
  monitors_.erase(key);
  api_server_users_.erase(key);
}

// --- questions over what is held ------------------------------------------------

std::vector<const Labels*> Incremental::PodLabelSets(const std::string& key,
                                                     const std::string& ns) const {
  std::vector<const Labels*> out;
  auto it = owner_pods_.find(key);
  if (it == owner_pods_.end()) return out;
  for (const PodNode* n : it->second) {
    const Pod& p = n->pod;
    if (p.ns == ns) out.push_back(&p.labels.get());
  }
  std::sort(out.begin(), out.end(), [](const Labels* a, const Labels* b) { return *a < *b; });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const Labels* a, const Labels* b) { return *a == *b; }),
            out.end());
  return out;
}

bool Incremental::ServiceSelects(const Service& s, const Workload& w,
                                 const std::vector<const Labels*>& pod_labels) {
  if (Selects(s, w)) return true;
  for (const Labels* l : pod_labels) {
    if (SelectsLabels(s, *l)) return true;
  }
  return false;
}

Incremental::KeySet Incremental::SelectedIn(const std::string& ns,
                                            const LabelSelector& selector) const {
  KeySet out = TemplatesMatching(ns, selector);
  // Owners of pods: those with a pod carrying every matchLabels pair.
  std::set<std::string> owners;
  bool first = true;
  for (const auto& [k, v] : selector.match_labels) {
    std::set<std::string> these;
    if (const KeyCountIndex::Counts* c = pod_label_owners_.Find(LabelIndexKey(ns, k, v))) {
      for (const auto& [o, n] : *c) these.insert(*o);
    }
    if (first) {
      owners = std::move(these);
      first = false;
    } else {
      std::set<std::string> both;
      std::set_intersection(owners.begin(), owners.end(), these.begin(), these.end(),
                            std::inserter(both, both.end()));
      owners = std::move(both);
    }
  }
  if (first) {  // no matchLabels: every owner of a pod in the namespace
    for (const PodEntry& e : pods_) {
      if (e.pod.ns == ns && !e.owner.empty()) owners.insert(e.owner);
    }
  }
  for (const auto& o : owners) {
    if (out.contains(o) || !workloads_.contains(o)) continue;
    auto it = owner_pods_.find(o);
    if (it == owner_pods_.end()) continue;
    for (const PodNode* n : it->second) {
      const Pod& p = n->pod;
      if (p.ns == ns && Matches(selector, p.labels)) {
        out.insert(o);
        break;
      }
    }
  }
  return out;
}

Incremental::KeySet Incremental::TemplatesMatching(const std::string& ns,
                                                   const LabelSelector& selector) const {
  KeySet out;
  const KeyRefs* candidates = nullptr;
  for (const auto& [k, v] : selector.match_labels) {
    const KeyRefs* with = template_label_workloads_.Find(LabelIndexKey(ns, k, v));
    if (with == nullptr) return out;  // no template has that pair
    if (candidates == nullptr || with->size() < candidates->size()) candidates = with;
  }
  if (candidates == nullptr) {  // no matchLabels: every workload of the namespace is a candidate
    candidates = ns_workloads_.Find(ns);
    if (candidates == nullptr) return out;
  }
  for (const auto& k : *candidates) {
    if (Matches(selector, workloads_.at(k)->template_labels)) out.insert(k);
  }
  return out;
}

Incremental::KeySet Incremental::Overlapping(const std::string& ns,
                                             const Labels& template_labels) const {
  KeySet out;
  const KeyRefs* in_ns = ns_workloads_.Find(ns);
  if (in_ns == nullptr) return out;
  for (const auto& k : *in_ns) {
    if (Matches(EffectivePodSelector(*workloads_.at(k)), template_labels)) out.insert(k);
  }
  return out;
}

std::optional<PodOwner> Incremental::OwnerOf(const Pod& p) const {
  return ResolvePodOwner(p, [&](const std::string& key) -> const OwnerReference* {
    auto it = controlled_.find(key);
    return it == controlled_.end() ? nullptr : it->second.Controller();
  });
}

bool Incremental::Boring(const PodEntry& e) const {
  if (e.custom || e.owner.empty() || revision_selectors_ > 0) return false;
  const Workload* w = Find(workloads_, e.owner);
  if (!w || w->host_network) return false;
  return WithoutPerRevisionLabels(e.pod.labels) == w->template_labels;
}

// --- marking what to recompute ------------------------------------------------

void Incremental::Dirty(const std::string& workload_key) {
  if (dirty_all_ || dirty_workloads_.contains(workload_key)) return;
  if (const Workload* w = Find(workloads_, workload_key)) {
    dirty_workloads_.emplace(workload_key, w->key());
  }
}

void Incremental::DirtyAll(const KeySet& workload_keys) {
  for (const auto& k : workload_keys) Dirty(k);
}

void Incremental::DirtyAll(const KeyRefs* workload_keys) {
  if (workload_keys == nullptr) return;
  for (const auto& k : *workload_keys) Dirty(k);
}

void Incremental::DirtyEverything() {
  dirty_all_ = true;
  dirty_workloads_.clear();
}

void Incremental::DirtyBackends(const Service& s) {
  if (dirty_all_ || !s.selector || s.selector->empty() || s.type == "ExternalName") return;
  LabelSelector sel;
  sel.match_labels = *s.selector;
  for (const auto& k : SelectedIn(s.ns, sel)) Dirty(k);
}

void Incremental::DirtyBackends(const std::string& ns, const std::string& service) {
  if (const Service* s = Find(services_, JoinKey(ns, service))) DirtyBackends(*s);
}

void Incremental::DirtyClients(const std::string& service_key) {
  DirtyAll(clients_.Find(service_key));
}

void Incremental::DirtyNamespace(const std::string& ns) {
  DirtyAll(ns_workloads_.Find(ns));
}

void Incremental::DirtyScrapers() {
  DirtyAll(monitors_);
}

void Incremental::DirtyPodIp(const std::string& ns, const std::string& ip) {
  if (ip.empty()) return;
  DirtyAll(ip_users_.Find(JoinKey(ns, ip)));
}

// The workloads whose policies name `key`'s pods by its selector: itself,
// its servers (it is their client), the monitors of its scrape port, the
// clients naming its pods by IP.
void Incremental::DirtyPeerUsers(const std::string& key) {
  if (dirty_all_) return;
  const Workload* w = Find(workloads_, key);
  if (!w) return;
  Dirty(key);
  for (const auto& c : derived_.at(key).candidates) {
    if (const Service* s = Find(services_, c)) DirtyBackends(*s);
  }
  for (const auto& ip : derived_.at(key).pod_ips) {
    if (auto it = ip_pods_.find(ip); it != ip_pods_.end()) {
      for (const PodNode* n : it->second) Dirty(n->owner);
    }
  }
  if (derived_.at(key).scraped) DirtyAll(monitors_);
  if (auto it = owner_pods_.find(key); it != owner_pods_.end()) {
    for (const PodNode* n : it->second) {
      const Pod& p = n->pod;
      DirtyPodIp(p.ns, p.ip);
    }
  }
}

void Incremental::TouchSlice(const EndpointSlice& e) {
  const std::string service = JoinKey(e.ns, e.service_name);
  DirtyClients(service);
  if (service == "default/kubernetes") {
    DirtyAll(api_server_users_);
    for (const auto& [k, h] : hooks_) {
      for (const auto& c : h->calls) DirtyBackends(c.ns, c.service);
    }
  }
  if (!service_monitors_.empty() || !prometheuses_.empty()) DirtyScrapers();
}

void Incremental::RederiveReaders(const std::string& config_map_key) {
  const KeyRefs* found = readers_.Find(config_map_key);
  if (found == nullptr) return;
  const KeySet readers(found->begin(), found->end());  // Rederive changes readers_
  for (const auto& k : readers) Rederive(k);
}

void Incremental::RederiveSecretReaders(const std::string& secret_key) {
  const KeyRefs* found = secret_readers_.Find(secret_key);
  if (found == nullptr) return;
  const KeySet readers(found->begin(), found->end());
  for (const auto& k : readers) Rederive(k);
}

void Incremental::TouchNamespace(const std::string& ns, int delta) {
  // Its labels and annotations reach its own workloads (skip rules,
  // configured DNS, ingress-controller and monitoring peers) and its
  // default-deny; peers name namespaces by their immutable name label. A
  // Prometheus may select monitors by namespace labels: then everything.
  DirtyNamespace(ns);
  dirty_namespaces_.insert(ns);
  if (!prometheuses_.empty()) DirtyEverything();
  if (delta != 0) TouchNamespaceKnown(ns, delta);
}

void Incremental::TouchNamespaceKnown(const std::string& ns, int delta) {
  int& n = known_namespaces_[ns];
  const bool was = n > 0;
  n += delta;
  const bool is = n > 0;
  if (n <= 0) known_namespaces_.erase(ns);
  // "no Service x in namespace ns" is said only of namespaces known to exist;
  // PodMonitors with `any` look in every known namespace.
  if (was != is) {
    DirtyAll(label_users_.Find(ns));
    if (!pod_monitors_.empty()) DirtyScrapers();
  }
}

void Incremental::TouchWorkload(const Workload* before, const Derived* before_d,
                                const Workload* after, const Derived* after_d) {
  const std::pair<const Workload*, const Derived*> versions[] = {{before, before_d},
                                                                 {after, after_d}};
  // The other ends of its observed flows (allow): their peer came or went.
  for (const Workload* w : {before, after}) {
    if (!w) continue;
    auto it = observed_by_workload_.find(w->key().ToString());
    if (it == observed_by_workload_.end()) continue;
    for (const auto& ok : it->second) {
      for (const ObservedFlow& f : observed_.at(ok)) {
        Dirty(f.client.ToString());
        if (f.server) Dirty(f.server->ToString());
      }
    }
  }
  // hostNetwork pods that a configured peer selects change the rules of
  // every workload (rule 6); they are rare.
  for (const auto& [w, d] : versions) {
    if (!w || !w->host_network) continue;
    if (!gateways_.empty()) DirtyEverything();  // a Gateway's pods, by address
    for (const auto* list : {&config_.dns_peers, &config_.monitoring_peers,
                             &config_.ingress_controller_peers, &config_.openshift_router_peers}) {
      for (const PeerSelector& p : *list) {
        if (p.selects_pods() && Matches(p.pods, w->template_labels)) DirtyEverything();
      }
    }
    DirtyScrapers();
  }
  for (const auto& [w, d] : versions) {
    if (!w) continue;
    const std::string key = w->key().ToString();
    if (!dirty_all_) dirty_workloads_.emplace(key, w->key());
    dirty_namespaces_.insert(w->ns);
    if (dirty_all_) continue;
    // Its clients see its pods as backends (hostNetwork rules and warnings).
    if (auto it = ns_services_.find(w->ns); it != ns_services_.end()) {
      const std::vector<const Labels*> pod_labels =
          w == after ? PodLabelSets(key, w->ns) : std::vector<const Labels*>();
      for (const auto& [sk, s] : it->second) {
        if (ServiceSelects(*s, *w, pod_labels)) DirtyClients(sk);
      }
    }
    // Its servers see it as a client, by Service or by pod IP.
    for (const auto& c : d->candidates) {
      if (const Service* s = Find(services_, c)) DirtyBackends(*s);
    }
    for (const auto& ip : d->pod_ips) {
      if (auto it = ip_pods_.find(ip); it != ip_pods_.end()) {
        for (const PodNode* n : it->second) Dirty(n->owner);
      }
    }
    // Monitoring workloads scrape it.
    if (d->scraped) DirtyAll(monitors_);
    // Clients naming its pods by IP.
    if (auto it = owner_pods_.find(key); it != owner_pods_.end()) {
      for (const PodNode* n : it->second) {
        const Pod& p = n->pod;
        DirtyPodIp(p.ns, p.ip);
      }
    }
    // Workloads whose selectors match its template may have to narrow them
    // (rule 4), which changes every policy naming them.
    for (const auto& k : Overlapping(w->ns, w->template_labels)) DirtyPeerUsers(k);
  }
}

void Incremental::TouchService(const Service* before, const Service* after) {
  const Service& any = before ? *before : *after;
  const std::string key = JoinKey(any.ns, any.name);
  DirtyClients(key);
  if (!before || !after) {
    // Unresolved short names suggest the namespaces that have this name.
    DirtyAll(short_users_.Find(any.name));
  }
  if (before) DirtyBackends(*before);
  if (after) DirtyBackends(*after);
  // ServiceMonitors select Services by their labels; Alertmanagers by name.
  bool monitored = false;
  for (const Service* s : {before, after}) {
    if (!s) continue;
    for (const auto& [k, m] : service_monitors_) {
      monitored = monitored || (InScope(m->namespaces, m->ns, s->ns) && Matches(m->selector, s->labels));
    }
    for (const auto& [k, p] : prometheuses_) {
      for (const auto& am : p->alertmanagers) {
        monitored = monitored || (am.ns == s->ns && am.service == s->name);
      }
    }
  }
  if (monitored) DirtyScrapers();
}

void Incremental::TouchServiceMonitor(const ServiceMonitor& m) {
  DirtyScrapers();
  for (const auto& [k, s] : services_) {
    if (InScope(m.namespaces, m.ns, s->ns) && Matches(m.selector, s->labels)) DirtyBackends(*s);
  }
}

void Incremental::TouchPodMonitor(const PodMonitor& m) {
  DirtyScrapers();
  if (dirty_all_) return;
  std::set<std::string> namespaces;
  for (const auto& [n, count] : known_namespaces_) {
    if (InScope(m.namespaces, m.ns, n)) namespaces.insert(n);
  }
  for (const auto& ns : namespaces) DirtyAll(SelectedIn(ns, m.selector));
}

void Incremental::SetWorkload(const std::string& key, Ptr<Workload> next) {
  Ptr<Workload> before;
  std::optional<Derived> before_d;
  if (auto it = workloads_.find(key); it != workloads_.end()) {
    before = it->second;
    before_d = std::move(derived_.at(key));
    Unindex(key, *before_d);
    derived_.erase(key);
    workloads_.erase(it);
    ns_workloads_.Remove(before->ns, key);
    for (const auto& [k, v] : before->template_labels) {
      template_label_workloads_.Remove(LabelIndexKey(before->ns, k, v), key);
    }
    host_network_.erase(key);
  }
  std::optional<Derived> next_d;
  if (next) {
    next_d = Derive(*next);
    Index(key, *next_d);
    derived_.emplace(key, *next_d);
    workloads_.emplace(key, next);
    ns_workloads_.Add(next->ns, key);
    for (const auto& [k, v] : next->template_labels) {
      template_label_workloads_.Add(LabelIndexKey(next->ns, k, v), key);
    }
    if (next->host_network) host_network_.insert(key);
  }
  if (!before && next) TouchNamespaceKnown(next->ns, +1);
  TouchWorkload(before.get(), before_d ? &*before_d : nullptr, next.get(),
                next_d ? &*next_d : nullptr);
  if (before && !next) {
    // Listed as recomputed (gone) in the next Changes.
    if (!dirty_all_) dirty_workloads_.emplace(key, before->key());
    TouchNamespaceKnown(before->ns, -1);
  }
}

void Incremental::Rederive(const std::string& workload_key) {
  auto it = workloads_.find(workload_key);
  if (it == workloads_.end()) return;
  Ptr<Workload> w = it->second;
  Derived before = derived_.at(workload_key);
  Derived after = Derive(*w);
  Unindex(workload_key, before);
  Index(workload_key, after);
  derived_[workload_key] = after;
  TouchWorkload(w.get(), &before, w.get(), &after);
}

// --- pods -----------------------------------------------------------------------

bool Incremental::PodKey::operator<(const PodKey& o) const {
  // As "ns/name" < "o.ns/o.name": by the namespaces, except that where one
  // is a prefix of the other the '/' after it compares with the other's
  // next character.
  const size_t common = std::min(ns.size(), o.ns.size());
  if (int c = ns.substr(0, common).compare(o.ns.substr(0, common)); c != 0) return c < 0;
  if (ns.size() == o.ns.size()) return name < o.name;
  if (ns.size() < o.ns.size()) return '/' <= o.ns[common];  // equal: '/' vs '/' cannot be
  return ns[common] < '/';
}

Incremental::PodKey Incremental::PodKey::Of(const std::string& joined) {
  const size_t slash = joined.find('/');
  if (slash == std::string::npos) return PodKey{std::string_view(joined), {}};
  const std::string_view all(joined);
  return PodKey{all.substr(0, slash), all.substr(slash + 1)};
}

void Incremental::IndexPod(const PodNode& pod, int delta) {
  const PodEntry& e = pod;
  const Pod& p = e.pod;
  const PodNode* key = &pod;
  if (!e.owner.empty()) {
    if (delta > 0) {
      AddTo(owner_pods_, e.owner, key);
    } else {
      RemoveFrom(owner_pods_, e.owner, key);
    }
    for (const auto& [k, v] : p.labels) {
      pod_label_owners_.Add(LabelIndexKey(p.ns, k, v), e.owner.get(), delta);
    }
  }
  if (const std::string direct = DirectKey(p); !direct.empty()) {
    if (delta > 0) {
      AddTo(direct_pods_, direct, key);
    } else {
      RemoveFrom(direct_pods_, direct, key);
    }
  }
  if (!p.ip.empty()) {
    if (delta > 0) {
      AddTo(ip_pods_, JoinKey(p.ns, p.ip), key);
      ++pods_with_ip_;
    } else {
      RemoveFrom(ip_pods_, JoinKey(p.ns, p.ip), key);
      --pods_with_ip_;
    }
  }
}

// The custom workload `owner_key` from its pods now: added, replaced or removed.
void Incremental::RederiveCustom(const std::string& owner_key) {
  std::vector<const PodEntry*> entries;
  if (auto it = owner_pods_.find(owner_key); it != owner_pods_.end()) {
    for (const PodNode* n : it->second) {
      const PodEntry& e = *n;
      if (e.custom) entries.push_back(&e);
    }
  }
  std::sort(entries.begin(), entries.end(), [](const PodEntry* a, const PodEntry* b) {
    return std::tie(a->pod.ns, a->pod.name) < std::tie(b->pod.ns, b->pod.name);
  });
  std::vector<const Pod*> pods;
  for (const PodEntry* e : entries) pods.push_back(&e->pod);
  std::optional<OwnerReference> owner;
  Ptr<Workload> next;
  if (!pods.empty()) {
    owner = *entries.front()->custom_owner;
    std::vector<const Workload*> templates;
    if (auto it = controlled_by_owner_.find(owner_key); it != controlled_by_owner_.end()) {
      for (const auto& ck : it->second) {
        const Workload& c = *controlled_.at(ck).full;  // customs are kept whole
        if (OwnedBy(c, *owner)) templates.push_back(&c);
      }
    }
    next = std::make_shared<const Workload>(
        MakeCustomWorkload(*owner, pods.front()->ns, pods, std::move(templates)));
  }
  const Workload* before = Find(workloads_, owner_key);
  if (!before && !next) return;
  if (before && next && *before == *next) return;
  SetWorkload(owner_key, std::move(next));
}

const Pod* Incremental::FindPod(const std::string& ns, const std::string& name) const {
  auto it = pods_.find(PodKey{ns, name});
  return it == pods_.end() ? nullptr : &it->pod;
}

Pod Incremental::SharedWithSiblings(const std::string& key, const Pod& p) {
  Pod out = p;
  // The owner: its own last version's, a pod of the same ReplicaSet or Job,
  // or one of the same workload (a StatefulSet's pods differ in a label).
  std::vector<const Pod*> siblings;
  const PodKey pod_key = PodKey::Of(key);
  if (auto it = pods_.find(pod_key); it != pods_.end()) siblings.push_back(&it->pod);
  auto first_other = [&](const std::unordered_map<std::string, PodSet>& index,
                         const std::string& k) {
    auto it = index.find(k);
    if (it == index.end()) return;
    for (const PodNode* n : it->second) {
      if (n->key() == pod_key) continue;
      siblings.push_back(&n->pod);
      return;
    }
  };
  if (const std::string direct = DirectKey(p); !direct.empty()) first_other(direct_pods_, direct);
  if (std::optional<PodOwner> owner = OwnerOf(p)) first_other(owner_pods_, owner->key);
  for (const Pod* s : siblings) {
    if (!out.controller.SharesWith(s->controller) && out.controller == s->controller) {
      out.controller.ShareWith(s->controller);
      break;
    }
  }
  return out;
}

std::string Incremental::DirectKey(const Pod& p) {
  if (!p.controller || (p.controller->kind != "ReplicaSet" && p.controller->kind != "Job")) return "";
  return p.controller->kind + "/" + p.ns + "/" + p.controller->name;
}

void Incremental::SetPod(std::string key, std::optional<Pod> next) {
  std::optional<PodEntry> before;
  if (auto it = pods_.find(PodKey::Of(key)); it != pods_.end()) {
    IndexPod(*it, -1);
    before = std::move(pods_.extract(it).value());
  }
  const PodEntry* after = nullptr;  // in pods_ (its nodes do not move)
  if (next) {
    PodEntry e;
    e.pod = std::move(*next);
    if (std::optional<PodOwner> owner = OwnerOf(e.pod)) {
      e.owner = std::move(owner->key);
      // Held once per workload: shared with its last version or a sibling.
      if (before && before->owner == e.owner) {
        e.owner.ShareWith(before->owner);
      } else if (auto it = owner_pods_.find(e.owner);
                 it != owner_pods_.end() && !it->second.empty()) {
        e.owner.ShareWith((*it->second.begin())->owner);
      }
      e.custom = owner->custom.has_value();
      e.custom_owner = owner->custom;
    }
    if (e.custom_owner == e.pod.controller) e.custom_owner.ShareWith(e.pod.controller);
    pod_label_sets_.Intern(e.pod.labels);  // before the old pod's go: an equal set stays
    after = &*pods_.insert(std::move(e)).first;
    IndexPod(*after, +1);
  }
  if (before) pod_label_sets_.Release(before->pod.labels);
  // Pod DNS: clients naming the address; "pod IPs are not known" flips.
  const size_t with_ip_before = pods_with_ip_ + (before && !before->pod.ip.empty() ? 1 : 0) -
                                (after && !after->pod.ip.empty() ? 1 : 0);
  if ((with_ip_before == 0) != (pods_with_ip_ == 0)) {
    DirtyAll(label_users_.Find("pod"));
  }
  const PodEntry* const both[] = {before ? &*before : nullptr, after};
  for (const PodEntry* e : both) {
    if (!e || e->pod.ip.empty()) continue;
    DirtyPodIp(e->pod.ns, e->pod.ip);
    // Its workload is the target of those clients' pod DNS names.
    if (ip_users_.contains(JoinKey(e->pod.ns, e->pod.ip)) && !e->owner.empty()) Dirty(e->owner);
  }
  // Custom workloads are formed by all their pods.
  std::set<std::string> custom;
  for (const PodEntry* e : both) {
    if (e && e->custom) custom.insert(e->owner);
  }
  for (const auto& k : custom) RederiveCustom(k);
  // Live labels: a pod labelled other than its template may make its
  // workload a backend, a monitor's target, a Prometheus.
  const bool boring = (!before || Boring(*before)) && (!after || Boring(*after)) &&
                      (!before || !after || before->owner == after->owner);
  if (boring) return;
  for (const PodEntry* e : both) {
    if (!e || e->owner.empty()) continue;
    Dirty(e->owner);
    const Workload* w = Find(workloads_, e->owner);
    if (!w || !w->host_network) continue;
    if (auto it = ns_services_.find(e->pod.ns); it != ns_services_.end()) {
      for (const auto& [sk, s] : it->second) {
        if (SelectsLabels(*s, e->pod.labels)) DirtyClients(sk);
      }
    }
    DirtyScrapers();
  }
  if (before && after && before->pod.labels != after->pod.labels && !prometheuses_.empty()) {
    DirtyScrapers();
  }
}

// Pods run by a ReplicaSet or Job whose controller changed belong elsewhere.
void Incremental::ReresolvePods(const std::string& direct_key) {
  auto it = direct_pods_.find(direct_key);
  if (it == direct_pods_.end()) return;
  std::vector<std::string> keys;  // SetPod replaces the elements the set points to
  for (const PodNode* n : it->second) keys.push_back(JoinKey(n->key().ns, n->key().name));
  for (const auto& pk : keys) SetPod(pk, pods_.find(PodKey::Of(pk))->pod);
}

Workload Incremental::SlimWorkload(const std::string& key, const Controlled& c) {
  // key: "Kind/ns/name"
  const size_t a = key.find('/');
  const size_t b = key.find('/', a + 1);
  Workload w;
  w.kind = c.kind;
  w.ns = key.substr(a + 1, b - a - 1);
  w.name = key.substr(b + 1);
  w.uid = c.uid;
  w.has_controller = true;
  w.controller = c.controller;
  return w;
}

void Incremental::SetControlled(const std::string& key, std::optional<Controlled> next) {
  std::optional<Controlled> before;
  if (auto it = controlled_.find(key); it != controlled_.end()) before = it->second;
  auto custom_key = [&](const Controlled& kept) -> std::string {
    if (!kept.full) return "";  // kept slim: its controller is a known kind
    const Workload& c = *kept.full;
    if (!c.controller || IsKnownController(c.controller->api_version, c.controller->kind)) return "";
    Pod probe;  // the key a pod of `c` would get
    probe.ns = c.ns;
    probe.controller = c.controller;
    auto owner = ResolvePodOwner(probe, [](const std::string&) { return nullptr; });
    return owner ? owner->key : "";
  };
  std::set<std::string> customs;
  if (before) {
    if (std::string k = custom_key(*before); !k.empty()) {
      RemoveFrom(controlled_by_owner_, k, key);
      customs.insert(k);
    }
    controlled_.erase(key);
  }
  if (next) {
    if (std::string k = custom_key(*next); !k.empty()) {
      AddTo(controlled_by_owner_, k, key);
      customs.insert(k);
    }
    controlled_.insert_or_assign(key, *next);
  }
  auto controller = [](const Controlled& c) {
    const OwnerReference* o = c.Controller();
    return o ? std::optional<OwnerReference>(*o) : std::nullopt;
  };
  const bool owner_changed = !before || !next || controller(*before) != controller(*next);
  if (owner_changed) ReresolvePods(key);
  for (const auto& k : customs) RederiveCustom(k);
}

// --- objects in ---------------------------------------------------------------

bool Incremental::Upsert(const Workload& w) {
  const std::string key = w.key().ToString();
  if (w.has_controller) {
    bool changed = false;
    if (workloads_.contains(key)) {  // no longer a workload
      SetWorkload(key, nullptr);
      changed = true;
    }
    if (w.kind == WorkloadKind::kReplicaSet || w.kind == WorkloadKind::kJob) {
      // A ReplicaSet or Job of a Deployment or CronJob only leads its pods to
      // their workload: its template is never read, so it is not kept (ten
      // old revisions per Deployment add up), and changing it costs nothing.
      // Only those of an operator's resource keep theirs (rule 3).
      Controlled next;
      if (w.controller && IsKnownController(w.controller->api_version, w.controller->kind)) {
        next.kind = w.kind;
        next.uid = w.uid;
        next.controller = *w.controller;
      } else {
        next.full = std::make_shared<const Workload>(w);
      }
      if (auto it = controlled_.find(key); it != controlled_.end() && it->second == next) {
        return changed;
      }
      SetControlled(key, std::move(next));
      changed = true;
    }
    return changed;
  }
  bool changed = false;
  if (controlled_.contains(key)) {  // no longer controlled: a workload of its own
    SetControlled(key, std::nullopt);
    changed = true;
  }
  if (w.kind == WorkloadKind::kPod && pods_.contains(PodKey{w.ns, w.name})) {
    SetPod(JoinKey(w.ns, w.name), std::nullopt);  // a pod whose controller let it go
    changed = true;
  }
  if (const Workload* old = Find(workloads_, key); old && *old == w) return changed;
  SetWorkload(key, std::make_shared<const Workload>(w));
  return true;
}

bool Incremental::Remove(const WorkloadKey& workload) {
  const std::string key = workload.ToString();
  bool changed = false;
  if (controlled_.contains(key)) {
    SetControlled(key, std::nullopt);
    changed = true;
  }
  // The controller removes pods by kind "Pod", bare or not.
  if (workload.kind == WorkloadKind::kPod && pods_.contains(PodKey{workload.ns, workload.name})) {
    changed = Remove(ObjectKind::kPod, workload.ns, workload.name) || changed;
  }
  if (!workloads_.contains(key) || workload.kind == WorkloadKind::kCustom) return changed;
  SetWorkload(key, nullptr);
  return true;
}

bool Incremental::Upsert(const Pod& p) {
  const std::string key = JoinKey(p.ns, p.name);
  const bool all_before = dirty_all_;
  const size_t dirty_before = dirty_workloads_.size();
  const std::string bare = WorkloadKey{WorkloadKind::kPod, p.ns, p.name}.ToString();
  if (workloads_.contains(bare)) SetWorkload(bare, nullptr);  // no longer a bare pod
  if (auto it = pods_.find(PodKey{p.ns, p.name}); it != pods_.end() && it->pod == p) {
    return dirty_all_ != all_before || dirty_workloads_.size() != dirty_before;
  }
  SetPod(key, SharedWithSiblings(key, p));
  // A pod that changes no policy (one more pod of a known workload) is no change.
  return dirty_all_ != all_before || dirty_workloads_.size() != dirty_before;
}

bool Incremental::Upsert(const Service& s) {
  const std::string key = JoinKey(s.ns, s.name);
  Ptr<Service> before;
  if (auto it = services_.find(key); it != services_.end()) {
    if (*it->second == s) return false;
    before = it->second;
    if (NamesPerRevisionLabel(*before)) --revision_selectors_;
  }
  auto after = std::make_shared<const Service>(s);
  services_[key] = after;
  ns_services_[s.ns][key] = after.get();
  if (NamesPerRevisionLabel(s)) ++revision_selectors_;
  if (!before) {
    AddTo(services_by_name_, s.name, key);
    TouchNamespaceKnown(s.ns, +1);
  }
  TouchService(before.get(), after.get());
  return true;
}

bool Incremental::Upsert(const EndpointSlice& e) {
  const std::string key = JoinKey(e.ns, e.name);
  Ptr<EndpointSlice> before;
  if (auto it = slices_.find(key); it != slices_.end()) {
    if (*it->second == e) return false;
    before = it->second;
    RemoveFrom(slices_by_service_, JoinKey(before->ns, before->service_name), key);
  }
  slices_[key] = std::make_shared<const EndpointSlice>(e);
  AddTo(slices_by_service_, JoinKey(e.ns, e.service_name), key);
  if (before) TouchSlice(*before);
  TouchSlice(e);
  return true;
}

bool Incremental::Upsert(const Ingress& i) {
  const std::string key = JoinKey(i.ns, i.name);
  const Ingress* old = Find(ingresses_, key);
  if (old && *old == i) return false;
  if (old) {
    for (const auto& b : old->backends) DirtyBackends(old->ns, b.service_name);
  }
  ingresses_[key] = std::make_shared<const Ingress>(i);
  AddTo(ns_ingresses_, i.ns, key);
  for (const auto& b : i.backends) DirtyBackends(i.ns, b.service_name);
  return true;
}

bool Incremental::Upsert(const ConfigMap& c) {
  if (!config_.read_config_maps) return false;  // synthesis never reads them
  const std::string key = JoinKey(c.ns, c.name);
  if (const ConfigMap* old = Find(config_maps_, key); old && *old == c) return false;
  config_maps_[key] = std::make_shared<const ConfigMap>(c);
  RederiveReaders(key);
  return true;
}

bool Incremental::ReadsConfigMap(const std::string& ns, const std::string& name) const {
  const KeyRefs* readers = readers_.Find(JoinKey(ns, name));
  return readers != nullptr && !readers->empty();
}

bool Incremental::Upsert(const Secret& s) {
  if (!config_.read_secrets) return false;  // synthesis never reads them
  const std::string key = JoinKey(s.ns, s.name);
  if (const Secret* old = Find(secrets_, key); old && *old == s) return false;
  secrets_[key] = std::make_shared<const Secret>(s);
  RederiveSecretReaders(key);
  return true;
}

bool Incremental::Upsert(const Namespace& n) {
  const Namespace* old = Find(namespaces_, n.name);
  if (old && *old == n) return false;
  const bool added = !old;
  namespaces_[n.name] = std::make_shared<const Namespace>(n);
  TouchNamespace(n.name, added ? +1 : 0);
  return true;
}

bool Incremental::Upsert(const IngressClass& c) {
  if (const IngressClass* old = Find(ingress_classes_, c.name); old && *old == c) return false;
  ingress_classes_[c.name] = std::make_shared<const IngressClass>(c);
  for (const auto& [k, ing] : ingresses_) {
    for (const auto& b : ing->backends) DirtyBackends(ing->ns, b.service_name);
  }
  return true;
}

bool Incremental::Upsert(const Route& r) {
  const std::string key = JoinKey(r.ns, r.name);
  const Route* old = Find(routes_, key);
  if (old && *old == r) return false;
  if (old) {
    for (const auto& s : old->services) DirtyBackends(old->ns, s);
  }
  routes_[key] = std::make_shared<const Route>(r);
  AddTo(ns_routes_, r.ns, key);
  for (const auto& s : r.services) DirtyBackends(r.ns, s);
  return true;
}

bool Incremental::Upsert(const Gateway& g) {
  const std::string key = JoinKey(g.ns, g.name);
  if (const Gateway* old = Find(gateways_, key); old && *old == g) return false;
  gateways_[key] = std::make_shared<const Gateway>(g);
  DirtyEverything();  // its pods' skip reasons, every route through it
  return true;
}

bool Incremental::Upsert(const GatewayClass& c) {
  if (const GatewayClass* old = Find(gateway_classes_, c.name); old && *old == c) return false;
  gateway_classes_[c.name] = std::make_shared<const GatewayClass>(c);
  DirtyEverything();
  return true;
}

bool Incremental::Upsert(const GatewayRoute& r) {
  const std::string key = r.kind + "/" + JoinKey(r.ns, r.name);
  const GatewayRoute* old = Find(gateway_routes_, key);
  if (old && *old == r) return false;
  if (old) {
    for (const auto& b : old->backends) DirtyBackends(b.ns, b.name);
  }
  gateway_routes_[key] = std::make_shared<const GatewayRoute>(r);
  for (const auto& b : r.backends) DirtyBackends(b.ns, b.name);
  return true;
}

bool Incremental::Upsert(const ApiServerHook& h) {
  const std::string key = HookKey(h);
  const ApiServerHook* old = Find(hooks_, key);
  if (old && *old == h) return false;
  if (old) {
    for (const auto& c : old->calls) DirtyBackends(c.ns, c.service);
  }
  hooks_[key] = std::make_shared<const ApiServerHook>(h);
  for (const auto& c : h.calls) DirtyBackends(c.ns, c.service);
  return true;
}

bool Incremental::Upsert(const Prometheus& p) {
  const std::string key = JoinKey(p.ns, p.name);
  if (const Prometheus* old = Find(prometheuses_, key); old && *old == p) return false;
  prometheuses_[key] = std::make_shared<const Prometheus>(p);
  DirtyEverything();
  return true;
}

bool Incremental::Upsert(const ServiceMonitor& m) {
  const std::string key = JoinKey(m.ns, m.name);
  const ServiceMonitor* old = Find(service_monitors_, key);
  if (old && *old == m) return false;
  if (old) TouchServiceMonitor(*old);
  service_monitors_[key] = std::make_shared<const ServiceMonitor>(m);
  TouchServiceMonitor(m);
  return true;
}

bool Incremental::Upsert(const PodMonitor& m) {
  const std::string key = JoinKey(m.ns, m.name);
  const PodMonitor* old = Find(pod_monitors_, key);
  if (old && *old == m) return false;
  if (old) {
    if (NamesPerRevisionLabel(old->selector)) --revision_selectors_;
    TouchPodMonitor(*old);
  }
  pod_monitors_[key] = std::make_shared<const PodMonitor>(m);
  if (NamesPerRevisionLabel(m.selector)) ++revision_selectors_;
  TouchPodMonitor(m);
  return true;
}

bool Incremental::Remove(ObjectKind kind, const std::string& ns, const std::string& name) {
  const std::string key = JoinKey(ns, name);
  switch (kind) {
    case ObjectKind::kService: {
      auto it = services_.find(key);
      if (it == services_.end()) return false;
      Ptr<Service> before = it->second;
      services_.erase(it);
      if (NamesPerRevisionLabel(*before)) --revision_selectors_;
      RemoveFrom(ns_services_, ns, key);
      RemoveFrom(services_by_name_, name, key);
      TouchService(before.get(), nullptr);
      TouchNamespaceKnown(ns, -1);
      return true;
    }
    case ObjectKind::kEndpointSlice: {
      auto it = slices_.find(key);
      if (it == slices_.end()) return false;
      Ptr<EndpointSlice> before = it->second;
      slices_.erase(it);
      RemoveFrom(slices_by_service_, JoinKey(before->ns, before->service_name), key);
      TouchSlice(*before);
      return true;
    }
    case ObjectKind::kIngress: {
      auto it = ingresses_.find(key);
      if (it == ingresses_.end()) return false;
      Ptr<Ingress> before = it->second;
      ingresses_.erase(it);
      RemoveFrom(ns_ingresses_, ns, key);
      for (const auto& b : before->backends) DirtyBackends(before->ns, b.service_name);
      return true;
    }
    case ObjectKind::kConfigMap: {
      if (config_maps_.erase(key) == 0) return false;
      RederiveReaders(key);
      return true;
    }
    case ObjectKind::kSecret: {
      if (secrets_.erase(key) == 0) return false;
      RederiveSecretReaders(key);
      return true;
    }
    case ObjectKind::kNamespace: {
      if (namespaces_.erase(name) == 0) return false;
      TouchNamespace(name, -1);
      return true;
    }
    case ObjectKind::kPod: {
      if (!pods_.contains(PodKey::Of(key))) return false;
      const bool all_before = dirty_all_;
      const size_t dirty_before = dirty_workloads_.size();
      SetPod(key, std::nullopt);
      return dirty_all_ != all_before || dirty_workloads_.size() != dirty_before;
    }
    case ObjectKind::kIngressClass: {
      if (ingress_classes_.erase(name) == 0) return false;
      for (const auto& [k, ing] : ingresses_) {
        for (const auto& b : ing->backends) DirtyBackends(ing->ns, b.service_name);
      }
      return true;
    }
    case ObjectKind::kRoute: {
      auto it = routes_.find(key);
      if (it == routes_.end()) return false;
      Ptr<Route> before = it->second;
      routes_.erase(it);
      RemoveFrom(ns_routes_, ns, key);
      for (const auto& s : before->services) DirtyBackends(before->ns, s);
      return true;
    }
    case ObjectKind::kGateway: {
      if (gateways_.erase(key) == 0) return false;
      DirtyEverything();
      return true;
    }
    case ObjectKind::kGatewayClass: {
      if (gateway_classes_.erase(name) == 0) return false;
      DirtyEverything();
      return true;
    }
    case ObjectKind::kHTTPRoute:
    case ObjectKind::kGRPCRoute:
    case ObjectKind::kTLSRoute:
    case ObjectKind::kTCPRoute:
    case ObjectKind::kUDPRoute: {
      static const std::map<ObjectKind, std::string> kNames = {
          {ObjectKind::kHTTPRoute, "HTTPRoute"}, {ObjectKind::kGRPCRoute, "GRPCRoute"},
          {ObjectKind::kTLSRoute, "TLSRoute"},   {ObjectKind::kTCPRoute, "TCPRoute"},
          {ObjectKind::kUDPRoute, "UDPRoute"}};
      const std::string rkey = kNames.at(kind) + "/" + key;
      auto it = gateway_routes_.find(rkey);
      if (it == gateway_routes_.end()) return false;
      Ptr<GatewayRoute> before = it->second;
      gateway_routes_.erase(it);
      for (const auto& b : before->backends) DirtyBackends(b.ns, b.name);
      return true;
    }
    case ObjectKind::kValidatingWebhookConfiguration:
    case ObjectKind::kMutatingWebhookConfiguration:
    case ObjectKind::kAPIService:
    case ObjectKind::kCustomResourceDefinition: {
      static const std::map<ObjectKind, ApiServerHook::Kind> kKinds = {
          {ObjectKind::kValidatingWebhookConfiguration,
           ApiServerHook::Kind::kValidatingWebhookConfiguration},
          {ObjectKind::kMutatingWebhookConfiguration,
           ApiServerHook::Kind::kMutatingWebhookConfiguration},
          {ObjectKind::kAPIService, ApiServerHook::Kind::kAPIService},
          {ObjectKind::kCustomResourceDefinition, ApiServerHook::Kind::kCustomResourceDefinition}};
      ApiServerHook probe;
      probe.kind = kKinds.at(kind);
      probe.name = name;
      auto it = hooks_.find(HookKey(probe));
      if (it == hooks_.end()) return false;
      Ptr<ApiServerHook> before = it->second;
      hooks_.erase(it);
      for (const auto& c : before->calls) DirtyBackends(c.ns, c.service);
      return true;
    }
    case ObjectKind::kPrometheus: {
      if (prometheuses_.erase(key) == 0) return false;
      DirtyEverything();
      return true;
    }
    case ObjectKind::kServiceMonitor: {
      auto it = service_monitors_.find(key);
      if (it == service_monitors_.end()) return false;
      Ptr<ServiceMonitor> before = it->second;
      service_monitors_.erase(it);
      TouchServiceMonitor(*before);
      return true;
    }
    case ObjectKind::kPodMonitor: {
      auto it = pod_monitors_.find(key);
      if (it == pod_monitors_.end()) return false;
      Ptr<PodMonitor> before = it->second;
      pod_monitors_.erase(it);
      if (NamesPerRevisionLabel(before->selector)) --revision_selectors_;
      TouchPodMonitor(*before);
      return true;
    }
  }
  return false;
}

// --- recompute ----------------------------------------------------------------

bool Incremental::pending() const {
  return dirty_all_ || !dirty_workloads_.empty() || !dirty_namespaces_.empty();
}

Snapshot Incremental::Neighbourhood(const std::map<std::string, WorkloadKey>& workloads) const {
  std::set<std::string> wl, svc, slices, ings, routes, cms, secrets, controlled;
  std::set<const PodNode*, ByPodKey> pods;
  std::set<std::string> observed;  // ObservedFlows objects
  auto add_slices = [&](const std::string& service) {
    if (auto it = slices_by_service_.find(service); it != slices_by_service_.end()) {
      slices.insert(it->second.begin(), it->second.end());
    }
  };
  auto add_workload = [&](const std::string& k) {
    if (!wl.insert(k).second) return;
    const Derived& d = derived_.at(k);
    for (const auto& c : d.config_maps) {
      if (config_maps_.contains(c)) cms.insert(c);
    }
    for (const auto& c : d.secrets) {
      if (secrets_.contains(c)) secrets.insert(c);
    }
  };
  // A workload used as a peer: its selector may be narrowed by the
  // templates its selector matches (rule 4).
  auto add_peer = [&](const std::string& k) {
    add_workload(k);
    const Workload& w = *workloads_.at(k);
    for (const auto& o : TemplatesMatching(w.ns, EffectivePodSelector(w))) add_workload(o);
  };
  auto add_service = [&](const std::string& sk) {
    if (!svc.insert(sk).second) return;
    add_slices(sk);
  };
  auto add_backends = [&](const Service& s) {
    if (!s.selector || s.selector->empty() || s.type == "ExternalName") return;
    LabelSelector sel;
    sel.match_labels = *s.selector;
    for (const auto& b : SelectedIn(s.ns, sel)) add_workload(b);
  };
  auto add_pod_ip = [&](const std::string& ns_ip) {
    auto it = ip_pods_.find(ns_ip);
    if (it == ip_pods_.end()) return;
    for (const PodNode* n : it->second) {
      const PodEntry& e = *n;
      pods.insert(n);
      if (!e.owner.empty() && workloads_.contains(e.owner)) add_peer(e.owner);
    }
  };
  for (const auto& [k, key] : workloads) {
    const Workload* w = Find(workloads_, k);
    if (!w) continue;
    const Derived& d = derived_.at(k);
    add_peer(k);
    // Services it may name, the pods they select and their endpoints.
    for (const auto& c : d.candidates) {
      const Service* s = Find(services_, c);
      if (!s) continue;
      add_service(c);
      add_backends(*s);
    }
    // A short name reaches its own namespace's Service only; Services of that
    // name elsewhere only word the "did you mean" when there is none
    // (ClusterIndex::ResolveHost), and the candidates above hold that one.
    for (const auto& n : d.short_names) {
      if (services_.contains(JoinKey(w->ns, n))) continue;
      if (auto it = services_by_name_.find(n); it != services_by_name_.end()) {
        for (const auto& sk : it->second) add_service(sk);
      }
    }
    // Pods it names by IP.
    for (const auto& ip : d.pod_ips) add_pod_ip(ip);
    // Services selecting it (template or pods) and their clients.
    if (auto it = ns_services_.find(w->ns); it != ns_services_.end()) {
      const std::vector<const Labels*> pod_labels = PodLabelSets(k, w->ns);
      for (const auto& [sk, s] : it->second) {
        if (!ServiceSelects(*s, *w, pod_labels)) continue;
        add_service(sk);
        if (const KeyRefs* c = clients_.Find(sk)) {
          for (const auto& ck : *c) add_peer(ck);
        }
      }
    }
    // Clients naming its pods by IP.
    if (auto it = owner_pods_.find(k); it != owner_pods_.end()) {
      for (const PodNode* n : it->second) {
        const Pod& p = n->pod;
        if (p.ip.empty()) continue;
        if (const KeyRefs* u = ip_users_.Find(JoinKey(p.ns, p.ip))) {
          for (const auto& ck : *u) add_peer(ck);
        }
      }
    }
    // Observed flows from or to it (allow): the other end is a peer.
    if (auto it = observed_by_workload_.find(k); it != observed_by_workload_.end()) {
      for (const auto& ok : it->second) {
        observed.insert(ok);
        for (const ObservedFlow& f : observed_.at(ok)) {
          const std::string c = f.client.ToString();
          if (workloads_.contains(c)) add_peer(c);
          if (f.server && workloads_.contains(f.server->ToString())) {
            add_peer(f.server->ToString());
          }
        }
      }
    }
    if (auto it = ns_ingresses_.find(w->ns); it != ns_ingresses_.end()) {
      ings.insert(it->second.begin(), it->second.end());
    }
    if (auto it = ns_routes_.find(w->ns); it != ns_routes_.end()) {
      routes.insert(it->second.begin(), it->second.end());
    }
    if (d.monitor) {
      for (const auto& t : scraped_) add_peer(t);
      // What its monitors select: Services (their endpoints, for
      // selector-less ones) and Alertmanagers.
      for (const auto& [mk, m] : service_monitors_) {
        for (const auto& [sk, s] : services_) {
          if (InScope(m->namespaces, m->ns, s->ns) && Matches(m->selector, s->labels)) {
            add_service(sk);
          }
        }
      }
      for (const auto& [pk, p] : prometheuses_) {
        for (const auto& am : p->alertmanagers) {
          if (services_.contains(JoinKey(am.ns, am.service))) add_service(JoinKey(am.ns, am.service));
        }
      }
    }
  }
  add_slices("default/kubernetes");
  // Services the API server calls (rule 1): their selectors decide backends.
  for (const auto& [hk, h] : hooks_) {
    for (const auto& c : h->calls) {
      if (services_.contains(JoinKey(c.ns, c.service))) add_service(JoinKey(c.ns, c.service));
    }
  }
  // hostNetwork workloads change rules wherever a peer or target matches them.
  for (const auto& k : host_network_) add_workload(k);
  // "pod IPs are not known" depends on whether any pod has one.
  if (pods_with_ip_ > 0) {
    bool any = false;
    for (const auto& k : wl) {
      if (auto it = owner_pods_.find(k); it != owner_pods_.end()) {
        for (const PodNode* n : it->second) any = any || !n->pod.ip.empty();
      }
    }
    for (const auto& [ip, keys] : ip_pods_) {
      if (any) break;
      for (const PodNode* n : keys) {
        const PodEntry& e = *n;
        pods.insert(n);
        if (!e.owner.empty() && workloads_.contains(e.owner)) add_workload(e.owner);
        any = true;
        break;
      }
    }
  }
  // Every pod of every workload included, and who runs them.
  for (const auto& k : wl) {
    if (auto it = owner_pods_.find(k); it != owner_pods_.end()) {
      pods.insert(it->second.begin(), it->second.end());
    }
    if (auto it = controlled_by_owner_.find(k); it != controlled_by_owner_.end()) {
      controlled.insert(it->second.begin(), it->second.end());
    }
  }
  for (const PodNode* n : pods) {
    const std::string direct = DirectKey(n->pod);
    if (!direct.empty() && controlled_.contains(direct)) controlled.insert(direct);
  }

  Snapshot snap;
  // The objects are lent, not copied: they are immutable and shared, and
  // live in this Incremental at least as long as the snapshot is used.
  snap.workload_refs.reserve(wl.size() + controlled.size());
  for (const auto& k : wl) {
    const Workload& w = *workloads_.at(k);
    if (w.kind != WorkloadKind::kCustom) snap.workload_refs.push_back(&w);  // formed from pods
  }
  for (const auto& k : controlled) {
    const Controlled& c = controlled_.at(k);
    if (c.full) {
      snap.workload_refs.push_back(c.full.get());
    } else {
      snap.workloads.push_back(SlimWorkload(k, c));
    }
  }
  snap.pod_refs.reserve(pods.size());
  for (const PodNode* n : pods) snap.pod_refs.push_back(&n->pod);
  snap.service_refs.reserve(svc.size());
  for (const auto& k : svc) snap.service_refs.push_back(services_.at(k).get());
  for (const auto& k : slices) snap.endpoint_slices.push_back(*slices_.at(k));
  for (const auto& k : ings) snap.ingresses.push_back(*ingresses_.at(k));
  for (const auto& k : routes) snap.routes.push_back(*routes_.at(k));
  for (const auto& k : cms) snap.config_map_refs.push_back(config_maps_.at(k).get());
  for (const auto& k : secrets) snap.secrets.push_back(*secrets_.at(k));
  for (const auto& [k, v] : ingress_classes_) snap.ingress_classes.push_back(*v);
  for (const auto& [k, v] : gateways_) snap.gateways.push_back(*v);
  for (const auto& [k, v] : gateway_classes_) snap.gateway_classes.push_back(*v);
  for (const auto& [k, v] : gateway_routes_) snap.gateway_routes.push_back(*v);
  for (const auto& [k, v] : hooks_) snap.api_server_hooks.push_back(*v);
  for (const auto& [k, v] : prometheuses_) snap.prometheuses.push_back(*v);
  for (const auto& [k, v] : service_monitors_) snap.service_monitors.push_back(*v);
  for (const auto& [k, v] : pod_monitors_) snap.pod_monitors.push_back(*v);
  for (const auto& k : observed) {
    const auto& flows = observed_.at(k);
    snap.observed_flows.insert(snap.observed_flows.end(), flows.begin(), flows.end());
  }
  snap.namespace_refs.reserve(namespaces_.size());
  for (const auto& [n, o] : namespaces_) snap.namespace_refs.push_back(o.get());
  for (const auto& [n, count] : known_namespaces_) {
    // Namespaces known only from what is in them (ClusterIndex counts these too).
    if (!namespaces_.contains(n)) snap.namespaces.push_back(Namespace{n, {}, {}});
  }
  return snap;
}

bool Incremental::UpsertObserved(const std::string& object_key,
                                 const std::vector<ObservedFlow>& flows) {
  std::vector<ObservedFlow> kept;
  for (const ObservedFlow& f : flows) {
    if (ObservedAllowed(f, config_)) kept.push_back(f);
  }
  auto it = observed_.find(object_key);
  if (it == observed_.end() ? kept.empty() : it->second == kept) return false;
  if (it != observed_.end()) RemoveObserved(object_key);
  if (kept.empty()) return true;
  for (const ObservedFlow& f : kept) {
    for (const std::string& k :
         {f.client.ToString(), f.server ? f.server->ToString() : std::string()}) {
      if (k.empty()) continue;
      observed_by_workload_[k].insert(object_key);
      Dirty(k);
    }
  }
  observed_[object_key] = std::move(kept);
  return true;
}

bool Incremental::RemoveObserved(const std::string& object_key) {
  auto it = observed_.find(object_key);
  if (it == observed_.end()) return false;
  for (const ObservedFlow& f : it->second) {
    for (const std::string& k :
         {f.client.ToString(), f.server ? f.server->ToString() : std::string()}) {
      if (k.empty()) continue;
      Dirty(k);
      if (auto u = observed_by_workload_.find(k); u != observed_by_workload_.end()) {
        u->second.erase(object_key);
        if (u->second.empty()) observed_by_workload_.erase(u);
      }
    }
  }
  observed_.erase(it);
  return true;
}

std::vector<WouldDeny> Incremental::Judge(const std::vector<ObservedFlow>& flows) const {
  if (config_.observed_flows == ObservedFlowsMode::kOff || flows.empty()) return {};
  std::map<std::string, WorkloadKey> ends;
  for (const ObservedFlow& f : flows) {
    ends.emplace(f.client.ToString(), f.client);
    if (f.server) ends.emplace(f.server->ToString(), *f.server);
  }
  const Snapshot snap = Neighbourhood(ends);
  const ClusterIndex index(snap, config_);
  std::map<std::string, std::vector<NetworkPolicy>> by_ns;
  for (const auto& [k, key] : ends) {
    const Workload* w = index.FindWorkload(key);
    if (!w || index.SkipReason(*w)) continue;
    by_ns[w->ns].push_back(ComputePolicy(index, *w).policy);
  }
  return JudgeObservedFlows(index, flows, [&](const std::string& ns) {
    std::vector<const NetworkPolicy*> out;
    if (auto it = by_ns.find(ns); it != by_ns.end()) {
      for (const NetworkPolicy& p : it->second) out.push_back(&p);
    }
    return out;
  });
}

std::optional<NetworkPolicy> Incremental::Policy(const WorkloadKey& workload) const {
  const std::string k = workload.ToString();
  if (!workloads_.contains(k)) return std::nullopt;
  const Snapshot snap = Neighbourhood({{k, workload}});
  const ClusterIndex index(snap, config_);
  const Workload* w = index.FindWorkload(workload);
  if (!w || index.SkipReason(*w)) return std::nullopt;
  return ComputePolicy(index, *w).policy;
}

Incremental::NeighbourhoodSize Incremental::PolicyNeighbourhoodSize(
    const WorkloadKey& workload) const {
  const Snapshot snap = Neighbourhood({{workload.ToString(), workload}});
  return {snap.workload_refs.size() + snap.workloads.size(),
          snap.pod_refs.size() + snap.pods.size(),
          snap.service_refs.size() + snap.services.size(), snap.endpoint_slices.size()};
}

Changes Incremental::Recompute(const PolicyHook& take) {
  Changes changes;
  changes.full = dirty_all_;
  std::map<std::string, WorkloadKey> todo;
  std::set<std::string> namespaces;
  if (dirty_all_) {
    for (const auto& [k, w] : workloads_) todo.emplace(k, w->key());
    for (const auto& [k, o] : outcomes_) todo.emplace(k, o.key);  // gone since
    for (const auto& [n, o] : namespaces_) namespaces.insert(n);
    for (const auto& [n, o] : ns_workloads_) namespaces.insert(n);
    namespaces.insert(default_deny_.begin(), default_deny_.end());
  } else {
    todo = std::move(dirty_workloads_);
    namespaces = std::move(dirty_namespaces_);
  }
  dirty_workloads_.clear();
  dirty_namespaces_.clear();
  dirty_all_ = false;

  // In batches, each synthesized over its own neighbourhood (the objects an
  // incremental recompute reads): no index of the whole cluster is ever
  // built, even on the first recompute, where its pods, edges and selectors
  // were the controller's memory peak at start-up.
  Result& r = changes.result;
  std::map<std::string, WorkloadKey> batch;
  auto synthesize_batch = [&] {
    if (batch.empty()) return;
    const Snapshot snap = Neighbourhood(batch);
    const ClusterIndex index(snap, config_);
    for (const auto& [k, key] : batch) {
      changes.workloads.push_back(key);
      if (auto it = outcomes_.find(k); it != outcomes_.end()) {
        if (!it->second.skip_reason) managed_--;
        unresolved_total_ -= it->second.unresolved;
        outcomes_.erase(it);
      }
      const Workload* w = workloads_.contains(k) ? index.FindWorkload(key) : nullptr;
      if (!w) continue;
      Outcome o;
      o.key = key;
      o.host_network = w->host_network;
      o.skip_reason = index.SkipReason(*w);
      const auto& unresolved = index.UnresolvedOf(*w);
      o.unresolved = unresolved.size();
      r.unresolved.insert(r.unresolved.end(), unresolved.begin(), unresolved.end());
      if (o.skip_reason) {
        r.skipped.push_back(Skipped{key, *o.skip_reason});
      } else {
        WorkloadPolicy wp = ComputePolicy(index, *w, &r.warnings);
        if (!reasons_) {
          wp.ingress_reasons = {};
          wp.egress_reasons = {};
        }
        if (take) {
          take(std::move(wp));
        } else {
          r.policies.push_back(std::move(wp));
        }
        managed_++;
      }
      unresolved_total_ += o.unresolved;
      outcomes_.emplace(k, std::move(o));
    }
    batch.clear();
  };
  for (auto& [k, key] : todo) {
    batch.emplace(k, std::move(key));
    if (batch.size() >= batch_size_) synthesize_batch();
  }
  synthesize_batch();

  for (const auto& ns : namespaces) {
    changes.namespaces.push_back(ns);
    std::vector<NamespaceWorkload> in_ns;
    const KeyRefs* in = ns_workloads_.Find(ns);
    if (in != nullptr) {
      for (const auto& k : *in) {
        const Outcome& o = outcomes_.at(k);
        in_ns.push_back(NamespaceWorkload{workloads_.at(k)->key(), o.skip_reason, o.host_network});
      }
    }
    DefaultDenyDecision d;
    if (in != nullptr || namespaces_.contains(ns)) {
      d = DecideDefaultDeny(ns, Find(namespaces_, ns), config_, in_ns);
    }
    if (d.policy) {
      r.default_deny.push_back(std::move(*d.policy));
      default_deny_.insert(ns);
    } else {
      default_deny_.erase(ns);
    }
    r.warnings.insert(r.warnings.end(), d.warnings.begin(), d.warnings.end());
  }

  std::sort(changes.workloads.begin(), changes.workloads.end());
  std::sort(r.policies.begin(), r.policies.end(),
            [](const WorkloadPolicy& a, const WorkloadPolicy& b) {
              return std::tie(a.policy.ns, a.policy.name) < std::tie(b.policy.ns, b.policy.name);
            });
  std::sort(r.skipped.begin(), r.skipped.end(),
            [](const Skipped& a, const Skipped& b) { return a.workload < b.workload; });
  std::sort(r.unresolved.begin(), r.unresolved.end(), UnresolvedLess);
  SortWarnings(r.warnings);
  return changes;
}

const Namespace* Incremental::FindNamespace(const std::string& name) const {
  return Find(namespaces_, name);
}

}  // namespace npc::synth
