// Integration: adopting netpol-ctrl namespace by namespace against the real
// control plane (run under scripts/with-cluster): `diff` and
// `generate --from-cluster` read the live cluster; the controller follows
// --namespace-selector and the netpol-ctrl.io/mode label through every
// transition. Every verdict is what the cluster holds afterwards.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "cli/cli.h"
#include "decode/decode.h"
#include "kube/client.h"
#include "kube/config.h"
#include "manager/manager.h"

namespace npc::cli {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace)

std::string RandomSuffix() {
  static std::mt19937 rng(std::random_device{}());
  const char* alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s;
  for (int i = 0; i < 6; ++i) s += alphabet[rng() % 36];
  return s;
}

struct CliResult {
  int code = -1;
  std::string out;
  std::string err;
};

CliResult Cli(std::vector<std::string> args) {
  args.insert(args.begin(), "netpol-ctrl");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::istringstream in;
  std::ostringstream out, err;
  CliResult r;
  r.code = Run(static_cast<int>(argv.size()), argv.data(), in, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

std::string Shell(const std::string& command, int* rc) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

bool Eventually(const std::function<bool()>& pred, std::chrono::seconds timeout = 30s) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(200ms);
  }
  return pred();
}

json Deployment(const std::string& ns, const std::string& name, json env = json::array()) {
  json c = {{"name", name}, {"image", "registry.example/" + name + ":1"}};
  if (!env.empty()) c["env"] = env;
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec",
           {{"replicas", 1},
            {"selector", {{"matchLabels", {{"app", name}}}}},
            {"template",
             {{"metadata", {{"labels", {{"app", name}}}}},
              {"spec", {{"containers", json::array({c})}}}}}}}};
}

json Service(const std::string& ns, const std::string& name, int port) {
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec",
           {{"selector", {{"app", name}}},
            {"ports", json::array({{{"name", "http"}, {"port", port}, {"protocol", "TCP"}}})}}}};
}

json ApiEnv() {
  return json::array({{{"name", "API_URL"}, {"value", "http://api:8080"}}});
}

// A controller running in this process until destruction.
class RunningController {
 public:
  RunningController(Mode mode, std::string selector, bool audit_removes) {
    manager::ManagerOptions o;
    o.controller.mode = mode;
    o.controller.audit_removes = audit_removes;
    o.controller.debounce = 5ms;
    LabelSelector sel;
    sel.match_labels[selector] = "yes";
    o.controller.synthesis.namespace_selector = sel;
    o.sync_timeout = 30s;
    o.metrics_bind_address = "127.0.0.1:0";
    o.health_probe_bind_address = "127.0.0.1:0";
    o.events = false;
    o.on_started = [this](controller::Controller&) { started_ = true; };
    thread_ = std::thread([this, o] { status_ = manager::RunManager(o, stop_); });
    for (int i = 0; i < 600 && !started_; ++i) std::this_thread::sleep_for(50ms);
  }
  ~RunningController() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  bool started() const { return started_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<bool> started_{false};
  Status status_;
  std::thread thread_;
};

class AdoptionIT : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::getenv("KUBECONFIG")) GTEST_SKIP() << "no KUBECONFIG: run under scripts/with-cluster";
    auto config = kube::ResolveConfig({});
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    auto c = kube::MakeClient(*config);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(*c);
    // Every namespace of this test carries this label key (value "yes" when
    // selected): the selector keeps other tests' namespaces out.
    selector_ = "npc-adopt-" + RandomSuffix();
  }

  void TearDown() override {
    controller_.reset();
    for (const auto& ns : namespaces_) (void)client_->Delete(kube::Resource::kNamespaces, "", ns);
  }

  std::string Namespace(const std::string& prefix, bool selected) {
    const std::string name = prefix + "-" + RandomSuffix();
    json ns = {{"apiVersion", "v1"},
               {"kind", "Namespace"},
               {"metadata", {{"name", name}, {"labels", {{selector_, selected ? "yes" : "no"}}}}}};
    auto r = client_->Create(kube::Resource::kNamespaces, "", ns.dump());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    namespaces_.push_back(name);
    return name;
  }

  // Sets (or with "" removes) a label of a namespace.
  void Label(const std::string& ns, const std::string& key, const std::string& value) {
    json patch = {{"metadata", {{"labels", {{key, value.empty() ? json(nullptr) : json(value)}}}}}};
    auto r = client_->MergePatch(kube::Resource::kNamespaces, "", ns, patch.dump());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  void Apply(kube::Resource r, const json& obj) {
    kube::ApplyOptions o;
    o.field_manager = "test";
    auto res = client_->Apply(r, obj["metadata"].value("namespace", ""),
                              obj["metadata"]["name"].get<std::string>(), obj.dump(), o);
    ASSERT_TRUE(res.ok()) << res.status().ToString();
  }

  // A shop: web calls api (through Service api) when `calls`.
  void Shop(const std::string& ns, bool calls = true) {
    Apply(kube::Resource::kDeployments, Deployment(ns, "web", calls ? ApiEnv() : json::array()));
    Apply(kube::Resource::kDeployments, Deployment(ns, "api"));
    Apply(kube::Resource::kServices, Service(ns, "api", 8080));
  }

  std::optional<NetworkPolicy> Policy(const std::string& ns, const std::string& name) {
    auto r = client_->Get(kube::Resource::kNetworkPolicies, ns, name);
    if (!r.ok()) return std::nullopt;
    decode::Decoder d;
    auto o = d.Decode(r->json);
    if (!o.ok()) return std::nullopt;
    return std::get<decode::StoredPolicy>(o->value).policy;
  }

  size_t PolicyCount(const std::string& ns) {
    auto r = client_->List(kube::Resource::kNetworkPolicies, ns, {});
    return r.ok() ? r->items.size() : 999;
  }

  // True when web's stored policy allows egress to api's pods.
  bool WebCallsApi(const std::string& ns) {
    auto p = Policy(ns, "deployment-web");
    if (!p) return false;
    for (const PolicyRule& r : p->egress) {
      for (const PolicyPeer& peer : r.peers) {
        if (peer.pod_selector && peer.pod_selector->match_labels.count("app") &&
            peer.pod_selector->match_labels.at("app") == "api") {
          return true;
        }
      }
    }
    return false;
  }

  std::string Sel() const { return selector_ + "=yes"; }

  void StartController(Mode mode, bool audit_removes = false) {
    controller_ = std::make_unique<RunningController>(mode, selector_, audit_removes);
    ASSERT_TRUE(controller_->started()) << "the controller did not start";
  }

  static void Quiesce() { std::this_thread::sleep_for(1500ms); }

  std::unique_ptr<kube::Client> client_;
  std::string selector_;
  std::vector<std::string> namespaces_;
  std::unique_ptr<RunningController> controller_;
};

