// The client against a real API server. Run under scripts/with-cluster, which
// exports KUBECONFIG (admin, client-certificate auth, CA embedded) and
// NPC_CLUSTER_DIR (ca.crt, server, ...), with kubectl on PATH. Each test works in
// a namespace of its own.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "kube/client.h"
#include "kube/config.h"

namespace npc::kube {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;
using Json = nlohmann::json;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

// Runs a shell command, returning its stdout (trimmed); fails the test on non-zero exit.
std::string Sh(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) {
    ADD_FAILURE() << "popen " << cmd;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  EXPECT_EQ(rc, 0) << cmd << ": " << out;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

void WriteFile(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp";
  std::ofstream(tmp, std::ios::trunc) << content;
  fs::rename(tmp, path);  // atomic, as the kubelet does
}

std::string NetworkPolicy(const std::string& ns, const std::string& name, const std::string& app,
                          const std::string& rv = "") {
  Json j = {
      {"apiVersion", "networking.k8s.io/v1"},
      {"kind", "NetworkPolicy"},
      {"metadata", {{"name", name}, {"namespace", ns}}},
      {"spec", {{"podSelector", {{"matchLabels", {{"app", app}}}}}, {"policyTypes", {"Ingress"}}}}};
  if (!rv.empty()) j["metadata"]["resourceVersion"] = rv;
  return j.dump();
}

std::string ConfigMap(const std::string& ns, const std::string& name, const std::string& value) {
  return Json{{"apiVersion", "v1"},
              {"kind", "ConfigMap"},
              {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"npc-test", "yes"}}}}},
              {"data", {{"k", value}}}}
      .dump();
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kubeconfig_ = Env("KUBECONFIG");
    cluster_dir_ = Env("NPC_CLUSTER_DIR");
    ASSERT_FALSE(kubeconfig_.empty() || cluster_dir_.empty())
        << "integration tests run under scripts/with-cluster (KUBECONFIG, NPC_CLUSTER_DIR)";
    auto config = LoadKubeconfig({kubeconfig_}, "");
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    admin_config_ = *config;
    ClientOptions o;
    o.rate_limit = {.qps = 1000, .burst = 1000};
    auto client = MakeClient(admin_config_, o);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    admin_ = std::move(*client);
    std::random_device rd;
    ns_ = "npc-kube-" + std::to_string(rd() % 1000000);
    auto created = admin_->Create(
        Resource::kNamespaces, "",
        Json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns_}}}}.dump());
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    tmp_ = fs::temp_directory_path() / ns_;
    fs::create_directories(tmp_);
  }

  void TearDown() override {
    if (admin_ != nullptr && !ns_.empty()) {
      (void)admin_->Delete(Resource::kNamespaces, "", ns_);
    }
    for (const std::string& crb : cluster_role_bindings_) {
      Sh("kubectl delete clusterrolebinding " + crb + " --ignore-not-found");
    }
    if (!tmp_.empty()) fs::remove_all(tmp_);
  }

  // A ServiceAccount token; with `admin`, the account is bound to cluster-admin.
  std::string ServiceAccountToken(const std::string& sa, bool admin) {
    Sh("kubectl -n " + ns_ + " create serviceaccount " + sa);
    if (admin) {
      std::string crb = ns_ + "-" + sa;
      Sh("kubectl create clusterrolebinding " + crb +
         " --clusterrole=cluster-admin "
         "--serviceaccount=" +
         ns_ + ":" + sa);
      cluster_role_bindings_.push_back(crb);
    }
    return Sh("kubectl -n " + ns_ + " create token " + sa + " --duration=1h");
  }

  // The admin configuration with other credentials.
  RestConfig WithToken(const std::string& token) const {
    RestConfig c = admin_config_;
    c.client_cert_pem.clear();
    c.client_key_pem.clear();
    c.token = token;
    return c;
  }

  std::unique_ptr<Client> ClientFor(const RestConfig& c) {
    auto client = MakeClient(c);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(*client) : nullptr;
  }

  std::string kubeconfig_;
  std::string cluster_dir_;
  RestConfig admin_config_;
  std::unique_ptr<Client> admin_;
  std::string ns_;
  fs::path tmp_;
  std::vector<std::string> cluster_role_bindings_;
};

