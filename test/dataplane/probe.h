// The prober of the test dataplane: real connections from inside pods'
// network namespaces, made concurrently and each bounded by a timeout.
//
//   std::vector<ProbeSpec> specs = {
//       {.netns = "npc-abc123-1f2e3d4c5b", .ip = "198.18.0.7", .port = 8080, .protocol = "TCP"},
//       {.netns = "npc-abc123-1f2e3d4c5b", .ip = "198.19.0.10", .port = 53, .protocol = "UDP",
//        .dns_name = "api.shop.svc.cluster.local"}};
//   std::vector<ProbeResult> r = ProbeAll(specs);   // same order as specs
//   if (r[0].outcome == Outcome::kAnswered) ... r[0].answer == "shop/api-7f9c-x 8080/TCP"
//
// A TCP probe connects and reads the listener's token (npc-pod-listener): an
// established connection is kAnswered, with the token when one came within
// 700 ms (a server that says nothing, like CoreDNS's metrics port, gives
// detail "connected; no token"); a
// UDP probe sends a datagram (three times, 300 ms apart) and waits for the
// token; a DNS probe sends an A query (over UDP or TCP) and reads the
// addresses of the answer. Every socket is created inside its source
// namespace (setns on the calling thread, then back), and all probes run at
// once in one epoll loop, in batches of at most ProbeOptions::max_in_flight.
// Nothing is sent anywhere but the given addresses, and each probe sends at
// most three datagrams or one connection. Denied traffic is either dropped
// (kTimeout) or rejected (kRefused), depending on the enforcer.
//
// Thread-safety: ProbeAll may run on any thread (it moves that thread between
// namespaces and back); concurrent calls are fine.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace npc::dataplane {

struct ProbeSpec {
  std::string netns;  // source: a name under /run/netns, or a path
  std::string ip;     // destination IPv4 address
  int port = 0;
  std::string protocol = "TCP";  // TCP or UDP
  std::string dns_name;          // non-empty: a DNS query for this name's A records
};

enum class Outcome {
  kAnswered,  // the listener's token (or a DNS answer) came back
  kRefused,   // TCP RST / ICMP unreachable
  kTimeout,   // nothing came back in time (dropped)
  kError,     // could not even try (no such namespace, socket error)
};
const char* OutcomeName(Outcome o);

struct ProbeResult {
  Outcome outcome = Outcome::kError;
  std::string answer;  // the token without its newline, or the DNS addresses joined by ","
  std::string detail;  // errno text, DNS rcode, ...
  std::chrono::milliseconds elapsed{0};
  bool answered() const { return outcome == Outcome::kAnswered; }
  std::string ToString() const;
};

struct ProbeOptions {
  std::chrono::milliseconds timeout{2000};
  size_t max_in_flight = 512;
};

[[nodiscard]] std::vector<ProbeResult> ProbeAll(const std::vector<ProbeSpec>& specs,
                                                const ProbeOptions& options = {});

// DNS wire format (RFC 1035), exposed for tests: an A query with id `id`, and
// the A records of an answer (error when it is not an answer to `id`, or its
// rcode is not NOERROR).
std::string DnsQuery(const std::string& name, uint16_t id);
[[nodiscard]] StatusOr<std::vector<std::string>> DnsAnswerAddresses(const std::string& packet, uint16_t id);

}  // namespace npc::dataplane
