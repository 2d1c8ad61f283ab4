// Manager: runs the controller against a cluster — the client, one informer
// per resource the controller reads, the controller's workers — until told to
// stop (controller-runtime's manager, in the shape netpol-ctrl needs).
// parts.h builds and wires the parts; manager.cc runs them.
//
//   ManagerOptions o;
//   o.kube.kubeconfig = "~/.kube/config";
//   std::atomic<bool> stop{false};      // set by a signal handler
//   Status s = RunManager(o, stop);
//
// Start-up: informers list and watch; once every informer has listed its
// resource, desired policies are computed and every key reconciled (which
// also removes managed policies whose owner no longer exists). Shutdown: stop
// taking work, finish in-flight reconciles, stop the watches.
//
// Thread-safety: RunManager blocks the calling thread; `stop` may be set from
// any thread (or a signal handler: it is a lock-free atomic).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "controller/controller.h"
#include "kube/client.h"
#include "kube/config.h"

namespace npc::manager {

struct LeaderElectionOptions {
  bool enabled = false;
  std::string ns;  // empty: POD_NAMESPACE, else the kubeconfig context's namespace
  std::string lease_name = "netpol-ctrl-leader";
  std::string identity;  // empty: POD_NAME or hostname, plus a random suffix
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};
};

struct ManagerOptions {
  kube::ConfigOptions kube;
  kube::ClientOptions client;
  controller::ControllerOptions controller;
  LeaderElectionOptions leader_election;
  // "host:port" for /metrics and for /healthz + /readyz; "0" turns one off.
  std::string metrics_bind_address = ":8080";
  std::string health_probe_bind_address = ":8081";
  bool events = true;  // post Events on workloads (events.k8s.io/v1)
  // --observed-flows allow: an observed edge unseen this long is dropped
  // (controller::WouldDenyReporter; the mode is controller.synthesis's).
  std::chrono::seconds observed_flows_ttl = std::chrono::hours(168);
  // Give up when the caches have not synced in this time (RBAC missing, API
  // down); 0 waits forever.
  std::chrono::seconds sync_timeout{0};
  // Called once caches are synced and the workers run (tests, readiness).
  std::function<void(controller::Controller&)> on_started;
  // Told of every write and reconcile besides the log (tests count writes
  // through it; metrics). Not owned; may be null.
  controller::Observer* observer = nullptr;
};

// Runs until `stop` is set. Fails early for a configuration that does not
// resolve, a client that cannot be made or a port that cannot be bound; later
// API failures are retried. With leader election, only the leader runs the
// workers (informers warm up on every replica), and losing the lease returns
// an error at once (the process must exit non-zero).
[[nodiscard]] Status RunManager(const ManagerOptions& options, const std::atomic<bool>& stop);

}  // namespace npc::manager
