// Attribution and aggregation: turns conntrack events into flows of this
// node's client workloads (FlowTable), and hands the reporter what is due.
//
// Attribution of one connection (Attribute):
// - the client is the original tuple's source: a pod of this node (a pod of
//   another node is counted by that node's agent; a client that is no pod -
//   the node itself, a hostNetwork pod, an address outside the cluster - is
//   ignored: ObservedFlows are per client workload);
// - the server is the reply tuple's source, i.e. who answered after
//   kube-proxy's DNAT: a connection to a ClusterIP is attributed to the
//   backend pod's workload, and keeps the Service (the original destination,
//   when it is a Service's ClusterIP:port) beside it; an answering address
//   that is no pod is External;
// - the port is the one the server answered on, the protocol TCP, UDP or SCTP.
// A client (or server) whose pod or ReplicaSet/Job the watches have not
// delivered yet is retried for a few seconds before it is judged (a pod's
// first connections can beat its watch event).
//
// Counting rules that make restarts and lost events safe (ApplyDump):
// - start-up (after the read-back of this node's ObservedFlows): a dumped
//   connection is counted when its flow is unknown (never counted before), or
//   when the node records start times (nf_conntrack_timestamp=1) and it
//   started after the client's observedUntil (the last write covered
//   everything received before that time);
// - after lost events (resync): only connections of unknown flows.
// Either way a dumped connection that is counted is remembered (by conntrack
// id) for a while, so its NEW event, if still queued, is not counted again.
// With start times, a dumped connection older than the pod that now has its
// client's (or server's) address is skipped: it was made by an earlier pod
// with the same address. Without them such an entry cannot be told apart;
// it matters only when addresses are reused within a conntrack timeout
// (minutes), which most IPAMs avoid.
//
// Thread-safety: OnEvents/OnOverflow/OnIdle come from the conntrack reader's
// thread; everything else may be called from any thread (one mutex).
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/address_map.h"
#include "agent/conntrack.h"
#include "agent/flow_table.h"
#include "agent/metrics.h"
#include "agent/wall_clock.h"
#include "common/clock.h"
#include "observedflows/observed_flows.h"

namespace npc::agent {

struct Attribution {
  enum class Verdict {
    kFlow,        // client and server as below
    kRetry,       // a pod or its owner is not known yet: try again later
    kNotAPod,     // the client is no known pod
    kRemote,      // the client is a pod of another node
    kOtherProto,  // not TCP, UDP or SCTP
  };
  Verdict verdict = Verdict::kNotAPod;
  PodHit client;
  ServerView server;
};

// `final_try`: judge now (no kRetry): an unknown client is kNotAPod, an
// owner still unknown names the workload after the ReplicaSet/Job.
Attribution Attribute(const ConnEvent& e, const AddressMap::View& map, bool final_try);

struct AggregatorOptions {
  FlowTable::Options table;
  // How long events with an unknown pod are retried, and how many are held.
  std::chrono::milliseconds retry_for{3000};
  size_t max_retrying = 8192;
  // Flows without a connection for this long are forgotten (0: never).
  std::chrono::seconds forget_after{std::chrono::hours(24 * 8)};
  // How long a counted dump entry's id is remembered against its NEW event.
  std::chrono::seconds dump_dedupe_for{10};
  size_t max_dump_ids = 65536;
};

class Aggregator final : public EventSink {
 public:
  // All references must outlive the aggregator.
  Aggregator(const AddressMap& map, AggregatorOptions options, const WallClock& wall,
             const Clock& clock, AgentMetrics& metrics);

  void OnEvents(std::span<const ConnEvent> events) override;
  void OnOverflow(uint64_t lost_total) override;
  void OnIdle() override;

  // Takes over this node's entries of the objects read back at start-up.
  void Load(const std::vector<observedflows::ObservedFlows>& objects, std::string_view node);

  enum class DumpKind { kStartup, kResync };
  struct DumpResult {
    size_t entries = 0;  // dumped entries of local clients
    size_t counted = 0;
    size_t stale = 0;  // older than the pod that has the address now (start times only)
  };
  // Runs `dump` (which calls its argument once per table entry) and counts
  // its entries by the rules above; `timestamps`: the node records start
  // times. Events wait meanwhile (they stay queued in the socket), so that
  // none is counted in between. Returns the dump's error, if any (what was
  // counted before it stays counted).
  using DumpFn = std::function<Status(const std::function<void(const ConnEvent&)>&)>;
  StatusOr<DumpResult> ApplyDump(const DumpFn& dump, DumpKind kind, bool timestamps);

  // True once after events were lost (a resync dump is wanted).
  bool TakeResyncRequest() { return resync_requested_.exchange(false); }

  std::vector<FlowTable::Report> TakeDue(Clock::Duration interval, std::string_view node);
  void Failed(uint32_t client_id);

  // Judges every retrying event now (tests; shutdown).
  void FlushRetries();

 private:
  struct Retrying {
    ConnEvent event;
    Clock::TimePoint since;
  };
  // Counts one attributed connection (mu_ held).
  void Count(const Attribution& a, WallTime now, uint64_t connections = 1);
  void RetryDue(bool all);  // mu_ held
  void UpdateGauges();      // mu_ held

  const AddressMap& map_;
  const AggregatorOptions options_;
  const WallClock& wall_;
  const Clock& clock_;
  AgentMetrics& metrics_;

  std::mutex mu_;
  FlowTable table_;                                            // guarded by mu_
  std::deque<Retrying> retrying_;                              // guarded by mu_
  std::unordered_map<uint32_t, Clock::TimePoint> dumped_ids_;  // guarded by mu_
  Clock::TimePoint last_forget_;                               // guarded by mu_
  uint64_t lost_seen_ = 0;                                     // reader thread only
  std::atomic<bool> resync_requested_{false};
};

}  // namespace npc::agent
