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
  std::map<std::string, Workload> workloads;
  std::map<std::string, Service> services;
  std::map<std::string, EndpointSlice> slices;
  std::map<std::string, Ingress> ingresses;
  std::map<std::string, ConfigMap> config_maps;
  std::map<std::string, Namespace> namespaces;

  Snapshot ToSnapshot() const {
    Snapshot s;
    for (const auto& [k, v] : workloads) s.workloads.push_back(v);
    for (const auto& [k, v] : services) s.services.push_back(v);
    for (const auto& [k, v] : slices) s.endpoint_slices.push_back(v);
    for (const auto& [k, v] : ingresses) s.ingresses.push_back(v);
    for (const auto& [k, v] : config_maps) s.config_maps.push_back(v);
    for (const auto& [k, v] : namespaces) s.namespaces.push_back(v);
    return s;
  }
};

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

// Applies one random change to `c` and to `inc`; returns what it did.
std::string Mutate(
    Cluster& c, synth::Incremental& inc, std::mt19937_64& rng,
    std::vector<std::variant<Workload, Service, EndpointSlice, Ingress, ConfigMap, Namespace>>&
        removed) {
  auto roll = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  switch (roll(12)) {
    case 0:
    case 1: {  // a workload takes another's template (labels, env, annotations, ...)
      if (c.workloads.empty()) break;
      auto to = Pick(c.workloads, rng);
      const Workload& from = Pick(c.workloads, rng)->second;
      Workload w = from;
      w.kind = to->second.kind;
      w.ns = to->second.ns;
      w.name = to->second.name;
      w.uid = to->second.uid;
      to->second = w;
      inc.Upsert(w);
      return "workload " + w.key().ToString() + " takes the template of " + from.key().ToString();
    }
    case 2: {  // a workload flips hostNetwork or its scrape annotation
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
    case 3: {  // a Service takes another's selector, ports and type
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
    case 4: {  // a ConfigMap takes another's data
      if (c.config_maps.empty()) break;
      auto to = Pick(c.config_maps, rng);
      to->second.data = Pick(c.config_maps, rng)->second.data;
      inc.Upsert(to->second);
      return "configmap " + to->first + " changes";
    }
    case 5: {  // a Namespace takes another's labels and annotations
      if (c.namespaces.empty()) break;
      auto to = Pick(c.namespaces, rng);
      const Namespace& from = Pick(c.namespaces, rng)->second;
      to->second.labels = from.labels;
      to->second.annotations = from.annotations;
      to->second.labels["kubernetes.io/metadata.name"] = to->second.name;
      inc.Upsert(to->second);
      return "namespace " + to->first + " changes";
    }
    case 6: {  // an Ingress or EndpointSlice takes another's contents
      if (roll(2) && !c.ingresses.empty()) {
        auto to = Pick(c.ingresses, rng);
        to->second.backends = Pick(c.ingresses, rng)->second.backends;
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
    case 7:
    case 8:
    case 9: {  // something is deleted
      switch (roll(6)) {
        case 0:
          if (c.workloads.empty()) break;
          {
            auto it = Pick(c.workloads, rng);
            removed.emplace_back(it->second);
            inc.Remove(it->second.key());
            std::string what = "delete workload " + it->first;
            c.workloads.erase(it);
            return what;
          }
        case 1:
          if (c.services.empty()) break;
          {
            auto it = Pick(c.services, rng);
            removed.emplace_back(it->second);
            inc.Remove(synth::ObjectKind::kService, it->second.ns, it->second.name);
            std::string what = "delete service " + it->first;
            c.services.erase(it);
            return what;
          }
        case 2:
          if (c.slices.empty()) break;
          {
            auto it = Pick(c.slices, rng);
            removed.emplace_back(it->second);
            inc.Remove(synth::ObjectKind::kEndpointSlice, it->second.ns, it->second.name);
            std::string what = "delete endpointslice " + it->first;
            c.slices.erase(it);
            return what;
          }
        case 3:
          if (c.ingresses.empty()) break;
          {
            auto it = Pick(c.ingresses, rng);
            removed.emplace_back(it->second);
            inc.Remove(synth::ObjectKind::kIngress, it->second.ns, it->second.name);
            std::string what = "delete ingress " + it->first;
            c.ingresses.erase(it);
            return what;
          }
        case 4:
          if (c.config_maps.empty()) break;
          {
            auto it = Pick(c.config_maps, rng);
            removed.emplace_back(it->second);
            inc.Remove(synth::ObjectKind::kConfigMap, it->second.ns, it->second.name);
            std::string what = "delete configmap " + it->first;
            c.config_maps.erase(it);
            return what;
          }
        default:
          if (c.namespaces.empty()) break;
          {
            auto it = Pick(c.namespaces, rng);
            removed.emplace_back(it->second);
            inc.Remove(synth::ObjectKind::kNamespace, "", it->second.name);
            std::string what = "delete namespace object " + it->first;
            c.namespaces.erase(it);
            return what;
          }
      }
      break;
    }
    default: {  // something deleted earlier comes back
      if (removed.empty()) break;
      const size_t i = std::uniform_int_distribution<size_t>(0, removed.size() - 1)(rng);
      auto obj = removed[i];
      removed.erase(removed.begin() + static_cast<ptrdiff_t>(i));
      return std::visit(
          [&](auto& o) -> std::string {
            using T = std::decay_t<decltype(o)>;
            inc.Upsert(o);
            if constexpr (std::is_same_v<T, Workload>) {
              c.workloads[o.key().ToString()] = o;
              return "re-add workload " + o.key().ToString();
            } else if constexpr (std::is_same_v<T, Service>) {
              c.services[K(o.ns, o.name)] = o;
              return "re-add service " + K(o.ns, o.name);
            } else if constexpr (std::is_same_v<T, EndpointSlice>) {
              c.slices[K(o.ns, o.name)] = o;
              return "re-add endpointslice " + K(o.ns, o.name);
            } else if constexpr (std::is_same_v<T, Ingress>) {
              c.ingresses[K(o.ns, o.name)] = o;
              return "re-add ingress " + K(o.ns, o.name);
            } else if constexpr (std::is_same_v<T, ConfigMap>) {
              c.config_maps[K(o.ns, o.name)] = o;
              return "re-add configmap " + K(o.ns, o.name);
            } else {
              c.namespaces[o.name] = o;
              return "re-add namespace " + o.name;
            }
          },
          obj);
    }
  }
  return "nothing";
}

TEST(IncrementalPropertyTest, EqualsFullSynthesisAfterEveryChange) {
  const uint64_t base = EnvOr("NPC_PROPERTY_SEED", 1);
  const uint64_t cases = std::min<uint64_t>(EnvOr("NPC_PROPERTY_CASES", 1000), 400);
  constexpr int kBatches = 25;
  size_t partial = 0;
  size_t recomputed = 0;
  size_t workloads = 0;
  for (uint64_t i = 0; i < cases; ++i) {
    const uint64_t seed = base + i;
    GeneratedCase g = Generate(seed);
    Cluster c;
    for (const Workload& w : g.snapshot.workloads) {
      if (!w.has_controller) c.workloads[w.key().ToString()] = w;
    }
    for (const Service& s : g.snapshot.services) c.services[K(s.ns, s.name)] = s;
    for (const EndpointSlice& e : g.snapshot.endpoint_slices) c.slices[K(e.ns, e.name)] = e;
    for (const Ingress& in : g.snapshot.ingresses) c.ingresses[K(in.ns, in.name)] = in;
    for (const ConfigMap& m : g.snapshot.config_maps) c.config_maps[K(m.ns, m.name)] = m;
    for (const Namespace& n : g.snapshot.namespaces) c.namespaces[n.name] = n;

    synth::Incremental inc(g.config);
    // Objects arrive in the snapshot's order, controlled pods included.
    for (const Workload& w : g.snapshot.workloads) inc.Upsert(w);
    for (const Service& s : g.snapshot.services) inc.Upsert(s);
    for (const EndpointSlice& e : g.snapshot.endpoint_slices) inc.Upsert(e);
    for (const Ingress& in : g.snapshot.ingresses) inc.Upsert(in);
    for (const ConfigMap& m : g.snapshot.config_maps) inc.Upsert(m);
    for (const Namespace& n : g.snapshot.namespaces) inc.Upsert(n);
    Mirror mirror;
    synth::Changes first = inc.Recompute();
    ASSERT_TRUE(first.full);
    mirror.Apply(first);

    std::mt19937_64 rng(seed);
    std::vector<std::variant<Workload, Service, EndpointSlice, Ingress, ConfigMap, Namespace>>
        removed;
    std::string history;
    for (int b = 0; b < kBatches; ++b) {
      const synth::Result full = synth::Synthesize(c.ToSnapshot(), g.config);
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

}  // namespace
}  // namespace npc::property
