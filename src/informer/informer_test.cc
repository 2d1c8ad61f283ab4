// The informer against a scripted client: what the sink ends up with across
// listings that restart, fail half-way or follow a 410, with deletions judged
// only against complete listings.
#include "informer/informer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

namespace npc::informer {
namespace {

using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace)

std::string CmIn(const std::string& ns, const std::string& name, const std::string& v) {
  return R"({"metadata":{"name":")" + name + R"(","namespace":")" + ns +
         R"(","resourceVersion":"1"},"data":{"v":")" + v + R"("}})";
}
std::string Cm(const std::string& name, const std::string& v) { return CmIn("ns", name, v); }
std::string Namespace(const std::string& name) {
  return R"({"metadata":{"name":")" + name + R"(","resourceVersion":"1"}})";
}

// One scripted listing: items, "|" for a restart, then how it ends.
struct Listing {
  std::vector<std::string> steps;  // item JSON, or "|"
  std::string resource_version;
  std::optional<kube::KubeError> error;
  // Like a client retrying against a server that is gone: it ends only when
  // ListOptions::stop is set (or after 3 s).
  bool hangs = false;
};

class FakeClient final : public kube::Client {
 public:
  std::mutex mu;
  std::deque<Listing> listings;
  // Listings split by namespace (InformerOptions::list_streams): of the
  // namespaces, and of each namespace's objects by its name.
  std::deque<Listing> namespace_listings;
  std::map<std::string, std::deque<Listing>> by_namespace;
  std::vector<std::string> watched_from;  // each watch's resourceVersion
  std::deque<kube::KubeError> watch_ends;  // then: watch until stopped
  // Delivered (type, object JSON) by the next watch, before it ends.
  std::deque<std::pair<kube::EventType, std::string>> watch_events;
  int lists = 0;

  const std::string& default_namespace() const override { return ns_; }
  kube::KubeResult<kube::Object> Get(kube::Resource, std::string_view, std::string_view,
                                     const kube::RequestOptions&) override {
    return Unused();
  }
  kube::KubeResult<kube::ObjectList> List(kube::Resource, std::string_view,
                                          const kube::ListOptions&) override {
    return Unused();
  }
  kube::KubeResult<kube::ListEnd> ListEach(kube::Resource r, std::string_view ns,
                                           const kube::ListOptions& o,
                                           const kube::ListHandler& h) override {
    Listing l;
    {
      std::lock_guard<std::mutex> lock(mu);
      ++lists;
      std::deque<Listing>& from = r == kube::Resource::kNamespaces ? namespace_listings
                                  : ns.empty() ? listings
                                               : by_namespace[std::string(ns)];
      if (from.empty()) return kube::LocalError(kube::Reason::kTransport, "no more listings");
      l = from.front();
      from.pop_front();
    }
    if (l.hangs) {
      auto until = std::chrono::steady_clock::now() + 3s;
      while (std::chrono::steady_clock::now() < until && (o.stop == nullptr || !o.stop->load())) {
        std::this_thread::sleep_for(5ms);
      }
      return kube::LocalError(kube::Reason::kCancelled, "stopped");
    }
    kube::ListEnd end{l.resource_version, 0};
    for (const std::string& step : l.steps) {
      if (step == "|") {
        h.on_restart();
        end.items = 0;
        continue;
      }
      const std::string padded = step + std::string(kube::kJsonPadding, ' ');
      if (Status s = h.on_item(std::string_view(padded.data(), step.size())); !s.ok()) {
        return kube::LocalError(s);
      }
      ++end.items;
    }
    if (l.error) return *l.error;
    return end;
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
                                         const kube::WatchOptions& o,
                                         const kube::WatchHandler& handler) override {
    {
      std::lock_guard<std::mutex> lock(mu);
      watched_from.push_back(o.resource_version);
    }
    while (!o.stop->load()) {
      std::deque<std::pair<kube::EventType, std::string>> events;
      {
        std::lock_guard<std::mutex> lock(mu);
        events.swap(watch_events);
        if (events.empty() && !watch_ends.empty()) {
          kube::KubeError e = watch_ends.front();
          watch_ends.pop_front();
          return e;
        }
      }
      for (const auto& [type, json] : events) {
        const std::string padded = json + std::string(kube::kJsonPadding, ' ');
        kube::WatchEvent e{type, std::string_view(padded.data(), json.size()), "", nullptr};
        if (Status s = handler(e); !s.ok()) return kube::LocalError(s);
      }
      if (events.empty()) std::this_thread::sleep_for(5ms);
    }
    kube::WatchEnd end;
    end.stopped = true;
    return end;
  }