TEST_F(ClusterTest, NetworkPolicyLifecycle) {
  Client& c = *admin_;
  // Dry run validates without storing.
  RequestOptions dry;
  dry.dry_run = true;
  ASSERT_TRUE(
      c.Create(Resource::kNetworkPolicies, ns_, NetworkPolicy(ns_, "web", "web"), dry).ok());
  EXPECT_EQ(c.Get(Resource::kNetworkPolicies, ns_, "web").error().reason, Reason::kNotFound);

  auto created = c.Create(Resource::kNetworkPolicies, ns_, NetworkPolicy(ns_, "web", "web"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->meta.name, "web");
  EXPECT_EQ(created->meta.namespace_name, ns_);
  EXPECT_FALSE(created->meta.uid.empty());

  auto again = c.Create(Resource::kNetworkPolicies, ns_, NetworkPolicy(ns_, "web", "web"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().reason, Reason::kAlreadyExists);

  auto got = c.Get(Resource::kNetworkPolicies, ns_, "web");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->meta.resource_version, created->meta.resource_version);

  // Update with the current resourceVersion, then a stale one.
  auto updated = c.Update(Resource::kNetworkPolicies, ns_, "web",
                          NetworkPolicy(ns_, "web", "web2", created->meta.resource_version));
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_NE(updated->meta.resource_version, created->meta.resource_version);
  auto stale = c.Update(Resource::kNetworkPolicies, ns_, "web",
                        NetworkPolicy(ns_, "web", "web3", created->meta.resource_version));
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().reason, Reason::kConflict);
  EXPECT_EQ(stale.status().code(), StatusCode::kConflict);

  // Server-side apply creates, and applying the same content twice changes nothing.
  auto a1 = c.Apply(Resource::kNetworkPolicies, ns_, "api", NetworkPolicy(ns_, "api", "api"));
  ASSERT_TRUE(a1.ok()) << a1.status().ToString();
  auto a2 = c.Apply(Resource::kNetworkPolicies, ns_, "api", NetworkPolicy(ns_, "api", "api"));
  ASSERT_TRUE(a2.ok()) << a2.status().ToString();
  EXPECT_EQ(a1->meta.resource_version, a2->meta.resource_version);
  auto a3 = c.Apply(Resource::kNetworkPolicies, ns_, "api", NetworkPolicy(ns_, "api", "api-v2"));
  ASSERT_TRUE(a3.ok()) << a3.status().ToString();
  EXPECT_NE(a3->meta.resource_version, a2->meta.resource_version);
  EXPECT_THAT(a3->json, HasSubstr("api-v2"));

  // Invalid objects come back with their causes.
  auto invalid = c.Apply(Resource::kNetworkPolicies, ns_, "bad",
                         R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy",
                             "metadata":{"name":"bad"},"spec":{"podSelector":{},
                             "ingress":[{"ports":[{"port":0}]}]}})");
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.error().reason, Reason::kInvalid);
  EXPECT_FALSE(invalid.error().causes.empty());

  // Merge patch.
  auto patched = c.MergePatch(Resource::kNetworkPolicies, ns_, "api",
                              R"({"metadata":{"labels":{"patched":"yes"}}})");
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  EXPECT_THAT(patched->json, HasSubstr(R"("patched":"yes")"));

  // Delete with a failing precondition, then for real.
  DeleteOptions wrong_uid;
  wrong_uid.precondition_uid = "00000000-0000-0000-0000-000000000000";
  auto refused = c.Delete(Resource::kNetworkPolicies, ns_, "web", wrong_uid);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().reason, Reason::kConflict);
  DeleteOptions del;
  del.propagation_policy = "Background";
  del.precondition_uid = created->meta.uid;
  ASSERT_TRUE(c.Delete(Resource::kNetworkPolicies, ns_, "web", del).ok());
  auto gone = c.Get(Resource::kNetworkPolicies, ns_, "web");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
}

// Counts requests on their way to the real transport.
class CountingTransport final : public HttpTransport {
 public:
  explicit CountingTransport(std::unique_ptr<HttpTransport> inner) : inner_(std::move(inner)) {}
  KubeResult<HttpResponse> Do(const HttpRequest& r) override {
    ++count;
    return inner_->Do(r);
  }
  std::atomic<int> count{0};

