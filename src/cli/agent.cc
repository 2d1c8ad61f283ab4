// `netpol-ctrl agent`: the node agent (a DaemonSet, hostNetwork, NET_ADMIN),
// see agent/agent.h.
#include "agent/agent.h"

#include <atomic>
#include <cstdlib>

#include "cli/command.h"
#include "cli/daemon.h"
#include "cli/flags.h"

namespace npc::cli {
namespace {

std::string DurationCheck(const std::string& v) {
  return ParseDuration(v) ? "" : "not a duration (e.g. 60s, 5m, 1h30m): " + v;
}

class AgentCommand final : public Command {
 public:
  CLI::App* Register(CLI::App& app) override {
    CLI::App* cmd = app.add_subcommand(
        "agent",
        "Run the node agent: read this node's connections from conntrack and report, per "
        "client workload, the flows it saw as ObservedFlows objects");
    cmd->add_option("--kubeconfig", kubeconfig_,
                    "Path to a kubeconfig (default: $KUBECONFIG, then in-cluster, then "
                    "~/.kube/config)");
    cmd->add_option("--context", context_, "The kubeconfig context to use");
    cmd->add_option("--node-name", node_,
                    "The Node this agent runs on: its pods are the clients it reports "
                    "(default: $NODE_NAME)");
    cmd->add_option("--report-interval", report_interval_,
                    "At most one write per ObservedFlows object per interval, and none when "
                    "nothing new was seen (a duration: 60s, 5m)")
        ->check(DurationCheck)
        ->capture_default_str();
    cmd->add_option("--max-flows", max_flows_,
                    "Flows kept in memory (about 100 bytes each); connections of new flows "
                    "beyond it are counted as dropped")
        ->check(CLI::Range(1, 10000000))
        ->capture_default_str();
    cmd->add_option("--max-flows-per-workload", max_flows_per_workload_,
                    "Flows kept per client workload, and so per node in one ObservedFlows "
                    "object (about 250 bytes each there)")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    cmd->add_option("--forget-after", forget_after_,
                    "Forget a flow with no connection for this long (0: never); keep it above "
                    "the controller's --observed-flows-ttl")
        ->check(DurationCheck)
        ->capture_default_str();
    cmd->add_option("--conntrack-buffer-size", buffer_bytes_,
                    "Receive buffer of the conntrack event socket, in bytes; events that do "
                    "not fit in a burst are lost (counted, and recovered by a table dump)")
        ->check(CLI::Range(65536, 1 << 30))
        ->capture_default_str();
    cmd->add_option("--metrics-bind-address", metrics_bind_,
                    "Where /metrics listens (host:port); 0 turns it off. The agent runs with "
                    "hostNetwork: this is a port of the node")
        ->capture_default_str();
    cmd->add_option("--health-probe-bind-address", probe_bind_,
                    "Where /healthz and /readyz listen (host:port); 0 turns them off")
        ->capture_default_str();
    cmd->add_option("--kube-api-qps", api_qps_,
                    "Client-side limit on API requests per second, a safety net (0: no limit)")
        ->capture_default_str();
    cmd->add_option("--kube-api-burst", api_burst_, "Requests allowed at once above --kube-api-qps")
        ->capture_default_str();
    cmd->add_option("-v,--v", verbosity_, "Log verbosity: 0 info, 1 debug, 2 trace")
        ->capture_default_str();
    cmd->add_option("--log-format", log_format_, "text (for people) or json (for machines)")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    cmd->footer(
        "Examples:\n"
        "  # As the DaemonSet runs it (deploy/agent): in-cluster credentials, NODE_NAME from\n"
        "  # the downward API, hostNetwork, CAP_NET_ADMIN.\n"
        "  netpol-ctrl agent\n"
        "  # Outside a cluster, in the node's network namespace, as root:\n"
        "  netpol-ctrl agent --kubeconfig ~/.kube/config --node-name node-a --report-interval 10s\n"
        "  kubectl get observedflows -A\n"
        "It needs CAP_NET_ADMIN in the node's network namespace (conntrack over netlink) and the\n"
        "ObservedFlows CRD (deploy/agent/crd.yaml). A connection is counted when its first packet\n"
        "passes the node's firewall: a flow that a NetworkPolicy already denies is not observed.\n"
        "SIGTERM/SIGINT write what was not reported yet and exit 0; exit 1 on a runtime error\n"
        "(no CAP_NET_ADMIN, bad kubeconfig), 2 on bad flags.");
    return cmd;
  }

  int Run(Io& io) override {
    LimitMallocArenas();
    std::string node = node_;
    if (node.empty()) {
      if (const char* n = std::getenv("NODE_NAME"); n != nullptr) node = n;
    }
    if (node.empty()) {
      io.err << "error: --node-name is required (or set $NODE_NAME, as the DaemonSet does "
                "from spec.nodeName)\n";
      return kExitUsage;
    }
    const auto interval = ParseDuration(report_interval_);
    const auto forget = ParseDuration(forget_after_);
    if (!interval || !forget) return kExitUsage;  // checked by the parser already
    if (*interval < std::chrono::seconds(1)) {
      io.err << "error: --report-interval must be at least 1s\n";
      return kExitUsage;
    }
    if (max_flows_per_workload_ > max_flows_) {
      io.err << "error: --max-flows-per-workload (" << max_flows_per_workload_
             << ") is above --max-flows (" << max_flows_ << ")\n";
      return kExitUsage;
    }
    ConfigureLogging(log_format_, verbosity_);

    agent::AgentOptions o;
    o.kube.kubeconfig = kubeconfig_;
    o.kube.context = context_;
    o.node = node;
    o.report_interval = *interval;
    o.aggregation.table.max_flows = static_cast<size_t>(max_flows_);
    o.aggregation.table.max_flows_per_workload = static_cast<size_t>(max_flows_per_workload_);
    o.aggregation.forget_after = std::chrono::duration_cast<std::chrono::seconds>(*forget);
    o.receive_buffer_bytes = buffer_bytes_;
    o.metrics_bind_address = metrics_bind_;
    o.health_probe_bind_address = probe_bind_;
    o.client.rate_limit.qps = api_qps_;
    o.client.rate_limit.burst = api_burst_;
    return RunUntilSignalled(
        [&o](const std::atomic<bool>& stop) { return agent::RunAgent(o, stop); });
  }

 private:
  std::string kubeconfig_;
  std::string context_;
  std::string node_;
  std::string report_interval_ = "60s";
  int max_flows_ = 20000;
  int max_flows_per_workload_ = 500;
  std::string forget_after_ = "192h";
  int buffer_bytes_ = 8 << 20;
  std::string metrics_bind_ = ":9402";
  std::string probe_bind_ = ":9403";
  double api_qps_ = 20;
  int api_burst_ = 40;
  int verbosity_ = 0;
  std::string log_format_ = "text";
};

}  // namespace

std::unique_ptr<Command> NewAgentCommand() {
  return std::make_unique<AgentCommand>();
}

}  // namespace npc::cli
