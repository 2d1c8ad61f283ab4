// `netpol-ctrl run`: the controller.
#include <atomic>
#include <chrono>
#include <cstdlib>

#include "cli/command.h"
#include "cli/daemon.h"
#include "cli/flags.h"
#include "manager/manager.h"

namespace npc::cli {
namespace {

class RunCommand final : public Command {
 public:
  CLI::App* Register(CLI::App& app) override {
    CLI::App* cmd = app.add_subcommand(
        "run",
        "Run the controller: watch the cluster and keep one least-privilege NetworkPolicy "
        "per workload");
    cmd->add_option("--kubeconfig", kubeconfig_,
                    "Path to a kubeconfig (default: $KUBECONFIG, then in-cluster, then "
                    "~/.kube/config)");
    cmd->add_option("--context", context_, "The kubeconfig context to use");
    cmd->add_option("--mode", mode_,
                    "enforce: write policies; audit: compute and log what would be written, "
                    "write nothing")
        ->check(CLI::IsMember({"enforce", "audit"}))
        ->capture_default_str();
    cmd->add_flag("--audit-removes", audit_removes_,
                  "In audit namespaces (--mode=audit, or the namespace label "
                  "netpol-ctrl.io/mode=audit), delete the managed policies instead of keeping "
                  "them as they are");
    cmd->add_option("--workers", workers_, "Reconcile workers")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    cmd->add_option("--read-configmaps", read_config_maps_,
                    "Read ConfigMaps that workloads use (needs list/watch on configmaps)")
        ->capture_default_str();
    cmd->add_option("--resync-period", resync_period_,
                    "How often to recompute every policy from scratch and compare it with what "
                    "the incremental updates said (differences are bugs: logged and counted in "
                    "netpol_ctrl_resync_differences_total). A duration such as 10m, 1h or 90s; "
                    "0 turns it off")
        ->check([](const std::string& v) -> std::string {
          return ParseDuration(v) ? "" : "not a duration (e.g. 10m, 1h30m, 90s, 0): " + v;
        })
        ->capture_default_str();
    cmd->add_option("--sync-timeout", sync_timeout_s_,
                    "Exit with an error if the caches have not synced in this many seconds "
                    "(0: wait forever)")
        ->capture_default_str();
    cmd->add_option("-v,--v", verbosity_, "Log verbosity: 0 info, 1 debug, 2 trace")
        ->capture_default_str();
    cmd->add_option("--log-format", log_format_, "text (for people) or json (for machines)")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    cmd->add_option("--metrics-bind-address", metrics_bind_,
                    "Where /metrics listens (host:port); 0 turns it off")
        ->capture_default_str();
    cmd->add_option("--health-probe-bind-address", probe_bind_,
                    "Where /healthz and /readyz listen (host:port); 0 turns them off")
        ->capture_default_str();
    cmd->add_flag("--leader-elect", leader_elect_,
                  "Run several replicas with one active: elect a leader with a Lease");
    cmd->add_option("--leader-election-namespace", le_namespace_,
                    "Namespace of the Lease (default: POD_NAMESPACE, else the context's)");
    cmd->add_option("--leader-election-id", le_name_, "Name of the Lease")->capture_default_str();
    cmd->add_option("--leader-elect-lease-duration", le_lease_s_,
                    "Seconds others wait after the last renewal before taking over")
        ->capture_default_str();
    cmd->add_option("--leader-elect-renew-deadline", le_renew_s_,
                    "Seconds the leader keeps trying to renew before it stops")
        ->capture_default_str();
    cmd->add_option("--leader-elect-retry-period", le_retry_s_,
                    "Seconds between attempts to acquire or renew")
        ->capture_default_str();
    cmd->add_option("--events", events_, "Post Events on workloads (events.k8s.io/v1)")
        ->capture_default_str();
    cmd->add_option("--kube-api-qps", api_qps_,
                    "Client-side limit on API requests per second, a safety net: the API "
                    "server's Priority and Fairness does the real protecting (0: no limit)")
        ->capture_default_str();
    cmd->add_option("--kube-api-burst", api_burst_, "Requests allowed at once above --kube-api-qps")
        ->capture_default_str();
    config_.Register(*cmd);
    // Read by ExpandConfigFile before parsing; declared here for --help.
    cmd->add_option("--config", config_file_,
                    "A YAML file of flag-name: value; flags on the command line win");
    cmd->footer(
        "Examples:\n"
        "  netpol-ctrl run --kubeconfig ~/.kube/config\n"
        "  netpol-ctrl run --mode=audit -v 1        # show what it would do, write nothing\n"
        "In a cluster it reads the service account's token and CA; when POD_NAMESPACE is set,\n"
        "the controller's own namespace is excluded. SIGTERM/SIGINT shut it down cleanly.");
    return cmd;
  }

