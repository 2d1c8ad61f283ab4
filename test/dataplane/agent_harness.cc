#include "dataplane/agent_harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "dataplane/naming.h"
#include "dataplane/netns.h"

namespace npc::dataplane {

using namespace std::chrono_literals;

namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

StatusOr<std::string> InstallAgent(const harness::ClusterEnv& env, const std::string& cluster_id) {
  const std::string dir = std::string(NPC_SOURCE_DIR) + "/deploy/agent/";
  auto run = [&](const std::vector<std::string>& args,
                 const std::string& in = "") -> StatusOr<std::string> {
    harness::RunOptions o;
    o.stdin_data = in;
    NPC_ASSIGN_OR_RETURN(harness::ProcessResult r, env.Kubectl(args, o));
    if (!r.ok()) return Internal("kubectl " + args[0] + ": " + r.Describe());
    return r.out;
  };
  NPC_RETURN_IF_ERROR(run({"apply", "-f", "-"},
                          "apiVersion: v1\nkind: Namespace\nmetadata: {name: netpol-ctrl-system}\n")
                          .status());
  NPC_RETURN_IF_ERROR(run({"apply", "-f", dir + "crd.yaml", "-f", dir + "serviceaccount.yaml", "-f",
                           dir + "clusterrole.yaml", "-f", dir + "clusterrolebinding.yaml"})
                          .status());
  NPC_RETURN_IF_ERROR(run({"wait", "--for=condition=established", "--timeout=60s",
                           "crd/observedflows.netpol-ctrl.io"})
                          .status());
  NPC_ASSIGN_OR_RETURN(std::string token, run({"create", "token", "netpol-ctrl-agent", "-n",
                                               "netpol-ctrl-system", "--duration=2h"}));
  token = Trim(token);
  // The API server's port, at the address it has inside the dataplane.
  const std::string& server = env.server();
  const std::string port = server.substr(server.rfind(':') + 1);
  const std::string path = env.cluster_dir() + "/agent.kubeconfig";
  std::ofstream out(path);
  out << "apiVersion: v1\nkind: Config\n"
      << "clusters:\n- name: dataplane\n  cluster:\n    server: https://" << kApiServerIp << ":"
      << port << "\n    certificate-authority: " << env.ca_file() << "\n"
      << "users:\n- name: netpol-ctrl-agent\n  user:\n    token: " << token << "\n"
      << "contexts:\n- name: agent\n  context: {cluster: dataplane, user: netpol-ctrl-agent}\n"
      << "current-context: agent\n";
  out.close();
  if (!out) return Internal("cannot write " + path);
  (void)cluster_id;
  return path;
}

AgentProcess::AgentProcess(const harness::ClusterEnv& env, const std::string& cluster_id,
                           const std::string& kubeconfig, const std::string& name,
                           const std::vector<std::string>& extra, const std::string& binary)
    : netns_(NodeNetns(cluster_id)), log_(env.cluster_dir() + "/logs/agent-" + name + ".log") {
  std::vector<std::string> argv = {
      binary.empty() ? std::string(NPC_BINARY_DIR "/netpol-ctrl") : binary,
      "agent",
      "--kubeconfig",
      kubeconfig,
      "--node-name",
      "npc-node",
      "-v",
      "1",
      "--metrics-bind-address=127.0.0.1:" + std::to_string(kMetricsPort),
      "--health-probe-bind-address=127.0.0.1:" + std::to_string(kProbePort)};
  argv.insert(argv.end(), extra.begin(), extra.end());
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const int log_fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const int ns_fd = ::open(NetnsPath(netns_).c_str(), O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    if (ns_fd < 0 || ::setns(ns_fd, CLONE_NEWNET) != 0) ::_exit(126);
    if (log_fd >= 0) {
      ::dup2(log_fd, 1);
      ::dup2(log_fd, 2);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  if (log_fd >= 0) ::close(log_fd);
  if (ns_fd >= 0) ::close(ns_fd);
}

AgentProcess::~AgentProcess() {
  Stop();
}

std::string AgentProcess::Log() const {
  std::ifstream in(log_);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool AgentProcess::running() {
  if (pid_ <= 0) return false;
  int st = 0;
  if (::waitpid(pid_, &st, WNOHANG) == 0) return true;
  status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  pid_ = -1;
  return false;
}

int AgentProcess::Stop() {
  if (pid_ <= 0) return status_;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 400; ++i) {
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
      pid_ = -1;
      return status_;
    }
    std::this_thread::sleep_for(50ms);
  }
  Kill();
  return -1;
}

void AgentProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  status_ = -1;
}

StatusOr<std::string> AgentProcess::Get(int port, const std::string& path) const {
  NPC_ASSIGN_OR_RETURN(NetnsGuard guard, NetnsGuard::Enter(netns_));
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Internal(std::string("socket: ") + std::strerror(errno));
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    const int e = errno;
    ::close(fd);
    return Unavailable(std::string("connect: ") + std::strerror(e));
  }
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string resp;
  char buf[8192];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) resp.append(buf, static_cast<size_t>(n));
  ::close(fd);
  const size_t body = resp.find("\r\n\r\n");
  if (resp.rfind("HTTP/1.", 0) != 0 || body == std::string::npos) {
    return Unavailable("not an HTTP answer: " + resp.substr(0, 100));
  }
  const std::string status = resp.substr(9, 3);
  if (status != "200") return Unavailable("HTTP " + status + ": " + resp.substr(body + 4));
  return resp.substr(body + 4);
}

