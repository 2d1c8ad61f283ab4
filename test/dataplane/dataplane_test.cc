// Real packets against the evaluator (issue 11). Run as root under
//   scripts/with-cluster --dataplane bash -c 'cd build && ctest -L dataplane --output-on-failure'
// (`make test` does). Elsewhere every test skips, saying why.
//
// Each test applies objects to the cluster, lets pods run, starts netpol-ctrl
// as a controller (build/netpol-ctrl run, a real process), waits until its
// policies are written and stable, then probes real connections between the
// pods and holds them against test/evaluator's verdicts over the SAME objects
// read back from the API server (dataplane/compare.h says how a difference is
// attributed to synthesis, the evaluator or the enforcer). The enforcer
// applies policies some time after they are written: the comparison is
// repeated until it holds or a deadline passes, and the last one is reported.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "dataplane/compare.h"
#include "dataplane/materialize.h"
#include "dataplane/naming.h"
#include "dataplane/netns.h"
#include "property/generator.h"
#include "test/harness/cluster.h"

namespace npc::dataplane {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// A child process with a parent-death signal, its output in a file.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& log) {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
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
  }
  ~Child() { Stop(); }
  bool running() {
    return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0;
  }
  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100 && ::waitpid(pid_, nullptr, WNOHANG) == 0; ++i) std::this_thread::sleep_for(50ms);
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class DataplaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* dp = std::getenv("NPC_DATAPLANE");
    if (dp == nullptr || std::string(dp) != "1") {
      GTEST_SKIP() << "no dataplane: these tests run as root under `scripts/with-cluster --dataplane` "
                      "(make test does, when scripts/lib/dataplane-check passes)";
    }
    StatusOr<harness::ClusterEnv> env = harness::ClusterEnv::FromEnvironment();
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    env_.emplace(std::move(*env));
    cluster_id_ = ClusterId(env_->cluster_dir());
    auto client = MakeClientFor(env_->kubeconfig());
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(*client);
  }

  void TearDown() override {
    controller_.reset();
    if (!namespaces_.empty()) DeleteNamespaces();
  }

  harness::ProcessResult Kubectl(const std::vector<std::string>& args, const std::string& in = "") {
    harness::RunOptions o;
    o.stdin_data = in;
    StatusOr<harness::ProcessResult> r = env_->Kubectl(args, o);
    if (!r.ok()) {
      harness::ProcessResult f;
      f.err = r.status().ToString();
      return f;
    }
    return *r;
  }

  void DeleteNamespaces() {
    std::vector<std::string> args = {"delete", "namespace", "--ignore-not-found", "--wait=true", "--timeout=90s"};
    args.insert(args.end(), namespaces_.begin(), namespaces_.end());
    harness::ProcessResult r = Kubectl(args);
    EXPECT_TRUE(r.ok()) << "deleting the test's namespaces: " << r.Describe();
    namespaces_.clear();
  }

  // netpol-ctrl as a controller, against this cluster.
  void StartController(const std::string& name, const std::vector<std::string>& extra = {}) {
    controller_log_ = env_->cluster_dir() + "/logs/netpol-ctrl-" + name + ".log";
    std::vector<std::string> argv = {NPC_BINARY_DIR "/netpol-ctrl", "run", "--kubeconfig", env_->kubeconfig(),
                                     "--metrics-bind-address=0", "--health-probe-bind-address=0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    controller_ = std::make_unique<Child>(argv, controller_log_);
  }

  // Waits until the pods of `namespaces_` number at least `expected` and all run.
  void WaitPodsRunning(size_t expected) {
    size_t running = 0, total = 0;
    const bool ok = harness::PollUntil(
        [&] {
          auto pods = ListPods(*client_, cluster_id_, namespaces_);
          if (!pods.ok()) return false;
          running = total = 0;
          for (const PodView& p : *pods) {
            if (p.deleting) continue;
            ++total;
            running += p.running();
          }
          return total >= expected && running == total;
        },
        120s, 500ms);
    ASSERT_TRUE(ok) << running << " of " << total << " pods running, " << expected
                    << " expected; node runner log: " << env_->cluster_dir() << "/logs/node-runner.log\n"
                    << Kubectl({"get", "pods", "-A", "-o", "wide"}).out;
  }

  // Waits until netpol-ctrl has written its policies and stopped writing:
  // the set of NetworkPolicies and their versions is the same for 3 s.
  // (At least 5 s after the start: a case may need no policy at all.)
  void WaitPoliciesStable() {
    std::string last = "-";
    const auto start = std::chrono::steady_clock::now();
    auto since = start;
    bool exited = false;
    const bool ok = harness::PollUntil(
        [&] {
          if (!controller_ || !controller_->running()) return exited = true;
          auto list = client_->List(kube::Resource::kNetworkPolicies, "");
          if (!list.ok()) return false;
          std::string sig;
          for (const kube::Object& o : list->items) {
            sig += o.meta.namespace_name + "/" + o.meta.name + "@" + o.meta.resource_version + " ";
          }
          const auto now = std::chrono::steady_clock::now();
          if (sig != last) {
            last = sig;
            since = now;
            return false;
          }
          return now - since >= 3s && now - start >= 5s;
        },
        90s, 500ms);
    ASSERT_FALSE(exited) << "netpol-ctrl exited:\n" << ReadFile(controller_log_);
    ASSERT_TRUE(ok) << "netpol-ctrl's policies did not settle within 90 s; its log: " << controller_log_;
  }

  // Compares until the probes agree with the evaluator (the enforcer catches
  // up with the policies) or `deadline` passes; returns the last comparison.
  Comparison CompareUntilAgreed(const IntentFn& intent, const CompareOptions& options,
                                std::chrono::seconds deadline = 60s) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    Comparison last;
    int rounds = 0;
    while (true) {
      ++rounds;
      StatusOr<ClusterState> state = ReadCluster(*client_, cluster_id_, namespaces_);
      if (!state.ok()) {
        ADD_FAILURE() << state.status().ToString();
        return last;
      }
      last = Compare(*state, intent, options);
      for (const std::string& n : state->notes) last.known.push_back(n);
      if (last.failures.empty() || std::chrono::steady_clock::now() >= until) break;
      std::this_thread::sleep_for(2s);
    }
    std::printf("comparison after %d round(s): %s", rounds, last.Report().c_str());
    return last;
  }

  std::optional<harness::ClusterEnv> env_;
  std::string cluster_id_;
  std::unique_ptr<kube::Client> client_;
  std::vector<std::string> namespaces_;  // created by the test, deleted by TearDown
  std::unique_ptr<Child> controller_;
  std::string controller_log_;
};