 private:
  std::unique_ptr<HttpTransport> inner_;
};

TEST_F(ClusterTest, ListPaginatesOverAThousandConfigMaps) {
  constexpr int kCount = 1000;
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = w; i < kCount; i += 4) {
        auto r = admin_->Create(Resource::kConfigMaps, ns_,
                                ConfigMap(ns_, "cm-" + std::to_string(i), std::to_string(i)));
        if (!r.ok()) ++failures;
      }
    });
  }
  for (std::thread& t : writers) t.join();
  ASSERT_EQ(failures.load(), 0);

  auto transport = MakeCurlTransport(TransportOptionsFrom(admin_config_));
  ASSERT_TRUE(transport.ok());
  auto counting = std::make_unique<CountingTransport>(std::move(*transport));
  CountingTransport* counter = counting.get();
  auto client = MakeClient(admin_config_.server, ns_, std::move(counting),
                           MakeStaticCredentials({}), ClientOptions{}, RealTimeSource::Get());
  ListOptions o;
  o.limit = 100;
  o.label_selector = "npc-test=yes";
  auto list = client->List(Resource::kConfigMaps, ns_, o);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(list->items.size(), static_cast<size_t>(kCount));
  // 10 full pages; the server may hand out one more continue token before it
  // notices that the selector matches nothing further.
  EXPECT_GE(counter->count.load(), kCount / 100);
  EXPECT_LE(counter->count.load(), kCount / 100 + 1);
  EXPECT_FALSE(list->resource_version.empty());
  std::set<std::string> names;
  for (const Object& o2 : list->items) names.insert(o2.meta.name);
  EXPECT_EQ(names.size(), static_cast<size_t>(kCount));
  EXPECT_TRUE(names.count("cm-999"));
}