std::string DiffFile(const std::string& ns, const std::string& name) {
  return "MERGED/networking.k8s.io.v1.NetworkPolicy." + ns + "." + name;
}

TEST_F(AdoptionIT, DiffShowsNewChangedAndDeletedAndGenerateFromClusterMatchesRun) {
  const std::string ns = Namespace("diff", true);
  const std::string other = Namespace("diff-other", false);
  Shop(ns);
  Shop(other);

  // Nothing is managed yet: both policies of the selected namespace are new.
  CliResult d = Cli({"diff", "--namespace-selector", Sel()});
  ASSERT_EQ(d.code, 1) << d.err;
  EXPECT_NE(d.out.find(DiffFile(ns, "deployment-web")), std::string::npos) << d.out;
  EXPECT_NE(d.out.find(DiffFile(ns, "deployment-api")), std::string::npos) << d.out;
  EXPECT_EQ(d.out.find(other), std::string::npos) << "not selected, yet in the diff:\n" << d.out;
  EXPECT_NE(d.out.find("@@ -0,0 +1,"), std::string::npos) << d.out;

  // Apply what generate --from-cluster prints: then diff finds nothing to do.
  CliResult g = Cli({"generate", "--from-cluster", "--namespace-selector", Sel(), "-o", "json"});
  ASSERT_EQ(g.code, 0) << g.err;
  json list = json::parse(g.out);
  ASSERT_EQ(list["items"].size(), 2u) << g.out;
  for (const json& item : list["items"]) Apply(kube::Resource::kNetworkPolicies, item);
  ASSERT_TRUE(WebCallsApi(ns));
  EXPECT_TRUE(Eventually([&] { return Cli({"diff", "--namespace-selector", Sel()}).code == 0; }))
      << Cli({"diff", "--namespace-selector", Sel()}).out;

  // web no longer calls api: web loses its egress to api, api its ingress
  // from web; nothing is added.
  Apply(kube::Resource::kDeployments, Deployment(ns, "web"));
  d = Cli({"diff", "--namespace-selector", Sel()});
  ASSERT_EQ(d.code, 1) << d.err;
  EXPECT_NE(d.out.find(DiffFile(ns, "deployment-web")), std::string::npos) << d.out;
  EXPECT_NE(d.out.find(DiffFile(ns, "deployment-api")), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("\n-          app: api\n"), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("\n-          app: web\n"), std::string::npos) << d.out;
  EXPECT_EQ(d.out.find("\n+ "), std::string::npos) << d.out;
  EXPECT_NE(d.err.find("0 to create, 2 to change, 0 to delete"), std::string::npos) << d.err;

  // mode=off: run would delete both.
  Label(ns, std::string(kModeLabel), "off");
  d = Cli({"diff", "--namespace-selector", Sel()});
  ASSERT_EQ(d.code, 1) << d.err;
  EXPECT_NE(d.err.find("0 to create, 0 to change, 2 to delete"), std::string::npos) << d.err;
  EXPECT_NE(d.out.find(" +0,0 @@"), std::string::npos) << d.out;
  // ... and generate prints none of them.
  g = Cli({"generate", "--from-cluster", "--namespace-selector", Sel()});
  ASSERT_EQ(g.code, 0) << g.err;
  EXPECT_EQ(g.out.find(ns), std::string::npos) << g.out;
}

