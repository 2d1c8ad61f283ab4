#include "decode/decode.h"

#include <gtest/gtest.h>

namespace npc::decode {
namespace {

constexpr std::string_view kDeployment = R"({
  "apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "api", "namespace": "shop", "uid": "u-1", "resourceVersion": "42",
    "labels": {"app": "api"}, "annotations": {"netpol-ctrl.io/allow-api-server": "true"},
    "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]},
  "spec": {
    "selector": {"matchLabels": {"app": "api"},
                 "matchExpressions": [{"key": "tier", "operator": "In", "values": ["be"]}]},
    "template": {
      "metadata": {"labels": {"app": "api", "tier": "be"},
                   "annotations": {"prometheus.io/scrape": "true"}},
      "spec": {
        "initContainers": [{"name": "wait", "command": ["sh", "-c", "until nc -z db 5432; do sleep 1; done"]}],
        "containers": [{
          "name": "api", "args": ["--db=$(DB_HOST):5432"],
          "env": [{"name": "DB_HOST", "value": "db.data"},
                  {"name": "CACHE", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "cache"}}},
                  {"name": "SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
          "envFrom": [{"configMapRef": {"name": "common"}, "prefix": "C_"}, {"secretRef": {"name": "x"}}],
          "ports": [{"name": "http", "containerPort": 8080}, {"containerPort": 53, "protocol": "UDP"}]}],
        "volumes": [{"name": "c", "configMap": {"name": "settings"}},
                    {"name": "p", "projected": {"sources": [{"configMap": {"name": "more"}}]}}]}}}})";

TEST(DecodeTest, DeploymentKeepsWhatSynthesisNeeds) {
  Decoder d;
  auto o = d.Decode(kDeployment);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->meta.resource_version, "42");
  const auto* w = std::get_if<Workload>(&o->value);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->key().ToString(), "Deployment/shop/api");
  EXPECT_EQ(w->uid, "u-1");
  EXPECT_EQ(w->pod_selector.match_labels, (Labels{{"app", "api"}}));
  ASSERT_EQ(w->pod_selector.match_expressions.size(), 1u);
  EXPECT_EQ(w->pod_selector.match_expressions[0].op, "In");
  EXPECT_EQ(w->template_labels.at("tier"), "be");
  EXPECT_EQ(w->template_annotations.at("prometheus.io/scrape"), "true");
  EXPECT_EQ(w->annotations.at("netpol-ctrl.io/allow-api-server"), "true");
  ASSERT_EQ(w->containers.size(), 2u);
  EXPECT_TRUE(w->containers[0].init);
  const Container& c = w->containers[1];
  EXPECT_EQ(c.args[0], "--db=$(DB_HOST):5432");
  ASSERT_EQ(c.env.size(), 3u);
  EXPECT_EQ(c.env[0].value, "db.data");
  EXPECT_EQ(c.env[1].config_map_name, "cfg");
  EXPECT_EQ(c.env[1].config_map_key, "cache");
  EXPECT_FALSE(c.env[2].value.has_value());
  EXPECT_EQ(c.env[2].secret_name, "s");
  EXPECT_EQ(c.env[2].secret_key, "k");
  ASSERT_EQ(c.env_from.size(), 2u);
  EXPECT_EQ(c.env_from[0].prefix, "C_");
  EXPECT_EQ(c.env_from[1].secret_name, "x");
  EXPECT_EQ(c.env_from[1].config_map_name, "");
  ASSERT_EQ(c.ports.size(), 2u);
  EXPECT_EQ(c.ports[1].protocol, "UDP");
  EXPECT_EQ(c.ports[0].protocol, "TCP");
  EXPECT_EQ(w->config_map_volumes, (std::vector<std::string>{"settings", "more"}));
}

TEST(DecodeTest, CronJobSelectsItsJobTemplateLabels) {
  Decoder d;
  auto o =
      d.Decode(R"({"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"r","namespace":"n"},
    "spec":{"jobTemplate":{"spec":{"template":{"metadata":{"labels":{"job":"r"}},
    "spec":{"containers":[{"name":"c"}]}}}}}})");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  const auto& w = std::get<Workload>(o->value);
  EXPECT_EQ(w.pod_selector.match_labels, (Labels{{"job", "r"}}));
  EXPECT_EQ(w.containers.size(), 1u);
}

