#include "manifest/manifest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace npc::manifest {

// Failure messages show diagnostics as the CLI prints them.
void PrintTo(const Diagnostic& d, std::ostream* os) {
  *os << d.ToString();
}

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

const std::string kTestdata = std::string(NPC_SOURCE_DIR) + "/src/manifest/testdata";

template <typename T>
const T* FindByName(const std::vector<T>& v, const std::string& ns, const std::string& name) {
  for (const T& x : v) {
    if (x.ns == ns && x.name == name) return &x;
  }
  return nullptr;
}

const Workload* FindWorkload(const Snapshot& s, WorkloadKind kind, const std::string& ns,
                             const std::string& name) {
  for (const Workload& w : s.workloads) {
    if (w.kind == kind && w.ns == ns && w.name == name) return &w;
  }
  return nullptr;
}

std::vector<std::string> NamespaceNames(const Snapshot& s) {
  std::vector<std::string> out;
  for (const Namespace& n : s.namespaces) out.push_back(n.name);
  return out;
}

class GoodFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    StatusOr<LoadResult> r = LoadPaths({kTestdata + "/good.yaml"});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    result_ = std::move(*r);
  }
  LoadResult result_;
};

TEST_F(GoodFixture, NoDiagnostics) {
  for (const Diagnostic& d : result_.diagnostics) ADD_FAILURE() << d.ToString();
  EXPECT_FALSE(result_.has_errors());
  EXPECT_EQ(result_.documents, 13);
}

TEST_F(GoodFixture, DeploymentFieldsAreRead) {
  const Workload* w = FindWorkload(result_.snapshot, WorkloadKind::kDeployment, "shop", "api");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->uid, "1234-abcd");
  EXPECT_EQ(w->annotations.at("netpol-ctrl.io/allow-egress"), "203.0.113.0/24:443");
  EXPECT_EQ(w->pod_selector.match_labels, (Labels{{"app", "api"}}));
  ASSERT_EQ(w->pod_selector.match_expressions.size(), 1u);
  EXPECT_EQ(w->pod_selector.match_expressions[0].key, "tier");
  EXPECT_EQ(w->pod_selector.match_expressions[0].op, "In");
  EXPECT_THAT(w->pod_selector.match_expressions[0].values, ElementsAre("backend", "internal"));
  EXPECT_EQ(w->template_labels, (Labels{{"app", "api"}, {"tier", "backend"}}));
  EXPECT_EQ(w->template_annotations.at("prometheus.io/scrape"), "true");
  EXPECT_FALSE(w->host_network);
  EXPECT_FALSE(w->has_controller);
  EXPECT_THAT(w->config_map_volumes, ElementsAre("api-files", "api-projected"));

  ASSERT_EQ(w->containers.size(), 2u);
  const Container& init = w->containers[0];
  EXPECT_TRUE(init.init);
  EXPECT_EQ(init.name, "wait");
  EXPECT_THAT(init.command,
              ElementsAre("sh", "-c", "until nc -z $(DB_HOST) 5432; do sleep 1; done"));

  const Container& c = w->containers[1];
  EXPECT_FALSE(c.init);
  EXPECT_THAT(c.args, ElementsAre("--cache=redis.data:6379"));
  ASSERT_EQ(c.env.size(), 3u);
  EXPECT_EQ(c.env[0].name, "DB_HOST");
  EXPECT_EQ(c.env[0].value, "postgres.data");
  EXPECT_EQ(c.env[1].name, "DB_URL");
  EXPECT_FALSE(c.env[1].value.has_value());
  EXPECT_EQ(c.env[1].config_map_name, "api-config");
  EXPECT_EQ(c.env[1].config_map_key, "url");
  EXPECT_EQ(c.env[2].config_map_name, "");  // a secretKeyRef: read only with --read-secrets
  EXPECT_FALSE(c.env[2].secret_name.empty());
  ASSERT_EQ(c.env_from.size(), 2u);  // configMapRef and secretRef
  EXPECT_EQ(c.env_from[0].config_map_name, "api-env");
  EXPECT_EQ(c.env_from[0].prefix, "APP_");
  ASSERT_EQ(c.ports.size(), 2u);
  EXPECT_EQ(c.ports[0].name, "http");
  EXPECT_EQ(c.ports[0].port, 8080);
  EXPECT_EQ(c.ports[0].protocol, "TCP");
  EXPECT_EQ(c.ports[1].port, 9090);
  EXPECT_EQ(c.ports[1].protocol, "UDP");
}

