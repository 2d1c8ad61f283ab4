// Faults against the real control plane (issue 13, item 4; run under
// scripts/with-cluster). Each test runs `netpol-ctrl run` as a process of its
// own, makes the control plane misbehave while the controller works, and
// then judges the end state:
// - every policy is what synthesis intends for the cluster as it is now (a
//   structural comparison: the same names, specs, labels and owners, and no
//   other managed policy), and the evaluator allows exactly the intended
//   flows between the app's pods (and DNS);
// - no duplicate and no lost write: no policy was written (successfully) more
//   often than its spec changed (metadata.generation), and none is missing;
// - the process still runs, /healthz and /readyz answer ok, the resync found
//   no difference;
// - the metrics say what happened (watch restarts, errors, 429s, 401s...).
// Every test is bounded in time; every fault is undone before judging.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "decode/decode.h"
#include "kube/client.h"
#include "kube/config.h"
#include "model/model.h"
#include "synth/synth.h"
#include "test/evaluator/evaluator.h"
#include "test/harness/fault_proxy.h"

extern char** environ;

namespace npc::manager {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace)
namespace fs = std::filesystem;

std::string Suffix() {
  static std::mt19937 rng{std::random_device{}()};
  std::string s;
  for (int i = 0; i < 5; ++i) s += "abcdefghijklmnopqrstuvwxyz0123456789"[rng() % 36];
  return s;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs a shell command; its stdout, and its exit status in *rc.
std::string Shell(const std::string& cmd, int* rc = nullptr) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int st = pclose(p);
  if (rc) *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

bool Eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every = 200ms) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(every);
  }
  return pred();
}

// `netpol-ctrl run` as a process, its output in a log file, its metrics and
// probes on loopback ports of its own.
class ControllerProcess {
 public:
  // `env`: the whole environment ("NAME=value"); empty: this process's.
  ControllerProcess(std::vector<std::string> args, std::vector<std::string> env = {})
      : metrics_port_(FreePort()), probe_port_(FreePort()) {
    log_ = ::testing::TempDir() + "/npc-fault-" + Suffix() + ".log";
    std::vector<std::string> argv = {
        NPC_BINARY_DIR "/netpol-ctrl",
        "run",
        "--metrics-bind-address=127.0.0.1:" + std::to_string(metrics_port_),
        "--health-probe-bind-address=127.0.0.1:" + std::to_string(probe_port_),
        "--resync-period=5s",
        "--events=false"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    std::vector<char*> cenv;
    for (auto& e : env) cenv.push_back(e.data());
    cenv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    int rc = posix_spawn(&pid_, cargv[0], &fa, nullptr, cargv.data(),
                         env.empty() ? environ : cenv.data());
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) pid_ = -1;
  }
  ~ControllerProcess() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      (void)Wait(5s);
    }
  }

  std::string Log() const { return ReadFile(log_); }
  const std::string& log_path() const { return log_; }
  bool Alive() {
    if (pid_ <= 0 || exited_) return false;
    return Wait(0ms) == -1;
  }
  // SIGTERM, then the exit status (-1: did not exit in time).
  int Stop() {
    if (pid_ > 0 && !exited_) ::kill(pid_, SIGTERM);
    return Wait(20s);
  }
  int Wait(std::chrono::milliseconds timeout) {
    if (exited_) return status_;
    auto until = std::chrono::steady_clock::now() + timeout;
    do {
      int st = 0;
      if (pid_ > 0 && waitpid(pid_, &st, WNOHANG) == pid_) {
        exited_ = true;
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return status_;
      }
      if (timeout.count() > 0) std::this_thread::sleep_for(20ms);
    } while (std::chrono::steady_clock::now() < until);
    return -1;
  }

  // GET http://127.0.0.1:<port><path>: "<code> <body>".
  std::string Http(int port, const std::string& path) const {
    return Shell("curl -s --max-time 5 -w '\\n%{http_code}' http://127.0.0.1:" +
                 std::to_string(port) + path);
  }
  bool Probe(const std::string& path) const {
    std::string r = Http(probe_port_, path);
    return r.size() >= 3 && r.substr(r.size() - 3) == "200";
  }
  // Every sample: "name{labels}" -> value.
  std::map<std::string, double> Metrics() const {
    std::map<std::string, double> m;
    std::istringstream in(Http(metrics_port_, "/metrics"));
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      auto sp = line.rfind(' ');
      if (sp == std::string::npos) continue;
      try {
        m[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
      } catch (...) {
      }
    }
    return m;
  }

 private:
  int metrics_port_;
  int probe_port_;
  std::string log_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = -1;
};

