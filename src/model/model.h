// Plain value types shared by every part of netpol-ctrl.
//
// The snapshot types hold only the fields synthesis needs (DESIGN.md sections
// 1-4): the manifest loader, the controller's cache and the tests all produce
// them, and synthesis (synth/) consumes them. The policy types describe a
// NetworkPolicy as netpol-ctrl writes it; render/ turns them into YAML/JSON.
//
// No I/O, no JSON, no logging here: these are plain structs with value
// semantics, cheap to compare and safe to share as `shared_ptr<const T>`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/shared.h"

namespace npc {

using Labels = std::map<std::string, std::string>;
using Annotations = std::map<std::string, std::string>;

// ---------------------------------------------------------------------------
// Selectors

struct LabelSelectorRequirement {
  std::string key;
  std::string op;  // "In", "NotIn", "Exists", "DoesNotExist" (as Kubernetes spells them)
  std::vector<std::string> values;

  auto operator<=>(const LabelSelectorRequirement&) const = default;
};

// A metav1.LabelSelector. An empty selector (no labels, no expressions)
// selects everything.
struct LabelSelector {
  Labels match_labels;
  std::vector<LabelSelectorRequirement> match_expressions;

  bool empty() const { return match_labels.empty() && match_expressions.empty(); }
  auto operator<=>(const LabelSelector&) const = default;
};

// True when `labels` satisfy every requirement of `selector`.
bool Matches(const LabelSelector& selector, const Labels& labels);

// A configured peer (DNS servers, ingress controllers, monitoring, the
// OpenShift router, a Gateway implementation): either a set of pods anywhere
// in the cluster (pods matching `pods` in namespaces matching `namespaces`),
// or addresses (`cidrs`, and/or the nodes' addresses when `nodes`), or any
// source at all (`any`: a rule without peers, for traffic that no
// NetworkPolicy peer can select).
//
// Gateway implementations may write "{name}" and "{namespace}" in label
// values and in the namespace: they stand for the Gateway's name and
// namespace. Ingress controllers and Gateway implementations name what they
// serve: `controllers` (IngressClass spec.controller, GatewayClass
// spec.controllerName) and `classes` (ingress class names, for Ingresses
// whose class has no IngressClass object). An ingress controller that names
// neither serves every class.
struct PeerSelector {
  LabelSelector namespaces;
  LabelSelector pods;
  std::vector<std::string> cidrs = {};  // canonical CIDRs; set: an address peer
  bool nodes = false;                   // the node addresses (SynthesisConfig::node_cidrs)
  bool any = false;                     // every source (ingress rules only)
  std::vector<std::string> controllers = {};
  std::vector<std::string> classes = {};

  // True when the peer selects pods (not addresses, not "any").
  bool selects_pods() const { return cidrs.empty() && !nodes && !any; }
  auto operator<=>(const PeerSelector&) const = default;
};

// ---------------------------------------------------------------------------
// Workloads

struct OwnerReference {
  std::string api_version;
  std::string kind;
  std::string name;
  std::string uid;
  auto operator<=>(const OwnerReference&) const = default;
};

enum class WorkloadKind {
  kDeployment,
  kStatefulSet,
  kDaemonSet,
  kReplicaSet,
  kJob,
  kCronJob,
  kPod,
  // The pods of a controller of a kind netpol-ctrl does not know (an
  // operator's custom resource, an Argo Rollout), named after that owner
  // (DESIGN.md section 1). WorkloadKey::custom_kind holds the owner's kind.
  kCustom
};

std::string_view KindName(WorkloadKind kind);        // "Deployment" ("Custom" for kCustom)
std::string_view KindApiVersion(WorkloadKind kind);  // "apps/v1" ("" for kCustom)
// The built-in kinds only: never kCustom.
std::optional<WorkloadKind> ParseKind(std::string_view kind);

// True for the controlling owners whose pods belong to a workload of a known
// kind: apps Deployment/StatefulSet/DaemonSet/ReplicaSet, batch Job/CronJob
// (`api_version` is the owner reference's, e.g. "apps/v1").
bool IsKnownController(std::string_view api_version, std::string_view kind);

// Identifies a workload: kind, namespace and name.
struct WorkloadKey {
  WorkloadKind kind = WorkloadKind::kDeployment;
  std::string ns;
  std::string name;
  // kCustom only: the owner's kind ("Rollout"), qualified with its API group
  // when it has the name of a built-in kind ("Deployment.apps.example.com").
  std::string custom_kind = {};

