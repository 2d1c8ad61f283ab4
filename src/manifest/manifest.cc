#include "manifest/manifest.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <utility>

namespace npc::manifest {

namespace fs = std::filesystem;

std::string Diagnostic::ToString() const {
  std::string s = file.empty() ? "<input>" : file;
  if (document > 0) s += ":doc " + std::to_string(document);
  if (line > 0) s += ":line " + std::to_string(line);
  s += ": ";
  if (severity == Severity::kWarning) s += "warning: ";
  s += message;
  return s;
}

bool LoadResult::has_errors() const {
  return std::any_of(diagnostics.begin(), diagnostics.end(), [](const Diagnostic& d) {
    return d.severity == Diagnostic::Severity::kError;
  });
}

namespace {

// ---------------------------------------------------------------------------
// Typed field access over yaml-cpp nodes that reports, rather than throws,
// when a field has the wrong type.

const char* TypeName(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "an object";
    case YAML::NodeType::Null: return "null";
    case YAML::NodeType::Undefined: return "nothing";
  }
  return "something else";
}

// The child `key` of a map, or a null node when absent or when `parent` is
// not a map (the caller reports wrong types of the parent itself).
YAML::Node Get(const YAML::Node& parent, const char* key) {
  if (!parent.IsMap()) return YAML::Node();
  const YAML::Node child = parent[key];
  if (!child.IsDefined()) return YAML::Node();
  return child;
}

bool Absent(const YAML::Node& n) {
  return !n.IsDefined() || n.IsNull();
}

// Where and what is being parsed, and the diagnostics found so far.
class Ctx {
 public:
  Ctx(const std::string& file, int document, int first_line, std::vector<Diagnostic>& out)
      : file_(file), document_(document), first_line_(first_line), out_(out) {}

  int Line(const YAML::Node& n) const {
    if (!n.IsDefined()) return 0;
    const YAML::Mark m = n.Mark();
    return m.line >= 0 ? m.line + first_line_ + 1 : 0;
  }
  Diagnostic At(const YAML::Node& n, std::string message,
                Diagnostic::Severity sev = Diagnostic::Severity::kError) const {
    Diagnostic d;
    d.severity = sev;
    d.file = file_;
    d.document = document_;
    d.line = Line(n);
    d.message = std::move(message);
    return d;
  }
  void Report(const YAML::Node& n, std::string message,
              Diagnostic::Severity sev = Diagnostic::Severity::kError) {
    out_.push_back(At(n, std::move(message), sev));
  }
  // A wrong field in the object being parsed: the object is left out.
  void FieldError(const YAML::Node& n, const std::string& path, const std::string& message) {
    failed_ = true;
    Report(n, what_ + ": " + path + ": " + message);
  }
  void WrongType(const YAML::Node& n, const std::string& path, const char* expected) {
    FieldError(n, path, std::string("expected ") + expected + ", got " + TypeName(n));
  }

  void set_what(std::string what) { what_ = std::move(what); }
  bool failed() const { return failed_; }
  void reset() { failed_ = false; }

