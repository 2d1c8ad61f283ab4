#include "decode/decode.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <string>

#include "observedflows/observed_flows.h"
#include "synth/refs.h"

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

  int64_t Int64(const dom::element& e, std::string_view key, const std::string& path) {
    auto c = Child(e, key);
    if (!c) return 0;
    int64_t v = 0;
    if (c->get_int64().get(v)) Fail(Join(path, key), "expected an integer");
    return v;
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

  // `keep`, when given, says which keys to keep (the others are checked,
  // never copied).
  std::map<std::string, std::string> StrMap(const dom::element& e, std::string_view key,
                                            const std::string& path,
                                            bool (*keep)(std::string_view) = nullptr) {
    std::map<std::string, std::string> m;
    auto o = Obj(e, key, path);
    if (!o) return m;
    for (auto [k, v] : *o) {
      std::string_view s;  // null decodes to "", as in Go's encoding/json
      if (!v.is_null() && v.get_string().get(s)) {
        Fail(Join(Join(path, key), k), "expected a string");
        continue;
      }
      if (keep && !keep(k)) continue;
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

  // Calls `f(item, item_path)` for each object in the list at `key`, with
  // item_path "<path>.<key>[i]": the loop every list of objects shares. Null
  // items are skipped quietly, items of another type are errors (IsObj).
  template <class F>
  void EachObj(const dom::element& e, std::string_view key, const std::string& path, F&& f) {
    auto a = Arr(e, key, path);
    if (!a) return;
    const std::string list = Join(path, key);
    size_t i = 0;
    for (dom::element item : *a) {
      const std::string p = Index(list, i++);
      if (IsObj(item, p)) f(item, p);
    }
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

// Standard base64 (RFC 4648, with or without padding; white space is
// skipped, as the API server's JSON never has any). False on other bytes.
bool Base64Decode(std::string_view in, std::string* out) {
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+') {
      v = 62;
    } else if (c == '/') {
      v = 63;
    } else if (c == '=' || c == '\n' || c == '\r' || c == ' ') {
      continue;
    } else {
      return false;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

LabelSelector DecodeSelector(Reader& r, const dom::element& sel, const std::string& path) {
  LabelSelector s;
  s.match_labels = r.StrMap(sel, "matchLabels", path);
  r.EachObj(sel, "matchExpressions", path, [&](const dom::element& e, const std::string& p) {
    LabelSelectorRequirement req;
    req.key = r.Str(e, "key", p);
    req.op = r.Str(e, "operator", p);
    req.values = r.StrList(e, "values", p);
    s.match_expressions.push_back(std::move(req));
  });
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
  r.EachObj(c, "env", path, [&](const dom::element& e, const std::string& p) {
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
      if (auto ref = r.Sub(*from, "secretKeyRef", fp)) {
        std::string rp = Reader::Join(fp, "secretKeyRef");
        v.secret_name = r.Str(*ref, "name", rp);
        v.secret_key = r.Str(*ref, "key", rp);
      }
    }
    out.env.push_back(std::move(v));
  });
  r.EachObj(c, "envFrom", path, [&](const dom::element& e, const std::string& p) {
    auto cm = r.Sub(e, "configMapRef", p);
    auto secret = r.Sub(e, "secretRef", p);
    if (!cm && !secret) return;
    EnvFromSource s;
    if (cm) s.config_map_name = r.Str(*cm, "name", Reader::Join(p, "configMapRef"));
    if (secret) s.secret_name = r.Str(*secret, "name", Reader::Join(p, "secretRef"));
    s.prefix = r.Str(e, "prefix", p);
    out.env_from.push_back(std::move(s));
  });
  out.command = r.StrList(c, "command", path);
  out.args = r.StrList(c, "args", path);
  r.EachObj(c, "ports", path, [&](const dom::element& e, const std::string& p) {
    ContainerPort port;
    port.name = r.Str(e, "name", p);
    port.port = r.Int(e, "containerPort", p);
    std::string proto = r.Str(e, "protocol", p);
    if (!proto.empty()) port.protocol = std::move(proto);
    out.ports.push_back(std::move(port));
  });
  return out;
}

// What a PodSpec holds for synthesis.
struct PodSpecParts {
  std::vector<Container>* containers;
  std::vector<std::string>* config_map_volumes;
  std::vector<std::string>* secret_volumes;
  bool* host_network;
};

// Reads a PodSpec (containers, ConfigMap and Secret volumes, hostNetwork).
void DecodePodSpec(Reader& r, const dom::element& spec, const std::string& path,
                   const PodSpecParts& out) {
  for (auto [key, init] : {std::pair{"initContainers", true}, std::pair{"containers", false}}) {
    r.EachObj(spec, key, path, [&, init = init](const dom::element& c, const std::string& p) {
      out.containers->push_back(DecodeContainer(r, c, p, init));
    });
  }
  r.EachObj(spec, "volumes", path, [&](const dom::element& v, const std::string& p) {
    if (auto cm = r.Sub(v, "configMap", p)) {
      out.config_map_volumes->push_back(r.Str(*cm, "name", Reader::Join(p, "configMap")));
    }
    if (auto secret = r.Sub(v, "secret", p)) {
      out.secret_volumes->push_back(r.Str(*secret, "secretName", Reader::Join(p, "secret")));
    }
    auto projected = r.Sub(v, "projected", p);
    if (!projected) return;
    r.EachObj(*projected, "sources", Reader::Join(p, "projected"),
              [&](const dom::element& s, const std::string& sp) {
                if (auto cm = r.Sub(s, "configMap", sp)) {
                  out.config_map_volumes->push_back(
                      r.Str(*cm, "name", Reader::Join(sp, "configMap")));
                }
                if (auto secret = r.Sub(s, "secret", sp)) {
                  out.secret_volumes->push_back(r.Str(*secret, "name", Reader::Join(sp, "secret")));
                }
              });
  });
  *out.host_network = r.Bool(spec, "hostNetwork", path);
}

void DecodePodSpec(Reader& r, const dom::element& spec, const std::string& path, Workload& w) {
  DecodePodSpec(r, spec, path,
                {&w.containers, &w.config_map_volumes, &w.secret_volumes, &w.host_network});
}

// Reads a PodTemplateSpec (metadata + spec) into `w`.
void DecodeTemplate(Reader& r, const dom::element& tmpl, const std::string& path, Workload& w) {
  if (auto md = r.Sub(tmpl, "metadata", path)) {
    std::string mp = Reader::Join(path, "metadata");
    w.template_labels = r.StrMap(*md, "labels", mp);
    w.template_annotations = r.StrMap(*md, "annotations", mp, &SynthesisReadsAnnotation);
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
  if (w.has_controller) w.controller = meta.controller;
  if (kind == WorkloadKind::kReplicaSet || kind == WorkloadKind::kJob) {
    w.created = meta.creation_timestamp;
  }
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
  s.labels = meta.labels;
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
  r.EachObj(*spec, "ports", "spec", [&](const dom::element& p, const std::string& path) {
    ServicePort port;
    port.name = r.Str(p, "name", path);
    std::string proto = r.Str(p, "protocol", path);
    if (!proto.empty()) port.protocol = std::move(proto);
    Require(r, offline, r.Child(p, "port").has_value(), Reader::Join(path, "port"));
    port.port = r.Int(p, "port", path);
    port.target_port = r.IntOrStr(p, "targetPort", path);
    port.node_port = r.Int(p, "nodePort", path);
    s.ports.push_back(std::move(port));
  });
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
  r.EachObj(obj, "endpoints", "", [&](const dom::element& e, const std::string& path) {
    for (auto& a : r.StrList(e, "addresses", path)) s.addresses.push_back(std::move(a));
  });
  r.EachObj(obj, "ports", "", [&](const dom::element& p, const std::string& path) {
    EndpointPort port;
    port.name = r.Str(p, "name", path);
    port.port = r.Int(p, "port", path);
    std::string proto = r.Str(p, "protocol", path);
    if (!proto.empty()) port.protocol = std::move(proto);
    s.ports.push_back(std::move(port));
  });
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

Ingress DecodeIngress(Reader& r, const dom::element& obj, const Meta& meta,
                      const Annotations& annotations) {
  Ingress ing;
  ing.ns = meta.ns;
  ing.name = meta.name;
  if (auto it = annotations.find("kubernetes.io/ingress.class"); it != annotations.end()) {
    ing.class_annotation = it->second;
  }
  auto spec = r.Sub(obj, "spec", "");
  if (!spec) return ing;
  ing.ingress_class = r.Str(*spec, "ingressClassName", "spec");
  if (auto def = r.Sub(*spec, "defaultBackend", "spec")) {
    if (auto b = DecodeIngressBackend(r, *def, "spec.defaultBackend")) {
      ing.backends.push_back(std::move(*b));
    }
  }
  r.EachObj(*spec, "rules", "spec", [&](const dom::element& rule, const std::string& rp) {
    auto http = r.Sub(rule, "http", rp);
    if (!http) return;
    r.EachObj(*http, "paths", Reader::Join(rp, "http"),
              [&](const dom::element& p, const std::string& pp) {
                if (auto be = r.Sub(p, "backend", pp)) {
                  if (auto b = DecodeIngressBackend(r, *be, Reader::Join(pp, "backend"))) {
                    ing.backends.push_back(std::move(*b));
                  }
                }
              });
  });
  return ing;
}

// A controlled Pod: labels, owner, address and (unless meta only) its spec.
Pod DecodeControlledPod(Reader& r, const dom::element& obj, const Meta& meta,
                        const Annotations& annotations) {
  Pod p;
  p.ns = meta.ns;
  p.name = meta.name;
  p.labels = meta.labels;
  p.controller = meta.controller;
  if (auto status = r.Sub(obj, "status", "")) p.ip = r.Str(*status, "podIP", "status");
  if (auto spec = r.Sub(obj, "spec", "")) {
    Pod::Spec s;
    s.annotations = annotations;
    DecodePodSpec(r, *spec, "spec",
                  {&s.containers, &s.config_map_volumes, &s.secret_volumes, &p.host_network});
    p.spec = std::move(s);
  }
  return p;
}

// Secret data (base64) and stringData (plain, in manifests), reduced to host
// names. The decoded value lives only in this function.
Secret DecodeSecret(Reader& r, const dom::element& obj, const Meta& meta) {
  Secret s;
  s.ns = meta.ns;
  s.name = meta.name;
  auto add = [&](const std::string& key, std::string_view value) {
    bool exact = false;
    std::string hosts = synth::ReduceToHosts(value, &exact);
    if (exact) s.exact.push_back(key);
    if (!hosts.empty()) s.hosts[key] = std::move(hosts);
  };
  for (const auto& [k, v] : r.StrMap(obj, "data", "")) {
    std::string decoded;
    if (!Base64Decode(v, &decoded)) {
      r.Fail(Reader::Join("data", k), "not base64");
      break;
    }
    add(k, decoded);
  }
  for (const auto& [k, v] : r.StrMap(obj, "stringData", "")) add(k, v);
  std::sort(s.exact.begin(), s.exact.end());
  s.exact.erase(std::unique(s.exact.begin(), s.exact.end()), s.exact.end());
  return s;
}

IngressClass DecodeIngressClass(Reader& r, const dom::element& obj, const Meta& meta,
                                const Annotations& annotations) {
  IngressClass c;
  c.name = meta.name;
  auto it = annotations.find("ingressclass.kubernetes.io/is-default-class");
  c.is_default = it != annotations.end() && it->second == "true";
  if (auto spec = r.Sub(obj, "spec", "")) c.controller = r.Str(*spec, "controller", "spec");
  return c;
}

Route DecodeRoute(Reader& r, const dom::element& obj, const Meta& meta) {
  Route route;
  route.ns = meta.ns;
  route.name = meta.name;
  auto spec = r.Sub(obj, "spec", "");
  if (!spec) return route;
  auto backend = [&](const dom::element& b, const std::string& path) {
    std::string kind = r.Str(b, "kind", path);
    if (!kind.empty() && kind != "Service") return;  // nothing else is routed to
    route.services.push_back(r.Str(b, "name", path));
  };
  if (auto to = r.Sub(*spec, "to", "spec")) backend(*to, "spec.to");
  r.EachObj(*spec, "alternateBackends", "spec", backend);
  if (auto port = r.Sub(*spec, "port", "spec")) {
    route.target_port = r.IntOrStr(*port, "targetPort", "spec.port");
  }
  return route;
}

Gateway DecodeGateway(Reader& r, const dom::element& obj, const Meta& meta) {
  Gateway g;
  g.ns = meta.ns;
  g.name = meta.name;
  if (auto spec = r.Sub(obj, "spec", "")) g.gateway_class = r.Str(*spec, "gatewayClassName", "spec");
  return g;
}

GatewayClass DecodeGatewayClass(Reader& r, const dom::element& obj, const Meta& meta) {
  GatewayClass c;
  c.name = meta.name;
  if (auto spec = r.Sub(obj, "spec", "")) c.controller = r.Str(*spec, "controllerName", "spec");
  return c;
}

GatewayRoute DecodeGatewayRoute(Reader& r, const dom::element& obj, const Meta& meta) {
  GatewayRoute route;
  route.kind = meta.kind;
  route.ns = meta.ns;
  route.name = meta.name;
  auto spec = r.Sub(obj, "spec", "");
  if (!spec) return route;
  r.EachObj(*spec, "parentRefs", "spec", [&](const dom::element& e, const std::string& p) {
    GatewayRoute::Parent parent;
    if (r.Child(e, "group")) parent.group = r.Str(e, "group", p);
    if (r.Child(e, "kind")) parent.kind = r.Str(e, "kind", p);
    parent.ns = r.Str(e, "namespace", p);
    if (parent.ns.empty()) parent.ns = meta.ns;
    parent.name = r.Str(e, "name", p);
    route.parents.push_back(std::move(parent));
  });
  r.EachObj(*spec, "rules", "spec", [&](const dom::element& rule, const std::string& rp) {
    r.EachObj(rule, "backendRefs", rp, [&](const dom::element& e, const std::string& p) {
      GatewayRoute::Backend b;
      b.group = r.Str(e, "group", p);
      if (r.Child(e, "kind")) b.kind = r.Str(e, "kind", p);
      b.ns = r.Str(e, "namespace", p);
      if (b.ns.empty()) b.ns = meta.ns;
      b.name = r.Str(e, "name", p);
      if (r.Child(e, "port")) b.port = r.Int(e, "port", p);
      route.backends.push_back(std::move(b));
    });
  });
  return route;
}

// clientConfig.service {namespace, name, port (default 443)}; nullopt when
// the client config has none (a URL).
std::optional<ApiServerHook::Call> DecodeServiceReference(Reader& r, const dom::element& parent,
                                                          std::string_view key,
                                                          const std::string& path) {
  auto svc = r.Sub(parent, key, path);
  if (!svc) return std::nullopt;
  const std::string p = Reader::Join(path, key);
  ApiServerHook::Call c;
  c.ns = r.Str(*svc, "namespace", p);
  c.service = r.Str(*svc, "name", p);
  if (r.Child(*svc, "port")) c.port = r.Int(*svc, "port", p);
  return c;
}

ApiServerHook DecodeHook(Reader& r, const dom::element& obj, const Meta& meta,
                         ApiServerHook::Kind kind) {
  ApiServerHook h;
  h.kind = kind;
  h.name = meta.name;
  switch (kind) {
    case ApiServerHook::Kind::kValidatingWebhookConfiguration:
    case ApiServerHook::Kind::kMutatingWebhookConfiguration: {
      r.EachObj(obj, "webhooks", "", [&](const dom::element& w, const std::string& p) {
        auto cc = r.Sub(w, "clientConfig", p);
        if (!cc) return;
        if (auto call = DecodeServiceReference(r, *cc, "service", Reader::Join(p, "clientConfig"))) {
          call->webhook = r.Str(w, "name", p);
          h.calls.push_back(std::move(*call));
        }
      });
      break;
    }
    case ApiServerHook::Kind::kAPIService: {
      if (auto spec = r.Sub(obj, "spec", "")) {
        if (auto call = DecodeServiceReference(r, *spec, "service", "spec")) {
          h.calls.push_back(std::move(*call));
        }
      }
      break;
    }
    case ApiServerHook::Kind::kCustomResourceDefinition: {
      auto spec = r.Sub(obj, "spec", "");
      auto conv = spec ? r.Sub(*spec, "conversion", "spec") : std::nullopt;
      if (!conv) break;
      if (r.Str(*conv, "strategy", "spec.conversion") != "Webhook") break;
      std::optional<ApiServerHook::Call> call;
      if (auto wh = r.Sub(*conv, "webhook", "spec.conversion")) {  // apiextensions.k8s.io/v1
        if (auto cc = r.Sub(*wh, "clientConfig", "spec.conversion.webhook")) {
          call = DecodeServiceReference(r, *cc, "service", "spec.conversion.webhook.clientConfig");
        }
      } else if (auto cc = r.Sub(*conv, "webhookClientConfig", "spec.conversion")) {  // v1beta1
        call = DecodeServiceReference(r, *cc, "service", "spec.conversion.webhookClientConfig");
      }
      if (call) h.calls.push_back(std::move(*call));
      break;
    }
  }
  return h;
}

Prometheus DecodePrometheus(Reader& r, const dom::element& obj, const Meta& meta) {
  Prometheus p;
  p.ns = meta.ns;
  p.name = meta.name;
  auto spec = r.Sub(obj, "spec", "");
  if (!spec) return p;
  p.service_monitor_selector = OptSelector(r, *spec, "serviceMonitorSelector", "spec");
  p.service_monitor_namespace_selector =
      OptSelector(r, *spec, "serviceMonitorNamespaceSelector", "spec");
  p.pod_monitor_selector = OptSelector(r, *spec, "podMonitorSelector", "spec");
  p.pod_monitor_namespace_selector = OptSelector(r, *spec, "podMonitorNamespaceSelector", "spec");
  if (auto alerting = r.Sub(*spec, "alerting", "spec")) {
    r.EachObj(*alerting, "alertmanagers", "spec.alerting",
              [&](const dom::element& e, const std::string& path) {
                Prometheus::Alertmanager am;
                am.ns = r.Str(e, "namespace", path);
                if (am.ns.empty()) am.ns = meta.ns;
                am.service = r.Str(e, "name", path);
                am.port = r.IntOrStr(e, "port", path);
                p.alertmanagers.push_back(std::move(am));
              });
  }
  return p;
}

MonitorNamespaces DecodeMonitorNamespaces(Reader& r, const dom::element& spec) {
  MonitorNamespaces n;
  if (auto sel = r.Sub(spec, "namespaceSelector", "spec")) {
    n.any = r.Bool(*sel, "any", "spec.namespaceSelector");
    n.names = r.StrList(*sel, "matchNames", "spec.namespaceSelector");
  }
  return n;
}

ServiceMonitor DecodeServiceMonitor(Reader& r, const dom::element& obj, const Meta& meta) {
  ServiceMonitor m;
  m.ns = meta.ns;
  m.name = meta.name;
  m.labels = meta.labels;
  auto spec = r.Sub(obj, "spec", "");
  if (!spec) return m;
  m.namespaces = DecodeMonitorNamespaces(r, *spec);
  if (auto sel = OptSelector(r, *spec, "selector", "spec")) m.selector = std::move(*sel);
  r.EachObj(*spec, "endpoints", "spec", [&](const dom::element& e, const std::string& path) {
    ServiceMonitor::Endpoint ep;
    ep.port = r.Str(e, "port", path);
    ep.target_port = r.IntOrStr(e, "targetPort", path);
    m.endpoints.push_back(std::move(ep));
  });
  return m;
}

PodMonitor DecodePodMonitor(Reader& r, const dom::element& obj, const Meta& meta) {
  PodMonitor m;
  m.ns = meta.ns;
  m.name = meta.name;
  m.labels = meta.labels;
  auto spec = r.Sub(obj, "spec", "");
  if (!spec) return m;
  m.namespaces = DecodeMonitorNamespaces(r, *spec);
  if (auto sel = OptSelector(r, *spec, "selector", "spec")) m.selector = std::move(*sel);
  r.EachObj(*spec, "podMetricsEndpoints", "spec",
            [&](const dom::element& e, const std::string& path) {
              PodMonitor::Endpoint ep;
              ep.port = r.Str(e, "port", path);
              if (r.Child(e, "portNumber")) ep.port_number = r.Int(e, "portNumber", path);
              ep.target_port = r.IntOrStr(e, "targetPort", path);
              m.endpoints.push_back(std::move(ep));
            });
  return m;
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
  r.EachObj(rule, key, path, [&](const dom::element& e, const std::string& p) {
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
  });
  return peers;
}

std::vector<PolicyPort> DecodePolicyPorts(Reader& r, const dom::element& rule,
                                          const std::string& path) {
  std::vector<PolicyPort> ports;
  r.EachObj(rule, "ports", path, [&](const dom::element& e, const std::string& p) {
    PolicyPort port;
    std::string proto = r.Str(e, "protocol", p);
    if (!proto.empty()) port.protocol = std::move(proto);
    port.port = r.IntOrStr(e, "port", p);
    if (r.Child(e, "endPort")) port.end_port = r.Int(e, "endPort", p);
    ports.push_back(std::move(port));
  });
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
    auto& out = std::string_view(key) == "ingress" ? np.ingress : np.egress;
    r.EachObj(*spec, key, "spec",
              [&, peers_key = peers_key](const dom::element& rule, const std::string& p) {
                PolicyRule pr;
                pr.peers = DecodePeers(r, rule, peers_key, p);
                pr.ports = DecodePolicyPorts(r, rule, p);
                out.push_back(std::move(pr));
              });
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
    r.EachObj(*status, "podIPs", "status", [&](const dom::element& e, const std::string& path) {
      std::string ip = r.Str(e, "ip", path);
      if (!ip.empty()) p.ips.push_back(std::move(ip));
    });
    if (p.ips.empty()) {
      std::string ip = r.Str(*status, "podIP", "status");
      if (!ip.empty()) p.ips.push_back(std::move(ip));
    }
  }
  return p;
}

// Reads apiVersion, kind and metadata. `has_metadata` tells whether the
// object had a metadata object at all. Annotations are those synthesis reads
// (SynthesisReadsAnnotation), except a NetworkPolicy's (`default_kind` stands
// for the kind when the object names none): those are kept whole.
Meta DecodeMeta(Reader& r, const dom::element& obj, std::string_view default_kind,
                Annotations* annotations, bool* has_metadata) {
  Meta m;
  m.api_version = r.Str(obj, "apiVersion", "");
  m.kind = r.Str(obj, "kind", "");
  const std::string_view kind =
      m.kind.empty() || m.kind == "PartialObjectMetadata" ? default_kind : m.kind;
  bool (*keep_annotation)(std::string_view) =
      kind == "NetworkPolicy" ? nullptr : &SynthesisReadsAnnotation;
  auto md = r.Sub(obj, "metadata", "");
  *has_metadata = md.has_value();
  if (!md) return m;
  m.name = r.Str(*md, "name", "metadata");
  m.ns = r.Str(*md, "namespace", "metadata");
  m.uid = r.Str(*md, "uid", "metadata");
  m.resource_version = r.Str(*md, "resourceVersion", "metadata");
  m.generation = r.Int64(*md, "generation", "metadata");
  m.creation_timestamp = r.Str(*md, "creationTimestamp", "metadata");
  m.labels = r.StrMap(*md, "labels", "metadata");
  if (annotations) *annotations = r.StrMap(*md, "annotations", "metadata", keep_annotation);
  m.deleting = r.Child(*md, "deletionTimestamp").has_value();
  r.EachObj(*md, "ownerReferences", "metadata", [&](const dom::element& o, const std::string& p) {
    if (!r.Bool(o, "controller", p)) return;
    OwnerReference ref;
    ref.api_version = r.Str(o, "apiVersion", p);
    ref.kind = r.Str(o, "kind", p);
    ref.name = r.Str(o, "name", p);
    ref.uid = r.Str(o, "uid", p);
    m.controller = std::move(ref);
  });
  return m;
}

std::string GroupOf(std::string_view api_version) {
  const size_t slash = api_version.find('/');
  return slash == std::string_view::npos ? std::string() : std::string(api_version.substr(0, slash));
}

bool IsGatewayRouteKind(std::string_view kind) {
  for (std::string_view k : kGatewayRouteKinds) {
    if (k == kind) return true;
  }
  return false;
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
  out.meta = DecodeMeta(r, element, options.default_kind, &annotations, &has_metadata);
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
  // The API group, when the object names one (list items do not: their kind
  // comes from the list).
  const std::string group = GroupOf(out.meta.api_version);
  const bool named = !out.meta.api_version.empty();
  auto in_group = [&](std::string_view g) { return !named || group == g; };
  if (r.ok()) {
    if (kind == "Pod" && pod_meta_only) {
      out.value = DecodePodMeta(r, element, out.meta);
    } else if (kind == "Pod" && out.meta.controller) {
      require_name();
      if (r.ok()) out.value = DecodeControlledPod(r, element, out.meta, annotations);
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
      if (r.ok()) out.value = DecodeIngress(r, element, out.meta, annotations);
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
    } else if (kind == "Secret" && in_group("")) {
      require_name();
      if (r.ok()) out.value = DecodeSecret(r, element, out.meta);
    } else if (kind == "IngressClass" && in_group("networking.k8s.io")) {
      require_name();
      if (r.ok()) out.value = DecodeIngressClass(r, element, out.meta, annotations);
    } else if (kind == "Route" && in_group("route.openshift.io")) {
      require_name();
      if (r.ok()) out.value = DecodeRoute(r, element, out.meta);
    } else if (kind == "Gateway" && in_group("gateway.networking.k8s.io")) {
      require_name();
      if (r.ok()) out.value = DecodeGateway(r, element, out.meta);
    } else if (kind == "GatewayClass" && in_group("gateway.networking.k8s.io")) {
      require_name();
      if (r.ok()) out.value = DecodeGatewayClass(r, element, out.meta);
    } else if (IsGatewayRouteKind(kind) && in_group("gateway.networking.k8s.io")) {
      require_name();
      if (r.ok()) out.value = DecodeGatewayRoute(r, element, out.meta);
    } else if (auto hk = ParseHookKind(kind);
               hk && in_group(*hk == ApiServerHook::Kind::kAPIService ? "apiregistration.k8s.io"
                              : *hk == ApiServerHook::Kind::kCustomResourceDefinition
                                  ? "apiextensions.k8s.io"
                                  : "admissionregistration.k8s.io")) {
      require_name();
      if (r.ok()) out.value = DecodeHook(r, element, out.meta, *hk);
    } else if (kind == "Prometheus" && in_group("monitoring.coreos.com")) {
      require_name();
      if (r.ok()) out.value = DecodePrometheus(r, element, out.meta);
    } else if (kind == "ServiceMonitor" && in_group("monitoring.coreos.com")) {
      require_name();
      if (r.ok()) out.value = DecodeServiceMonitor(r, element, out.meta);
    } else if (kind == "PodMonitor" && in_group("monitoring.coreos.com")) {
      require_name();
      if (r.ok()) out.value = DecodePodMonitor(r, element, out.meta);
    } else if (kind == "ObservedFlows" && in_group(observedflows::kGroup)) {
      StatusOr<observedflows::ObservedFlows> o =
          observedflows::ParseObservedFlows(simdjson::to_string(element));
      if (!o.ok()) return o.status();
      if (o->ns.empty()) o->ns = out.meta.ns;
      ObservedFlowsValue v;
      v.client = {o->workload.api_version, o->workload.kind, o->workload.name, o->workload.uid};
      v.flows = observedflows::ToModel(*o);
      out.value = std::move(v);
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
  if (json.size() > kKeptParserBytes) {
    // A parser keeps the capacity of the largest document it parsed (about
    // ten times its size): one 100 KB ConfigMap would pin a megabyte in
    // every informer for good. Large objects get a parser of their own.
    dom::parser once;
    NPC_ASSIGN_OR_RETURN(dom::element doc, Parse(once, json));
    return DecodeElement(doc, options, error_path);
  }
  NPC_ASSIGN_OR_RETURN(dom::element doc, Parse(*parser_, json));
  return DecodeElement(doc, options, error_path);
}

size_t Decoder::ParserCapacityForTest() const {
  return parser_->capacity();
}

bool SynthesisReadsAnnotation(std::string_view key) {
  // Every annotation synthesis reads (src/synth, model.h): netpol-ctrl's own,
  // Prometheus' scrape hints on pod templates, the legacy Ingress class and
  // the default IngressClass marker. Anything else (above all kubectl's
  // last-applied-configuration, a copy of the whole object) is dropped.
  return key.starts_with("netpol-ctrl.io/") || key == "prometheus.io/scrape" ||
         key == "prometheus.io/port" || key == "kubernetes.io/ingress.class" ||
         key == "ingressclass.kubernetes.io/is-default-class";
}

}  // namespace npc::decode
