#include "synth/observed.h"

#include <arpa/inet.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>

#include "synth/index.h"

namespace npc::synth {

namespace {

// An address as bytes (IPv4 in the first 4), for ipBlock matching.
struct Ip {
  bool v6 = false;
  std::array<uint8_t, 16> b{};
};

std::optional<Ip> ParseIp(const std::string& text) {
  Ip ip;
  if (inet_pton(AF_INET, text.c_str(), ip.b.data()) == 1) return ip;
  ip.v6 = true;
  if (inet_pton(AF_INET6, text.c_str(), ip.b.data()) == 1) return ip;
  return std::nullopt;
}

bool InCidr(const Ip& ip, const std::string& cidr) {
  const size_t slash = cidr.find('/');
  if (slash == std::string::npos) return false;
  auto base = ParseIp(cidr.substr(0, slash));
  if (!base || base->v6 != ip.v6) return false;
  int prefix = 0;
  for (char c : cidr.substr(slash + 1)) {
    if (c < '0' || c > '9') return false;
    prefix = prefix * 10 + (c - '0');
  }
  if (prefix > (ip.v6 ? 128 : 32)) return false;
  for (int i = 0; i < prefix; ++i) {
    const int bit = 7 - i % 8;
    if (((ip.b[i / 8] >> bit) & 1) != ((base->b[i / 8] >> bit) & 1)) return false;
  }
  return true;
}

// One end of a flow as NetworkPolicy sees it.
struct End {
  const Workload* workload = nullptr;  // null: external
  std::string ns;
  Labels labels;
  Labels ns_labels;
  std::optional<Ip> ip;  // external only
};

Labels PodLabelsOf(const Workload& w) {
  Labels l = w.template_labels;
  if (w.kind == WorkloadKind::kPod && l.empty()) {
    l[std::string(kBarePodLabel)] = BarePodLabelValue(w.name);
  }
  return l;
}

Labels NamespaceLabelsOf(const Snapshot& s, const std::string& ns) {
  Labels l;
  for (const Namespace& n : s.namespaces) {
    if (n.name == ns) l = n.labels;
  }
  l[std::string(kNamespaceNameLabel)] = ns;
  return l;
}

bool PeerMatches(const PolicyPeer& peer, const std::string& policy_ns, const End& e) {
  if (peer.ip_block) {
    if (e.workload || !e.ip) return false;
    if (!InCidr(*e.ip, peer.ip_block->cidr)) return false;
    for (const std::string& x : peer.ip_block->except) {
      if (InCidr(*e.ip, x)) return false;
    }
    return true;
  }
  if (!e.workload) return false;  // selectors never match an external address
  if (peer.namespace_selector) {
    if (!Matches(*peer.namespace_selector, e.ns_labels)) return false;
  } else if (e.ns != policy_ns) {
    return false;
  }
  return !peer.pod_selector || Matches(*peer.pod_selector, e.labels);
}

bool PortMatches(const PolicyPort& pp, int32_t port, const std::string& protocol, const End& dst) {
  if ((pp.protocol.empty() ? "TCP" : pp.protocol) != protocol) return false;
  if (pp.port.empty()) return true;
  if (pp.port.num) {
    const int32_t lo = *pp.port.num;
    const int32_t hi = pp.end_port.value_or(lo);
    return port >= lo && port <= hi;
  }
  // A named port resolves against the destination pod's container ports.
  if (!dst.workload) return false;
  for (const Container& c : dst.workload->containers) {
    for (const ContainerPort& cp : c.ports) {
      if (cp.name == pp.port.str && (cp.protocol.empty() ? "TCP" : cp.protocol) == protocol &&
          cp.port == port) {
        return true;
      }
    }
  }
  return false;
}

bool HasType(const NetworkPolicy& p, std::string_view type) {
  for (const std::string& t : p.policy_types) {
    if (t == type) return true;
  }
  return false;
}

// Whether `self`'s side of the flow lets it through: `egress` judges self ->
// peer with self's egress rules; else peer -> self with self's ingress rules.
// `denied_by` names the policies that isolate it when it does not.
bool SideAllows(const End& self, const End& peer, bool egress, int32_t port,
                const std::string& protocol, const PoliciesIn& policies_in,
                std::string* denied_by) {
  if (!self.workload) return true;
  const std::vector<const NetworkPolicy*> policies =
      policies_in ? policies_in(self.ns) : std::vector<const NetworkPolicy*>{};
  bool isolated = false;
  std::string names;
  const End& dst = egress ? peer : self;
  for (const NetworkPolicy* p : policies) {
    if (!p || p->ns != self.ns || !Matches(p->pod_selector, self.labels)) continue;
    if (!HasType(*p, egress ? "Egress" : "Ingress")) continue;
    isolated = true;
    names += (names.empty() ? "" : ", ") + p->ns + "/" + p->name;
    for (const PolicyRule& r : egress ? p->egress : p->ingress) {
      bool peer_ok = r.peers.empty();
      for (const PolicyPeer& pp : r.peers) peer_ok = peer_ok || PeerMatches(pp, p->ns, peer);
      if (!peer_ok) continue;
      bool port_ok = r.ports.empty();
      for (const PolicyPort& pp : r.ports)
        port_ok = port_ok || PortMatches(pp, port, protocol, dst);
      if (port_ok) return true;
    }
  }
  if (!isolated) return true;
  *denied_by = names;
  return false;
}

}  // namespace

std::string FormatUnixTime(int64_t seconds) {
  using namespace std::chrono;
  const sys_seconds t{std::chrono::seconds(seconds)};
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", int(ymd.year()),
                unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count() % 24),
                int(hms.minutes().count() % 60), int(hms.seconds().count() % 60));
  return buf;
}

