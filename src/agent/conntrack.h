// Connection events from the kernel's connection tracking (conntrack), read
// through netlink: a subscription to NEW events (one per connection, when
// its first packet passes the node's firewall), and a dump of the table.
//
//   NPC_ASSIGN_OR_RETURN(auto ct, OpenConntrack({}));   // needs CAP_NET_ADMIN
//   ct->Dump([&](const ConnEvent& e) { ... });          // what is in the table now
//   ct->Run(stop, sink);                                // events until `stop`
//
// Each event has the connection's original tuple (the client's view: its
// address and the address it asked for, e.g. a ClusterIP) and its reply
// tuple (the server that answered, after kube-proxy's DNAT). TCP, UDP and
// SCTP over IPv4 and IPv6; the kernel drops loopback and other protocols
// before they reach the socket (a BPF filter).
//
// A connection that the node's firewall drops or rejects (an enforced
// NetworkPolicy) is never confirmed, so it has no NEW event: traffic is
// observed while nothing denies it.
//
// When the socket's buffer overflows the kernel drops events: the sink hears
// OnOverflow() with the exact number lost so far (the socket's drop counter),
// and the reader carries on.
//
// Thread-safety: Run() on one thread; Dump() on any one thread at a time
// (it uses a socket of its own); Stop-by-flag.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "agent/ip.h"
#include "common/status.h"

namespace npc::agent {

struct Tuple {
  IpAddr src;
  IpAddr dst;
  uint16_t sport = 0;  // host order; 0 for protocols without ports
  uint16_t dport = 0;
};

struct ConnEvent {
  uint8_t protocol = 0;  // IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP
  Tuple orig;            // client -> what it asked for
  Tuple reply;           // server (who answered) -> client
  uint32_t id = 0;       // conntrack id (unique among live entries)
  // When the connection started (ns since the epoch), from a dump when the
  // node has net.netfilter.nf_conntrack_timestamp=1; 0 otherwise (events
  // never carry it).
  uint64_t start_ns = 0;
};

// Receives events on the reader's thread.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // A batch of NEW events, in the order the kernel sent them.
  virtual void OnEvents(std::span<const ConnEvent> events) = 0;
  // The kernel dropped events: `lost_total` is the number dropped since the
  // subscription began.
  virtual void OnOverflow(uint64_t lost_total) = 0;
  // Called at least once a second while running (timers, liveness).
  virtual void OnIdle() = 0;
};

class ConntrackSource {
 public:
  virtual ~ConntrackSource() = default;
  // Reads events until `stop` is set (returns OK within about a second) or a
  // failure the reader cannot get past (a closed socket).
  [[nodiscard]] virtual Status Run(const std::atomic<bool>& stop, EventSink& sink) = 0;
  // Every entry of the table now (TCP, UDP, SCTP; not loopback), streamed.
  [[nodiscard]] virtual Status Dump(const std::function<void(const ConnEvent&)>& fn) = 0;
};

struct ConntrackOptions {
  // Receive buffer of the event socket (SO_RCVBUFFORCE). Events arrive in
  // bursts; what does not fit is lost (and counted).
  int receive_buffer_bytes = 8 << 20;
};

// Subscribes to NEW events in the calling thread's network namespace.
// PermissionDenied (naming CAP_NET_ADMIN) without the capability.
[[nodiscard]] StatusOr<std::unique_ptr<ConntrackSource>> OpenConntrack(const ConntrackOptions& o);

// Whether this network namespace records connection start times
// (net.netfilter.nf_conntrack_timestamp = 1): dumps then carry start_ns.
bool ConntrackTimestampsEnabled();

}  // namespace npc::agent