  // True when `n` is a map; reports when it is present but not a map.
  bool Map(const YAML::Node& n, const std::string& path) {
    if (Absent(n)) return false;
    if (!n.IsMap()) {
      WrongType(n, path, "an object");
      return false;
    }
    return true;
  }
  bool Seq(const YAML::Node& n, const std::string& path) {
    if (Absent(n)) return false;
    if (!n.IsSequence()) {
      WrongType(n, path, "a list");
      return false;
    }
    return true;
  }
  std::string Str(const YAML::Node& n, const std::string& path) {
    if (Absent(n)) return "";
    if (!n.IsScalar()) {
      WrongType(n, path, "a string");
      return "";
    }
    return n.Scalar();
  }
  std::optional<int32_t> Int(const YAML::Node& n, const std::string& path) {
    if (Absent(n)) return std::nullopt;
    int32_t v = 0;
    if (!n.IsScalar() || n.Tag() == "!" || !YAML::convert<int32_t>::decode(n, v)) {
      if (n.IsScalar()) {
        FieldError(n, path, "expected an integer, got \"" + n.Scalar() + "\"");
      } else {
        WrongType(n, path, "an integer");
      }
      return std::nullopt;
    }
    return v;
  }
  bool Bool(const YAML::Node& n, const std::string& path) {
    if (Absent(n)) return false;
    bool v = false;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
      WrongType(n, path, "true or false");
      return false;
    }
    return v;
  }
  IntOrString IntOrStr(const YAML::Node& n, const std::string& path) {
    IntOrString out;
    if (Absent(n)) return out;
    if (!n.IsScalar()) {
      WrongType(n, path, "a number or a name");
      return out;
    }
    int32_t v = 0;
    if (n.Tag() != "!" && YAML::convert<int32_t>::decode(n, v)) {
      out.num = v;
    } else {
      out.str = n.Scalar();
    }
    return out;
  }
  std::map<std::string, std::string> StrMap(const YAML::Node& n, const std::string& path) {
    std::map<std::string, std::string> out;
    if (!Map(n, path)) return out;
    for (const auto& kv : n) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (!kv.second.IsScalar() && !kv.second.IsNull()) {
        WrongType(kv.second, path + "." + key, "a string");
        continue;
      }
      out[key] = kv.second.IsNull() ? "" : kv.second.Scalar();
    }
    return out;
  }
  std::vector<std::string> StrList(const YAML::Node& n, const std::string& path) {
    std::vector<std::string> out;
    if (!Seq(n, path)) return out;
    for (size_t i = 0; i < n.size(); ++i) {
      out.push_back(Str(n[i], path + "[" + std::to_string(i) + "]"));
    }
    return out;
  }

 private:
  const std::string& file_;
  int document_;
  int first_line_;
  std::vector<Diagnostic>& out_;
  std::string what_;
  bool failed_ = false;
};

// ---------------------------------------------------------------------------
// Object parsers. Each fills a model struct; Ctx::failed() says whether the
// object was well-formed.

LabelSelector ParseSelector(Ctx& c, const YAML::Node& n, const std::string& path) {
  LabelSelector sel;
  if (!c.Map(n, path)) return sel;
  sel.match_labels = c.StrMap(Get(n, "matchLabels"), path + ".matchLabels");
  const YAML::Node exprs = Get(n, "matchExpressions");
  if (c.Seq(exprs, path + ".matchExpressions")) {
    for (size_t i = 0; i < exprs.size(); ++i) {
      const std::string p = path + ".matchExpressions[" + std::to_string(i) + "]";
      const YAML::Node e = exprs[i];
      if (!c.Map(e, p)) continue;
      LabelSelectorRequirement r;
      r.key = c.Str(Get(e, "key"), p + ".key");
      r.op = c.Str(Get(e, "operator"), p + ".operator");
      r.values = c.StrList(Get(e, "values"), p + ".values");
      sel.match_expressions.push_back(std::move(r));
    }
  }
  return sel;
}

