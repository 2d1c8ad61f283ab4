// Incremental synthesis (synth/incremental.h) against the reference: after
// every batch of random changes to a random cluster, what Incremental has
// reported so far must equal Synthesize() over the whole cluster as it now
// is: every policy with its reasons, every default-deny, skip, unresolved
// name and warning. A workload Incremental fails to recompute after a change
// that affects it keeps a stale result, and the comparison shows it.
//
// NPC_PROPERTY_SEED / NPC_PROPERTY_CASES choose the cases (as property_test).
#include "synth/incremental.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "property/generator.h"
#include "render/render.h"
#include "synth/internal.h"
#include "synth/synth.h"

namespace npc::property {
namespace {

uint64_t EnvOr(const char* name, uint64_t def) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : def;
}

// The cluster as plain objects, keyed as the API keys them.
struct Cluster {
  std::map<std::string, Workload> workloads;  // controller-owned ReplicaSets too
  std::map<std::string, Service> services;
  std::map<std::string, EndpointSlice> slices;
  std::map<std::string, Ingress> ingresses;
  std::map<std::string, ConfigMap> config_maps;
  std::map<std::string, Namespace> namespaces;
  std::map<std::string, Pod> pods;
  std::map<std::string, Secret> secrets;
  std::map<std::string, IngressClass> ingress_classes;
  std::map<std::string, Route> routes;
  std::map<std::string, Gateway> gateways;
  std::map<std::string, GatewayClass> gateway_classes;
  std::map<std::string, GatewayRoute> gateway_routes;
  std::map<std::string, ApiServerHook> hooks;
  std::map<std::string, Prometheus> prometheuses;
  std::map<std::string, ServiceMonitor> service_monitors;
  std::map<std::string, PodMonitor> pod_monitors;

