// BarePodReader with a scripted GET: what the next sink hears when reads of
// bare pods fail, succeed, or say 404.
#include "informer/bare_pods.h"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <mutex>

namespace npc::informer {
namespace {

std::string PodJson(const std::string& name, const std::string& label) {
  return R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name +
         R"(","namespace":"ns","uid":"u-)" + name + R"(","labels":{"app":")" + label +
         R"("}},"spec":{"containers":[{"name":"c","image":"i"}]}})";
}

// Answers GET pods/<name> from a script per name; the rest is unused.
class GetOnlyClient final : public kube::Client {
 public:
  std::mutex mu;
  std::map<std::string, std::deque<kube::KubeResult<kube::Object>>> script;
  int gets = 0;

  const std::string& default_namespace() const override { return ns_; }
  kube::KubeResult<kube::Object> Get(kube::Resource, std::string_view, std::string_view name,
                                     const kube::RequestOptions&) override {
    std::lock_guard<std::mutex> lock(mu);
    ++gets;
    auto& q = script[std::string(name)];
    if (q.empty()) return kube::LocalError(kube::Reason::kTransport, "no answer scripted");
    auto r = q.front();
    q.pop_front();
    return r;
  }
  kube::KubeResult<kube::ObjectList> List(kube::Resource, std::string_view,
                                          const kube::ListOptions&) override {
    return Unused();
  }
  kube::KubeResult<kube::Object> Create(kube::Resource, std::string_view, std::string_view,
                                        const kube::RequestOptions&) override {
    return Unused();
  }
  kube::KubeResult<kube::Object> Update(kube::Resource, std::string_view, std::string_view,
                                        std::string_view, const kube::RequestOptions&) override {
    return Unused();
  }
  kube::KubeResult<kube::Object> Apply(kube::Resource, std::string_view, std::string_view,
                                       std::string_view, const kube::ApplyOptions&) override {
    return Unused();
  }
  kube::KubeResult<kube::Object> MergePatch(kube::Resource, std::string_view, std::string_view,
                                            std::string_view,
                                            const kube::RequestOptions&) override {
    return Unused();
  }
  kube::KubeResult<std::string> Delete(kube::Resource, std::string_view, std::string_view,
                                       const kube::DeleteOptions&) override {
    return kube::LocalError(kube::Reason::kInternalError, "unused");
  }
  kube::KubeResult<kube::WatchEnd> Watch(kube::Resource, std::string_view,
                                         const kube::WatchOptions&,
                                         const kube::WatchHandler&) override {
    return kube::LocalError(kube::Reason::kInternalError, "unused");
  }

 private:
  static kube::KubeError Unused() {
    return kube::LocalError(kube::Reason::kInternalError, "unused");
  }
  std::string ns_ = "default";
};

kube::KubeResult<kube::Object> Answer(const std::string& json) {
  kube::Object o;
  o.json = json;
  return o;
}

kube::KubeError HttpError(int code, kube::Reason reason) {
  kube::KubeError e;
  e.http_code = code;
  e.reason = reason;
  e.message = "scripted " + std::to_string(code);
  return e;
}

class LogSink : public Sink {
 public:
  void OnUpsert(decode::Object o) override {
    const auto& w = std::get<Workload>(o.value);
    log.push_back("+" + o.meta.name + " app=" + w.labels.at("app"));
  }
  void OnDelete(const decode::Meta& m) override { log.push_back("-" + m.name); }
  void OnUnknown(const decode::Meta& m, const std::string&) override {
    log.push_back("?" + m.name);
  }
  std::vector<std::string> log;
};

decode::Object MetaPod(const std::string& name, bool owned = false) {
  decode::Object o;
  o.meta.kind = "Pod";
  o.meta.ns = "ns";
  o.meta.name = name;
  o.meta.uid = "u-" + name;
  if (owned) o.meta.controller = OwnerReference{"apps/v1", "ReplicaSet", "rs", "u-rs"};
  o.value = decode::PodMeta{};
  return o;
}