Container ParseContainer(Ctx& c, const YAML::Node& n, const std::string& path, bool init) {
  Container ct;
  ct.init = init;
  if (!c.Map(n, path)) return ct;
  ct.name = c.Str(Get(n, "name"), path + ".name");
  const YAML::Node env = Get(n, "env");
  if (c.Seq(env, path + ".env")) {
    for (size_t i = 0; i < env.size(); ++i) {
      const std::string p = path + ".env[" + std::to_string(i) + "]";
      if (!c.Map(env[i], p)) continue;
      EnvVar ev;
      ev.name = c.Str(Get(env[i], "name"), p + ".name");
      const YAML::Node value = Get(env[i], "value");
      if (!Absent(value)) ev.value = c.Str(value, p + ".value");
      const YAML::Node from = Get(env[i], "valueFrom");
      if (c.Map(from, p + ".valueFrom")) {
        const YAML::Node cm = Get(from, "configMapKeyRef");
        if (c.Map(cm, p + ".valueFrom.configMapKeyRef")) {
          ev.config_map_name = c.Str(Get(cm, "name"), p + ".valueFrom.configMapKeyRef.name");
          ev.config_map_key = c.Str(Get(cm, "key"), p + ".valueFrom.configMapKeyRef.key");
        }
      }
      ct.env.push_back(std::move(ev));
    }
  }
  const YAML::Node env_from = Get(n, "envFrom");
  if (c.Seq(env_from, path + ".envFrom")) {
    for (size_t i = 0; i < env_from.size(); ++i) {
      const std::string p = path + ".envFrom[" + std::to_string(i) + "]";
      if (!c.Map(env_from[i], p)) continue;
      const YAML::Node cm = Get(env_from[i], "configMapRef");
      if (!c.Map(cm, p + ".configMapRef")) continue;  // secretRef: secrets are not read
      EnvFromSource ef;
      ef.config_map_name = c.Str(Get(cm, "name"), p + ".configMapRef.name");
      ef.prefix = c.Str(Get(env_from[i], "prefix"), p + ".prefix");
      ct.env_from.push_back(std::move(ef));
    }
  }
  ct.command = c.StrList(Get(n, "command"), path + ".command");
  ct.args = c.StrList(Get(n, "args"), path + ".args");
  const YAML::Node ports = Get(n, "ports");
  if (c.Seq(ports, path + ".ports")) {
    for (size_t i = 0; i < ports.size(); ++i) {
      const std::string p = path + ".ports[" + std::to_string(i) + "]";
      if (!c.Map(ports[i], p)) continue;
      ContainerPort cp;
      cp.name = c.Str(Get(ports[i], "name"), p + ".name");
      cp.port = c.Int(Get(ports[i], "containerPort"), p + ".containerPort").value_or(0);
      const std::string proto = c.Str(Get(ports[i], "protocol"), p + ".protocol");
      if (!proto.empty()) cp.protocol = proto;
      ct.ports.push_back(std::move(cp));
    }
  }
  return ct;
}

// A PodSpec: containers, initContainers, ConfigMap volumes, hostNetwork.
void ParsePodSpec(Ctx& c, const YAML::Node& n, const std::string& path, Workload& w) {
  if (!c.Map(n, path)) return;
  for (const auto& [field, init] : {std::pair{"initContainers", true}, {"containers", false}}) {
    const YAML::Node list = Get(n, field);
    const std::string p = path + "." + field;
    if (!c.Seq(list, p)) continue;
    for (size_t i = 0; i < list.size(); ++i) {
      w.containers.push_back(ParseContainer(c, list[i], p + "[" + std::to_string(i) + "]", init));
    }
  }
  const YAML::Node volumes = Get(n, "volumes");
  if (c.Seq(volumes, path + ".volumes")) {
    for (size_t i = 0; i < volumes.size(); ++i) {
      const std::string p = path + ".volumes[" + std::to_string(i) + "]";
      if (!c.Map(volumes[i], p)) continue;
      const YAML::Node cm = Get(volumes[i], "configMap");
      if (c.Map(cm, p + ".configMap")) {
        w.config_map_volumes.push_back(c.Str(Get(cm, "name"), p + ".configMap.name"));
      }
      const YAML::Node projected = Get(volumes[i], "projected");
      if (c.Map(projected, p + ".projected")) {
        const YAML::Node sources = Get(projected, "sources");
        if (c.Seq(sources, p + ".projected.sources")) {
          for (size_t j = 0; j < sources.size(); ++j) {
            const std::string sp = p + ".projected.sources[" + std::to_string(j) + "]";
            if (!c.Map(sources[j], sp)) continue;
            const YAML::Node pcm = Get(sources[j], "configMap");
            if (c.Map(pcm, sp + ".configMap")) {
              w.config_map_volumes.push_back(c.Str(Get(pcm, "name"), sp + ".configMap.name"));
            }
          }
        }
      }
    }
  }
  w.host_network = c.Bool(Get(n, "hostNetwork"), path + ".hostNetwork");
}

