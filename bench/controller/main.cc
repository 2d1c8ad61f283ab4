// The controller benchmark of issue 5: `netpol-ctrl run` against a live
// control plane (scripts/with-cluster exports KUBECONFIG), printing one JSON
// object on stdout; progress goes to stderr.
//
// Scenario: 20 namespaces, 100 Deployments and 100 Services in each, two
// references per Deployment (one short name in its own namespace, one FQDN in
// the next namespace), created with 8 threads before the controller starts;
// the kube-controller-manager makes their ReplicaSets and Pods (Pending: no
// nodes), and the benchmark waits for those Pods and for the cluster to go
// quiet. Services whose ClusterIP the test cluster cannot allocate (its range
// is a /24) are made headless: same selector, ports and policies.
// Then, in one run:
//   1. start the controller (a subprocess: its RSS and CPU are its own) and
//      time it until every expected policy is in the cluster with exactly the
//      expected cross-workload peers (egress and ingress), seen through a
//      watch on the managed NetworkPolicies;
//   2. latency from a Deployment change (a new reference in its env) to its
//      policy holding the new peer: 50 changes one at a time, then a burst of
//      500 sent by 16 threads; then every policy must be correct again;
//   3. the controller's peak RSS and CPU seconds (wait4 rusage) for 1 and 2;
//   4. the raw limit: the same policies applied (server-side apply) by a bare
//      client with the controller's concurrency (2) into fresh namespaces;
//   5. a restart on the unchanged cluster: writes counted from its log;
//   6. bulk Pods with a controlling owner (metadata-only for netpol-ctrl):
//      RSS growth per Pod, live in the restarted controller and between two
//      fresh starts (before and after); the larger is the headline.
// API requests by verb: from the kube-apiserver's apiserver_request_total
// and apiserver_longrunning_requests over the start-up window (every client;
// the benchmark makes no counted request then), restricted to what the
// controller reads and writes; writes also from the controller's log.
//
// Knobs (environment), for a quick run while developing:
//   NPC_BENCH_PER_NS (100), NPC_BENCH_BULK_PODS (20000),
//   NPC_BENCH_BULK_BUDGET_S (240), NPC_CTRL_BIN (the netpol-ctrl of this build).
#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "decode/decode.h"
#include "kube/client.h"
#include "kube/config.h"
#include "model/model.h"

namespace {

using nlohmann::json;
using npc::kube::Resource;
using SteadyClock = std::chrono::steady_clock;
using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace)

constexpr int kNamespaces = 20;
constexpr int kSetupThreads = 8;
constexpr int kControllerWorkers = 2;  // netpol-ctrl run's default --workers
constexpr int kIdleChanges = 50;
constexpr int kBurstChanges = 500;
constexpr int kBulkThreads = 16;
constexpr int kTargetPort = 8080;

const SteadyClock::time_point g_start = SteadyClock::now();

double SecondsSince(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

template <typename... Args>
void Log(fmt::format_string<Args...> f, Args&&... args) {
  fmt::print(stderr, "[bench {:7.1f}s] {}\n", SecondsSince(g_start),
             fmt::format(f, std::forward<Args>(args)...));
}

int EnvInt(const char* name, int def) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : def;
}

// Runs fn(0..n-1) on `threads` threads.
void Parallel(int threads, size_t n, const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&] {
      for (size_t i = next++; i < n; i = next++) fn(i);
    });
  }
  for (auto& t : ts) t.join();
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

json Round(double v, int digits = 3) {
  if (std::isnan(v)) return nullptr;
  double f = std::pow(10.0, digits);
  return std::round(v * f) / f;
}

// ---------------------------------------------------------------------------
// The scenario: who references whom, and what each policy must then say.

struct Scenario {
  std::string prefix;  // namespaces are <prefix>-<i>
  int per_ns = 100;
  // refs[w] = workloads (by index) whose Service w's Deployment names.
  std::vector<std::set<int>> refs;

  int Workloads() const { return kNamespaces * per_ns; }
  int Index(int n, int j) const { return n * per_ns + j; }
  int NsOf(int w) const { return w / per_ns; }
  int JOf(int w) const { return w % per_ns; }
  std::string Ns(int n) const { return fmt::format("{}-{}", prefix, n); }
  static std::string App(int j) { return fmt::format("app-{}", j); }
  static std::string Svc(int j) { return fmt::format("svc-{}", j); }
  // Policy identity: namespace and the pod selector's app label.
  std::string Key(int w) const { return Ns(NsOf(w)) + "/" + App(JOf(w)); }

  void Init() {
    refs.assign(Workloads(), {});
    for (int n = 0; n < kNamespaces; ++n) {
      for (int j = 0; j < per_ns; ++j) {
        refs[Index(n, j)].insert(Index(n, (j + 1) % per_ns));
        refs[Index(n, j)].insert(Index((n + 1) % kNamespaces, (j + 7) % per_ns));
      }
    }
  }

  // The value naming workload `to`'s Service from workload `from`: the short
  // name in the same namespace, the FQDN across namespaces.
  std::string RefValue(int from, int to) const {
    if (NsOf(from) == NsOf(to)) return fmt::format("http://{}:80", Svc(JOf(to)));
    return fmt::format("{}.{}.svc.cluster.local:80", Svc(JOf(to)), Ns(NsOf(to)));
  }

  json Containers(int w) const {
    json env = json::array();
    int i = 0;
    for (int to : refs[w]) {
      env.push_back({{"name", fmt::format("PEER_{}", i++)}, {"value", RefValue(w, to)}});
    }
    return json::array(
        {{{"name", "app"},
          {"image", "registry.k8s.io/pause:3.9"},
          {"ports", json::array({{{"name", "http"}, {"containerPort", kTargetPort}}})},
          {"env", env}}});
  }

  json Deployment(int w) const {
    const std::string app = App(JOf(w));
    return {{"apiVersion", "apps/v1"},
            {"kind", "Deployment"},
            {"metadata", {{"name", app}, {"namespace", Ns(NsOf(w))}}},
            {"spec",
             {{"replicas", 1},
              {"selector", {{"matchLabels", {{"app", app}}}}},
              {"template",
               {{"metadata", {{"labels", {{"app", app}, {"npc-bench", prefix}}}}},
                {"spec", {{"containers", Containers(w)}}}}}}}};
  }