class BarePodReaderTest : public ::testing::Test {
 protected:
  BarePodReaderTest() : reader(client, sink, {}, clock) {}
  FakeClock clock;
  GetOnlyClient client;
  LogSink sink;
  BarePodReader reader;
};

TEST_F(BarePodReaderTest, UnknownUntilReadThenUpserted) {
  client.script["p"].push_back(Answer(PodJson("p", "v1")));
  reader.OnUpsert(MetaPod("p"));
  EXPECT_FALSE(reader.FirstReadsDone());
  ASSERT_TRUE(reader.ReadOneForTest());
  EXPECT_TRUE(reader.FirstReadsDone());
  EXPECT_EQ(sink.log, (std::vector<std::string>{"?p", "+p app=v1"}));
  // A later change is read again, with no unknown window: what was read stays.
  client.script["p"].push_back(Answer(PodJson("p", "v2")));
  reader.OnUpsert(MetaPod("p"));
  ASSERT_TRUE(reader.ReadOneForTest());
  EXPECT_EQ(sink.log, (std::vector<std::string>{"?p", "+p app=v1", "+p app=v2"}));
}

TEST_F(BarePodReaderTest, AFailedReadIsRetriedWithBackoffAndNeverADeletion) {
  client.script["p"].push_back(HttpError(403, kube::Reason::kForbidden));
  client.script["p"].push_back(HttpError(503, kube::Reason::kServiceUnavailable));
  client.script["p"].push_back(Answer(R"({"kind":"Pod","metadata":{"name":"p"},"spec":7})"));
  client.script["p"].push_back(Answer(PodJson("p", "v1")));
  reader.OnUpsert(MetaPod("p"));
  ASSERT_TRUE(reader.ReadOneForTest());
  EXPECT_TRUE(reader.FirstReadsDone());   // tried once: the cache may sync
  EXPECT_FALSE(reader.ReadOneForTest());  // backing off: 1 s
  clock.Advance(std::chrono::seconds(1));
  ASSERT_TRUE(reader.ReadOneForTest());  // 503
  clock.Advance(std::chrono::seconds(2));
  ASSERT_TRUE(reader.ReadOneForTest());  // does not decode: also retried
  EXPECT_FALSE(reader.ReadOneForTest());
  clock.Advance(std::chrono::seconds(4));
  ASSERT_TRUE(reader.ReadOneForTest());
  EXPECT_EQ(sink.log, (std::vector<std::string>{"?p", "?p", "?p", "?p", "+p app=v1"}));
  EXPECT_EQ(reader.Stats().failures, 3u);
  EXPECT_EQ(reader.Stats().unread, 0u);
}

TEST_F(BarePodReaderTest, A404IsGoneAndAnOwnedPodIsForgotten) {
  client.script["gone"].push_back(HttpError(404, kube::Reason::kNotFound));
  reader.OnUpsert(MetaPod("gone"));
  ASSERT_TRUE(reader.ReadOneForTest());
  reader.OnUpsert(MetaPod("owned", /*owned=*/true));
  EXPECT_FALSE(reader.ReadOneForTest());  // owned pods are never read
  EXPECT_EQ(sink.log, (std::vector<std::string>{"?gone", "-gone", "-owned"}));
  EXPECT_EQ(client.gets, 1);
}

TEST_F(BarePodReaderTest, APodDeletedBeforeItsReadIsNotRead) {
  reader.OnUpsert(MetaPod("p"));
  decode::Meta m = MetaPod("p").meta;
  reader.OnDelete(m);
  ASSERT_TRUE(reader.ReadOneForTest());
  EXPECT_EQ(client.gets, 0);
  EXPECT_EQ(sink.log, (std::vector<std::string>{"?p", "-p"}));
  EXPECT_TRUE(reader.FirstReadsDone());
}

}  // namespace
}  // namespace npc::informer
