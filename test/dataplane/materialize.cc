#include "dataplane/materialize.h"

#include <map>

namespace npc::dataplane {
namespace {

using json = nlohmann::json;

json Map(const std::map<std::string, std::string>& m) {
  json j = json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

json Selector(const LabelSelector& s) {
  json j = json::object();
  if (!s.match_labels.empty()) j["matchLabels"] = Map(s.match_labels);
  if (!s.match_expressions.empty()) {
    json ex = json::array();
    for (const LabelSelectorRequirement& r : s.match_expressions) {
      json e = {{"key", r.key}, {"operator", r.op}};
      if (!r.values.empty()) e["values"] = r.values;
      ex.push_back(e);
    }
    j["matchExpressions"] = ex;
  }
  return j;
}

json IntOrStr(const IntOrString& v) { return v.is_num() ? json(*v.num) : json(v.str); }

json ContainerJson(const Container& c, const std::vector<std::string>& volumes) {
  json j = {{"name", c.name}, {"image", "registry.k8s.io/pause:3.10"}};
  if (!c.env.empty()) {
    json env = json::array();
    for (const EnvVar& e : c.env) {
      json v = {{"name", e.name}};
      if (e.value) {
        v["value"] = *e.value;
      } else if (!e.config_map_name.empty()) {
        v["valueFrom"] = {{"configMapKeyRef", {{"name", e.config_map_name}, {"key", e.config_map_key}}}};
      }
      env.push_back(v);
    }
    j["env"] = env;
  }
  if (!c.env_from.empty()) {
    json ef = json::array();
    for (const EnvFromSource& e : c.env_from) {
      json v = e.secret_name.empty() ? json{{"configMapRef", {{"name", e.config_map_name}}}}
                                     : json{{"secretRef", {{"name", e.secret_name}}}};
      if (!e.prefix.empty()) v["prefix"] = e.prefix;
      ef.push_back(v);
    }
    j["envFrom"] = ef;
  }
  if (!c.command.empty()) j["command"] = c.command;
  if (!c.args.empty()) j["args"] = c.args;
  if (!c.ports.empty()) {
    json ports = json::array();
    for (const ContainerPort& p : c.ports) {
      json v = {{"containerPort", p.port}, {"protocol", p.protocol}};
      if (!p.name.empty()) v["name"] = p.name;
      ports.push_back(v);
    }
    j["ports"] = ports;
  }
  if (!c.init && !volumes.empty()) {
    json mounts = json::array();
    for (const std::string& v : volumes) mounts.push_back({{"name", "cm-" + v}, {"mountPath", "/etc/config/" + v}});
    j["volumeMounts"] = mounts;
  }
  return j;
}

json PodSpec(const Workload& w, const std::string& restart_policy) {
  json spec = {{"restartPolicy", restart_policy}};
  json containers = json::array(), inits = json::array();
  for (const Container& c : w.containers) {
    (c.init ? inits : containers).push_back(ContainerJson(c, w.config_map_volumes));
  }
  spec["containers"] = containers;
  if (!inits.empty()) spec["initContainers"] = inits;
  if (!w.config_map_volumes.empty()) {
    json vols = json::array();
    for (const std::string& v : w.config_map_volumes) vols.push_back({{"name", "cm-" + v}, {"configMap", {{"name", v}}}});
    spec["volumes"] = vols;
  }
  if (w.host_network) spec["hostNetwork"] = true;
  return spec;
}

json Meta(const std::string& ns, const std::string& name, const Labels& labels, const Annotations& annotations) {
  json m = {{"name", name}};
  if (!ns.empty()) m["namespace"] = ns;
  if (!labels.empty()) m["labels"] = Map(labels);
  if (!annotations.empty()) m["annotations"] = Map(annotations);
  return m;
}

json Template(const Workload& w, const std::string& restart_policy) {
  return {{"metadata", Meta("", "", w.template_labels, w.template_annotations)}, {"spec", PodSpec(w, restart_policy)}};
}

}  // namespace

std::string Materialized::ToJsonList() const {
  return json({{"apiVersion", "v1"}, {"kind", "List"}, {"items", objects}}).dump();
}

Materialized Materialize(const property::GeneratedCase& c) {
  Materialized m;
  std::map<std::string, size_t> pods_of;  // "ns/name" of the workload -> pods
  for (const eval::Pod& p : c.pods) {
    // The generator names pods <workload>[-suffix]; count them per workload
    // by matching the workload whose name prefixes the pod's, in its namespace.
    for (const Workload& w : c.snapshot.workloads) {
      if (w.ns == p.ns && p.name.rfind(w.name, 0) == 0 &&
          (p.name.size() == w.name.size() || p.name[w.name.size()] == '-')) {
        ++pods_of[w.ns + "/" + w.name];
        break;
      }
    }
  }
  for (const Namespace& n : c.snapshot.namespaces) {
    if (n.name == "kube-system" || n.name == "default") continue;
    Labels labels = n.labels;
    labels.erase("kubernetes.io/metadata.name");  // the API server sets it
    m.objects.push_back({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", Meta("", n.name, labels, n.annotations)}});
    m.namespaces.push_back(n.name);
  }
  for (const ConfigMap& cm : c.snapshot.config_maps) {
    m.objects.push_back({{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", Meta(cm.ns, cm.name, {}, {})},
                         {"data", Map(cm.data)}});
  }
  for (const Workload& w : c.snapshot.workloads) {
    if (w.ns == "kube-system") {
      m.notes.push_back(w.key().ToString() + ": the dataplane's CoreDNS stands in for it");
      continue;
    }
    if (w.has_controller) {
      m.notes.push_back(w.key().ToString() + ": pods of an unknown controller, left out");
      continue;
    }
    const size_t replicas = std::max<size_t>(1, pods_of[w.ns + "/" + w.name]);
    json o = {{"metadata", Meta(w.ns, w.name, w.labels, w.annotations)}};
    switch (w.kind) {
      case WorkloadKind::kDeployment:
        o["apiVersion"] = "apps/v1";
        o["kind"] = "Deployment";
        o["spec"] = {{"replicas", replicas}, {"selector", Selector(w.pod_selector)}, {"template", Template(w, "Always")}};
        m.expected_pods += replicas;
        break;
      case WorkloadKind::kStatefulSet:
        o["apiVersion"] = "apps/v1";
        o["kind"] = "StatefulSet";
        o["spec"] = {{"replicas", replicas},
                     {"serviceName", w.name},
                     {"podManagementPolicy", "Parallel"},
                     {"selector", Selector(w.pod_selector)},
                     {"template", Template(w, "Always")}};
        m.expected_pods += replicas;
        break;
      case WorkloadKind::kDaemonSet:
        o["apiVersion"] = "apps/v1";
        o["kind"] = "DaemonSet";
        o["spec"] = {{"selector", Selector(w.pod_selector)}, {"template", Template(w, "Always")}};
        m.expected_pods += 1;  // one node
        break;
      case WorkloadKind::kCronJob: {
        o["apiVersion"] = "batch/v1";
        o["kind"] = "CronJob";
        json tmpl = Template(w, "Never");
        o["spec"] = {{"schedule", "0 0 1 1 *"}, {"suspend", true}, {"jobTemplate", {{"spec", {{"template", tmpl}}}}}};
        json job = {{"apiVersion", "batch/v1"},
                    {"kind", "Job"},
                    {"metadata", {{"name", w.name + "-manual"}, {"namespace", w.ns}}},
                    {"spec", {{"parallelism", replicas}, {"completions", replicas}, {"template", tmpl}}}};
        m.jobs.push_back({w.ns, w.name, job});
        m.expected_pods += replicas;
        m.notes.push_back(w.key().ToString() + ": its pods run from Job " + w.name + "-manual, owned by it");
        break;
      }
      case WorkloadKind::kPod:
        o["apiVersion"] = "v1";
        o["kind"] = "Pod";
        o["metadata"] = Meta(w.ns, w.name, w.template_labels, w.annotations);
        if (!w.template_annotations.empty()) {
          json a = o["metadata"].value("annotations", json::object());
          for (const auto& [k, v] : w.template_annotations) a[k] = v;
          o["metadata"]["annotations"] = a;
        }
        o["spec"] = PodSpec(w, "Always");
        m.expected_pods += 1;
        break;
      default:
        m.notes.push_back(w.key().ToString() + ": kind not materialized");
        continue;
    }
    m.objects.push_back(std::move(o));
  }
  for (const Service& s : c.snapshot.services) {
    json spec = {{"type", s.type}};
    if (s.selector) spec["selector"] = Map(*s.selector);
    if (s.headless) spec["clusterIP"] = "None";
    if (s.type == "ExternalName") spec["externalName"] = s.external_name;
    if (!s.ports.empty()) {
      json ports = json::array();
      for (const ServicePort& p : s.ports) {
        json v = {{"port", p.port}, {"protocol", p.protocol}};
        if (!p.name.empty()) v["name"] = p.name;
        if (!p.target_port.empty()) v["targetPort"] = IntOrStr(p.target_port);
        ports.push_back(v);
      }
      spec["ports"] = ports;
    }
    m.objects.push_back({{"apiVersion", "v1"}, {"kind", "Service"}, {"metadata", Meta(s.ns, s.name, {}, {})}, {"spec", spec}});
  }
  for (const EndpointSlice& e : c.snapshot.endpoint_slices) {
    if (e.ns == "default" && e.service_name == "kubernetes") {
      m.notes.push_back("EndpointSlice default/kubernetes: the real one is there");
      continue;
    }
    json ports = json::array();
    for (const EndpointPort& p : e.ports) {
      json v = {{"port", p.port}, {"protocol", p.protocol}};
      if (!p.name.empty()) v["name"] = p.name;
      ports.push_back(v);
    }
    json endpoints = json::array();
    for (const std::string& a : e.addresses) endpoints.push_back({{"addresses", {a}}});
    m.objects.push_back({{"apiVersion", "discovery.k8s.io/v1"},
                         {"kind", "EndpointSlice"},
                         {"metadata", Meta(e.ns, e.name, {{"kubernetes.io/service-name", e.service_name}}, {})},
                         {"addressType", e.address_type},
                         {"endpoints", endpoints},
                         {"ports", ports}});
  }
  for (const Ingress& ing : c.snapshot.ingresses) {
    json paths = json::array();
    for (const IngressBackend& b : ing.backends) {
      json port = b.service_port.is_num() ? json{{"number", *b.service_port.num}} : json{{"name", b.service_port.str}};
      paths.push_back({{"path", "/" + b.service_name + "-" + b.service_port.ToString()},
                       {"pathType", "Prefix"},
                       {"backend", {{"service", {{"name", b.service_name}, {"port", port}}}}}});
    }
    json spec = {{"rules", {{{"http", {{"paths", paths}}}}}}};
    if (!ing.ingress_class.empty()) spec["ingressClassName"] = ing.ingress_class;
    m.objects.push_back({{"apiVersion", "networking.k8s.io/v1"}, {"kind", "Ingress"},
                         {"metadata", Meta(ing.ns, ing.name, {}, {})}, {"spec", spec}});
  }
  return m;
}

}  // namespace npc::dataplane
