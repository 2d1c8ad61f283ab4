// The client against a scripted transport: retries, re-authentication, paging,
// list restarts and watch decoding, with fake time (no sleeps).
#include "kube/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <functional>

namespace npc::kube {
namespace {

using ::testing::HasSubstr;

struct Scripted {
  Scripted(int s, std::string b, std::optional<int> ra = std::nullopt,
           std::vector<std::string> c = {})
      : status(s), body(std::move(b)), retry_after(ra), chunks(std::move(c)) {}

  int status;
  std::string body;
  std::optional<int> retry_after;
  std::vector<std::string> chunks;  // streamed bodies
  std::optional<KubeError> failure;
};

class FakeTransport final : public HttpTransport {
 public:
  std::deque<Scripted> script;
  std::vector<HttpRequest> seen;
  std::function<void()> on_do;  // called as each request is sent

  KubeResult<HttpResponse> Do(const HttpRequest& req) override {
    if (on_do) on_do();
    seen.push_back(req);
    seen.back().on_body = nullptr;
    if (script.empty()) return LocalError(Reason::kTransport, "script exhausted");
    Scripted s = std::move(script.front());
    script.pop_front();
    if (s.failure.has_value() && s.chunks.empty()) return *s.failure;
    HttpResponse r;
    r.status = s.status;
    r.retry_after_seconds = s.retry_after;
    if (req.on_body && s.status < 300) {
      // A body given whole is streamed in small pieces, as a network would.
      std::vector<std::string> chunks = s.chunks;
      if (chunks.empty()) {
        for (size_t i = 0; i < s.body.size(); i += 5) chunks.push_back(s.body.substr(i, 5));
      }
      for (const std::string& c : chunks) {
        if (!req.on_body(c)) return LocalError(Reason::kCancelled, "stopped");
      }
      if (s.failure.has_value()) return *s.failure;  // broke off after the chunks
    } else {
      r.body = s.body;
    }
    return r;
  }
};

class CountingCredentials final : public CredentialProvider {
 public:
  int refreshed = 0;
  StatusOr<Credentials> Get() override {
    return Credentials{"t" + std::to_string(refreshed), {}, {}};
  }
  void OnUnauthorized(const Credentials&) override { ++refreshed; }
};

class ClientTest : public ::testing::Test {
 protected:
  ClientTest() {
    auto t = std::make_unique<FakeTransport>();
    transport_ = t.get();
    auto c = std::make_unique<CountingCredentials>();
    creds_ = c.get();
    ClientOptions o;
    o.rate_limit.qps = 0;
    client_ = MakeClient("https://api:6443", "default", std::move(t), std::move(c), o, time_);
  }

  // `n` answers of `status` (with Retry-After `retry_after`), and `stop_`
  // set while the first attempt runs: what a stopped request must not retry.
  void FailingThenStopped(int n, int status, const std::string& reason, int retry_after) {
    for (int i = 0; i < n; ++i) {
      transport_->script.push_back({status,
                                    R"({"kind":"Status","reason":")" + reason +
                                        R"(","code":)" + std::to_string(status) + "}",
                                    retry_after});
    }
    transport_->on_do = [this] { stop_ = true; };
  }

  FakeTimeSource time_;
  FakeTransport* transport_;
  CountingCredentials* creds_;
  std::unique_ptr<Client> client_;
  std::atomic<bool> stop_{false};
};

const char* kNp =
    R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"web","namespace":"shop","uid":"u-1","resourceVersion":"42","generation":3},"spec":{}})";

TEST_F(ClientTest, GetParsesMetadataAndBuildsThePath) {
  transport_->script.push_back({200, kNp});
  auto o = client_->Get(Resource::kNetworkPolicies, "shop", "web");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->meta.name, "web");
  EXPECT_EQ(o->meta.namespace_name, "shop");
  EXPECT_EQ(o->meta.uid, "u-1");
  EXPECT_EQ(o->meta.resource_version, "42");
  EXPECT_EQ(o->meta.generation, 3);
  EXPECT_EQ(o->json, kNp);
  ASSERT_EQ(transport_->seen.size(), 1u);
  EXPECT_EQ(transport_->seen[0].url,
            "https://api:6443/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies/web");
  EXPECT_THAT(transport_->seen[0].headers, ::testing::Contains("Authorization: Bearer t0"));
}