// The sum of the samples of `name` whose labels contain every one of `labels`.
double Sum(const std::map<std::string, double>& m, const std::string& name,
           const std::vector<std::string>& labels = {}) {
  double total = 0;
  for (const auto& [series, v] : m) {
    if (series.compare(0, name.size(), name) != 0) continue;
    if (series.size() > name.size() && series[name.size()] != '{') continue;
    bool all = true;
    for (const auto& l : labels) all = all && series.find(l) != std::string::npos;
    if (all) total += v;
  }
  return total;
}

std::string Dump(const std::map<std::string, double>& m, const std::string& prefix) {
  std::string out;
  for (const auto& [k, v] : m) {
    if (k.rfind(prefix, 0) == 0 && v != 0) out += k + " " + std::to_string(v) + "\n";
  }
  return out;
}

class FaultIT : public ::testing::Test {
 protected:
  static constexpr int kPerNamespace = 20;

  void SetUp() override {
    const char* dir = std::getenv("NPC_CLUSTER_DIR");
    ASSERT_NE(dir, nullptr) << "NPC_CLUSTER_DIR is not set: run under scripts/with-cluster";
    cluster_dir_ = dir;
    auto config = kube::ResolveConfig({});
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    auto c = kube::MakeClient(*config);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(*c);
    server_ = config->server;
    api_port_ = std::stoi(server_.substr(server_.rfind(':') + 1));
    const std::string s = Suffix();
    namespaces_ = {"fault-a-" + s, "fault-b-" + s};
  }

  void TearDown() override {
    controller_.reset();
    for (const auto& ns : namespaces_) (void)client_->Delete(kube::Resource::kNamespaces, "", ns);
    for (const auto& cmd : cleanup_) Shell(cmd + " >/dev/null 2>&1");
  }

  // A user with deploy/clusterrole.yaml's rights (not system:masters, so API
  // Priority and Fairness applies to it); returns its kubeconfig.
  std::string MintUser(const std::string& user) {
    int rc = 0;
    std::string path = Shell(cluster_dir_ + "/mint-kubeconfig " + user + " 2>/dev/null", &rc);
    EXPECT_EQ(rc, 0);
    path.erase(path.find_last_not_of("\n") + 1);
    Kubectl("apply -f " NPC_SOURCE_DIR "/deploy/clusterrole.yaml");
    Kubectl("create clusterrolebinding " + user + " --clusterrole=netpol-ctrl --user=" + user);
    cleanup_.push_back("kubectl delete clusterrolebinding " + user + " --ignore-not-found");
    return path;
  }

  std::string Kubectl(const std::string& args, const std::string& stdin_text = "") {
    if (stdin_text.empty()) {
      int rc = 0;
      std::string out = Shell("kubectl " + args + " 2>&1", &rc);
      EXPECT_EQ(rc, 0) << "kubectl " << args << ": " << out;
      return out;
    }
    const std::string file = ::testing::TempDir() + "/npc-fault-" + Suffix() + ".yaml";
    std::ofstream(file) << stdin_text;
    int rc = 0;
    std::string out = Shell("kubectl " + args + " -f " + file + " 2>&1", &rc);
    EXPECT_EQ(rc, 0) << "kubectl " << args << ": " << out << "\n" << stdin_text;
    fs::remove(file);
    return out;
  }