TEST_F(AdoptionIT, DiffWithoutPermissionNamesWhatIsMissing) {
  const char* dir = std::getenv("NPC_CLUSTER_DIR");
  ASSERT_NE(dir, nullptr) << "NPC_CLUSTER_DIR is not set: run under scripts/with-cluster";
  int rc = 0;
  std::string kubeconfig =
      Shell(std::string(dir) + "/mint-kubeconfig npc-nobody-" + RandomSuffix() + " 2>/dev/null", &rc);
  ASSERT_EQ(rc, 0);
  kubeconfig = kubeconfig.substr(0, kubeconfig.find_last_not_of("\n") + 1);
  CliResult d = Cli({"diff", "--kubeconfig", kubeconfig});
  EXPECT_EQ(d.code, 2) << d.out << d.err;
  EXPECT_NE(d.err.find("cannot list namespaces: forbidden: missing permission: verb \"list\" on "
                       "namespaces"),
            std::string::npos)
      << d.err;
}

// enforce -> audit keeps the policies as they are (not updated), audit ->
// enforce brings them up to date, enforce -> off deletes them, off ->
// enforce writes them again; a namespace the selector stops matching loses
// them, one it starts matching gets them (widening).
TEST_F(AdoptionIT, NamespaceModeTransitions) {
  const std::string a = Namespace("mode-a", true);
  const std::string b = Namespace("mode-b", false);
  Shop(a);
  Shop(b);
  StartController(Mode::kEnforce);
  ASSERT_TRUE(Eventually([&] { return WebCallsApi(a) && Policy(a, "deployment-api"); }));
  Quiesce();
  EXPECT_EQ(PolicyCount(b), 0u) << "namespace " << b << " is not selected";

  // enforce -> audit: kept as they are, even when the desired policy changes.
  Label(a, std::string(kModeLabel), "audit");
  Apply(kube::Resource::kDeployments, Deployment(a, "web"));  // web stops calling api
  Quiesce();
  EXPECT_TRUE(WebCallsApi(a)) << "audit must not update";
  EXPECT_EQ(PolicyCount(a), 2u);

  // audit -> enforce: brought up to date.
  Label(a, std::string(kModeLabel), "enforce");
  EXPECT_TRUE(Eventually([&] { return Policy(a, "deployment-web") && !WebCallsApi(a); }));

  // enforce -> off: deleted.
  Label(a, std::string(kModeLabel), "off");
  EXPECT_TRUE(Eventually([&] { return PolicyCount(a) == 0; }));

  // off -> (no label: the global enforce): written again.
  Label(a, std::string(kModeLabel), "");
  EXPECT_TRUE(Eventually([&] { return PolicyCount(a) == 2; }));

  // Widen: b starts matching the selector.
  Label(b, selector_, "yes");
  EXPECT_TRUE(Eventually([&] { return WebCallsApi(b) && PolicyCount(b) == 2; }));

  // Narrow: a stops matching it.
  Label(a, selector_, "no");
  EXPECT_TRUE(Eventually([&] { return PolicyCount(a) == 0; }));
  EXPECT_EQ(PolicyCount(b), 2u);
}

// Global audit, one namespace labelled enforce: only that one is written.
// With --audit-removes, enforce -> audit deletes the policies.
TEST_F(AdoptionIT, AuditRemovesAndAPerNamespaceEnforce) {
  const std::string a = Namespace("removes-a", true);
  const std::string b = Namespace("removes-b", true);
  Label(a, std::string(kModeLabel), "enforce");
  Shop(a);
  Shop(b);
  StartController(Mode::kAudit, /*audit_removes=*/true);
  ASSERT_TRUE(Eventually([&] { return PolicyCount(a) == 2; }));
  Quiesce();
  EXPECT_EQ(PolicyCount(b), 0u) << "b is in audit (the global mode)";

  Label(a, std::string(kModeLabel), "audit");
  EXPECT_TRUE(Eventually([&] { return PolicyCount(a) == 0; }));
  Label(a, std::string(kModeLabel), "enforce");
  EXPECT_TRUE(Eventually([&] { return PolicyCount(a) == 2; }));
}

}  // namespace
}  // namespace npc::cli