// A pod run by a controller is a Pod (for backends, custom workloads and pod
// DNS), never a workload; a bare pod is a workload of kind Pod.
TEST(DecodeTest, PodOwnedByAControllerIsAPod) {
  Decoder d;
  auto o = d.Decode(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"n",
    "uid":"u","labels":{"a":"b"},"annotations":{"prometheus.io/scrape":"true"},
    "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"rs",
    "uid":"x","controller":true}]},"spec":{"hostNetwork":true,"containers":[{"name":"c",
    "env":[{"name":"A","value":"db:1"}]}],"volumes":[{"name":"v","secret":{"secretName":"s"}}]},
    "status":{"podIP":"10.0.0.9"}})");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  const auto& p = std::get<Pod>(o->value);
  EXPECT_EQ(p.ns, "n");
  EXPECT_EQ(p.labels, (Labels{{"a", "b"}}));
  EXPECT_EQ(p.ip, "10.0.0.9");
  EXPECT_TRUE(p.host_network);
  ASSERT_TRUE(p.controller.has_value());
  EXPECT_EQ(p.controller->kind, "ReplicaSet");
  EXPECT_EQ(p.controller->api_version, "apps/v1");
  ASSERT_TRUE(p.spec.has_value());
  EXPECT_EQ(p.spec->annotations.at("prometheus.io/scrape"), "true");
  ASSERT_EQ(p.spec->containers.size(), 1u);
  EXPECT_EQ(p.spec->secret_volumes, (std::vector<std::string>{"s"}));

  auto bare = d.Decode(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"n",
    "labels":{"a":"b"}},"spec":{"containers":[]}})");
  ASSERT_TRUE(bare.ok());
  const auto& w = std::get<Workload>(bare->value);
  EXPECT_FALSE(w.has_controller);
  EXPECT_EQ(w.pod_selector.match_labels, (Labels{{"a", "b"}}));
}

TEST(DecodeTest, ReplicaSetKeepsItsControllerAndCreation) {
  Decoder d;
  auto o = d.Decode(R"({"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"api-1",
    "namespace":"n","creationTimestamp":"2024-05-01T10:00:00Z",
    "ownerReferences":[{"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","name":"api",
    "uid":"r1","controller":true}]},"spec":{"selector":{"matchLabels":{"app":"api"}},
    "template":{"metadata":{"labels":{"app":"api"}},"spec":{"containers":[]}}}})");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  const auto& w = std::get<Workload>(o->value);
  EXPECT_TRUE(w.has_controller);
  ASSERT_TRUE(w.controller.has_value());
  EXPECT_EQ(w.controller->kind, "Rollout");
  EXPECT_EQ(w.controller->uid, "r1");
  EXPECT_EQ(w.created, "2024-05-01T10:00:00Z");
}

TEST(DecodeTest, PodMetadataOnly) {
  Decoder d;
  auto o = d.Decode(R"({"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1",
    "metadata":{"name":"p","namespace":"n","labels":{"x":"y"}}})",
                    {"Pod", true});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->meta.kind, "Pod");
  EXPECT_EQ(std::get<PodMeta>(o->value).labels.at("x"), "y");
  EXPECT_FALSE(o->meta.controller.has_value());
}

// The node agent asks for whole Pods and keeps only where they run and their
// addresses (PodMeta), never the spec.
TEST(DecodeTest, PodMetaFromWholePodHasAddressesAndNode) {
  Decoder d;
  auto o = d.Decode(R"({"kind":"Pod","apiVersion":"v1",
    "metadata":{"name":"p","namespace":"n","labels":{"x":"y"},
      "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-1","uid":"u1","controller":true}]},
    "spec":{"nodeName":"node-a","containers":[{"name":"c","image":"i"}]},
    "status":{"phase":"Running","podIP":"198.18.0.7","podIPs":[{"ip":"198.18.0.7"},{"ip":"fd00::7"}]}})",
                    {"Pod", true});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  const auto& p = std::get<PodMeta>(o->value);
  EXPECT_EQ(p.labels.at("x"), "y");
  EXPECT_EQ(p.ips, (std::vector<std::string>{"198.18.0.7", "fd00::7"}));
  EXPECT_EQ(p.node_name, "node-a");
  EXPECT_FALSE(p.host_network);
  EXPECT_FALSE(p.terminated);
  ASSERT_TRUE(o->meta.controller.has_value());
  EXPECT_EQ(o->meta.controller->name, "web-1");

  o = d.Decode(R"({"kind":"Pod","metadata":{"name":"h","namespace":"n"},
    "spec":{"hostNetwork":true},"status":{"phase":"Succeeded","podIP":"10.0.0.1"}})",
               {"Pod", true});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_TRUE(std::get<PodMeta>(o->value).host_network);
  EXPECT_TRUE(std::get<PodMeta>(o->value).terminated);
  EXPECT_EQ(std::get<PodMeta>(o->value).ips, (std::vector<std::string>{"10.0.0.1"}));

  o = d.Decode(R"({"kind":"Pod","metadata":{"name":"h","namespace":"n"},
    "status":{"podIPs":[{"ip":7}]}})", {"Pod", true});
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("status.podIPs[0].ip"), std::string::npos)
      << o.status().message();
}

TEST(DecodeTest, ServiceClusterIps) {
  Decoder d;
  auto o = d.Decode(R"({"kind":"Service","metadata":{"name":"s","namespace":"n"},
    "spec":{"clusterIP":"198.19.0.5","clusterIPs":["198.19.0.5","fd00::5"],"ports":[{"port":80}]}})");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(std::get<Service>(o->value).cluster_ips,
            (std::vector<std::string>{"198.19.0.5", "fd00::5"}));
  o = d.Decode(R"({"kind":"Service","metadata":{"name":"s","namespace":"n"},
    "spec":{"clusterIP":"198.19.0.6"}})");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(std::get<Service>(o->value).cluster_ips, (std::vector<std::string>{"198.19.0.6"}));
  o = d.Decode(R"({"kind":"Service","metadata":{"name":"s","namespace":"n"},
    "spec":{"clusterIP":"None","clusterIPs":["None"]}})");
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(std::get<Service>(o->value).headless);
  EXPECT_TRUE(std::get<Service>(o->value).cluster_ips.empty());
}

