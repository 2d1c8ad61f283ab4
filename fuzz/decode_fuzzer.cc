// Fuzz target: the object decoder (decode/decode.h).
//
// Input: one Kubernetes object as JSON (as the API server or the manifest
// loader hands it over). Each input is decoded as the controller does (online),
// as `generate` does (offline, default namespace), as pod metadata only, and
// with a default kind. Properties:
//   - decoding is deterministic: the same decoder gives the same result twice,
//     and Decode(text) equals DecodeElement(parsed text);
//   - offline only adds requirements: an object that decodes offline decodes
//     online to the same value (up to the defaulted namespace);
//   - a field error names its path: the message holds ": <error_path>: ";
//   - a decoded object is of the kind its `kind` says, carries the identity of
//     its metadata, and every port protocol is set (defaults are applied);
//   - offline, every object but a NetworkPolicy has a metadata.name, and a
//     workload but a bare Pod or a Job has a selector.
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <typeinfo>
#include <variant>

#include "decode/decode.h"
#include "fuzz_util.h"

namespace npc::decode {
namespace {

// A complete, deterministic text form of a decoded object: equal texts mean
// equal objects.
class Printer {
 public:
  std::string Print(const Object& o) {
    const Meta& m = o.meta;
    out_ = "meta{" + m.api_version + "|" + m.kind + "|" + m.ns + "|" + m.name + "|" + m.uid + "|" +
           m.resource_version + "|" + std::to_string(m.deleting);
    Map(m.labels);
    if (m.controller) Owner(*m.controller);
    out_ += "}\n";
    std::visit([this](const auto& v) { Value(v); }, o.value);
    return out_;
  }

 private:
  void S(std::string_view s) {
    out_ += fuzz::Quote(s, SIZE_MAX);
    out_ += ' ';
  }
  void I(int64_t v) { out_ += std::to_string(v) + ' '; }
  void Map(const std::map<std::string, std::string>& m) {
    out_ += "{";
    for (const auto& [k, v] : m) {
      S(k);
      S(v);
    }
    out_ += "} ";
  }
  void List(const std::vector<std::string>& l) {
    out_ += "[";
    for (const auto& s : l) S(s);
    out_ += "] ";
  }
  void IntOrStr(const IntOrString& v) {
    if (v.num) I(*v.num);
    S(v.str);
  }
  void Owner(const OwnerReference& r) {
    out_ += "owner ";
    S(r.api_version);
    S(r.kind);
    S(r.name);
    S(r.uid);
  }
  void Selector(const LabelSelector& s) {
    Map(s.match_labels);
    for (const auto& r : s.match_expressions) {
      S(r.key);
      S(r.op);
      List(r.values);
    }
    out_ += "; ";
  }
  void Value(const Unknown&) { out_ += "unknown"; }
  void Value(const PodMeta& p) {
    out_ += "podmeta ";
    Map(p.labels);
  }
  void Value(const Workload& w) {
    out_ += "workload " + std::string(KindName(w.kind)) + " ";
    S(w.ns);
    S(w.name);
    S(w.uid);
    Map(w.labels);
    Map(w.annotations);
    Selector(w.pod_selector);
    Map(w.template_labels);
    Map(w.template_annotations);
    for (const Container& c : w.containers) {
      out_ += "\n container ";
      S(c.name);
      I(c.init);
      for (const EnvVar& e : c.env) {
        S(e.name);
        out_ += e.value ? "=" + fuzz::Quote(*e.value, SIZE_MAX) : std::string("(unset)");
        S(e.config_map_name);
        S(e.config_map_key);
      }
      for (const EnvFromSource& e : c.env_from) {
        S(e.config_map_name);
        S(e.prefix);
      }
      List(c.command);
      List(c.args);
      for (const ContainerPort& p : c.ports) {
        S(p.name);
        I(p.port);
        S(p.protocol);
      }
    }
    List(w.config_map_volumes);
    I(w.host_network);
    I(w.has_controller);
  }
  void Value(const Service& s) {
    out_ += "service ";
    S(s.ns);
    S(s.name);
    S(s.type);
    if (s.selector) Map(*s.selector);
    for (const ServicePort& p : s.ports) {
      S(p.name);
      S(p.protocol);
      I(p.port);
      IntOrStr(p.target_port);
      I(p.node_port);
    }
    S(s.external_name);
    I(s.headless);
  }
  void Value(const EndpointSlice& e) {
    out_ += "slice ";
    S(e.ns);
    S(e.name);
    S(e.service_name);
    S(e.address_type);
    List(e.addresses);
    for (const EndpointPort& p : e.ports) {
      S(p.name);
      I(p.port);
      S(p.protocol);
    }
  }
  void Value(const Ingress& i) {
    out_ += "ingress ";
    S(i.ns);
    S(i.name);
    S(i.ingress_class);
    for (const IngressBackend& b : i.backends) {
      S(b.service_name);
      IntOrStr(b.service_port);
    }
  }
  void Value(const ConfigMap& c) {
    out_ += "configmap ";
    S(c.ns);
    S(c.name);
    Map(c.data);
  }
  void Value(const Namespace& n) {
    out_ += "namespace ";
    S(n.name);
    Map(n.labels);
    Map(n.annotations);
  }
  void Value(const ObservedFlowsValue& v) {
    out_ += "observedflows ";
    Owner(v.client);
    for (const ObservedFlow& f : v.flows) {
      S(f.client.ToString());
      S(f.server ? f.server->ToString() : f.address);
      S(f.service_ns);
      S(f.service_name);
      I(f.port);
      S(f.protocol);
      out_ += std::to_string(f.count) + " " + std::to_string(f.first_seen) + " " +
              std::to_string(f.last_seen) + "| ";
    }
  }
  // The platform's kinds (Pod, Secret, IngressClass, Route, Gateway, ...):
  // only their type and identity are printed for now, so the determinism
  // property compares less of them than of the kinds above.
  template <typename T>
  void Value(const T& v) {
    out_ += "other ";
    S(typeid(T).name());
    if constexpr (requires { v.ns; }) S(v.ns);
    if constexpr (requires { v.name; }) S(v.name);
  }
  void Value(const StoredPolicy& sp) {
    const NetworkPolicy& p = sp.policy;
    out_ += "policy ";
    S(p.ns);
    S(p.name);
    Map(p.labels);
    Map(p.annotations);
    if (p.owner) Owner(*p.owner);
    Selector(p.pod_selector);
    for (const auto* rules : {&p.ingress, &p.egress}) {
      out_ += "\n rules ";
      for (const PolicyRule& r : *rules) {
        for (const PolicyPeer& peer : r.peers) {
          if (peer.namespace_selector) Selector(*peer.namespace_selector);
          if (peer.pod_selector) Selector(*peer.pod_selector);
          if (peer.ip_block) {
            S(peer.ip_block->cidr);
            List(peer.ip_block->except);
          }
          out_ += "| ";
        }
        for (const PolicyPort& port : r.ports) {
          S(port.protocol);
          IntOrStr(port.port);
          if (port.end_port) I(*port.end_port);
        }
      }
    }
    List(p.policy_types);
  }