// A PodTemplateSpec: labels, annotations and the pod spec.
void ParseTemplate(Ctx& c, const YAML::Node& n, const std::string& path, Workload& w) {
  if (Absent(n)) {
    c.FieldError(n, path, "is missing");
    return;
  }
  if (!c.Map(n, path)) return;
  const YAML::Node meta = Get(n, "metadata");
  if (c.Map(meta, path + ".metadata")) {
    w.template_labels = c.StrMap(Get(meta, "labels"), path + ".metadata.labels");
    w.template_annotations = c.StrMap(Get(meta, "annotations"), path + ".metadata.annotations");
  }
  ParsePodSpec(c, Get(n, "spec"), path + ".spec", w);
}

bool HasController(Ctx& c, const YAML::Node& meta) {
  const YAML::Node refs = Get(meta, "ownerReferences");
  if (!c.Seq(refs, "metadata.ownerReferences")) return false;
  for (size_t i = 0; i < refs.size(); ++i) {
    const std::string p = "metadata.ownerReferences[" + std::to_string(i) + "]";
    if (c.Map(refs[i], p) && c.Bool(Get(refs[i], "controller"), p + ".controller")) return true;
  }
  return false;
}

void ParseWorkload(Ctx& c, const YAML::Node& obj, Workload& w) {
  const YAML::Node spec = Get(obj, "spec");
  if (w.kind == WorkloadKind::kPod) {
    w.pod_selector.match_labels = w.labels;
    w.template_labels = w.labels;
    w.template_annotations = w.annotations;
    ParsePodSpec(c, spec, "spec", w);
    return;
  }
  if (Absent(spec)) {
    c.FieldError(obj, "spec", "is missing");
    return;
  }
  if (!c.Map(spec, "spec")) return;
  if (w.kind == WorkloadKind::kCronJob) {
    const YAML::Node jt = Get(spec, "jobTemplate");
    if (!c.Map(jt, "spec.jobTemplate")) {
      if (Absent(jt)) c.FieldError(spec, "spec.jobTemplate", "is missing");
      return;
    }
    const YAML::Node jspec = Get(jt, "spec");
    if (!c.Map(jspec, "spec.jobTemplate.spec")) {
      if (Absent(jspec)) c.FieldError(jt, "spec.jobTemplate.spec", "is missing");
      return;
    }
    ParseTemplate(c, Get(jspec, "template"), "spec.jobTemplate.spec.template", w);
    w.pod_selector.match_labels = w.template_labels;
    return;
  }
  ParseTemplate(c, Get(spec, "template"), "spec.template", w);
  const YAML::Node selector = Get(spec, "selector");
  if (!Absent(selector)) {
    w.pod_selector = ParseSelector(c, selector, "spec.selector");
  } else if (w.kind == WorkloadKind::kJob) {
    // The API server generates a controller-uid selector for Jobs; offline,
    // the template labels select the same pods among this workload's peers.
    w.pod_selector.match_labels = w.template_labels;
  } else {
    c.FieldError(spec, "spec.selector", "is missing");
  }
}