 private:
  static kube::KubeError Unused() {
    return kube::LocalError(kube::Reason::kInternalError, "unused");
  }
  std::string ns_ = "default";
};

class RecordingSink : public Sink {
 public:
  void OnUpsert(decode::Object o) override {
    std::lock_guard<std::mutex> lock(mu_);
    const auto& cm = std::get<ConfigMap>(o.value);
    state_[o.meta.ns + "/" + o.meta.name] = cm.data.at("v");
    log_.push_back("+" + o.meta.name + "=" + cm.data.at("v"));
  }
  void OnDelete(const decode::Meta& m) override {
    std::lock_guard<std::mutex> lock(mu_);
    EXPECT_EQ(m.kind, "ConfigMap");
    state_.erase(m.ns + "/" + m.name);
    log_.push_back("-" + m.name);
  }
  void OnUnknown(const decode::Meta& m, const std::string& why) override {
    std::lock_guard<std::mutex> lock(mu_);
    EXPECT_EQ(m.kind, "ConfigMap");
    EXPECT_FALSE(why.empty());
    log_.push_back("?" + m.name + (m.controller ? "<" + m.controller->name : ""));
  }
  std::map<std::string, std::string> state() {
    std::lock_guard<std::mutex> lock(mu_);
    return state_;
  }
  std::vector<std::string> log() {
    std::lock_guard<std::mutex> lock(mu_);
    return log_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> state_;
  std::vector<std::string> log_;
};

bool Eventually(const std::function<bool()>& pred) {
  auto until = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return pred();
}

kube::KubeError Expired() {
  kube::KubeError e;
  e.http_code = 410;
  e.reason = kube::Reason::kExpired;
  e.message = "too old resource version";
  return e;
}

InformerOptions Options() {
  InformerOptions o;
  o.resource = kube::Resource::kConfigMaps;
  o.backoff_initial = 1ms;
  o.backoff_max = 2ms;
  return o;
}

TEST(InformerTest, ReListAfter410ReportsExactlyTheDeletionsOfTheCompleteListing) {
  FakeClient client;
  client.listings.push_back({{Cm("a", "1"), Cm("b", "1"), Cm("c", "1")}, "10", std::nullopt});
  client.watch_ends.push_back(Expired());
  // The re-list starts over once (a later page's 410): "b" was seen only by
  // the abandoned attempt, so it is gone too.
  client.listings.push_back(
      {{Cm("a", "1"), Cm("b", "1"), "|", Cm("a", "2"), Cm("d", "1")}, "20", std::nullopt});
  RecordingSink sink;
  Informer inf(client, Options(), sink);
  std::atomic<bool> stop{false};
  std::thread t([&] { inf.Run(stop); });
  ASSERT_TRUE(Eventually([&] { return inf.Stats().lists == 2; }));
  stop = true;
  t.join();
  EXPECT_EQ(sink.state(), (std::map<std::string, std::string>{{"ns/a", "2"}, {"ns/d", "1"}}));
  std::vector<std::string> log = sink.log();
  EXPECT_EQ(std::count(log.begin(), log.end(), "-b"), 1);
  EXPECT_EQ(std::count(log.begin(), log.end(), "-c"), 1);
  EXPECT_EQ(std::count(log.begin(), log.end(), "-a"), 0);
  EXPECT_EQ(std::count(log.begin(), log.end(), "-d"), 0);
  EXPECT_EQ(inf.Stats().objects, 2u);
  EXPECT_EQ(inf.Stats().relists_expired, 1u);
}

// Runs `inf` until `client` has been watched `watches` times, then stops it.
void RunUntilWatched(Informer& inf, FakeClient& client, size_t watches) {
  std::atomic<bool> stop{false};
  std::thread t([&] { inf.Run(stop); });
  EXPECT_TRUE(Eventually([&] {
    std::lock_guard<std::mutex> lock(client.mu);
    return client.watched_from.size() >= watches;
  }));
  stop = true;
  t.join();
}

// A listing split by namespace (list_streams): every namespace's objects
// reach the sink, and the watch starts from the namespaces' listing, made
// before any of them: what changed meanwhile comes again through the watch.
TEST(InformerTest, AListingSplitByNamespaceWatchesFromTheNamespacesListing) {
  FakeClient client;
  client.namespace_listings.push_back({{Namespace("a"), Namespace("b"), Namespace("c")}, "5", std::nullopt});
  client.by_namespace["a"].push_back({{CmIn("a", "x", "1"), CmIn("a", "y", "1")}, "7", std::nullopt});
  client.by_namespace["b"].push_back({{}, "8", std::nullopt});
  client.by_namespace["c"].push_back({{CmIn("c", "z", "1")}, "9", std::nullopt});
  RecordingSink sink;
  InformerOptions o = Options();
  o.list_streams = 2;
  Informer inf(client, o, sink);
  RunUntilWatched(inf, client, 1);
  EXPECT_EQ(sink.state(), (std::map<std::string, std::string>{
                              {"a/x", "1"}, {"a/y", "1"}, {"c/z", "1"}}));
  EXPECT_EQ(client.watched_from.front(), "5");
  EXPECT_EQ(inf.Stats().objects, 3u);
  EXPECT_EQ(client.lists, 4);
}

// One namespace's listing fails, then another's starts over (a later
// page's 410): neither listing is complete, so nothing is deleted until a
// complete one says what is gone.
TEST(InformerTest, ASplitListingDeletesOnlyAfterEveryNamespaceListedInFull) {
  FakeClient client;
  client.namespace_listings.push_back({{Namespace("a"), Namespace("b")}, "5", std::nullopt});
  client.by_namespace["a"].push_back({{CmIn("a", "x", "1")}, "6", std::nullopt});
  client.by_namespace["b"].push_back({{CmIn("b", "y", "1")}, "6", std::nullopt});
  client.watch_ends.push_back(Expired());
  // The re-list after the 410: "x" is gone from a; b fails.
  client.namespace_listings.push_back({{Namespace("a"), Namespace("b")}, "10", std::nullopt});
  client.by_namespace["a"].push_back({{}, "11", std::nullopt});
  client.by_namespace["b"].push_back({{}, "11", kube::LocalError(kube::Reason::kTransport, "reset")});
  // Again: b starts over, and says nothing of "y" after that.
  client.namespace_listings.push_back({{Namespace("a"), Namespace("b")}, "20", std::nullopt});
  client.by_namespace["a"].push_back({{}, "21", std::nullopt});
  client.by_namespace["b"].push_back({{CmIn("b", "y", "2"), "|"}, "21", std::nullopt});
  // Complete at last: only "x" is gone.
  client.namespace_listings.push_back({{Namespace("a"), Namespace("b")}, "30", std::nullopt});
  client.by_namespace["a"].push_back({{}, "31", std::nullopt});
  client.by_namespace["b"].push_back({{CmIn("b", "y", "3")}, "31", std::nullopt});
  RecordingSink sink;
  InformerOptions o = Options();
  o.list_streams = 2;
  Informer inf(client, o, sink);
  RunUntilWatched(inf, client, 2);
  EXPECT_EQ(inf.Stats().lists, 2u);
  EXPECT_EQ(sink.state(), (std::map<std::string, std::string>{{"b/y", "3"}}));
  std::vector<std::string> log = sink.log();
  EXPECT_EQ(std::count(log.begin(), log.end(), "-y"), 0);
  ASSERT_EQ(std::count(log.begin(), log.end(), "-x"), 1);
  // "x" went only once the last listing was complete, after b's "y=3".
  EXPECT_EQ(log.back(), "-x");
  EXPECT_EQ(client.watched_from.back(), "30");
  EXPECT_EQ(inf.Stats().relists_expired, 1u);
}

// A kind no longer served (its CRD went): everything the informer delivered
// is reported deleted, and a later Run lists afresh.
TEST(InformerTest, ForgetAllReportsEveryKnownObjectDeleted) {
  FakeClient client;
  client.listings.push_back({{Cm("a", "1"), Cm("b", "1")}, "10", std::nullopt});
  RecordingSink sink;
  Informer inf(client, Options(), sink);
  std::atomic<bool> stop{false};
  std::thread t([&] { inf.Run(stop); });
  ASSERT_TRUE(Eventually([&] { return inf.synced(); }));
  stop = true;
  t.join();
  ASSERT_EQ(sink.state().size(), 2u);
  inf.ForgetAll();
  EXPECT_TRUE(sink.state().empty());
  std::vector<std::string> log = sink.log();
  EXPECT_EQ(std::count(log.begin(), log.end(), "-a"), 1);
  EXPECT_EQ(std::count(log.begin(), log.end(), "-b"), 1);
  EXPECT_FALSE(inf.synced());
  EXPECT_EQ(inf.Stats().objects, 0u);
  // Served again: a new listing, from scratch.
  client.listings.push_back({{Cm("c", "1")}, "20", std::nullopt});
  stop = false;
  std::thread t2([&] { inf.Run(stop); });
  ASSERT_TRUE(Eventually([&] { return inf.synced(); }));
  stop = true;
  t2.join();
  EXPECT_EQ(sink.state(), (std::map<std::string, std::string>{{"ns/c", "1"}}));
}

TEST(InformerTest, AFailedListingDeletesNothing) {
  FakeClient client;
  client.listings.push_back({{Cm("a", "1"), Cm("b", "1")}, "10", std::nullopt});
  client.watch_ends.push_back(Expired());
  // Broke off half-way: "x" is real (it reaches the sink) but "b" missing from
  // an incomplete listing says nothing.
  client.listings.push_back(
      {{Cm("x", "1")}, "", kube::LocalError(kube::Reason::kTransport, "connection reset")});
  client.listings.push_back({{Cm("a", "3"), Cm("b", "3")}, "30", std::nullopt});
  RecordingSink sink;
  Informer inf(client, Options(), sink);
  std::atomic<bool> stop{false};
  std::thread t([&] { inf.Run(stop); });
  ASSERT_TRUE(Eventually([&] { return inf.Stats().lists == 2; }));
  stop = true;
  t.join();
  std::vector<std::string> log = sink.log();
  EXPECT_EQ(log, (std::vector<std::string>{"+a=1", "+b=1", "+x=1", "+a=3", "+b=3", "-x"}));
  EXPECT_EQ(sink.state(), (std::map<std::string, std::string>{{"ns/a", "3"}, {"ns/b", "3"}}));
}

TEST(InformerTest, NotSyncedUntilAListingCompletes) {
  FakeClient client;
  client.listings.push_back(
      {{Cm("x", "1")}, "", kube::LocalError(kube::Reason::kTransport, "connection reset")});
  RecordingSink sink;
  InformerOptions o = Options();
  o.backoff_initial = 50ms;
  o.backoff_max = 50ms;
  Informer inf(client, o, sink);
  std::atomic<bool> stop{false};
  std::thread t([&] { inf.Run(stop); });
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard<std::mutex> lock(client.mu);
    return client.lists >= 2;
  }));
  EXPECT_FALSE(inf.synced());
  {
    std::lock_guard<std::mutex> lock(client.mu);
    client.listings.push_back({{}, "5", std::nullopt});
  }
  ASSERT_TRUE(Eventually([&] { return inf.synced(); }));
  stop = true;
  t.join();
  EXPECT_TRUE(sink.state().empty());  // "x" was deleted by the complete, empty listing
}

