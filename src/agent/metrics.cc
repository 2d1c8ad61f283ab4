#include "agent/metrics.h"

#include <string>

namespace npc::agent {

using observability::MetricType;

AgentMetrics::AgentMetrics(observability::Registry& r, const observability::BuildInfo& build)
    : connections_(r.AddCounterFamily(
          "netpol_ctrl_agent_connections_total",
          "Connections (conntrack NEW events) by what became of them: counted in a flow "
          "(or dropped by a bound, see flows_dropped_total), ignored (the client is no pod, "
          "or a pod of another node: its agent counts it), or a duplicate of one already "
          "counted from a table dump.",
          {"result"})),
      flows_dropped_(r.AddCounterFamily(
          "netpol_ctrl_agent_flows_dropped_total",
          "Connections of new flows that were not kept because a bound was reached "
          "(--max-flows, --max-flows-per-workload).",
          {"reason"})),
      reports_(r.AddCounterFamily("netpol_ctrl_agent_reports_total",
                                  "ObservedFlows writes (server-side apply), by result.",
                                  {"result"})),
      build_info_(r.AddGaugeFamily("netpol_ctrl_agent_build_info",
                                   "Always 1; labels name the build.", {"version", "compiler"})),
      events(r.AddCounter("netpol_ctrl_agent_conntrack_events_total",
                          "Conntrack NEW events read (TCP, UDP, SCTP).")),
      events_lost(r.AddCounter(
          "netpol_ctrl_agent_conntrack_events_lost_total",
          "Conntrack events the kernel dropped because the agent's socket buffer was full.")),
      resyncs(r.AddCounter("netpol_ctrl_agent_conntrack_resyncs_total",
                           "Conntrack table dumps made after events were lost.")),
      resync_connections(r.AddCounter(
          "netpol_ctrl_agent_conntrack_resync_connections_total",
          "Connections counted from table dumps (at start-up and after events were lost).")),
      counted(connections_.WithLabels({"counted"})),
      ignored_not_a_pod(connections_.WithLabels({"ignored_not_a_pod"})),
      ignored_remote_client(connections_.WithLabels({"ignored_remote_client"})),
      dropped_max_flows(flows_dropped_.WithLabels({"max_flows"})),
      dropped_per_workload(flows_dropped_.WithLabels({"max_flows_per_workload"})),
      duplicates(connections_.WithLabels({"duplicate"})),
      flows(r.AddGauge("netpol_ctrl_agent_flows", "Flows held in memory.")),
      flows_forgotten(r.AddCounter("netpol_ctrl_agent_flows_forgotten_total",
                                   "Flows forgotten after --forget-after without a connection.")),
      reports_written(reports_.WithLabels({"written"})),
      report_errors(reports_.WithLabels({"error"})),
      report_duration(r.AddHistogram(
          "netpol_ctrl_agent_report_duration_seconds", "Time to write one ObservedFlows object.",
          {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30})),
      pending_reports(r.AddGauge(
          "netpol_ctrl_agent_pending_reports",
          "Client workloads with connections seen and not yet written (due at their next "
          "--report-interval).")),
      pods(r.AddGauge("netpol_ctrl_agent_pods", "Pods whose addresses are mapped.")),
      services(r.AddGauge("netpol_ctrl_agent_services", "Services whose ClusterIPs are mapped.")),
      api_requests(r.AddCounterFamily(
          "netpol_ctrl_agent_api_requests_total",
          "Kubernetes API requests, by verb and HTTP status code (<error>: no answer).",
          {"verb", "code"})),
      watch_restarts(r.AddCounterFamily("netpol_ctrl_agent_watch_restarts_total",
                                        "Watches started again after they failed, by resource.",
                                        {"resource"})) {
  build_info_.WithLabels({build.version, build.compiler}).Set(1);
}

void AgentMetrics::ObserveApiRequest(std::string_view verb, int code) {
  std::string v(verb);
  for (char& c : v) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  api_requests.WithLabels({v, code <= 0 ? std::string("<error>") : std::to_string(code)}).Inc();
}

}  // namespace npc::agent
