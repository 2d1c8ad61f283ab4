// Decoding Kubernetes objects (JSON, as the API server sends them) into the
// model structs that synthesis reads and the controller caches.
//
// One decoder serves every front end: the controller's informers feed it watch
// events, the manifest loader feeds it YAML documents converted to JSON, and
// the benchmarks measure it. It keeps only the fields synthesis needs and
// never copies managedFields or whole objects.
//
//   Decoder d;                                  // reusable; one per thread
//   StatusOr<Object> o = d.Decode(json_text);   // kind read from the object
//   if (auto* w = std::get_if<Workload>(&o->value)) ...
//
// Errors name the object and the field: `Deployment shop/web:
// spec.template.spec.containers[0].ports[0].containerPort: expected an integer`.
// Unknown kinds decode to `Unknown` (not an error). Missing optional fields
// take their Kubernetes defaults (protocol TCP, namespace "" unless
// DecodeOptions::default_namespace says otherwise). A null value means the
// same as an absent field, except inside string maps and string lists, where
// it is "" (as Go's encoding/json reads it). Fields that the decoder descends
// into must be objects or lists as Kubernetes defines them; anything else is
// an error naming the field.
//
// What a field means is decided here only: the controller and the manifest
// loader both read objects through this decoder, so e.g. a Job without a
// selector, an empty Service selector or a named targetPort mean the same in
// `generate` and in the cluster.
//
// Thread-safety: a Decoder holds a parser buffer; use one per thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "common/status.h"
#include "model/model.h"

namespace simdjson::dom {
class parser;
class element;
}  // namespace simdjson::dom

namespace npc::decode {

// Identity and version of a decoded object, whatever its kind.
struct Meta {
  std::string api_version;
  std::string kind;
  std::string ns;
  std::string name;
  std::string uid;
  std::string resource_version;
  int64_t generation = 0;  // metadata.generation (0 when absent)
  std::string creation_timestamp;  // metadata.creationTimestamp (RFC 3339), "" when absent
  Labels labels;
  // The controlling ownerReference (controller: true), if any.
  std::optional<OwnerReference> controller;
  bool deleting = false;  // metadata.deletionTimestamp is set
};

// A Pod seen as PartialObjectMetadata: enough to tell bare pods apart. When
// the whole Pod was sent (the node agent asks for it), also where it runs and
// its addresses; these stay empty for PartialObjectMetadata.
struct PodMeta {
  Labels labels;
  std::vector<std::string> ips;  // status.podIPs[].ip, else status.podIP
  std::string node_name;         // spec.nodeName
  bool host_network = false;     // spec.hostNetwork (its IPs are the node's)
  bool terminated = false;       // status.phase Succeeded or Failed (its IPs are free)
};

// A NetworkPolicy as stored in the cluster (to compare with the desired one).
struct StoredPolicy {
  NetworkPolicy policy;
};

struct Unknown {};

// An ObservedFlows object (netpol-ctrl.io, observedflows/): the client
// workload (spec.workload, its uid included, for Events about it) and the
// flows of every node, merged.
struct ObservedFlowsValue {
  OwnerReference client;
  std::vector<ObservedFlow> flows;
  bool operator==(const ObservedFlowsValue&) const = default;
};

// What an object decodes to, by kind (and API group, when the object names
// one: a Gateway of networking.istio.io is Unknown):
//   Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob -> Workload
//     (a ReplicaSet or Job with a controlling owner keeps it in
//     Workload::controller; has_controller is set);
//   Pod -> Workload (kind kPod) when it has no controlling owner (a bare pod,
//     a workload of its own), Pod otherwise; PodMeta with pod_meta_only or
//     for PartialObjectMetadata;
//   Service, EndpointSlice, Ingress, ConfigMap, Namespace -> as named;
//   Secret -> Secret reduced to the host names of its values (refs.h
//     ReduceToHosts): no value is ever kept;
//   IngressClass, Route (route.openshift.io), Gateway, GatewayClass,
//     HTTPRoute/GRPCRoute/TLSRoute/TCPRoute/UDPRoute -> IngressClass, Route,
//     Gateway, GatewayClass, GatewayRoute;
//   ValidatingWebhookConfiguration, MutatingWebhookConfiguration, APIService,
//     CustomResourceDefinition -> ApiServerHook (the calls the API server
//     makes to Services; a CRD without a conversion webhook has none);
//   Prometheus, ServiceMonitor, PodMonitor (monitoring.coreos.com) -> as named;
//   ObservedFlows (netpol-ctrl.io) -> ObservedFlowsValue;
//   NetworkPolicy -> StoredPolicy; anything else -> Unknown.
struct Object {
  Meta meta;
  std::variant<Unknown, Workload, Service, EndpointSlice, Ingress, ConfigMap, Namespace, PodMeta,
               StoredPolicy, Pod, Secret, IngressClass, Route, Gateway, GatewayClass, GatewayRoute,
               ApiServerHook, Prometheus, ServiceMonitor, PodMonitor, ObservedFlowsValue>
      value;
};

struct DecodeOptions {
  // The kind to assume when the object carries none (items of a list do not).
  std::string_view default_kind = {};
  // Decode Pods as PodMeta only (labels and owner), whatever the payload.
  bool pod_meta_only = false;
  // The namespace of namespaced objects that carry none (kubectl's current
  // namespace); Namespace objects are cluster-scoped and never get one.
  std::string_view default_namespace = {};
  // The object was written by hand (a manifest), not read from the API
  // server: fields the server would have required are checked, and missing
  // ones are errors ("spec.selector: is missing"): metadata.name, a workload's
  // spec, template (jobTemplate.spec.template) and selector (but a Job's),
  // a Service port's number.
  bool offline = false;
};

// True for the annotations synthesis reads; the decoder keeps only these
// (Workload::annotations and template_annotations, Namespace, Pod specs),
// so kubectl's last-applied-configuration and the like are never cached.
// A NetworkPolicy's annotations are kept whole (StoredPolicy).
[[nodiscard]] bool SynthesisReadsAnnotation(std::string_view key);

class Decoder {
 public:
  Decoder();
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Decodes one object. `json` need not be padded; it is copied only when its
  // buffer is too short for simdjson's padding. On a field error, the Status
  // reads "<Kind> <ns>/<name>: <path>: <problem>" and `error_path`, when
  // given, receives <path> alone (e.g. "spec.ports[0].port"; "" when the
  // error is not about one field, such as invalid JSON).
  StatusOr<Object> Decode(std::string_view json, const DecodeOptions& options = {},
                          std::string* error_path = nullptr);

  // Decodes an already parsed element (used by list and watch decoding).
  StatusOr<Object> DecodeElement(const simdjson::dom::element& element,
                                 const DecodeOptions& options = {},
                                 std::string* error_path = nullptr);

  // Objects larger than this are parsed by a parser that is freed at once;
  // the decoder's own parser never grows beyond it.
  static constexpr size_t kKeptParserBytes = 16 * 1024;
  size_t ParserCapacityForTest() const;

 private:
  std::unique_ptr<simdjson::dom::parser> parser_;
};

}  // namespace npc::decode