  json Service(int w) const {
    return {{"apiVersion", "v1"},
            {"kind", "Service"},
            {"metadata", {{"name", Svc(JOf(w))}, {"namespace", Ns(NsOf(w))}}},
            {"spec",
             {{"selector", {{"app", App(JOf(w))}}},
              {"ports", json::array({{{"name", "http"},
                                      {"port", 80},
                                      {"targetPort", kTargetPort},
                                      {"protocol", "TCP"}}})}}}};
  }

  static std::string PeerSig(char dir, const std::string& ns, const std::string& app) {
    return fmt::format("{} {}/{}:TCP/{}", dir, ns, app, kTargetPort);
  }

  // The cross-workload peers workload w's policy must hold, egress ("E") and
  // ingress ("I"), as PeerSig strings.
  std::vector<std::set<std::string>> Expected() const {
    std::vector<std::set<std::string>> e(Workloads());
    for (int w = 0; w < Workloads(); ++w) {
      for (int to : refs[w]) {
        if (to == w) continue;
        e[w].insert(PeerSig('E', Ns(NsOf(to)), App(JOf(to))));
        e[to].insert(PeerSig('I', Ns(NsOf(w)), App(JOf(w))));
      }
    }
    return e;
  }
};

// The cross-workload peers of a stored policy (namespaceSelector by name AND
// podSelector by app), in Scenario::PeerSig form; its key, or "" when the
// policy selects no app.
std::string PolicySig(const npc::NetworkPolicy& p, std::set<std::string>* sig) {
  auto app = p.pod_selector.match_labels.find("app");
  if (app == p.pod_selector.match_labels.end()) return "";
  auto add = [&](char dir, const std::vector<npc::PolicyRule>& rules) {
    for (const auto& rule : rules) {
      for (const auto& peer : rule.peers) {
        if (!peer.namespace_selector || !peer.pod_selector) continue;
        auto ns = peer.namespace_selector->match_labels.find(std::string(npc::kNamespaceNameLabel));
        auto pa = peer.pod_selector->match_labels.find("app");
        if (ns == peer.namespace_selector->match_labels.end() ||
            pa == peer.pod_selector->match_labels.end()) {
          continue;
        }
        if (ns->second == p.ns && pa->second == app->second) continue;  // its own pods
        if (rule.ports.empty()) {
          sig->insert(fmt::format("{} {}/{}:all", dir, ns->second, pa->second));
        }
        for (const auto& port : rule.ports) {
          sig->insert(fmt::format("{} {}/{}:{}/{}", dir, ns->second, pa->second, port.protocol,
                                  port.port.ToString()));
        }
      }
    }
  };
  add('E', p.egress);
  add('I', p.ingress);
  return p.ns + "/" + app->second;
}

// ---------------------------------------------------------------------------
// What the cluster holds, as seen through a watch on managed policies.

class Tracker {
 public:
  void SetExpected(const std::string& key, std::set<std::string> sig) {
    std::lock_guard<std::mutex> lock(mu_);
    expected_[key] = std::move(sig);
    Check(key);
  }

  void OnPolicy(const std::string& key, std::set<std::string> sig) {
    const auto now = SteadyClock::now();
    std::lock_guard<std::mutex> lock(mu_);
    ++events_;
    if (auto p = pending_.find(key); p != pending_.end() && sig.count(p->second.needed)) {
      double ms = std::chrono::duration<double, std::milli>(now - p->second.sent).count();
      (*p->second.out).push_back(ms);
      pending_.erase(p);
    }
    actual_[key] = std::move(sig);
    Check(key);
    cv_.notify_all();
  }

  void OnDelete(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    ++events_;
    actual_.erase(key);
    Check(key);
    cv_.notify_all();
  }

  // Waits until the policy of every expected key holds exactly its expected
  // peers; false at the deadline.
  bool WaitAllCorrect(SteadyClock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_until(lock, deadline, [&] { return wrong_.empty(); });
  }

  size_t Wrong() {
    std::lock_guard<std::mutex> lock(mu_);
    return wrong_.size();
  }