  std::string Kind() const;      // "Deployment", "Rollout"
  std::string ToString() const;  // "Deployment/ns/name", "Rollout/ns/name"
  auto operator<=>(const WorkloadKey&) const = default;
};

// Labels that differ between the pods of one workload (revisions, ordinals,
// jobs): pod-template-hash, controller-revision-hash,
// statefulset.kubernetes.io/pod-name, apps.kubernetes.io/pod-index,
// job-name, controller-uid, their batch.kubernetes.io/ forms, and Argo
// Rollouts' rollouts-pod-template-hash.
bool IsPerRevisionLabel(std::string_view key);
// `labels` without the per-revision ones.
Labels WithoutPerRevisionLabels(const Labels& labels);

struct IntOrString {
  std::optional<int32_t> num;  // set when the value is a number
  std::string str;             // set when the value is a name

  bool is_num() const { return num.has_value(); }
  bool empty() const { return !num && str.empty(); }
  std::string ToString() const { return num ? std::to_string(*num) : str; }
  auto operator<=>(const IntOrString&) const = default;
};

struct EnvVar {
  std::string name;
  std::optional<std::string> value;  // env[].value
  // env[].valueFrom.configMapKeyRef; empty name when absent.
  std::string config_map_name;
  std::string config_map_key;
  // env[].valueFrom.secretKeyRef; empty name when absent.
  std::string secret_name = {};
  std::string secret_key = {};

  bool operator==(const EnvVar&) const = default;
};

struct EnvFromSource {
  std::string config_map_name;  // envFrom[].configMapRef.name
  std::string prefix;
  std::string secret_name = {};  // envFrom[].secretRef.name

  bool operator==(const EnvFromSource&) const = default;
};

struct ContainerPort {
  std::string name;
  int32_t port = 0;
  std::string protocol = "TCP";

  bool operator==(const ContainerPort&) const = default;
};

struct Container {
  std::string name;
  bool init = false;
  std::vector<EnvVar> env;
  std::vector<EnvFromSource> env_from;
  std::vector<std::string> command;
  std::vector<std::string> args;
  std::vector<ContainerPort> ports;

  bool operator==(const Container&) const = default;
};

struct Workload {
  WorkloadKind kind = WorkloadKind::kDeployment;
  std::string ns;
  std::string name;
  std::string uid;
  Labels labels;            // the workload object's own labels
  Annotations annotations;  // the workload object's own annotations
  // spec.selector; for a CronJob the labels of jobTemplate.spec.template; for a
  // bare Pod its labels.
  LabelSelector pod_selector;
  Labels template_labels;             // the pod template's labels (a bare Pod: its labels)
  Annotations template_annotations;   // the pod template's annotations
  std::vector<Container> containers;  // containers and initContainers (Container::init)
  std::vector<std::string> config_map_volumes;  // names of ConfigMaps mounted as volumes
  bool host_network = false;
  // True for Pods, ReplicaSets and Jobs that have a controlling ownerReference:
  // those are never workloads themselves.
  bool has_controller = false;
  // The controlling ownerReference of a ReplicaSet or Job (set with
  // has_controller); for kCustom, the owner the workload is named after.
  std::optional<OwnerReference> controller;
  // metadata.creationTimestamp of ReplicaSets and Jobs (RFC 3339), to find
  // the newest of a custom owner's ReplicaSets.
  std::string created;
  // kCustom only: where its template came from ("ReplicaSet shop/api-7d9f
  // (the newest of 2)", "Pod shop/api-0"), for explain.
  std::string template_from;
  std::vector<std::string> secret_volumes;  // names of Secrets mounted as volumes

  std::string custom_kind;  // kCustom: as WorkloadKey::custom_kind

  WorkloadKey key() const {
    return {kind, ns, name, kind == WorkloadKind::kCustom ? custom_kind : std::string()};
  }

  bool operator==(const Workload&) const = default;
};

// ---------------------------------------------------------------------------
// Services and what routes to them

struct ServicePort {
  std::string name;
  std::string protocol = "TCP";
  int32_t port = 0;
  IntOrString target_port;  // empty means "same as port"
  int32_t node_port = 0;

