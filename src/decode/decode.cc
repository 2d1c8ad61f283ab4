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

  void Fail(const std::string& path, std::string_view what) {
    if (!ok()) return;
    error_ = InvalidArgument(path + ": " + std::string(what));
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
      std::string_view s;
      if (v.is_null()) continue;
      if (v.get_string().get(s)) {
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
      std::string_view s;
      if (item.get_string().get(s)) {
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
};

LabelSelector DecodeSelector(Reader& r, const dom::element& sel, const std::string& path) {
  LabelSelector s;
  s.match_labels = r.StrMap(sel, "matchLabels", path);
  if (auto exprs = r.Arr(sel, "matchExpressions", path)) {
    size_t i = 0;
    for (dom::element e : *exprs) {
      std::string p = Reader::Index(Reader::Join(path, "matchExpressions"), i++);
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
  auto c = r.Child(e, key);
  if (!c) return std::nullopt;
  if (!c->is_object()) {
    r.Fail(Reader::Join(path, key), "expected an object");
    return std::nullopt;
  }
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
      if (auto from = r.Child(e, "valueFrom")) {
        std::string fp = Reader::Join(p, "valueFrom");
        if (auto ref = r.Child(*from, "configMapKeyRef")) {
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
      if (auto ref = r.Child(e, "configMapRef")) {
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

// Reads a PodSpec into `w` (containers, volumes, hostNetwork).
void DecodePodSpec(Reader& r, const dom::element& spec, const std::string& path, Workload& w) {
  for (auto [key, init] : {std::pair{"initContainers", true}, std::pair{"containers", false}}) {
    if (auto cs = r.Arr(spec, key, path)) {
      size_t i = 0;
      for (dom::element c : *cs) {
        w.containers.push_back(
            DecodeContainer(r, c, Reader::Index(Reader::Join(path, key), i++), init));
      }
    }
  }
  if (auto vols = r.Arr(spec, "volumes", path)) {
    size_t i = 0;
    for (dom::element v : *vols) {
      std::string p = Reader::Index(Reader::Join(path, "volumes"), i++);
      if (auto cm = r.Child(v, "configMap")) {
        w.config_map_volumes.push_back(r.Str(*cm, "name", Reader::Join(p, "configMap")));
      }
      if (auto projected = r.Child(v, "projected")) {
        std::string pp = Reader::Join(p, "projected");
        if (auto sources = r.Arr(*projected, "sources", pp)) {
          for (dom::element s : *sources) {
            if (auto cm = r.Child(s, "configMap")) {
              w.config_map_volumes.push_back(r.Str(*cm, "name", Reader::Join(pp, "sources")));
            }
          }
        }
      }
    }
  }
  w.host_network = r.Bool(spec, "hostNetwork", path);
}

// Reads a PodTemplateSpec (metadata + spec) into `w`.
void DecodeTemplate(Reader& r, const dom::element& tmpl, const std::string& path, Workload& w) {
  if (auto md = r.Child(tmpl, "metadata")) {
    std::string mp = Reader::Join(path, "metadata");
    w.template_labels = r.StrMap(*md, "labels", mp);
    w.template_annotations = r.StrMap(*md, "annotations", mp);
  }
  if (auto spec = r.Child(tmpl, "spec")) DecodePodSpec(r, *spec, Reader::Join(path, "spec"), w);
}

Workload DecodeWorkload(Reader& r, const dom::element& obj, const Meta& meta, WorkloadKind kind,
                        const Annotations& annotations) {
  Workload w;
  w.kind = kind;
  w.ns = meta.ns;
  w.name = meta.name;
  w.uid = meta.uid;
  w.labels = meta.labels;
  w.annotations = annotations;
  w.has_controller = meta.controller.has_value();
  auto spec = r.Child(obj, "spec");
  if (kind == WorkloadKind::kPod) {
    w.template_labels = meta.labels;
    w.template_annotations = annotations;
    w.pod_selector.match_labels = meta.labels;
    if (spec) DecodePodSpec(r, *spec, "spec", w);
    return w;
  }
  if (!spec) return w;
  if (kind == WorkloadKind::kCronJob) {
    auto job = r.Child(*spec, "jobTemplate");
    auto job_spec = job ? r.Child(*job, "spec") : std::nullopt;
    auto tmpl = job_spec ? r.Child(*job_spec, "template") : std::nullopt;
    if (tmpl) DecodeTemplate(r, *tmpl, "spec.jobTemplate.spec.template", w);
    w.pod_selector.match_labels = w.template_labels;
    return w;
  }
  if (auto tmpl = r.Child(*spec, "template")) DecodeTemplate(r, *tmpl, "spec.template", w);
  if (auto sel = OptSelector(r, *spec, "selector", "spec")) {
    w.pod_selector = std::move(*sel);
  } else {
    // A Job's selector is generated by the server; offline, its template
    // labels stand for it.
    w.pod_selector.match_labels = w.template_labels;
  }
  return w;
}

Service DecodeService(Reader& r, const dom::element& obj, const Meta& meta) {
  Service s;
  s.ns = meta.ns;
  s.name = meta.name;
  auto spec = r.Child(obj, "spec");
  if (!spec) return s;
  std::string type = r.Str(*spec, "type", "spec");
  if (!type.empty()) s.type = std::move(type);
  if (r.Child(*spec, "selector")) {
    Labels sel = r.StrMap(*spec, "selector", "spec");
    // An empty selector selects no pods (the endpoint controllers skip it).
    if (!sel.empty()) s.selector = std::move(sel);
  }
  s.external_name = r.Str(*spec, "externalName", "spec");
  s.headless = r.Str(*spec, "clusterIP", "spec") == "None";
  if (auto ports = r.Arr(*spec, "ports", "spec")) {
    size_t i = 0;
    for (dom::element p : *ports) {
      std::string path = Reader::Index("spec.ports", i++);
      ServicePort port;
      port.name = r.Str(p, "name", path);
      std::string proto = r.Str(p, "protocol", path);
      if (!proto.empty()) port.protocol = std::move(proto);
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
      for (auto& a : r.StrList(e, "addresses", Reader::Index("endpoints", i))) {
        s.addresses.push_back(std::move(a));
      }
      ++i;
    }
  }
  if (auto ports = r.Arr(obj, "ports", "")) {
    size_t i = 0;
    for (dom::element p : *ports) {
      std::string path = Reader::Index("ports", i++);
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
  auto svc = r.Child(backend, "service");
  if (!svc) return std::nullopt;  // a resource backend routes to no Service
  std::string sp = Reader::Join(path, "service");
  IngressBackend b;
  b.service_name = r.Str(*svc, "name", sp);
  if (auto port = r.Child(*svc, "port")) {
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
  auto spec = r.Child(obj, "spec");
  if (!spec) return ing;
  ing.ingress_class = r.Str(*spec, "ingressClassName", "spec");
  if (auto def = r.Child(*spec, "defaultBackend")) {
    if (auto b = DecodeIngressBackend(r, *def, "spec.defaultBackend")) {
      ing.backends.push_back(std::move(*b));
    }
  }
  if (auto rules = r.Arr(*spec, "rules", "spec")) {
    size_t i = 0;
    for (dom::element rule : *rules) {
      std::string rp = Reader::Index("spec.rules", i++);
      auto http = r.Child(rule, "http");
      if (!http) continue;
      if (auto paths = r.Arr(*http, "paths", Reader::Join(rp, "http"))) {
        size_t j = 0;
        for (dom::element p : *paths) {
          std::string pp = Reader::Index(Reader::Join(rp, "http.paths"), j++);
          if (auto be = r.Child(p, "backend")) {
            if (auto b = DecodeIngressBackend(r, *be, Reader::Join(pp, "backend"))) {
              ing.backends.push_back(std::move(*b));
            }
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
    PolicyPeer peer;
    peer.pod_selector = OptSelector(r, e, "podSelector", p);
    peer.namespace_selector = OptSelector(r, e, "namespaceSelector", p);
    if (auto ib = r.Child(e, "ipBlock")) {
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
  auto spec = r.Child(obj, "spec");
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
      PolicyRule pr;
      pr.peers = DecodePeers(r, rule, peers_key, p);
      pr.ports = DecodePolicyPorts(r, rule, p);
      out.push_back(std::move(pr));
    }
  }
  return np;
}

Meta DecodeMeta(Reader& r, const dom::element& obj, Annotations* annotations) {
  Meta m;
  m.api_version = r.Str(obj, "apiVersion", "");
  m.kind = r.Str(obj, "kind", "");
  auto md = r.Child(obj, "metadata");
  if (!md) return m;
  m.name = r.Str(*md, "name", "metadata");
  m.ns = r.Str(*md, "namespace", "metadata");
  m.uid = r.Str(*md, "uid", "metadata");
  m.resource_version = r.Str(*md, "resourceVersion", "metadata");
  m.labels = r.StrMap(*md, "labels", "metadata");
  if (annotations) *annotations = r.StrMap(*md, "annotations", "metadata");
  m.deleting = r.Child(*md, "deletionTimestamp").has_value();
  if (auto owners = r.Arr(*md, "ownerReferences", "metadata")) {
    size_t i = 0;
    for (dom::element o : *owners) {
      std::string p = Reader::Index("metadata.ownerReferences", i++);
      if (!r.Bool(o, "controller", p)) continue;
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

StatusOr<Object> Decoder::DecodeElement(const dom::element& element,
                                        const DecodeOptions& options) {
  if (!element.is_object()) return InvalidArgument("expected a Kubernetes object (a JSON map)");
  Reader r;
  Object out;
  Annotations annotations;
  out.meta = DecodeMeta(r, element, &annotations);
  if (out.meta.kind.empty() || (out.meta.kind == "PartialObjectMetadata" &&
                                !options.default_kind.empty())) {
    out.meta.kind = std::string(options.default_kind);
  }
  const std::string& kind = out.meta.kind;
  const bool pod_meta_only = options.pod_meta_only;
  if (r.ok()) {
    if (kind == "Pod" && pod_meta_only) {
      out.value = PodMeta{out.meta.labels};
    } else if (auto wk = ParseKind(kind)) {
      out.value = DecodeWorkload(r, element, out.meta, *wk, annotations);
    } else if (kind == "PartialObjectMetadata") {
      out.value = PodMeta{out.meta.labels};
    } else if (kind == "Service") {
      out.value = DecodeService(r, element, out.meta);
    } else if (kind == "EndpointSlice") {
      out.value = DecodeEndpointSlice(r, element, out.meta);
    } else if (kind == "Ingress") {
      out.value = DecodeIngress(r, element, out.meta);
    } else if (kind == "ConfigMap") {
      out.value = DecodeConfigMap(r, element, out.meta);
    } else if (kind == "Namespace") {
      out.value = Namespace{out.meta.name, out.meta.labels, annotations};
    } else if (kind == "NetworkPolicy") {
      out.value = StoredPolicy{DecodeNetworkPolicy(r, element, out.meta, annotations)};
    }
  }
  if (!r.ok()) return r.error(out.meta);
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

StatusOr<Object> Decoder::Decode(std::string_view json, const DecodeOptions& options) {
  NPC_ASSIGN_OR_RETURN(dom::element doc, Parse(*parser_, json));
  return DecodeElement(doc, options);
}

}  // namespace npc::decode
