// The node agent (`netpol-ctrl agent`): reads this node's connection events
// from conntrack, attributes them to pods and workloads, and reports the
// flows of this node's pods as ObservedFlows objects.
//
//   AgentOptions o;
//   o.kube.kubeconfig = "/path/kubeconfig";
//   o.node = "node-a";
//   std::atomic<bool> stop{false};      // set by a signal handler
//   Status s = RunAgent(o, stop);
//
// Start-up, in this order (so that nothing is counted twice or lost):
//   1. watches of Pods (whole objects, all nodes: servers run anywhere),
//      ReplicaSets and Jobs (metadata only: their owners) and Services, until
//      they have listed;
//   2. the read-back of this node's entries of every ObservedFlows object
//      (retried until it succeeds: a missing CRD is logged with how to
//      install it, and /readyz says so);
//   3. the subscription to conntrack NEW events, then a dump of the table:
//      connections still tracked that were made while no agent ran are
//      counted (see aggregator.h for the exact rule);
//   4. events are read and aggregated; every second the reporter writes
//      what is due (at most once per object per --report-interval).
// Shutdown (stop set): events stop, every object with something unreported is
// written once more (whatever its interval), then the watches stop.
//
// Thread-safety: RunAgent blocks the calling thread; `stop` may be set from
// any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include "agent/aggregator.h"
#include "common/status.h"
#include "kube/client.h"
#include "kube/config.h"

namespace npc::agent {

struct AgentOptions {
  kube::ConfigOptions kube;
  kube::ClientOptions client;
  std::string node;  // the Node this agent runs on (spec.nodeName of its pods)
  std::chrono::milliseconds report_interval{60000};
  AggregatorOptions aggregation;
  int receive_buffer_bytes = 8 << 20;
  // Least time between two resync dumps after lost events.
  std::chrono::seconds min_resync_interval{30};
  std::string metrics_bind_address = ":9402";
  std::string health_probe_bind_address = ":9403";
  // Called once the agent counts events (tests).
  std::function<void()> on_started;
};

// Runs until `stop` is set. Fails early (before any write) for a
// configuration that does not resolve, a port that cannot be bound, or a
// conntrack socket that cannot be opened (PermissionDenied without
// CAP_NET_ADMIN); later API failures are retried.
[[nodiscard]] Status RunAgent(const AgentOptions& options, const std::atomic<bool>& stop);

}  // namespace npc::agent