TEST_F(GoodFixture, ServicesFromListAndDocuments) {
  const Snapshot& s = result_.snapshot;
  const Service* api = FindByName(s.services, "shop", "api");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->type, "LoadBalancer");
  ASSERT_TRUE(api->selector.has_value());
  EXPECT_EQ(*api->selector, (Labels{{"app", "api"}}));
  ASSERT_EQ(api->ports.size(), 2u);
  EXPECT_EQ(api->ports[0].name, "http");
  EXPECT_EQ(api->ports[0].port, 80);
  EXPECT_EQ(api->ports[0].target_port.str, "http");
  EXPECT_FALSE(api->ports[0].target_port.is_num());
  EXPECT_EQ(api->ports[0].node_port, 30080);
  EXPECT_EQ(api->ports[1].target_port.num, 9091);
  EXPECT_EQ(api->ports[1].protocol, "UDP");

  // No namespace: the default one. No selector: nullopt. No targetPort: empty.
  const Service* legacy = FindByName(s.services, "default", "legacy");
  ASSERT_NE(legacy, nullptr);
  EXPECT_FALSE(legacy->selector.has_value());
  EXPECT_EQ(legacy->type, "ClusterIP");
  ASSERT_EQ(legacy->ports.size(), 1u);
  EXPECT_TRUE(legacy->ports[0].target_port.empty());

  const Service* pg = FindByName(s.services, "data", "postgres");
  ASSERT_NE(pg, nullptr);
  EXPECT_TRUE(pg->headless);
  // A quoted "5432" is a string as far as Kubernetes is concerned.
  EXPECT_EQ(pg->ports[0].target_port.str, "5432");

  const Service* ext = FindByName(s.services, "data", "ext");
  ASSERT_NE(ext, nullptr);
  EXPECT_EQ(ext->type, "ExternalName");
  EXPECT_EQ(ext->external_name, "db.example.com");
  EXPECT_FALSE(ext->selector.has_value());  // selector: {} is no selector
}

TEST_F(GoodFixture, EndpointSliceIngressConfigMap) {
  const Snapshot& s = result_.snapshot;
  ASSERT_EQ(s.endpoint_slices.size(), 1u);
  const EndpointSlice& e = s.endpoint_slices[0];
  EXPECT_EQ(e.ns, "default");
  EXPECT_EQ(e.service_name, "legacy");
  EXPECT_EQ(e.address_type, "IPv4");
  EXPECT_THAT(e.addresses, ElementsAre("10.1.2.3", "10.1.2.4"));
  ASSERT_EQ(e.ports.size(), 1u);
  EXPECT_EQ(e.ports[0].name, "https");
  EXPECT_EQ(e.ports[0].port, 443);

  ASSERT_EQ(s.ingresses.size(), 1u);
  const Ingress& ing = s.ingresses[0];
  EXPECT_EQ(ing.ingress_class, "nginx");
  ASSERT_EQ(ing.backends.size(), 2u);
  EXPECT_EQ(ing.backends[0].service_name, "web");
  EXPECT_EQ(ing.backends[0].service_port.num, 80);
  EXPECT_EQ(ing.backends[1].service_name, "api");
  EXPECT_EQ(ing.backends[1].service_port.str, "http");

  const ConfigMap* cm = FindByName(s.config_maps, "shop", "api-config");
  ASSERT_NE(cm, nullptr);
  EXPECT_EQ(cm->data.at("url"),
            "postgres://u:p@postgres-0.postgres.data.svc.cluster.local:5432/shop");
  EXPECT_EQ(cm->data.at("retries"), "3");
}