  Snapshot ToSnapshot() const {
    Snapshot s;
    for (const auto& [k, v] : workloads) s.workloads.push_back(v);
    for (const auto& [k, v] : services) s.services.push_back(v);
    for (const auto& [k, v] : slices) s.endpoint_slices.push_back(v);
    for (const auto& [k, v] : ingresses) s.ingresses.push_back(v);
    for (const auto& [k, v] : config_maps) s.config_maps.push_back(v);
    for (const auto& [k, v] : namespaces) s.namespaces.push_back(v);
    for (const auto& [k, v] : pods) s.pods.push_back(v);
    for (const auto& [k, v] : secrets) s.secrets.push_back(v);
    for (const auto& [k, v] : ingress_classes) s.ingress_classes.push_back(v);
    for (const auto& [k, v] : routes) s.routes.push_back(v);
    for (const auto& [k, v] : gateways) s.gateways.push_back(v);
    for (const auto& [k, v] : gateway_classes) s.gateway_classes.push_back(v);
    for (const auto& [k, v] : gateway_routes) s.gateway_routes.push_back(v);
    for (const auto& [k, v] : hooks) s.api_server_hooks.push_back(v);
    for (const auto& [k, v] : prometheuses) s.prometheuses.push_back(v);
    for (const auto& [k, v] : service_monitors) s.service_monitors.push_back(v);
    for (const auto& [k, v] : pod_monitors) s.pod_monitors.push_back(v);
    return s;
  }
};

using AnyObject = std::variant<Workload, Service, EndpointSlice, Ingress, ConfigMap, Namespace, Pod,
                               Secret, IngressClass, Route, Gateway, GatewayClass, GatewayRoute,
                               ApiServerHook, Prometheus, ServiceMonitor, PodMonitor>;

std::string HookKey(const ApiServerHook& h) {
  return std::string(HookKindName(h.kind)) + "/" + h.name;
}
std::string RouteKey(const GatewayRoute& r) {
  return r.kind + "/" + r.ns + "/" + r.name;
}

template <typename T>
std::string KeyOf(const T& o) {
  if constexpr (std::is_same_v<T, Workload>) {
    return o.key().ToString();
  } else if constexpr (std::is_same_v<T, Namespace> || std::is_same_v<T, IngressClass> ||
                       std::is_same_v<T, GatewayClass>) {
    return o.name;
  } else if constexpr (std::is_same_v<T, ApiServerHook>) {
    return HookKey(o);
  } else if constexpr (std::is_same_v<T, GatewayRoute>) {
    return RouteKey(o);
  } else {
    return o.ns + "/" + o.name;
  }
}

template <typename T>
std::map<std::string, T>& MapOf(Cluster& c) {
  if constexpr (std::is_same_v<T, Workload>) return c.workloads;
  if constexpr (std::is_same_v<T, Service>) return c.services;
  if constexpr (std::is_same_v<T, EndpointSlice>) return c.slices;
  if constexpr (std::is_same_v<T, Ingress>) return c.ingresses;
  if constexpr (std::is_same_v<T, ConfigMap>) return c.config_maps;
  if constexpr (std::is_same_v<T, Namespace>) return c.namespaces;
  if constexpr (std::is_same_v<T, Pod>) return c.pods;
  if constexpr (std::is_same_v<T, Secret>) return c.secrets;
  if constexpr (std::is_same_v<T, IngressClass>) return c.ingress_classes;
  if constexpr (std::is_same_v<T, Route>) return c.routes;
  if constexpr (std::is_same_v<T, Gateway>) return c.gateways;
  if constexpr (std::is_same_v<T, GatewayClass>) return c.gateway_classes;
  if constexpr (std::is_same_v<T, GatewayRoute>) return c.gateway_routes;
  if constexpr (std::is_same_v<T, ApiServerHook>) return c.hooks;
  if constexpr (std::is_same_v<T, Prometheus>) return c.prometheuses;
  if constexpr (std::is_same_v<T, ServiceMonitor>) return c.service_monitors;
  if constexpr (std::is_same_v<T, PodMonitor>) return c.pod_monitors;
}

// Forgets `o` in Incremental, as the controller would on a delete event.
template <typename T>
void RemoveFrom(synth::Incremental& inc, const T& o) {
  using K = synth::ObjectKind;
  if constexpr (std::is_same_v<T, Workload>) {
    inc.Remove(o.key());
  } else if constexpr (std::is_same_v<T, Service>) {
    inc.Remove(K::kService, o.ns, o.name);
  } else if constexpr (std::is_same_v<T, EndpointSlice>) {
    inc.Remove(K::kEndpointSlice, o.ns, o.name);
  } else if constexpr (std::is_same_v<T, Ingress>) {
    inc.Remove(K::kIngress, o.ns, o.name);
  } else if constexpr (std::is_same_v<T, ConfigMap>) {
    inc.Remove(K::kConfigMap, o.ns, o.name);
  } else if constexpr (std::is_same_v<T, Namespace>) {
    inc.Remove(K::kNamespace, "", o.name);
  } else if constexpr (std::is_same_v<T, Pod>) {
    // The controller removes pods by kind "Pod" (a bare pod is a workload).
    inc.Remove(WorkloadKey{WorkloadKind::kPod, o.ns, o.name});
  } else if constexpr (std::is_same_v<T, Secret>) {
    inc.Remove(K::kSecret, o.ns, o.name);
  } else if constexpr (std::is_same_v<T, IngressClass>) {
    inc.Remove(K::kIngressClass, "", o.name);
  } else if constexpr (std::is_same_v<T, Route>) {
    inc.Remove(K::kRoute, o.ns, o.name);
  } else if constexpr (std::is_same_v<T, Gateway>) {
    inc.Remove(K::kGateway, o.ns, o.name);
  } else if constexpr (std::is_same_v<T, GatewayClass>) {
    inc.Remove(K::kGatewayClass, "", o.name);
  } else if constexpr (std::is_same_v<T, GatewayRoute>) {
    inc.Remove(*synth::ParseObjectKind(o.kind), o.ns, o.name);
  } else if constexpr (std::is_same_v<T, ApiServerHook>) {
    inc.Remove(*synth::ParseObjectKind(HookKindName(o.kind)), "", o.name);
  } else if constexpr (std::is_same_v<T, Prometheus>) {
    inc.Remove(K::kPrometheus, o.ns, o.name);
  } else if constexpr (std::is_same_v<T, ServiceMonitor>) {
    inc.Remove(K::kServiceMonitor, o.ns, o.name);
  } else if constexpr (std::is_same_v<T, PodMonitor>) {
    inc.Remove(K::kPodMonitor, o.ns, o.name);
  }
}

std::string K(const std::string& ns, const std::string& name) {
  return ns + "/" + name;
}

// Lines that say everything a Result says about policies, skips, unresolved
// names and warnings (edges are not reported incrementally).
std::string PolicyLine(const synth::WorkloadPolicy& p) {
  std::string s = "policy " + p.workload.ToString() + " " + render::PoliciesToJsonList({p.policy});
  for (const auto& rs : {p.ingress_reasons, p.egress_reasons}) {
    for (const auto& reasons : rs) {
      s += " |";
      for (const auto& r : reasons) s += " " + r;
    }
  }
  return s;
}
std::string UnresolvedLine(const synth::Unresolved& u) {
  return "unresolved " + u.client.ToString() + " " + u.host + ":" + u.port + " " + u.why + " [" +
         u.source.container + "] " + u.source.field + "=" + u.source.value;
}
std::string WarningLine(const synth::Warning& w) {
  return "warning " + w.workload.ToString() + " " + w.message;
}
bool IsDefaultDenyWarning(const synth::Warning& w) {
  return w.message.find(" gets no default-deny policy") != std::string::npos;
}

std::set<std::string> Lines(const synth::Result& r) {
  std::set<std::string> out;
  for (const auto& p : r.policies) out.insert(PolicyLine(p));
  for (const auto& p : r.default_deny) out.insert("default-deny " + p.ns);
  for (const auto& s : r.skipped) out.insert("skipped " + s.workload.ToString() + " " + s.why);
  for (const auto& u : r.unresolved) out.insert(UnresolvedLine(u));
  for (const auto& w : r.warnings) out.insert(WarningLine(w));
  return out;
}

// What the Changes reported so far add up to.
class Mirror {
 public:
  void Apply(const synth::Changes& c) {
    const synth::Result& r = c.result;
    for (const WorkloadKey& k : c.workloads) by_workload_.erase(k.ToString());
    for (const std::string& ns : c.namespaces) by_namespace_.erase(ns);
    for (const auto& p : r.policies) by_workload_[p.workload.ToString()].insert(PolicyLine(p));
    for (const auto& s : r.skipped) {
      by_workload_[s.workload.ToString()].insert("skipped " + s.workload.ToString() + " " + s.why);
    }
    for (const auto& u : r.unresolved) by_workload_[u.client.ToString()].insert(UnresolvedLine(u));
    for (const auto& w : r.warnings) {
      if (IsDefaultDenyWarning(w)) {
        by_namespace_[w.workload.ns].insert(WarningLine(w));
      } else {
        by_workload_[w.workload.ToString()].insert(WarningLine(w));
      }
    }
    for (const auto& p : r.default_deny) by_namespace_[p.ns].insert("default-deny " + p.ns);
  }
  std::set<std::string> Lines() const {
    std::set<std::string> out;
    for (const auto& [k, v] : by_workload_) out.insert(v.begin(), v.end());
    for (const auto& [k, v] : by_namespace_) out.insert(v.begin(), v.end());
    return out;
  }