  std::string out_;
};

std::string Print(const StatusOr<Object>& r) {
  if (!r.ok()) return "error: " + r.status().ToString();
  return Printer().Print(*r);
}

// Properties of one successful decode under `options`.
void CheckDecoded(const Object& o, const DecodeOptions& options) {
  const Meta& m = o.meta;
  const std::string printed = Printer().Print(o);
  auto ports_ok = [](const auto& ports) {
    for (const auto& p : ports) {
      if (p.protocol.empty()) return false;
    }
    return true;
  };
  if (const auto* w = std::get_if<Workload>(&o.value)) {
    FUZZ_CHECK(ParseKind(m.kind) == w->kind && w->ns == m.ns && w->name == m.name &&
                   w->uid == m.uid && w->labels == m.labels,
               printed);
    for (const Container& c : w->containers) FUZZ_CHECK(ports_ok(c.ports), printed);
    if (w->kind == WorkloadKind::kPod) FUZZ_CHECK(w->template_labels == m.labels, printed);
    if (w->kind == WorkloadKind::kCronJob) {
      FUZZ_CHECK(w->pod_selector.match_labels == w->template_labels &&
                     w->pod_selector.match_expressions.empty(),
                 printed);
    }
  } else if (const auto* s = std::get_if<Service>(&o.value)) {
    FUZZ_CHECK(m.kind == "Service" && s->ns == m.ns && s->name == m.name && ports_ok(s->ports),
               printed);
    FUZZ_CHECK(!s->selector || !s->selector->empty(), "an empty selector kept: " << printed);
  } else if (const auto* e = std::get_if<EndpointSlice>(&o.value)) {
    FUZZ_CHECK(m.kind == "EndpointSlice" && e->ns == m.ns && e->name == m.name &&
                   ports_ok(e->ports) && !e->address_type.empty(),
               printed);
  } else if (const auto* i = std::get_if<Ingress>(&o.value)) {
    FUZZ_CHECK(m.kind == "Ingress" && i->ns == m.ns && i->name == m.name, printed);
  } else if (const auto* c = std::get_if<ConfigMap>(&o.value)) {
    FUZZ_CHECK(m.kind == "ConfigMap" && c->ns == m.ns && c->name == m.name, printed);
  } else if (const auto* n = std::get_if<Namespace>(&o.value)) {
    FUZZ_CHECK(m.kind == "Namespace" && n->name == m.name, printed);
    auto it = n->labels.find(std::string(kNamespaceNameLabel));
    FUZZ_CHECK(it != n->labels.end() && it->second == m.name, printed);
  } else if (const auto* p = std::get_if<StoredPolicy>(&o.value)) {
    FUZZ_CHECK(m.kind == "NetworkPolicy" && p->policy.ns == m.ns && p->policy.name == m.name,
               printed);
  } else if (std::holds_alternative<PodMeta>(o.value)) {
    FUZZ_CHECK(m.kind == "PartialObjectMetadata" || (m.kind == "Pod" && options.pod_meta_only),
               printed);
  } else if (std::holds_alternative<Unknown>(o.value)) {
    FUZZ_CHECK(!ParseKind(m.kind) && m.kind != "Service" && m.kind != "EndpointSlice" &&
                   m.kind != "Ingress" && m.kind != "ConfigMap" && m.kind != "Namespace" &&
                   m.kind != "NetworkPolicy" && m.kind != "PartialObjectMetadata",
               "a known kind decoded as Unknown: " << printed);
  }
  if (m.kind != "Namespace" && m.ns.empty()) {
    FUZZ_CHECK(options.default_namespace.empty(), "default namespace not applied: " << printed);
  }
  if (options.offline && !std::holds_alternative<Unknown>(o.value) &&
      !std::holds_alternative<StoredPolicy>(o.value) && !std::holds_alternative<PodMeta>(o.value)) {
    FUZZ_CHECK(!m.name.empty(), "offline without metadata.name: " << printed);
  }
}

void CheckError(const Status& s, const std::string& path) {
  FUZZ_CHECK(!s.ok(), "error without a message");
  if (!path.empty()) {
    FUZZ_CHECK(s.message().find(": " + path + ": ") != std::string::npos,
               "path " << fuzz::Quote(path) << " not in " << fuzz::Quote(s.message()));
  }
}

}  // namespace
}  // namespace npc::decode

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace npc::decode;  // NOLINT(google-build-using-namespace)
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  static Decoder decoder;  // reused across inputs, as the controller reuses its decoders

  DecodeOptions online;
  DecodeOptions offline;
  offline.offline = true;
  offline.default_namespace = "default";
  DecodeOptions pod_meta;
  pod_meta.pod_meta_only = true;
  pod_meta.default_kind = "Pod";
  DecodeOptions list_item;  // items of a list carry no kind
  list_item.default_kind = "Deployment";

  std::string on_text;
  for (const DecodeOptions* options : {&online, &offline, &pod_meta, &list_item}) {
    std::string path;
    const npc::StatusOr<Object> r = decoder.Decode(in, *options, &path);
    std::string path2 = "stale";
    const npc::StatusOr<Object> r2 = decoder.Decode(in, *options, &path2);
    FUZZ_CHECK(Print(r) == Print(r2) && path == path2, "not deterministic:\n"
                                                           << Print(r) << "\n"
                                                           << Print(r2));
    if (!r.ok()) {
      CheckError(r.status(), path);
    } else {
      FUZZ_CHECK(path.empty(), "an error path on success: " << path);
      CheckDecoded(*r, *options);
    }
    if (options == &online) on_text = Print(r);
    if (options == &offline && r.ok()) {
      // Offline adds requirements only: the same object decodes online, alike
      // but for the defaulted namespace.
      DecodeOptions with_ns;
      with_ns.default_namespace = "default";
      const std::string online_ns = Print(decoder.Decode(in, with_ns));
      FUZZ_CHECK(online_ns == Print(r), "offline:\n" << Print(r) << "\nonline:\n" << online_ns);
    }
  }

  // DecodeElement on the parsed document gives what Decode gives.
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (!parser.parse(in.data(), in.size()).get(doc)) {
    const std::string from_element = Print(decoder.DecodeElement(doc, online));
    FUZZ_CHECK(from_element == on_text, "DecodeElement:\n"
                                            << from_element << "\nDecode:\n"
                                            << on_text);
    // Spacing carries no meaning.
    const std::string minified = simdjson::minify(doc);
    const std::string from_minified = Print(decoder.Decode(minified, online));
    FUZZ_CHECK(from_minified == on_text, "minified:\n"
                                             << from_minified << "\nas sent:\n"
                                             << on_text);
  }
  return 0;
}