// A controller holds a dozen watches open and then writes: each write must
// reuse an idle connection, not open (and TLS-handshake) a new one.
TEST_F(ClusterTest, RequestsReuseConnectionsWhileWatchesAreOpen) {
  std::atomic<int> connects{0};
  ClientOptions o;
  o.rate_limit = {.qps = 1000, .burst = 1000};
  o.on_connect = [&] { connects++; };
  auto made = MakeClient(admin_config_, o);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  std::unique_ptr<Client> client = std::move(*made);

  constexpr int kWatches = 12;
  std::atomic<bool> stop{false};
  std::atomic<int> started{0};
  std::vector<std::thread> watchers;
  for (int i = 0; i < kWatches; ++i) {
    watchers.emplace_back([&] {
      WatchOptions wo;
      wo.stop = &stop;
      started++;
      (void)client->Watch(Resource::kConfigMaps, ns_, wo,
                          [](const WatchEvent&) { return Status::Ok(); });
    });
  }
  while (started < kWatches) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the watches connect
  const int before = connects.load();
  for (int i = 0; i < 40; ++i) {
    auto r = client->Create(Resource::kConfigMaps, ns_,
                            Json{{"apiVersion", "v1"},
                                 {"kind", "ConfigMap"},
                                 {"metadata", {{"name", "reuse-" + std::to_string(i)}}}}
                                .dump());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  const int during = connects.load() - before;
  stop = true;
  for (auto& t : watchers) t.join();
  EXPECT_GE(before, kWatches);
  EXPECT_LE(during, 2) << "40 sequential requests opened " << during << " connections";
}

TEST_F(ClusterTest, WatchSeesEventsInOrderResumesAndStops) {
  auto list = admin_->List(Resource::kConfigMaps, ns_);
  ASSERT_TRUE(list.ok()) << list.status().ToString();

  struct Seen {
    EventType type;
    std::string name, rv, value;
  };
  std::mutex mu;
  std::vector<Seen> seen;
  std::atomic<bool> stop{false};
  WatchOptions wo;
  wo.resource_version = list->resource_version;
  wo.stop = &stop;
  KubeResult<WatchEnd> end = LocalError(Reason::kUnknown, "not run");
  std::thread watcher([&] {
    end = admin_->Watch(Resource::kConfigMaps, ns_, wo, [&](const WatchEvent& e) {
      if (e.type == EventType::kBookmark) return Status::Ok();
      Json j = Json::parse(e.object);
      std::lock_guard<std::mutex> l(mu);
      seen.push_back({e.type, j["metadata"]["name"], std::string(e.resource_version),
                      j.contains("data") ? j["data"].value("k", "") : ""});
      return Status::Ok();
    });
  });
  ASSERT_TRUE(admin_->Create(Resource::kConfigMaps, ns_, ConfigMap(ns_, "w", "1")).ok());
  ASSERT_TRUE(admin_->MergePatch(Resource::kConfigMaps, ns_, "w", R"({"data":{"k":"2"}})").ok());
  ASSERT_TRUE(admin_->Delete(Resource::kConfigMaps, ns_, "w").ok());
  for (int i = 0; i < 100; ++i) {
    {
      std::lock_guard<std::mutex> l(mu);
      if (std::count_if(seen.begin(), seen.end(), [](const Seen& s) { return s.name == "w"; }) >=
          3) {
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto stop_at = std::chrono::steady_clock::now();
  stop = true;
  watcher.join();
  auto stop_took = std::chrono::steady_clock::now() - stop_at;
  ASSERT_TRUE(end.ok()) << end.status().ToString();
  EXPECT_TRUE(end->stopped);
  EXPECT_LT(stop_took, std::chrono::seconds(3));  // stops within about a second

  std::vector<Seen> w;
  for (const Seen& s : seen) {
    if (s.name == "w") w.push_back(s);
  }
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0].type, EventType::kAdded);
  EXPECT_EQ(w[0].value, "1");
  EXPECT_EQ(w[1].type, EventType::kModified);
  EXPECT_EQ(w[1].value, "2");
  EXPECT_EQ(w[2].type, EventType::kDeleted);
  EXPECT_EQ(end->resource_version, seen.back().rv);

  // Resume after the ADDED event: the same MODIFIED and DELETED come again.
  // (Only w's: the kube-controller-manager may add kube-root-ca.crt to the new
  // namespace at any moment, and that event can come in between.)
  std::vector<Seen> resumed;
  std::atomic<bool> stop2{false};
  WatchOptions ro;
  ro.resource_version = w[0].rv;
  ro.stop = &stop2;
  auto end2 = admin_->Watch(Resource::kConfigMaps, ns_, ro, [&](const WatchEvent& e) {
    if (e.type == EventType::kBookmark || stop2) return Status::Ok();
    if (Json::parse(e.object)["metadata"]["name"] != "w") return Status::Ok();
    resumed.push_back({e.type, "w", std::string(e.resource_version), ""});
    if (resumed.size() == 2) stop2 = true;
    return Status::Ok();
  });
  ASSERT_TRUE(end2.ok()) << end2.status().ToString();
  ASSERT_EQ(resumed.size(), 2u);
  EXPECT_EQ(resumed[0].type, EventType::kModified);
  EXPECT_EQ(resumed[0].rv, w[1].rv);
  EXPECT_EQ(resumed[1].type, EventType::kDeleted);
}

TEST_F(ClusterTest, ClientCertificateAuth) {
  EXPECT_FALSE(admin_config_.client_cert_pem.empty());
  EXPECT_TRUE(admin_config_.token.empty());
  auto ns = admin_->Get(Resource::kNamespaces, "", ns_);
  ASSERT_TRUE(ns.ok()) << ns.status().ToString();
  EXPECT_EQ(ns->meta.name, ns_);
}

TEST_F(ClusterTest, WrongTokenIsUnauthorized) {
  auto c = ClientFor(WithToken("not-a-valid-token"));
  ASSERT_NE(c, nullptr);
  auto r = c->List(Resource::kNetworkPolicies, ns_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, Reason::kUnauthorized);
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(r.status().message(), HasSubstr("rejected the bearer token"));
  EXPECT_THAT(r.status().message(), HasSubstr(admin_config_.server));
}

TEST_F(ClusterTest, ServiceAccountWithoutRbacIsForbidden) {
  auto c = ClientFor(WithToken(ServiceAccountToken("nobody", /*admin=*/false)));
  ASSERT_NE(c, nullptr);
  auto r = c->List(Resource::kPods, ns_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, Reason::kForbidden);
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(r.status().message(), HasSubstr("system:serviceaccount:" + ns_ + ":nobody"));
  EXPECT_THAT(r.status().message(), HasSubstr("cannot list resource \"pods\""));
}

TEST_F(ClusterTest, WrongCaFailsTls) {
  RestConfig c = admin_config_;
  std::string other_ca = std::string(NPC_SOURCE_DIR) + "/src/kube/testdata/ca.crt";
  auto pem = ReadFileToString(other_ca);
  ASSERT_TRUE(pem.ok());
  c.ca_pem = *pem;
  c.ca_origin = other_ca;
  auto client = ClientFor(c);
  ASSERT_NE(client, nullptr);
  auto r = client->Get(Resource::kNamespaces, "", "default");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, Reason::kTls);
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("TLS with " + admin_config_.server));
  EXPECT_THAT(r.status().message(), HasSubstr(other_ca));
}

