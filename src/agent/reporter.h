// Reporting: this node's flows go to the ObservedFlows objects of their
// client workloads, at most once per object per interval and only when
// something new was seen; and the read-back of this node's entries at
// start-up, so that a restart loses nothing and counts nothing twice.
//
//   KubeReportWriter writer(client, "node-a");
//   Reporter reporter(aggregator, writer, {.node = "node-a", .interval = 60s}, metrics);
//   while (!stop) { reporter.Tick(); sleep(1s); }   // writes what is due
//   reporter.Flush();                                // at shutdown: everything new, now
//
// Each write is a server-side apply of the node's own entry (field manager
// "netpol-ctrl-agent/<node>", force), so several nodes' agents write the same
// object without overwriting each other. A failed write is retried at the
// object's next interval; its connections are not lost (counts are
// cumulative and the entry is rewritten whole).
//
// Thread-safety: a Reporter runs on one thread; the writer is called from it.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "agent/aggregator.h"
#include "agent/metrics.h"
#include "common/status.h"
#include "kube/client.h"
#include "observedflows/observed_flows.h"

namespace npc::agent {

class ReportWriter {
 public:
  virtual ~ReportWriter() = default;
  // Writes `report` as this node's entry of `client`'s object (in client.ns).
  [[nodiscard]] virtual Status Write(const observedflows::WorkloadRef& client,
                                     const observedflows::NodeReport& report) = 0;
};

class KubeReportWriter final : public ReportWriter {
 public:
  KubeReportWriter(kube::Client& client, std::string node);
  Status Write(const observedflows::WorkloadRef& client,
               const observedflows::NodeReport& report) override;
  const std::string& field_manager() const { return field_manager_; }

 private:
  kube::Client& client_;
  const std::string field_manager_;
};

// The field manager of a node's agent: "netpol-ctrl-agent/<node>", cut (with
// a hash) to the API server's 128 characters.
std::string FieldManager(std::string_view node);

struct ReporterOptions {
  std::string node;
  std::chrono::milliseconds interval{60000};
};

class Reporter {
 public:
  Reporter(Aggregator& aggregator, ReportWriter& writer, ReporterOptions options,
           AgentMetrics& metrics);

  // Writes every object that is due. Returns the number written.
  size_t Tick();
  // Writes every object with something unreported, whatever its interval.
  size_t Flush();

 private:
  size_t Write(std::vector<FlowTable::Report> due);

  Aggregator& aggregator_;
  ReportWriter& writer_;
  const ReporterOptions options_;
  AgentMetrics& metrics_;
};

// Every ObservedFlows object that has an entry of `node` (listed across
// namespaces, page by page). An object that does not parse is skipped with an
// error in the log (its counts then start again from zero on this node). A
// missing CRD is NotFound with a message saying how to install it.
[[nodiscard]] StatusOr<std::vector<observedflows::ObservedFlows>> ReadBack(kube::Client& client,
                                                                           std::string_view node);

}  // namespace npc::agent
