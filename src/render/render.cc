#include "render/render.h"

#include <array>
#include <cctype>
#include <string_view>

namespace npc::render {

using nlohmann::ordered_json;

namespace {

// Field order follows the Go structs of k8s.io/api, and optional fields are
// left out when empty, as the API server stores them (omitempty).

ordered_json SelectorToJson(const LabelSelector& s) {
  ordered_json j = ordered_json::object();
  if (!s.match_labels.empty()) {
    ordered_json labels = ordered_json::object();
    for (const auto& [k, v] : s.match_labels) labels[k] = v;
    j["matchLabels"] = std::move(labels);
  }
  if (!s.match_expressions.empty()) {
    ordered_json exprs = ordered_json::array();
    for (const LabelSelectorRequirement& r : s.match_expressions) {
      ordered_json e = ordered_json::object();
      e["key"] = r.key;
      e["operator"] = r.op;
      if (!r.values.empty()) e["values"] = r.values;
      exprs.push_back(std::move(e));
    }
    j["matchExpressions"] = std::move(exprs);
  }
  return j;
}

ordered_json PeerToJson(const PolicyPeer& p) {
  ordered_json j = ordered_json::object();
  if (p.pod_selector) j["podSelector"] = SelectorToJson(*p.pod_selector);
  if (p.namespace_selector) j["namespaceSelector"] = SelectorToJson(*p.namespace_selector);
  if (p.ip_block) {
    ordered_json b = ordered_json::object();
    b["cidr"] = p.ip_block->cidr;
    if (!p.ip_block->except.empty()) b["except"] = p.ip_block->except;
    j["ipBlock"] = std::move(b);
  }
  return j;
}

ordered_json PortToJson(const PolicyPort& p) {
  ordered_json j = ordered_json::object();
  j["protocol"] = p.protocol.empty() ? "TCP" : p.protocol;
  if (p.port.num) {
    j["port"] = *p.port.num;
  } else if (!p.port.str.empty()) {
    j["port"] = p.port.str;
  }
  if (p.end_port) j["endPort"] = *p.end_port;
  return j;
}

ordered_json RuleToJson(const PolicyRule& r, const char* peers_key) {
  ordered_json j = ordered_json::object();
  if (!r.peers.empty()) {
    ordered_json peers = ordered_json::array();
    for (const PolicyPeer& p : r.peers) peers.push_back(PeerToJson(p));
    j[peers_key] = std::move(peers);
  }
  if (!r.ports.empty()) {
    ordered_json ports = ordered_json::array();
    for (const PolicyPort& p : r.ports) ports.push_back(PortToJson(p));
    j["ports"] = std::move(ports);
  }
  return j;
}

// ---------------------------------------------------------------------------
// A small YAML emitter for JSON values: block style, kubectl's layout
// (sequences at their key's indentation), and every string that a YAML 1.1 or
// 1.2 reader could take for something else double-quoted.

bool IsPlainSafe(const std::string& s) {
  if (s.empty()) return false;
  const unsigned char first = static_cast<unsigned char>(s[0]);
  if (!std::isalpha(first) && first != '_' && first != '/') return false;
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (!std::isalnum(c) && c != '_' && c != '.' && c != '/' && c != '-') return false;
  }
  std::string lower;
  for (char ch : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  static constexpr std::array<std::string_view, 11> kReserved = {
      "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "nan"};
  for (std::string_view r : kReserved) {
    if (lower == r) return false;
  }
  return true;
}

std::string Scalar(const ordered_json& v) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    // JSON string syntax is valid YAML double-quoted syntax.
    return IsPlainSafe(s) ? s : ordered_json(s).dump();
  }
  if (v.is_object()) return "{}";  // only called for empty containers
  if (v.is_array()) return "[]";
  return v.dump();  // numbers, booleans, null
}

bool IsBlock(const ordered_json& v) {
  return (v.is_object() || v.is_array()) && !v.empty();
}

void EmitSeq(const ordered_json& seq, const std::string& indent, std::string& out);

void EmitMap(const ordered_json& map, const std::string& indent, std::string& out,
             bool first_line_has_dash) {
  bool first = true;
  for (const auto& [key, value] : map.items()) {
    if (!(first && first_line_has_dash)) out += indent;
    first = false;
    out += Scalar(ordered_json(key));
    out += ':';
    if (!IsBlock(value)) {
      out += ' ';
      out += Scalar(value);
      out += '\n';
    } else if (value.is_object()) {
      out += '\n';
      EmitMap(value, indent + "  ", out, false);
    } else {
      out += '\n';
      EmitSeq(value, indent, out);
    }
  }
}

void EmitSeq(const ordered_json& seq, const std::string& indent, std::string& out) {
  for (const ordered_json& item : seq) {
    out += indent;
    out += "- ";
    if (item.is_object() && !item.empty()) {
      EmitMap(item, indent + "  ", out, true);
    } else if (item.is_array() && !item.empty()) {
      out += item.dump();  // flow style; NetworkPolicies have no nested lists
      out += '\n';
    } else {
      out += Scalar(item);
      out += '\n';
    }
  }
}

}  // namespace