TEST(DecodeTest, ServicePortsAndSelector) {
  Decoder d;
  auto o =
      d.Decode(R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"db","namespace":"data"},
    "spec":{"clusterIP":"None","selector":{"app":"pg"},"type":"ClusterIP",
    "ports":[{"name":"pg","port":5432,"targetPort":"postgres"},{"port":9187,"targetPort":9187,"protocol":"TCP"}]}})");
  ASSERT_TRUE(o.ok());
  const auto& s = std::get<Service>(o->value);
  EXPECT_TRUE(s.headless);
  ASSERT_TRUE(s.selector.has_value());
  EXPECT_EQ(s.ports[0].target_port.str, "postgres");
  EXPECT_EQ(s.ports[1].target_port.num, 9187);

  auto none =
      d.Decode(R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"ext","namespace":"d"},
    "spec":{"type":"ExternalName","externalName":"db.example.com"}})");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(std::get<Service>(none->value).selector.has_value());
  EXPECT_EQ(std::get<Service>(none->value).external_name, "db.example.com");
}

TEST(DecodeTest, IngressBackendsAndEndpointSlices) {
  Decoder d;
  auto o = d.Decode(
      R"({"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"i","namespace":"n"},
    "spec":{"ingressClassName":"nginx","defaultBackend":{"service":{"name":"web","port":{"number":80}}},
    "rules":[{"host":"a","http":{"paths":[{"path":"/","pathType":"Prefix",
      "backend":{"service":{"name":"api","port":{"name":"http"}}}}]}}]}})");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  const auto& ing = std::get<Ingress>(o->value);
  ASSERT_EQ(ing.backends.size(), 2u);
  EXPECT_EQ(ing.backends[0].service_port.num, 80);
  EXPECT_EQ(ing.backends[1].service_port.str, "http");

  auto es = d.Decode(
      R"({"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"k-1",
    "namespace":"default","labels":{"kubernetes.io/service-name":"kubernetes"}},"addressType":"IPv4",
    "endpoints":[{"addresses":["10.0.0.5"]}],"ports":[{"name":"https","port":6443,"protocol":"TCP"}]})");
  ASSERT_TRUE(es.ok());
  const auto& s = std::get<EndpointSlice>(es->value);
  EXPECT_EQ(s.service_name, "kubernetes");
  EXPECT_EQ(s.addresses, (std::vector<std::string>{"10.0.0.5"}));
  EXPECT_EQ(s.ports[0].port, 6443);
}

// One large ConfigMap must not leave a megabyte of parser buffers behind in
// the decoder (each informer keeps one for its whole life).
TEST(DecodeTest, ALargeObjectLeavesTheParserSmall) {
  Decoder d;
  ASSERT_TRUE(d.Decode(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"small","namespace":"a"},
    "data":{"k":"v"}})").ok());
  const std::string big(200 * 1024, 'x');
  auto o = d.Decode(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big","namespace":"a"},
    "data":{"k":")" + big + R"("}})");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(std::get<ConfigMap>(o->value).data.at("k").size(), big.size());
  EXPECT_LE(d.ParserCapacityForTest(), Decoder::kKeptParserBytes);
}

TEST(DecodeTest, NetworkPolicyRoundTripsItsSpec) {
  Decoder d;
  auto o = d.Decode(R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy",
    "metadata":{"name":"deployment-api","namespace":"shop","generation":7,"labels":{"app.kubernetes.io/managed-by":"netpol-ctrl"},
      "ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"api","uid":"u","controller":true}]},
    "spec":{"podSelector":{"matchLabels":{"app":"api"}},"policyTypes":["Ingress","Egress"],
      "ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"shop"}},
                           "podSelector":{"matchLabels":{"app":"web"}}}],
                  "ports":[{"protocol":"TCP","port":"http"}]}],
      "egress":[{"to":[{"ipBlock":{"cidr":"10.0.0.0/8","except":["10.1.0.0/16"]}}],
                 "ports":[{"protocol":"TCP","port":1000,"endPort":2000}]}]}})");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  const auto& np = std::get<StoredPolicy>(o->value).policy;
  EXPECT_EQ(o->meta.generation, 7);
  ASSERT_TRUE(np.owner.has_value());
  EXPECT_EQ(np.owner->kind, "Deployment");
  ASSERT_EQ(np.ingress.size(), 1u);
  ASSERT_TRUE(np.ingress[0].peers[0].namespace_selector.has_value());
  ASSERT_TRUE(np.ingress[0].peers[0].pod_selector.has_value());
  EXPECT_EQ(np.ingress[0].ports[0].port.str, "http");
  EXPECT_EQ(np.egress[0].peers[0].ip_block->except[0], "10.1.0.0/16");
  EXPECT_EQ(np.egress[0].ports[0].end_port, 2000);
}

