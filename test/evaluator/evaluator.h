// A reference evaluator of Kubernetes NetworkPolicy semantics, for tests.
//
// It answers "is this flow allowed?" for a small model cluster (namespaces,
// pods with IPs and container ports) and a set of NetworkPolicies given in
// their Kubernetes JSON form (as `kubectl get netpol -o json` prints them, or
// render::PolicyToJson builds them). It deliberately shares no code with
// synthesis (src/synth) nor with the model's selector matching: it is the
// independent judge that the property tests hold synthesis against.
//
//   eval::Cluster c;
//   c.AddNamespace("shop", {{"team", "a"}});
//   ASSERT_TRUE(c.AddPod({.ns = "shop", .name = "web-0", .labels = {{"app", "web"}},
//                         .ip = "10.0.0.1"}).ok());
//   ASSERT_TRUE(c.AddPolicy(policy_json).ok());
//   bool ok = c.Allowed(eval::Endpoint::Pod("shop", "web-0"),
//                       eval::Endpoint::External("203.0.113.7"), 443, "TCP");
//
// Semantics (networking.k8s.io/v1, see the API reference):
// - A pod is isolated for ingress (egress) when some policy in its namespace
//   selects it and lists Ingress (Egress) in policyTypes. policyTypes, when
//   absent, is [Ingress] plus Egress if the policy has egress rules.
// - A flow src -> dst on (port, protocol) is allowed iff egress from src is
//   allowed (src not isolated for egress, or some egress rule of a policy
//   selecting src matches dst) AND ingress to dst is allowed (likewise).
//   External endpoints (an IP that is no pod) have no policies of their own.
// - A rule with no peers matches every peer; with no ports, every port.
// - A peer with only podSelector selects pods in the POLICY's namespace; only
//   namespaceSelector, every pod of the matching namespaces; both, pods that
//   satisfy both. ipBlock matches by IP, pod IPs included, minus `except`.
// - A port is a number, a range (port..endPort) or a name; a name resolves
//   against the DESTINATION pod's container ports (name and protocol), for
//   ingress and egress alike, and never matches an external destination.
//   Protocol defaults to TCP. A port entry with no port matches every port
//   of its protocol.
// - A hostNetwork pod (Pod::host_network) has its node's address and is
//   subject to no policy: no policy selects it, no pod or namespace selector
//   matches it as a peer, and named ports never resolve on it. As a peer it is
//   its IP, like an external endpoint, which only ipBlocks match.
// - Traffic of a pod to itself is evaluated like any other flow (Matrix
//   leaves it out, since CNIs disagree about loopback).
// - Every namespace carries the label kubernetes.io/metadata.name: <name>.
//
// Policies are validated as the API server would (peer field combinations,
// endPort rules, selector operators, CIDRs) and unknown spec fields are
// rejected, so a malformed rendering fails loudly instead of being misjudged.
//
// Thread-safety: a Cluster is not synchronized; const methods may run
// concurrently once it is no longer modified.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace npc::eval {

using LabelMap = std::map<std::string, std::string>;

// ---------------------------------------------------------------------------
// Label selectors (metav1.LabelSelector)

struct Requirement {
  std::string key;
  std::string op;  // In, NotIn, Exists, DoesNotExist
  std::vector<std::string> values;
};

struct Selector {
  LabelMap match_labels;
  std::vector<Requirement> match_expressions;

  // True when `labels` satisfy every requirement; an empty selector matches all.
  [[nodiscard]] bool Matches(const LabelMap& labels) const;
  // Parses and validates a LabelSelector object.
  [[nodiscard]] static StatusOr<Selector> FromJson(const nlohmann::json& j);
};

// ---------------------------------------------------------------------------
// Addresses

struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // IPv4 uses the first 4

  [[nodiscard]] static std::optional<IpAddress> Parse(std::string_view text);
};

struct Cidr {
  IpAddress base;
  int prefix = 0;

  // "10.0.0.0/8", "2001:db8::/32". A plain address is not a CIDR.
  [[nodiscard]] static std::optional<Cidr> Parse(std::string_view text);
  // False across families (an IPv4 address is never in an IPv6 CIDR).
  [[nodiscard]] bool Contains(const IpAddress& ip) const;
  [[nodiscard]] bool Contains(const Cidr& other) const;
};

// ---------------------------------------------------------------------------
// The model cluster

struct PodPort {
  std::string name;  // "" when unnamed
  int port = 0;
  std::string protocol = "TCP";
};

struct Pod {
  std::string ns;
  std::string name;
  LabelMap labels;
  std::string ip;
  std::vector<PodPort> ports;
  bool host_network = false;  // `ip` is its node's address
};

// One end of a flow: a pod of the cluster, or an external IP.
struct Endpoint {
  std::string ns;    // empty for an external endpoint
  std::string name;  // pod name
  std::string ip;    // external endpoints only

