#include "decode/decode.h"

#include <simdjson.h>

#include <charconv>
#include <string>

namespace npc::decode {
namespace {

namespace dom = simdjson::dom;

// Walks one object, remembering the first error with the path it occurred at.
// Accessors return defaults for absent or null fields and record an error
// (and return the default) for fields of the wrong type.
class Reader {
 public:
  bool ok() const { return error_.ok(); }
  Status error(const Meta& meta) const {
    std::string who = meta.kind.empty() ? std::string("object") : meta.kind;
    if (!meta.name.empty()) {
      who += ' ';
      if (!meta.ns.empty()) who += meta.ns + "/";
      who += meta.name;
    }
    return Status(error_.code(), who + ": " + error_.message());
  }

  const std::string& error_path() const { return error_path_; }

  void Fail(const std::string& path, std::string_view what) {
    if (!ok()) return;
    error_ = InvalidArgument(path + ": " + std::string(what));
    error_path_ = path;
  }

  // The child at `key`, or nullopt when absent or null.
  std::optional<dom::element> Child(const dom::element& e, std::string_view key) {
    dom::object obj;
    if (e.get_object().get(obj)) return std::nullopt;
    dom::element child;
    if (obj.at_key(key).get(child)) return std::nullopt;
    if (child.is_null()) return std::nullopt;
    return child;
  }

  // The child at `key` when it is an object; records an error when it is
  // present with another type.
  std::optional<dom::element> Sub(const dom::element& e, std::string_view key,
                                  const std::string& path) {
    auto c = Child(e, key);
    if (!c) return std::nullopt;
    if (!c->is_object()) {
      Fail(Join(path, key), "expected an object");
      return std::nullopt;
    }
    return c;
  }

  // True when a list item is an object; null items are skipped quietly, items
  // of another type are errors.
  bool IsObj(const dom::element& item, const std::string& path) {
    if (item.is_object()) return true;
    if (!item.is_null()) Fail(path, "expected an object");
    return false;
  }

  std::optional<dom::object> Obj(const dom::element& e, std::string_view key,
                                 const std::string& path) {
    auto c = Child(e, key);
    if (!c) return std::nullopt;
    dom::object o;
    if (c->get_object().get(o)) {
      Fail(Join(path, key), "expected an object");
      return std::nullopt;
    }
    return o;
  }

  std::optional<dom::array> Arr(const dom::element& e, std::string_view key,
                                const std::string& path) {
    auto c = Child(e, key);
    if (!c) return std::nullopt;
    dom::array a;
    if (c->get_array().get(a)) {
      Fail(Join(path, key), "expected a list");
      return std::nullopt;
    }
    return a;
  }

  std::string Str(const dom::element& e, std::string_view key, const std::string& path) {
    auto c = Child(e, key);
    if (!c) return {};
    std::string_view s;
    if (c->get_string().get(s)) {
      Fail(Join(path, key), "expected a string");
      return {};
    }
    return std::string(s);
  }

  bool Bool(const dom::element& e, std::string_view key, const std::string& path) {
    auto c = Child(e, key);
    if (!c) return false;
    bool b = false;
    if (c->get_bool().get(b)) Fail(Join(path, key), "expected true or false");
    return b;
  }

  int32_t Int(const dom::element& e, std::string_view key, const std::string& path) {
    auto c = Child(e, key);
    if (!c) return 0;
    int64_t v = 0;
    if (c->get_int64().get(v) || v < INT32_MIN || v > INT32_MAX) {
      Fail(Join(path, key), "expected an integer");
      return 0;
    }
    return static_cast<int32_t>(v);
  }

  IntOrString IntOrStr(const dom::element& e, std::string_view key, const std::string& path) {
    IntOrString r;
    auto c = Child(e, key);
    if (!c) return r;
    int64_t v = 0;
    std::string_view s;
    if (!c->get_int64().get(v)) {
      if (v < INT32_MIN || v > INT32_MAX) {
        Fail(Join(path, key), "integer out of range");
      } else {
        r.num = static_cast<int32_t>(v);
      }
    } else if (!c->get_string().get(s)) {
      r.str = std::string(s);
    } else {
      Fail(Join(path, key), "expected an integer or a string");
    }
    return r;
  }

