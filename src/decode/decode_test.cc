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
  ASSERT_EQ(c.env_from.size(), 1u);
  EXPECT_EQ(c.env_from[0].prefix, "C_");
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

TEST(DecodeTest, PodOwnedByAControllerIsMarked) {
  Decoder d;
  auto o = d.Decode(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"n",
    "labels":{"a":"b"},"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"rs",
    "uid":"x","controller":true}]},"spec":{"hostNetwork":true,"containers":[]}})");
  ASSERT_TRUE(o.ok());
  const auto& w = std::get<Workload>(o->value);
  EXPECT_TRUE(w.has_controller);
  EXPECT_TRUE(w.host_network);
  EXPECT_EQ(w.pod_selector.match_labels, (Labels{{"a", "b"}}));
  ASSERT_TRUE(o->meta.controller.has_value());
  EXPECT_EQ(o->meta.controller->kind, "ReplicaSet");
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

TEST(DecodeTest, NetworkPolicyRoundTripsItsSpec) {
  Decoder d;
  auto o = d.Decode(R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy",
    "metadata":{"name":"deployment-api","namespace":"shop","labels":{"app.kubernetes.io/managed-by":"netpol-ctrl"},
      "ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"api","uid":"u","controller":true}]},
    "spec":{"podSelector":{"matchLabels":{"app":"api"}},"policyTypes":["Ingress","Egress"],
      "ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"shop"}},
                           "podSelector":{"matchLabels":{"app":"web"}}}],
                  "ports":[{"protocol":"TCP","port":"http"}]}],
      "egress":[{"to":[{"ipBlock":{"cidr":"10.0.0.0/8","except":["10.1.0.0/16"]}}],
                 "ports":[{"protocol":"TCP","port":1000,"endPort":2000}]}]}})");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  const auto& np = std::get<StoredPolicy>(o->value).policy;
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
      d.Decode(R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"data":{"a":"b"}})");
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(std::holds_alternative<Unknown>(o->value));
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
  EXPECT_TRUE(d.Decode(R"({"apiVersion":"v1","kind":"Secret"})", offline).ok());
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

}  // namespace
}  // namespace npc::decode