 private:
  std::map<std::string, std::set<std::string>> by_workload_;
  std::map<std::string, std::set<std::string>> by_namespace_;
};

std::string Diff(const std::set<std::string>& want, const std::set<std::string>& got) {
  std::string out;
  for (const auto& l : want) {
    if (!got.contains(l)) out += "  missing: " + l + "\n";
  }
  for (const auto& l : got) {
    if (!want.contains(l)) out += "  extra:   " + l + "\n";
  }
  return out;
}

template <typename Map>
typename Map::iterator Pick(Map& m, std::mt19937_64& rng) {
  auto it = m.begin();
  std::advance(it, std::uniform_int_distribution<size_t>(0, m.size() - 1)(rng));
  return it;
}

// Deletes a random object of kind T; false when there is none.
template <typename T>
bool DeleteOne(Cluster& c, synth::Incremental& inc, std::mt19937_64& rng,
               std::vector<AnyObject>& removed, std::string* what) {
  auto& m = MapOf<T>(c);
  if (m.empty()) return false;
  auto it = Pick(m, rng);
  removed.emplace_back(it->second);
  RemoveFrom(inc, it->second);
  *what = "delete " + it->first;
  m.erase(it);
  return true;
}

// Applies one random change to `c` and to `inc`; returns what it did. Rare
// platform objects (Gateways, GatewayClasses, Prometheus, IngressClasses) are
// changed rarely, as in a cluster.
std::string Mutate(Cluster& c, synth::Incremental& inc, std::mt19937_64& rng,
                   std::vector<AnyObject>& removed) {
  auto roll = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  switch (roll(40)) {
    case 0:
    case 1:
    case 2: {  // a workload takes another's template (labels, env, annotations, ...)
      std::vector<std::string> keys;
      for (const auto& [k, w] : c.workloads) {
        if (!w.has_controller) keys.push_back(k);
      }
      if (keys.empty()) break;
      Workload& to = c.workloads.at(keys[std::uniform_int_distribution<size_t>(0, keys.size() - 1)(rng)]);
      const Workload& from = c.workloads.at(keys[std::uniform_int_distribution<size_t>(0, keys.size() - 1)(rng)]);
      Workload w = from;
      w.kind = to.kind;
      w.ns = to.ns;
      w.name = to.name;
      w.uid = to.uid;
      to = w;
      inc.Upsert(w);
      return "workload " + w.key().ToString() + " takes the template of " + from.key().ToString();
    }
    case 3: {  // a workload flips hostNetwork or its scrape annotation
      if (c.workloads.empty()) break;
      Workload& w = Pick(c.workloads, rng)->second;
      if (roll(2)) {
        w.host_network = !w.host_network;
      } else if (w.template_annotations.erase("prometheus.io/scrape") == 0) {
        w.template_annotations["prometheus.io/scrape"] = "true";
      }
      inc.Upsert(w);
      return "workload " + w.key().ToString() + " flips hostNetwork or scrape";
    }
    case 4:
    case 5: {  // a Service takes another's selector, ports, type and labels
      if (c.services.empty()) break;
      auto to = Pick(c.services, rng);
      const Service& from = Pick(c.services, rng)->second;
      Service s = from;
      s.ns = to->second.ns;
      s.name = to->second.name;
      to->second = s;
      inc.Upsert(s);
      return "service " + K(s.ns, s.name) + " takes the spec of " + K(from.ns, from.name);
    }
    case 6: {  // a ConfigMap or Secret takes another's data
      if (roll(2) && !c.secrets.empty()) {
        auto to = Pick(c.secrets, rng);
        const Secret& from = Pick(c.secrets, rng)->second;
        to->second.hosts = from.hosts;
        to->second.exact = from.exact;
        inc.Upsert(to->second);
        return "secret " + to->first + " changes";
      }
      if (c.config_maps.empty()) break;
      auto to = Pick(c.config_maps, rng);
      to->second.data = Pick(c.config_maps, rng)->second.data;
      inc.Upsert(to->second);
      return "configmap " + to->first + " changes";
    }
    case 7: {  // a Namespace takes another's labels and annotations
      if (c.namespaces.empty()) break;
      auto to = Pick(c.namespaces, rng);
      const Namespace& from = Pick(c.namespaces, rng)->second;
      to->second.labels = from.labels;
      to->second.annotations = from.annotations;
      to->second.labels["kubernetes.io/metadata.name"] = to->second.name;
      inc.Upsert(to->second);
      return "namespace " + to->first + " changes";
    }
    case 8: {  // an Ingress or EndpointSlice takes another's contents
      if (roll(2) && !c.ingresses.empty()) {
        auto to = Pick(c.ingresses, rng);
        const Ingress& from = Pick(c.ingresses, rng)->second;
        to->second.backends = from.backends;
        to->second.ingress_class = from.ingress_class;
        to->second.class_annotation = from.class_annotation;
        inc.Upsert(to->second);
        return "ingress " + to->first + " changes";
      }
      if (c.slices.empty()) break;
      auto to = Pick(c.slices, rng);
      const EndpointSlice& from = Pick(c.slices, rng)->second;
      to->second.addresses = from.addresses;
      to->second.ports = from.ports;
      if (roll(2)) to->second.service_name = from.service_name;
      inc.Upsert(to->second);
      return "endpointslice " + to->first + " changes";
    }
    case 9:
    case 10:
    case 11:
    case 12: {  // a pod is relabelled (failover), takes a sibling's labels, gets an IP
      if (c.pods.empty()) break;
      Pod& p = Pick(c.pods, rng)->second;
      const int what = roll(4);
      if (what == 0) {
        Labels& l = p.labels.Edit();
        if (l.erase("role") == 0) l["role"] = roll(2) ? "primary" : "replica";
      } else if (what == 1) {
        p.labels = Pick(c.pods, rng)->second.labels;
      } else if (what == 2) {
        p.ip = p.ip.empty() ? "10.9." + std::to_string(roll(4)) + "." + std::to_string(roll(200) + 1)
                            : "";
      } else {
        p.labels.Edit()["pod-template-hash"] = std::to_string(roll(3));
      }
      inc.Upsert(p);
      return "pod " + K(p.ns, p.name) + " changes";
    }
    case 13: {  // a workload names a pod by its IP (pod DNS)
      std::vector<const Pod*> with_ip;
      for (const auto& [k, p] : c.pods) {
        if (!p.ip.empty()) with_ip.push_back(&p);
      }
      if (with_ip.empty() || c.workloads.empty()) break;
      const Pod& p = *with_ip[std::uniform_int_distribution<size_t>(0, with_ip.size() - 1)(rng)];
      Workload& w = Pick(c.workloads, rng)->second;
      if (w.containers.empty()) w.containers.push_back({"main", false, {}, {}, {}, {}, {}});
      std::string dashed = p.ip;
      std::replace(dashed.begin(), dashed.end(), '.', '-');
      w.containers[0].env.push_back(
          {"PEER", dashed + "." + p.ns + ".pod.cluster.local:" + std::to_string(8000 + roll(3)), "", ""});
      inc.Upsert(w);
      return "workload " + w.key().ToString() + " names pod " + K(p.ns, p.name) + " by IP";
    }
    case 14: {  // a ReplicaSet (of a Rollout, of a Deployment) takes another's template
      std::vector<std::string> keys;
      for (const auto& [k, w] : c.workloads) {
        if (w.has_controller) keys.push_back(k);
      }
      if (keys.size() < 1) break;
      Workload& to = c.workloads.at(keys[std::uniform_int_distribution<size_t>(0, keys.size() - 1)(rng)]);
      const Workload& from = c.workloads.at(keys[std::uniform_int_distribution<size_t>(0, keys.size() - 1)(rng)]);
      to.containers = from.containers;
      to.template_annotations = from.template_annotations;
      to.host_network = from.host_network;
      if (roll(3) == 0) to.created = "2025-01-01T00:00:00Z";  // now the newest
      inc.Upsert(to);
      return "replicaset " + to.key().ToString() + " takes the template of " + from.key().ToString();
    }
    case 15: {  // a Route, Gateway route or webhook takes another's targets
      const int which = roll(3);
      if (which == 0 && !c.routes.empty()) {
        auto to = Pick(c.routes, rng);
        const Route& from = Pick(c.routes, rng)->second;
        to->second.services = from.services;
        to->second.target_port = from.target_port;
        inc.Upsert(to->second);
        return "route " + to->first + " changes";
      }
      if (which == 1 && !c.gateway_routes.empty()) {
        auto to = Pick(c.gateway_routes, rng);
        const GatewayRoute& from = Pick(c.gateway_routes, rng)->second;
        to->second.parents = from.parents;
        to->second.backends = from.backends;
        for (auto& b : to->second.backends) b.ns = to->second.ns;
        inc.Upsert(to->second);
        return "gateway route " + to->first + " changes";
      }
      if (c.hooks.empty()) break;
      auto to = Pick(c.hooks, rng);
      const ApiServerHook& from = Pick(c.hooks, rng)->second;
      to->second.calls = from.calls;
      if (roll(3) == 0 && !to->second.calls.empty()) to->second.calls[0].port = 443 + roll(2) * 9000;
      inc.Upsert(to->second);
      return "hook " + to->first + " changes";
    }
    case 16:
    case 17: {  // a ServiceMonitor or PodMonitor takes another's selection
      if (roll(2) && !c.service_monitors.empty()) {
        auto to = Pick(c.service_monitors, rng);
        const ServiceMonitor& from = Pick(c.service_monitors, rng)->second;
        to->second.selector = from.selector;
        to->second.endpoints = from.endpoints;
        to->second.namespaces = from.namespaces;
        if (roll(2)) to->second.labels = from.labels;
        inc.Upsert(to->second);
        return "servicemonitor " + to->first + " changes";
      }
      if (c.pod_monitors.empty()) break;
      auto to = Pick(c.pod_monitors, rng);
      const PodMonitor& from = Pick(c.pod_monitors, rng)->second;
      to->second.selector = from.selector;
      to->second.endpoints = from.endpoints;
      to->second.namespaces = from.namespaces;
      if (roll(2)) to->second.labels = from.labels;
      inc.Upsert(to->second);
      return "podmonitor " + to->first + " changes";
    }
    case 18: {  // rare: a platform object changes
      const int which = roll(4);
      if (which == 0 && !c.ingress_classes.empty()) {
        IngressClass& ic = Pick(c.ingress_classes, rng)->second;
        ic.is_default = !ic.is_default;
        inc.Upsert(ic);
        return "ingressclass " + ic.name + " flips default";
      }
      if (which == 1 && !c.gateways.empty()) {
        Gateway& g = Pick(c.gateways, rng)->second;
        g.gateway_class = Pick(c.gateways, rng)->second.gateway_class;
        inc.Upsert(g);
        return "gateway " + K(g.ns, g.name) + " changes class";
      }
      if (which == 2 && !c.gateway_classes.empty()) {
        GatewayClass& gc = Pick(c.gateway_classes, rng)->second;
        gc.controller = Pick(c.gateway_classes, rng)->second.controller;
        inc.Upsert(gc);
        return "gatewayclass " + gc.name + " changes controller";
      }
      if (c.prometheuses.empty()) break;
      Prometheus& p = Pick(c.prometheuses, rng)->second;
      std::swap(p.service_monitor_selector, p.pod_monitor_selector);
      if (roll(2)) p.service_monitor_namespace_selector.reset();
      inc.Upsert(p);
      return "prometheus " + K(p.ns, p.name) + " changes selectors";
    }
    case 19:
    case 20:
    case 21:
    case 22:
    case 23:
    case 24:
    case 25:
    case 26: {  // something is deleted
      std::string what;
      bool done = false;
      switch (roll(17)) {
        case 0: done = DeleteOne<Workload>(c, inc, rng, removed, &what); break;
        case 1: done = DeleteOne<Service>(c, inc, rng, removed, &what); break;
        case 2: done = DeleteOne<EndpointSlice>(c, inc, rng, removed, &what); break;
        case 3: done = DeleteOne<Ingress>(c, inc, rng, removed, &what); break;
        case 4: done = DeleteOne<ConfigMap>(c, inc, rng, removed, &what); break;
        case 5: done = DeleteOne<Namespace>(c, inc, rng, removed, &what); break;
        case 6:
        case 7: done = DeleteOne<Pod>(c, inc, rng, removed, &what); break;
        case 8: done = DeleteOne<Secret>(c, inc, rng, removed, &what); break;
        case 9: done = DeleteOne<Route>(c, inc, rng, removed, &what); break;
        case 10: done = DeleteOne<GatewayRoute>(c, inc, rng, removed, &what); break;
        case 11: done = DeleteOne<ApiServerHook>(c, inc, rng, removed, &what); break;
        case 12: done = DeleteOne<ServiceMonitor>(c, inc, rng, removed, &what); break;
        case 13: done = DeleteOne<PodMonitor>(c, inc, rng, removed, &what); break;
        case 14:
          if (roll(3) == 0) done = DeleteOne<IngressClass>(c, inc, rng, removed, &what);
          break;
        case 15:
          if (roll(4) == 0) done = DeleteOne<Gateway>(c, inc, rng, removed, &what);
          break;
        default:
          if (roll(4) == 0) done = DeleteOne<Prometheus>(c, inc, rng, removed, &what);
          break;
      }
      if (done) return what;
      break;
    }
    default: {  // something deleted earlier comes back
      if (removed.empty()) break;
      const size_t i = std::uniform_int_distribution<size_t>(0, removed.size() - 1)(rng);
      AnyObject obj = removed[i];
      removed.erase(removed.begin() + static_cast<ptrdiff_t>(i));
      return std::visit(
          [&](auto& o) -> std::string {
            using T = std::decay_t<decltype(o)>;
            inc.Upsert(o);
            MapOf<T>(c)[KeyOf(o)] = o;
            return "re-add " + KeyOf(o);
          },
          obj);
    }
  }
  return "nothing";
}

// The cases in kShards shards, one test each, so that ctest runs them side by
// side (this is the longest unit test: minutes under the sanitizers).
constexpr uint64_t kShards = 4;
class IncrementalPropertyTest : public ::testing::TestWithParam<uint64_t> {};

// Every object of `s` into `inc` (and into `c` when given), kind by kind,
// pods before the ReplicaSets that own them (as informers may deliver them).
void Load(const Snapshot& s, synth::Incremental& inc, Cluster* c) {
  auto load = [&](const auto& objects) {
    for (const auto& o : objects) {
      using T = std::decay_t<decltype(o)>;
      if (c != nullptr) MapOf<T>(*c)[KeyOf(o)] = o;
      inc.Upsert(o);
    }
  };
  load(s.pods);
  load(s.workloads);
  load(s.services);
  load(s.endpoint_slices);
  load(s.ingresses);
  load(s.config_maps);
  load(s.secrets);
  load(s.namespaces);
  load(s.ingress_classes);
  load(s.routes);
  load(s.gateways);
  load(s.gateway_classes);
  load(s.gateway_routes);
  load(s.api_server_hooks);
  load(s.prometheuses);
  load(s.service_monitors);
  load(s.pod_monitors);
}

// The keys whose reverse-index entries differ, with both counts.
std::string IndexDiff(const std::map<std::string, size_t>& have,
                      const std::map<std::string, size_t>& want) {
  std::string out;
  auto count = [](const std::map<std::string, size_t>& m, const std::string& k) {
    auto it = m.find(k);
    return it == m.end() ? size_t{0} : it->second;
  };
  std::set<std::string> keys;
  for (const auto& [k, n] : have) keys.insert(k);
  for (const auto& [k, n] : want) keys.insert(k);
  for (const auto& k : keys) {
    if (count(have, k) != count(want, k)) {
      out += "  index entries of " + k + ": " + std::to_string(count(have, k)) +
             " (built from scratch: " + std::to_string(count(want, k)) + ")\n";
    }
  }
  return out;
}

TEST_P(IncrementalPropertyTest, EqualsFullSynthesisAfterEveryChange) {
  const uint64_t base = EnvOr("NPC_PROPERTY_SEED", 1);
  const uint64_t all = std::min<uint64_t>(EnvOr("NPC_PROPERTY_CASES", 1000), 400);
  const uint64_t shard = GetParam();
  const uint64_t from = all * shard / kShards;
  const uint64_t cases = all * (shard + 1) / kShards - from;
  if (cases == 0) GTEST_SKIP() << "no case in this shard (NPC_PROPERTY_CASES=" << all << ")";
  constexpr int kBatches = 25;
  size_t partial = 0;
  size_t recomputed = 0;
  size_t workloads = 0;
  for (uint64_t i = 0; i < cases; ++i) {
    const uint64_t seed = base + from + i;
    GeneratedCase g = Generate(seed);
    Cluster c;
    synth::Incremental inc(g.config);
    // Recomputes go through batches of workloads, each over its own
    // neighbourhood: small batches here (and one batch in a quarter of the
    // cases), so that an object a batch's neighbourhood misses shows.
    if (seed % 4 != 3) inc.set_batch_size(1 + seed % 4);
    Load(g.snapshot, inc, &c);
    Mirror mirror;
    synth::Changes first = inc.Recompute();
    ASSERT_TRUE(first.full);
    mirror.Apply(first);

    std::mt19937_64 rng(seed);
    std::vector<AnyObject> removed;
    std::string history;
    for (int b = 0; b < kBatches; ++b) {
      const Snapshot now = c.ToSnapshot();
      const synth::Result full = synth::Synthesize(now, g.config);
      const std::set<std::string> want = Lines(full);
      std::string diff = Diff(want, mirror.Lines());
      // One workload's policy on demand (the controller's reconcile) says the same.
      if (!c.workloads.empty()) {
        const Workload& w = Pick(c.workloads, rng)->second;
        const std::optional<NetworkPolicy> one = inc.Policy(w.key());
        const synth::WorkloadPolicy* expect = nullptr;
        for (const auto& p : full.policies) {
          if (p.workload == w.key()) expect = &p;
        }
        if (one.has_value() != (expect != nullptr) || (one && *one != expect->policy)) {
          diff += "  Policy(" + w.key().ToString() +
                  ") differs: " + (one ? render::PoliciesToJsonList({*one}) : "none") + " vs " +
                  (expect ? render::PoliciesToJsonList({expect->policy}) : "none") + "\n";
        }
      }
      // Its reverse indexes hold what an Incremental given only today's
      // objects holds: a stale entry only widens recomputes, so the
      // comparison above cannot see it.
      {
        synth::Incremental fresh(g.config);
        Load(now, fresh, nullptr);
        (void)fresh.Recompute();
        diff += IndexDiff(inc.IndexEntries(), fresh.IndexEntries());
      }
      ASSERT_TRUE(diff.empty()) << "seed " << seed << " (rerun: NPC_PROPERTY_SEED=" << seed
                                << " NPC_PROPERTY_CASES=1), after:\n"
                                << (history.empty() ? "  (the initial load)\n" : history) << diff
                                << "\n"
                                << Describe(g);
      history.clear();
      const int n = std::uniform_int_distribution<int>(1, 3)(rng);
      for (int m = 0; m < n; ++m) history += "  " + Mutate(c, inc, rng, removed) + "\n";
      synth::Changes ch = inc.Recompute();
      if (!ch.full) {
        ++partial;
        recomputed += ch.workloads.size();
        workloads += c.workloads.size();
      }
      mirror.Apply(ch);
    }
  }
  // Most batches are partial, and recompute a fraction of the cluster: an
  // Incremental that recomputed everything every time would pass the
  // comparison above and fail here.
  EXPECT_GT(partial, cases * kBatches / 2);
  EXPECT_LT(static_cast<double>(recomputed), 0.5 * static_cast<double>(workloads));
  RecordProperty("partial_batches", std::to_string(partial));
  RecordProperty("recomputed_share",
                 std::to_string(static_cast<double>(recomputed) / static_cast<double>(workloads)));
}

INSTANTIATE_TEST_SUITE_P(Shards, IncrementalPropertyTest, ::testing::Range<uint64_t>(0, kShards));

}  // namespace
}  // namespace npc::property