TEST_F(ClusterTest, TlsServerNameIsVerified) {
  // The apiserver certificate is valid for "kubernetes.default"; reaching it by IP
  // while verifying that name must work, a name it lacks must not.
  RestConfig good = admin_config_;
  good.tls_server_name = "kubernetes.default";
  auto ok = ClientFor(good)->Get(Resource::kNamespaces, "", "default");
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();
  RestConfig bad = admin_config_;
  bad.tls_server_name = "not-the-apiserver.example";
  auto r = ClientFor(bad)->Get(Resource::kNamespaces, "", "default");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, Reason::kTls);
  EXPECT_THAT(r.status().message(), HasSubstr("not-the-apiserver.example"));
}

TEST_F(ClusterTest, ExecPluginRunsAgainAfterExpiryAndAfterUnauthorized) {
  std::string token = ServiceAccountToken("exec-user", /*admin=*/true);
  std::string token_file = (tmp_ / "token").string();
  WriteFile(token_file, token);
  std::string count_file = (tmp_ / "count").string();
  ExecConfig x;
  x.api_version = "client.authentication.k8s.io/v1";
  x.command = std::string(NPC_SOURCE_DIR) + "/src/kube/testdata/exec-plugin.sh";
  x.env = {{"COUNT_FILE", count_file}, {"TOKEN_FILE_SOURCE", token_file}, {"EXPIRES_IN", "3"}};
  x.provide_cluster_info = true;
  x.origin = "test exec";
  RestConfig c = WithToken("");
  c.exec = x;
  auto client = ClientFor(c);
  ASSERT_NE(client, nullptr);
  auto runs = [&] { return std::stoi(Sh("cat " + count_file)); };
  ASSERT_TRUE(client->List(Resource::kConfigMaps, ns_).ok());
  ASSERT_TRUE(client->List(Resource::kConfigMaps, ns_).ok());
  EXPECT_EQ(runs(), 1);  // cached until expirationTimestamp
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  auto r = client->List(Resource::kConfigMaps, ns_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(runs(), 2);

  // The first run hands out a bad token: the 401 makes the client run it again.
  fs::remove(count_file);
  x.env = {{"COUNT_FILE", count_file}, {"TOKEN_FILE_SOURCE", token_file}, {"BAD_FIRST", "1"}};
  c.exec = x;
  auto client2 = ClientFor(c);
  auto r2 = client2->List(Resource::kConfigMaps, ns_);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ(runs(), 2);
}

TEST_F(ClusterTest, InClusterWithOverriddenServiceAccountDir) {
  std::string good = ServiceAccountToken("in-cluster", /*admin=*/true);
  std::string none = ServiceAccountToken("powerless", /*admin=*/false);
  fs::path sa = tmp_ / "sa";
  fs::create_directories(sa);
  WriteFile((sa / "token").string(), good);
  fs::copy_file(fs::path(cluster_dir_) / "ca.crt", sa / "ca.crt");
  WriteFile((sa / "namespace").string(), ns_);
  std::string server = admin_config_.server;  // https://127.0.0.1:PORT
  std::string host = server.substr(8, server.rfind(':') - 8);
  std::string port = server.substr(server.rfind(':') + 1);

  // Through the resolution order, as the controller does in a Pod.
  ConfigOptions opts;
  opts.serviceaccount_dir = sa.string();
  opts.getenv = [&](const char* name) -> const char* {
    static std::string h, p;
    h = host;
    p = port;
    if (std::string_view(name) == "KUBERNETES_SERVICE_HOST") return h.c_str();
    if (std::string_view(name) == "KUBERNETES_SERVICE_PORT") return p.c_str();
    return nullptr;
  };
  auto config = ResolveConfig(opts);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->namespace_name, ns_);

  FakeTimeSource time;  // controls the token file's refresh interval
  auto transport = MakeCurlTransport(TransportOptionsFrom(*config));
  ASSERT_TRUE(transport.ok());
  auto creds = MakeCredentialProvider(*config, time);
  ASSERT_TRUE(creds.ok());
  ClientOptions co;
  co.rate_limit.qps = 0;
  auto client = MakeClient(config->server, config->namespace_name, std::move(*transport),
                           std::move(*creds), co, time);
  ASSERT_TRUE(client->List(Resource::kConfigMaps, ns_).ok());

  // A rotated token is picked up within a minute...
  WriteFile((sa / "token").string(), none);
  EXPECT_TRUE(client->List(Resource::kConfigMaps, ns_).ok());  // still the cached token
  time.Advance(std::chrono::seconds(61));
  auto forbidden = client->List(Resource::kConfigMaps, ns_);
  ASSERT_FALSE(forbidden.ok());
  EXPECT_EQ(forbidden.error().reason, Reason::kForbidden);

  // ...and at once after a 401.
  WriteFile((sa / "token").string(), "garbage");
  time.Advance(std::chrono::seconds(61));
  auto unauthorized = client->List(Resource::kConfigMaps, ns_);
  ASSERT_FALSE(unauthorized.ok());
  EXPECT_EQ(unauthorized.error().reason, Reason::kUnauthorized);
  WriteFile((sa / "token").string(), good);
  auto back = client->List(Resource::kConfigMaps, ns_);
  EXPECT_TRUE(back.ok()) << back.status().ToString();
}