Service ParseService(Ctx& c, const YAML::Node& obj) {
  Service s;
  const YAML::Node spec = Get(obj, "spec");
  if (!c.Map(spec, "spec")) return s;
  const YAML::Node selector = Get(spec, "selector");
  if (!Absent(selector)) {
    Labels sel = c.StrMap(selector, "spec.selector");
    // An empty selector is no selector: endpoints are managed elsewhere.
    if (!sel.empty()) s.selector = std::move(sel);
  }
  const std::string type = c.Str(Get(spec, "type"), "spec.type");
  if (!type.empty()) s.type = type;
  s.external_name = c.Str(Get(spec, "externalName"), "spec.externalName");
  s.headless = c.Str(Get(spec, "clusterIP"), "spec.clusterIP") == "None";
  const YAML::Node ports = Get(spec, "ports");
  if (c.Seq(ports, "spec.ports")) {
    for (size_t i = 0; i < ports.size(); ++i) {
      const std::string p = "spec.ports[" + std::to_string(i) + "]";
      if (!c.Map(ports[i], p)) continue;
      ServicePort sp;
      sp.name = c.Str(Get(ports[i], "name"), p + ".name");
      const std::string proto = c.Str(Get(ports[i], "protocol"), p + ".protocol");
      if (!proto.empty()) sp.protocol = proto;
      const YAML::Node port = Get(ports[i], "port");
      if (Absent(port)) c.FieldError(ports[i], p + ".port", "is missing");
      sp.port = c.Int(port, p + ".port").value_or(0);
      sp.target_port = c.IntOrStr(Get(ports[i], "targetPort"), p + ".targetPort");
      sp.node_port = c.Int(Get(ports[i], "nodePort"), p + ".nodePort").value_or(0);
      s.ports.push_back(std::move(sp));
    }
  }
  return s;
}

EndpointSlice ParseEndpointSlice(Ctx& c, const YAML::Node& obj, const Labels& labels) {
  EndpointSlice e;
  auto it = labels.find("kubernetes.io/service-name");
  if (it != labels.end()) e.service_name = it->second;
  const std::string type = c.Str(Get(obj, "addressType"), "addressType");
  if (!type.empty()) e.address_type = type;
  const YAML::Node endpoints = Get(obj, "endpoints");
  if (c.Seq(endpoints, "endpoints")) {
    for (size_t i = 0; i < endpoints.size(); ++i) {
      const std::string p = "endpoints[" + std::to_string(i) + "]";
      if (!c.Map(endpoints[i], p)) continue;
      for (std::string& a : c.StrList(Get(endpoints[i], "addresses"), p + ".addresses")) {
        e.addresses.push_back(std::move(a));
      }
    }
  }
  const YAML::Node ports = Get(obj, "ports");
  if (c.Seq(ports, "ports")) {
    for (size_t i = 0; i < ports.size(); ++i) {
      const std::string p = "ports[" + std::to_string(i) + "]";
      if (!c.Map(ports[i], p)) continue;
      EndpointPort ep;
      ep.name = c.Str(Get(ports[i], "name"), p + ".name");
      ep.port = c.Int(Get(ports[i], "port"), p + ".port").value_or(0);
      const std::string proto = c.Str(Get(ports[i], "protocol"), p + ".protocol");
      if (!proto.empty()) ep.protocol = proto;
      e.ports.push_back(std::move(ep));
    }
  }
  return e;
}

void ParseIngressBackend(Ctx& c, const YAML::Node& n, const std::string& path, Ingress& ing) {
  if (!c.Map(n, path)) return;
  const YAML::Node svc = Get(n, "service");
  if (!c.Map(svc, path + ".service")) return;  // a resource backend routes to no Service
  IngressBackend b;
  b.service_name = c.Str(Get(svc, "name"), path + ".service.name");
  const YAML::Node port = Get(svc, "port");
  if (c.Map(port, path + ".service.port")) {
    const YAML::Node number = Get(port, "number");
    if (!Absent(number)) {
      b.service_port.num = c.Int(number, path + ".service.port.number");
    } else {
      b.service_port.str = c.Str(Get(port, "name"), path + ".service.port.name");
    }
  }
  ing.backends.push_back(std::move(b));
}