// The controlling ownerReference is what tells an object that cannot be
// decoded apart from a workload of its own (informer tombstones).
TEST(ParseObjectMetaTest, FindsTheControllingOwnerReference) {
  auto m = ParseObjectMeta(
      R"({"metadata":{"name":"web-1","namespace":"shop","uid":"u-2","ownerReferences":[)"
      R"({"apiVersion":"v1","kind":"Other","name":"x","uid":"u-x"},)"
      R"({"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web","uid":"u-rs","controller":true,)"
      R"("blockOwnerDeletion":true}]},"spec":{"containers":7}})");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->name, "web-1");
  ASSERT_TRUE(m->controller.has_value());
  EXPECT_EQ(m->controller->kind, "ReplicaSet");
  EXPECT_EQ(m->controller->name, "web");
  EXPECT_EQ(m->controller->uid, "u-rs");
  EXPECT_EQ(m->controller->api_version, "apps/v1");

  auto bare = ParseObjectMeta(
      R"({"metadata":{"name":"p","ownerReferences":[{"kind":"Node","name":"n","uid":"u"}]}})");
  ASSERT_TRUE(bare.ok());
  EXPECT_FALSE(bare->controller.has_value());
}

TEST_F(ClientTest, AcceptHeaderIsSettable) {
  transport_->script.push_back(
      {200, R"({"kind":"PartialObjectMetadata","metadata":{"name":"p"}})"});
  RequestOptions o;
  o.accept = std::string(kAcceptPartialObjectMetadata);
  ASSERT_TRUE(client_->Get(Resource::kPods, "ns", "p", o).ok());
  EXPECT_THAT(
      transport_->seen[0].headers,
      ::testing::Contains("Accept: application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"));
}

TEST_F(ClientTest, RetriesTooManyRequestsWithServerDelay) {
  transport_->script.push_back(
      {429, R"({"kind":"Status","reason":"TooManyRequests","code":429})", 2});
  transport_->script.push_back(
      {429, R"({"kind":"Status","reason":"TooManyRequests","code":429})", 5});
  transport_->script.push_back({201, kNp});
  auto o = client_->Create(Resource::kNetworkPolicies, "shop", kNp);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(transport_->seen.size(), 3u);
  EXPECT_EQ(time_.sleeps(),
            (std::vector<TimeSource::Duration>{std::chrono::seconds(2), std::chrono::seconds(5)}));
}

TEST_F(ClientTest, RetriesAreBounded) {
  for (int i = 0; i < 20; ++i) {
    transport_->script.push_back(
        {503, R"({"kind":"Status","reason":"ServiceUnavailable","code":503})", 1});
  }
  auto o = client_->Get(Resource::kPods, "ns", "p");
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error().reason, Reason::kServiceUnavailable);
  EXPECT_EQ(transport_->seen.size(), 6u);  // 1 + RetryPolicy::max_retries
}

// A server that cannot be reached makes a safe request retry for ~15 s;
// a stopping informer must not wait for that (its shutdown would hang).
TEST_F(ClientTest, AStoppedListEndsWithoutWaitingForItsRetries) {
  for (int i = 0; i < 20; ++i) {
    Scripted refused{0, ""};
    refused.failure = LocalError(Reason::kTransport, "refused");
    transport_->script.push_back(refused);
  }
  std::atomic<bool> stop{false};
  transport_->on_do = [&] { stop = true; };  // stopped while the first attempt runs
  ListOptions lo;
  lo.stop = &stop;
  ListHandler h;
  h.on_item = [](std::string_view) { return Status::Ok(); };
  auto end = client_->ListEach(Resource::kPods, "", lo, h);
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(end.error().reason, Reason::kCancelled) << end.error().message;
  EXPECT_EQ(transport_->seen.size(), 1u);
  EXPECT_TRUE(time_.sleeps().empty());
  ASSERT_EQ(transport_->seen.size(), 1u);
  EXPECT_EQ(transport_->seen[0].cancel, &stop);  // and the transfer itself stops too
}