TEST(DecodeTest, WrongTypesNameTheObjectAndTheField) {
  Decoder d;
  auto o = d.Decode(
      R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"w","namespace":"n"},
    "spec":{"template":{"spec":{"containers":[{"name":"c","ports":[{"containerPort":"eighty"}]}]}}}})");
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().message(),
            "Deployment n/w: spec.template.spec.containers[0].ports[0].containerPort: expected an "
            "integer");

  auto bad_env = d.Decode(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},
    "spec":{"containers":[{"name":"c","env":[{"name":"A","value":5}]}]}})");
  ASSERT_FALSE(bad_env.ok());
  EXPECT_EQ(bad_env.status().message(),
            "Pod p: spec.containers[0].env[0].value: expected a string");

  auto not_json = d.Decode("{\"kind\": ");
  ASSERT_FALSE(not_json.ok());
  EXPECT_NE(not_json.status().message().find("invalid JSON"), std::string::npos);
}

TEST(DecodeTest, ListItemsTakeTheKindOfTheList) {
  Decoder d;
  auto o = d.Decode(R"({"metadata":{"name":"a","namespace":"n"},"spec":{"ports":[{"port":80}]}})",
                    {"Service", false});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->meta.kind, "Service");
  EXPECT_EQ(std::get<Service>(o->value).ports[0].port, 80);
}

TEST(DecodeTest, UnknownKindsAreNotErrors) {
  Decoder d;
  auto o =
      d.Decode(R"({"apiVersion":"v1","kind":"Role","metadata":{"name":"s"},"rules":[]})");
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(std::holds_alternative<Unknown>(o->value));
  // A kind of another API group is not the one synthesis reads.
  auto istio = d.Decode(R"({"apiVersion":"networking.istio.io/v1","kind":"Gateway",
    "metadata":{"name":"g","namespace":"n"},"spec":{"servers":[]}})");
  ASSERT_TRUE(istio.ok());
  EXPECT_TRUE(std::holds_alternative<Unknown>(istio->value));
  auto knative = d.Decode(R"({"apiVersion":"serving.knative.dev/v1","kind":"Route",
    "metadata":{"name":"r","namespace":"n"},"spec":{}})");
  ASSERT_TRUE(knative.ok());
  EXPECT_TRUE(std::holds_alternative<Unknown>(knative->value));
}

TEST(DecodeTest, LargeEnvValueIsKeptWhole) {
  std::string big(1 << 20, 'a');
  std::string json = R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"n"},
    "spec":{"containers":[{"name":"c","env":[{"name":"BIG","value":")" +
                     big + R"("}]}]}})";
  Decoder d;
  auto o = d.Decode(json);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(std::get<Workload>(o->value).containers[0].env[0].value->size(), big.size());
}

TEST(DecodeTest, OnlyPodsReplicaSetsAndJobsHaveAController) {
  // A StatefulSet run by an operator is still a workload; a ReplicaSet run by
  // a Deployment is not.
  constexpr std::string_view kOwned = R"({"apiVersion":"apps/v1","kind":"%s","metadata":{
    "name":"x","namespace":"n","ownerReferences":[{"apiVersion":"example.com/v1","kind":"Op",
    "name":"o","uid":"u","controller":true}]},"spec":{"selector":{"matchLabels":{"a":"b"}},
    "template":{"metadata":{"labels":{"a":"b"}}}}})";
  Decoder d;
  for (auto [kind, controlled] : {std::pair{"StatefulSet", false}, std::pair{"Deployment", false},
                                  std::pair{"DaemonSet", false}, std::pair{"ReplicaSet", true}}) {
    std::string json(kOwned);
    json.replace(json.find("%s"), 2, kind);
    auto o = d.Decode(json);
    ASSERT_TRUE(o.ok()) << o.status().ToString();
    EXPECT_EQ(std::get<Workload>(o->value).has_controller, controlled) << kind;
    EXPECT_TRUE(o->meta.controller.has_value()) << kind;
  }
}

TEST(DecodeTest, NullInStringMapsAndListsIsEmpty) {
  Decoder d;
  auto o = d.Decode(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"n",
    "labels":{"a":null,"b":"c"}},"spec":{"containers":[null,{"name":"c","args":["x",null]}]}})");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  const auto& w = std::get<Workload>(o->value);
  EXPECT_EQ(w.labels, (Labels{{"a", ""}, {"b", "c"}}));
  ASSERT_EQ(w.containers.size(), 1u);  // a null container is no container
  EXPECT_EQ(w.containers[0].args, (std::vector<std::string>{"x", ""}));
}

TEST(DecodeTest, NestedFieldsOfTheWrongTypeAreErrorsWithTheirPath) {
  Decoder d;
  std::string path;
  auto env = d.Decode(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"n"},
    "spec":{"containers":[{"name":"c","env":["A=1"]}]}})",
                      {}, &path);
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.status().message(), "Pod n/p: spec.containers[0].env[0]: expected an object");
  EXPECT_EQ(path, "spec.containers[0].env[0]");

  auto from = d.Decode(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"n"},
    "spec":{"containers":[{"name":"c","env":[{"name":"A","valueFrom":"cm"}]}]}})",
                       {}, &path);
  ASSERT_FALSE(from.ok());
  EXPECT_EQ(path, "spec.containers[0].env[0].valueFrom");

  auto projected = d.Decode(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},
    "spec":{"volumes":[{"name":"v","projected":{"sources":[{"configMap":{"name":5}}]}}]}})",
                            {}, &path);
  ASSERT_FALSE(projected.ok());
  EXPECT_EQ(path, "spec.volumes[0].projected.sources[0].configMap.name");

  auto rule = d.Decode(R"({"apiVersion":"networking.k8s.io/v1","kind":"Ingress",
    "metadata":{"name":"i","namespace":"n"},"spec":{"rules":[{"http":{"paths":[7]}}]}})",
                       {}, &path);
  ASSERT_FALSE(rule.ok());
  EXPECT_EQ(path, "spec.rules[0].http.paths[0]");

  ASSERT_FALSE(d.Decode("[", {}, &path).ok());
  EXPECT_EQ(path, "");
}