std::string ServiceIp(kube::Client& client, const std::string& ns, const std::string& name) {
  auto svc = client.Get(kube::Resource::kServices, ns, name);
  if (!svc.ok()) return "";
  return json::parse(svc->json, nullptr, false)["spec"].value("clusterIP", "");
}

// The dataplane itself: pods get addresses and answer on their ports, a
// Service's ClusterIP reaches a backend through kube-proxy, DNS resolves the
// Service, and a policy written by hand is enforced (so the comparison can
// fail: a deny-all policy turns answered probes into denied ones).
TEST_F(DataplaneTest, PodsAnswerServicesRouteAndPoliciesBite) {
  namespaces_ = {"dp-basic"};
  const std::string yaml = R"(
apiVersion: v1
kind: Namespace
metadata: {name: dp-basic}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo, namespace: dp-basic}
spec:
  replicas: 2
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      containers:
        - name: main
          image: registry.k8s.io/pause:3.10
          ports: [{name: http, containerPort: 8080}, {name: stats, containerPort: 5353, protocol: UDP}]
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: dp-basic, labels: {app: client}}
spec:
  containers: [{name: main, image: registry.k8s.io/pause:3.10}]
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: dp-basic}
spec:
  selector: {app: echo}
  ports: [{name: http, port: 80, targetPort: http}]
)";
  ASSERT_TRUE(Kubectl({"apply", "-f", "-"}, yaml).ok());
  WaitPodsRunning(3);
  auto pods = ListPods(*client_, cluster_id_, namespaces_);
  ASSERT_TRUE(pods.ok());
  const PodView* client = nullptr;
  std::vector<const PodView*> echoes;
  for (const PodView& p : *pods) {
    if (p.name == "client") {
      client = &p;
    } else {
      echoes.push_back(&p);
    }
  }
  ASSERT_NE(client, nullptr);
  ASSERT_EQ(echoes.size(), 2u);
  for (const PodView* e : echoes) {
    EXPECT_EQ(e->ip.rfind("198.18.", 0), 0u) << e->ip;
    EXPECT_TRUE(NetnsExists(e->netns)) << e->netns;
  }
  const std::string svc_ip = ServiceIp(*client_, "dp-basic", "echo");
  ASSERT_EQ(svc_ip.rfind("198.19.", 0), 0u) << svc_ip;
  std::vector<ProbeSpec> specs = {
      {client->netns, echoes[0]->ip, 8080, "TCP", ""},
      {client->netns, echoes[1]->ip, 5353, "UDP", ""},
      {client->netns, svc_ip, 80, "TCP", ""},
      {client->netns, std::string(kClusterDnsIp), 53, "UDP", "echo.dp-basic.svc.cluster.local"},
      {client->netns, std::string(kClusterDnsIp), 53, "TCP", "echo.dp-basic.svc.cluster.local"},
  };
  // kube-proxy rejects a Service without ready endpoints ("no route to
  // host"): wait (bounded) until it has programmed this one.
  std::vector<ProbeResult> r;
  harness::PollUntil([&] { return ProbeAll({specs[2]})[0].answered(); }, 30s, 500ms);
  r = ProbeAll(specs);
  EXPECT_EQ(r[0].answer, "dp-basic/" + echoes[0]->name + " 8080/TCP") << r[0].ToString();
  EXPECT_EQ(r[1].answer, "dp-basic/" + echoes[1]->name + " 5353/UDP") << r[1].ToString();
  EXPECT_TRUE(r[2].answer.rfind("dp-basic/echo-", 0) == 0 && r[2].answer.ends_with(" 8080/TCP"))
      << "the ClusterIP reaches a backend through kube-proxy: " << r[2].ToString();
  EXPECT_EQ(r[3].answer, svc_ip) << r[3].ToString();
  EXPECT_EQ(r[4].answer, svc_ip) << r[4].ToString();

  // The evaluator and the packets agree without policies ...
  Comparison open = CompareUntilAgreed(nullptr, {}, 5s);
  EXPECT_TRUE(open.failures.empty()) << open.Report();
  EXPECT_EQ(open.allowed, open.probes);
  // ... and with a deny-all ingress policy, once the enforcer has it.
  ASSERT_TRUE(Kubectl({"apply", "-f", "-"}, R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-ingress, namespace: dp-basic}
spec: {podSelector: {matchLabels: {app: echo}}, policyTypes: [Ingress]}
)").ok());
  Comparison closed = CompareUntilAgreed(nullptr, {}, 30s);
  EXPECT_TRUE(closed.failures.empty()) << closed.Report();
  EXPECT_LT(closed.allowed, open.allowed) << "the deny-all policy changed nothing:\n" << closed.matrix;
  r = ProbeAll({specs[0], specs[2]});
  EXPECT_FALSE(r[0].answered()) << r[0].ToString();
  EXPECT_FALSE(r[1].answered()) << "through the ClusterIP too: " << r[1].ToString();
}