Ingress ParseIngress(Ctx& c, const YAML::Node& obj) {
  Ingress ing;
  const YAML::Node spec = Get(obj, "spec");
  if (!c.Map(spec, "spec")) return ing;
  ing.ingress_class = c.Str(Get(spec, "ingressClassName"), "spec.ingressClassName");
  ParseIngressBackend(c, Get(spec, "defaultBackend"), "spec.defaultBackend", ing);
  const YAML::Node rules = Get(spec, "rules");
  if (c.Seq(rules, "spec.rules")) {
    for (size_t i = 0; i < rules.size(); ++i) {
      const std::string p = "spec.rules[" + std::to_string(i) + "]";
      if (!c.Map(rules[i], p)) continue;
      const YAML::Node http = Get(rules[i], "http");
      if (!c.Map(http, p + ".http")) continue;
      const YAML::Node paths = Get(http, "paths");
      if (!c.Seq(paths, p + ".http.paths")) continue;
      for (size_t j = 0; j < paths.size(); ++j) {
        const std::string pp = p + ".http.paths[" + std::to_string(j) + "]";
        if (!c.Map(paths[j], pp)) continue;
        ParseIngressBackend(c, Get(paths[j], "backend"), pp + ".backend", ing);
      }
    }
  }
  return ing;
}

std::string Group(const std::string& api_version) {
  const size_t slash = api_version.find('/');
  return slash == std::string::npos ? "" : api_version.substr(0, slash);
}

// Splits manifest text into YAML documents at "---" lines. Each chunk keeps
// its separator line so that parse marks count lines from the chunk start.
struct Chunk {
  std::string_view text;
  int first_line = 0;  // 0-based line in the file where the chunk starts
};

bool IsSeparator(std::string_view line) {
  return line.substr(0, 3) == "---" &&
         (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r');
}

std::vector<Chunk> SplitDocuments(std::string_view text) {
  std::vector<Chunk> chunks;
  size_t start = 0;
  int start_line = 0;
  size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    if (IsSeparator(text.substr(pos, eol - pos)) && pos > start) {
      chunks.push_back({text.substr(start, pos - start), start_line});
      start = pos;
      start_line = line_no;
    }
    pos = eol + 1;
    ++line_no;
  }
  if (start < text.size()) chunks.push_back({text.substr(start), start_line});
  return chunks;
}

// True when the chunk holds more than separators, blank lines and comments.
bool HasContent(std::string_view chunk) {
  size_t pos = 0;
  while (pos < chunk.size()) {
    size_t eol = chunk.find('\n', pos);
    if (eol == std::string_view::npos) eol = chunk.size();
    std::string_view line = chunk.substr(pos, eol - pos);
    const size_t first = line.find_first_not_of(" \t\r");
    if (first != std::string_view::npos && line[first] != '#' && !IsSeparator(line) &&
        line.substr(0, 3) != "...") {
      return true;
    }
    pos = eol + 1;
  }
  return false;
}

}  // namespace

// ---------------------------------------------------------------------------
// Loader

Loader::Loader(LoadOptions options) : options_(std::move(options)) {}

template <typename T>
void Loader::Store(std::vector<T>& into, const std::string& kind, T object,
                   const Diagnostic& where) {
  std::string ns;
  if constexpr (!std::is_same_v<T, Namespace>) ns = object.ns;
  auto key = std::make_tuple(kind, ns, object.name);
  auto it = seen_.find(key);
  if (it != seen_.end()) {
    Diagnostic d = where;
    d.severity = Diagnostic::Severity::kWarning;
    d.message = kind + " " + (ns.empty() ? "" : ns + "/") + object.name +
                " appears more than once; the last one is used";
    result_.diagnostics.push_back(std::move(d));
    into[it->second] = std::move(object);
    return;
  }
  seen_[key] = into.size();
  into.push_back(std::move(object));
  ++result_.objects;
}

