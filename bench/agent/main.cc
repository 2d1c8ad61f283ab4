// The node agent benchmark (issue 12, item 5, the agent's half): the agent's
// CPU and memory while pods of the test dataplane make new, short TCP
// connections to another pod at 10,000 a second for 30 s. Run as root under
// `scripts/with-cluster --dataplane` (`make bench` does); prints one JSON
// object on stdout, progress on stderr.
//
// Scenario: namespace bench-agent, Deployment `client` (8 pods) and
// Deployment `server` (1 pod); `netpol-ctrl agent` runs as a process in the
// node's network namespace with deploy/agent's RBAC
// (test/dataplane/agent_harness.h). Each client pod gets a thread (inside
// its network namespace) that opens non-blocking connections to the server
// pod's address, paced to its share of the rate, and resets each one (SO_LINGER
// 0: no TIME_WAIT, no port exhaustion) as soon as it is established; a thread
// in the server pod's namespace accepts and closes. Every connection crosses
// the node's network namespace, where conntrack tracks it. Bounded: at most
// rate x duration connections, at most 30 s (+2 s to finish), only to the
// server pod's address (refused unless in 198.18.0.0/15).
//
// Checked before any number is reported: the agent's ObservedFlows for
// bench-agent/deployment-client holds one flow to Deployment/server on the
// port, and its count C + L (L: the events the kernel dropped for the agent,
// its metric) equals N, the NEW events of those connections that an
// independent conntrack reader of the benchmark's own (in the node's
// namespace, a 64 MB buffer) counted, with none lost. N itself must lie
// between the connections established and a hair above those attempted: the
// kernel may add an entry for a late packet of a connection whose entry it
// already forgot (conntrack's loose TCP pick-up); the JSON says how many.
// Measured:
// the agent's CPU (utime+stime from /proc/<pid>/stat) over the load window,
// its peak RSS (VmHWM) and RSS after the load.
//
// Also measured, before the load: the time from a first connection to its
// WouldDeny Event with the controller in --observed-flows=report
// (MeasureWouldDenyLatency; target within 2 report intervals).
//
// Knobs (environment): NPC_BENCH_RATE (10000), NPC_BENCH_SECONDS (30),
// NPC_BENCH_CLIENTS (8).
#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/conntrack.h"
#include "dataplane/agent_harness.h"
#include "dataplane/naming.h"
#include "dataplane/netns.h"
#include "dataplane/probe.h"
#include "dataplane/view.h"
#include "test/harness/cluster.h"
#include "test/harness/process.h"

namespace npc::bench {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* kNs = "bench-agent";
constexpr int kServerPort = 7000;

int EnvInt(const char* name, int def) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : def;
}

void Log(const std::string& s) {
  std::fprintf(stderr, "bench agent: %s\n", s.c_str());
}

bool InBenchRange(const std::string& ip) {
  in_addr a{};
  if (inet_pton(AF_INET, ip.c_str(), &a) != 1) return false;
  const uint32_t h = ntohl(a.s_addr);
  return (h & 0xFFFE0000u) == 0xC6120000u;  // 198.18.0.0/15
}

