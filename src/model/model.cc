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
    const bool in = has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
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

}  // namespace npc