  // Latency: `needed` must show up in key's policy; the time from `sent` is
  // appended to *out.
  void Expect(const std::string& key, std::string needed, SteadyClock::time_point sent,
              std::vector<double>* out) {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto a = actual_.find(key); a != actual_.end() && a->second.count(needed)) {
      out->push_back(std::chrono::duration<double, std::milli>(SteadyClock::now() - sent).count());
      return;
    }
    pending_[key] = {std::move(needed), sent, out};
  }

  bool WaitPendingDone(SteadyClock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_until(lock, deadline, [&] { return pending_.empty(); });
  }

  size_t DropPending() {
    std::lock_guard<std::mutex> lock(mu_);
    size_t n = pending_.size();
    pending_.clear();
    return n;
  }

  uint64_t events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

 private:
  struct Pending {
    std::string needed;
    SteadyClock::time_point sent;
    std::vector<double>* out;
  };

  void Check(const std::string& key) {
    auto e = expected_.find(key);
    if (e == expected_.end()) return;
    auto a = actual_.find(key);
    if (a != actual_.end() && a->second == e->second) {
      wrong_.erase(key);
    } else {
      wrong_.insert(key);
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::set<std::string>> expected_;
  std::map<std::string, std::set<std::string>> actual_;
  std::set<std::string> wrong_;
  std::map<std::string, Pending> pending_;
  uint64_t events_ = 0;
};

// Lists, then watches, the managed NetworkPolicies until stopped.
void WatchPolicies(npc::kube::Client& client, Tracker& tracker, const std::atomic<bool>& stop,
                   std::atomic<bool>& ready) {
  const std::string selector =
      std::string(npc::kManagedByLabel) + "=" + std::string(npc::kManagedByValue);
  npc::decode::Decoder decoder;
  auto handle = [&](std::string_view object, bool deleted) {
    auto o = decoder.Decode(object, {.default_kind = "NetworkPolicy"});
    if (!o.ok()) return;
    auto* sp = std::get_if<npc::decode::StoredPolicy>(&o->value);
    if (!sp) return;
    std::set<std::string> sig;
    std::string key = PolicySig(sp->policy, &sig);
    if (key.empty()) return;
    if (deleted) {
      tracker.OnDelete(key);
    } else {
      tracker.OnPolicy(key, std::move(sig));
    }
  };
  while (!stop) {
    npc::kube::ListOptions lo;
    lo.label_selector = selector;
    auto list = client.List(Resource::kNetworkPolicies, "", lo);
    if (!list.ok()) {
      Log("policy list failed: {}", list.status().ToString());
      std::this_thread::sleep_for(1s);
      continue;
    }
    for (const auto& item : list->items) handle(item.json, false);
    ready = true;
    std::string rv = list->resource_version;
    while (!stop) {
      npc::kube::WatchOptions wo;
      wo.label_selector = selector;
      wo.resource_version = rv;
      wo.stop = &stop;
      auto end =
          client.Watch(Resource::kNetworkPolicies, "", wo, [&](const npc::kube::WatchEvent& e) {
            if (!e.resource_version.empty()) rv = e.resource_version;
            if (e.type == npc::kube::EventType::kAdded ||
                e.type == npc::kube::EventType::kModified) {
              handle(e.object, false);
            } else if (e.type == npc::kube::EventType::kDeleted) {
              handle(e.object, true);
            }
            return npc::Status::Ok();
          });
      if (end.ok()) {
        if (!end->resource_version.empty()) rv = end->resource_version;
        continue;
      }
      if (!end.error().IsExpired()) {
        Log("policy watch failed: {}", end.status().ToString());
        std::this_thread::sleep_for(1s);
      }
      break;  // list again
    }
  }
}

// ---------------------------------------------------------------------------
// The controller as a subprocess.

class ControllerProcess {
 public:
  ControllerProcess(std::string binary, std::vector<std::string> args, std::string log_path)
      : binary_(std::move(binary)), args_(std::move(args)), log_path_(std::move(log_path)) {}
  ~ControllerProcess() {
    if (pid_ > 0) (void)Stop();
  }

  bool Start() {
    int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    std::vector<const char*> argv = {binary_.c_str()};
    for (const auto& a : args_) argv.push_back(a.c_str());
    argv.push_back(nullptr);
    const pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
      close(fd);
      return false;
    }
    if (pid == 0) {
      // Only async-signal-safe calls between fork and exec.
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != parent) _exit(127);
      dup2(fd, 1);
      dup2(fd, 2);
      execv(binary_.c_str(), const_cast<char* const*>(argv.data()));
      _exit(127);
    }
    close(fd);
    pid_ = pid;
    started_ = SteadyClock::now();
    return true;
  }

  pid_t pid() const { return pid_; }
  SteadyClock::time_point started() const { return started_; }
  bool Alive() const { return pid_ > 0 && kill(pid_, 0) == 0; }

  // A "VmRSS"/"VmHWM" value of /proc/<pid>/status, in kB (-1 when unknown).
  long StatusKb(const std::string& field) const {
    std::ifstream in(fmt::format("/proc/{}/status", pid_));
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(field + ":", 0) == 0) return std::atol(line.c_str() + field.size() + 1);
    }
    return -1;
  }

  // utime + stime so far, from /proc/<pid>/stat.
  double CpuSeconds() const {
    std::ifstream in(fmt::format("/proc/{}/stat", pid_));
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto close_paren = s.rfind(')');
    if (close_paren == std::string::npos) return NAN;
    std::istringstream fields(s.substr(close_paren + 2));
    std::vector<std::string> f;
    std::string tok;
    while (fields >> tok) f.push_back(tok);
    // After "pid (comm) ", field 3 (state) is f[0]; utime is field 14, stime 15.
    if (f.size() < 13) return NAN;
    return static_cast<double>(std::atoll(f[11].c_str()) + std::atoll(f[12].c_str())) /
           static_cast<double>(sysconf(_SC_CLK_TCK));
  }

  struct Usage {
    double peak_rss_mb = NAN;
    double cpu_seconds = NAN;
    int exit_status = -1;
  };

  // SIGTERM, then SIGKILL after 20 s; the rusage of the whole run.
  Usage Stop() {
    Usage u;
    if (pid_ <= 0) return u;
    kill(pid_, SIGTERM);
    int status = 0;
    rusage ru{};
    auto deadline = SteadyClock::now() + 20s;
    pid_t r = 0;
    while ((r = wait4(pid_, &status, WNOHANG, &ru)) == 0) {
      if (SteadyClock::now() > deadline) {
        Log("controller did not stop in 20 s: SIGKILL");
        kill(pid_, SIGKILL);
        r = wait4(pid_, &status, 0, &ru);
        break;
      }
      std::this_thread::sleep_for(20ms);
    }
    pid_ = -1;
    if (r <= 0) return u;
    u.peak_rss_mb = static_cast<double>(ru.ru_maxrss) / 1024.0;
    u.cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                    static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    u.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return u;
  }

  std::string ReadLog() const {
    std::ifstream in(log_path_);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

  // Writes the log reports, by what was done.
  std::map<std::string, int> Writes() const {
    std::map<std::string, int> w = {
        {"create", 0}, {"update", 0}, {"delete", 0}, {"label_pod", 0}, {"failed", 0}};
    std::istringstream in(ReadLog());
    std::string line;
    while (std::getline(in, line)) {
      if (line.find(" created NetworkPolicy ") != std::string::npos) ++w["create"];
      if (line.find(" updated NetworkPolicy ") != std::string::npos) ++w["update"];
      if (line.find(" deleted NetworkPolicy ") != std::string::npos) ++w["delete"];
      if (line.find(" labelled Pod ") != std::string::npos) ++w["label_pod"];
      if (line.find(" failed to ") != std::string::npos) ++w["failed"];
    }
    return w;
  }

  // "caches synced in N ms" from the log, in seconds; NAN when absent.
  double CacheSyncSeconds() const {
    std::string log = ReadLog();
    auto p = log.find("caches synced in ");
    if (p == std::string::npos) return NAN;
    return std::atof(log.c_str() + p + 17) / 1000.0;
  }

  const std::string& log_path() const { return log_path_; }

 private:
  std::string binary_;
  std::vector<std::string> args_;
  std::string log_path_;
  pid_t pid_ = -1;
  SteadyClock::time_point started_;
};