// examples/app, with netpol-ctrl running as a controller.
TEST_F(DataplaneTest, ExamplesMatchEvaluator) {
  namespaces_ = {"shop", "data", "monitoring"};
  harness::ProcessResult r = Kubectl({"apply", "-f", NPC_SOURCE_DIR "/examples/app"});
  ASSERT_TRUE(r.ok()) << r.Describe();
  // The CronJob's pods run now, from a Job it owns (as `kubectl create job --from` makes).
  r = Kubectl({"create", "job", "-n", "shop", "nightly-report-now", "--from=cronjob/nightly-report"});
  ASSERT_TRUE(r.ok()) << r.Describe();
  size_t expected = 1 /* job */ + 1 /* node-exporter on the one node */;
  for (const std::string& ns : namespaces_) {
    auto j = json::parse(Kubectl({"get", "deployments,statefulsets", "-n", ns, "-o", "json"}).out, nullptr, false);
    ASSERT_FALSE(j.is_discarded());
    for (const json& o : j.value("items", json::array())) expected += o["spec"].value("replicas", 1);
  }
  WaitPodsRunning(expected);
  StartController("examples");
  WaitPoliciesStable();
  CompareOptions options;
  options.dns_name = "api.shop.svc.cluster.local";
  options.dns_answer = ServiceIp(*client_, "shop", "api");
  Comparison c = CompareUntilAgreed(nullptr, options);
  const std::string out = env_->cluster_dir() + "/logs/examples-matrix.txt";
  std::ofstream(out) << c.Report() << c.matrix;
  EXPECT_TRUE(c.failures.empty()) << c.Report() << "full matrix: " << out;
  EXPECT_GT(c.allowed, 0u);
  EXPECT_LT(c.allowed, c.probes) << "nothing was denied: are policies enforced?";
}