  std::map<std::string, std::string> StrMap(const dom::element& e, std::string_view key,
                                            const std::string& path) {
    std::map<std::string, std::string> m;
    auto o = Obj(e, key, path);
    if (!o) return m;
    for (auto [k, v] : *o) {
      std::string_view s;  // null decodes to "", as in Go's encoding/json
      if (!v.is_null() && v.get_string().get(s)) {
        Fail(Join(Join(path, key), k), "expected a string");
        continue;
      }
      m.emplace(std::string(k), std::string(s));
    }
    return m;
  }

  std::vector<std::string> StrList(const dom::element& e, std::string_view key,
                                   const std::string& path) {
    std::vector<std::string> out;
    auto a = Arr(e, key, path);
    if (!a) return out;
    size_t i = 0;
    for (dom::element item : *a) {
      std::string_view s;  // null decodes to ""
      if (!item.is_null() && item.get_string().get(s)) {
        Fail(Index(Join(path, key), i), "expected a string");
      } else {
        out.emplace_back(s);
      }
      ++i;
    }
    return out;
  }

  static std::string Join(const std::string& path, std::string_view key) {
    std::string p = path;
    if (!p.empty()) p += '.';
    p += key;
    return p;
  }
  static std::string Index(const std::string& path, size_t i) {
    return path + "[" + std::to_string(i) + "]";
  }