  void CreateNamespaces() {
    for (const auto& ns : namespaces_) {
      json o = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}};
      auto r = client_->Create(kube::Resource::kNamespaces, "", o.dump());
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
  }

  // The app: in each namespace, app-0..app-N-1 (a Deployment with a Service
  // each); app-i calls app-(i+1) in its namespace and app-i in the other one.
  static json Deployment(const std::string& ns, const std::string& other, int i) {
    const std::string name = "app-" + std::to_string(i);
    json env =
        json::array({{{"name", "NEXT"},
                      {"value", "http://app-" + std::to_string((i + 1) % kPerNamespace) + ":80"}},
                     {{"name", "PEER"}, {"value", name + "." + other + ".svc.cluster.local:80"}}});
    json container = {{"name", "main"},
                      {"image", "registry.example/app:1"},
                      {"env", env},
                      {"ports", json::array({{{"name", "http"}, {"containerPort", 8080}}})}};
    return {{"apiVersion", "apps/v1"},
            {"kind", "Deployment"},
            {"metadata", {{"name", name}, {"namespace", ns}}},
            {"spec",
             {{"replicas", 1},
              {"selector", {{"matchLabels", {{"app", name}}}}},
              {"template",
               {{"metadata", {{"labels", {{"app", name}}}}},
                {"spec", {{"containers", json::array({container})}}}}}}}};
  }
  static json Service(const std::string& ns, int i) {
    const std::string name = "app-" + std::to_string(i);
    return {
        {"apiVersion", "v1"},
        {"kind", "Service"},
        {"metadata", {{"name", name}, {"namespace", ns}}},
        {"spec",
         {{"clusterIP", "None"},  // the test cluster's Service range is a /24
          {"selector", {{"app", name}}},
          {"ports",
           json::array(
               {{{"name", "http"}, {"port", 80}, {"targetPort", 8080}, {"protocol", "TCP"}}})}}}};
  }

  // Applies the app (admin, retrying while the control plane misbehaves).
  void CreateApp(int from = 0, int to = kPerNamespace) {
    for (int i = from; i < to; ++i) {
      for (size_t n = 0; n < namespaces_.size(); ++n) {
        const std::string& ns = namespaces_[n];
        const std::string& other = namespaces_[1 - n];
        ApplyWithRetry(kube::Resource::kServices, Service(ns, i));
        ApplyWithRetry(kube::Resource::kDeployments, Deployment(ns, other, i));
      }
    }
  }
  void ApplyWithRetry(kube::Resource r, const json& obj) {
    kube::ApplyOptions o;
    o.field_manager = "fault-test";
    const std::string ns = obj["metadata"]["namespace"];
    const std::string name = obj["metadata"]["name"];
    bool ok =
        Eventually([&] { return client_->Apply(r, ns, name, obj.dump(), o).ok(); }, 90s, 500ms);
    ASSERT_TRUE(ok) << "could not apply " << ns << "/" << name;
  }

  // The intended state: synthesis over the objects the cluster holds now.
  std::map<std::string, NetworkPolicy> Intended() {
    Snapshot snap;
    decode::Decoder d;
    auto add = [&](kube::Resource r, const std::string& ns, std::string_view kind) {
      auto list = client_->List(r, ns, {});
      if (!list.ok()) return false;
      for (const auto& item : list->items) {
        auto o = d.Decode(item.json, {.default_kind = kind});
        if (!o.ok()) return false;
        if (auto* w = std::get_if<Workload>(&o->value)) snap.workloads.push_back(*w);
        if (auto* s = std::get_if<npc::Service>(&o->value)) snap.services.push_back(*s);
      }
      return true;
    };
    for (const auto& ns : namespaces_) {
      auto got = client_->Get(kube::Resource::kNamespaces, "", ns);
      if (!got.ok()) return {};
      auto o = d.Decode(got->json);
      if (!o.ok()) return {};
      snap.namespaces.push_back(std::get<npc::Namespace>(o->value));
      if (!add(kube::Resource::kDeployments, ns, "Deployment") ||
          !add(kube::Resource::kServices, ns, "Service")) {
        return {};
      }
    }
    synth::Result r = synth::Synthesize(snap, SynthesisConfig::Defaults());
    std::map<std::string, NetworkPolicy> out;
    for (auto& p : r.policies) out[p.policy.ns + "/" + p.policy.name] = std::move(p.policy);
    return out;
  }

  struct Stored {
    NetworkPolicy policy;
    json raw;
    int64_t generation = 0;
  };
  std::map<std::string, Stored> InCluster() {
    std::map<std::string, Stored> out;
    decode::Decoder d;
    for (const auto& ns : namespaces_) {
      auto list = client_->List(kube::Resource::kNetworkPolicies, ns, {});
      if (!list.ok()) return {};
      for (const auto& item : list->items) {
        auto o = d.Decode(item.json, {.default_kind = "NetworkPolicy"});
        if (!o.ok()) continue;
        Stored s;
        s.policy = std::get<decode::StoredPolicy>(o->value).policy;
        s.raw = json::parse(item.json);
        s.generation = item.meta.generation;
        out[ns + "/" + item.meta.name] = std::move(s);
      }
    }
    return out;
  }

  // What differs between the cluster's policies and the intended ones ("" when none).
  std::string Differences() {
    const auto want = Intended();
    const auto have = InCluster();
    if (want.empty()) return "cannot read the cluster";
    std::string out;
    for (const auto& [k, p] : want) {
      auto it = have.find(k);
      if (it == have.end()) {
        out += "missing " + k + "\n";
        continue;
      }
      const NetworkPolicy& h = it->second.policy;
      if (PolicySpecFingerprint(h) != PolicySpecFingerprint(p)) out += "spec differs: " + k + "\n";
      if (h.labels.count(std::string(kManagedByLabel)) == 0) out += "not labelled: " + k + "\n";
      if (!h.owner || !p.owner || h.owner->uid != p.owner->uid || h.owner->kind != p.owner->kind) {
        out += "owner differs: " + k + "\n";
      }
    }
    for (const auto& [k, s] : have) {
      if (!want.count(k)) out += "unexpected " + k + "\n";
    }
    return out;
  }

  // Waits until the cluster's policies are the intended ones; the differences left otherwise.
  std::string Converge(std::chrono::seconds timeout = 90s) {
    std::string diff;
    Eventually([&] { return (diff = Differences()).empty(); }, timeout, 500ms);
    return diff;
  }

  // The evaluator over the policies in the cluster: each app pod reaches the
  // two it calls on 8080 and DNS, and nothing else it does not call.
  void ExpectFlowsExactly() {
    eval::Cluster c;
    c.AddNamespace("kube-system");
    ASSERT_TRUE(c.AddPod({.ns = "kube-system",
                          .name = "coredns",
                          .labels = {{"k8s-app", "kube-dns"}},
                          .ip = "10.9.0.53",
                          .ports = {}})
                    .ok());
    int ip = 1;
    for (const auto& ns : namespaces_) {
      c.AddNamespace(ns);
      for (int i = 0; i < kPerNamespace; ++i) {
        const std::string name = "app-" + std::to_string(i);
        ASSERT_TRUE(
            c.AddPod({.ns = ns,
                      .name = name,
                      .labels = {{"app", name}},
                      .ip = "10.9." + std::to_string(ip / 200) + "." + std::to_string(ip % 200 + 1),
                      .ports = {{"http", 8080, "TCP"}}})
                .ok());
        ++ip;
      }
    }
    for (const auto& [k, s] : InCluster()) {
      json p = s.raw;
      p["apiVersion"] = "networking.k8s.io/v1";
      p["kind"] = "NetworkPolicy";
      Status added = c.AddPolicy(p);
      ASSERT_TRUE(added.ok()) << added.ToString();
    }
    using eval::Endpoint;
    for (size_t n = 0; n < namespaces_.size(); ++n) {
      const std::string& ns = namespaces_[n];
      const std::string& other = namespaces_[1 - n];
      for (int i = 0; i < kPerNamespace; ++i) {
        const std::string me = "app-" + std::to_string(i);
        const std::string next = "app-" + std::to_string((i + 1) % kPerNamespace);
        const std::string not_called = "app-" + std::to_string((i + 2) % kPerNamespace);
        EXPECT_TRUE(c.Allowed(Endpoint::Pod(ns, me), Endpoint::Pod(ns, next), 8080, "TCP"))
            << ns << "/" << me << " -> " << next;
        EXPECT_TRUE(c.Allowed(Endpoint::Pod(ns, me), Endpoint::Pod(other, me), 8080, "TCP"))
            << ns << "/" << me << " -> " << other << "/" << me;
        EXPECT_TRUE(
            c.Allowed(Endpoint::Pod(ns, me), Endpoint::Pod("kube-system", "coredns"), 53, "UDP"));
        EXPECT_FALSE(c.Allowed(Endpoint::Pod(ns, me), Endpoint::Pod(ns, not_called), 8080, "TCP"))
            << ns << "/" << me << " -> " << not_called;
        EXPECT_FALSE(c.Allowed(Endpoint::Pod(ns, me), Endpoint::Pod(ns, next), 22, "TCP"));
      }
    }
  }

  // No duplicate write: no policy was written successfully more often than
  // its spec changed. No lost write: Converge() found nothing missing.
  void ExpectNoDuplicateWrites(const ControllerProcess& ctrl) {
    const std::string log = ctrl.Log();
    std::map<std::string, int> writes;
    std::regex line(R"((created|updated) NetworkPolicy (\S+)/(\S+))");
    for (auto it = std::sregex_iterator(log.begin(), log.end(), line); it != std::sregex_iterator();
         ++it) {
      writes[(*it)[2].str() + "/" + (*it)[3].str()]++;
    }
    for (const auto& [k, s] : InCluster()) {
      EXPECT_LE(writes[k], s.generation) << k << " was written " << writes[k] << " times for "
                                         << s.generation << " spec changes (a duplicate write)";
    }
    for (const auto& ns : namespaces_) {
      EXPECT_EQ(log.find("deleted NetworkPolicy " + ns + "/"), std::string::npos)
          << "a policy was deleted in " << ns;
    }
  }

  // The process runs, its probes are ok, the resync agrees; returns the metrics.
  std::map<std::string, double> ExpectHealthy(ControllerProcess& ctrl) {
    EXPECT_TRUE(ctrl.Alive()) << ctrl.Log();
    EXPECT_TRUE(Eventually([&] { return ctrl.Probe("/healthz"); }, 10s)) << "/healthz not ok";
    EXPECT_TRUE(Eventually([&] { return ctrl.Probe("/readyz"); }, 30s)) << "/readyz not ok";
    std::map<std::string, double> m;
    // At least one resync after the fault (every 5 s) must have agreed.
    const double before = Sum(ctrl.Metrics(), "netpol_ctrl_resyncs_total");
    EXPECT_TRUE(Eventually(
        [&] {
          m = ctrl.Metrics();
          return Sum(m, "netpol_ctrl_resyncs_total") > before;
        },
        20s));
    EXPECT_EQ(Sum(m, "netpol_ctrl_resync_differences_total"), 0) << ctrl.Log();
    return m;
  }

  // The whole verdict, after the fault is over.
  std::map<std::string, double> Judge(ControllerProcess& ctrl) {
    const std::string diff = Converge();
    EXPECT_EQ(diff, "") << "not converged; controller log:\n" << ctrl.Log();
    ExpectFlowsExactly();
    ExpectNoDuplicateWrites(ctrl);
    return ExpectHealthy(ctrl);
  }

  // Waits until the controller has made its first write: it is writing now.
  static void WaitUntilWriting(ControllerProcess& ctrl) {
    ASSERT_TRUE(Eventually(
        [&] { return ctrl.Log().find("created NetworkPolicy fault-") != std::string::npos; }, 60s,
        5ms))
        << ctrl.Log();
  }

  std::string cluster_dir_;
  std::string server_;
  int api_port_ = 0;
  std::unique_ptr<kube::Client> client_;
  std::vector<std::string> namespaces_;
  std::vector<std::string> cleanup_;
  std::unique_ptr<ControllerProcess> controller_;
};