TEST_F(GoodFixture, OtherWorkloadKinds) {
  const Snapshot& s = result_.snapshot;
  const Workload* cron = FindWorkload(s, WorkloadKind::kCronJob, "shop", "report");
  ASSERT_NE(cron, nullptr);
  EXPECT_EQ(cron->pod_selector.match_labels, (Labels{{"app", "report"}}));
  EXPECT_EQ(cron->template_labels, (Labels{{"app", "report"}}));

  const Workload* job = FindWorkload(s, WorkloadKind::kJob, "shop", "migrate");
  ASSERT_NE(job, nullptr);
  EXPECT_TRUE(job->has_controller);
  EXPECT_EQ(job->pod_selector.match_labels, (Labels{{"job", "migrate"}}));

  const Workload* pod = FindWorkload(s, WorkloadKind::kPod, "default", "debug");
  ASSERT_NE(pod, nullptr);
  EXPECT_TRUE(pod->host_network);
  EXPECT_EQ(pod->pod_selector.match_labels, (Labels{{"run", "debug"}}));
  EXPECT_EQ(pod->template_labels, (Labels{{"run", "debug"}}));

  const Workload* sts = FindWorkload(s, WorkloadKind::kStatefulSet, "data", "postgres");
  ASSERT_NE(sts, nullptr);
  EXPECT_EQ(sts->containers[0].ports[0].port, 5432);

  // A "Deployment" of another API group is not a workload.
  EXPECT_EQ(FindWorkload(s, WorkloadKind::kDeployment, "default", "not-apps"), nullptr);
  EXPECT_EQ(s.workloads.size(), 5u);
}

TEST_F(GoodFixture, ImpliedNamespacesGetTheNameLabel) {
  const Snapshot& s = result_.snapshot;
  EXPECT_THAT(NamespaceNames(s), UnorderedElementsAre("shop", "data", "default"));
  for (const Namespace& n : s.namespaces) {
    EXPECT_EQ(n.labels.at(std::string(kNamespaceNameLabel)), n.name);
  }
  const auto shop = std::find_if(s.namespaces.begin(), s.namespaces.end(),
                                 [](const Namespace& n) { return n.name == "shop"; });
  EXPECT_EQ(shop->labels.at("team"), "web");
}

TEST(Manifest, DefaultNamespaceOption) {
  LoadOptions opts;
  opts.default_namespace = "staging";
  LoadResult r = LoadText("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n", "t", opts);
  ASSERT_EQ(r.snapshot.config_maps.size(), 1u);
  EXPECT_EQ(r.snapshot.config_maps[0].ns, "staging");
  EXPECT_THAT(NamespaceNames(r.snapshot), ElementsAre("staging"));
}

TEST(Manifest, BrokenDocumentsAreReportedAndTheRestLoaded) {
  const std::string file = kTestdata + "/broken.yaml";
  StatusOr<LoadResult> r = LoadPaths({file});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->has_errors());
  std::vector<std::string> names;
  for (const ConfigMap& c : r->snapshot.config_maps) names.push_back(c.name);
  EXPECT_THAT(names, ElementsAre("fine", "also-fine"));
  EXPECT_THAT(r->snapshot.workloads, IsEmpty());
  EXPECT_THAT(r->snapshot.services, IsEmpty());

  std::vector<std::string> diags;
  for (const Diagnostic& d : r->diagnostics) diags.push_back(d.ToString());
  ASSERT_EQ(diags.size(), 6u) << ::testing::PrintToString(diags);
  EXPECT_THAT(diags[0], HasSubstr(file + ":doc 2:line 6: not valid YAML"));
  EXPECT_THAT(diags[1], HasSubstr(file + ":doc 3:line 8: document is not a Kubernetes object"));
  EXPECT_THAT(diags[2], HasSubstr(":doc 4:line 10: document is not a Kubernetes object "
                                  "(no apiVersion or kind)"));
  EXPECT_EQ(diags[3], file +
                          ":doc 5:line 23: Deployment a/bad-ports: "
                          "spec.template.spec.containers[0].ports: expected a list, got "
                          "\"8080\"");
  EXPECT_EQ(diags[4], file +
                          ":doc 6:line 30: Service a/bad-port: spec.ports[0].port: "
                          "expected an integer, got \"http\"");
  EXPECT_THAT(diags[5], HasSubstr(":doc 7:line 36: Deployment a/no-selector: spec.selector: "
                                  "is missing"));
}

TEST(Manifest, DirectoriesAreWalkedRecursivelyByExtension) {
  StatusOr<LoadResult> r = LoadPaths({kTestdata + "/tree"});
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r->diagnostics, IsEmpty());
  std::vector<std::string> names;
  for (const ConfigMap& c : r->snapshot.config_maps) names.push_back(c.name);
  EXPECT_THAT(names, ElementsAre("one", "two", "three"));  // a.yaml, sub/b.json, sub/c.yml
  EXPECT_EQ(r->snapshot.config_maps[1].data.at("port"), "80");
}