 private:
  Status error_;
  std::string error_path_;
};

LabelSelector DecodeSelector(Reader& r, const dom::element& sel, const std::string& path) {
  LabelSelector s;
  s.match_labels = r.StrMap(sel, "matchLabels", path);
  if (auto exprs = r.Arr(sel, "matchExpressions", path)) {
    size_t i = 0;
    for (dom::element e : *exprs) {
      std::string p = Reader::Index(Reader::Join(path, "matchExpressions"), i++);
      if (!r.IsObj(e, p)) continue;
      LabelSelectorRequirement req;
      req.key = r.Str(e, "key", p);
      req.op = r.Str(e, "operator", p);
      req.values = r.StrList(e, "values", p);
      s.match_expressions.push_back(std::move(req));
    }
  }
  return s;
}

std::optional<LabelSelector> OptSelector(Reader& r, const dom::element& e, std::string_view key,
                                         const std::string& path) {
  auto c = r.Sub(e, key, path);
  if (!c) return std::nullopt;
  return DecodeSelector(r, *c, Reader::Join(path, key));
}

Container DecodeContainer(Reader& r, const dom::element& c, const std::string& path, bool init) {
  Container out;
  out.init = init;
  out.name = r.Str(c, "name", path);
  if (auto env = r.Arr(c, "env", path)) {
    size_t i = 0;
    for (dom::element e : *env) {
      std::string p = Reader::Index(Reader::Join(path, "env"), i++);
      if (!r.IsObj(e, p)) continue;
      EnvVar v;
      v.name = r.Str(e, "name", p);
      if (auto val = r.Child(e, "value")) {
        std::string_view s;
        if (val->get_string().get(s)) {
          r.Fail(Reader::Join(p, "value"), "expected a string");
        } else {
          v.value = std::string(s);
        }
      }
      if (auto from = r.Sub(e, "valueFrom", p)) {
        std::string fp = Reader::Join(p, "valueFrom");
        if (auto ref = r.Sub(*from, "configMapKeyRef", fp)) {
          std::string rp = Reader::Join(fp, "configMapKeyRef");
          v.config_map_name = r.Str(*ref, "name", rp);
          v.config_map_key = r.Str(*ref, "key", rp);
        }
      }
      out.env.push_back(std::move(v));
    }
  }
  if (auto env_from = r.Arr(c, "envFrom", path)) {
    size_t i = 0;
    for (dom::element e : *env_from) {
      std::string p = Reader::Index(Reader::Join(path, "envFrom"), i++);
      if (!r.IsObj(e, p)) continue;
      // secretRef: Secrets are never read.
      if (auto ref = r.Sub(e, "configMapRef", p)) {
        EnvFromSource s;
        s.config_map_name = r.Str(*ref, "name", Reader::Join(p, "configMapRef"));
        s.prefix = r.Str(e, "prefix", p);
        out.env_from.push_back(std::move(s));
      }
    }
  }
  out.command = r.StrList(c, "command", path);
  out.args = r.StrList(c, "args", path);
  if (auto ports = r.Arr(c, "ports", path)) {
    size_t i = 0;
    for (dom::element e : *ports) {
      std::string p = Reader::Index(Reader::Join(path, "ports"), i++);
      if (!r.IsObj(e, p)) continue;
      ContainerPort port;
      port.name = r.Str(e, "name", p);
      port.port = r.Int(e, "containerPort", p);
      std::string proto = r.Str(e, "protocol", p);
      if (!proto.empty()) port.protocol = std::move(proto);
      out.ports.push_back(std::move(port));
    }
  }
  return out;
}

// Reads a PodSpec into `w` (containers, ConfigMap volumes, hostNetwork).
void DecodePodSpec(Reader& r, const dom::element& spec, const std::string& path, Workload& w) {
  for (auto [key, init] : {std::pair{"initContainers", true}, std::pair{"containers", false}}) {
    if (auto cs = r.Arr(spec, key, path)) {
      size_t i = 0;
      for (dom::element c : *cs) {
        std::string p = Reader::Index(Reader::Join(path, key), i++);
        if (r.IsObj(c, p)) w.containers.push_back(DecodeContainer(r, c, p, init));
      }
    }
  }
  if (auto vols = r.Arr(spec, "volumes", path)) {
    size_t i = 0;
    for (dom::element v : *vols) {
      std::string p = Reader::Index(Reader::Join(path, "volumes"), i++);
      if (!r.IsObj(v, p)) continue;
      if (auto cm = r.Sub(v, "configMap", p)) {
        w.config_map_volumes.push_back(r.Str(*cm, "name", Reader::Join(p, "configMap")));
      }
      auto projected = r.Sub(v, "projected", p);
      if (!projected) continue;
      std::string pp = Reader::Join(p, "projected");
      if (auto sources = r.Arr(*projected, "sources", pp)) {
        size_t j = 0;
        for (dom::element s : *sources) {
          std::string sp = Reader::Index(Reader::Join(pp, "sources"), j++);
          if (!r.IsObj(s, sp)) continue;
          if (auto cm = r.Sub(s, "configMap", sp)) {
            w.config_map_volumes.push_back(r.Str(*cm, "name", Reader::Join(sp, "configMap")));
          }
        }
      }
    }
  }
  w.host_network = r.Bool(spec, "hostNetwork", path);
}

// Reads a PodTemplateSpec (metadata + spec) into `w`.
void DecodeTemplate(Reader& r, const dom::element& tmpl, const std::string& path, Workload& w) {
  if (auto md = r.Sub(tmpl, "metadata", path)) {
    std::string mp = Reader::Join(path, "metadata");
    w.template_labels = r.StrMap(*md, "labels", mp);
    w.template_annotations = r.StrMap(*md, "annotations", mp);
  }
  if (auto spec = r.Sub(tmpl, "spec", path)) DecodePodSpec(r, *spec, Reader::Join(path, "spec"), w);
}

// In offline mode, a field the API server would have required.
void Require(Reader& r, bool offline, bool present, const std::string& path) {
  if (offline && !present) r.Fail(path, "is missing");
}

Workload DecodeWorkload(Reader& r, const dom::element& obj, const Meta& meta, WorkloadKind kind,
                        const Annotations& annotations, bool offline) {
  Workload w;
  w.kind = kind;
  w.ns = meta.ns;
  w.name = meta.name;
  w.uid = meta.uid;
  w.labels = meta.labels;
  w.annotations = annotations;
  // Only these kinds are ever run by another workload; a Deployment owned by
  // an operator is still a workload of its own.
  w.has_controller = meta.controller.has_value() &&
                     (kind == WorkloadKind::kPod || kind == WorkloadKind::kReplicaSet ||
                      kind == WorkloadKind::kJob);
  auto spec = r.Sub(obj, "spec", "");
  if (kind == WorkloadKind::kPod) {
    w.template_labels = meta.labels;
    w.template_annotations = annotations;
    w.pod_selector.match_labels = meta.labels;
    if (spec) DecodePodSpec(r, *spec, "spec", w);
    return w;
  }
  Require(r, offline, spec.has_value(), "spec");
  if (!spec) return w;
  if (kind == WorkloadKind::kCronJob) {
    // The Jobs' selectors are generated by the server; the template labels
    // select the same pods.
    auto job = r.Sub(*spec, "jobTemplate", "spec");
    Require(r, offline, job.has_value(), "spec.jobTemplate");
    auto job_spec = job ? r.Sub(*job, "spec", "spec.jobTemplate") : std::nullopt;
    if (job) Require(r, offline, job_spec.has_value(), "spec.jobTemplate.spec");
    auto tmpl = job_spec ? r.Sub(*job_spec, "template", "spec.jobTemplate.spec") : std::nullopt;
    if (job_spec) Require(r, offline, tmpl.has_value(), "spec.jobTemplate.spec.template");
    if (tmpl) DecodeTemplate(r, *tmpl, "spec.jobTemplate.spec.template", w);
    w.pod_selector.match_labels = w.template_labels;
    return w;
  }
  auto tmpl = r.Sub(*spec, "template", "spec");
  Require(r, offline, tmpl.has_value(), "spec.template");
  if (tmpl) DecodeTemplate(r, *tmpl, "spec.template", w);
  if (auto sel = OptSelector(r, *spec, "selector", "spec")) {
    w.pod_selector = std::move(*sel);
  } else {
    // A Job's selector is generated by the server; offline, its template
    // labels select the same pods among this workload's peers. Every other
    // kind must have one (the server never returns one without).
    if (kind != WorkloadKind::kJob) Require(r, offline, false, "spec.selector");
    w.pod_selector.match_labels = w.template_labels;
  }
  return w;
}

Service DecodeService(Reader& r, const dom::element& obj, const Meta& meta, bool offline) {
  Service s;
  s.ns = meta.ns;
  s.name = meta.name;
  auto spec = r.Sub(obj, "spec", "");
  if (!spec) return s;
  std::string type = r.Str(*spec, "type", "spec");
  if (!type.empty()) s.type = std::move(type);
  if (r.Child(*spec, "selector")) {
    Labels sel = r.StrMap(*spec, "selector", "spec");
    // An empty selector selects no pods (the endpoint controllers skip it).
    if (!sel.empty()) s.selector = std::move(sel);
  }
  s.external_name = r.Str(*spec, "externalName", "spec");
  const std::string cluster_ip = r.Str(*spec, "clusterIP", "spec");
  s.headless = cluster_ip == "None";
  for (std::string& ip : r.StrList(*spec, "clusterIPs", "spec")) {
    if (!ip.empty() && ip != "None") s.cluster_ips.push_back(std::move(ip));
  }
  if (s.cluster_ips.empty() && !cluster_ip.empty() && cluster_ip != "None") {
    s.cluster_ips.push_back(cluster_ip);
  }
  if (auto ports = r.Arr(*spec, "ports", "spec")) {
    size_t i = 0;
    for (dom::element p : *ports) {
      std::string path = Reader::Index("spec.ports", i++);
      if (!r.IsObj(p, path)) continue;
      ServicePort port;
      port.name = r.Str(p, "name", path);
      std::string proto = r.Str(p, "protocol", path);
      if (!proto.empty()) port.protocol = std::move(proto);
      Require(r, offline, r.Child(p, "port").has_value(), Reader::Join(path, "port"));
      port.port = r.Int(p, "port", path);
      port.target_port = r.IntOrStr(p, "targetPort", path);
      port.node_port = r.Int(p, "nodePort", path);
      s.ports.push_back(std::move(port));
    }
  }
  return s;
}

EndpointSlice DecodeEndpointSlice(Reader& r, const dom::element& obj, const Meta& meta) {
  EndpointSlice s;
  s.ns = meta.ns;
  s.name = meta.name;
  if (auto it = meta.labels.find("kubernetes.io/service-name"); it != meta.labels.end()) {
    s.service_name = it->second;
  }
  std::string type = r.Str(obj, "addressType", "");
  if (!type.empty()) s.address_type = std::move(type);
  if (auto eps = r.Arr(obj, "endpoints", "")) {
    size_t i = 0;
    for (dom::element e : *eps) {
      std::string path = Reader::Index("endpoints", i++);
      if (!r.IsObj(e, path)) continue;
      for (auto& a : r.StrList(e, "addresses", path)) s.addresses.push_back(std::move(a));
    }
  }
  if (auto ports = r.Arr(obj, "ports", "")) {
    size_t i = 0;
    for (dom::element p : *ports) {
      std::string path = Reader::Index("ports", i++);
      if (!r.IsObj(p, path)) continue;
      EndpointPort port;
      port.name = r.Str(p, "name", path);
      port.port = r.Int(p, "port", path);
      std::string proto = r.Str(p, "protocol", path);
      if (!proto.empty()) port.protocol = std::move(proto);
      s.ports.push_back(std::move(port));
    }
  }
  return s;
}

std::optional<IngressBackend> DecodeIngressBackend(Reader& r, const dom::element& backend,
                                                   const std::string& path) {
  auto svc = r.Sub(backend, "service", path);
  if (!svc) return std::nullopt;  // a resource backend routes to no Service
  std::string sp = Reader::Join(path, "service");
  IngressBackend b;
  b.service_name = r.Str(*svc, "name", sp);
  if (auto port = r.Sub(*svc, "port", sp)) {
    std::string pp = Reader::Join(sp, "port");
    if (r.Child(*port, "number")) {
      b.service_port.num = r.Int(*port, "number", pp);
    } else {
      b.service_port.str = r.Str(*port, "name", pp);
    }
  }
  return b;
}

Ingress DecodeIngress(Reader& r, const dom::element& obj, const Meta& meta) {
  Ingress ing;
  ing.ns = meta.ns;
  ing.name = meta.name;
  auto spec = r.Sub(obj, "spec", "");
  if (!spec) return ing;
  ing.ingress_class = r.Str(*spec, "ingressClassName", "spec");
  if (auto def = r.Sub(*spec, "defaultBackend", "spec")) {
    if (auto b = DecodeIngressBackend(r, *def, "spec.defaultBackend")) {
      ing.backends.push_back(std::move(*b));
    }
  }
  if (auto rules = r.Arr(*spec, "rules", "spec")) {
    size_t i = 0;
    for (dom::element rule : *rules) {
      std::string rp = Reader::Index("spec.rules", i++);
      if (!r.IsObj(rule, rp)) continue;
      auto http = r.Sub(rule, "http", rp);
      if (!http) continue;
      auto paths = r.Arr(*http, "paths", Reader::Join(rp, "http"));
      if (!paths) continue;
      size_t j = 0;
      for (dom::element p : *paths) {
        std::string pp = Reader::Index(Reader::Join(rp, "http.paths"), j++);
        if (!r.IsObj(p, pp)) continue;
        if (auto be = r.Sub(p, "backend", pp)) {
          if (auto b = DecodeIngressBackend(r, *be, Reader::Join(pp, "backend"))) {
            ing.backends.push_back(std::move(*b));
          }
        }
      }
    }
  }
  return ing;
}

ConfigMap DecodeConfigMap(Reader& r, const dom::element& obj, const Meta& meta) {
  ConfigMap cm;
  cm.ns = meta.ns;
  cm.name = meta.name;
  cm.data = r.StrMap(obj, "data", "");
  return cm;
}

std::vector<PolicyPeer> DecodePeers(Reader& r, const dom::element& rule, std::string_view key,
                                    const std::string& path) {
  std::vector<PolicyPeer> peers;
  auto list = r.Arr(rule, key, path);
  if (!list) return peers;
  size_t i = 0;
  for (dom::element e : *list) {
    std::string p = Reader::Index(Reader::Join(path, key), i++);
    if (!r.IsObj(e, p)) continue;
    PolicyPeer peer;
    peer.pod_selector = OptSelector(r, e, "podSelector", p);
    peer.namespace_selector = OptSelector(r, e, "namespaceSelector", p);
    if (auto ib = r.Sub(e, "ipBlock", p)) {
      IPBlock block;
      block.cidr = r.Str(*ib, "cidr", Reader::Join(p, "ipBlock"));
      block.except = r.StrList(*ib, "except", Reader::Join(p, "ipBlock"));
      peer.ip_block = std::move(block);
    }
    peers.push_back(std::move(peer));
  }
  return peers;
}

std::vector<PolicyPort> DecodePolicyPorts(Reader& r, const dom::element& rule,
                                          const std::string& path) {
  std::vector<PolicyPort> ports;
  auto list = r.Arr(rule, "ports", path);
  if (!list) return ports;
  size_t i = 0;
  for (dom::element e : *list) {
    std::string p = Reader::Index(Reader::Join(path, "ports"), i++);
    if (!r.IsObj(e, p)) continue;
    PolicyPort port;
    std::string proto = r.Str(e, "protocol", p);
    if (!proto.empty()) port.protocol = std::move(proto);
    port.port = r.IntOrStr(e, "port", p);
    if (r.Child(e, "endPort")) port.end_port = r.Int(e, "endPort", p);
    ports.push_back(std::move(port));
  }
  return ports;
}

NetworkPolicy DecodeNetworkPolicy(Reader& r, const dom::element& obj, const Meta& meta,
                                  const Annotations& annotations) {
  NetworkPolicy np;
  np.ns = meta.ns;
  np.name = meta.name;
  np.labels = meta.labels;
  np.annotations = annotations;
  np.owner = meta.controller;
  np.policy_types.clear();
  auto spec = r.Sub(obj, "spec", "");
  if (!spec) return np;
  if (auto sel = OptSelector(r, *spec, "podSelector", "spec")) np.pod_selector = std::move(*sel);
  np.policy_types = r.StrList(*spec, "policyTypes", "spec");
  for (auto [key, peers_key] : {std::pair{"ingress", "from"}, std::pair{"egress", "to"}}) {
    auto rules = r.Arr(*spec, key, "spec");
    if (!rules) continue;
    auto& out = std::string_view(key) == "ingress" ? np.ingress : np.egress;
    size_t i = 0;
    for (dom::element rule : *rules) {
      std::string p = Reader::Index(Reader::Join("spec", key), i++);
      if (!r.IsObj(rule, p)) continue;
      PolicyRule pr;
      pr.peers = DecodePeers(r, rule, peers_key, p);
      pr.ports = DecodePolicyPorts(r, rule, p);
      out.push_back(std::move(pr));
    }
  }
  return np;
}

// A Pod as PodMeta; spec and status are read when the payload has them.
PodMeta DecodePodMeta(Reader& r, const dom::element& obj, const Meta& meta) {
  PodMeta p;
  p.labels = meta.labels;
  if (auto spec = r.Sub(obj, "spec", "")) {
    p.node_name = r.Str(*spec, "nodeName", "spec");
    p.host_network = r.Bool(*spec, "hostNetwork", "spec");
  }
  if (auto status = r.Sub(obj, "status", "")) {
    const std::string phase = r.Str(*status, "phase", "status");
    p.terminated = phase == "Succeeded" || phase == "Failed";
    if (auto ips = r.Arr(*status, "podIPs", "status")) {
      size_t i = 0;
      for (dom::element e : *ips) {
        std::string path = Reader::Index("status.podIPs", i++);
        if (!r.IsObj(e, path)) continue;
        std::string ip = r.Str(e, "ip", path);
        if (!ip.empty()) p.ips.push_back(std::move(ip));
      }
    }
    if (p.ips.empty()) {
      std::string ip = r.Str(*status, "podIP", "status");
      if (!ip.empty()) p.ips.push_back(std::move(ip));
    }
  }
  return p;
}

// Reads apiVersion, kind and metadata. `has_metadata` tells whether the
// object had a metadata object at all.
Meta DecodeMeta(Reader& r, const dom::element& obj, Annotations* annotations, bool* has_metadata) {
  Meta m;
  m.api_version = r.Str(obj, "apiVersion", "");
  m.kind = r.Str(obj, "kind", "");
  auto md = r.Sub(obj, "metadata", "");
  *has_metadata = md.has_value();
  if (!md) return m;
  m.name = r.Str(*md, "name", "metadata");
  m.ns = r.Str(*md, "namespace", "metadata");
  m.uid = r.Str(*md, "uid", "metadata");
  m.resource_version = r.Str(*md, "resourceVersion", "metadata");
  m.creation_timestamp = r.Str(*md, "creationTimestamp", "metadata");
  m.labels = r.StrMap(*md, "labels", "metadata");
  if (annotations) *annotations = r.StrMap(*md, "annotations", "metadata");
  m.deleting = r.Child(*md, "deletionTimestamp").has_value();
  if (auto owners = r.Arr(*md, "ownerReferences", "metadata")) {
    size_t i = 0;
    for (dom::element o : *owners) {
      std::string p = Reader::Index("metadata.ownerReferences", i++);
      if (!r.IsObj(o, p) || !r.Bool(o, "controller", p)) continue;
      OwnerReference ref;
      ref.api_version = r.Str(o, "apiVersion", p);
      ref.kind = r.Str(o, "kind", p);
      ref.name = r.Str(o, "name", p);
      ref.uid = r.Str(o, "uid", p);
      m.controller = std::move(ref);
    }
  }
  return m;
}

}  // namespace

Decoder::Decoder() : parser_(std::make_unique<dom::parser>()) {}
Decoder::~Decoder() = default;

StatusOr<Object> Decoder::DecodeElement(const dom::element& element, const DecodeOptions& options,
                                        std::string* error_path) {
  if (error_path) error_path->clear();
  if (!element.is_object()) return InvalidArgument("expected a Kubernetes object (a JSON map)");
  Reader r;
  Object out;
  Annotations annotations;
  bool has_metadata = false;
  out.meta = DecodeMeta(r, element, &annotations, &has_metadata);
  if (out.meta.kind.empty() ||
      (out.meta.kind == "PartialObjectMetadata" && !options.default_kind.empty())) {
    out.meta.kind = std::string(options.default_kind);
  }
  const std::string& kind = out.meta.kind;
  if (out.meta.ns.empty() && kind != "Namespace") {
    out.meta.ns = std::string(options.default_namespace);
  }
  const bool offline = options.offline;
  const bool pod_meta_only = options.pod_meta_only;
  auto require_name = [&] {
    Require(r, offline, has_metadata, "metadata");
    Require(r, offline, !out.meta.name.empty(), "metadata.name");
  };
  if (r.ok()) {
    if (kind == "Pod" && pod_meta_only) {
      out.value = DecodePodMeta(r, element, out.meta);
    } else if (auto wk = ParseKind(kind)) {
      require_name();
      if (r.ok()) out.value = DecodeWorkload(r, element, out.meta, *wk, annotations, offline);
    } else if (kind == "PartialObjectMetadata") {
      PodMeta p;
      p.labels = out.meta.labels;
      out.value = std::move(p);
    } else if (kind == "Service") {
      require_name();
      if (r.ok()) out.value = DecodeService(r, element, out.meta, offline);
    } else if (kind == "EndpointSlice") {
      require_name();
      if (r.ok()) out.value = DecodeEndpointSlice(r, element, out.meta);
    } else if (kind == "Ingress") {
      require_name();
      if (r.ok()) out.value = DecodeIngress(r, element, out.meta);
    } else if (kind == "ConfigMap") {
      require_name();
      if (r.ok()) out.value = DecodeConfigMap(r, element, out.meta);
    } else if (kind == "Namespace") {
      require_name();
      Namespace ns{out.meta.name, out.meta.labels, annotations};
      // The API server sets this label on every Namespace; offline, nobody does.
      ns.labels[std::string(kNamespaceNameLabel)] = out.meta.name;
      out.value = std::move(ns);
    } else if (kind == "NetworkPolicy") {
      out.value = StoredPolicy{DecodeNetworkPolicy(r, element, out.meta, annotations)};
    }
  }
  if (!r.ok()) {
    if (error_path) *error_path = r.error_path();
    return r.error(out.meta);
  }
  return out;
}

namespace {
StatusOr<dom::element> Parse(dom::parser& parser, std::string_view json) {
  dom::element doc;
  auto err = parser.parse(json.data(), json.size(), /*realloc_if_needed=*/true).get(doc);
  if (err) return InvalidArgument(std::string("invalid JSON: ") + simdjson::error_message(err));
  return doc;
}
}  // namespace

StatusOr<Object> Decoder::Decode(std::string_view json, const DecodeOptions& options,
                                 std::string* error_path) {
  if (error_path) error_path->clear();
  NPC_ASSIGN_OR_RETURN(dom::element doc, Parse(*parser_, json));
  return DecodeElement(doc, options, error_path);
}

}  // namespace npc::decode