// CPU seconds (user + system) of a process.
double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = s.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(s.substr(close + 2));
  std::string f;
  long long utime = 0, stime = 0;
  for (int i = 3; fields >> f; ++i) {  // field 3 is the state
    if (i == 14) utime = std::stoll(f);
    if (i == 15) {
      stime = std::stoll(f);
      break;
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// VmHWM or VmRSS of a process, in MB.
double MemoryMb(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stod(line.substr(key.size() + 1)) / 1024.0;
  }
  return -1;
}

bool EnterNetns(const std::string& netns) {
  const int fd = ::open(dataplane::NetnsPath(netns).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::setns(fd, CLONE_NEWNET) == 0;
  ::close(fd);
  return ok;
}

struct LoadResult {
  std::atomic<uint64_t> attempted{0};
  std::atomic<uint64_t> established{0};
  std::atomic<uint64_t> failed{0};
};

// Accepts and closes until `stop`; in the server pod's network namespace.
void Serve(const std::string& netns, const std::atomic<bool>& stop, std::atomic<bool>& ready,
           std::string& error) {
  if (!EnterNetns(netns)) {
    error = "cannot enter " + netns;
    ready = true;
    return;
  }
  const int ls = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(kServerPort);
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  if (::bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(ls, 4096) != 0) {
    error = std::string("listen: ") + std::strerror(errno);
    ready = true;
    return;
  }
  ready = true;
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = ls;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  epoll_event out[8];
  while (!stop) {
    if (::epoll_wait(ep, out, 8, 100) <= 0) continue;
    while (true) {
      const int c = ::accept4(ls, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        continue;  // ECONNABORTED: the client reset first
      }
      ::close(c);
    }
  }
  ::close(ep);
  ::close(ls);
}

// Paced connections to ip:port from inside `netns`, until `deadline` or
// `quota` attempts.
void Load(const std::string& netns, const std::string& ip, double rate, uint64_t quota,
          Clock::time_point deadline, LoadResult& r) {
  if (!EnterNetns(netns)) return;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(kServerPort);
  inet_pton(AF_INET, ip.c_str(), &to.sin_addr);
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  const auto period =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate));
  auto next = Clock::now();
  std::map<int, Clock::time_point> in_flight;
  constexpr size_t kMaxInFlight = 512;
  const linger reset{1, 0};
  auto finish = [&](int fd, bool ok) {
    ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    ::close(fd);
    in_flight.erase(fd);
    (ok ? r.established : r.failed)++;
  };
  uint64_t mine = 0;
  epoll_event out[256];
  while (true) {
    const auto now = Clock::now();
    const bool sending = now < deadline && mine < quota;
    if (!sending && in_flight.empty()) break;
    if (!sending && now > deadline + 2s) break;
    while (sending && next <= now && mine < quota && in_flight.size() < kMaxInFlight) {
      next += period;
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        r.failed++;
        continue;
      }
      ++mine;
      r.attempted++;
      const int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to));
      if (rc == 0) {
        in_flight[fd] = now;
        finish(fd, true);
      } else if (errno == EINPROGRESS) {
        epoll_event ev{};
        ev.events = EPOLLOUT;
        ev.data.fd = fd;
        ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        in_flight[fd] = now;
      } else {
        in_flight[fd] = now;
        finish(fd, false);
      }
    }
    // Behind schedule by more than a second (the machine cannot keep up):
    // do not burst to catch up.
    if (next < now - 1s) next = now;
    const int n = ::epoll_wait(ep, out, 256, 1);
    for (int i = 0; i < n; ++i) {
      const int fd = out[i].data.fd;
      int err = 0;
      socklen_t len = sizeof(err);
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      finish(fd, err == 0);
    }
    // Connections without an answer for 2 s: failed.
    for (auto it = in_flight.begin(); it != in_flight.end();) {
      if (Clock::now() - it->second > 2s) {
        const int fd = (it++)->first;
        finish(fd, false);
      } else {
        ++it;
      }
    }
  }
  for (auto& [fd, t] : std::map<int, Clock::time_point>(in_flight)) finish(fd, false);
  ::close(ep);
}

// Counts the NEW events of client -> server:port connections, independently
// of the agent (its own socket, in the node's network namespace).
class Observer final : public agent::EventSink {
 public:
  Observer(std::vector<std::string> clients, std::string server)
      : clients_(std::move(clients)), server_(std::move(server)) {}
  void OnEvents(std::span<const agent::ConnEvent> events) override {
    for (const agent::ConnEvent& e : events) {
      if (e.orig.dport != kServerPort || e.orig.dst.ToString() != server_) continue;
      const std::string src = e.orig.src.ToString();
      for (const std::string& c : clients_) {
        if (c == src) {
          ++seen;
          break;
        }
      }
    }
  }
  void OnOverflow(uint64_t lost_total) override { lost = lost_total; }
  void OnIdle() override {}
  std::atomic<uint64_t> seen{0};
  std::atomic<uint64_t> lost{0};

 private:
  const std::vector<std::string> clients_;
  const std::string server_;
};