TEST(Manifest, MissingPathIsAnError) {
  StatusOr<LoadResult> r = LoadPaths({kTestdata + "/nope"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

TEST(Manifest, DuplicatesKeepTheLastWithAWarning) {
  LoadResult r = LoadText(
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: '1'}\n---\n"
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: '2'}\n",
      "dup");
  ASSERT_EQ(r.snapshot.config_maps.size(), 1u);
  EXPECT_EQ(r.snapshot.config_maps[0].data.at("a"), "2");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].severity, Diagnostic::Severity::kWarning);
  EXPECT_FALSE(r.has_errors());
  EXPECT_THAT(r.diagnostics[0].ToString(), HasSubstr("dup:doc 2:line 6: warning: ConfigMap"));
}

TEST(Manifest, EmptyAndCommentOnlyDocumentsAreNotCounted) {
  LoadResult r = LoadText(
      "---\n# nothing\n---\n\n---\napiVersion: v1\nkind: Namespace\n"
      "metadata: {name: x}\n---\n");
  EXPECT_EQ(r.documents, 1);
  EXPECT_THAT(r.diagnostics, IsEmpty());
  EXPECT_THAT(NamespaceNames(r.snapshot), ElementsAre("x"));
}

TEST(Manifest, ListItemThatIsNotAnObject) {
  LoadResult r = LoadText(
      "apiVersion: v1\nkind: List\nitems:\n- 42\n- apiVersion: v1\n"
      "  kind: Namespace\n  metadata: {name: ok}\n");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_THAT(r.diagnostics[0].ToString(), HasSubstr("line 4: List item 0 is not a Kubernetes"));
  EXPECT_THAT(NamespaceNames(r.snapshot), ElementsAre("ok"));
}

TEST(Manifest, WrongScalarTypesInLabels) {
  LoadResult r =
      LoadText("apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  labels:\n    a: [1, 2]\n");
  EXPECT_TRUE(r.has_errors());
  EXPECT_THAT(r.snapshot.services, IsEmpty());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_THAT(r.diagnostics[0].ToString(),
              HasSubstr("line 6: Service default/s: metadata.labels.a: expected a string"));
}

TEST(Manifest, ValuesAreTypedAsKubectlTypesThem) {
  // Quoted "5432" stays a string: a port name for targetPort, an error for an
  // integer field. Plain 5432 is a number.
  LoadResult r = LoadText(
      "apiVersion: v1\nkind: Service\nmetadata: {name: db, namespace: ns1}\n"
      "spec:\n  selector: {app: db}\n  ports:\n  - port: 5432\n    targetPort: \"5432\"\n"
      "  - port: 5433\n    targetPort: 5433\n");
  EXPECT_THAT(r.diagnostics, IsEmpty());
  ASSERT_EQ(r.snapshot.services.size(), 1u);
  const Service& s = r.snapshot.services[0];
  EXPECT_EQ(s.ports[0].port, 5432);
  EXPECT_FALSE(s.ports[0].target_port.is_num());
  EXPECT_EQ(s.ports[0].target_port.str, "5432");
  EXPECT_EQ(s.ports[1].target_port.num, 5433);

  r = LoadText(
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns1}\nspec:\n"
      "  containers:\n  - name: c\n    ports:\n    - containerPort: \"5432\"\n");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].ToString(),
            "<text>:doc 1:line 8: Pod ns1/p: spec.containers[0].ports[0].containerPort: expected "
            "an integer, got \"5432\"");
  EXPECT_THAT(r.snapshot.workloads, IsEmpty());
}