bool AgentProcess::WaitReady(std::chrono::milliseconds timeout) {
  return harness::PollUntil(
             [&] {
               if (!running()) return true;
               auto r = Get(kProbePort, "/readyz");
               return r.ok() && Trim(*r) == "ok";
             },
             timeout, 200ms) &&
         running();
}

double AgentProcess::Metric(const std::string& series) const {
  auto text = Get(kMetricsPort, "/metrics");
  if (!text.ok()) return -1;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

StatusOr<std::optional<observedflows::ObservedFlows>> ReadObservedFlows(kube::Client& client,
                                                                        const std::string& ns,
                                                                        const std::string& name) {
  auto o = client.Get(kube::Resource::kObservedFlows, ns, name);
  if (!o.ok()) {
    if (o.error().reason == kube::Reason::kNotFound) {
      return std::optional<observedflows::ObservedFlows>();
    }
    return o.status();
  }
  NPC_ASSIGN_OR_RETURN(observedflows::ObservedFlows parsed,
                       observedflows::ParseObservedFlows(o->json));
  return std::optional<observedflows::ObservedFlows>(std::move(parsed));
}

namespace {
std::string ServiceOf(const observedflows::Flow& f) {
  if (!f.service) return "";
  return f.service->ns + "/" + f.service->name + ":" + std::to_string(f.service->port);
}
}  // namespace

uint64_t FlowCount(const std::optional<observedflows::ObservedFlows>& o, const std::string& server,
                   int port, const std::string& protocol, const std::string& service) {
  if (!o) return 0;
  uint64_t n = 0;
  for (const observedflows::MergedFlow& m : observedflows::Merge(*o)) {
    const observedflows::Flow& f = m.flow;
    if (f.server.ToString() == server && f.port == port &&
        observedflows::ProtocolName(f.protocol) == protocol && ServiceOf(f) == service) {
      n += f.count;
    }
  }
  return n;
}

std::string DescribeFlows(const std::optional<observedflows::ObservedFlows>& o) {
  if (!o) return "(no ObservedFlows object)\n";
  std::string out;
  for (const observedflows::MergedFlow& m : observedflows::Merge(*o)) {
    const observedflows::Flow& f = m.flow;
    out += "  " + f.server.ToString() + " " + std::to_string(f.port) + "/" +
           std::string(observedflows::ProtocolName(f.protocol));
    if (f.service) out += " via " + ServiceOf(f);
    out += " x" + std::to_string(f.count) + "\n";
  }
  return out.empty() ? "(no flows)\n" : out;
}

}  // namespace npc::dataplane
