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

// True when Service `s` selects the pods of `w` (as ClusterIndex decides backends).
bool Selects(const Service& s, const Workload& w) {
  if (!s.selector || s.selector->empty() || s.type == "ExternalName" || s.ns != w.ns) return false;
  for (const auto& [k, v] : *s.selector) {
    auto it = w.template_labels.find(k);
    if (it == w.template_labels.end() || it->second != v) return false;
  }
  return true;
}

template <typename Map>
typename Map::mapped_type::element_type const* Find(const Map& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? nullptr : it->second.get();
}

template <typename Map>
void AddTo(Map& index, const std::string& at, const std::string& key) {
  index[at].insert(key);
}

template <typename Map>
void RemoveFrom(Map& index, const std::string& at, const std::string& key) {
  auto it = index.find(at);
  if (it == index.end()) return;
  it->second.erase(key);
  if (it->second.empty()) index.erase(it);
}

}  // namespace

Incremental::Incremental(SynthesisConfig config, bool reasons)
    : config_(std::move(config)), reasons_(reasons) {}
Incremental::~Incremental() = default;

// --- what a workload's policy depends on --------------------------------------

Incremental::Derived Incremental::Derive(const Workload& w) const {
  Derived d;
  if (config_.read_config_maps) {
    for (const std::string& name : ConfigMapsRead(w)) d.config_maps.push_back(JoinKey(w.ns, name));
  }
  VisitTemplateValues(
      w,
      [&](const std::string& name) -> const ConfigMap* {
        if (!config_.read_config_maps || name.empty()) return nullptr;
        return Find(config_maps_, JoinKey(w.ns, name));
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
        }
      });
  SortUnique(d.candidates);
  SortUnique(d.short_names);
  SortUnique(d.labels);
  // Over-approximations are safe: they only recompute more.
  d.scraped = w.template_annotations.contains("prometheus.io/scrape");
  for (const PeerSelector& p : config_.monitoring_peers) {
    if (Matches(p.pods, w.template_labels)) d.monitor = true;
  }
  d.api_server = w.annotations.contains(std::string(kAllowApiServerAnnotation)) ||
                 w.template_annotations.contains(std::string(kAllowApiServerAnnotation));
  return d;
}

void Incremental::Index(const std::string& key, const Derived& d) {
  for (const auto& c : d.candidates) AddTo(clients_, c, key);
  for (const auto& n : d.short_names) AddTo(short_users_, n, key);
  for (const auto& l : d.labels) AddTo(label_users_, l, key);
  for (const auto& c : d.config_maps) AddTo(readers_, c, key);
  if (d.scraped) scraped_.insert(key);
  if (d.monitor) monitors_.insert(key);
  if (d.api_server) api_server_users_.insert(key);
}