TEST_F(ClientTest, AStoppedWatchEndsWithoutWaitingForItsRetries) {
  FailingThenStopped(20, 429, "TooManyRequests", 30);
  WatchOptions wo;
  wo.stop = &stop_;
  auto end = client_->Watch(Resource::kPods, "", wo, [](const WatchEvent&) { return Status::Ok(); });
  ASSERT_TRUE(end.ok()) << end.error().message;
  EXPECT_TRUE(end->stopped);
  EXPECT_LE(transport_->seen.size(), 1u);
  EXPECT_TRUE(time_.sleeps().empty());
}

// A write whose stop flag is set while it runs (the leader lost its lease)
// is not retried: another replica may be the leader by then.
TEST_F(ClientTest, AStoppedWriteIsNotRetried) {
  FailingThenStopped(20, 503, "ServiceUnavailable", 1);
  ApplyOptions ao;
  ao.stop = &stop_;
  auto o = client_->Apply(Resource::kNetworkPolicies, "ns", "p", "{}", ao);
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error().reason, Reason::kCancelled) << o.error().message;
  ASSERT_EQ(transport_->seen.size(), 1u);
  EXPECT_EQ(transport_->seen[0].cancel, &stop_);  // and the transfer itself stops too
  EXPECT_TRUE(time_.sleeps().empty());
}

// Once stopped, no request leaves at all.
TEST_F(ClientTest, AWriteStoppedBeforeItStartsIsNeverSent) {
  std::atomic<bool> stop{true};
  DeleteOptions d;
  d.stop = &stop;
  auto del = client_->Delete(Resource::kNetworkPolicies, "ns", "p", d);
  ASSERT_FALSE(del.ok());
  EXPECT_EQ(del.error().reason, Reason::kCancelled) << del.error().message;
  RequestOptions r;
  r.stop = &stop;
  EXPECT_FALSE(client_->MergePatch(Resource::kPods, "ns", "p", "{}", r).ok());
  EXPECT_FALSE(client_->Create(Resource::kConfigMaps, "ns", "{}", r).ok());
  EXPECT_TRUE(transport_->seen.empty());
}

TEST_F(ClientTest, UnsafeRequestsAreNotRetriedOn5xx) {
  transport_->script.push_back(
      {503, R"({"kind":"Status","reason":"ServiceUnavailable","code":503})", 1});
  auto o = client_->Create(Resource::kConfigMaps, "ns", "{}");
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(transport_->seen.size(), 1u);
}

TEST_F(ClientTest, UnauthorizedRefreshesCredentialsOnce) {
  transport_->script.push_back(
      {401, R"({"kind":"Status","reason":"Unauthorized","code":401,"message":"Unauthorized"})"});
  transport_->script.push_back({200, kNp});
  ASSERT_TRUE(client_->Get(Resource::kNetworkPolicies, "shop", "web").ok());
  EXPECT_EQ(creds_->refreshed, 1);
  EXPECT_THAT(transport_->seen[1].headers, ::testing::Contains("Authorization: Bearer t1"));

  transport_->script.push_back(
      {401, R"({"kind":"Status","reason":"Unauthorized","code":401,"message":"Unauthorized"})"});
  transport_->script.push_back(
      {401, R"({"kind":"Status","reason":"Unauthorized","code":401,"message":"Unauthorized"})"});
  auto o = client_->Get(Resource::kNetworkPolicies, "shop", "web");
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(o.status().message(), HasSubstr("rejected the bearer token"));
}

std::string Page(const std::string& cont, const std::string& rv, std::vector<std::string> names) {
  std::string items;
  for (const std::string& n : names) {
    if (!items.empty()) items += ',';
    items += R"({"metadata":{"name":")" + n + R"(","resourceVersion":"1"}})";
  }
  return R"({"kind":"ConfigMapList","metadata":{"resourceVersion":")" + rv + R"(","continue":")" +
         cont + R"("},"items":[)" + items + "]}";
}

TEST_F(ClientTest, ListFollowsContinue) {
  transport_->script.push_back({200, Page("c1", "10", {"a", "b"})});
  transport_->script.push_back({200, Page("", "10", {"c"})});
  ListOptions o;
  o.limit = 2;
  o.label_selector = "app in (a,b)";
  auto l = client_->List(Resource::kConfigMaps, "ns", o);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  ASSERT_EQ(l->items.size(), 3u);
  EXPECT_EQ(l->items[2].meta.name, "c");
  EXPECT_EQ(l->resource_version, "10");
  EXPECT_EQ(transport_->seen[0].url,
            "https://api:6443/api/v1/namespaces/ns/configmaps?labelSelector=app%20in%20%28a%2Cb%29"
            "&limit=2");
  EXPECT_THAT(transport_->seen[1].url, HasSubstr("&continue=c1"));
}

