// Names and addresses of the test dataplane (scripts/with-cluster --dataplane),
// shared by the node runner, the prober and the tests.
//
// Every address is inside 198.18.0.0/15 (RFC 2544, benchmarking) and lives
// only inside network namespaces the dataplane creates:
//   198.18.0.0/17      pod CIDR of the cluster (kube-proxy --cluster-cidr)
//   198.18.0.0/20      the node's podCIDR: pods get 198.18.0.2 ... 198.18.15.254
//   198.18.128.1       the node (on lo of the node netns; hostNetwork pods)
//   198.18.128.10      the API server as published in default/kubernetes (a
//                      forwarder in the node netns relays to 127.0.0.1)
//   198.19.0.0/16      Services (kube-apiserver --service-cluster-ip-range)
//   198.19.0.1         default/kubernetes;  198.19.0.10  kube-system/kube-dns
//
// Network namespaces are named "npc-<cluster id>-<what>", the cluster id being
// the suffix of the cluster directory ($NPC_CLUSTER_DIR = /tmp/npc-cluster.<id>):
//   npc-<id>-node          the node: kube-proxy, the enforcer, hostNetwork pods
//   npc-<id>-<uid10>       one pod, by the first 10 hex digits of its UID
#pragma once

#include <string>
#include <string_view>

namespace npc::dataplane {

inline constexpr std::string_view kNodeIp = "198.18.128.1";
inline constexpr std::string_view kApiServerIp = "198.18.128.10";
inline constexpr std::string_view kClusterDnsIp = "198.19.0.10";
inline constexpr std::string_view kClusterDomain = "cluster.local";

// "a1b2c3d4e5" from "a1b2c3d4-e5f6-...": the UID's first 10 hex digits.
inline std::string UidTag(std::string_view uid) {
  std::string out;
  for (char c : uid) {
    if (out.size() == 10) break;
    if (c != '-') out += c;
  }
  return out;
}

// The cluster id of a cluster directory: what follows "npc-cluster." in its
// last path component ("" when it does not look like one).
inline std::string ClusterId(std::string_view cluster_dir) {
  while (!cluster_dir.empty() && cluster_dir.back() == '/') cluster_dir.remove_suffix(1);
  const size_t slash = cluster_dir.rfind('/');
  std::string_view base = slash == std::string_view::npos ? cluster_dir : cluster_dir.substr(slash + 1);
  constexpr std::string_view kPrefix = "npc-cluster.";
  if (base.substr(0, kPrefix.size()) != kPrefix) return "";
  return std::string(base.substr(kPrefix.size()));
}

inline std::string NodeNetns(std::string_view cluster_id) {
  return "npc-" + std::string(cluster_id) + "-node";
}
inline std::string PodNetns(std::string_view cluster_id, std::string_view uid) {
  return "npc-" + std::string(cluster_id) + "-" + UidTag(uid);
}
// The node side of a pod's veth pair (in the node netns); IFNAMSIZ allows 15.
inline std::string PodVeth(std::string_view uid) { return "veth" + UidTag(uid); }

}  // namespace npc::dataplane