// Issue 12 item 3: the time from a first connection to its WouldDeny Event.
// Starts the controller (`netpol-ctrl run --mode=audit
// --observed-flows=report`, a process on the host with admin credentials),
// waits until it is ready, makes one connection from a client pod to the
// server pod on a port no manifest names and the load does not use, and
// times until an Event with reason WouldDeny about Deployment/client naming
// that port appears. Checked before it reports: the Event names exactly that
// flow; target: within 2 report intervals of the agent.
json MeasureWouldDenyLatency(const harness::ClusterEnv& env, kube::Client& client,
                             const dataplane::PodView& from, const dataplane::PodView& to,
                             std::chrono::seconds report_interval) {
  constexpr int kProbePort = kServerPort + 1;  // the server's declared containerPort
  const std::string log = env.cluster_dir() + "/logs/netpol-ctrl-bench-would-deny.log";
  const std::string probe_addr = "127.0.0.1:19481";
  std::vector<std::string> argv = {NPC_BINARY_DIR "/netpol-ctrl",
                                   "run",
                                   "--kubeconfig",
                                   env.kubeconfig(),
                                   "--mode=audit",
                                   "--observed-flows=report",
                                   "--metrics-bind-address=0",
                                   "--health-probe-bind-address=" + probe_addr};
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  if (fd >= 0) ::close(fd);
  auto stop = [&] {
    ::kill(pid, SIGTERM);
    ::waitpid(pid, nullptr, 0);
  };
  json out = {{"target_s", 2 * report_interval.count()}, {"controller_log", log}};
  const bool ready = harness::PollUntil(
      [&] {
        harness::RunOptions ro;
        ro.timeout = 5s;
        auto r = harness::RunProcess({"curl", "-sf", "http://" + probe_addr + "/readyz"}, ro);
        return r.ok() && r->ok();
      },
      120s, 500ms);
  if (!ready) {
    stop();
    out["error"] = "the controller did not get ready";
    out["ok"] = false;
    return out;
  }
  const std::string want = "Deployment/" + std::string(kNs) + "/client -> Deployment/" +
                           std::string(kNs) + "/server " + std::to_string(kProbePort) + "/TCP";
  // Events already there (from the load's flow) do not count.
  auto matching = [&] {
    auto list = client.List(kube::Resource::kEventsV1, kNs);
    if (!list.ok()) return false;
    for (const kube::Object& e : list->items) {
      const json j = json::parse(e.json, nullptr, false);
      if (j.is_discarded() || j.value("reason", "") != "WouldDeny") continue;
      if (j.value("note", "").find(want) != std::string::npos) return true;
    }
    return false;
  };
  const auto t0 = Clock::now();
  const dataplane::ProbeResult r =
      dataplane::ProbeAll({{from.netns, to.ip, kProbePort, "TCP", ""}})[0];
  if (!r.answered()) {
    stop();
    out["error"] = "the connection was not answered: " + r.ToString();
    out["ok"] = false;
    return out;
  }
  const bool seen = harness::PollUntil(matching, 4 * report_interval + 30s, 100ms);
  const double took = std::chrono::duration<double>(Clock::now() - t0).count();
  stop();
  out["event"] = want;
  out["ok"] = seen;
  if (!seen) {
    out["error"] = "no WouldDeny Event naming " + want;
    return out;
  }
  out["seconds"] = took;
  out["met"] = took <= 2.0 * static_cast<double>(report_interval.count());
  return out;
}