TEST(Manifest, Yaml11BooleansAreBooleansAsInKubectl) {
  // sigs.k8s.io/yaml reads YAML 1.1 (go-yaml v2): plain yes/on/y are true. A
  // bool field takes them; a string field (env value, label) rejects them, as
  // the API server would ("cannot unmarshal bool into ... string"). Quoted,
  // they are strings.
  LoadResult r = LoadText(
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns1}\n"
      "spec:\n  hostNetwork: yes\n  containers:\n  - name: c\n    env:\n"
      "    - {name: A, value: \"on\"}\n");
  EXPECT_THAT(r.diagnostics, IsEmpty());
  ASSERT_EQ(r.snapshot.workloads.size(), 1u);
  EXPECT_TRUE(r.snapshot.workloads[0].host_network);
  EXPECT_EQ(r.snapshot.workloads[0].containers[0].env[0].value, "on");

  r = LoadText(
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns1}\n"
      "spec:\n  containers:\n  - name: c\n    env:\n    - name: A\n      value: on\n");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].ToString(),
            "<text>:doc 1:line 9: Pod ns1/p: spec.containers[0].env[0].value: expected a string, "
            "got true");

  // Even a namespace called "n" or "y" must be quoted.
  r = LoadText("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: n}\n");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_THAT(r.diagnostics[0].ToString(),
              HasSubstr("metadata.namespace: expected a string, got false"));

  r = LoadText("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels: {debug: yes}\n");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_THAT(r.diagnostics[0].ToString(),
              HasSubstr("line 5: ConfigMap default/c: metadata.labels.debug: expected a string, "
                        "got true"));
}

TEST(Manifest, ConversionProblemsNameTheObjectAndTheLine) {
  LoadResult r = LoadText(
      "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports:\n  - port: .inf\n");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].ToString(),
            "<text>:doc 1:line 6: Service: spec.ports[0].port: .inf is not a number JSON can hold");
}

// Whole numbers beyond 64 bits (here in a field the decoder does not read)
// are numbers to kubectl; they must not make the object unreadable.
// (Found by fuzz/yaml_json.)
TEST(Manifest, HugeWholeNumbersAreNumbers) {
  LoadResult r = LoadText(
      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n"
      "spec:\n  replicas: 18446744073709551616\n  progressDeadlineSeconds: -18446744073709551616\n"
      "  selector: {matchLabels: {app: d}}\n  template: {metadata: {labels: {app: d}}}\n");
  EXPECT_THAT(r.diagnostics, IsEmpty());
  EXPECT_EQ(r.snapshot.workloads.size(), 1u);
}

// Bytes that are not UTF-8 are reported at their field, as kubectl refuses
// them too. (Found by fuzz/yaml_json.)
TEST(Manifest, TextThatIsNotUtf8NamesTheField) {
  LoadResult r =
      LoadText("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: \"a\xff\"\n");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].ToString(),
            "<text>:doc 1:line 6: ConfigMap: data.k: is not valid UTF-8 text");
}

// A later duplicate key wins, as for kubectl: this object is the Service its
// JSON says, whatever its first `kind:` line, and the StatefulSet of the same
// name below is another object. (Found by fuzz/yaml_json: the loader keyed
// objects by the first kind and wrote the StatefulSet into the workloads at
// the Service's position, past the end of the vector.)
TEST(Manifest, DuplicateKindKeysTakeTheLast) {
  LoadResult r = LoadText(
      "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db, namespace: d}\n"
      "apiVersion: v1\nkind: Service\n"
      "---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db, namespace: d}\n"
      "spec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}}}\n");
  EXPECT_THAT(r.diagnostics, IsEmpty());
  ASSERT_EQ(r.snapshot.services.size(), 1u);
  EXPECT_EQ(r.snapshot.services[0].name, "db");
  ASSERT_EQ(r.snapshot.workloads.size(), 1u);
  EXPECT_EQ(r.snapshot.workloads[0].kind, WorkloadKind::kStatefulSet);
}

TEST(Manifest, ControlledWorkloadsAndMergeKeys) {
  LoadResult r = LoadText(
      "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\n  namespace: ns1\n"
      "  ownerReferences: [{apiVersion: x/v1, kind: Op, name: o, uid: u, controller: true}]\n"
      "spec:\n  selector: {matchLabels: &l {app: db}}\n"
      "  template:\n    metadata:\n      labels:\n        <<: *l\n        tier: data\n");
  EXPECT_THAT(r.diagnostics, IsEmpty());
  ASSERT_EQ(r.snapshot.workloads.size(), 1u);
  EXPECT_FALSE(r.snapshot.workloads[0].has_controller);  // only Pods, ReplicaSets, Jobs
  EXPECT_EQ(r.snapshot.workloads[0].template_labels, (Labels{{"app", "db"}, {"tier", "data"}}));
}

}  // namespace
}  // namespace npc::manifest