  bool operator==(const ServicePort&) const = default;
};

struct Service {
  std::string ns;
  std::string name;
  std::string type = "ClusterIP";  // ClusterIP, NodePort, LoadBalancer, ExternalName
  // spec.selector; std::nullopt when the Service has no selector (its
  // EndpointSlices then say where traffic goes).
  std::optional<Labels> selector;
  std::vector<ServicePort> ports;
  std::string external_name;
  bool headless = false;  // clusterIP: None
  Labels labels = {};     // the Service's own labels (ServiceMonitors select by them)
  // spec.clusterIPs (else spec.clusterIP), without "None": where clients
  // connect (the node agent maps them back to the Service).
  std::vector<std::string> cluster_ips = {};

  bool operator==(const Service&) const = default;
};

struct EndpointPort {
  std::string name;
  int32_t port = 0;
  std::string protocol = "TCP";

  bool operator==(const EndpointPort&) const = default;
};

struct EndpointSlice {
  std::string ns;
  std::string name;
  std::string service_name;  // label kubernetes.io/service-name
  std::string address_type = "IPv4";
  std::vector<std::string> addresses;
  std::vector<EndpointPort> ports;

  bool operator==(const EndpointSlice&) const = default;
};

struct IngressBackend {
  std::string service_name;
  IntOrString service_port;  // number or name of a Service port

  bool operator==(const IngressBackend&) const = default;
};

struct Ingress {
  std::string ns;
  std::string name;
  std::string ingress_class;             // spec.ingressClassName
  std::vector<IngressBackend> backends;  // defaultBackend and every rule path
  std::string class_annotation = {};     // annotation kubernetes.io/ingress.class (legacy)

  bool operator==(const Ingress&) const = default;
};

// An IngressClass: which controller implements Ingresses of this class.
struct IngressClass {
  std::string name;
  std::string controller;  // spec.controller, e.g. "k8s.io/ingress-nginx"
  bool is_default = false;  // annotation ingressclass.kubernetes.io/is-default-class: "true"

  bool operator==(const IngressClass&) const = default;
};

// An OpenShift Route (route.openshift.io/v1): the router sends traffic to
// the Services in spec.to and spec.alternateBackends, on spec.port.targetPort
// (a Service port name, or a number: the pods' port), or on every port.
struct Route {
  std::string ns;
  std::string name;
  std::vector<std::string> services;  // spec.to and spec.alternateBackends of kind Service
  IntOrString target_port;            // spec.port.targetPort; empty: every port

  bool operator==(const Route&) const = default;
};

// A Gateway API Gateway and GatewayClass.
struct Gateway {
  std::string ns;
  std::string name;
  std::string gateway_class;  // spec.gatewayClassName

  bool operator==(const Gateway&) const = default;
};

struct GatewayClass {
  std::string name;
  std::string controller;  // spec.controllerName

  bool operator==(const GatewayClass&) const = default;
};

// An HTTPRoute, GRPCRoute, TLSRoute, TCPRoute or UDPRoute: the Gateways in
// parentRefs send traffic to the backendRefs of its rules.
struct GatewayRoute {
  std::string kind;  // "HTTPRoute", ...
  std::string ns;
  std::string name;
  struct Parent {
    std::string group = "gateway.networking.k8s.io";
    std::string kind = "Gateway";
    std::string ns;  // defaults to the route's
    std::string name;
    bool operator==(const Parent&) const = default;
  };
  std::vector<Parent> parents;
  struct Backend {
    std::string group;  // "" (core) by default
    std::string kind = "Service";
    std::string ns;  // defaults to the route's
    std::string name;
    std::optional<int32_t> port;  // a Service port number
    bool operator==(const Backend&) const = default;
  };
  std::vector<Backend> backends;