// ---------------------------------------------------------------------------
// The API server's own request counters (every client), through kubectl.

struct ApiCounts {
  bool ok = false;
  std::map<std::string, double> requests;  // "VERB resource" -> apiserver_request_total
  std::map<std::string, double> watches;   // "resource" -> apiserver_longrunning_requests WATCH
};

std::string Label(const std::string& line, const std::string& name) {
  auto p = line.find(name + "=\"");
  if (p == std::string::npos) return "";
  p += name.size() + 2;
  return line.substr(p, line.find('"', p) - p);
}

ApiCounts ScrapeApiserver() {
  ApiCounts c;
  FILE* f = popen("kubectl get --raw /metrics 2>/dev/null", "r");
  if (!f) return c;
  std::string text;
  char buf[65536];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  c.ok = pclose(f) == 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const bool total = line.rfind("apiserver_request_total{", 0) == 0;
    const bool longrunning = line.rfind("apiserver_longrunning_requests{", 0) == 0;
    if (!total && !longrunning) continue;
    const std::string resource = Label(line, "resource");
    const std::string verb = Label(line, "verb");
    if (resource.empty() || resource == "leases") continue;  // non-resource, KCM's leases
    double v = std::atof(line.c_str() + line.rfind(' ') + 1);
    if (total) {
      std::string key = verb + " " + resource;
      if (!Label(line, "subresource").empty()) key += "/" + Label(line, "subresource");
      c.requests[key] += v;
    } else if (verb == "WATCH") {
      c.watches[resource] += v;
    }
  }
  return c;
}

// A TCP port on 127.0.0.1 that nothing listens on now (racy by nature).
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

// GET http://127.0.0.1:<port><path>; the body, or "" on any failure.
std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string resp;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[65536];
      ssize_t n = 0;
      while ((n = read(fd, buf, sizeof buf)) > 0) resp.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  auto body = resp.find("\r\n\r\n");
  return body == std::string::npos ? "" : resp.substr(body + 4);
}

// netpol_ctrl_api_requests_total by verb from the controller's own /metrics
// (empty when it does not export them).
json ControllerRequestsByVerb(int metrics_port) {
  json j = json::object();
  if (metrics_port <= 0) return j;
  std::istringstream in(HttpGet(metrics_port, "/metrics"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("netpol_ctrl_api_requests_total{", 0) != 0) continue;
    const std::string verb = Label(line, "verb");
    double v = std::atof(line.c_str() + line.rfind(' ') + 1);
    j[verb] = j.value(verb, 0.0) + v;
  }
  return j;
}

// `netpol-ctrl run` arguments; the metrics and probe listeners go to free
// ports when this build has them (other tests may hold the defaults).
std::vector<std::string> ControllerArgs(const std::string& binary, int* metrics_port) {
  std::vector<std::string> args = {"run", fmt::format("--workers={}", kControllerWorkers)};
  *metrics_port = 0;
  std::string help;
  if (FILE* f = popen((binary + " run --help 2>&1").c_str(), "r")) {
    char buf[4096];
    size_t n = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) help.append(buf, n);
    pclose(f);
  }
  if (help.find("--metrics-bind-address") != std::string::npos) {
    *metrics_port = FreePort();
    args.push_back(fmt::format("--metrics-bind-address=127.0.0.1:{}", *metrics_port));
  }
  if (help.find("--health-probe-bind-address") != std::string::npos) {
    args.push_back(fmt::format("--health-probe-bind-address=127.0.0.1:{}", FreePort()));
  }
  return args;
}

// ---------------------------------------------------------------------------

std::string RandomSuffix(int len) {
  static std::mt19937 rng{std::random_device{}()};
  static const char* kChars = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s;
  for (int i = 0; i < len; ++i) s += kChars[rng() % 36];
  return s;
}

class Bench {
 public:
  explicit Bench(std::unique_ptr<npc::kube::Client> client) : client_(std::move(client)) {}

  int Run();

 private:
  bool CreateNamespace(const std::string& name) {
    json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}};
    auto r = client_->Create(Resource::kNamespaces, "", ns.dump());
    if (!r.ok()) {
      Log("namespace {}: {}", name, r.status().ToString());
      return false;
    }
    created_namespaces_.push_back(name);
    return true;
  }

  // Creates objects in parallel; returns the number of failures.
  // A Service whose ClusterIP cannot be allocated (the test cluster's range
  // is small) is made headless instead: same selector, ports and policy.
  int CreateAll(Resource r, const std::vector<json>& objs, int threads) {
    std::atomic<int> failures{0};
    std::atomic<bool> ip_range_full{false};
    Parallel(threads, objs.size(), [&](size_t i) {
      const std::string ns = objs[i]["metadata"]["namespace"];
      auto headless = [&] {
        json o = objs[i];
        o["spec"]["clusterIP"] = "None";
        ++headless_services_;
        return client_->Create(r, ns, o.dump());
      };
      auto res = ip_range_full ? headless() : client_->Create(r, ns, objs[i].dump());
      if (!res.ok() && r == Resource::kServices &&
          res.error().message.find("allocate a serviceIP") != std::string::npos) {
        ip_range_full = true;
        res = headless();
      }
      if (!res.ok() && res.error().reason != npc::kube::Reason::kAlreadyExists) {
        if (failures++ < 5) Log("create failed: {}", res.status().ToString());
      }
    });
    return failures.load();
  }

  // Pods (as metadata) whose label npc-bench=<prefix>: the ones the scenario made.
  long CountPods(const std::string& selector) {
    npc::kube::ListOptions lo;
    lo.label_selector = selector;
    lo.accept = std::string(npc::kube::kAcceptPartialObjectMetadataList);
    auto l = client_->List(Resource::kPods, "", lo);
    return l.ok() ? static_cast<long>(l->items.size()) : -1;
  }

  // Waits until the cluster's resourceVersion stops moving (the
  // kube-controller-manager has caught up): at most 2 revisions in each of 3
  // two-second intervals. Returns the seconds waited.
  double WaitQuiet(std::chrono::seconds max_wait) {
    auto t = SteadyClock::now();
    auto revision = [&]() -> long {
      npc::kube::ListOptions lo;
      lo.limit = 0;
      auto l = client_->List(Resource::kNamespaces, "", lo);
      return l.ok() ? std::atol(l->resource_version.c_str()) : -1;
    };
    long last = revision();
    int still = 0;
    while (still < 3 && SteadyClock::now() - t < max_wait) {
      std::this_thread::sleep_for(2s);
      long now = revision();
      still = now >= 0 && now - last <= 2 ? still + 1 : 0;
      last = now;
    }
    const double waited = SecondsSince(t);
    Log("cluster quiet after {:.1f} s{}", waited, still < 3 ? " (gave up waiting)" : "");
    return waited;
  }

  void RefreshExpected() {
    auto e = scenario_.Expected();
    for (int w = 0; w < scenario_.Workloads(); ++w) {
      tracker_.SetExpected(scenario_.Key(w), std::move(e[w]));
    }
  }

  // Adds a reference from w to `to` (a Deployment change); returns false when
  // the patch failed. Expectations are updated before the patch is sent.
  bool Change(int w, int to, std::vector<double>* latencies) {
    {
      std::lock_guard<std::mutex> lock(scenario_mu_);
      scenario_.refs[w].insert(to);
    }
    json patch = {{"spec", {{"template", {{"spec", {{"containers", {}}}}}}}}};
    {
      std::lock_guard<std::mutex> lock(scenario_mu_);
      patch["spec"]["template"]["spec"]["containers"] = scenario_.Containers(w);
    }
    const std::string needed =
        Scenario::PeerSig('E', scenario_.Ns(scenario_.NsOf(to)), Scenario::App(scenario_.JOf(to)));
    const auto sent = SteadyClock::now();
    tracker_.Expect(scenario_.Key(w), needed, sent, latencies);
    auto r = client_->MergePatch(Resource::kDeployments, scenario_.Ns(scenario_.NsOf(w)),
                                 Scenario::App(scenario_.JOf(w)), patch.dump());
    if (!r.ok()) {
      Log("patch failed: {}", r.status().ToString());
      return false;
    }
    return true;
  }

  std::unique_ptr<npc::kube::Client> client_;
  Scenario scenario_;
  std::mutex scenario_mu_;
  Tracker tracker_;
  std::vector<std::string> created_namespaces_;
  std::atomic<int> headless_services_{0};
};