// etcd is killed (SIGKILL) while the controller writes, and restarted 5 s later.
TEST_F(FaultIT, EtcdKilledWhileTheControllerWrites) {
  const std::string kubeconfig = MintUser("npc-fault-etcd-" + Suffix());
  CreateNamespaces();
  CreateApp();
  controller_ =
      std::make_unique<ControllerProcess>(std::vector<std::string>{"--kubeconfig=" + kubeconfig});
  WaitUntilWriting(*controller_);
  const std::string run = cluster_dir_ + "/run/";
  const std::string pid = ReadFile(run + "etcd.pid");
  ASSERT_FALSE(pid.empty());
  std::ofstream(run + "etcd.hold").put('\n');
  std::ofstream(run + "etcd.restart").put('\n');
  ASSERT_EQ(::kill(std::stoi(pid), SIGKILL), 0);
  std::this_thread::sleep_for(5s);
  fs::remove(run + "etcd.hold");  // the supervisor starts etcd again, same data
  ASSERT_TRUE(Eventually([&] { return fs::exists(run + "etcd.pid"); }, 30s));
  ASSERT_TRUE(Eventually(
      [&] { return client_->Get(kube::Resource::kNamespaces, "", "default").ok(); }, 60s));
  auto m = Judge(*controller_);
  // The outage was seen: requests failed or waited, and were retried.
  EXPECT_GT(Sum(m, "netpol_ctrl_api_requests_total", {"code=\"5"}) +
                Sum(m, "netpol_ctrl_api_requests_total", {"code=\"<error>\""}) +
                Sum(m, "netpol_ctrl_workqueue_retries_total") +
                Sum(m, "netpol_ctrl_reconcile_duration_seconds_bucket", {"le=\"+Inf\""}) -
                Sum(m, "netpol_ctrl_reconcile_duration_seconds_bucket", {"le=\"1\""}),
            0)
      << Dump(m, "netpol_ctrl_");
}

