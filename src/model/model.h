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

// A set of pods anywhere in the cluster: pods matching `pods` in namespaces
// matching `namespaces` (used for DNS, ingress-controller and monitoring peers).
struct PeerSelector {
  LabelSelector namespaces;
  LabelSelector pods;

  auto operator<=>(const PeerSelector&) const = default;
};

// ---------------------------------------------------------------------------
// Workloads

enum class WorkloadKind {
  kDeployment,
  kStatefulSet,
  kDaemonSet,
  kReplicaSet,
  kJob,
  kCronJob,
  kPod
};

std::string_view KindName(WorkloadKind kind);        // "Deployment"
std::string_view KindApiVersion(WorkloadKind kind);  // "apps/v1"
std::optional<WorkloadKind> ParseKind(std::string_view kind);

// Identifies a workload: kind, namespace and name.
struct WorkloadKey {
  WorkloadKind kind = WorkloadKind::kDeployment;
  std::string ns;
  std::string name;

  std::string ToString() const;  // "Deployment/ns/name"
  auto operator<=>(const WorkloadKey&) const = default;
};

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

  bool operator==(const EnvVar&) const = default;
};

struct EnvFromSource {
  std::string config_map_name;  // envFrom[].configMapRef.name (secretRef is ignored)
  std::string prefix;

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

  WorkloadKey key() const { return {kind, ns, name}; }

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
  std::string ingress_class;
  std::vector<IngressBackend> backends;  // defaultBackend and every rule path

  bool operator==(const Ingress&) const = default;
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

// Everything synthesis looks at. Order of elements carries no meaning.
struct Snapshot {
  std::vector<Namespace> namespaces;
  std::vector<Workload> workloads;
  std::vector<Service> services;
  std::vector<EndpointSlice> endpoint_slices;
  std::vector<Ingress> ingresses;
  std::vector<ConfigMap> config_maps;
  std::vector<PodAddress> pod_addresses;
};

// ---------------------------------------------------------------------------
// Configuration (DESIGN.md section 4)

enum class IngressControllerMode { kExposed, kAll };
enum class Mode { kEnforce, kAudit };

struct SynthesisConfig {
  std::vector<std::string> excluded_namespaces = {"kube-system", "kube-public", "kube-node-lease"};
  std::string cluster_domain = "cluster.local";
  std::vector<PeerSelector> dns_peers;  // Defaults() fills these
  std::vector<PeerSelector> monitoring_peers;
  std::vector<PeerSelector> ingress_controller_peers;
  IngressControllerMode ingress_controller_mode = IngressControllerMode::kExposed;
  bool read_config_maps = true;
  bool default_deny = false;  // one extra deny-all policy per managed namespace

  // The defaults of DESIGN.md: DNS = kube-system/k8s-app=kube-dns, monitoring =
  // monitoring/app.kubernetes.io/name=prometheus, ingress controllers =
  // ingress-nginx, traefik, contour/envoy, haproxy.
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

struct OwnerReference {
  std::string api_version;
  std::string kind;
  std::string name;
  std::string uid;
  auto operator<=>(const OwnerReference&) const = default;
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
inline constexpr std::string_view kBarePodLabel = "netpol-ctrl.io/pod";
inline constexpr std::string_view kNamespaceNameLabel = "kubernetes.io/metadata.name";

}  // namespace npc