int Run() {
  json out = {{"benchmark", "agent"}};
  const char* dp = std::getenv("NPC_DATAPLANE");
  if (dp == nullptr || std::string(dp) != "1") {
    out["skipped"] = "no dataplane: run as root under scripts/with-cluster --dataplane";
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  const int rate = EnvInt("NPC_BENCH_RATE", 10000);
  const int seconds = EnvInt("NPC_BENCH_SECONDS", 30);
  const int clients = EnvInt("NPC_BENCH_CLIENTS", 8);
  auto env = harness::ClusterEnv::FromEnvironment();
  if (!env.ok()) {
    Log(env.status().ToString());
    return 1;
  }
  const std::string cluster_id = dataplane::ClusterId(env->cluster_dir());
  auto client = dataplane::MakeClientFor(env->kubeconfig());
  if (!client.ok()) {
    Log(client.status().ToString());
    return 1;
  }
  auto kubeconfig = dataplane::InstallAgent(*env, cluster_id);
  if (!kubeconfig.ok()) {
    Log(kubeconfig.status().ToString());
    return 1;
  }
  const std::string app = fmt::format(R"(
apiVersion: v1
kind: Namespace
metadata: {{name: {0}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: client, namespace: {0}}}
spec:
  replicas: {1}
  selector: {{matchLabels: {{app: client}}}}
  template:
    metadata: {{labels: {{app: client}}}}
    spec: {{containers: [{{name: main, image: registry.k8s.io/pause:3.10}}]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: server, namespace: {0}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: server}}}}
  template:
    metadata: {{labels: {{app: server}}}}
    spec: {{containers: [{{name: main, image: registry.k8s.io/pause:3.10, ports: [{{containerPort: {2}}}]}}]}}
)",
                                      kNs, clients, kServerPort + 1);
  harness::RunOptions ro;
  ro.stdin_data = app;
  auto applied = env->Kubectl({"apply", "-f", "-"}, ro);
  if (!applied.ok() || !applied->ok()) {
    Log("kubectl apply failed: " +
        (applied.ok() ? applied->Describe() : applied.status().ToString()));
    return 1;
  }
  auto cleanup = [&] {
    (void)env->Kubectl({"delete", "namespace", kNs, "--wait=true", "--timeout=120s"});
  };
  std::vector<dataplane::PodView> client_pods;
  std::optional<dataplane::PodView> server_pod;
  const bool running = harness::PollUntil(
      [&] {
        auto pods = dataplane::ListPods(**client, cluster_id, {kNs});
        if (!pods.ok()) return false;
        client_pods.clear();
        server_pod.reset();
        for (const auto& p : *pods) {
          if (!p.running()) continue;
          if (p.labels.count("app") && p.labels.at("app") == "server") server_pod = p;
          if (p.labels.count("app") && p.labels.at("app") == "client") client_pods.push_back(p);
        }
        return server_pod && client_pods.size() == static_cast<size_t>(clients);
      },
      180s, 1s);
  if (!running || !InBenchRange(server_pod->ip)) {
    Log("the bench pods did not run (or the server's address is outside 198.18.0.0/15)");
    cleanup();
    return 1;
  }
  // Earlier pods' conntrack entries on reused addresses are not this run's.
  for (const auto& p : client_pods) {
    (void)std::system(("ip netns exec " + dataplane::NodeNetns(cluster_id) + " conntrack -D -s " +
                       p.ip + " >/dev/null 2>&1")
                          .c_str());
  }

  dataplane::AgentProcess agent(*env, cluster_id, *kubeconfig, "bench", {"--report-interval=10s"});
  if (!agent.WaitReady(60s)) {
    Log("the agent did not get ready:\n" + agent.Log());
    cleanup();
    return 1;
  }
  std::this_thread::sleep_for(2s);
  const double rss_idle = MemoryMb(agent.pid(), "VmRSS");
  // Before the load (which takes the server's port 7000), on the server's
  // declared port: the pod listener answers there.
  const json would_deny =
      MeasureWouldDenyLatency(*env, **client, client_pods.front(), *server_pod, 10s);
  Log("WouldDeny latency: " + would_deny.dump());

  std::atomic<bool> stop_server{false}, server_ready{false};
  std::string server_error;
  std::thread server(Serve, server_pod->netns, std::cref(stop_server), std::ref(server_ready),
                     std::ref(server_error));
  while (!server_ready) std::this_thread::sleep_for(10ms);
  if (!server_error.empty()) {
    Log(server_error);
    stop_server = true;
    server.join();
    cleanup();
    return 1;
  }

  Log(fmt::format("{} connections/s for {} s from {} client pods to {}:{}", rate, seconds, clients,
                  server_pod->ip, kServerPort));
  // The independent reader, subscribed before the first connection.
  std::vector<std::string> client_ips;
  for (const auto& p : client_pods) client_ips.push_back(p.ip);
  Observer observer(client_ips, server_pod->ip);
  std::atomic<bool> stop_observer{false};
  std::unique_ptr<agent::ConntrackSource> observer_ct;
  {
    std::thread opener([&] {
      if (!EnterNetns(dataplane::NodeNetns(cluster_id))) return;
      auto ct = agent::OpenConntrack({.receive_buffer_bytes = 64 << 20});
      if (ct.ok()) observer_ct = std::move(*ct);
    });
    opener.join();
  }
  if (!observer_ct) {
    Log("cannot open the benchmark's own conntrack reader");
    stop_server = true;
    server.join();
    cleanup();
    return 1;
  }
  std::thread observing([&] { (void)observer_ct->Run(stop_observer, observer); });

  LoadResult load;
  const double cpu0 = CpuSeconds(agent.pid());
  const auto t0 = Clock::now();
  const auto deadline = t0 + std::chrono::seconds(seconds);
  const uint64_t quota =
      static_cast<uint64_t>(rate) * static_cast<uint64_t>(seconds) / static_cast<uint64_t>(clients);
  std::vector<std::thread> loaders;
  for (const auto& p : client_pods) {
    loaders.emplace_back(Load, p.netns, server_pod->ip, static_cast<double>(rate) / clients, quota,
                         deadline, std::ref(load));
  }
  double rss_max = 0;
  while (Clock::now() < deadline + 2s) {
    rss_max = std::max(rss_max, MemoryMb(agent.pid(), "VmRSS"));
    std::this_thread::sleep_for(500ms);
  }
  for (auto& t : loaders) t.join();
  const double load_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  // Let the agent finish reading what the kernel queued.
  std::this_thread::sleep_for(1s);
  const double cpu1 = CpuSeconds(agent.pid());
  stop_server = true;
  server.join();
  stop_observer = true;
  observing.join();
  const double events = agent.Metric("netpol_ctrl_agent_conntrack_events_total");
  const double lost = agent.Metric("netpol_ctrl_agent_conntrack_events_lost_total");
  const double hwm = MemoryMb(agent.pid(), "VmHWM");
  const double rss_end = MemoryMb(agent.pid(), "VmRSS");
  const int exit_code = agent.Stop();  // the last write holds every count

  auto o = dataplane::ReadObservedFlows(**client, kNs, "deployment-client");
  const uint64_t reported =
      o.ok() ? dataplane::FlowCount(*o, std::string("Deployment/") + kNs + "/server", kServerPort,
                                    "TCP")
             : 0;
  const uint64_t attempted = load.attempted, established = load.established;
  const uint64_t lost_n = lost > 0 ? static_cast<uint64_t>(lost) : 0;
  const uint64_t observed = observer.seen, observer_lost = observer.lost;
  std::vector<std::string> problems;
  if (exit_code != 0) problems.push_back(fmt::format("the agent exited {}", exit_code));
  if (!o.ok()) problems.push_back("reading ObservedFlows: " + o.status().ToString());
  if (observer_lost > 0) {
    problems.push_back(
        fmt::format("the benchmark's own reader lost {} events: no exact check", observer_lost));
  }
  if (reported + lost_n != observed) {
    problems.push_back(fmt::format("reported {} + lost {} != {} NEW events seen by the benchmark",
                                   reported, lost_n, observed));
  }
  if (observed < established || observed > attempted + attempted / 1000) {
    problems.push_back(fmt::format(
        "{} NEW events for {} connections established of {} attempted: the load is not what "
        "the kernel saw",
        observed, established, attempted));
  }
  const double cpu = cpu1 - cpu0;
  const double achieved = static_cast<double>(attempted) / std::min<double>(load_seconds, seconds);
  out["scenario"] = {{"target_rate_per_s", rate},
                     {"duration_s", seconds},
                     {"client_pods", clients},
                     {"server", fmt::format("{}:{}/TCP", server_pod->ip, kServerPort)}};
  out["connections"] = {{"attempted", attempted},
                        {"established", established},
                        {"failed", static_cast<uint64_t>(load.failed)},
                        {"achieved_rate_per_s", std::round(achieved)}};
  out["agent"] = {{"cpu_seconds", cpu},
                  {"cpu_cores", cpu / load_seconds},
                  {"cpu_us_per_connection", attempted > 0 ? cpu * 1e6 / attempted : 0.0},
                  {"rss_idle_mb", rss_idle},
                  {"rss_max_mb", rss_max},
                  {"rss_peak_mb_vmhwm", hwm},
                  {"rss_end_mb", rss_end},
                  {"events_read", events},
                  {"events_lost", lost}};
  out["check"] = {
      {"reported_count", reported},
      {"new_events_seen_by_benchmark", observed},
      {"kernel_entries_beyond_attempts", observed > attempted ? observed - attempted : 0},
      {"rule",
       "reported + lost == NEW events seen by the benchmark's own reader "
       "(none lost), established <= those <= attempted + 0.1%"},
      {"ok", problems.empty()},
      {"problems", problems}};
  const double cores_at_target = attempted > 0 ? cpu / attempted * rate : 0.0;
  out["targets"] = {{"cpu_cores_max", 0.2},
                    {"rss_mb_max", 30},
                    {"cpu_cores_at_10k_per_s_extrapolated", cores_at_target},
                    {"cpu_met", cpu / load_seconds <= 0.2 && cores_at_target <= 0.2},
                    {"rss_met", hwm <= 30}};
  out["would_deny_latency"] = would_deny;
  if (!would_deny.value("ok", false)) {
    problems.push_back("WouldDeny latency: " + would_deny.value("error", std::string("failed")));
    out["check"]["ok"] = false;
    out["check"]["problems"] = problems;
  }
  out["not_checked"] = {
      "each connection's individual attribution (the count of the one flow is checked)"};
  std::printf("%s\n", out.dump(2).c_str());
  cleanup();
  return problems.empty() ? 0 : 1;
}

}  // namespace
}  // namespace npc::bench

int main() {
  return npc::bench::Run();
}