bool ObservedAllowed(const ObservedFlow& f, const SynthesisConfig& config) {
  if (config.observed_flows != ObservedFlowsMode::kAllow) return false;
  if (f.last_seen < config.observed_not_before) return false;
  if (f.port <= 0) return false;
  return f.server.has_value() || config.allow_observed_external;
}

std::string DescribeObserved(const ObservedFlow& f) {
  return "observed " + std::to_string(f.count) + (f.count == 1 ? " time" : " times") + " since " +
         FormatUnixTime(f.first_seen) + ", last " + FormatUnixTime(f.last_seen);
}

Edge ObservedEdge(const ObservedFlow& f) {
  Edge e;
  e.client = f.client;
  if (f.server) {
    e.target = f.server;
    e.service_ns = f.server->ns;
  }
  ServicePort sp;
  sp.protocol = f.protocol;
  sp.port = f.port;
  e.ports = {sp};
  e.host = f.server ? f.server->ToString() : f.address;
  e.source.field = "observed";
  e.source.value = DescribeObserved(f);
  e.observed = true;
  return e;
}

std::string WouldDeny::Server() const {
  return flow.server ? flow.server->ToString() : flow.address;
}

std::vector<WouldDeny> JudgeObservedFlows(const ClusterIndex& index,
                                          const std::vector<ObservedFlow>& flows,
                                          const PoliciesIn& policies_in) {
  std::vector<WouldDeny> out;
  std::map<std::string, Labels> ns_labels;
  auto labels_of_ns = [&](const std::string& ns) -> const Labels& {
    auto it = ns_labels.find(ns);
    if (it == ns_labels.end())
      it = ns_labels.emplace(ns, NamespaceLabelsOf(index.snapshot(), ns)).first;
    return it->second;
  };
  for (const ObservedFlow& f : flows) {
    const Workload* cw = index.FindWorkload(f.client);
    if (!cw) continue;
    End client{cw, cw->ns, PodLabelsOf(*cw), labels_of_ns(cw->ns), std::nullopt};
    End server;
    if (f.server) {
      const Workload* sw = index.FindWorkload(*f.server);
      if (!sw) continue;
      server = End{sw, sw->ns, PodLabelsOf(*sw), labels_of_ns(sw->ns), std::nullopt};
    } else {
      server.ip = ParseIp(f.address);
    }
    const std::string on = std::to_string(f.port) + "/" + f.protocol;
    WouldDeny d;
    d.flow = f;
    d.egress_denied = !SideAllows(client, server, /*egress=*/true, f.port, f.protocol, policies_in,
                                  &d.client_policy);
    d.ingress_denied = !SideAllows(server, client, /*egress=*/false, f.port, f.protocol,
                                   policies_in, &d.server_policy);
    if (!d.egress_denied && !d.ingress_denied) continue;
    if (d.egress_denied) {
      d.missing = "egress of " + d.client_policy + " to " + d.Server() + " on " + on;
    }
    if (d.ingress_denied) {
      if (!d.missing.empty()) d.missing += "; ";
      d.missing += "ingress of " + d.server_policy + " from " + f.client.ToString() + " on " + on;
    }
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<WouldDeny> JudgeObservedFlows(const Snapshot& snapshot, const SynthesisConfig& config,
                                          const Result& result) {
  if (config.observed_flows == ObservedFlowsMode::kOff || snapshot.observed_flows.empty())
    return {};
  std::map<std::string, std::vector<const NetworkPolicy*>> by_ns;
  for (const WorkloadPolicy& p : result.policies) by_ns[p.policy.ns].push_back(&p.policy);
  for (const NetworkPolicy& p : result.default_deny) by_ns[p.ns].push_back(&p);
  const ClusterIndex index(snapshot, config);
  return JudgeObservedFlows(index, snapshot.observed_flows, [&](const std::string& ns) {
    auto it = by_ns.find(ns);
    return it == by_ns.end() ? std::vector<const NetworkPolicy*>{} : it->second;
  });
}

}  // namespace npc::synth
