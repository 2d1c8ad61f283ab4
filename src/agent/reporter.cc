#include "agent/reporter.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>

namespace npc::agent {
namespace {

constexpr std::string_view kInstallHint =
    "the ObservedFlows CRD (observedflows.netpol-ctrl.io) is not installed: "
    "kubectl apply -f deploy/agent/crd.yaml (or helm ... --set agent.enabled=true)";

}  // namespace

std::string FieldManager(std::string_view node) {
  std::string m(observedflows::kFieldManagerPrefix);
  m += node;
  if (m.size() <= 128) return m;
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : m) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return m.substr(0, 128 - 11) + "-" + std::string(buf, 10);
}

KubeReportWriter::KubeReportWriter(kube::Client& client, std::string node)
    : client_(client), field_manager_(FieldManager(node)) {}

Status KubeReportWriter::Write(const observedflows::WorkloadRef& client,
                               const observedflows::NodeReport& report) {
  const std::string name = observedflows::ObjectName(client.kind, client.name);
  kube::ApplyOptions o;
  o.field_manager = field_manager_;
  o.force = true;
  auto r = client_.Apply(kube::Resource::kObservedFlows, client.ns, name,
                         observedflows::ApplyJson(client, client.ns, report), o);
  if (r.ok()) return Status::Ok();
  if (r.error().reason == kube::Reason::kNotFound && r.error().kind.empty()) {
    return NotFound(std::string(kInstallHint));
  }
  return r.status();
}

Reporter::Reporter(Aggregator& aggregator, ReportWriter& writer, ReporterOptions options,
                   AgentMetrics& metrics)
    : aggregator_(aggregator), writer_(writer), options_(std::move(options)), metrics_(metrics) {}

size_t Reporter::Tick() {
  return Write(aggregator_.TakeDue(options_.interval, options_.node));
}

size_t Reporter::Flush() {
  aggregator_.FlushRetries();
  return Write(aggregator_.TakeDue(Clock::Duration::zero(), options_.node));
}

size_t Reporter::Write(std::vector<FlowTable::Report> due) {
  size_t written = 0;
  for (const FlowTable::Report& r : due) {
    const auto start = std::chrono::steady_clock::now();
    Status s = writer_.Write(r.client, r.report);
    metrics_.report_duration.Observe(std::chrono::steady_clock::now() - start);
    const std::string what = observedflows::kKind.data() + std::string(" ") + r.client.ns + "/" +
                             observedflows::ObjectName(r.client.kind, r.client.name);
    if (s.ok()) {
      ++written;
      metrics_.reports_written.Inc();
      spdlog::debug("wrote {} ({} flows of {}/{}/{})", what, r.report.flows.size(), r.client.kind,
                    r.client.ns, r.client.name);
    } else {
      metrics_.report_errors.Inc();
      aggregator_.Failed(r.client_id);
      spdlog::error("cannot write {}: {} (retrying in {} s)", what, s.ToString(),
                    std::chrono::duration_cast<std::chrono::seconds>(options_.interval).count());
    }
  }
  return written;
}

StatusOr<std::vector<observedflows::ObservedFlows>> ReadBack(kube::Client& client,
                                                             std::string_view node) {
  std::vector<observedflows::ObservedFlows> out;
  kube::ListHandler h;
  h.on_item = [&](std::string_view json) {
    auto o = observedflows::ParseObservedFlows(json);
    if (!o.ok()) {
      spdlog::error(
          "skipping an ObservedFlows object that does not parse (this node's counts "
          "for it start again): {}",
          o.status().message());
      return Status::Ok();
    }
    std::erase_if(o->nodes, [&](const observedflows::NodeReport& n) { return n.node != node; });
    if (!o->nodes.empty()) out.push_back(std::move(*o));
    return Status::Ok();
  };
  h.on_restart = [&] { out.clear(); };
  auto r = client.ListEach(kube::Resource::kObservedFlows, "", {}, h);
  if (!r.ok()) {
    if (r.error().reason == kube::Reason::kNotFound) return NotFound(std::string(kInstallHint));
    return r.status().WithContext("reading back ObservedFlows");
  }
  return out;
}

}  // namespace npc::agent