TEST_F(ClientTest, ListRestartsWhenAContinueTokenExpires) {
  transport_->script.push_back({200, Page("c1", "10", {"a"})});
  transport_->script.push_back({410, R"({"kind":"Status","reason":"Expired","code":410})"});
  transport_->script.push_back({200, Page("", "20", {"a", "b"})});
  auto l = client_->List(Resource::kConfigMaps, "ns");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->items.size(), 2u);  // only the complete second listing
  EXPECT_EQ(l->resource_version, "20");
  EXPECT_THAT(transport_->seen[2].url, ::testing::Not(HasSubstr("continue")));
}

TEST_F(ClientTest, ListFirstPageExpiredIsReturned) {
  transport_->script.push_back({410, R"({"kind":"Status","reason":"Expired","code":410})"});
  ListOptions o;
  o.resource_version = "5";
  auto l = client_->List(Resource::kConfigMaps, "ns", o);
  ASSERT_FALSE(l.ok());
  EXPECT_TRUE(l.error().IsExpired());
}

// ListEach: what a handler sees, with restarts marked as "|".
struct Streamed {
  std::vector<std::string> seen;
  ListHandler Handler() {
    ListHandler h;
    h.on_item = [this](std::string_view json) -> Status {
      auto m = ParseObjectMeta(json);
      if (!m.ok()) return m.status();
      seen.push_back(m->name);
      return Status::Ok();
    };
    h.on_restart = [this] { seen.push_back("|"); };
    return h;
  }
};

