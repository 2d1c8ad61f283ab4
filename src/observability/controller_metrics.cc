#include "observability/controller_metrics.h"

namespace npc::observability {

std::string CompilerVersion() {
#if defined(__clang__)
  return "clang " + std::to_string(__clang_major__) + "." + std::to_string(__clang_minor__) + "." +
         std::to_string(__clang_patchlevel__);
#elif defined(__GNUC__)
  return "gcc " + std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) + "." +
         std::to_string(__GNUC_PATCHLEVEL__);
#else
  return "unknown";
#endif
}

ControllerMetrics::ControllerMetrics(Registry& r, const BuildInfo& build)
    : reconciles(r.AddCounterFamily("netpol_ctrl_reconciles_total",
                                    "Reconciles of one key, by result.", {"result"})),
      reconcile_duration(r.AddHistogram(
          "netpol_ctrl_reconcile_duration_seconds", "Time to reconcile one key.",
          {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10})),
      queue_depth(r.AddCollector("netpol_ctrl_workqueue_depth", "Keys waiting in the work queue.",
                                 MetricType::kGauge)),
      queue_adds(r.AddCounter("netpol_ctrl_workqueue_adds_total", "Keys added to the work queue.")),
      queue_retries(r.AddCounter("netpol_ctrl_workqueue_retries_total",
                                 "Keys put back in the work queue to retry after a failure.")),
      watch_restarts(r.AddCounterFamily("netpol_ctrl_watch_restarts_total",
                                        "Watches started again after they ended, by resource.",
                                        {"resource"})),
      relists(r.AddCounterFamily("netpol_ctrl_watch_relists_total",
                                 "Full lists after the start-up one (410 Gone or a watch gap), "
                                 "by resource.",
                                 {"resource"})),
      api_requests(r.AddCounterFamily(
          "netpol_ctrl_api_requests_total",
          "Kubernetes API requests, by verb and HTTP status code (<error>: no answer).",
          {"verb", "code"})),
      rate_limiter_wait(
          r.AddHistogram("netpol_ctrl_client_rate_limiter_wait_seconds",
                         "Time API requests waited for the client-side rate limiter.",
                         {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60})),
      managed_policies(
          r.AddGauge("netpol_ctrl_managed_policies", "NetworkPolicies the controller manages.")),
      unresolved_references(
          r.AddGauge("netpol_ctrl_unresolved_references",
                     "References (peers, ports) the last synthesis could not resolve.")),
      is_leader(r.AddGauge("netpol_ctrl_leader_is_leader",
                           "1 when this replica holds the leader lease, else 0.")),
      build_info(r.AddGaugeFamily("netpol_ctrl_build_info", "Always 1; labels name the build.",
                                  {"version", "compiler"})),
      writes(r.AddCounterFamily("netpol_ctrl_writes_total", "Writes to the API server, by action.",
                                {"action"})),
      resyncs(r.AddCounter("netpol_ctrl_resyncs_total",
                           "Periodic resyncs: everything recomputed and compared.")),
      resync_differences(r.AddCounter(
          "netpol_ctrl_resync_differences_total",
          "Desired policies a resync found different from the incremental state (a bug).")),
      decode_errors(r.AddCounterFamily("netpol_ctrl_decode_errors_total",
                                       "Objects that could not be decoded, by resource.",
                                       {"resource"})),
      policy_conflicts(r.AddCounter(
          "netpol_ctrl_policy_conflicts_total",
          "Reconciles that found the NetworkPolicy a workload wants held by a policy netpol-ctrl "
          "does not manage (left untouched; the workload waits without a policy).")),
      optional_informers(r.AddGaugeFamily(
          "netpol_ctrl_optional_informer_running",
          "1 while the informer of an optional kind (a CRD or aggregated API: Prometheus "
          "operator, OpenShift Routes, Gateway API) runs, 0 when that kind is not served.",
          {"resource"})),
      unknown_objects(r.AddCollector(
          "netpol_ctrl_unknown_objects",
          "Objects known to exist whose content could not be read or decoded.",
          MetricType::kGauge)) {
  for (std::string_view result : {"unchanged", "written", "kept", "error"}) {
    reconciles.WithLabels({result});
  }
  for (std::string_view action : {"create", "update", "delete", "label"}) {
    writes.WithLabels({action});
  }
  build_info.WithLabels({build.version, build.compiler}).Set(1);
}

void ControllerMetrics::ObserveReconcile(std::string_view result,
                                         std::chrono::duration<double> took) {
  reconciles.WithLabels({result}).Inc();
  reconcile_duration.Observe(took);
}

void ControllerMetrics::ObserveWrite(std::string_view action) {
  writes.WithLabels({action}).Inc();
}

void ControllerMetrics::ObserveApiRequest(std::string_view verb, int code) {
  std::string c = code > 0 ? std::to_string(code) : "<error>";
  api_requests.WithLabels({verb, c}).Inc();
}

void ControllerMetrics::ObserveWatchRestart(std::string_view resource) {
  watch_restarts.WithLabels({resource}).Inc();
}

void ControllerMetrics::ObserveRelist(std::string_view resource) {
  relists.WithLabels({resource}).Inc();
}

void ControllerMetrics::ObserveRateLimiterWait(std::chrono::duration<double> waited) {
  rate_limiter_wait.Observe(waited);
}

}  // namespace npc::observability