  bool operator==(const GatewayRoute&) const = default;
};
// The route kinds GatewayRoute stands for.
inline constexpr std::string_view kGatewayRouteKinds[] = {"HTTPRoute", "GRPCRoute", "TLSRoute",
                                                          "TCPRoute", "UDPRoute"};

// An object that makes the kube-apiserver call a Service: a
// Validating/MutatingWebhookConfiguration (one call per webhook with
// clientConfig.service), an APIService (spec.service) or a
// CustomResourceDefinition with a conversion webhook. Cluster-scoped.
struct ApiServerHook {
  enum class Kind {
    kValidatingWebhookConfiguration,
    kMutatingWebhookConfiguration,
    kAPIService,
    kCustomResourceDefinition
  };
  Kind kind = Kind::kValidatingWebhookConfiguration;
  std::string name;
  struct Call {
    std::string webhook;  // the webhook's name ("" for APIServices and CRDs)
    std::string ns;       // the Service
    std::string service;
    int32_t port = 443;  // a port of that Service (clientConfig.service.port, default 443)
    bool operator==(const Call&) const = default;
  };
  std::vector<Call> calls;

  bool operator==(const ApiServerHook&) const = default;
};
std::string_view HookKindName(ApiServerHook::Kind kind);  // "ValidatingWebhookConfiguration"
std::optional<ApiServerHook::Kind> ParseHookKind(std::string_view kind);

// Prometheus operator objects (monitoring.coreos.com/v1).
struct Prometheus {
  std::string ns;
  std::string name;
  // null: selects no monitor; {}: every monitor.
  std::optional<LabelSelector> service_monitor_selector;
  // null: the Prometheus' own namespace; {}: every namespace.
  std::optional<LabelSelector> service_monitor_namespace_selector;
  std::optional<LabelSelector> pod_monitor_selector;
  std::optional<LabelSelector> pod_monitor_namespace_selector;
  // spec.alerting.alertmanagers: Services (namespace defaults to the Prometheus').
  struct Alertmanager {
    std::string ns;
    std::string service;
    IntOrString port;  // a Service port name or number
    bool operator==(const Alertmanager&) const = default;
  };
  std::vector<Alertmanager> alertmanagers;

  bool operator==(const Prometheus&) const = default;
};

// A monitor's spec.namespaceSelector: `any`, or these names, or (neither)
// the monitor's own namespace.
struct MonitorNamespaces {
  bool any = false;
  std::vector<std::string> names;
  bool operator==(const MonitorNamespaces&) const = default;
};

struct ServiceMonitor {
  std::string ns;
  std::string name;
  Labels labels;
  MonitorNamespaces namespaces;
  LabelSelector selector;  // over Services' labels
  struct Endpoint {
    std::string port;         // a Service port name (wins over target_port)
    IntOrString target_port;  // the pods' port
    bool operator==(const Endpoint&) const = default;
  };
  std::vector<Endpoint> endpoints;

  bool operator==(const ServiceMonitor&) const = default;
};

struct PodMonitor {
  std::string ns;
  std::string name;
  Labels labels;
  MonitorNamespaces namespaces;
  LabelSelector selector;  // over pods' labels
  struct Endpoint {
    std::string port;                    // a container port name (wins)
    std::optional<int32_t> port_number;  // portNumber
    IntOrString target_port;             // targetPort (deprecated)
    bool operator==(const Endpoint&) const = default;
  };
  std::vector<Endpoint> endpoints;

  bool operator==(const PodMonitor&) const = default;
};

// A Secret, reduced to the host names its values name (DESIGN.md section
// 4): each value was base64-decoded and scanned; only "host[:port]" items
// are kept, separated by spaces, never the value itself. `exact` lists the
// keys whose whole value was one such item (those may be expanded as
// $(VAR)).
struct Secret {
  std::string ns;
  std::string name;
  std::map<std::string, std::string> hosts;
  std::vector<std::string> exact;  // sorted

  bool operator==(const Secret&) const = default;
};

// A pod run by a controller (bare pods are workloads of kind kPod). Backends
// of Services, custom workloads (kCustom) and pod DNS names are found
// through these. Labels, owner and spec are held shared (model/shared.h): a
// cache of many Pods keeps what siblings have in common once.
struct Pod {
  std::string ns;
  std::string name;  // no uid: synthesis never reads it (100,000 pods: 8 MB)
  Shared<Labels> labels;
  std::string ip;  // status.podIP; "" when not known
  bool host_network = false;
  SharedOptional<OwnerReference> controller;  // the controlling ownerReference
  // The pod's spec, when known (the template of a custom workload whose pods
  // come through no ReplicaSet or Job).
  struct Spec {
    Annotations annotations;
    std::vector<Container> containers;
    std::vector<std::string> config_map_volumes;
    std::vector<std::string> secret_volumes;
    bool operator==(const Spec&) const = default;
  };
  SharedOptional<Spec> spec;

