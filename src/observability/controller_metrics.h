// ControllerMetrics: every metric netpol-ctrl exports (names netpol_ctrl_*),
// created in one registry, with helpers for the places that update them.
//
//   Registry registry;
//   ControllerMetrics metrics(registry, {.version = "0.1.0"});
//   metrics.ObserveReconcile("written", took);           // worker, after each key
//   metrics.ObserveWrite("create");                      // writer, after a write
//   metrics.ObserveApiRequest("list", 200);              // client, per request
//   metrics.BindQueueDepth([&q] { return double(q.Len()); });
//   ...
//   metrics.UnbindQueueDepth();                          // before q is destroyed
//
// Metrics (promtool-clean; base units; counters end in _total):
//   netpol_ctrl_reconciles_total{result}              counter  (unchanged|written|error, ...)
//   netpol_ctrl_reconcile_duration_seconds            histogram
//   netpol_ctrl_workqueue_depth                       gauge, read at scrape time
//   netpol_ctrl_workqueue_adds_total                  counter
//   netpol_ctrl_workqueue_retries_total               counter
//   netpol_ctrl_watch_restarts_total{resource}        counter
//   netpol_ctrl_watch_relists_total{resource}         counter
//   netpol_ctrl_api_requests_total{verb,code}         counter  (code "<error>": no answer)
//   netpol_ctrl_client_rate_limiter_wait_seconds      histogram
//   netpol_ctrl_managed_policies                      gauge
//   netpol_ctrl_unresolved_references                 gauge
//   netpol_ctrl_leader_is_leader                      gauge    (1 leader, 0 not)
//   netpol_ctrl_build_info{version,compiler}          gauge    (always 1)
//   netpol_ctrl_writes_total{action}                  counter  (create|update|delete|label)
//   netpol_ctrl_resyncs_total                         counter
//   netpol_ctrl_resync_differences_total              counter  (must stay 0: a bug otherwise)
//   netpol_ctrl_decode_errors_total{resource}         counter
//   netpol_ctrl_unknown_objects                       gauge, read at scrape time
// Series for the known results and actions exist from the start at 0, so
// rate() and absent() work before the first event.
//
// Thread-safety: every method is safe from any thread (see metrics.h).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "observability/metrics.h"

namespace npc::observability {

// "gcc 12.2.0" or "clang 16.0.6": the compiler this binary was built with.
std::string CompilerVersion();

struct BuildInfo {
  std::string version;
  std::string compiler = CompilerVersion();
};

class ControllerMetrics {
 public:
  // Registers every metric in `registry`, which must outlive this object.
  // Aborts if `registry` already holds one of these names.
  ControllerMetrics(Registry& registry, const BuildInfo& build);
  ControllerMetrics(const ControllerMetrics&) = delete;
  ControllerMetrics& operator=(const ControllerMetrics&) = delete;

  // A reconcile finished with `result` ("unchanged", "written", "error") after `took`.
  void ObserveReconcile(std::string_view result, std::chrono::duration<double> took);
  // A write made: "create", "update", "delete" or "label" (bare-pod labelling).
  void ObserveWrite(std::string_view action);
  // One API request answered with HTTP `code`; code <= 0 means no answer
  // (transport failure). `verb`: "get", "list", "watch", "apply", "patch", "delete", ...
  void ObserveApiRequest(std::string_view verb, int code);
  // A watch ended and was restarted / a resource was listed again (410 or a gap).
  void ObserveWatchRestart(std::string_view resource);
  void ObserveRelist(std::string_view resource);
  // Time one request waited for the client's rate limiter (zero counts too).
  void ObserveRateLimiterWait(std::chrono::duration<double> waited);
  void ObserveQueueAdd() { queue_adds.Inc(); }
  void ObserveQueueRetry() { queue_retries.Inc(); }
  void SetLeader(bool leader) { is_leader.Set(leader ? 1 : 0); }
  void SetManagedPolicies(size_t n) { managed_policies.Set(static_cast<double>(n)); }
  void SetUnresolvedReferences(size_t n) { unresolved_references.Set(static_cast<double>(n)); }
  // A periodic resync finished; `differences` desired policies disagreed.
  void ObserveResync(size_t differences) {
    resyncs.Inc();
    resync_differences.Inc(static_cast<double>(differences));
  }
  void ObserveDecodeError(std::string_view resource) { decode_errors.WithLabels({resource}).Inc(); }
  // A workload's policy name is held by a NetworkPolicy netpol-ctrl does not manage.
  void ObservePolicyConflict() { policy_conflicts.Inc(); }

  // The queue depth is read from `depth` at each scrape (see Collector::Set).
  // Unbind before what `depth` captures is destroyed; unbound, no sample shows.
  void BindQueueDepth(std::function<double()> depth) { queue_depth.SetValue(std::move(depth)); }
  void UnbindQueueDepth() { queue_depth.Clear(); }

  // The metrics themselves, for what the helpers do not cover.
  Family<Counter>& reconciles;
  Histogram& reconcile_duration;
  Collector& queue_depth;
  Counter& queue_adds;
  Counter& queue_retries;
  Family<Counter>& watch_restarts;
  Family<Counter>& relists;
  Family<Counter>& api_requests;
  Histogram& rate_limiter_wait;
  Gauge& managed_policies;
  Gauge& unresolved_references;
  Gauge& is_leader;
  Family<Gauge>& build_info;
  Family<Counter>& writes;
  Counter& resyncs;
  Counter& resync_differences;
  Family<Counter>& decode_errors;
  Counter& policy_conflicts;
  // Kinds whose informer runs now, beyond the always-served ones (1 per
  // resource; bound by the manager).
  Family<Gauge>& optional_informers;
  // Objects known to exist whose content could not be read or decoded (their
  // policies are kept as they are); bound like queue_depth.
  Collector& unknown_objects;
};

}  // namespace npc::observability
