#include "manifest/manifest.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <type_traits>
#include <utility>
#include <variant>

#include "decode/decode.h"
#include "manifest/yaml_json.h"

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
// not a map. (Never assign the result to another yaml-cpp node: that rewrites
// the tree.)
YAML::Node Get(const YAML::Node& parent, const char* key) {
  if (!parent.IsMap()) return YAML::Node();
  const YAML::Node child = parent[key];
  if (!child.IsDefined()) return YAML::Node();
  return child;
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

Loader::Loader(LoadOptions options)
    : options_(std::move(options)), decoder_(std::make_unique<decode::Decoder>()) {}
Loader::~Loader() = default;
Loader::Loader(Loader&&) noexcept = default;
Loader& Loader::operator=(Loader&&) noexcept = default;

namespace {
// The namespace of a stored object ("" for cluster-scoped kinds).
template <typename T>
std::string NamespaceOf(const T& object) {
  if constexpr (requires { object.ns; }) {
    return object.ns;
  } else {
    return "";
  }
}
}  // namespace

template <typename T>
void Loader::Store(std::vector<T>& into, const std::string& kind, T object,
                   const Diagnostic& where) {
  const std::string ns = NamespaceOf(object);
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
  auto line_of = [first_line](const YAML::Mark& m) {
    return m.line >= 0 ? m.line + first_line + 1 : 0;
  };
  auto report = [&](const YAML::Mark& m, std::string message) {
    Diagnostic d;
    d.file = source;
    d.document = document;
    d.line = line_of(m);
    d.message = std::move(message);
    result_.diagnostics.push_back(std::move(d));
  };
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    report(e.mark, "not valid YAML: " + e.msg);
    return;
  }
  if (!root.IsDefined() || root.IsNull()) return;

  // Objects to decode: the document itself, or the items of a List.
  std::vector<YAML::Node> objects;
  auto not_object = [&](const YAML::Node& n, const std::string& what) {
    report(n.Mark(), what + " is not a Kubernetes object (" +
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
    if (items.IsDefined() && !items.IsNull() && !items.IsSequence()) {
      report(items.Mark(), root_kind + ": items: expected a list, got " + TypeName(items));
      return;
    }
    for (size_t i = 0; items.IsSequence() && i < items.size(); ++i) {
      if (is_object(items[i])) {
        objects.push_back(items[i]);
      } else {
        not_object(items[i], root_kind + " item " + std::to_string(i));
      }
    }
  } else {
    objects.push_back(root);
  }

  decode::DecodeOptions options;
  options.default_namespace = options_.default_namespace;
  options.offline = true;
  for (const YAML::Node& obj : objects) {
    const std::string kind = Get(obj, "kind").Scalar();
    const std::string group = Group(Get(obj, "apiVersion").Scalar());
    const std::optional<WorkloadKind> wkind = ParseKind(kind);
    bool route_kind = false;
    for (std::string_view k : kGatewayRouteKinds) route_kind = route_kind || k == kind;
    const bool wanted =
        (wkind && group == Group(std::string(KindApiVersion(*wkind)))) ||
        (group.empty() &&
         (kind == "Service" || kind == "ConfigMap" || kind == "Namespace" || kind == "Secret")) ||
        (group == "discovery.k8s.io" && kind == "EndpointSlice") ||
        (group == "networking.k8s.io" && (kind == "Ingress" || kind == "IngressClass")) ||
        (group == "route.openshift.io" && kind == "Route") ||
        (group == "gateway.networking.k8s.io" &&
         (kind == "Gateway" || kind == "GatewayClass" || route_kind)) ||
        (group == "admissionregistration.k8s.io" &&
         (kind == "ValidatingWebhookConfiguration" || kind == "MutatingWebhookConfiguration")) ||
        (group == "apiregistration.k8s.io" && kind == "APIService") ||
        (group == "apiextensions.k8s.io" && kind == "CustomResourceDefinition") ||
        (group == "monitoring.coreos.com" &&
         (kind == "Prometheus" || kind == "ServiceMonitor" || kind == "PodMonitor")) ||
        (group == "netpol-ctrl.io" && kind == "ObservedFlows");
    if (!wanted) continue;  // not something synthesis looks at

    // What Kubernetes would read: the object as JSON, through the decoder the
    // controller uses.
    YAML::Mark bad;
    StatusOr<std::string> json = YamlToJson(obj, &bad);
    if (!json.ok()) {
      report(bad, kind + ": " + json.status().message());
      continue;
    }
    std::string path;
    StatusOr<decode::Object> decoded = decoder_->Decode(*json, options, &path);
    if (!decoded.ok()) {
      // Point at the offending field and say what Kubernetes would see there.
      bool complete = false;
      const YAML::Node at = FindPath(obj, path, &complete);
      std::string message = decoded.status().message();
      if (complete && message.find(": expected ") != std::string::npos) {
        message += ", got " + DescribeJson(at);
      }
      report(at.Mark(), std::move(message));
      continue;
    }
    Diagnostic where;
    where.file = source;
    where.document = document;
    where.line = line_of(obj.Mark());
    // The kind the decoder read from the JSON (a later duplicate `kind:` key
    // wins there), not the first `kind:` line: objects are keyed by it, and the
    // key must name the vector the object goes into.
    const std::string& decoded_kind = decoded->meta.kind;
    std::visit(
        [&](auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, Workload>)
            Store(result_.snapshot.workloads, decoded_kind, std::move(v), where);
          if constexpr (std::is_same_v<T, Service>)
            Store(result_.snapshot.services, decoded_kind, std::move(v), where);
          if constexpr (std::is_same_v<T, EndpointSlice>)
            Store(result_.snapshot.endpoint_slices, decoded_kind, std::move(v), where);
          if constexpr (std::is_same_v<T, Ingress>)
            Store(result_.snapshot.ingresses, decoded_kind, std::move(v), where);
          if constexpr (std::is_same_v<T, ConfigMap>)
            Store(result_.snapshot.config_maps, decoded_kind, std::move(v), where);
          if constexpr (std::is_same_v<T, Namespace>)
            Store(result_.snapshot.namespaces, decoded_kind, std::move(v), where);
          if constexpr (std::is_same_v<T, Pod>)
            Store(result_.snapshot.pods, decoded_kind, std::move(v), where);
          if constexpr (std::is_same_v<T, Secret>)
            Store(result_.snapshot.secrets, decoded_kind, std::move(v), where);
          if constexpr (std::is_same_v<T, IngressClass>)
            Store(result_.snapshot.ingress_classes, decoded_kind, std::move(v), where);
          if constexpr (std::is_same_v<T, Route>)
            Store(result_.snapshot.routes, decoded_kind, std::move(v), where);
          if constexpr (std::is_same_v<T, Gateway>)
            Store(result_.snapshot.gateways, decoded_kind, std::move(v), where);
          if constexpr (std::is_same_v<T, GatewayClass>)
            Store(result_.snapshot.gateway_classes, decoded_kind, std::move(v), where);
          if constexpr (std::is_same_v<T, GatewayRoute>)
            Store(result_.snapshot.gateway_routes, decoded_kind, std::move(v), where);
          if constexpr (std::is_same_v<T, ApiServerHook>)
            Store(result_.snapshot.api_server_hooks, decoded_kind, std::move(v), where);
          if constexpr (std::is_same_v<T, Prometheus>)
            Store(result_.snapshot.prometheuses, decoded_kind, std::move(v), where);
          if constexpr (std::is_same_v<T, ServiceMonitor>)
            Store(result_.snapshot.service_monitors, decoded_kind, std::move(v), where);
          if constexpr (std::is_same_v<T, PodMonitor>)
            Store(result_.snapshot.pod_monitors, decoded_kind, std::move(v), where);
          if constexpr (std::is_same_v<T, decode::ObservedFlowsValue>) {
            // What the node agents saw: every node's entry, merged.
            for (ObservedFlow& f : v.flows) result_.snapshot.observed_flows.push_back(std::move(f));
          }
        },
        decoded->value);
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
  for (const Pod& p : s.pods) implied.insert(p.ns);
  for (const Secret& x : s.secrets) implied.insert(x.ns);
  for (const Route& x : s.routes) implied.insert(x.ns);
  for (const Gateway& x : s.gateways) implied.insert(x.ns);
  for (const GatewayRoute& x : s.gateway_routes) implied.insert(x.ns);
  for (const Prometheus& x : s.prometheuses) implied.insert(x.ns);
  for (const ServiceMonitor& x : s.service_monitors) implied.insert(x.ns);
  for (const PodMonitor& x : s.pod_monitors) implied.insert(x.ns);
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