// kube-apiserver is killed (SIGKILL) in the middle of the controller's writes
// and comes back 3 s later: watches end, the informers list again.
TEST_F(FaultIT, ApiServerKilledMidApply) {
  const std::string kubeconfig = MintUser("npc-fault-api-" + Suffix());
  CreateNamespaces();
  CreateApp();
  controller_ =
      std::make_unique<ControllerProcess>(std::vector<std::string>{"--kubeconfig=" + kubeconfig});
  WaitUntilWriting(*controller_);
  int rc = 0;
  std::string out = Shell(cluster_dir_ + "/restart-apiserver --kill --down 3 2>&1", &rc);
  ASSERT_EQ(rc, 0) << out;
  auto m = Judge(*controller_);
  EXPECT_GT(Sum(m, "netpol_ctrl_watch_restarts_total") + Sum(m, "netpol_ctrl_watch_relists_total"),
            0)
      << Dump(m, "netpol_ctrl_");
}

// API Priority and Fairness gives the controller's user no seats of its own
// (Reject: what does not fit gets 429) while the app is created, then the
// FlowSchema goes away.
TEST_F(FaultIT, PriorityAndFairnessRejectsTheControllerForAWhile) {
  const std::string user = "npc-fault-apf-" + Suffix();
  const std::string kubeconfig = MintUser(user);
  CreateNamespaces();
  controller_ = std::make_unique<ControllerProcess>(
      std::vector<std::string>{"--kubeconfig=" + kubeconfig, "--workers=4"});
  ASSERT_TRUE(Eventually([&] { return controller_->Probe("/readyz"); }, 60s)) << controller_->Log();
  Kubectl("apply", R"(
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: PriorityLevelConfiguration
metadata: {name: )" + user +
                       R"(}
spec:
  type: Limited
  limited:
    nominalConcurrencyShares: 0
    lendablePercent: 0
    borrowingLimitPercent: 0
    limitResponse: {type: Reject}
---
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: FlowSchema
metadata: {name: )" + user +
                       R"(}
spec:
  matchingPrecedence: 50
  priorityLevelConfiguration: {name: )" +
                       user + R"(}
  distinguisherMethod: {type: ByUser}
  rules:
  - subjects: [{kind: User, user: {name: )" +
                       user + R"(}}]
    resourceRules:
    - {verbs: ["*"], apiGroups: ["*"], resources: ["*"], namespaces: ["*"], clusterScope: true}
    nonResourceRules:
    - {verbs: ["*"], nonResourceURLs: ["*"]}
)");
  cleanup_.push_back("kubectl delete flowschema/" + user + " prioritylevelconfiguration/" + user +
                     " --ignore-not-found");
  // The API server's flow-control configuration follows after a while: wait
  // until concurrent requests of the controller's user are rejected (one at
  // a time still goes through: APF dispatches a request when nothing of its
  // level executes).
  std::string burst = "curl -s -Z --parallel-max 32 --cacert " + cluster_dir_ + "/ca.crt --cert " +
                      cluster_dir_ + "/users/" + user + ".crt --key " + cluster_dir_ + "/users/" +
                      user + ".key -w '%{http_code}\\n'";
  for (int i = 0; i < 64; ++i) burst += " -o /dev/null " + server_ + "/api/v1/namespaces";
  ASSERT_TRUE(Eventually([&] { return Shell(burst).find("429") != std::string::npos; }, 60s, 500ms))
      << "API Priority and Fairness never rejected " << user;
  CreateApp();
  ASSERT_TRUE(Eventually(
      [&] {
        return Sum(controller_->Metrics(), "netpol_ctrl_api_requests_total", {"code=\"429\""}) > 0;
      },
      30s))
      << Dump(controller_->Metrics(), "netpol_ctrl_api");
  std::this_thread::sleep_for(5s);  // rejected for a while
  Kubectl("delete flowschema/" + user + " prioritylevelconfiguration/" + user);
  auto m = Judge(*controller_);
  // Rejected writes were retried (by the client, honouring Retry-After, or by
  // the work queue) until they went through: Judge found every policy.
  EXPECT_GT(Sum(m, "netpol_ctrl_api_requests_total", {"code=\"429\""}), 0)
      << Dump(m, "netpol_ctrl_");
}

// A TCP proxy between the controller and the API server stalls, cuts the
// watch streams in the middle of what they carry, and resets every
// connection, while the app is created in three steps.
TEST_F(FaultIT, AProxyThatStallsCutsAndResets) {
  auto proxy = harness::FaultProxy::Start(api_port_);
  ASSERT_TRUE(proxy.ok()) << proxy.status().ToString();
  harness::FaultProxy& p = **proxy;
  const std::string direct = MintUser("npc-fault-proxy-" + Suffix());
  const std::string kubeconfig =
      ::testing::TempDir() + "/npc-fault-proxy-" + Suffix() + ".kubeconfig";
  {
    std::string text = ReadFile(direct);
    const std::string from = server_;
    const std::string to = "https://127.0.0.1:" + std::to_string(p.port());
    ASSERT_NE(text.find(from), std::string::npos) << text;
    text.replace(text.find(from), from.size(), to);
    std::ofstream(kubeconfig) << text;
  }
  CreateNamespaces();
  controller_ =
      std::make_unique<ControllerProcess>(std::vector<std::string>{"--kubeconfig=" + kubeconfig});
  ASSERT_TRUE(Eventually([&] { return controller_->Probe("/readyz"); }, 60s)) << controller_->Log();

  CreateApp(0, 5);
  p.CutStreams();  // the events of the next objects arrive on cut streams
  CreateApp(5, 10);
  std::this_thread::sleep_for(1s);
  p.Stall();
  CreateApp(10, 15);  // meanwhile: nothing reaches the controller
  std::this_thread::sleep_for(4s);
  p.Resume();
  std::this_thread::sleep_for(1s);
  EXPECT_GT(p.ResetAll(), 0);
  CreateApp(15, kPerNamespace);
  auto m = Judge(*controller_);
  const auto s = p.Stats();
  EXPECT_GT(s.cuts, 0u);
  EXPECT_GT(s.resets, 0u);
  EXPECT_GT(Sum(m, "netpol_ctrl_watch_restarts_total"), 0) << Dump(m, "netpol_ctrl_");
}

// The controller runs with a ServiceAccount token file (in-cluster
// credentials); the token is replaced while the API server is down, and the
// old one is revoked right after it comes back.
TEST_F(FaultIT, ServiceAccountTokenRotatedWhileTheApiServerIsDown) {
  CreateNamespaces();
  const std::string sa_ns = namespaces_[0];
  const std::string sa = "npc-fault-sa";
  Kubectl("-n " + sa_ns + " create serviceaccount " + sa);
  Kubectl("apply -f " NPC_SOURCE_DIR "/deploy/clusterrole.yaml");
  const std::string binding = "npc-fault-sa-" + Suffix();
  Kubectl("create clusterrolebinding " + binding +
          " --clusterrole=netpol-ctrl --serviceaccount=" + sa_ns + ":" + sa);
  cleanup_.push_back("kubectl delete clusterrolebinding " + binding + " --ignore-not-found");
  // Two tokens, each bound to a Secret: deleting the Secret revokes its token.
  auto token = [&](const std::string& secret) {
    Kubectl("-n " + sa_ns + " create secret generic " + secret);
    std::string t =
        Kubectl("-n " + sa_ns + " create token " + sa +
                " --bound-object-kind=Secret --bound-object-name=" + secret + " --duration=1h");
    t.erase(t.find_last_not_of("\n") + 1);
    return t;
  };
  const std::string old_token = token("token-old");
  const std::string new_token = token("token-new");

  const std::string sa_dir = ::testing::TempDir() + "/npc-fault-sa-" + Suffix();
  fs::create_directories(sa_dir);
  fs::copy_file(cluster_dir_ + "/ca.crt", sa_dir + "/ca.crt");
  std::ofstream(sa_dir + "/namespace") << sa_ns;
  std::ofstream(sa_dir + "/token") << old_token;
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string v = *e;
    if (v.rfind("KUBECONFIG=", 0) == 0) continue;  // in-cluster credentials only
    env.push_back(v);
  }
  env.push_back("KUBERNETES_SERVICE_HOST=127.0.0.1");
  env.push_back("KUBERNETES_SERVICE_PORT=" + std::to_string(api_port_));
  env.push_back("NPC_SERVICEACCOUNT_DIR=" + sa_dir);
  controller_ = std::make_unique<ControllerProcess>(std::vector<std::string>{}, env);
  CreateApp(0, 10);
  ASSERT_EQ(Converge(), "") << controller_->Log();

  // Down; the token file is replaced the way the kubelet does it (a rename).
  int rc = 0;
  std::string out = Shell(cluster_dir_ + "/stop-apiserver 2>&1", &rc);
  ASSERT_EQ(rc, 0) << out;
  std::ofstream(sa_dir + "/token.new") << new_token;
  fs::rename(sa_dir + "/token.new", sa_dir + "/token");
  std::this_thread::sleep_for(3s);
  out = Shell(cluster_dir_ + "/start-apiserver 2>&1", &rc);
  ASSERT_EQ(rc, 0) << out;
  // The old token is revoked: from now on only the new one works.
  Kubectl("-n " + sa_ns + " delete secret token-old");
  auto answers = [&](const std::string& t) {
    return Shell("curl -s -o /dev/null -w '%{http_code}' --cacert " + cluster_dir_ +
                 "/ca.crt -H 'Authorization: Bearer " + t + "' " + server_ + "/api");
  };
  ASSERT_TRUE(Eventually([&] { return answers(old_token) == "401"; }, 30s))
      << "the old token still works";
  ASSERT_EQ(answers(new_token), "200");
  CreateApp(10, kPerNamespace);
  auto m = Judge(*controller_);
  EXPECT_GT(Sum(m, "netpol_ctrl_watch_restarts_total") + Sum(m, "netpol_ctrl_watch_relists_total"),
            0)
      << Dump(m, "netpol_ctrl_");
  EXPECT_EQ(controller_->Log().find("no token"), std::string::npos);
}

}  // namespace
}  // namespace npc::manager
