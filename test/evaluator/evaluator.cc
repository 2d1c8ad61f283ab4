#include "evaluator/evaluator.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <utility>

namespace npc::eval {

using nlohmann::json;

// ---------------------------------------------------------------------------
// Parsed policies

namespace internal {

struct IpBlock {
  Cidr cidr;
  std::vector<Cidr> except;
};

struct Peer {
  std::optional<Selector> namespace_selector;
  std::optional<Selector> pod_selector;
  std::optional<IpBlock> ip_block;
};

struct Port {
  std::string protocol = "TCP";
  std::optional<int> number;  // neither number nor name: every port
  std::string name;
  std::optional<int> end_port;
};

struct Rule {
  std::vector<Peer> peers;  // empty: every peer
  std::vector<Port> ports;  // empty: every port
};

struct Policy {
  std::string ns;
  std::string name;
  Selector pod_selector;
  bool ingress_type = false;
  bool egress_type = false;
  std::vector<Rule> ingress;
  std::vector<Rule> egress;
};

}  // namespace internal

namespace {

Status Invalid(const std::string& where, const std::string& what) {
  return InvalidArgument(where + ": " + what);
}

Status CheckKeys(const json& obj, const std::string& where,
                 std::initializer_list<const char*> allowed) {
  if (!obj.is_object()) return Invalid(where, "must be an object");
  for (const auto& [k, v] : obj.items()) {
    bool known = false;
    for (const char* a : allowed) known = known || k == a;
    if (!known) return Invalid(where, "unknown field \"" + k + "\"");
  }
  return Status::Ok();
}

bool ValidProtocol(const std::string& p) {
  return p == "TCP" || p == "UDP" || p == "SCTP";
}

StatusOr<internal::Port> ParsePort(const json& j, const std::string& where) {
  NPC_RETURN_IF_ERROR(CheckKeys(j, where, {"protocol", "port", "endPort"}));
  internal::Port p;
  if (j.contains("protocol") && !j["protocol"].is_null()) {
    if (!j["protocol"].is_string()) return Invalid(where, "protocol must be a string");
    p.protocol = j["protocol"].get<std::string>();
    if (!ValidProtocol(p.protocol)) return Invalid(where, "unsupported protocol " + p.protocol);
  }
  if (j.contains("port") && !j["port"].is_null()) {
    const json& v = j["port"];
    if (v.is_number_integer()) {
      p.number = v.get<int>();
      if (*p.number < 1 || *p.number > 65535) return Invalid(where, "port out of range");
    } else if (v.is_string()) {
      p.name = v.get<std::string>();
      if (p.name.empty() || p.name.size() > 15) return Invalid(where, "bad port name");
      if (std::all_of(p.name.begin(), p.name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return Invalid(where, "a port name cannot be all digits (write a number)");
      }
    } else {
      return Invalid(where, "port must be a number or a name");
    }
  }
  if (j.contains("endPort") && !j["endPort"].is_null()) {
    if (!j["endPort"].is_number_integer()) return Invalid(where, "endPort must be a number");
    if (!p.number) return Invalid(where, "endPort needs a numeric port");
    p.end_port = j["endPort"].get<int>();
    if (*p.end_port < *p.number || *p.end_port > 65535) {
      return Invalid(where, "endPort must be >= port and <= 65535");
    }
  }
  return p;
}

StatusOr<internal::Peer> ParsePeer(const json& j, const std::string& where) {
  NPC_RETURN_IF_ERROR(CheckKeys(j, where, {"podSelector", "namespaceSelector", "ipBlock"}));
  internal::Peer peer;
  if (j.contains("podSelector") && !j["podSelector"].is_null()) {
    auto s = Selector::FromJson(j["podSelector"]);
    if (!s.ok()) return s.status().WithContext(where + ".podSelector");
    peer.pod_selector = *s;
  }
  if (j.contains("namespaceSelector") && !j["namespaceSelector"].is_null()) {
    auto s = Selector::FromJson(j["namespaceSelector"]);
    if (!s.ok()) return s.status().WithContext(where + ".namespaceSelector");
    peer.namespace_selector = *s;
  }
  if (j.contains("ipBlock") && !j["ipBlock"].is_null()) {
    if (peer.pod_selector || peer.namespace_selector) {
      return Invalid(where, "ipBlock cannot be combined with selectors");
    }
    const json& b = j["ipBlock"];
    NPC_RETURN_IF_ERROR(CheckKeys(b, where + ".ipBlock", {"cidr", "except"}));
    if (!b.contains("cidr") || !b["cidr"].is_string())
      return Invalid(where, "ipBlock.cidr required");
    auto cidr = Cidr::Parse(b["cidr"].get<std::string>());
    if (!cidr) return Invalid(where, "bad CIDR " + b["cidr"].get<std::string>());
    internal::IpBlock block{*cidr, {}};
    if (b.contains("except") && !b["except"].is_null()) {
      if (!b["except"].is_array()) return Invalid(where, "ipBlock.except must be a list");
      for (const json& e : b["except"]) {
        if (!e.is_string()) return Invalid(where, "ipBlock.except entries must be strings");
        auto ex = Cidr::Parse(e.get<std::string>());
        if (!ex) return Invalid(where, "bad CIDR in except " + e.get<std::string>());
        if (!cidr->Contains(*ex) || ex->prefix <= cidr->prefix) {
          return Invalid(where,
                         "except " + e.get<std::string>() + " is not strictly inside the cidr");
        }
        block.except.push_back(*ex);
      }
    }
    peer.ip_block = std::move(block);
  }
  if (!peer.pod_selector && !peer.namespace_selector && !peer.ip_block) {
    return Invalid(where, "a peer must set podSelector, namespaceSelector or ipBlock");
  }
  return peer;
}

StatusOr<std::vector<internal::Rule>> ParseRules(const json& spec, const char* key,
                                                 const char* peers_key, const std::string& where) {
  std::vector<internal::Rule> rules;
  if (!spec.contains(key) || spec[key].is_null()) return rules;
  const json& list = spec[key];
  if (!list.is_array()) return Invalid(where, std::string(key) + " must be a list");
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string rw = where + "." + key + "[" + std::to_string(i) + "]";
    NPC_RETURN_IF_ERROR(CheckKeys(list[i], rw, {"ports", peers_key}));
    internal::Rule rule;
    if (list[i].contains(peers_key) && !list[i][peers_key].is_null()) {
      const json& peers = list[i][peers_key];
      if (!peers.is_array()) return Invalid(rw, std::string(peers_key) + " must be a list");
      for (size_t k = 0; k < peers.size(); ++k) {
        auto peer = ParsePeer(peers[k], rw + "." + peers_key + "[" + std::to_string(k) + "]");
        if (!peer.ok()) return peer.status();
        rule.peers.push_back(*std::move(peer));
      }
    }
    if (list[i].contains("ports") && !list[i]["ports"].is_null()) {
      const json& ports = list[i]["ports"];
      if (!ports.is_array()) return Invalid(rw, "ports must be a list");
      for (size_t k = 0; k < ports.size(); ++k) {
        auto port = ParsePort(ports[k], rw + ".ports[" + std::to_string(k) + "]");
        if (!port.ok()) return port.status();
        rule.ports.push_back(*std::move(port));
      }
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

StatusOr<internal::Policy> ParsePolicy(const json& obj) {
  if (!obj.is_object()) return InvalidArgument("a NetworkPolicy must be an object");
  if (obj.value("kind", "") != "NetworkPolicy") {
    return InvalidArgument("kind must be NetworkPolicy, not \"" + obj.value("kind", "") + "\"");
  }
  if (obj.value("apiVersion", "") != "networking.k8s.io/v1") {
    return InvalidArgument("apiVersion must be networking.k8s.io/v1");
  }
  internal::Policy p;
  if (!obj.contains("metadata") || !obj["metadata"].is_object()) {
    return InvalidArgument("metadata required");
  }
  const json& md = obj["metadata"];
  p.ns = md.value("namespace", "");
  p.name = md.value("name", "");
  if (p.ns.empty() || p.name.empty())
    return InvalidArgument("metadata.namespace and name required");
  const std::string where = p.ns + "/" + p.name + " spec";
  if (!obj.contains("spec")) return Invalid(where, "missing");
  const json& spec = obj["spec"];
  NPC_RETURN_IF_ERROR(CheckKeys(spec, where, {"podSelector", "ingress", "egress", "policyTypes"}));
  if (spec.contains("podSelector") && !spec["podSelector"].is_null()) {
    auto s = Selector::FromJson(spec["podSelector"]);
    if (!s.ok()) return s.status().WithContext(where + ".podSelector");
    p.pod_selector = *s;
  }
  auto ingress = ParseRules(spec, "ingress", "from", where);
  if (!ingress.ok()) return ingress.status();
  p.ingress = *std::move(ingress);
  auto egress = ParseRules(spec, "egress", "to", where);
  if (!egress.ok()) return egress.status();
  p.egress = *std::move(egress);
  if (spec.contains("policyTypes") && !spec["policyTypes"].is_null() &&
      !spec["policyTypes"].empty()) {
    if (!spec["policyTypes"].is_array()) return Invalid(where, "policyTypes must be a list");
    for (const json& t : spec["policyTypes"]) {
      const std::string s = t.is_string() ? t.get<std::string>() : "";
      if (s == "Ingress") {
        p.ingress_type = true;
      } else if (s == "Egress") {
        p.egress_type = true;
      } else {
        return Invalid(where, "bad policyType " + t.dump());
      }
    }
  } else {
    // Defaulting as the API server does: Ingress always, Egress when the
    // policy has egress rules.
    p.ingress_type = true;
    p.egress_type = !p.egress.empty();
  }
  return p;
}

bool ParseInt(std::string_view s, int& out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

bool ParseV4(std::string_view s, uint8_t* out) {
  for (int i = 0; i < 4; ++i) {
    size_t dot = i < 3 ? s.find('.') : s.size();
    if (dot == std::string_view::npos) return false;
    std::string_view part = s.substr(0, dot);
    int v = 0;
    if (part.size() > 3 || (part.size() > 1 && part[0] == '0') || !ParseInt(part, v) || v > 255) {
      return false;
    }
    out[i] = static_cast<uint8_t>(v);
    s = i < 3 ? s.substr(dot + 1) : std::string_view();
  }
  return true;
}

bool ParseHextet(std::string_view s, uint16_t& out) {
  if (s.empty() || s.size() > 4) return false;
  unsigned v = 0;
  for (char c : s) {
    v <<= 4;
    if (c >= '0' && c <= '9') {
      v |= static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      v |= static_cast<unsigned>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      v |= static_cast<unsigned>(c - 'A' + 10);
    } else {
      return false;
    }
  }
  out = static_cast<uint16_t>(v);
  return true;
}

// Parses groups separated by ':' (possibly with a trailing dotted IPv4) into
// 16-bit words; returns false on any malformed piece.
bool ParseV6Groups(std::string_view s, std::vector<uint16_t>& words) {
  if (s.empty()) return true;
  size_t start = 0;
  while (true) {
    size_t colon = s.find(':', start);
    std::string_view part =
        s.substr(start, colon == std::string_view::npos ? s.npos : colon - start);
    if (colon == std::string_view::npos && part.find('.') != std::string_view::npos) {
      uint8_t v4[4];
      if (!ParseV4(part, v4)) return false;
      words.push_back(static_cast<uint16_t>(v4[0] << 8 | v4[1]));
      words.push_back(static_cast<uint16_t>(v4[2] << 8 | v4[3]));
      return true;
    }
    uint16_t w = 0;
    if (!ParseHextet(part, w)) return false;
    words.push_back(w);
    if (colon == std::string_view::npos) return true;
    start = colon + 1;
  }
}

Status ParseLabelMap(const json& j, LabelMap& out, const std::string& where) {
  if (!j.is_object()) return Invalid(where, "must be a map of strings");
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) return Invalid(where, "value of " + k + " must be a string");
    out[k] = v.get<std::string>();
  }
  return Status::Ok();
}

}  // namespace

// ---------------------------------------------------------------------------
// Selector

bool Selector::Matches(const LabelMap& labels) const {
  for (const auto& [k, v] : match_labels) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  for (const Requirement& r : match_expressions) {
    auto it = labels.find(r.key);
    const bool present = it != labels.end();
    const bool listed =
        present && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
    if (r.op == "In" && !listed) return false;
    if (r.op == "NotIn" && listed) return false;
    if (r.op == "Exists" && !present) return false;
    if (r.op == "DoesNotExist" && present) return false;
  }
  return true;
}

StatusOr<Selector> Selector::FromJson(const json& j) {
  NPC_RETURN_IF_ERROR(CheckKeys(j, "selector", {"matchLabels", "matchExpressions"}));
  Selector s;
  if (j.contains("matchLabels") && !j["matchLabels"].is_null()) {
    NPC_RETURN_IF_ERROR(ParseLabelMap(j["matchLabels"], s.match_labels, "matchLabels"));
  }
  if (j.contains("matchExpressions") && !j["matchExpressions"].is_null()) {
    if (!j["matchExpressions"].is_array()) return Invalid("matchExpressions", "must be a list");
    for (const json& e : j["matchExpressions"]) {
      NPC_RETURN_IF_ERROR(CheckKeys(e, "matchExpressions[]", {"key", "operator", "values"}));
      Requirement r;
      r.key = e.value("key", "");
      r.op = e.value("operator", "");
      if (r.key.empty()) return Invalid("matchExpressions[]", "key required");
      if (e.contains("values") && !e["values"].is_null()) {
        if (!e["values"].is_array()) return Invalid("matchExpressions[]", "values must be a list");
        for (const json& v : e["values"]) {
          if (!v.is_string()) return Invalid("matchExpressions[]", "values must be strings");
          r.values.push_back(v.get<std::string>());
        }
      }
      if (r.op == "In" || r.op == "NotIn") {
        if (r.values.empty()) return Invalid("matchExpressions[]", r.op + " needs values");
      } else if (r.op == "Exists" || r.op == "DoesNotExist") {
        if (!r.values.empty()) return Invalid("matchExpressions[]", r.op + " takes no values");
      } else {
        return Invalid("matchExpressions[]", "unknown operator \"" + r.op + "\"");
      }
      s.match_expressions.push_back(std::move(r));
    }
  }
  return s;
}

// ---------------------------------------------------------------------------
// Addresses

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  IpAddress ip;
  if (text.find(':') == std::string_view::npos) {
    if (!ParseV4(text, ip.bytes.data())) return std::nullopt;
    return ip;
  }
  ip.v6 = true;
  std::vector<uint16_t> head, tail;
  size_t gap = text.find("::");
  if (gap == std::string_view::npos) {
    if (!ParseV6Groups(text, head) || head.size() != 8) return std::nullopt;
  } else {
    if (text.find("::", gap + 1) != std::string_view::npos) return std::nullopt;
    if (!ParseV6Groups(text.substr(0, gap), head)) return std::nullopt;
    if (!ParseV6Groups(text.substr(gap + 2), tail)) return std::nullopt;
    if (head.size() + tail.size() > 7) return std::nullopt;
  }
  std::vector<uint16_t> words = head;
  words.resize(8 - tail.size(), 0);
  words.insert(words.end(), tail.begin(), tail.end());
  for (size_t i = 0; i < 8; ++i) {
    ip.bytes[2 * i] = static_cast<uint8_t>(words[i] >> 8);
    ip.bytes[2 * i + 1] = static_cast<uint8_t>(words[i] & 0xff);
  }
  return ip;
}

namespace {
bool PrefixEqual(const IpAddress& a, const IpAddress& b, int prefix) {
  int full = prefix / 8;
  for (int i = 0; i < full; ++i) {
    if (a.bytes[static_cast<size_t>(i)] != b.bytes[static_cast<size_t>(i)]) return false;
  }
  int rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.bytes[static_cast<size_t>(full)] & mask) == (b.bytes[static_cast<size_t>(full)] & mask);
}
}  // namespace

std::optional<Cidr> Cidr::Parse(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto ip = IpAddress::Parse(text.substr(0, slash));
  int prefix = 0;
  if (!ip || !ParseInt(text.substr(slash + 1), prefix)) return std::nullopt;
  if (prefix < 0 || prefix > (ip->v6 ? 128 : 32)) return std::nullopt;
  return Cidr{*ip, prefix};
}

bool Cidr::Contains(const IpAddress& ip) const {
  return ip.v6 == base.v6 && PrefixEqual(base, ip, prefix);
}

bool Cidr::Contains(const Cidr& other) const {
  return other.base.v6 == base.v6 && other.prefix >= prefix &&
         PrefixEqual(base, other.base, prefix);
}

// ---------------------------------------------------------------------------
// Cluster

struct Cluster::Resolved {
  const Pod* pod = nullptr;  // null for an external endpoint
  IpAddress ip;
  bool has_ip = false;
};

Cluster::Cluster() = default;
Cluster::~Cluster() = default;
Cluster::Cluster(Cluster&&) noexcept = default;
Cluster& Cluster::operator=(Cluster&&) noexcept = default;

void Cluster::AddNamespace(const std::string& name, LabelMap labels) {
  labels["kubernetes.io/metadata.name"] = name;
  namespaces_[name] = std::move(labels);
}

Status Cluster::AddPod(Pod pod) {
  if (!namespaces_.contains(pod.ns)) return NotFound("namespace " + pod.ns + " is unknown");
  if (FindPod(pod.ns, pod.name) != nullptr) {
    return Status(StatusCode::kAlreadyExists, "pod " + pod.ns + "/" + pod.name + " exists");
  }
  auto ip = IpAddress::Parse(pod.ip);
  if (!ip) return InvalidArgument("pod " + pod.name + ": bad IP " + pod.ip);
  for (const Pod& p : pods_) {
    if (p.ip == pod.ip) return InvalidArgument("IP " + pod.ip + " is taken by " + p.name);
  }
  for (const PodPort& port : pod.ports) {
    if (!ValidProtocol(port.protocol)) return InvalidArgument("bad protocol " + port.protocol);
  }
  pods_.push_back(std::move(pod));
  pod_ips_.push_back(*ip);
  return Status::Ok();
}

Status Cluster::AddPolicy(const nlohmann::ordered_json& object) {
  return AddPolicy(json(object));
}

Status Cluster::AddPolicy(const json& object) {
  if (object.is_object() && object.contains("items")) {
    if (!object["items"].is_array()) return InvalidArgument("items must be a list");
    for (const json& item : object["items"]) NPC_RETURN_IF_ERROR(AddPolicy(item));
    return Status::Ok();
  }
  auto p = ParsePolicy(object);
  if (!p.ok()) return p.status();
  policies_.push_back(*std::move(p));
  return Status::Ok();
}

size_t Cluster::policy_count() const {
  return policies_.size();
}

const Pod* Cluster::FindPod(std::string_view ns, std::string_view name) const {
  for (const Pod& p : pods_) {
    if (p.ns == ns && p.name == name) return &p;
  }
  return nullptr;
}

std::optional<Cluster::Resolved> Cluster::Resolve(const Endpoint& e) const {
  Resolved r;
  if (e.is_pod()) {
    for (size_t i = 0; i < pods_.size(); ++i) {
      if (pods_[i].ns == e.ns && pods_[i].name == e.name) {
        r.pod = pods_[i].host_network ? nullptr : &pods_[i];  // its node's address only
        r.ip = pod_ips_[i];
        r.has_ip = true;
        return r;
      }
    }
    return std::nullopt;
  }
  auto ip = IpAddress::Parse(e.ip);
  if (!ip) return std::nullopt;
  r.ip = *ip;
  r.has_ip = true;
  return r;
}

namespace {

bool PeerMatches(const internal::Peer& peer, const std::string& policy_ns,
                 const std::map<std::string, LabelMap>& namespaces, const Pod* pod,
                 const IpAddress& ip) {
  if (peer.ip_block) {
    if (!peer.ip_block->cidr.Contains(ip)) return false;
    for (const Cidr& ex : peer.ip_block->except) {
      if (ex.Contains(ip)) return false;
    }
    return true;
  }
  if (pod == nullptr) return false;  // selectors select pods only
  if (peer.namespace_selector) {
    auto ns = namespaces.find(pod->ns);
    if (ns == namespaces.end() || !peer.namespace_selector->Matches(ns->second)) return false;
  } else if (pod->ns != policy_ns) {
    return false;
  }
  return !peer.pod_selector || peer.pod_selector->Matches(pod->labels);
}

// `dst` is the destination pod (null when external): named ports resolve there.
bool PortMatches(const std::vector<internal::Port>& ports, const Pod* dst, int port,
                 const std::string& proto) {
  if (ports.empty()) return true;
  for (const internal::Port& p : ports) {
    if (p.protocol != proto) continue;
    if (p.number) {
      if (port >= *p.number && port <= p.end_port.value_or(*p.number)) return true;
    } else if (!p.name.empty()) {
      if (dst == nullptr) continue;
      for (const PodPort& cp : dst->ports) {
        if (cp.name == p.name && cp.protocol == proto && cp.port == port) return true;
      }
    } else {
      return true;  // protocol only: every port
    }
  }
  return false;
}

bool Selects(const internal::Policy& p, const Pod& pod) {
  return p.ns == pod.ns && p.pod_selector.Matches(pod.labels);
}

}  // namespace

bool Cluster::PeerSetMatches(const internal::Policy& p, size_t rule, bool egress,
                             const Resolved& peer) const {
  const internal::Rule& r = egress ? p.egress[rule] : p.ingress[rule];
  if (r.peers.empty()) return true;
  for (const internal::Peer& x : r.peers) {
    if (PeerMatches(x, p.ns, namespaces_, peer.pod, peer.ip)) return true;
  }
  return false;
}

bool Cluster::Allowed(const Endpoint& src, const Endpoint& dst, int port, std::string proto) const {
  return Explain(src, dst, port, proto).allowed;
}

Verdict Cluster::Explain(const Endpoint& src, const Endpoint& dst, int port,
                         const std::string& proto) const {
  Verdict v;
  auto s = Resolve(src);
  auto d = Resolve(dst);
  if (!s || !d || !ValidProtocol(proto)) return v;
  v.egress_allowed = true;
  v.ingress_allowed = true;
  if (s->pod != nullptr) {
    bool any = false;
    for (const internal::Policy& p : policies_) {
      if (!p.egress_type || !Selects(p, *s->pod)) continue;
      v.egress_isolated = true;
      for (size_t i = 0; i < p.egress.size(); ++i) {
        if (PeerSetMatches(p, i, true, *d) && PortMatches(p.egress[i].ports, d->pod, port, proto)) {
          any = true;
          v.allowed_by.push_back("egress " + p.ns + "/" + p.name + " rule " + std::to_string(i));
        }
      }
    }
    v.egress_allowed = !v.egress_isolated || any;
  }
  if (d->pod != nullptr) {
    bool any = false;
    for (const internal::Policy& p : policies_) {
      if (!p.ingress_type || !Selects(p, *d->pod)) continue;
      v.ingress_isolated = true;
      for (size_t i = 0; i < p.ingress.size(); ++i) {
        if (PeerSetMatches(p, i, false, *s) &&
            PortMatches(p.ingress[i].ports, d->pod, port, proto)) {
          any = true;
          v.allowed_by.push_back("ingress " + p.ns + "/" + p.name + " rule " + std::to_string(i));
        }
      }
    }
    v.ingress_allowed = !v.ingress_isolated || any;
  }
  v.allowed = v.egress_allowed && v.ingress_allowed;
  return v;
}

std::string Verdict::ToString() const {
  std::string s = allowed ? "allowed" : "denied";
  s += egress_isolated ? (egress_allowed ? "; egress allowed" : "; egress denied")
                       : "; egress not isolated";
  s += ingress_isolated ? (ingress_allowed ? "; ingress allowed" : "; ingress denied")
                        : "; ingress not isolated";
  for (const std::string& b : allowed_by) s += "; " + b;
  return s;
}

// ---------------------------------------------------------------------------
// Matrix

Matrix::Matrix(std::vector<Endpoint> endpoints, std::vector<Probe> probes)
    : endpoints_(std::move(endpoints)),
      probes_(std::move(probes)),
      cells_(endpoints_.size() * endpoints_.size() * probes_.size(), Cell::kDenied) {}

bool Matrix::Judged(size_t src, size_t dst) const {
  return src != dst && (endpoints_[src].is_pod() || endpoints_[dst].is_pod());
}

Matrix Matrix::Compute(const Cluster& cluster, std::vector<Probe> probes,
                       const std::vector<std::string>& external_ips) {
  std::vector<Endpoint> endpoints;
  std::vector<Cluster::Resolved> resolved;
  for (size_t i = 0; i < cluster.pods_.size(); ++i) {
    endpoints.push_back(Endpoint::Pod(cluster.pods_[i].ns, cluster.pods_[i].name));
    const Pod* pod = cluster.pods_[i].host_network ? nullptr : &cluster.pods_[i];
    resolved.push_back({pod, cluster.pod_ips_[i], true});
  }
  for (const std::string& ip : external_ips) {
    endpoints.push_back(Endpoint::External(ip));
    auto parsed = IpAddress::Parse(ip);
    resolved.push_back({nullptr, parsed.value_or(IpAddress{}), parsed.has_value()});
  }
  Matrix m(std::move(endpoints), std::move(probes));
  const size_t n = m.endpoints_.size();

  // Per endpoint: the policies that isolate it, for egress and for ingress.
  std::vector<std::vector<const internal::Policy*>> egress_of(n), ingress_of(n);
  for (size_t i = 0; i < n; ++i) {
    if (resolved[i].pod == nullptr) continue;
    for (const internal::Policy& p : cluster.policies_) {
      if (!Selects(p, *resolved[i].pod)) continue;
      if (p.egress_type) egress_of[i].push_back(&p);
      if (p.ingress_type) ingress_of[i].push_back(&p);
    }
  }
  struct Applicable {
    bool isolated = false;
    std::vector<const std::vector<internal::Port>*> ports;  // rules whose peers match
  };
  auto applicable = [&](const std::vector<const internal::Policy*>& policies, bool egress,
                        const Cluster::Resolved& peer) {
    Applicable a;
    a.isolated = !policies.empty();
    for (const internal::Policy* p : policies) {
      const auto& rules = egress ? p->egress : p->ingress;
      for (size_t r = 0; r < rules.size(); ++r) {
        if (cluster.PeerSetMatches(*p, r, egress, peer)) a.ports.push_back(&rules[r].ports);
      }
    }
    return a;
  };
  for (size_t s = 0; s < n; ++s) {
    for (size_t d = 0; d < n; ++d) {
      if (!m.Judged(s, d) || !resolved[s].has_ip || !resolved[d].has_ip) continue;
      Applicable e = applicable(egress_of[s], true, resolved[d]);
      Applicable in = applicable(ingress_of[d], false, resolved[s]);
      for (size_t k = 0; k < m.probes_.size(); ++k) {
        const Probe& pr = m.probes_[k];
        if (!ValidProtocol(pr.protocol)) continue;
        auto ok = [&](const Applicable& a) {
          if (!a.isolated) return true;
          for (const auto* ports : a.ports) {
            if (PortMatches(*ports, resolved[d].pod, pr.port, pr.protocol)) return true;
          }
          return false;
        };
        if (ok(e) && ok(in)) m.set(s, d, k, Cell::kAllowed);
      }
    }
  }
  return m;
}

size_t Matrix::CountAllowed() const {
  return static_cast<size_t>(std::count(cells_.begin(), cells_.end(), Cell::kAllowed));
}

std::vector<std::string> Matrix::Diff(const Matrix& expected, size_t limit) const {
  std::vector<std::string> out;
  if (expected.endpoints_ != endpoints_ || expected.probes_.size() != probes_.size()) {
    out.push_back("matrices have different endpoints or probes");
    return out;
  }
  size_t more = 0;
  const size_t n = endpoints_.size();
  for (size_t s = 0; s < n; ++s) {
    for (size_t d = 0; d < n; ++d) {
      if (!Judged(s, d)) continue;
      for (size_t k = 0; k < probes_.size(); ++k) {
        const Cell want = expected.at(s, d, k);
        const Cell got = at(s, d, k);
        if (want == Cell::kEither || want == got) continue;
        if (out.size() >= limit) {
          ++more;
          continue;
        }
        out.push_back(
            endpoints_[s].ToString() + " -> " + endpoints_[d].ToString() + " " +
            probes_[k].ToString() + ": " +
            (got == Cell::kAllowed ? "allowed, expected denied" : "denied, expected allowed"));
      }
    }
  }
  if (more > 0) out.push_back("... and " + std::to_string(more) + " more");
  return out;
}

std::string Matrix::ToString() const {
  std::string out;
  const size_t n = endpoints_.size();
  for (size_t s = 0; s < n; ++s) {
    for (size_t d = 0; d < n; ++d) {
      if (!Judged(s, d)) continue;
      std::string line;
      for (size_t k = 0; k < probes_.size(); ++k) {
        if (at(s, d, k) == Cell::kDenied) continue;
        line += " " + probes_[k].ToString();
        if (at(s, d, k) == Cell::kEither) line += "?";
      }
      if (!line.empty()) {
        out += endpoints_[s].ToString() + " -> " + endpoints_[d].ToString() + ":" + line + "\n";
      }
    }
  }
  return out;
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

}  // namespace npc::eval