TEST_F(ClusterTest, ExpiredResourceVersionAfterCompactionIs410) {
  auto cm = admin_->Create(Resource::kConfigMaps, ns_, ConfigMap(ns_, "old", "0"));
  ASSERT_TRUE(cm.ok()) << cm.status().ToString();
  std::string old_rv = cm->meta.resource_version;
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(admin_
                    ->MergePatch(Resource::kConfigMaps, ns_, "old",
                                 R"({"data":{"k":")" + std::to_string(i) + R"("}})")
                    .ok());
  }
  // Compact etcd (plain HTTP on 127.0.0.1, found in the apiserver's command line)
  // at its current revision, through its JSON gateway.
  std::string cmdline = Sh("tr '\\0' ' ' < " + cluster_dir_ + "/run/kube-apiserver.cmdline");
  size_t at = cmdline.find("--etcd-servers=");
  ASSERT_NE(at, std::string::npos);
  size_t stop = cmdline.find(' ', at);
  if (stop == std::string::npos) stop = cmdline.size();
  std::string etcd = cmdline.substr(at + 15, stop - at - 15);
  Json range = Json::parse(Sh("curl -sf -X POST " + etcd + "/v3/kv/range -d '{\"key\":\"AA==\"}'"));
  std::string revision = range["header"]["revision"].get<std::string>();
  Sh("curl -sf -X POST " + etcd + "/v3/kv/compaction -d '{\"revision\":\"" + revision +
     "\",\"physical\":true}'");

  // The watch cache would still serve `old_rv` from its own history; a restarted
  // apiserver's cache starts at the current version, so older reads go to etcd.
  Sh(cluster_dir_ + "/restart-apiserver");

  // An exact list at a compacted version: 410 Expired.
  ListOptions lo;
  lo.resource_version = old_rv;
  lo.resource_version_match = "Exact";
  lo.limit = 10;
  auto list = admin_->List(Resource::kConfigMaps, ns_, lo);
  ASSERT_FALSE(list.ok());
  EXPECT_TRUE(list.error().IsExpired()) << list.error().Describe();
  EXPECT_EQ(list.status().code(), StatusCode::kExpired);

  // So does a watch from it.
  WatchOptions wo;
  wo.resource_version = old_rv;
  auto end =
      admin_->Watch(Resource::kConfigMaps, ns_, wo, [](const WatchEvent&) { return Status::Ok(); });
  ASSERT_FALSE(end.ok());
  EXPECT_TRUE(end.error().IsExpired()) << end.error().Describe();
}

}  // namespace
}  // namespace npc::kube