void Loader::AddDocument(std::string_view text, const std::string& source, int document,
                         int first_line) {
  Ctx doc_ctx(source, document, first_line, result_.diagnostics);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    Diagnostic d = doc_ctx.At(YAML::Node(), "not valid YAML: " + e.msg);
    if (e.mark.line >= 0) d.line = e.mark.line + first_line + 1;
    result_.diagnostics.push_back(std::move(d));
    return;
  }
  if (Absent(root)) return;

  // Objects to parse: the document itself, or the items of a List.
  std::vector<YAML::Node> objects;
  auto not_object = [&](const YAML::Node& n, const std::string& what) {
    doc_ctx.Report(n, what + " is not a Kubernetes object (" +
                          (n.IsMap() ? std::string("no apiVersion or kind")
                                     : std::string("expected an object, got ") + TypeName(n)) +
                          ")");
  };
  auto is_object = [](const YAML::Node& n) {
    return n.IsMap() && Get(n, "apiVersion").IsScalar() && Get(n, "kind").IsScalar();
  };
  if (!is_object(root)) {
    not_object(root, "document");
    return;
  }
  const std::string root_kind = Get(root, "kind").Scalar();
  if (root_kind.size() >= 4 && root_kind.substr(root_kind.size() - 4) == "List") {
    const YAML::Node items = Get(root, "items");
    if (!Absent(items) && !items.IsSequence()) {
      doc_ctx.Report(items, root_kind + ": items: expected a list, got " + TypeName(items));
      return;
    }
    for (size_t i = 0; i < items.size(); ++i) {
      if (is_object(items[i])) {
        objects.push_back(items[i]);
      } else {
        not_object(items[i], root_kind + " item " + std::to_string(i));
      }
    }
  } else {
    objects.push_back(root);
  }

  for (const YAML::Node& obj : objects) {
    Ctx c(source, document, first_line, result_.diagnostics);
    const std::string kind = Get(obj, "kind").Scalar();
    const std::string group = Group(Get(obj, "apiVersion").Scalar());
    const std::optional<WorkloadKind> wkind = ParseKind(kind);
    const bool wanted =
        (wkind && group == Group(std::string(KindApiVersion(*wkind)))) ||
        (group.empty() && (kind == "Service" || kind == "ConfigMap" || kind == "Namespace")) ||
        (group == "discovery.k8s.io" && kind == "EndpointSlice") ||
        (group == "networking.k8s.io" && kind == "Ingress");
    if (!wanted) continue;  // not something synthesis looks at

    try {
      c.set_what(kind);
      const YAML::Node meta = Get(obj, "metadata");
      if (!c.Map(meta, "metadata")) {
        if (Absent(meta)) c.FieldError(obj, "metadata", "is missing");
        continue;
      }
      const std::string name = c.Str(Get(meta, "name"), "metadata.name");
      if (name.empty() && !c.failed()) c.FieldError(meta, "metadata.name", "is missing");
      std::string ns = c.Str(Get(meta, "namespace"), "metadata.namespace");
      if (ns.empty()) ns = options_.default_namespace;
      c.set_what(kind + " " + (kind == "Namespace" ? name : ns + "/" + name));
      Labels labels = c.StrMap(Get(meta, "labels"), "metadata.labels");
      Annotations annotations = c.StrMap(Get(meta, "annotations"), "metadata.annotations");
      const std::string uid = c.Str(Get(meta, "uid"), "metadata.uid");
      if (c.failed()) continue;
      const Diagnostic where = c.At(obj, "");

      if (wkind) {
        Workload w;
        w.kind = *wkind;
        w.ns = ns;
        w.name = name;
        w.uid = uid;
        w.labels = std::move(labels);
        w.annotations = std::move(annotations);
        const bool controlled = HasController(c, meta);
        w.has_controller =
            controlled && (w.kind == WorkloadKind::kPod || w.kind == WorkloadKind::kReplicaSet ||
                           w.kind == WorkloadKind::kJob);
        ParseWorkload(c, obj, w);
        if (!c.failed()) Store(result_.snapshot.workloads, kind, std::move(w), where);
      } else if (kind == "Service") {
        Service s = ParseService(c, obj);
        s.ns = ns;
        s.name = name;
        if (!c.failed()) Store(result_.snapshot.services, kind, std::move(s), where);
      } else if (kind == "EndpointSlice") {
        EndpointSlice e = ParseEndpointSlice(c, obj, labels);
        e.ns = ns;
        e.name = name;
        if (!c.failed()) Store(result_.snapshot.endpoint_slices, kind, std::move(e), where);
      } else if (kind == "Ingress") {
        Ingress ing = ParseIngress(c, obj);
        ing.ns = ns;
        ing.name = name;
        if (!c.failed()) Store(result_.snapshot.ingresses, kind, std::move(ing), where);
      } else if (kind == "ConfigMap") {
        ConfigMap cm;
        cm.ns = ns;
        cm.name = name;
        cm.data = c.StrMap(Get(obj, "data"), "data");
        if (!c.failed()) Store(result_.snapshot.config_maps, kind, std::move(cm), where);
      } else if (kind == "Namespace") {
        Namespace n;
        n.name = name;
        n.labels = std::move(labels);
        n.annotations = std::move(annotations);
        n.labels[std::string(kNamespaceNameLabel)] = name;
        Store(result_.snapshot.namespaces, kind, std::move(n), where);
      }
    } catch (const YAML::Exception& e) {
      // Should not happen (fields are type-checked first), but a surprise in
      // yaml-cpp must not stop the load.
      c.Report(obj, kind + ": cannot read object: " + e.msg);
    }
  }
}