TEST(DecodeTest, OfflineObjectsMustHaveWhatTheServerRequires) {
  constexpr std::string_view kNoSelector = R"({"apiVersion":"apps/v1","kind":"%s",
    "metadata":{"name":"w","namespace":"n"},
    "spec":{"template":{"metadata":{"labels":{"app":"w"}},"spec":{"containers":[]}}}})";
  Decoder d;
  DecodeOptions offline;
  offline.offline = true;
  auto with_kind = [&](const char* kind) {
    std::string json(kNoSelector);
    json.replace(json.find("%s"), 2, kind);
    return json;
  };
  // From the server, a missing selector cannot happen; the template labels do.
  auto online = d.Decode(with_kind("Deployment"));
  ASSERT_TRUE(online.ok());
  EXPECT_EQ(std::get<Workload>(online->value).pod_selector.match_labels, (Labels{{"app", "w"}}));
  std::string path;
  auto dep = d.Decode(with_kind("Deployment"), offline, &path);
  ASSERT_FALSE(dep.ok());
  EXPECT_EQ(dep.status().message(), "Deployment n/w: spec.selector: is missing");
  EXPECT_EQ(path, "spec.selector");
  // A Job's selector is generated by the server: its template labels stand in.
  auto job = d.Decode(with_kind("Job"), offline);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(std::get<Workload>(job->value).pod_selector.match_labels, (Labels{{"app", "w"}}));

  auto cron = d.Decode(R"({"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"c"},
    "spec":{"jobTemplate":{"spec":{}}}})",
                       offline);
  ASSERT_FALSE(cron.ok());
  EXPECT_EQ(cron.status().message(), "CronJob c: spec.jobTemplate.spec.template: is missing");

  auto port = d.Decode(R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},
    "spec":{"ports":[{"name":"http"}]}})",
                       offline);
  ASSERT_FALSE(port.ok());
  EXPECT_EQ(port.status().message(), "Service s: spec.ports[0].port: is missing");
  EXPECT_TRUE(d.Decode(R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},
    "spec":{"ports":[{"name":"http"}]}})")
                  .ok());

  auto nameless = d.Decode(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{}})", offline);
  ASSERT_FALSE(nameless.ok());
  EXPECT_EQ(nameless.status().message(), "ConfigMap: metadata.name: is missing");
  auto no_meta = d.Decode(R"({"apiVersion":"v1","kind":"ConfigMap"})", offline);
  ASSERT_FALSE(no_meta.ok());
  EXPECT_EQ(no_meta.status().message(), "ConfigMap: metadata: is missing");
  // Kinds nobody reads need nothing.
  EXPECT_TRUE(d.Decode(R"({"apiVersion":"v1","kind":"Role"})", offline).ok());
  auto secret = d.Decode(R"({"apiVersion":"v1","kind":"Secret"})", offline);
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.status().message(), "Secret: metadata: is missing");
}

TEST(DecodeTest, DefaultNamespaceAndTheNamespaceNameLabel) {
  Decoder d;
  DecodeOptions opts;
  opts.default_namespace = "staging";
  auto cm = d.Decode(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},
    "data":{"a":1}})",
                     opts);
  ASSERT_FALSE(cm.ok());
  EXPECT_EQ(cm.status().message(), "ConfigMap staging/c: data.a: expected a string");
  auto ns = d.Decode(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop",
    "labels":{"team":"web"}}})",
                     opts);
  ASSERT_TRUE(ns.ok());
  EXPECT_EQ(ns->meta.ns, "");
  EXPECT_EQ(std::get<Namespace>(ns->value).labels,
            (Labels{{"team", "web"}, {std::string(kNamespaceNameLabel), "shop"}}));
}

// --- the platform's objects (DESIGN.md rules 1-7) ----------------------------

TEST(DecodeTest, SecretKeepsOnlyHostNames) {
  Decoder d;
  // "postgres://u:hunter2@db.data:5432/app" and "s3cr3t" in base64: the
  // password looks like a short name, and is dropped as every bare word is.
  auto o = d.Decode(R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"n"},
    "data":{"url":"cG9zdGdyZXM6Ly91Omh1bnRlcjJAZGIuZGF0YTo1NDMyL2FwcA==","pw":"czNjcjN0"},
    "stringData":{"host":"api.shop:8080"}})");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  const auto& s = std::get<Secret>(o->value);
  EXPECT_EQ(s.hosts, (std::map<std::string, std::string>{{"url", "db.data:5432"},
                                                          {"host", "api.shop:8080"}}));
  EXPECT_EQ(s.exact, (std::vector<std::string>{"host"}));
  auto bad = d.Decode(R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"n"},
    "data":{"k":"not*base64"}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "Secret n/s: data.k: not base64");
}