ordered_json PolicyToJson(const NetworkPolicy& policy) {
  ordered_json j = ordered_json::object();
  j["apiVersion"] = "networking.k8s.io/v1";
  j["kind"] = "NetworkPolicy";

  ordered_json meta = ordered_json::object();
  meta["name"] = policy.name;
  meta["namespace"] = policy.ns;
  if (!policy.labels.empty()) {
    ordered_json labels = ordered_json::object();
    for (const auto& [k, v] : policy.labels) labels[k] = v;
    meta["labels"] = std::move(labels);
  }
  if (!policy.annotations.empty()) {
    ordered_json annotations = ordered_json::object();
    for (const auto& [k, v] : policy.annotations) annotations[k] = v;
    meta["annotations"] = std::move(annotations);
  }
  // The API server rejects an ownerReference without a uid; offline (no uid
  // known) the reference is left out rather than rendered invalid.
  if (policy.owner && !policy.owner->uid.empty()) {
    ordered_json ref = ordered_json::object();
    ref["apiVersion"] = policy.owner->api_version;
    ref["kind"] = policy.owner->kind;
    ref["name"] = policy.owner->name;
    ref["uid"] = policy.owner->uid;
    ref["controller"] = true;
    meta["ownerReferences"] = ordered_json::array({std::move(ref)});
  }
  j["metadata"] = std::move(meta);

  ordered_json spec = ordered_json::object();
  spec["podSelector"] = SelectorToJson(policy.pod_selector);
  if (!policy.policy_types.empty()) spec["policyTypes"] = policy.policy_types;
  if (!policy.ingress.empty()) {
    ordered_json rules = ordered_json::array();
    for (const PolicyRule& r : policy.ingress) rules.push_back(RuleToJson(r, "from"));
    spec["ingress"] = std::move(rules);
  }
  if (!policy.egress.empty()) {
    ordered_json rules = ordered_json::array();
    for (const PolicyRule& r : policy.egress) rules.push_back(RuleToJson(r, "to"));
    spec["egress"] = std::move(rules);
  }
  j["spec"] = std::move(spec);
  return j;
}

std::string PolicyToYaml(const NetworkPolicy& policy) {
  std::string out;
  EmitMap(PolicyToJson(policy), "", out, false);
  return out;
}

std::string PoliciesToYaml(const std::vector<NetworkPolicy>& policies) {
  std::string out;
  for (const NetworkPolicy& p : policies) {
    out += "---\n";
    out += PolicyToYaml(p);
  }
  return out;
}

std::string PoliciesToJsonList(const std::vector<NetworkPolicy>& policies) {
  ordered_json list = ordered_json::object();
  list["apiVersion"] = "v1";
  list["kind"] = "List";
  list["items"] = ordered_json::array();
  for (const NetworkPolicy& p : policies) list["items"].push_back(PolicyToJson(p));
  return list.dump(2) + "\n";
}

}  // namespace npc::render