// The leader-election e2e test caught it: an informer listing while the API
// server went away kept the process alive for the client's retries (~15 s)
// after it had lost its lease. Stop reaches the listing.
TEST(InformerTest, StopEndsAListingThatIsStillRetrying) {
  FakeClient client;
  Listing hanging;
  hanging.hangs = true;
  client.listings.push_back(hanging);
  RecordingSink sink;
  Informer inf(client, Options(), sink);
  std::atomic<bool> stop{false};
  std::thread t([&] { inf.Run(stop); });
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard<std::mutex> lock(client.mu);
    return client.lists >= 1;
  }));
  const auto stopped_at = std::chrono::steady_clock::now();
  stop = true;
  t.join();
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, 1s);
  std::lock_guard<std::mutex> lock(client.mu);
  EXPECT_EQ(client.lists, 1);  // and no second attempt
}

// A ConfigMap whose data is not a map: the API server would never send one,
// but a field of a newer API or a decoder bug looks the same to us.
std::string BadCm(const std::string& name) {
  return R"({"metadata":{"name":")" + name + R"(","namespace":"ns","uid":"u-)" + name +
         R"(","ownerReferences":[{"kind":"Owner","name":"o","uid":"u-o","controller":true}]},)"
         R"("data":7})";
}

// Issue 13, item 2: an object that fails to decode is reported as existing
// with unknown content, on the first listing and after, never as deleted;
// its deletion still goes through.
TEST(InformerTest, AnObjectThatFailsToDecodeIsUnknownNeverDeleted) {
  FakeClient client;
  client.listings.push_back({{Cm("a", "1"), BadCm("b")}, "10", std::nullopt});
  client.watch_ends.push_back(Expired());
  client.listings.push_back({{Cm("a", "1"), BadCm("b")}, "20", std::nullopt});
  RecordingSink sink;
  std::atomic<int> decode_errors{0};
  InformerOptions o = Options();
  o.on_decode_error = [&](const std::string&) { decode_errors++; };
  Informer inf(client, o, sink);
  std::atomic<bool> stop{false};
  std::thread t([&] { inf.Run(stop); });
  ASSERT_TRUE(Eventually([&] { return inf.Stats().lists == 2; }));
  {
    std::lock_guard<std::mutex> lock(client.mu);
    client.watch_events.push_back({kube::EventType::kModified, BadCm("b")});
    client.watch_events.push_back({kube::EventType::kDeleted, BadCm("b")});
    client.watch_ends.push_back(Expired());
    client.listings.push_back({{Cm("a", "1")}, "30", std::nullopt});
  }
  ASSERT_TRUE(Eventually([&] { return inf.Stats().lists == 3; }));
  stop = true;
  t.join();
  EXPECT_EQ(sink.log(),
            (std::vector<std::string>{"+a=1", "?b<o", "+a=1", "?b<o", "?b<o", "-b", "+a=1"}));
  EXPECT_EQ(inf.Stats().decode_errors, 4u);
  EXPECT_EQ(decode_errors.load(), 4);
  EXPECT_EQ(inf.Stats().objects, 1u);
}