TEST(DecodeTest, IngressClassAndLegacyAnnotation) {
  Decoder d;
  auto c = d.Decode(R"({"apiVersion":"networking.k8s.io/v1","kind":"IngressClass",
    "metadata":{"name":"nginx","annotations":{"ingressclass.kubernetes.io/is-default-class":"true"}},
    "spec":{"controller":"k8s.io/ingress-nginx"}})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(std::get<IngressClass>(c->value),
            (IngressClass{"nginx", "k8s.io/ingress-nginx", true}));
  auto i = d.Decode(R"({"apiVersion":"networking.k8s.io/v1","kind":"Ingress",
    "metadata":{"name":"i","namespace":"n","annotations":{"kubernetes.io/ingress.class":"traefik"}},
    "spec":{}})");
  ASSERT_TRUE(i.ok());
  EXPECT_EQ(std::get<Ingress>(i->value).class_annotation, "traefik");
}

TEST(DecodeTest, OpenShiftRoute) {
  Decoder d;
  auto o = d.Decode(R"({"apiVersion":"route.openshift.io/v1","kind":"Route",
    "metadata":{"name":"r","namespace":"n"},"spec":{"to":{"kind":"Service","name":"web"},
    "alternateBackends":[{"kind":"Service","name":"web2"}],"port":{"targetPort":"http"}}})");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  const auto& r = std::get<Route>(o->value);
  EXPECT_EQ(r.services, (std::vector<std::string>{"web", "web2"}));
  EXPECT_EQ(r.target_port.str, "http");
  auto bad = d.Decode(R"({"apiVersion":"route.openshift.io/v1","kind":"Route",
    "metadata":{"name":"r","namespace":"n"},"spec":{"port":{"targetPort":[1]}}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "Route n/r: spec.port.targetPort: expected an integer or a string");
}

TEST(DecodeTest, GatewayApiObjects) {
  Decoder d;
  auto g = d.Decode(R"({"apiVersion":"gateway.networking.k8s.io/v1","kind":"Gateway",
    "metadata":{"name":"gw","namespace":"infra"},"spec":{"gatewayClassName":"eg","listeners":[]}})");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(std::get<Gateway>(g->value), (Gateway{"infra", "gw", "eg"}));
  auto c = d.Decode(R"({"apiVersion":"gateway.networking.k8s.io/v1","kind":"GatewayClass",
    "metadata":{"name":"eg"},"spec":{"controllerName":"gateway.envoyproxy.io/gatewayclass-controller"}})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(std::get<GatewayClass>(c->value).controller,
            "gateway.envoyproxy.io/gatewayclass-controller");
  auto r = d.Decode(R"({"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute",
    "metadata":{"name":"r","namespace":"shop"},"spec":{
    "parentRefs":[{"name":"gw","namespace":"infra"},{"name":"mesh","kind":"Service","group":""}],
    "rules":[{"backendRefs":[{"name":"web","port":80},{"name":"b","namespace":"x","kind":"Backend",
    "group":"gateway.envoyproxy.io"}]}]}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& route = std::get<GatewayRoute>(r->value);
  EXPECT_EQ(route.kind, "HTTPRoute");
  ASSERT_EQ(route.parents.size(), 2u);
  EXPECT_EQ(route.parents[0].ns, "infra");
  EXPECT_EQ(route.parents[0].kind, "Gateway");
  EXPECT_EQ(route.parents[0].group, "gateway.networking.k8s.io");
  EXPECT_EQ(route.parents[1].kind, "Service");
  ASSERT_EQ(route.backends.size(), 2u);
  EXPECT_EQ(route.backends[0].ns, "shop");
  EXPECT_EQ(route.backends[0].kind, "Service");
  EXPECT_EQ(route.backends[0].port, 80);
  EXPECT_EQ(route.backends[1].group, "gateway.envoyproxy.io");
  auto bad = d.Decode(R"({"apiVersion":"gateway.networking.k8s.io/v1alpha2","kind":"TCPRoute",
    "metadata":{"name":"r","namespace":"shop"},"spec":{"rules":[{"backendRefs":[{"port":"x"}]}]}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "TCPRoute shop/r: spec.rules[0].backendRefs[0].port: expected an integer");
}

