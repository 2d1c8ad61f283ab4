#include "clusterread/clusterread.h"

#include <gtest/gtest.h>

#include <map>

namespace npc::clusterread {
namespace {

using kube::KubeError;
using kube::KubeResult;
using kube::Resource;

// Answers LISTs from a table; everything else is a test bug.
class FakeClient : public kube::Client {
 public:
  std::map<Resource, std::vector<std::string>> items;  // JSON per item, no kind (as a LIST sends)
  std::map<Resource, KubeError> errors;
  std::vector<std::pair<Resource, std::string>> lists;  // resource, label selector

  const std::string& default_namespace() const override { return ns_; }
  KubeResult<kube::Object> Get(Resource, std::string_view, std::string_view,
                               const kube::RequestOptions&) override {
    return Unexpected();
  }
  KubeResult<kube::ObjectList> List(Resource r, std::string_view, const kube::ListOptions& o) override {
    lists.emplace_back(r, o.label_selector);
    if (auto e = errors.find(r); e != errors.end()) return e->second;
    kube::ObjectList l;
    for (const std::string& json : items[r]) l.items.push_back({json, {}});
    return l;
  }
  KubeResult<kube::Object> Create(Resource, std::string_view, std::string_view,
                                  const kube::RequestOptions&) override {
    return Unexpected();
  }
  KubeResult<kube::Object> Update(Resource, std::string_view, std::string_view, std::string_view,
                                  const kube::RequestOptions&) override {
    return Unexpected();
  }
  KubeResult<kube::Object> Apply(Resource, std::string_view, std::string_view, std::string_view,
                                 const kube::ApplyOptions&) override {
    return Unexpected();
  }
  KubeResult<kube::Object> MergePatch(Resource, std::string_view, std::string_view,
                                      std::string_view, const kube::RequestOptions&) override {
    return Unexpected();
  }
  KubeResult<std::string> Delete(Resource, std::string_view, std::string_view,
                                 const kube::DeleteOptions&) override {
    ADD_FAILURE() << "diff must never write";
    return KubeError{};
  }
  KubeResult<kube::WatchEnd> Watch(Resource, std::string_view, const kube::WatchOptions&,
                                   const kube::WatchHandler&) override {
    ADD_FAILURE() << "diff must never watch";
    return KubeError{};
  }

 private:
  static KubeError Unexpected() {
    ADD_FAILURE() << "only LIST is expected";
    return KubeError{};
  }
  std::string ns_ = "default";
};

KubeError Error(kube::Reason reason, int code, std::string message) {
  KubeError e;
  e.reason = reason;
  e.http_code = code;
  e.message = std::move(message);
  return e;
}

TEST(ClusterRead, EveryKindOnceIntoTheSnapshotAndTheManagedPolicies) {
  FakeClient c;
  c.items[Resource::kNamespaces] = {R"({"metadata":{"name":"shop","labels":{"team":"a"}}})"};
  c.items[Resource::kDeployments] = {
      R"({"metadata":{"name":"web","namespace":"shop","uid":"u1"},"spec":{"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"x"}]}}}})"};
  c.items[Resource::kNetworkPolicies] = {
      R"({"metadata":{"name":"deployment-web","namespace":"shop","labels":{"app.kubernetes.io/managed-by":"netpol-ctrl"}},"spec":{"podSelector":{}}})"};
  for (Resource r : {Resource::kRoutes, Resource::kGateways, Resource::kGatewayClasses,
                     Resource::kHTTPRoutes, Resource::kGRPCRoutes, Resource::kTLSRoutes,
                     Resource::kTCPRoutes, Resource::kUDPRoutes, Resource::kPrometheuses,
                     Resource::kServiceMonitors, Resource::kPodMonitors}) {
    c.errors[r] = Error(kube::Reason::kNotFound, 404, "the server could not find the requested resource");
  }
  StatusOr<Cluster> got = Read(c, {});
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_EQ(got->snapshot.namespaces.size(), 1u);
  EXPECT_EQ(got->snapshot.namespaces[0].labels.at("team"), "a");
  ASSERT_EQ(got->snapshot.workloads.size(), 1u);
  EXPECT_EQ(got->snapshot.workloads[0].key().ToString(), "Deployment/shop/web");
  ASSERT_EQ(got->managed.size(), 1u);
  EXPECT_EQ(got->managed[0].name, "deployment-web");
  EXPECT_EQ(got->not_served.size(), 11u);
  EXPECT_EQ(got->not_served[0], "routes.route.openshift.io/v1");
  // Each kind once; secrets only when asked; policies by the managed-by label.
  std::map<Resource, int> count;
  for (const auto& [r, sel] : c.lists) {
    count[r]++;
    if (r == Resource::kNetworkPolicies) {
      EXPECT_EQ(sel, "app.kubernetes.io/managed-by=netpol-ctrl");
    }
  }
  for (const auto& [r, n] : count) EXPECT_EQ(n, 1) << kube::Info(r).GroupResource();
  EXPECT_EQ(count.count(Resource::kSecrets), 0u);
  EXPECT_EQ(count.count(Resource::kConfigMaps), 1u);

  c.lists.clear();
  Options o;
  o.read_secrets = true;
  o.read_config_maps = false;
  ASSERT_TRUE(Read(c, o).ok());
  count.clear();
  for (const auto& [r, sel] : c.lists) count[r]++;
  EXPECT_EQ(count.count(Resource::kSecrets), 1u);
  EXPECT_EQ(count.count(Resource::kConfigMaps), 0u);
}

TEST(ClusterRead, AForbiddenListNamesTheResourceAndThePermission) {
  FakeClient c;
  c.errors[Resource::kStatefulSets] = Error(kube::Reason::kForbidden, 403,
                                            "statefulsets.apps is forbidden: User \"x\" cannot list");
  StatusOr<Cluster> got = Read(c, {});
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(got.status().message().find("cannot list statefulsets.apps: forbidden: missing "
                                        "permission: verb \"list\" on statefulsets.apps in all "
                                        "namespaces"),
            std::string::npos)
      << got.status().message();
}

TEST(ClusterRead, ANotFoundOfARequiredKindOrAFailureIsAnError) {
  FakeClient c;
  c.errors[Resource::kIngressClasses] = Error(kube::Reason::kNotFound, 404, "not found");
  EXPECT_FALSE(Read(c, {}).ok());
  FakeClient d;
  d.errors[Resource::kServices] = Error(kube::Reason::kServiceUnavailable, 503, "down");
  StatusOr<Cluster> got = Read(d, {});
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("list services"), std::string::npos)
      << got.status().message();
}

TEST(ClusterRead, AnObjectThatDoesNotDecodeIsNamed) {
  FakeClient c;
  c.items[Resource::kServices] = {
      R"({"metadata":{"name":"api","namespace":"shop"},"spec":{"ports":"nope"}})"};
  for (Resource r : {Resource::kRoutes, Resource::kGateways, Resource::kGatewayClasses,
                     Resource::kHTTPRoutes, Resource::kGRPCRoutes, Resource::kTLSRoutes,
                     Resource::kTCPRoutes, Resource::kUDPRoutes, Resource::kPrometheuses,
                     Resource::kServiceMonitors, Resource::kPodMonitors}) {
    c.errors[r] = Error(kube::Reason::kNotFound, 404, "not found");
  }
  StatusOr<Cluster> got = Read(c, {});
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_EQ(got->invalid.size(), 1u);
  EXPECT_NE(got->invalid[0].find("Service shop/api"), std::string::npos) << got->invalid[0];
}

}  // namespace
}  // namespace npc::clusterread