  bool operator==(const Pod&) const = default;
};

struct ConfigMap {
  std::string ns;
  std::string name;
  std::map<std::string, std::string> data;

  bool operator==(const ConfigMap&) const = default;
};

struct Namespace {
  std::string name;
  Labels labels;
  Annotations annotations;

  bool operator==(const Namespace&) const = default;
};

// A pod's IP, for pod DNS names (a-b-c-d.ns.pod.<domain>). Only the controller
// knows these; manifests have none.
struct PodAddress {
  std::string ns;
  std::string ip;
  WorkloadKey owner;  // the workload that runs this pod
};

// A flow the node agents observed (an ObservedFlows object, its nodes'
// entries merged): `client` connected to `server` (a workload of the
// cluster) or to `address` (no known pod) on `port`/`protocol` (where the
// server answered, after any Service translation).
struct ObservedFlow {
  WorkloadKey client;
  std::optional<WorkloadKey> server;  // unset: `address` answered
  std::string address;                // "203.0.113.5", "2001:db8::1"
  std::string service_ns;             // the Service dialled ("" when none)
  std::string service_name;
  int32_t port = 0;
  std::string protocol = "TCP";
  uint64_t count = 0;      // connections, summed over nodes
  int64_t first_seen = 0;  // Unix seconds
  int64_t last_seen = 0;

  bool operator==(const ObservedFlow&) const = default;
};

// Everything synthesis looks at. Order of elements carries no meaning.
// `workloads` holds controller-owned ReplicaSets and Jobs too (has_controller):
// they are no workloads, but they say who runs their pods and hold the
// templates of custom workloads.
struct Snapshot {
  std::vector<Namespace> namespaces;
  std::vector<Workload> workloads;
  std::vector<Service> services;
  std::vector<EndpointSlice> endpoint_slices;
  std::vector<Ingress> ingresses;
  std::vector<ConfigMap> config_maps;
  std::vector<PodAddress> pod_addresses;
  std::vector<Pod> pods;
  std::vector<Secret> secrets;
  std::vector<IngressClass> ingress_classes;
  std::vector<Route> routes;
  std::vector<Gateway> gateways;
  std::vector<GatewayClass> gateway_classes;
  std::vector<GatewayRoute> gateway_routes;
  std::vector<ApiServerHook> api_server_hooks;
  std::vector<Prometheus> prometheuses;
  std::vector<ServiceMonitor> service_monitors;
  std::vector<PodMonitor> pod_monitors;
  std::vector<ObservedFlow> observed_flows;  // from ObservedFlows objects

  // More of the same kinds, held by the caller instead of copied (the
  // controller's cache lends its objects to each recompute): indexed exactly
  // like the vectors above; each must outlive every use of the snapshot.
  std::vector<const Workload*> workload_refs;
  std::vector<const Pod*> pod_refs;
  std::vector<const Service*> service_refs;
  std::vector<const ConfigMap*> config_map_refs;
  std::vector<const Namespace*> namespace_refs;
};

// ---------------------------------------------------------------------------
// Configuration (DESIGN.md section 4)

enum class IngressControllerMode { kExposed, kAll };
enum class Mode { kEnforce, kAudit };
// What observed flows do (DESIGN.md section 5): nothing; reported when the
// policies would deny them (WouldDeny); or allowed like edges.
enum class ObservedFlowsMode { kOff, kReport, kAllow };
std::string_view ObservedFlowsModeName(ObservedFlowsMode m);  // "off", "report", "allow"
std::optional<ObservedFlowsMode> ParseObservedFlowsMode(std::string_view s);

struct SynthesisConfig {
  std::vector<std::string> excluded_namespaces = {"kube-system", "kube-public", "kube-node-lease"};
  std::string cluster_domain = "cluster.local";
  std::vector<PeerSelector> dns_peers;  // Defaults() fills these
  std::vector<PeerSelector> monitoring_peers;
  std::vector<PeerSelector> ingress_controller_peers;
  std::vector<PeerSelector> openshift_router_peers;
  std::vector<PeerSelector> gateway_peers;  // each names the controllers it implements
  IngressControllerMode ingress_controller_mode = IngressControllerMode::kExposed;
  bool read_config_maps = true;
  bool read_secrets = false;  // scan Secrets the templates use (host names only)
  bool default_deny = false;  // one extra deny-all policy per managed namespace
  // Where the kube-apiserver's calls to webhooks come from; empty: the
  // addresses of the EndpointSlices of default/kubernetes.
  std::vector<std::string> api_server_cidrs;
  // The nodes' addresses: hostNetwork pods send and receive from them.
  std::vector<std::string> node_cidrs;
  // Only namespaces whose labels match are managed (--namespace-selector);
  // nullopt: every namespace that is not excluded. A namespace labelled
  // netpol-ctrl.io/mode=off is not managed either (synth/namespaces.h).
  std::optional<LabelSelector> namespace_selector;
  // Observed flows (Snapshot::observed_flows): with kAllow, in-cluster flows
  // last seen at or after `observed_not_before` (Unix seconds; the caller's
  // clock minus --observed-flows-ttl, 0: no limit) are edges; external ones
  // too (/32 or /128 ipBlocks) with `allow_observed_external`.
  ObservedFlowsMode observed_flows = ObservedFlowsMode::kReport;
  int64_t observed_not_before = 0;
  bool allow_observed_external = false;

