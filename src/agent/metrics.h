// AgentMetrics: every metric the node agent exports (netpol_ctrl_agent_*),
// registered in one registry.
//
//   netpol_ctrl_agent_conntrack_events_total            counter  NEW events read
//   netpol_ctrl_agent_conntrack_events_lost_total       counter  events the kernel dropped (full socket buffer)
//   netpol_ctrl_agent_conntrack_resyncs_total           counter  table dumps after a loss
//   netpol_ctrl_agent_conntrack_resync_connections_total counter connections counted from those dumps
//   netpol_ctrl_agent_connections_total{result}         counter  counted|ignored_not_a_pod|
//                                                                ignored_remote_client|duplicate
//   netpol_ctrl_agent_flows                             gauge    flows held
//   netpol_ctrl_agent_flows_dropped_total{reason}       counter  connections of flows not kept (max_flows,
//                                                                max_flows_per_workload)
//   netpol_ctrl_agent_flows_forgotten_total             counter  flows dropped after --forget-after
//   netpol_ctrl_agent_reports_total{result}             counter  ObservedFlows writes: written|error
//   netpol_ctrl_agent_report_duration_seconds           histogram one write
//   netpol_ctrl_agent_pending_reports                   gauge    client workloads with something unreported
//   netpol_ctrl_agent_pods, _services                   gauge    mapped pods / Services
//   netpol_ctrl_agent_api_requests_total{verb,code}     counter
//   netpol_ctrl_agent_watch_restarts_total{resource}    counter
//   netpol_ctrl_agent_build_info{version,compiler}      gauge    always 1
// Series of the known label values exist from the start at 0.
//
// Thread-safety: as observability/metrics.h (every method from any thread).
#pragma once

#include <string_view>

#include "observability/controller_metrics.h"
#include "observability/metrics.h"

namespace npc::agent {

class AgentMetrics {
  // Declared first: the public series below are made from them.
  observability::Family<observability::Counter>& connections_;
  observability::Family<observability::Counter>& flows_dropped_;
  observability::Family<observability::Counter>& reports_;
  observability::Family<observability::Gauge>& build_info_;

 public:
  AgentMetrics(observability::Registry& r, const observability::BuildInfo& build);
  AgentMetrics(const AgentMetrics&) = delete;
  AgentMetrics& operator=(const AgentMetrics&) = delete;

  observability::Counter& events;
  observability::Counter& events_lost;
  observability::Counter& resyncs;
  observability::Counter& resync_connections;
  observability::Counter& counted;
  observability::Counter& ignored_not_a_pod;
  observability::Counter& ignored_remote_client;
  observability::Counter& dropped_max_flows;
  observability::Counter& dropped_per_workload;
  observability::Counter& duplicates;
  observability::Gauge& flows;
  observability::Counter& flows_forgotten;
  observability::Counter& reports_written;
  observability::Counter& report_errors;
  observability::Histogram& report_duration;
  observability::Gauge& pending_reports;
  observability::Gauge& pods;
  observability::Gauge& services;
  observability::Family<observability::Counter>& api_requests;
  observability::Family<observability::Counter>& watch_restarts;

  void ObserveApiRequest(std::string_view verb, int code);
};

}  // namespace npc::agent