void Incremental::Unindex(const std::string& key, const Derived& d) {
  for (const auto& c : d.candidates) RemoveFrom(clients_, c, key);
  for (const auto& n : d.short_names) RemoveFrom(short_users_, n, key);
  for (const auto& l : d.labels) RemoveFrom(label_users_, l, key);
  for (const auto& c : d.config_maps) RemoveFrom(readers_, c, key);
  scraped_.erase(key);
  monitors_.erase(key);
  api_server_users_.erase(key);
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

void Incremental::DirtyBackends(const Service& s) {
  auto it = ns_workloads_.find(s.ns);
  if (it == ns_workloads_.end()) return;
  for (const auto& k : it->second) {
    if (Selects(s, *workloads_.at(k))) Dirty(k);
  }
}

void Incremental::DirtyClients(const std::string& service_key) {
  if (auto it = clients_.find(service_key); it != clients_.end()) DirtyAll(it->second);
}

void Incremental::DirtyNamespace(const std::string& ns) {
  if (auto it = ns_workloads_.find(ns); it != ns_workloads_.end()) DirtyAll(it->second);
}

void Incremental::TouchSlice(const EndpointSlice& e) {
  const std::string service = JoinKey(e.ns, e.service_name);
  DirtyClients(service);
  if (service == "default/kubernetes") DirtyAll(api_server_users_);
}

void Incremental::RederiveReaders(const std::string& config_map_key) {
  auto it = readers_.find(config_map_key);
  if (it == readers_.end()) return;
  const KeySet readers = it->second;  // Rederive changes readers_
  for (const auto& k : readers) Rederive(k);
}

void Incremental::TouchNamespace(const std::string& ns, int delta) {
  // Its labels and annotations reach only its own workloads (skip rules,
  // configured DNS, ingress-controller and monitoring peers) and its
  // default-deny; peers name namespaces by their immutable name label.
  DirtyNamespace(ns);
  dirty_namespaces_.insert(ns);
  if (delta != 0) TouchNamespaceKnown(ns, delta);
}

void Incremental::TouchNamespaceKnown(const std::string& ns, int delta) {
  int& n = known_namespaces_[ns];
  const bool was = n > 0;
  n += delta;
  const bool is = n > 0;
  if (n <= 0) known_namespaces_.erase(ns);
  // "no Service x in namespace ns" is said only of namespaces known to exist.
  if (was != is) {
    if (auto it = label_users_.find(ns); it != label_users_.end()) DirtyAll(it->second);
  }
}

void Incremental::TouchWorkload(const Workload* before, const Derived* before_d,
                                const Workload* after, const Derived* after_d) {
  const std::pair<const Workload*, const Derived*> versions[] = {{before, before_d},
                                                                 {after, after_d}};
  for (const auto& [w, d] : versions) {
    if (!w) continue;
    const std::string key = w->key().ToString();
    if (!dirty_all_) dirty_workloads_.emplace(key, w->key());
    dirty_namespaces_.insert(w->ns);
    if (dirty_all_) continue;
    // Its clients see its pods as backends (peers, hostNetwork warnings).
    if (auto it = ns_services_.find(w->ns); it != ns_services_.end()) {
      for (const auto& sk : it->second) {
        if (Selects(*services_.at(sk), *w)) DirtyClients(sk);
      }
    }
    // Its servers see it as a client.
    for (const auto& c : d->candidates) {
      if (const Service* s = Find(services_, c)) DirtyBackends(*s);
    }
    // Monitoring workloads scrape it.
    if (d->scraped) DirtyAll(monitors_);
  }
}

void Incremental::TouchService(const Service* before, const Service* after) {
  const Service& any = before ? *before : *after;
  const std::string key = JoinKey(any.ns, any.name);
  DirtyClients(key);
  if (!before || !after) {
    // Unresolved short names suggest the namespaces that have this name.
    if (auto it = short_users_.find(any.name); it != short_users_.end()) DirtyAll(it->second);
  }
  if (before) DirtyBackends(*before);
  if (after) DirtyBackends(*after);
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
    RemoveFrom(ns_workloads_, before->ns, key);
  }
  std::optional<Derived> next_d;
  if (next) {
    next_d = Derive(*next);
    Index(key, *next_d);
    derived_.emplace(key, *next_d);
    workloads_.emplace(key, next);
    AddTo(ns_workloads_, next->ns, key);
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

// --- objects in ---------------------------------------------------------------

bool Incremental::Upsert(const Workload& w) {
  if (w.has_controller) return Remove(w.key());
  const std::string key = w.key().ToString();
  if (const Workload* old = Find(workloads_, key); old && *old == w) return false;
  SetWorkload(key, std::make_shared<const Workload>(w));
  return true;
}

bool Incremental::Remove(const WorkloadKey& workload) {
  const std::string key = workload.ToString();
  if (!workloads_.contains(key)) return false;
  SetWorkload(key, nullptr);
  return true;
}

bool Incremental::Upsert(const Service& s) {
  const std::string key = JoinKey(s.ns, s.name);
  Ptr<Service> before;
  if (auto it = services_.find(key); it != services_.end()) {
    if (*it->second == s) return false;
    before = it->second;
  }
  auto after = std::make_shared<const Service>(s);
  services_[key] = after;
  if (!before) {
    AddTo(ns_services_, s.ns, key);
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
  if (const Ingress* old = Find(ingresses_, key); old && *old == i) return false;
  ingresses_[key] = std::make_shared<const Ingress>(i);
  AddTo(ns_ingresses_, i.ns, key);
  DirtyNamespace(i.ns);
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

bool Incremental::Upsert(const Namespace& n) {
  const Namespace* old = Find(namespaces_, n.name);
  if (old && *old == n) return false;
  const bool added = !old;
  namespaces_[n.name] = std::make_shared<const Namespace>(n);
  TouchNamespace(n.name, added ? +1 : 0);
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
      if (ingresses_.erase(key) == 0) return false;
      RemoveFrom(ns_ingresses_, ns, key);
      DirtyNamespace(ns);
      return true;
    }
    case ObjectKind::kConfigMap: {
      if (config_maps_.erase(key) == 0) return false;
      RederiveReaders(key);
      return true;
    }
    case ObjectKind::kNamespace: {
      if (namespaces_.erase(name) == 0) return false;
      TouchNamespace(name, -1);
      return true;
    }
  }
  return false;
}

// --- recompute ----------------------------------------------------------------

bool Incremental::pending() const {
  return dirty_all_ || !dirty_workloads_.empty() || !dirty_namespaces_.empty();
}

Snapshot Incremental::Neighbourhood(const std::map<std::string, WorkloadKey>& workloads,
                                    bool everything) const {
  std::set<std::string> wl, svc, slices, ings, cms;
  auto add_slices = [&](const std::string& service) {
    if (auto it = slices_by_service_.find(service); it != slices_by_service_.end()) {
      slices.insert(it->second.begin(), it->second.end());
    }
  };
  auto add_reader = [&](const std::string& k) {
    wl.insert(k);
    for (const auto& c : derived_.at(k).config_maps) {
      if (config_maps_.contains(c)) cms.insert(c);
    }
  };
  if (everything) {
    for (const auto& [k, v] : workloads_) wl.insert(k);
    for (const auto& [k, v] : services_) svc.insert(k);
    for (const auto& [k, v] : slices_) slices.insert(k);
    for (const auto& [k, v] : ingresses_) ings.insert(k);
    for (const auto& [k, v] : config_maps_) cms.insert(k);
  } else {
    for (const auto& [k, key] : workloads) {
      const Workload* w = Find(workloads_, k);
      if (!w) continue;
      const Derived& d = derived_.at(k);
      add_reader(k);
      // Services it may name, their backends and endpoints.
      for (const auto& c : d.candidates) {
        const Service* s = Find(services_, c);
        if (!s) continue;
        svc.insert(c);
        add_slices(c);
        if (auto it = ns_workloads_.find(s->ns); it != ns_workloads_.end()) {
          for (const auto& b : it->second) {
            if (Selects(*s, *workloads_.at(b))) wl.insert(b);
          }
        }
      }
      for (const auto& n : d.short_names) {
        if (auto it = services_by_name_.find(n); it != services_by_name_.end()) {
          svc.insert(it->second.begin(), it->second.end());
        }
      }
      // Services selecting it and their clients.
      if (auto it = ns_services_.find(w->ns); it != ns_services_.end()) {
        for (const auto& sk : it->second) {
          if (!Selects(*services_.at(sk), *w)) continue;
          svc.insert(sk);
          if (auto c = clients_.find(sk); c != clients_.end()) {
            for (const auto& ck : c->second) add_reader(ck);
          }
        }
      }
      if (auto it = ns_ingresses_.find(w->ns); it != ns_ingresses_.end()) {
        ings.insert(it->second.begin(), it->second.end());
      }
      if (d.monitor) wl.insert(scraped_.begin(), scraped_.end());
    }
    add_slices("default/kubernetes");
  }

  Snapshot snap;
  snap.workloads.reserve(wl.size());
  for (const auto& k : wl) snap.workloads.push_back(*workloads_.at(k));
  for (const auto& k : svc) snap.services.push_back(*services_.at(k));
  for (const auto& k : slices) snap.endpoint_slices.push_back(*slices_.at(k));
  for (const auto& k : ings) snap.ingresses.push_back(*ingresses_.at(k));
  for (const auto& k : cms) snap.config_maps.push_back(*config_maps_.at(k));
  for (const auto& [n, o] : namespaces_) snap.namespaces.push_back(*o);
  for (const auto& [n, count] : known_namespaces_) {
    // Namespaces known only from what is in them (ClusterIndex counts these too).
    if (!namespaces_.contains(n)) snap.namespaces.push_back(Namespace{n, {}, {}});
  }

  return snap;
}

std::optional<NetworkPolicy> Incremental::Policy(const WorkloadKey& workload) const {
  const std::string k = workload.ToString();
  if (!workloads_.contains(k)) return std::nullopt;
  const Snapshot snap = Neighbourhood({{k, workload}}, false);
  const ClusterIndex index(snap, config_);
  const Workload* w = index.FindWorkload(workload);
  if (!w || index.SkipReason(*w)) return std::nullopt;
  return ComputePolicy(index, *w).policy;
}

Changes Incremental::Recompute() {
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

  const Snapshot snap = Neighbourhood(todo, changes.full);
  const ClusterIndex index(snap, config_);
  Result& r = changes.result;
  for (const auto& [k, key] : todo) {
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
      r.policies.push_back(ComputePolicy(index, *w, &r.warnings));
      if (!reasons_) {
        r.policies.back().ingress_reasons = {};
        r.policies.back().egress_reasons = {};
      }
      managed_++;
    }
    unresolved_total_ += o.unresolved;
    outcomes_.emplace(k, std::move(o));
  }

  for (const auto& ns : namespaces) {
    changes.namespaces.push_back(ns);
    std::vector<NamespaceWorkload> in_ns;
    const auto it = ns_workloads_.find(ns);
    if (it != ns_workloads_.end()) {
      for (const auto& k : it->second) {
        const Outcome& o = outcomes_.at(k);
        in_ns.push_back(NamespaceWorkload{workloads_.at(k)->key(), o.skip_reason, o.host_network});
      }
    }
    DefaultDenyDecision d;
    if (it != ns_workloads_.end() || namespaces_.contains(ns)) {
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

}  // namespace npc::synth