TEST_F(ClientTest, ListEachHandsOutItemsPageByPage) {
  transport_->script.push_back({200, Page("c1", "10", {"a", "b"})});
  transport_->script.push_back({200, Page("", "10", {"c"})});
  Streamed st;
  ListOptions o;
  o.limit = 2;
  auto end = client_->ListEach(Resource::kConfigMaps, "", o, st.Handler());
  ASSERT_TRUE(end.ok()) << end.status().ToString();
  EXPECT_EQ(st.seen, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(end->resource_version, "10");
  EXPECT_EQ(end->items, 3u);
  EXPECT_THAT(transport_->seen[1].url, HasSubstr("limit=2&continue=c1"));
}

TEST_F(ClientTest, ListEachRestartsFromTheFirstPageOn410) {
  transport_->script.push_back({200, Page("c1", "10", {"a", "b"})});
  transport_->script.push_back({410, R"({"kind":"Status","reason":"Expired","code":410})"});
  transport_->script.push_back({200, Page("c2", "20", {"a"})});
  transport_->script.push_back({200, Page("", "20", {"c"})});
  Streamed st;
  ListOptions o;
  o.resource_version = "7";  // only the first page of each listing carries it
  auto end = client_->ListEach(Resource::kConfigMaps, "ns", o, st.Handler());
  ASSERT_TRUE(end.ok()) << end.status().ToString();
  EXPECT_EQ(st.seen, (std::vector<std::string>{"a", "b", "|", "a", "c"}));
  EXPECT_EQ(end->resource_version, "20");
  EXPECT_EQ(end->items, 2u);  // the complete listing only
  ASSERT_EQ(transport_->seen.size(), 4u);
  EXPECT_THAT(transport_->seen[1].url, HasSubstr("continue=c1"));
  EXPECT_THAT(transport_->seen[1].url, ::testing::Not(HasSubstr("resourceVersion=7")));
  EXPECT_THAT(transport_->seen[2].url, ::testing::Not(HasSubstr("continue")));
  EXPECT_THAT(transport_->seen[2].url, HasSubstr("resourceVersion=7"));
  EXPECT_THAT(transport_->seen[3].url, HasSubstr("continue=c2"));
}

TEST_F(ClientTest, ListEachGivesUpAfterRepeated410) {
  for (int i = 0; i < 4; ++i) {
    transport_->script.push_back({200, Page("c1", "10", {"a"})});
    transport_->script.push_back({410, R"({"kind":"Status","reason":"Expired","code":410})"});
  }
  Streamed st;
  auto end = client_->ListEach(Resource::kConfigMaps, "ns", {}, st.Handler());
  ASSERT_FALSE(end.ok());
  EXPECT_TRUE(end.error().IsExpired());
  EXPECT_EQ(transport_->seen.size(), 8u);
  EXPECT_EQ(st.seen, (std::vector<std::string>{"a", "|", "a", "|", "a", "|", "a"}));
}

TEST_F(ClientTest, ListEachStartsOverWhenAnAnswerBreaksOff) {
  const std::string page = Page("", "10", {"a", "b"});
  Scripted cut(200, "", std::nullopt, {page.substr(0, page.find("\"b\""))});
  cut.failure = LocalError(Reason::kTransport, "connection reset");
  transport_->script.push_back(cut);
  transport_->script.push_back({200, page});
  Streamed st;
  auto end = client_->ListEach(Resource::kConfigMaps, "ns", {}, st.Handler());
  ASSERT_TRUE(end.ok()) << end.status().ToString();
  // Not repeated inside Send (the item "a" was handed out): the listing starts over.
  EXPECT_EQ(st.seen, (std::vector<std::string>{"a", "|", "a", "b"}));
  EXPECT_EQ(transport_->seen.size(), 2u);
  EXPECT_EQ(time_.sleeps().size(), 1u);  // after the retry policy's delay
}

TEST_F(ClientTest, ListEachHandlerErrorEndsTheListing) {
  transport_->script.push_back({200, Page("c1", "10", {"a", "b"})});
  ListHandler h;
  int n = 0;
  h.on_item = [&](std::string_view) {
    ++n;
    return Status(StatusCode::kInternal, "handler failed");
  };
  auto end = client_->ListEach(Resource::kConfigMaps, "ns", {}, h);
  ASSERT_FALSE(end.ok());
  EXPECT_THAT(end.status().message(), HasSubstr("handler failed"));
  EXPECT_EQ(n, 1);
  EXPECT_EQ(transport_->seen.size(), 1u);
}

TEST_F(ClientTest, ListEachRejectsACutAnswer) {
  transport_->script.push_back({200, R"({"metadata":{"resourceVersion":"1"},"items":[{})"});
  Streamed st;
  auto end = client_->ListEach(Resource::kConfigMaps, "ns", {}, st.Handler());
  ASSERT_FALSE(end.ok());
  EXPECT_THAT(end.status().message(), HasSubstr("ended in the middle"));
}

TEST_F(ClientTest, WatchDeliversEventsAndReturnsTheLastVersion) {
  std::string s = R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"11"}}})"
                  "\n"
                  R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"15"}}})"
                  "\n";
  transport_->script.push_back({200, "", std::nullopt, {s.substr(0, 17), s.substr(17)}});
  std::vector<std::string> got;
  WatchOptions o;
  o.resource_version = "10";
  auto end = client_->Watch(Resource::kPods, "", o, [&](const WatchEvent& e) {
    got.push_back(std::string(EventTypeName(e.type)) + ":" + std::string(e.resource_version));
    return Status::Ok();
  });
  ASSERT_TRUE(end.ok()) << end.status().ToString();
  EXPECT_EQ(got, (std::vector<std::string>{"ADDED:11", "BOOKMARK:15"}));
  EXPECT_EQ(end->resource_version, "15");
  const std::string& url = transport_->seen[0].url;
  EXPECT_THAT(url, HasSubstr("/api/v1/pods?watch=1&resourceVersion=10&allowWatchBookmarks=true"
                             "&timeoutSeconds="));
  int timeout = std::stoi(url.substr(url.rfind('=') + 1));
  EXPECT_GE(timeout, 300);
  EXPECT_LE(timeout, 600);
}

TEST_F(ClientTest, WatchErrorEventEndsWithExpired) {
  transport_->script.push_back(
      {200,
       "",
       std::nullopt,
       {R"({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version"}})"}});
  auto end =
      client_->Watch(Resource::kPods, "", {}, [](const WatchEvent&) { return Status::Ok(); });
  ASSERT_FALSE(end.ok());
  EXPECT_TRUE(end.error().IsExpired());
  EXPECT_EQ(end.status().code(), StatusCode::kExpired);
}