// The controller's reads and writes among the API server's counters: reads
// (LIST, GET, WATCH) of what it watches, and whatever touches
// networkpolicies, pod labels (PATCH pods) and events. Status subresources
// (the kube-controller-manager's) are left out.
json RequestsByVerb(const ApiCounts& before, const ApiCounts& after, json* detail) {
  static const std::set<std::string> kWatched = {
      "namespaces", "deployments", "statefulsets",   "daemonsets", "replicasets",
      "jobs",       "cronjobs",    "pods",           "services",   "endpointslices",
      "ingresses",  "configmaps",  "networkpolicies"};
  std::map<std::string, double> by_verb;
  for (const auto& [key, v] : after.requests) {
    auto b = before.requests.find(key);
    double d = v - (b == before.requests.end() ? 0 : b->second);
    if (d <= 0) continue;
    const std::string verb = key.substr(0, key.find(' '));
    const std::string resource = key.substr(key.find(' ') + 1);
    if (resource.find('/') != std::string::npos) continue;  // a subresource
    const bool read = (verb == "LIST" || verb == "GET") && kWatched.count(resource);
    const bool write = resource == "networkpolicies" || resource == "events" ||
                       (resource == "pods" && verb == "PATCH");
    if (!read && !write) continue;
    by_verb[verb] += d;
    (*detail)[key] = d;
  }
  double watches = 0;
  for (const auto& [resource, v] : after.watches) {
    auto b = before.watches.find(resource);
    double d = v - (b == before.watches.end() ? 0 : b->second);
    if (d > 0 && kWatched.count(resource)) {
      watches += d;
      (*detail)["WATCH " + resource] = d;
    }
  }
  by_verb["WATCH"] = watches;
  json j = json::object();
  for (const auto& [verb, n] : by_verb) j[verb] = n;
  return j;
}

// Samples RSS until it holds still (three samples a second apart within 64 kB).
long SettledRssKb(const ControllerProcess& c, std::chrono::seconds max_wait) {
  auto deadline = SteadyClock::now() + max_wait;
  long last = c.StatusKb("VmRSS");
  int still = 0;
  while (SteadyClock::now() < deadline && still < 3) {
    std::this_thread::sleep_for(1s);
    long now = c.StatusKb("VmRSS");
    still = std::labs(now - last) <= 64 ? still + 1 : 0;
    last = now;
  }
  return last;
}