  static Endpoint Pod(std::string ns, std::string name) {
    return {std::move(ns), std::move(name), ""};
  }
  static Endpoint External(std::string ip) { return {"", "", std::move(ip)}; }
  [[nodiscard]] bool is_pod() const { return !name.empty(); }
  [[nodiscard]] std::string ToString() const { return is_pod() ? ns + "/" + name : ip; }
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// Why a flow was judged as it was.
struct Verdict {
  bool allowed = false;
  bool egress_isolated = false;  // some policy isolates the source for egress
  bool egress_allowed = false;
  bool ingress_isolated = false;
  bool ingress_allowed = false;
  std::vector<std::string> allowed_by;  // "egress ns/policy rule 0", "ingress ns/policy rule 2"
  std::string ToString() const;
};

namespace internal {
struct Policy;
}

class Cluster {
 public:
  Cluster();
  ~Cluster();
  Cluster(Cluster&&) noexcept;
  Cluster& operator=(Cluster&&) noexcept;
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // Adds (or replaces the labels of) a namespace. The label
  // kubernetes.io/metadata.name is always set to `name`.
  void AddNamespace(const std::string& name, LabelMap labels = {});
  // Fails when the namespace is unknown, the pod exists, or the IP does not parse
  // or is taken.
  [[nodiscard]] Status AddPod(Pod pod);
  // A NetworkPolicy object, or a List (kind ...List) of them. Fails, adding
  // nothing from a failing object, when it is not a valid NetworkPolicy.
  [[nodiscard]] Status AddPolicy(const nlohmann::json& object);
  [[nodiscard]] Status AddPolicy(const nlohmann::ordered_json& object);

  [[nodiscard]] const std::vector<Pod>& pods() const { return pods_; }
  [[nodiscard]] const Pod* FindPod(std::string_view ns, std::string_view name) const;
  [[nodiscard]] size_t policy_count() const;

  // An unknown pod endpoint, or a protocol other than TCP/UDP/SCTP, is denied.
  [[nodiscard]] bool Allowed(const Endpoint& src, const Endpoint& dst, int port,
                             std::string proto) const;
  [[nodiscard]] Verdict Explain(const Endpoint& src, const Endpoint& dst, int port,
                                const std::string& proto) const;

 private:
  friend class Matrix;
  struct Resolved;
  [[nodiscard]] std::optional<Resolved> Resolve(const Endpoint& e) const;
  [[nodiscard]] bool PeerSetMatches(const internal::Policy& p, size_t rule, bool egress,
                                    const Resolved& peer) const;

  std::map<std::string, LabelMap> namespaces_;
  std::vector<Pod> pods_;
  std::vector<IpAddress> pod_ips_;  // parallel to pods_
  std::vector<internal::Policy> policies_;
};

// ---------------------------------------------------------------------------
// Connectivity matrices

struct Probe {
  int port = 0;
  std::string protocol = "TCP";
  std::string ToString() const { return std::to_string(port) + "/" + protocol; }
};

enum class Cell : uint8_t { kDenied = 0, kAllowed = 1, kEither = 2 };

inline std::ostream& operator<<(std::ostream& os, Cell c) {
  return os << (c == Cell::kAllowed ? "allowed" : c == Cell::kDenied ? "denied" : "either");
}

// A connectivity matrix over endpoints x endpoints x probes. Flows of an
// endpoint to itself and between two external endpoints are not part of it.
class Matrix {
 public:
  Matrix(std::vector<Endpoint> endpoints, std::vector<Probe> probes);

  // Every pod of `cluster` (in order) followed by `external_ips`, judged by
  // the cluster's policies.
  [[nodiscard]] static Matrix Compute(const Cluster& cluster, std::vector<Probe> probes,
                                      const std::vector<std::string>& external_ips = {});

  [[nodiscard]] const std::vector<Endpoint>& endpoints() const { return endpoints_; }
  [[nodiscard]] const std::vector<Probe>& probes() const { return probes_; }
  [[nodiscard]] Cell at(size_t src, size_t dst, size_t probe) const {
    return cells_[Index(src, dst, probe)];
  }
  void set(size_t src, size_t dst, size_t probe, Cell c) { cells_[Index(src, dst, probe)] = c; }
  // Whether (src, dst) is a pair the matrix judges.
  [[nodiscard]] bool Judged(size_t src, size_t dst) const;
  [[nodiscard]] size_t CountAllowed() const;

  // Differences against `expected` (same endpoints and probes, in order), one
  // line each: "shop/web-0 -> data/db-0 5432/TCP: allowed, expected denied".
  // Cells expected kEither accept both answers. At most `limit` lines, then
  // "... and N more".
  [[nodiscard]] std::vector<std::string> Diff(const Matrix& expected, size_t limit = 50) const;
  // A table, one row per allowed (src, dst) pair with its allowed probes.
  [[nodiscard]] std::string ToString() const;

 private:
  [[nodiscard]] size_t Index(size_t src, size_t dst, size_t probe) const {
    return (src * endpoints_.size() + dst) * probes_.size() + probe;
  }
  std::vector<Endpoint> endpoints_;
  std::vector<Probe> probes_;
  std::vector<Cell> cells_;
};

// Joins Diff() lines for a failure message.
std::string JoinLines(const std::vector<std::string>& lines);

}  // namespace npc::eval
