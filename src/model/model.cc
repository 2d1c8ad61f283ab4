#include "model/model.h"

#include <algorithm>

namespace npc {

bool Matches(const LabelSelector& selector, const Labels& labels) {
  for (const auto& [k, v] : selector.match_labels) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  for (const auto& r : selector.match_expressions) {
    auto it = labels.find(r.key);
    const bool has = it != labels.end();
    const bool in =
        has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
    if (r.op == "In") {
      if (!in) return false;
    } else if (r.op == "NotIn") {
      if (in) return false;
    } else if (r.op == "Exists") {
      if (!has) return false;
    } else if (r.op == "DoesNotExist") {
      if (has) return false;
    } else {
      return false;  // an unknown operator selects nothing (API validation rejects it)
    }
  }
  return true;
}

std::string_view KindName(WorkloadKind kind) {
  switch (kind) {
    case WorkloadKind::kDeployment: return "Deployment";
    case WorkloadKind::kStatefulSet: return "StatefulSet";
    case WorkloadKind::kDaemonSet: return "DaemonSet";
    case WorkloadKind::kReplicaSet: return "ReplicaSet";
    case WorkloadKind::kJob: return "Job";
    case WorkloadKind::kCronJob: return "CronJob";
    case WorkloadKind::kPod: return "Pod";
  }
  return "Unknown";
}

std::string_view KindApiVersion(WorkloadKind kind) {
  switch (kind) {
    case WorkloadKind::kDeployment:
    case WorkloadKind::kStatefulSet:
    case WorkloadKind::kDaemonSet:
    case WorkloadKind::kReplicaSet: return "apps/v1";
    case WorkloadKind::kJob:
    case WorkloadKind::kCronJob: return "batch/v1";
    case WorkloadKind::kPod: return "v1";
  }
  return "v1";
}

std::optional<WorkloadKind> ParseKind(std::string_view kind) {
  for (auto k : {WorkloadKind::kDeployment, WorkloadKind::kStatefulSet, WorkloadKind::kDaemonSet,
                 WorkloadKind::kReplicaSet, WorkloadKind::kJob, WorkloadKind::kCronJob,
                 WorkloadKind::kPod}) {
    if (KindName(k) == kind) return k;
  }
  return std::nullopt;
}

std::string WorkloadKey::ToString() const {
  std::string s(KindName(kind));
  s += '/';
  s += ns;
  s += '/';
  s += name;
  return s;
}

namespace {
PeerSelector Peer(std::string ns, Labels pods) {
  PeerSelector p;
  p.namespaces.match_labels[std::string(kNamespaceNameLabel)] = std::move(ns);
  p.pods.match_labels = std::move(pods);
  return p;
}
}  // namespace

SynthesisConfig SynthesisConfig::Defaults() {
  SynthesisConfig c;
  c.dns_peers = {Peer("kube-system", {{"k8s-app", "kube-dns"}})};
  c.monitoring_peers = {Peer("monitoring", {{"app.kubernetes.io/name", "prometheus"}})};
  c.ingress_controller_peers = {
      Peer("ingress-nginx", {{"app.kubernetes.io/name", "ingress-nginx"}}),
      Peer("traefik", {{"app.kubernetes.io/name", "traefik"}}),
      Peer("projectcontour", {{"app.kubernetes.io/name", "contour"}}),
      Peer("projectcontour", {{"app.kubernetes.io/name", "envoy"}}),
      Peer("haproxy-controller", {{"app.kubernetes.io/name", "haproxy-ingress"}}),
  };
  return c;
}

namespace {

// FNV-1a over a length-prefixed serialization: no two different specs
// serialize alike.
class Fingerprint {
 public:
  void Add(std::string_view s) {
    Num(s.size());
    for (char c : s) Byte(static_cast<unsigned char>(c));
  }
  void Num(uint64_t n) {
    for (int i = 0; i < 8; ++i) Byte(static_cast<unsigned char>(n >> (8 * i)));
  }
  void Add(const LabelSelector& s) {
    Num(s.match_labels.size());
    for (const auto& [k, v] : s.match_labels) Add(k), Add(v);
    Num(s.match_expressions.size());
    for (const auto& e : s.match_expressions) {
      Add(e.key), Add(e.op), Num(e.values.size());
      for (const auto& v : e.values) Add(v);
    }
  }
  template <typename T>
  void Optional(const std::optional<T>& o) {
    Num(o.has_value());
    if (o) Add(*o);
  }
  void Add(const IPBlock& b) {
    Add(b.cidr), Num(b.except.size());
    for (const auto& e : b.except) Add(e);
  }
  void Add(const std::vector<PolicyRule>& rules) {
    Num(rules.size());
    for (const PolicyRule& r : rules) {
      Num(r.peers.size());
      for (const PolicyPeer& p : r.peers) {
        Optional(p.namespace_selector), Optional(p.pod_selector), Optional(p.ip_block);
      }
      Num(r.ports.size());
      for (const PolicyPort& p : r.ports) {
        Add(p.protocol), Num(p.port.num.has_value()), Num(p.port.num.value_or(0)), Add(p.port.str);
        Num(p.end_port.has_value()), Num(p.end_port.value_or(0));
      }
    }
  }
  uint64_t value() const { return h_; }

 private:
  void Byte(unsigned char b) {
    h_ ^= b;
    h_ *= 0x100000001b3ULL;
  }
  uint64_t h_ = 0xcbf29ce484222325ULL;
};

}  // namespace

uint64_t PolicySpecFingerprint(const NetworkPolicy& policy) {
  Fingerprint f;
  f.Add(policy.pod_selector);
  f.Add(policy.ingress);
  f.Add(policy.egress);
  f.Num(policy.policy_types.size());
  for (const auto& t : policy.policy_types) f.Add(t);
  return f.value();
}

}  // namespace npc
