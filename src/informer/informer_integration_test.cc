// The informer against a real API server (run under scripts/with-cluster):
// events missed while it was not watching, in a history the server no longer
// has (etcd compacted), still reach the sink after the 410 and the re-list,
// deletions included.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "informer/informer.h"
#include "kube/client.h"
#include "kube/config.h"

namespace npc::informer {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace)

// The sink's view: name -> the ConfigMap's data["v"].
class MapSink : public Sink {
 public:
  void OnUpsert(decode::Object o) override {
    std::lock_guard<std::mutex> lock(mu_);
    const auto& cm = std::get<ConfigMap>(o.value);
    auto it = cm.data.find("v");
    state_[o.meta.name] = it == cm.data.end() ? "" : it->second;
  }
  void OnDelete(const decode::Meta& m) override {
    std::lock_guard<std::mutex> lock(mu_);
    state_.erase(m.name);
    deletes_++;
  }
  void OnUnknown(const decode::Meta& m, const std::string& why) override {
    ADD_FAILURE() << "ConfigMap " << m.name << " could not be decoded: " << why;
  }
  std::map<std::string, std::string> state() {
    std::lock_guard<std::mutex> lock(mu_);
    return state_;
  }
  int deletes() {
    std::lock_guard<std::mutex> lock(mu_);
    return deletes_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> state_;
  int deletes_ = 0;
};

std::string Sh(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

bool Eventually(const std::function<bool()>& pred, std::chrono::seconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

TEST(InformerIT, MissedEventsInACompactedHistoryArriveAfterTheRelist) {
  const char* dir = std::getenv("NPC_CLUSTER_DIR");
  ASSERT_NE(dir, nullptr) << "run under scripts/with-cluster";
  auto config = kube::ResolveConfig({});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto made = kube::MakeClient(*config);
  ASSERT_TRUE(made.ok());
  kube::Client& client = **made;

  std::mt19937 rng{std::random_device{}()};
  const std::string ns = "informer-" + std::to_string(rng() % 1000000);
  ASSERT_TRUE(
      client
          .Create(kube::Resource::kNamespaces, "",
                  json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}}
                      .dump())
          .ok());
  auto cm = [&](const std::string& name, const std::string& v) {
    return json{{"apiVersion", "v1"},
                {"kind", "ConfigMap"},
                {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"test", ns}}}}},
                {"data", {{"v", v}}}}
        .dump();
  };
  ASSERT_TRUE(client.Create(kube::Resource::kConfigMaps, ns, cm("a", "1")).ok());
  ASSERT_TRUE(client.Create(kube::Resource::kConfigMaps, ns, cm("b", "1")).ok());

  MapSink sink;
  InformerOptions o;
  o.resource = kube::Resource::kConfigMaps;
  o.label_selector = "test=" + ns;
  o.backoff_initial = 100ms;
  Informer informer(client, o, sink);
  std::atomic<bool> stop{false};
  std::thread t([&] { informer.Run(stop); });
  ASSERT_TRUE(Eventually([&] { return sink.state().size() == 2; }, 20s));
  stop = true;
  t.join();

  // While it is not watching: a change, a deletion and an addition...
  ASSERT_TRUE(client.Apply(kube::Resource::kConfigMaps, ns, "a", cm("a", "2"), {}).ok());
  ASSERT_TRUE(client.Delete(kube::Resource::kConfigMaps, ns, "b", {}).ok());
  ASSERT_TRUE(client.Create(kube::Resource::kConfigMaps, ns, cm("c", "1")).ok());
  // ...then the history that held them is compacted away, and a restarted
  // apiserver has no cache of it either.
  std::string cmdline = Sh(std::string("tr '\\0' ' ' < ") + dir + "/run/kube-apiserver.cmdline");
  size_t at = cmdline.find("--etcd-servers=");
  ASSERT_NE(at, std::string::npos);
  size_t end = cmdline.find(' ', at);
  std::string etcd = cmdline.substr(at + 15, end == std::string::npos ? end : end - at - 15);
  json range = json::parse(Sh("curl -sf -X POST " + etcd + "/v3/kv/range -d '{\"key\":\"AA==\"}'"));
  std::string revision = range["header"]["revision"].get<std::string>();
  Sh("curl -sf -X POST " + etcd + "/v3/kv/compaction -d '{\"revision\":\"" + revision +
     "\",\"physical\":true}'");
  ASSERT_EQ(std::system((std::string(dir) + "/restart-apiserver >/dev/null 2>&1").c_str()), 0);

  stop = false;
  std::thread t2([&] { informer.Run(stop); });
  bool converged = Eventually(
      [&] {
        return sink.state() == std::map<std::string, std::string>{{"a", "2"}, {"c", "1"}};
      },
      30s);
  stop = true;
  t2.join();
  EXPECT_TRUE(converged) << ::testing::PrintToString(sink.state());
  EXPECT_EQ(sink.deletes(), 1);
  EXPECT_EQ(informer.Stats().relists_expired, 1u) << "the resumed watch should have met a 410";
  (void)client.Delete(kube::Resource::kNamespaces, "", ns, {});
}

}  // namespace
}  // namespace npc::informer
