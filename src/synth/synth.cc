#include "synth/synth.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include "synth/index.h"
#include "synth/internal.h"
#include "synth/namespaces.h"

namespace npc::synth {

uint64_t StableHash(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

namespace {

std::string HashSuffix(std::string_view s) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(StableHash(s)));
  return std::string(buf, 10);
}

// `s` cut to `max` bytes with "-<hash of s>" at the end, when longer; the
// cut never leaves a '-' or '.' before the hash.
std::string FitName(std::string s, size_t max) {
  if (s.size() <= max) return s;
  const std::string suffix = HashSuffix(s);
  std::string head = s.substr(0, max - suffix.size() - 1);
  while (!head.empty() && (head.back() == '-' || head.back() == '.' || head.back() == '_')) {
    head.pop_back();
  }
  return head + "-" + suffix;
}

auto PortsKey(const std::vector<ServicePort>& ports) {
  std::vector<std::tuple<std::string, std::string, int32_t, IntOrString, int32_t>> k;
  k.reserve(ports.size());
  for (const ServicePort& p : ports) {
    k.emplace_back(p.name, p.protocol, p.port, p.target_port, p.node_port);
  }
  return k;
}

}  // namespace

std::string PolicyName(const WorkloadKey& workload) {
  std::string name = workload.Kind();
  name += '-';
  name += workload.name;
  for (char& c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return FitName(std::move(name), 253);
}

std::string BarePodLabelValue(std::string_view pod_name) {
  return FitName(std::string(pod_name), 63);
}

LabelSelector CanonicalSelector(LabelSelector s) {
  for (LabelSelectorRequirement& r : s.match_expressions) {
    std::sort(r.values.begin(), r.values.end());
    r.values.erase(std::unique(r.values.begin(), r.values.end()), r.values.end());
  }
  std::sort(s.match_expressions.begin(), s.match_expressions.end());
  s.match_expressions.erase(std::unique(s.match_expressions.begin(), s.match_expressions.end()),
                            s.match_expressions.end());
  return s;
}

std::string DescribeSelector(const LabelSelector& selector) {
  std::string s;
  auto sep = [&s] {
    if (!s.empty()) s += ", ";
  };
  for (const auto& [k, v] : selector.match_labels) {
    sep();
    s += k + "=" + v;
  }
  for (const LabelSelectorRequirement& r : selector.match_expressions) {
    sep();
    if (r.op == "Exists") {
      s += r.key;
    } else if (r.op == "DoesNotExist") {
      s += "!" + r.key;
    } else {
      s += r.key + (r.op == "NotIn" ? " notin (" : " in (");
      for (size_t i = 0; i < r.values.size(); ++i) s += (i ? "," : "") + r.values[i];
      s += ")";
    }
  }
  return s;
}

std::string CutForDisplay(std::string_view value) {
  if (value.size() <= 200) return std::string(value);
  size_t n = 200;
  while (n > 0 && (static_cast<unsigned char>(value[n]) & 0xC0) == 0x80) --n;
  return std::string(value.substr(0, n)) + "...";
}

bool EdgeLess(const Edge& a, const Edge& b) {
  return std::tie(a.client, a.service_ns, a.service_name, a.target, a.host, a.source.container,
                  a.source.field, a.source.value) < std::tie(b.client, b.service_ns, b.service_name,
                                                             b.target, b.host, b.source.container,
                                                             b.source.field, b.source.value) ||
         (std::tie(a.client, a.service_ns, a.service_name, a.target, a.host, a.source.container,
                   a.source.field, a.source.value) ==
              std::tie(b.client, b.service_ns, b.service_name, b.target, b.host, b.source.container,
                       b.source.field, b.source.value) &&
          PortsKey(a.ports) < PortsKey(b.ports));
}

bool UnresolvedLess(const Unresolved& a, const Unresolved& b) {
  return std::tie(a.client, a.host, a.port, a.why, a.source.container, a.source.field,
                  a.source.value) < std::tie(b.client, b.host, b.port, b.why, b.source.container,
                                             b.source.field, b.source.value);
}

namespace {

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[5];
          std::snprintf(buf, sizeof(buf), "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

}  // namespace

std::string DescribePorts(const std::vector<ServicePort>& ports) {
  if (ports.empty()) return "all ports";
  std::string out;
  for (const ServicePort& p : ports) {
    if (!out.empty()) out += ", ";
    out += "port ";
    if (!p.name.empty()) out += p.name + " ";
    out += p.port != 0 ? std::to_string(p.port) : p.name;
    const std::string target =
        p.target_port.empty() ? std::to_string(p.port) : p.target_port.ToString();
    out += " -> targetPort " + target + "/" + (p.protocol.empty() ? "TCP" : p.protocol);
  }
  return out;
}

std::string DescribeEdge(const Edge& e) {
  std::string out;
  if (e.observed) {
    for (const ServicePort& p : e.ports) {
      out += (out.empty() ? " on " : ", ") + std::to_string(p.port) + "/" +
             (p.protocol.empty() ? "TCP" : p.protocol);
    }
    return e.source.value + out;
  }
  if (!e.source.container.empty()) out += "container " + e.source.container + " ";
  out += e.source.field + "=" + Quote(e.source.value) + " names ";
  if (e.target) {
    out += "pod DNS " + e.host + " of " + e.target->ToString();
  } else {
    out += "Service " + e.service_ns + "/" + e.service_name;
  }
  out += " (" + DescribePorts(e.ports) + ")";
  return out;
}

DefaultDenyDecision DecideDefaultDeny(const std::string& ns, const Namespace* object,
                                      const SynthesisConfig& config,
                                      const std::vector<NamespaceWorkload>& workloads) {
  DefaultDenyDecision d;
  if (!config.default_deny) return d;
  if (!DecideNamespace(ns, object, config).managed) return d;
  // Unmanaged pods that a policy could isolate block it.
  bool blocked = false;
  for (const NamespaceWorkload& w : workloads) {
    if (w.skip_reason && !w.host_network) blocked = true;
  }
  if (blocked) {
    for (const NamespaceWorkload& w : workloads) {
      if (!w.skip_reason || w.host_network) continue;
      d.warnings.push_back(Warning{w.key, "namespace " + ns +
                                              " gets no default-deny policy: it would isolate "
                                              "this workload, which netpol-ctrl does not manage (" +
                                              *w.skip_reason + ")"});
    }
    return d;
  }
  d.policy = DefaultDenyPolicy(ns);
  return d;
}

NetworkPolicy DefaultDenyPolicy(const std::string& ns) {
  NetworkPolicy p;
  p.ns = ns;
  p.name = std::string(kDefaultDenyPolicyName);
  p.labels[std::string(kManagedByLabel)] = std::string(kManagedByValue);
  return p;
}

Result Synthesize(const Snapshot& snapshot, const SynthesisConfig& config) {
  Result r;
  const ClusterIndex index(snapshot, config);
  std::map<std::string, std::vector<NamespaceWorkload>> by_ns;  // every namespace seen
  for (const Namespace& n : snapshot.namespaces) by_ns[n.name];
  for (const Namespace* n : snapshot.namespace_refs) by_ns[n->name];
  for (const Workload* w : index.workloads()) {
    std::optional<std::string> why = index.SkipReason(*w);
    by_ns[w->ns].push_back(NamespaceWorkload{w->key(), why, w->host_network});
    if (why) {
      r.skipped.push_back(Skipped{w->key(), std::move(*why)});
      continue;
    }
    r.policies.push_back(ComputePolicy(index, *w, &r.warnings));
  }
  std::sort(r.policies.begin(), r.policies.end(),
            [](const WorkloadPolicy& a, const WorkloadPolicy& b) {
              return std::tie(a.policy.ns, a.policy.name) < std::tie(b.policy.ns, b.policy.name);
            });
  r.edges = index.AllEdges();
  r.unresolved = index.AllUnresolved();
  // Skipped workloads come sorted by key already (index.workloads() is sorted).

  if (config.default_deny) {
    std::map<std::string, const Namespace*> objects;
    for (const Namespace& n : snapshot.namespaces) objects.emplace(n.name, &n);
    for (const Namespace* n : snapshot.namespace_refs) objects.emplace(n->name, n);
    for (const auto& [ns, workloads] : by_ns) {
      auto it = objects.find(ns);
      DefaultDenyDecision d =
          DecideDefaultDeny(ns, it == objects.end() ? nullptr : it->second, config, workloads);
      if (d.policy) r.default_deny.push_back(std::move(*d.policy));
      r.warnings.insert(r.warnings.end(), d.warnings.begin(), d.warnings.end());
    }
  }

  SortWarnings(r.warnings);
  return r;
}

void SortWarnings(std::vector<Warning>& warnings) {
  std::sort(warnings.begin(), warnings.end(), [](const Warning& a, const Warning& b) {
    return std::tie(a.workload, a.message) < std::tie(b.workload, b.message);
  });
  warnings.erase(std::unique(warnings.begin(), warnings.end(),
                             [](const Warning& a, const Warning& b) {
                               return a.workload == b.workload && a.message == b.message;
                             }),
                 warnings.end());
}

std::string JoinKey(std::string_view a, std::string_view b) {
  std::string k;
  k.reserve(a.size() + b.size() + 1);
  k.append(a);
  k += '/';
  k.append(b);
  return k;
}

std::vector<std::string_view> SplitLabels(std::string_view h) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (true) {
    const size_t dot = h.find('.', i);
    out.push_back(h.substr(i, dot == std::string_view::npos ? std::string_view::npos : dot - i));
    if (dot == std::string_view::npos) break;
    i = dot + 1;
  }
  return out;
}

}  // namespace npc::synth