void Loader::AddText(std::string_view text, const std::string& source) {
  int document = 0;
  for (const Chunk& chunk : SplitDocuments(text)) {
    if (!HasContent(chunk.text)) continue;
    ++document;
    ++result_.documents;
    AddDocument(chunk.text, source, document, chunk.first_line);
  }
}

void Loader::AddStream(std::istream& in, const std::string& source) {
  std::ostringstream ss;
  ss << in.rdbuf();
  AddText(ss.str(), source);
}

Status Loader::AddPath(const std::string& path) {
  if (path == "-") {
    AddStream(std::cin, "<stdin>");
    return Status::Ok();
  }
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return NotFound(path + ": no such file or directory");
  std::vector<fs::path> files;
  if (fs::is_directory(st)) {
    for (auto it = fs::recursive_directory_iterator(path, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      const std::string ext = it->path().extension().string();
      if (ext == ".yaml" || ext == ".yml" || ext == ".json") files.push_back(it->path());
    }
    if (ec) return InvalidArgument(path + ": cannot list directory: " + ec.message());
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  for (const fs::path& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) return InvalidArgument(f.string() + ": cannot open file");
    AddStream(in, f.string());
  }
  return Status::Ok();
}

LoadResult Loader::Finish() && {
  Snapshot& s = result_.snapshot;
  std::set<std::string> declared;
  for (const Namespace& n : s.namespaces) declared.insert(n.name);
  std::set<std::string> implied;
  for (const Workload& w : s.workloads) implied.insert(w.ns);
  for (const Service& v : s.services) implied.insert(v.ns);
  for (const EndpointSlice& e : s.endpoint_slices) implied.insert(e.ns);
  for (const Ingress& i : s.ingresses) implied.insert(i.ns);
  for (const ConfigMap& c : s.config_maps) implied.insert(c.ns);
  for (const std::string& name : implied) {
    if (declared.count(name)) continue;
    Namespace n;
    n.name = name;
    n.labels[std::string(kNamespaceNameLabel)] = name;
    s.namespaces.push_back(std::move(n));
  }
  return std::move(result_);
}

StatusOr<LoadResult> LoadPaths(const std::vector<std::string>& paths, const LoadOptions& options) {
  Loader loader(options);
  for (const std::string& p : paths) NPC_RETURN_IF_ERROR(loader.AddPath(p));
  return std::move(loader).Finish();
}

LoadResult LoadText(std::string_view text, const std::string& source, const LoadOptions& options) {
  Loader loader(options);
  loader.AddText(text, source);
  return std::move(loader).Finish();
}

}  // namespace npc::manifest
