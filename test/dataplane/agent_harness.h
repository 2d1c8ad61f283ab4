// The node agent on the test dataplane, as a real cluster runs it: its CRD,
// ServiceAccount and ClusterRole from deploy/agent/, and `netpol-ctrl agent`
// as a process in the node's network namespace (where kube-proxy and the
// enforcer are, so its conntrack table sees every pod's connections),
// reaching the API server through the node's forwarder with the
// ServiceAccount's token. Shared by the agent's dataplane tests and
// bench/agent.
//
//   NPC_ASSIGN_OR_RETURN(std::string kubeconfig, InstallAgent(env, cluster_id));
//   AgentProcess agent(env, cluster_id, kubeconfig, "restart", {"--report-interval=2s"});
//   ASSERT_TRUE(agent.WaitReady(30s));
//   double written = agent.Metric("netpol_ctrl_agent_reports_total{result=\"written\"}");
//   agent.Stop();                                  // SIGTERM: it writes what is new, exits 0
//
// Thread-safety: none needed (one test thread).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "kube/client.h"
#include "observedflows/observed_flows.h"
#include "test/harness/cluster.h"

namespace npc::dataplane {

// Applies deploy/agent/'s CRD, ServiceAccount, ClusterRole and binding (not
// its DaemonSet: the node runner cannot run the image), waits for the CRD,
// and writes a kubeconfig for the ServiceAccount (a token from the
// TokenRequest API) whose server is the API server's address inside the
// dataplane. Returns its path.
[[nodiscard]] StatusOr<std::string> InstallAgent(const harness::ClusterEnv& env,
                                                 const std::string& cluster_id);

class AgentProcess {
 public:
  static constexpr int kMetricsPort = 19402;
  static constexpr int kProbePort = 19403;

  // Starts NPC_BINARY_DIR/netpol-ctrl agent (or `binary`) in the node's
  // network namespace with --kubeconfig, --node-name npc-node, -v 1, the
  // ports above on 127.0.0.1, and `extra`; its output goes to
  // <cluster dir>/logs/agent-<name>.log. A parent-death signal stops it if
  // the test dies.
  AgentProcess(const harness::ClusterEnv& env, const std::string& cluster_id,
               const std::string& kubeconfig, const std::string& name,
               const std::vector<std::string>& extra = {}, const std::string& binary = "");
  ~AgentProcess();
  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_; }
  std::string Log() const;
  bool running();
  // SIGTERM and wait (up to 20 s, then SIGKILL): the exit status, or -1.
  int Stop();
  // SIGKILL: no last write.
  void Kill();

  // GET http://127.0.0.1:<port><path> inside the node's network namespace.
  [[nodiscard]] StatusOr<std::string> Get(int port, const std::string& path) const;
  // Until /readyz answers "ok" (false on timeout or exit).
  bool WaitReady(std::chrono::milliseconds timeout);
  // One sample of /metrics by its full name with labels, e.g.
  // `netpol_ctrl_agent_reports_total{result="written"}`; -1 when absent or
  // the scrape failed.
  double Metric(const std::string& series) const;

 private:
  std::string netns_;
  std::string log_;
  pid_t pid_ = -1;
  int status_ = -1;
};

// The ObservedFlows object ns/name; nullopt when it does not exist.
[[nodiscard]] StatusOr<std::optional<observedflows::ObservedFlows>> ReadObservedFlows(
    kube::Client& client, const std::string& ns, const std::string& name);

// The count of one flow in an object, merged over nodes: server
// "Deployment/ns/name" or an address, `port`, protocol, and the Service
// ("ns/name:port", "" for none). 0 when absent.
uint64_t FlowCount(const std::optional<observedflows::ObservedFlows>& o, const std::string& server,
                   int port, const std::string& protocol, const std::string& service = "");

// "<server> <port>/<proto> [via ns/name:port] x<count>" per flow, merged.
std::string DescribeFlows(const std::optional<observedflows::ObservedFlows>& o);

}  // namespace npc::dataplane