TEST_F(ClientTest, WatchHandlerErrorEndsTheWatch) {
  transport_->script.push_back(
      {200,
       "",
       std::nullopt,
       {R"({"type":"ADDED","object":{"metadata":{"resourceVersion":"1"}}})",
        R"({"type":"ADDED","object":{"metadata":{"resourceVersion":"2"}}})"}});
  int n = 0;
  auto end = client_->Watch(Resource::kPods, "", {}, [&](const WatchEvent&) {
    ++n;
    return Status(StatusCode::kInternal, "handler failed");
  });
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(end.status(), Status(StatusCode::kInternal, "handler failed"));
  EXPECT_EQ(n, 1);
}

TEST_F(ClientTest, DeleteSendsOptions) {
  transport_->script.push_back({200, R"({"kind":"Status","status":"Success"})"});
  DeleteOptions o;
  o.propagation_policy = "Foreground";
  o.precondition_resource_version = "7";
  o.dry_run = true;
  ASSERT_TRUE(client_->Delete(Resource::kDeployments, "ns", "d", o).ok());
  EXPECT_EQ(transport_->seen[0].method, "DELETE");
  EXPECT_THAT(transport_->seen[0].body, HasSubstr(R"("propagationPolicy":"Foreground")"));
  EXPECT_THAT(transport_->seen[0].body, HasSubstr(R"("resourceVersion":"7")"));
  EXPECT_THAT(transport_->seen[0].body, HasSubstr(R"("dryRun":["All"])"));
}

TEST_F(ClientTest, ApplyUsesServerSideApply) {
  transport_->script.push_back({200, kNp});
  ApplyOptions o;
  o.dry_run = true;
  ASSERT_TRUE(client_->Apply(Resource::kNetworkPolicies, "shop", "web", kNp, o).ok());
  EXPECT_EQ(transport_->seen[0].method, "PATCH");
  EXPECT_THAT(transport_->seen[0].url,
              HasSubstr("/networkpolicies/web?fieldManager=netpol-ctrl&force=true&dryRun=All"));
  EXPECT_THAT(transport_->seen[0].headers,
              ::testing::Contains("Content-Type: application/apply-patch+yaml"));
}

TEST(ResourcesTest, PathsAndLookup) {
  EXPECT_EQ(ResourcePath(Info(Resource::kPods), "ns", "p"), "/api/v1/namespaces/ns/pods/p");
  EXPECT_EQ(ResourcePath(Info(Resource::kNamespaces), "ignored", "kube-system"),
            "/api/v1/namespaces/kube-system");
  EXPECT_EQ(ResourcePath(Info(Resource::kDeployments), "", ""), "/apis/apps/v1/deployments");
  EXPECT_EQ(ResourcePath(Info(Resource::kEventsV1), "n", ""),
            "/apis/events.k8s.io/v1/namespaces/n/events");
  EXPECT_EQ(FindByKind("coordination.k8s.io/v1", "Lease"), &Info(Resource::kLeases));
  EXPECT_EQ(FindByKind("v1", "Event"), &Info(Resource::kEvents));
  EXPECT_EQ(FindByKind("v1", "Deployment"), nullptr);
  EXPECT_EQ(Info(Resource::kNetworkPolicies).GroupResource(), "networkpolicies.networking.k8s.io");
  EXPECT_EQ(ResourcePath(Info(Resource::kObservedFlows), "shop", "deployment-web"),
            "/apis/netpol-ctrl.io/v1alpha1/namespaces/shop/observedflows/deployment-web");
  EXPECT_EQ(AllResources().size(), 35u);
  // The platform's kinds: cluster-scoped ones, and lookup by a CRD's name.
  EXPECT_EQ(ResourcePath(Info(Resource::kValidatingWebhookConfigurations), "x", ""),
            "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations");
  EXPECT_EQ(ResourcePath(Info(Resource::kTLSRoutes), "", ""),
            "/apis/gateway.networking.k8s.io/v1alpha2/tlsroutes");
  EXPECT_EQ(FindByGroupResource("servicemonitors.monitoring.coreos.com"),
            &Info(Resource::kServiceMonitors));
  EXPECT_EQ(FindByGroupResource("routes.route.openshift.io"), &Info(Resource::kRoutes));
  EXPECT_EQ(FindByGroupResource("pods"), nullptr);
  EXPECT_EQ(FindByGroupResource("rollouts.argoproj.io"), nullptr);
}

}  // namespace
}  // namespace npc::kube