// Random clusters from the property generator, small enough to run here.
TEST_F(DataplaneTest, RandomClustersMatchEvaluatorAndIntent) {
  const char* n_env = std::getenv("NPC_DATAPLANE_CASES");
  const char* seed_env = std::getenv("NPC_DATAPLANE_SEED");
  const size_t want = n_env != nullptr ? std::strtoul(n_env, nullptr, 10) : 20;
  uint64_t seed = seed_env != nullptr ? std::strtoull(seed_env, nullptr, 10) : 1;
  // Cases with at most 11 pods of their own (12 with CoreDNS); among them,
  // at least one LoadBalancer Service with backends, a named targetPort and
  // a cross-namespace reference (added beyond `want` if the first ones lack one).
  bool have_lb = false, have_named = false, have_cross = false;
  std::vector<uint64_t> seeds;
  for (; seed < 100000 && (seeds.size() < want || (want >= 20 && !(have_lb && have_named && have_cross))); ++seed) {
    property::GeneratedCase c = property::Generate(seed);
    size_t own = 0;
    for (const eval::Pod& p : c.pods) own += p.ns != "kube-system";
    if (own > 11) continue;
    // The platform's objects (issue 10: Secrets, IngressClasses, Routes, the
    // Gateway API, webhooks, the Prometheus operator's kinds, pods of custom
    // workloads) are not materialized yet (their CRDs and objects are not
    // applied here), while the generator's intents count on them: such a case
    // would compare the cluster against objects it does not hold (seed 56: a
    // Gateway of class eg, whose proxies then got a policy; seed 62: a Route,
    // whose router was then denied). TODO: materialize them, with their CRDs.
    const Snapshot& sn = c.snapshot;
    if (!sn.secrets.empty() || !sn.ingress_classes.empty() || !sn.routes.empty() ||
        !sn.gateways.empty() || !sn.gateway_classes.empty() || !sn.gateway_routes.empty() ||
        !sn.api_server_hooks.empty() || !sn.prometheuses.empty() ||
        !sn.service_monitors.empty() || !sn.pod_monitors.empty() || !sn.pods.empty() ||
        !sn.observed_flows.empty()) {
      continue;
    }
    bool lb = false, named = false, cross = false;
    for (const Service& s : c.snapshot.services) {
      lb = lb || (s.type == "LoadBalancer" && s.selector);
      for (const ServicePort& sp : s.ports) named = named || (!sp.target_port.empty() && !sp.target_port.is_num());
    }
    for (const property::WorkloadIntent& in : c.intents) {
      for (const property::IntentRule& rule : in.egress) {
        cross = cross || (rule.peer.kind == property::PeerSpec::Kind::kSelected && rule.peer.ns != in.ns);
      }
    }
    if (seeds.size() >= want && !((lb && !have_lb) || (named && !have_named) || (cross && !have_cross))) continue;
    have_lb |= lb;
    have_named |= named;
    have_cross |= cross;
    seeds.push_back(seed);
  }
  std::printf("random clusters: seeds");
  for (uint64_t s : seeds) std::printf(" %llu", static_cast<unsigned long long>(s));
  std::printf(" (LoadBalancer %d, named targetPort %d, cross-namespace %d)\n", have_lb, have_named, have_cross);
  if (want >= 20) {
    EXPECT_TRUE(have_lb && have_named && have_cross) << "the chosen cases miss a required feature";
  }
  size_t failed = 0;
  for (uint64_t s : seeds) {
    SCOPED_TRACE("seed " + std::to_string(s) + " (rerun: NPC_DATAPLANE_SEED=" + std::to_string(s) +
                 " NPC_DATAPLANE_CASES=1)");
    property::GeneratedCase c = property::Generate(s);
    Materialized m = Materialize(c);
    namespaces_ = m.namespaces;
    harness::ProcessResult r = Kubectl({"apply", "-f", "-"}, m.ToJsonList());
    ASSERT_TRUE(r.ok()) << r.Describe();
    for (const JobToCreate& j : m.jobs) {
      auto cj = client_->Get(kube::Resource::kCronJobs, j.ns, j.cronjob);
      ASSERT_TRUE(cj.ok()) << cj.status().ToString();
      json job = j.job;
      job["metadata"]["ownerReferences"] = {{{"apiVersion", "batch/v1"},
                                             {"kind", "CronJob"},
                                             {"name", j.cronjob},
                                             {"uid", cj->meta.uid},
                                             {"controller", true},
                                             {"blockOwnerDeletion", true}}};
      r = Kubectl({"create", "-f", "-"}, job.dump());
      ASSERT_TRUE(r.ok()) << r.Describe();
    }
    WaitPodsRunning(m.expected_pods);
    std::vector<std::string> flags;
    if (c.config.default_deny) flags.push_back("--default-deny");
    StartController("seed-" + std::to_string(s), flags);
    WaitPoliciesStable();

    // The design's intent over the real pods (their labels, IPs and ports).
    auto state = ReadCluster(*client_, cluster_id_, namespaces_);
    ASSERT_TRUE(state.ok()) << state.status().ToString();
    property::GeneratedCase real = c;
    // The generator's DNS Deployment may be scraped (prometheus.io/scrape);
    // the real CoreDNS that stands in for it is not: that intent goes.
    for (property::WorkloadIntent& in : real.intents) {
      std::erase_if(in.egress, [](const property::IntentRule& rule) {
        return rule.why.find("scrapes Deployment/kube-system/") == 0;
      });
    }
    real.pods.clear();
    real.external_ips.clear();
    real.probes.clear();
    std::map<std::string, size_t> pod_index;
    std::map<std::pair<int, std::string>, size_t> probe_index;
    for (const PodView& p : state->pods) {
      eval::Pod ep{p.ns, p.name, {p.labels.begin(), p.labels.end()}, p.ip, {}, p.host_network};
      for (const PortView& port : p.ports) {
        ep.ports.push_back({port.name, port.port, port.protocol});
        if (probe_index.emplace(std::make_pair(port.port, port.protocol), real.probes.size()).second) {
          real.probes.push_back({port.port, port.protocol});
        }
      }
      pod_index[p.id()] = real.pods.size();
      real.pods.push_back(std::move(ep));
    }
    const eval::Matrix intended = property::IntendedMatrix(real);
    IntentFn intent = [&](const PodView& src, const PodView& dst, int port, const std::string& proto) {
      auto a = pod_index.find(src.id()), b = pod_index.find(dst.id());
      auto k = probe_index.find({port, proto});
      if (a == pod_index.end() || b == pod_index.end() || k == probe_index.end()) return eval::Cell::kEither;
      return intended.at(a->second, b->second, k->second);
    };
    CompareOptions options;
    for (const Service& svc : c.snapshot.services) {
      if (svc.type == "ExternalName" || svc.headless) continue;
      const std::string ip = ServiceIp(*client_, svc.ns, svc.name);
      if (ip.empty()) continue;
      options.dns_name = svc.name + "." + svc.ns + ".svc.cluster.local";
      options.dns_answer = ip;
      break;
    }
    Comparison cmp = CompareUntilAgreed(intent, options);
    if (!cmp.failures.empty()) {
      ++failed;
      ADD_FAILURE() << cmp.Report() << "notes: " << ::testing::PrintToString(m.notes) << "\ncase:\n"
                    << property::Describe(c) << "netpol-ctrl log: " << controller_log_;
    }
    controller_.reset();
    DeleteNamespaces();
  }
  RecordProperty("cases", std::to_string(seeds.size()));
  EXPECT_EQ(failed, 0u);
}

}  // namespace
}  // namespace npc::dataplane