  // The defaults of DESIGN.md section 4 (DNS = kube-system/k8s-app=kube-dns,
  // monitoring = monitoring/app.kubernetes.io/name=prometheus, the ingress
  // controllers, the OpenShift router and the Gateway implementations listed
  // in model.cc with where each was checked).
  static SynthesisConfig Defaults();
};

// ---------------------------------------------------------------------------
// Output: NetworkPolicies

struct IPBlock {
  std::string cidr;
  std::vector<std::string> except;
  auto operator<=>(const IPBlock&) const = default;
};

// One entry of from/to. Exactly one of: ip_block, or one or both selectors.
// namespace_selector and pod_selector in ONE peer are ANDed.
struct PolicyPeer {
  std::optional<LabelSelector> namespace_selector;
  std::optional<LabelSelector> pod_selector;
  std::optional<IPBlock> ip_block;
  auto operator<=>(const PolicyPeer&) const = default;
};

struct PolicyPort {
  std::string protocol = "TCP";
  IntOrString port;  // empty: all ports
  std::optional<int32_t> end_port;
  auto operator<=>(const PolicyPort&) const = default;
};

// An ingress or egress rule: any of `peers` (all peers if empty) on any of
// `ports` (all ports if empty).
struct PolicyRule {
  std::vector<PolicyPeer> peers;
  std::vector<PolicyPort> ports;
  auto operator<=>(const PolicyRule&) const = default;
};

struct NetworkPolicy {
  std::string ns;
  std::string name;
  Labels labels;
  Annotations annotations;
  std::optional<OwnerReference> owner;  // controller: true when set
  LabelSelector pod_selector;
  std::vector<PolicyRule> ingress;
  std::vector<PolicyRule> egress;
  std::vector<std::string> policy_types = {"Ingress", "Egress"};
  auto operator<=>(const NetworkPolicy&) const = default;
};

// A 64-bit fingerprint of a policy's spec (podSelector, ingress, egress,
// policyTypes): equal specs have equal fingerprints; different ones differ
// but with probability 2^-64. Lets a cache keep what it compares, not the spec.
[[nodiscard]] uint64_t PolicySpecFingerprint(const NetworkPolicy& policy);

inline constexpr std::string_view kManagedByLabel = "app.kubernetes.io/managed-by";
inline constexpr std::string_view kManagedByValue = "netpol-ctrl";
inline constexpr std::string_view kIgnoreAnnotation = "netpol-ctrl.io/ignore";
inline constexpr std::string_view kAllowEgressAnnotation = "netpol-ctrl.io/allow-egress";
inline constexpr std::string_view kAllowIngressFromAnnotation = "netpol-ctrl.io/allow-ingress-from";
inline constexpr std::string_view kAllowApiServerAnnotation = "netpol-ctrl.io/allow-api-server";
// On a namespace: audit, enforce or off, overriding the global mode there.
inline constexpr std::string_view kModeLabel = "netpol-ctrl.io/mode";
inline constexpr std::string_view kBarePodLabel = "netpol-ctrl.io/pod";
inline constexpr std::string_view kNamespaceNameLabel = "kubernetes.io/metadata.name";

}  // namespace npc