// Two informers over one resource (the managed NetworkPolicies and the
// metadata of every NetworkPolicy) must be told apart in metrics and logs:
// a name given in the options is the one the hooks hear.
TEST(InformerTest, HooksHearTheNameGivenInTheOptionsElseTheGroupResource) {
  RecordingSink sink;
  FakeClient unnamed_client;
  Informer unnamed(unnamed_client, Options(), sink);
  EXPECT_EQ(unnamed.name(), "configmaps");

  FakeClient client;
  client.listings.push_back({{BadCm("b")}, "10", std::nullopt});
  client.watch_ends.push_back(Expired());
  client.listings.push_back({{}, "20", std::nullopt});
  std::mutex mu;
  std::vector<std::string> heard;
  InformerOptions o = Options();
  o.name = "configmaps/metadata";
  auto hear = [&](const std::string& what) {
    return [&heard, &mu, what](const std::string& name) {
      std::lock_guard<std::mutex> lock(mu);
      heard.push_back(what + " " + name);
    };
  };
  o.on_decode_error = hear("decode_error");
  o.on_relist = hear("relist");
  Informer inf(client, o, sink);
  EXPECT_EQ(inf.name(), "configmaps/metadata");
  std::atomic<bool> stop{false};
  std::thread t([&] { inf.Run(stop); });
  ASSERT_TRUE(Eventually([&] { return inf.Stats().lists == 2; }));
  stop = true;
  t.join();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(heard, (std::vector<std::string>{"decode_error configmaps/metadata",
                                             "relist configmaps/metadata"}));
}

}  // namespace
}  // namespace npc::informer
