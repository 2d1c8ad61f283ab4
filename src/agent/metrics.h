// AgentMetrics: every metric the node agent exports (netpol_ctrl_agent_*),
// registered in one registry. Counters unless said otherwise:
//
//   conntrack_events_total             NEW events read
//   conntrack_events_lost_total        events the kernel dropped (full socket buffer)
//   conntrack_resyncs_total            table dumps after a loss
//   conntrack_resync_connections_total connections counted from dumps (start-up, resync)
//   connections_total{result}          counted | ignored_not_a_pod | ignored_remote_client |
//                                      duplicate
//   flows                              gauge: flows held
//   flows_dropped_total{reason}        connections of new flows not kept: max_flows |
//                                      max_flows_per_workload
//   flows_forgotten_total              flows dropped after --forget-after
//   reports_total{result}              ObservedFlows writes: written | error
//   report_duration_seconds            histogram: one write
//   pending_reports                    gauge: client workloads with something unreported
//   pods, services                     gauges: mapped pods and Services
//   api_requests_total{verb,code}      Kubernetes API requests
//   watch_restarts_total{resource}     watches started again after a failure
//   build_info{version,compiler}       gauge: always 1
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