TEST(DecodeTest, ApiServerCalls) {
  Decoder d;
  auto v = d.Decode(R"({"apiVersion":"admissionregistration.k8s.io/v1",
    "kind":"ValidatingWebhookConfiguration","metadata":{"name":"policy"},"webhooks":[
    {"name":"a.example.com","clientConfig":{"service":{"namespace":"sys","name":"hook","port":8443}}},
    {"name":"b.example.com","clientConfig":{"url":"https://x.example.com"}},
    {"name":"c.example.com","clientConfig":{"service":{"namespace":"sys","name":"hook"}}}]})");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  const auto& h = std::get<ApiServerHook>(v->value);
  EXPECT_EQ(h.kind, ApiServerHook::Kind::kValidatingWebhookConfiguration);
  ASSERT_EQ(h.calls.size(), 2u);
  EXPECT_EQ(h.calls[0], (ApiServerHook::Call{"a.example.com", "sys", "hook", 8443}));
  EXPECT_EQ(h.calls[1].port, 443);
  auto a = d.Decode(R"({"apiVersion":"apiregistration.k8s.io/v1","kind":"APIService",
    "metadata":{"name":"v1beta1.metrics.k8s.io"},"spec":{"service":{"namespace":"kube-system",
    "name":"metrics-server"}}})");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(std::get<ApiServerHook>(a->value).calls,
            (std::vector<ApiServerHook::Call>{{"", "kube-system", "metrics-server", 443}}));
  auto local = d.Decode(R"({"apiVersion":"apiregistration.k8s.io/v1","kind":"APIService",
    "metadata":{"name":"v1.apps"},"spec":{"group":"apps"}})");
  ASSERT_TRUE(local.ok());
  EXPECT_TRUE(std::get<ApiServerHook>(local->value).calls.empty());
  auto crd = d.Decode(R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
    "metadata":{"name":"widgets.example.com"},"spec":{"conversion":{"strategy":"Webhook",
    "webhook":{"clientConfig":{"service":{"namespace":"w","name":"conv","port":9443}}}}}})");
  ASSERT_TRUE(crd.ok());
  EXPECT_EQ(std::get<ApiServerHook>(crd->value).calls,
            (std::vector<ApiServerHook::Call>{{"", "w", "conv", 9443}}));
  auto bad = d.Decode(R"({"apiVersion":"admissionregistration.k8s.io/v1",
    "kind":"MutatingWebhookConfiguration","metadata":{"name":"m"},"webhooks":[
    {"name":"a","clientConfig":{"service":{"name":"x","port":"443"}}}]})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "MutatingWebhookConfiguration m: webhooks[0].clientConfig.service.port: expected an "
            "integer");
}

TEST(DecodeTest, PrometheusOperatorObjects) {
  Decoder d;
  auto p = d.Decode(R"({"apiVersion":"monitoring.coreos.com/v1","kind":"Prometheus",
    "metadata":{"name":"k8s","namespace":"monitoring"},"spec":{"serviceMonitorSelector":{},
    "podMonitorSelector":{"matchLabels":{"team":"a"}},"podMonitorNamespaceSelector":null,
    "alerting":{"alertmanagers":[{"name":"alertmanager-main","port":"web"},
    {"namespace":"other","name":"am","port":9093}]}}})");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const auto& prom = std::get<Prometheus>(p->value);
  ASSERT_TRUE(prom.service_monitor_selector.has_value());
  EXPECT_TRUE(prom.service_monitor_selector->empty());  // {}: every monitor
  EXPECT_FALSE(prom.service_monitor_namespace_selector.has_value());  // own namespace
  EXPECT_EQ(prom.pod_monitor_selector->match_labels, (Labels{{"team", "a"}}));
  EXPECT_FALSE(prom.pod_monitor_namespace_selector.has_value());
  ASSERT_EQ(prom.alertmanagers.size(), 2u);
  EXPECT_EQ(prom.alertmanagers[0].ns, "monitoring");
  EXPECT_EQ(prom.alertmanagers[0].port.str, "web");
  EXPECT_EQ(prom.alertmanagers[1].port.num, 9093);

  auto sm = d.Decode(R"({"apiVersion":"monitoring.coreos.com/v1","kind":"ServiceMonitor",
    "metadata":{"name":"api","namespace":"shop","labels":{"team":"a"}},"spec":{
    "namespaceSelector":{"matchNames":["shop","pay"]},"selector":{"matchLabels":{"app":"api"}},
    "endpoints":[{"port":"metrics"},{"targetPort":9100}]}})");
  ASSERT_TRUE(sm.ok());
  const auto& m = std::get<ServiceMonitor>(sm->value);
  EXPECT_EQ(m.labels, (Labels{{"team", "a"}}));
  EXPECT_EQ(m.namespaces.names, (std::vector<std::string>{"shop", "pay"}));
  EXPECT_FALSE(m.namespaces.any);
  ASSERT_EQ(m.endpoints.size(), 2u);
  EXPECT_EQ(m.endpoints[0].port, "metrics");
  EXPECT_EQ(m.endpoints[1].target_port.num, 9100);

  auto pm = d.Decode(R"({"apiVersion":"monitoring.coreos.com/v1","kind":"PodMonitor",
    "metadata":{"name":"db","namespace":"data"},"spec":{"namespaceSelector":{"any":true},
    "selector":{"matchExpressions":[{"key":"app","operator":"Exists"}]},
    "podMetricsEndpoints":[{"port":"metrics"},{"portNumber":9187}]}})");
  ASSERT_TRUE(pm.ok());
  const auto& pmon = std::get<PodMonitor>(pm->value);
  EXPECT_TRUE(pmon.namespaces.any);
  EXPECT_EQ(pmon.endpoints[1].port_number, 9187);

  auto bad = d.Decode(R"({"apiVersion":"monitoring.coreos.com/v1","kind":"ServiceMonitor",
    "metadata":{"name":"api","namespace":"shop"},"spec":{"namespaceSelector":{"any":"yes"}}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "ServiceMonitor shop/api: spec.namespaceSelector.any: expected true or false");
}