int Bench::Run() {
  json out;
  scenario_.prefix = "cb" + RandomSuffix(4);
  scenario_.per_ns = std::max(10, EnvInt("NPC_BENCH_PER_NS", 100));
  scenario_.Init();
  const int workloads = scenario_.Workloads();
  const char* bin_env = std::getenv("NPC_CTRL_BIN");
  const std::string binary = bin_env && *bin_env ? bin_env : NPC_CTRL_BINARY;
  if (access(binary.c_str(), X_OK) != 0) {
    Log("controller binary {} is not executable", binary);
    return 1;
  }
  const char* tmp = std::getenv("TMPDIR");
  const std::string log_base =
      fmt::format("{}/npc-bench-controller-{}", tmp && *tmp ? tmp : "/tmp", scenario_.prefix);
  size_t references = 0;
  for (const auto& r : scenario_.refs) references += r.size();
  out["namespaces"] = kNamespaces;
  out["deployments"] = workloads;
  out["services"] = workloads;
  out["references"] = references;
  Log("scenario {}: {} namespaces, {} Deployments, {} Services, {} references; controller {}",
      scenario_.prefix, kNamespaces, workloads, workloads, references, binary);

  // --- set-up, before the controller starts ---------------------------------
  auto t0 = SteadyClock::now();
  for (int n = 0; n < kNamespaces; ++n) {
    if (!CreateNamespace(scenario_.Ns(n))) return 1;
  }
  std::vector<json> services, deployments;
  for (int w = 0; w < workloads; ++w) {
    services.push_back(scenario_.Service(w));
    deployments.push_back(scenario_.Deployment(w));
  }
  int failed = CreateAll(Resource::kServices, services, kSetupThreads);
  failed += CreateAll(Resource::kDeployments, deployments, kSetupThreads);
  const double create_s = SecondsSince(t0);
  Log("created {} Services and {} Deployments in {:.1f} s ({} failures)", workloads, workloads,
      create_s, failed);
  const std::string pod_selector = "npc-bench=" + scenario_.prefix;
  long pods = 0;
  auto t_pods = SteadyClock::now();
  while (SecondsSince(t_pods) < 480) {
    pods = CountPods(pod_selector);
    if (pods >= workloads) break;
    Log("waiting for the kube-controller-manager: {}/{} Pods", pods, workloads);
    std::this_thread::sleep_for(5s);
  }
  out["setup"] = {{"create_s", Round(create_s, 1)},
                  {"headless_services", headless_services_.load()},
                  {"create_failures", failed},
                  {"concurrency", kSetupThreads},
                  {"pods_wait_s", Round(SecondsSince(t_pods), 1)},
                  {"pods", pods}};
  Log("{} Pods exist after {:.1f} s", pods, SecondsSince(t_pods));
  out["setup"]["quiet_wait_s"] = Round(WaitQuiet(300s), 1);

  // --- the watch that sees what the controller writes -------------------------
  RefreshExpected();
  std::atomic<bool> stop_watch{false}, watch_ready{false};
  std::thread watcher([&] { WatchPolicies(*client_, tracker_, stop_watch, watch_ready); });
  while (!watch_ready) std::this_thread::sleep_for(50ms);

  // --- 1. start -> every policy correct ---------------------------------------
  ApiCounts before = ScrapeApiserver();
  int metrics1 = 0;
  ControllerProcess c1(binary, ControllerArgs(binary, &metrics1), log_base + "-1.log");
  if (!c1.Start()) {
    Log("cannot start {}", binary);
    return 1;
  }
  Log("controller started (pid {}, log {})", c1.pid(), c1.log_path());
  const bool all_correct = tracker_.WaitAllCorrect(c1.started() + 180s);
  const double start_s = SecondsSince(c1.started());
  const double startup_cpu = c1.CpuSeconds();
  const long startup_hwm_kb = c1.StatusKb("VmHWM");
  if (!all_correct) Log("NOT all correct after {:.1f} s: {} wrong", start_s, tracker_.Wrong());
  Log("all {} policies correct {:.2f} s after start", workloads, start_s);
  std::this_thread::sleep_for(2s);  // in-flight requests finish and are counted
  ApiCounts after = ScrapeApiserver();
  json detail = json::object();
  out["start_to_all_correct_s"] = all_correct ? Round(start_s) : json(nullptr);
  out["caches_synced_s"] = Round(c1.CacheSyncSeconds());
  out["api_requests_by_verb"] =
      after.ok && before.ok ? RequestsByVerb(before, after, &detail) : json(nullptr);
  out["api_requests_detail"] = detail;
  if (json own = ControllerRequestsByVerb(metrics1); !own.empty()) {
    out["controller_api_requests_by_verb"] = own;
  }
  out["start_writes"] = c1.Writes();
  out["startup_cpu_seconds"] = Round(startup_cpu, 2);
  out["startup_peak_rss_mb"] = Round(static_cast<double>(startup_hwm_kb) / 1024.0, 1);

  // --- 2. latency from a change to its policy ---------------------------------
  const int changes = std::min(kIdleChanges + kBurstChanges, workloads);
  std::vector<std::pair<int, int>> plan;  // (workload, new reference)
  for (int i = 0; i < changes; ++i) {
    int w = static_cast<int>((static_cast<long>(i) * 37) % workloads);
    int n = scenario_.NsOf(w), j = scenario_.JOf(w);
    int k = (j + scenario_.per_ns / 2) % scenario_.per_ns;
    while (scenario_.refs[w].count(scenario_.Index(n, k)) || k == j) k = (k + 1) % scenario_.per_ns;
    plan.emplace_back(w, scenario_.Index(n, k));
  }
  std::vector<double> idle, burst;
  int idle_timeouts = 0;
  for (int i = 0; i < std::min(kIdleChanges, changes); ++i) {
    if (!Change(plan[i].first, plan[i].second, &idle)) continue;
    if (!tracker_.WaitPendingDone(SteadyClock::now() + 10s))
      idle_timeouts += tracker_.DropPending();
    std::this_thread::sleep_for(200ms);
  }
  Log("idle: {} changes, p50 {:.1f} ms, p99 {:.1f} ms, {} timed out", idle.size(),
      Percentile(idle, 0.5), Percentile(idle, 0.99), idle_timeouts);
  auto t_burst = SteadyClock::now();
  {
    std::vector<std::vector<double>> per(changes);
    Parallel(kBulkThreads, changes - std::min(kIdleChanges, changes), [&](size_t i) {
      size_t p = i + std::min(kIdleChanges, changes);
      (void)Change(plan[p].first, plan[p].second, &per[p]);
    });
    const double sent_s = SecondsSince(t_burst);
    const bool done = tracker_.WaitPendingDone(SteadyClock::now() + 120s);
    const size_t burst_timeouts = done ? 0 : tracker_.DropPending();
    for (auto& v : per) burst.insert(burst.end(), v.begin(), v.end());
    Log("burst: {} changes sent in {:.2f} s, p50 {:.1f} ms, p99 {:.1f} ms, {} timed out",
        burst.size(), sent_s, Percentile(burst, 0.5), Percentile(burst, 0.99), burst_timeouts);
    out["latency_burst_ms"] = {{"changes", changes - std::min(kIdleChanges, changes)},
                               {"sent_in_s", Round(sent_s, 2)},
                               {"measured", burst.size()},
                               {"timed_out", burst_timeouts},
                               {"p50", Round(Percentile(burst, 0.5), 1)},
                               {"p99", Round(Percentile(burst, 0.99), 1)},
                               {"max", Round(Percentile(burst, 1.0), 1)}};
  }
  out["latency_idle_ms"] = {{"changes", std::min(kIdleChanges, changes)},
                            {"measured", idle.size()},
                            {"timed_out", idle_timeouts},
                            {"p50", Round(Percentile(idle, 0.5), 1)},
                            {"p99", Round(Percentile(idle, 0.99), 1)},
                            {"max", Round(Percentile(idle, 1.0), 1)}};
  RefreshExpected();
  const bool after_burst_correct = tracker_.WaitAllCorrect(SteadyClock::now() + 60s);
  out["all_correct_after_burst"] = after_burst_correct;
  Log("after the burst every policy is {}", after_burst_correct ? "correct" : "NOT correct");
  out["run_writes"] = c1.Writes();
  std::this_thread::sleep_for(2s);
  const ControllerProcess::Usage u1 = c1.Stop();
  out["peak_rss_mb"] = Round(u1.peak_rss_mb, 1);
  out["cpu_seconds"] = Round(u1.cpu_seconds, 2);
  out["controller_exit_status"] = u1.exit_status;
  Log("controller stopped: peak RSS {:.1f} MB, {:.2f} CPU s", u1.peak_rss_mb, u1.cpu_seconds);

  // --- 3. the raw limit -----------------------------------------------------
  double raw_s = NAN;
  {
    const double quiet_s = WaitQuiet(240s);  // the Deployments' rollouts
    npc::kube::ListOptions lo;
    lo.label_selector = std::string(npc::kManagedByLabel) + "=" + std::string(npc::kManagedByValue);
    auto list = client_->List(Resource::kNetworkPolicies, "", lo);
    std::vector<json> raw;
    size_t bytes = 0;
    if (list.ok()) {
      for (const auto& item : list->items) {
        if (item.meta.namespace_name.rfind(scenario_.prefix + "-", 0) != 0) continue;
        json src = json::parse(item.json, nullptr, false);
        if (src.is_discarded()) continue;
        std::string ns = scenario_.prefix + "-raw-" +
                         item.meta.namespace_name.substr(scenario_.prefix.size() + 1);
        json labels = src["metadata"].value("labels", json::object());
        labels[std::string(npc::kManagedByLabel)] = "netpol-bench";  // not ours to manage
        json p = {{"apiVersion", "networking.k8s.io/v1"},
                  {"kind", "NetworkPolicy"},
                  {"metadata", {{"name", item.meta.name}, {"namespace", ns}, {"labels", labels}}},
                  {"spec", src["spec"]}};
        bytes += p.dump().size();
        raw.push_back(std::move(p));
      }
    }
    for (int n = 0; n < kNamespaces; ++n)
      (void)CreateNamespace(scenario_.prefix + "-raw-" + std::to_string(n));
    std::atomic<int> raw_failed{0};
    auto t_raw = SteadyClock::now();
    Parallel(kControllerWorkers, raw.size(), [&](size_t i) {
      npc::kube::ApplyOptions ao;
      ao.field_manager = "netpol-bench-raw";
      const std::string ns = raw[i]["metadata"]["namespace"];
      const std::string name = raw[i]["metadata"]["name"];
      auto r = client_->Apply(Resource::kNetworkPolicies, ns, name, raw[i].dump(), ao);
      if (!r.ok() && raw_failed++ < 5) Log("raw apply failed: {}", r.status().ToString());
    });
    raw_s = SecondsSince(t_raw);
    Log("raw limit: {} policies ({} bytes each on average) applied with {} threads in {:.2f} s",
        raw.size(), raw.empty() ? 0 : bytes / raw.size(), kControllerWorkers, raw_s);
    out["raw_limit"] = {{"policies", raw.size()},
                        {"avg_policy_bytes", raw.empty() ? 0 : bytes / raw.size()},
                        {"concurrency", kControllerWorkers},
                        {"verb", "APPLY"},
                        {"client_rate_limit", "none"},
                        {"quiet_wait_s", Round(quiet_s, 1)},
                        {"failures", raw_failed.load()}};
    for (int n = 0; n < kNamespaces; ++n) {
      (void)client_->Delete(Resource::kNamespaces, "",
                            scenario_.prefix + "-raw-" + std::to_string(n));
    }
  }
  out["raw_limit_s"] = Round(raw_s);
  const double ratio = all_correct ? start_s / raw_s : NAN;
  out["ratio_to_raw"] = Round(ratio, 2);

  // --- 4. restart on the unchanged cluster ----------------------------------
  (void)WaitQuiet(90s);  // the raw namespaces are being deleted
  int metrics2 = 0;
  ControllerProcess c2(binary, ControllerArgs(binary, &metrics2), log_base + "-2.log");
  if (!c2.Start()) return 1;
  Log("controller restarted (pid {}, log {})", c2.pid(), c2.log_path());
  while (SecondsSince(c2.started()) < 120 && std::isnan(c2.CacheSyncSeconds()) && c2.Alive()) {
    std::this_thread::sleep_for(100ms);
  }
  std::this_thread::sleep_for(5s);  // the start-up reconcile of every key
  const auto restart_writes = c2.Writes();
  int restart_total = 0;
  for (const auto& [what, n] : restart_writes) restart_total += n;
  out["restart_writes"] = restart_total;
  out["restart_writes_detail"] = restart_writes;
  out["restart_caches_synced_s"] = Round(c2.CacheSyncSeconds());
  Log("restart: {} writes", restart_total);

  // --- 5. memory per cached Pod ---------------------------------------------
  {
    const long rss0 = SettledRssKb(c2, 30s);
    const long cluster_pods0 = CountPods("");
    const int target = EnvInt("NPC_BENCH_BULK_PODS", 20000);
    const double budget_s = EnvInt("NPC_BENCH_BULK_BUDGET_S", 240);
    std::vector<std::string> owner_uid(kNamespaces);
    for (int n = 0; n < kNamespaces; ++n) {
      // The owner: a real object (the garbage collector keeps the Pods) that no
      // running controller manages (a ReplicaSet would delete surplus Pods).
      json cm = {{"apiVersion", "v1"},
                 {"kind", "ConfigMap"},
                 {"metadata", {{"name", "bulk-owner"}, {"namespace", scenario_.Ns(n)}}}};
      auto r = client_->Create(Resource::kConfigMaps, scenario_.Ns(n), cm.dump());
      if (r.ok()) owner_uid[n] = r->meta.uid;
    }
    std::atomic<int> made{0}, bulk_failed{0};
    const double cpu0 = c2.CpuSeconds();
    auto t_bulk = SteadyClock::now();
    Parallel(kBulkThreads, target, [&](size_t i) {
      if (SecondsSince(t_bulk) > budget_s) return;
      const int n = static_cast<int>(i % kNamespaces);
      const std::string app = fmt::format("bulk-{}", i % 100);
      json pod = {{"apiVersion", "v1"},
                  {"kind", "Pod"},
                  {"metadata",
                   {{"name", fmt::format("{}-{}", app, i)},
                    {"namespace", scenario_.Ns(n)},
                    {"labels", {{"app", app}, {"pod-template-hash", "5d8f9c7b6f"}}},
                    {"ownerReferences", json::array({{{"apiVersion", "v1"},
                                                      {"kind", "ConfigMap"},
                                                      {"name", "bulk-owner"},
                                                      {"uid", owner_uid[n]},
                                                      {"controller", true}}})}}},
                  {"spec",
                   {{"containers",
                     json::array({{{"name", "app"}, {"image", "registry.k8s.io/pause:3.9"}}})}}}};
      auto r = client_->Create(Resource::kPods, scenario_.Ns(n), pod.dump());
      if (r.ok()) {
        if (++made % 2000 == 0) Log("bulk Pods: {} created", made.load());
      } else if (bulk_failed++ < 5) {
        Log("pod create failed: {}", r.status().ToString());
      }
    });
    const double bulk_s = SecondsSince(t_bulk);
    Log("{} bulk Pods created in {:.1f} s", made.load(), bulk_s);
    const long rss1 = SettledRssKb(c2, 60s);
    const long cluster_pods1 = CountPods("");
    const long added = cluster_pods1 - cluster_pods0;
    auto per = [&](long kb) {
      return added > 0 ? static_cast<double>(kb - rss0) * 1024.0 / static_cast<double>(added) : NAN;
    };
    const double per_pod_live = per(rss1);
    Log("live: RSS {} kB -> {} kB for {} more Pods: {:.0f} bytes per Pod", rss0, rss1, added,
        per_pod_live);
    const double cpu_live = c2.CpuSeconds() - cpu0;
    const ControllerProcess::Usage u2 = c2.Stop();
    // Heap freed earlier (the start-up lists) is reused by the new Pods
    // without growing RSS, so also compare two fresh starts: c2 before the
    // bulk Pods, c3 after. The larger figure is the headline.
    (void)WaitQuiet(90s);
    int metrics3 = 0;
    ControllerProcess c3(binary, ControllerArgs(binary, &metrics3), log_base + "-3.log");
    long rss_fresh = -1;
    if (c3.Start()) {
      while (SecondsSince(c3.started()) < 120 && std::isnan(c3.CacheSyncSeconds()) && c3.Alive()) {
        std::this_thread::sleep_for(100ms);
      }
      std::this_thread::sleep_for(3s);
      rss_fresh = SettledRssKb(c3, 60s);
    }
    const double per_pod_fresh = rss_fresh > 0 ? per(rss_fresh) : NAN;
    Log("fresh start: RSS {} kB -> {} kB: {:.0f} bytes per Pod", rss0, rss_fresh, per_pod_fresh);
    const ControllerProcess::Usage u3 = c3.Stop();
    const double per_pod = std::isnan(per_pod_fresh)  ? per_pod_live
                           : std::isnan(per_pod_live) ? per_pod_fresh
                                                      : std::max(per_pod_live, per_pod_fresh);
    out["pods_phase"] = {
        {"pods", made.load()},
        {"target_pods", target},
        {"create_s", Round(bulk_s, 1)},
        {"concurrency", kBulkThreads},
        {"failures", bulk_failed.load()},
        {"cluster_pods_before", cluster_pods0},
        {"cluster_pods_after", cluster_pods1},
        {"rss_before_mb", Round(static_cast<double>(rss0) / 1024.0, 1)},
        {"rss_after_mb", Round(static_cast<double>(rss1) / 1024.0, 1)},
        {"rss_fresh_start_after_mb", Round(static_cast<double>(rss_fresh) / 1024.0, 1)},
        {"rss_growth_bytes_per_pod_live", Round(per_pod_live, 0)},
        {"rss_growth_bytes_per_pod_fresh_start", Round(per_pod_fresh, 0)},
        {"rss_growth_bytes_per_pod", Round(per_pod, 0)},
        {"controller_cpu_seconds", Round(cpu_live, 2)},
        {"peak_rss_mb", Round(u2.peak_rss_mb, 1)},
        {"fresh_start_peak_rss_mb", Round(u3.peak_rss_mb, 1)},
        {"fresh_start_caches_synced_s", Round(c3.CacheSyncSeconds())}};
  }

  // --- targets and clean-up ---------------------------------------------------
  auto le = [](const json& v, double limit) { return v.is_number() && v.get<double>() <= limit; };
  out["targets"] = {
      {"start_to_all_correct_le_10s", le(out["start_to_all_correct_s"], 10)},
      {"ratio_to_raw_le_1_5", le(out["ratio_to_raw"], 1.5)},
      {"restart_zero_writes", restart_total == 0},
      {"latency_idle_p99_le_50ms", le(out["latency_idle_ms"]["p99"], 50)},
      {"peak_rss_le_50mb", le(out["peak_rss_mb"], 50)},
      {"rss_per_pod_le_500b", le(out["pods_phase"]["rss_growth_bytes_per_pod"], 500)}};
  stop_watch = true;
  watcher.join();
  for (const auto& ns : created_namespaces_) (void)client_->Delete(Resource::kNamespaces, "", ns);
  out["bench_seconds"] = Round(SecondsSince(g_start), 1);
  fmt::print("{}\n", out.dump(2));
  return 0;
}

}  // namespace

int main() {
  auto config = npc::kube::ResolveConfig({});
  if (!config.ok()) {
    Log("no cluster: {} (run under scripts/with-cluster)", config.status().ToString());
    return 1;
  }
  npc::kube::ClientOptions options;
  options.rate_limit.qps = 0;  // the benchmark's own client: the server is the limit
  auto client = npc::kube::MakeClient(*config, options);
  if (!client.ok()) {
    Log("{}", client.status().ToString());
    return 1;
  }
  Bench bench(std::move(*client));
  return bench.Run();
}