  int Run(Io& io) override {
    LimitMallocArenas();
    ConfigureLogging(log_format_, verbosity_);
    auto config = config_.ToConfig();
    if (!config.ok()) {
      io.err << "error: " << config.status().message() << "\n";
      return kExitUsage;
    }
    manager::ManagerOptions o;
    o.kube.kubeconfig = kubeconfig_;
    o.kube.context = context_;
    o.controller.synthesis = *config;
    o.controller.synthesis.read_config_maps = read_config_maps_;
    o.observed_flows_ttl =
        std::chrono::duration_cast<std::chrono::seconds>(config_.ObservedFlowsTtl());
    // The TTL's cutoff moves on with time: the WouldDenyReporter applies it.
    o.controller.mode = mode_ == "audit" ? Mode::kAudit : Mode::kEnforce;
    o.controller.audit_removes = audit_removes_;
    o.controller.workers = workers_;
    o.controller.resync_period = *ParseDuration(resync_period_);  // checked by the parser
    o.sync_timeout = std::chrono::seconds(sync_timeout_s_);
    o.metrics_bind_address = metrics_bind_;
    o.client.rate_limit.qps = api_qps_;
    o.client.rate_limit.burst = api_burst_;
    o.health_probe_bind_address = probe_bind_;
    o.events = events_;
    o.leader_election.enabled = leader_elect_;
    o.leader_election.ns = le_namespace_;
    o.leader_election.lease_name = le_name_;
    o.leader_election.lease_duration = std::chrono::milliseconds(int64_t(le_lease_s_ * 1000));
    o.leader_election.renew_deadline = std::chrono::milliseconds(int64_t(le_renew_s_ * 1000));
    o.leader_election.retry_period = std::chrono::milliseconds(int64_t(le_retry_s_ * 1000));
    if (const char* ns = std::getenv("POD_NAMESPACE"); ns && *ns) {
      o.controller.synthesis.excluded_namespaces.emplace_back(ns);
    }
    return RunUntilSignalled(
        [&o](const std::atomic<bool>& stop) { return manager::RunManager(o, stop); });
  }

 private:
  std::string kubeconfig_;
  std::string context_;
  std::string mode_ = "enforce";
  bool audit_removes_ = false;
  int workers_ = 2;
  bool read_config_maps_ = true;
  int sync_timeout_s_ = 0;
  std::string resync_period_ = "10m";
  int verbosity_ = 0;
  std::string log_format_ = "text";
  std::string metrics_bind_ = ":8080";
  std::string probe_bind_ = ":8081";
  bool leader_elect_ = false;
  std::string le_namespace_;
  std::string le_name_ = "netpol-ctrl-leader";
  double le_lease_s_ = 15;
  double le_renew_s_ = 10;
  double le_retry_s_ = 2;
  bool events_ = true;
  double api_qps_ = 1000;
  int api_burst_ = 2000;
  std::string config_file_;
  ConfigFlags config_;
};

}  // namespace

std::unique_ptr<Command> NewRunCommand() {
  return std::make_unique<RunCommand>();
}

}  // namespace npc::cli