// kubectl apply (client-side) stores the whole object in an annotation; a
// cache keeping it holds every object twice. Only what synthesis reads stays.
TEST(DecodeTest, KeepsOnlyTheAnnotationsSynthesisReads) {
  const std::string last_applied(20000, 'x');
  const std::string deployment = R"({"apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "api", "namespace": "shop", "annotations": {
      "kubectl.kubernetes.io/last-applied-configuration": ")" + last_applied + R"(",
      "deployment.kubernetes.io/revision": "3",
      "netpol-ctrl.io/ignore": "false", "netpol-ctrl.io/allow-egress": "10.0.0.0/8:443"}},
    "spec": {"selector": {"matchLabels": {"app": "api"}},
      "template": {"metadata": {"labels": {"app": "api"}, "annotations": {
        "kubectl.kubernetes.io/restartedAt": "2024-01-01T00:00:00Z",
        "prometheus.io/scrape": "true", "prometheus.io/port": "9090",
        "prometheus.io/path": "/metrics", "netpol-ctrl.io/allow-api-server": "true"}},
        "spec": {"containers": [{"name": "api"}]}}}})";
  Decoder d;
  auto o = d.Decode(deployment);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  const auto* w = std::get_if<Workload>(&o->value);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->annotations, (Annotations{{"netpol-ctrl.io/allow-egress", "10.0.0.0/8:443"},
                                         {"netpol-ctrl.io/ignore", "false"}}));
  EXPECT_EQ(w->template_annotations, (Annotations{{"netpol-ctrl.io/allow-api-server", "true"},
                                                  {"prometheus.io/port", "9090"},
                                                  {"prometheus.io/scrape", "true"}}));

  // A bare pod (its annotations are its template's), a controlled pod's spec,
  // a Namespace.
  auto pod = d.Decode(R"({"kind": "Pod", "metadata": {"name": "p", "namespace": "shop",
    "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}",
                    "prometheus.io/scrape": "true"}}, "spec": {"containers": []}})");
  ASSERT_TRUE(pod.ok()) << pod.status().ToString();
  ASSERT_NE(std::get_if<Workload>(&pod->value), nullptr);
  EXPECT_EQ(std::get<Workload>(pod->value).annotations,
            (Annotations{{"prometheus.io/scrape", "true"}}));
  EXPECT_EQ(std::get<Workload>(pod->value).template_annotations,
            (Annotations{{"prometheus.io/scrape", "true"}}));
  auto owned = d.Decode(R"({"kind": "Pod", "metadata": {"name": "p", "namespace": "shop",
    "ownerReferences": [{"apiVersion": "x/v1", "kind": "Thing", "name": "t", "uid": "u",
                         "controller": true}],
    "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}",
                    "netpol-ctrl.io/ignore": "true"}}, "spec": {"containers": []}})");
  ASSERT_TRUE(owned.ok()) << owned.status().ToString();
  ASSERT_NE(std::get_if<Pod>(&owned->value), nullptr);
  ASSERT_TRUE(std::get<Pod>(owned->value).spec.has_value());
  EXPECT_EQ(std::get<Pod>(owned->value).spec->annotations,
            (Annotations{{"netpol-ctrl.io/ignore", "true"}}));
  auto ns = d.Decode(R"({"kind": "Namespace", "metadata": {"name": "shop", "annotations": {
    "kubectl.kubernetes.io/last-applied-configuration": "{}", "netpol-ctrl.io/ignore": "true",
    "openshift.io/sa.scc.uid-range": "1000/1000"}}})");
  ASSERT_TRUE(ns.ok()) << ns.status().ToString();
  EXPECT_EQ(std::get<Namespace>(ns->value).annotations,
            (Annotations{{"netpol-ctrl.io/ignore", "true"}}));

  // The legacy Ingress class and the default IngressClass marker still work.
  auto ic = d.Decode(R"({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
    "metadata": {"name": "nginx", "annotations": {
      "ingressclass.kubernetes.io/is-default-class": "true"}}, "spec": {"controller": "k8s.io/x"}})");
  ASSERT_TRUE(ic.ok()) << ic.status().ToString();
  EXPECT_TRUE(std::get<IngressClass>(ic->value).is_default);

  // A stored NetworkPolicy keeps its annotations whole (listed without a kind too).
  auto np = d.Decode(R"({"metadata": {"name": "p", "namespace": "shop", "annotations": {
    "kubectl.kubernetes.io/last-applied-configuration": "{}"}}, "spec": {"podSelector": {}}})",
                     {.default_kind = "NetworkPolicy"});
  ASSERT_TRUE(np.ok()) << np.status().ToString();
  EXPECT_EQ(std::get<StoredPolicy>(np->value).policy.annotations.size(), 1u);
}

TEST(DecodeTest, SynthesisReadsItsOwnAnnotations) {
  for (std::string_view a : {kIgnoreAnnotation, kAllowEgressAnnotation,
                             kAllowIngressFromAnnotation, kAllowApiServerAnnotation}) {
    EXPECT_TRUE(SynthesisReadsAnnotation(a)) << a;
  }
  EXPECT_FALSE(SynthesisReadsAnnotation("kubectl.kubernetes.io/last-applied-configuration"));
}

}  // namespace
}  // namespace npc::decode
