// The peer-list syntax of the workload annotations
// netpol-ctrl.io/allow-egress and netpol-ctrl.io/allow-ingress-from.
//
// A value is a list of entries separated by commas or white space:
//
//   ENTRY  = PEER [":" PORTS]
//   PEER   = CIDR            "10.0.0.0/8", "203.0.113.5" (/32), "2001:db8::/32"
//                            (an IPv6 CIDR with ports goes in brackets:
//                            "[2001:db8::/32]:443")
//          | NS              every pod of namespace NS
//          | NS "/" LABELS   pods with all LABELS in namespace NS
//          | "*/" LABELS     pods with all LABELS in any namespace
//          | "*"             every pod of every namespace
//   LABELS = KEY "=" VALUE ("&" KEY "=" VALUE)*   (ANDed: one selector)
//   PORTS  = PORT ["-" END] ["/" PROTO]           PROTO: TCP (default), UDP, SCTP
//
// Examples:
//   netpol-ctrl.io/allow-egress: "10.0.0.0/8:443, 203.0.113.5:5432/TCP, [2001:db8::/32]:443"
//   netpol-ctrl.io/allow-ingress-from: "monitoring/app=grafana&tier=ui:3000, batch, */role=probe"
//
// An entry without ports allows all ports. An entry that does not parse is
// reported and skipped; the other entries still apply. Pure and thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/model.h"

namespace npc::synth {

struct AnnotationPeer {
  PolicyPeer peer;
  std::optional<PolicyPort> port;  // nullopt: all ports
  std::string entry;               // the entry as written, for reasons
};

struct ParsedPeerList {
  std::vector<AnnotationPeer> peers;
  std::vector<std::string> errors;  // one line per entry that does not parse
};

[[nodiscard]] ParsedPeerList ParsePeerList(std::string_view value);

// Canonical form of a CIDR or a single address ("10.1.2.3" -> "10.1.2.3/32",
// "10.1.2.3/8" -> "10.0.0.0/8", IPv6 in RFC 5952 form); nullopt when `text` is
// not one.
[[nodiscard]] std::optional<std::string> CanonicalCidr(std::string_view text);

}  // namespace npc::synth
