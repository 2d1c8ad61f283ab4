#include "synth/annotations.h"

#include <arpa/inet.h>

#include <array>
#include <cstring>

#include "synth/refs.h"

namespace npc::synth {

std::optional<std::string> CanonicalCidr(std::string_view text) {
  std::string_view addr = text;
  int prefix = -1;
  const size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    const std::string_view p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3) return std::nullopt;
    prefix = 0;
    for (char c : p) {
      if (c < '0' || c > '9') return std::nullopt;
      prefix = prefix * 10 + (c - '0');
    }
  }
  if (addr.empty() || addr.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  const std::string a(addr);
  std::array<unsigned char, 16> bytes{};
  int family = AF_INET;
  int bits = 32;
  if (a.find(':') != std::string::npos) {
    family = AF_INET6;
    bits = 128;
  } else if (!IsIPv4(a)) {
    return std::nullopt;
  }
  if (inet_pton(family, a.c_str(), bytes.data()) != 1) return std::nullopt;
  if (prefix < 0) prefix = bits;
  if (prefix > bits) return std::nullopt;
  for (int i = prefix; i < bits; ++i) bytes[i / 8] &= static_cast<unsigned char>(~(0x80u >> (i % 8)));
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(family, bytes.data(), buf, sizeof(buf)) == nullptr) return std::nullopt;
  return std::string(buf) + "/" + std::to_string(prefix);
}

namespace {

bool IsLabelValue(std::string_view v) {
  if (v.size() > 63) return false;
  for (size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && c != '-' && c != '_' && c != '.') return false;
    if (!alnum && (i == 0 || i + 1 == v.size())) return false;
  }
  return true;
}

bool IsLabelKey(std::string_view k) {
  const size_t slash = k.find('/');
  std::string_view name = k;
  if (slash != std::string_view::npos) {
    const std::string_view prefix = k.substr(0, slash);
    if (prefix.empty() || prefix.size() > 253) return false;
    for (char c : prefix) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
    }
    name = k.substr(slash + 1);
  }
  return !name.empty() && IsLabelValue(name);
}

bool IsNamespaceName(std::string_view n) {
  if (n.empty() || n.size() > 63 || n.front() == '-' || n.back() == '-') return false;
  for (char c : n) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

// "443", "8000-8080/TCP", "53/udp", "metrics".
std::optional<PolicyPort> ParsePorts(std::string_view spec, std::string* error) {
  PolicyPort port;
  const size_t slash = spec.find('/');
  if (slash != std::string_view::npos) {
    std::string proto(spec.substr(slash + 1));
    for (char& c : proto) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    if (proto != "TCP" && proto != "UDP" && proto != "SCTP") {
      *error = "unknown protocol \"" + std::string(spec.substr(slash + 1)) + "\"";
      return std::nullopt;
    }
    port.protocol = proto;
    spec = spec.substr(0, slash);
  }
  const size_t dash = spec.find('-');
  if (dash != std::string_view::npos && ParsePortNumber(spec.substr(0, dash)) != 0) {
    const int from = ParsePortNumber(spec.substr(0, dash));
    const int to = ParsePortNumber(spec.substr(dash + 1));
    if (to == 0 || to < from) {
      *error = "bad port range \"" + std::string(spec) + "\"";
      return std::nullopt;
    }
    port.port.num = from;
    if (to != from) port.end_port = to;
    return port;
  }
  if (const int n = ParsePortNumber(spec); n != 0) {
    port.port.num = n;
    return port;
  }
  if (IsPortName(spec)) {
    port.port.str = std::string(spec);
    return port;
  }
  *error = "bad port \"" + std::string(spec) + "\"";
  return std::nullopt;
}

std::optional<AnnotationPeer> ParseEntry(std::string_view entry, std::string* error) {
  AnnotationPeer out;
  out.entry = std::string(entry);
  std::string_view peer = entry;
  std::string_view ports;
  if (!entry.empty() && entry.front() == '[') {
    const size_t close = entry.find(']');
    if (close == std::string_view::npos) {
      *error = "missing ']'";
      return std::nullopt;
    }
    peer = entry.substr(1, close - 1);
    std::string_view after = entry.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        *error = "expected ':' after ']'";
        return std::nullopt;
      }
      ports = after.substr(1);
      if (ports.empty()) {
        *error = "empty port";
        return std::nullopt;
      }
    }
  } else {
    const size_t colon = entry.find(':');
    const bool ipv6 = colon != std::string_view::npos &&
                      entry.find(':', colon + 1) != std::string_view::npos;
    if (colon != std::string_view::npos && !ipv6) {
      peer = entry.substr(0, colon);
      ports = entry.substr(colon + 1);
      if (ports.empty()) {
        *error = "empty port";
        return std::nullopt;
      }
    }
  }
  if (!ports.empty()) {
    out.port = ParsePorts(ports, error);
    if (!out.port) return std::nullopt;
  }
  if (peer.empty()) {
    *error = "empty peer";
    return std::nullopt;
  }
  if (auto cidr = CanonicalCidr(peer)) {
    out.peer.ip_block = IPBlock{*cidr, {}};
    return out;
  }
  const size_t slash = peer.find('/');
  const std::string_view ns = peer.substr(0, slash);
  LabelSelector namespaces;
  if (ns != "*") {
    if (!IsNamespaceName(ns)) {
      *error = "\"" + std::string(ns) + "\" is not a CIDR or a namespace name";
      return std::nullopt;
    }
    namespaces.match_labels[std::string(kNamespaceNameLabel)] = std::string(ns);
  }
  out.peer.namespace_selector = namespaces;
  if (slash == std::string_view::npos) return out;
  LabelSelector pods;
  std::string_view labels = peer.substr(slash + 1);
  while (true) {
    const size_t amp = labels.find('&');
    const std::string_view kv = labels.substr(0, amp);
    const size_t eq = kv.find('=');
    if (eq == std::string_view::npos || !IsLabelKey(kv.substr(0, eq)) ||
        !IsLabelValue(kv.substr(eq + 1))) {
      *error = "\"" + std::string(kv) + "\" is not key=value";
      return std::nullopt;
    }
    auto [it, inserted] =
        pods.match_labels.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
    if (!inserted && it->second != kv.substr(eq + 1)) {
      *error = "label " + it->first + " given twice";
      return std::nullopt;
    }
    if (amp == std::string_view::npos) break;
    labels = labels.substr(amp + 1);
  }
  out.peer.pod_selector = pods;
  return out;
}

}  // namespace

ParsedPeerList ParsePeerList(std::string_view value) {
  ParsedPeerList out;
  size_t i = 0;
  auto sep = [](char c) { return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (i < value.size()) {
    while (i < value.size() && sep(value[i])) ++i;
    size_t j = i;
    while (j < value.size() && !sep(value[j])) ++j;
    if (j > i) {
      const std::string_view entry = value.substr(i, j - i);
      std::string error;
      if (auto p = ParseEntry(entry, &error)) {
        out.peers.push_back(std::move(*p));
      } else {
        out.errors.push_back("entry \"" + std::string(entry.substr(0, 100)) + "\": " + error);
      }
    }
    i = j;
  }
  return out;
}

}  // namespace npc::synth
