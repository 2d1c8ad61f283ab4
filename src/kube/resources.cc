#include "kube/resources.h"

#include <array>

namespace npc::kube {
namespace {

constexpr std::array<ResourceInfo, 35> kTable{{
    {Resource::kPods, "", "v1", "pods", "Pod", true},
    {Resource::kServices, "", "v1", "services", "Service", true},
    {Resource::kNamespaces, "", "v1", "namespaces", "Namespace", false},
    {Resource::kConfigMaps, "", "v1", "configmaps", "ConfigMap", true},
    {Resource::kEvents, "", "v1", "events", "Event", true},
    {Resource::kEndpoints, "", "v1", "endpoints", "Endpoints", true},
    {Resource::kDeployments, "apps", "v1", "deployments", "Deployment", true},
    {Resource::kStatefulSets, "apps", "v1", "statefulsets", "StatefulSet", true},
    {Resource::kDaemonSets, "apps", "v1", "daemonsets", "DaemonSet", true},
    {Resource::kReplicaSets, "apps", "v1", "replicasets", "ReplicaSet", true},
    {Resource::kJobs, "batch", "v1", "jobs", "Job", true},
    {Resource::kCronJobs, "batch", "v1", "cronjobs", "CronJob", true},
    {Resource::kNetworkPolicies, "networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy",
     true},
    {Resource::kIngresses, "networking.k8s.io", "v1", "ingresses", "Ingress", true},
    {Resource::kEndpointSlices, "discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true},
    {Resource::kLeases, "coordination.k8s.io", "v1", "leases", "Lease", true},
    {Resource::kEventsV1, "events.k8s.io", "v1", "events", "Event", true},
    {Resource::kObservedFlows, "netpol-ctrl.io", "v1alpha1", "observedflows", "ObservedFlows",
     true},
    {Resource::kSecrets, "", "v1", "secrets", "Secret", true},
    {Resource::kIngressClasses, "networking.k8s.io", "v1", "ingressclasses", "IngressClass", false},
    {Resource::kRoutes, "route.openshift.io", "v1", "routes", "Route", true},
    {Resource::kGateways, "gateway.networking.k8s.io", "v1", "gateways", "Gateway", true},
    {Resource::kGatewayClasses, "gateway.networking.k8s.io", "v1", "gatewayclasses", "GatewayClass",
     false},
    {Resource::kHTTPRoutes, "gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute", true},
    {Resource::kGRPCRoutes, "gateway.networking.k8s.io", "v1", "grpcroutes", "GRPCRoute", true},
    {Resource::kTLSRoutes, "gateway.networking.k8s.io", "v1alpha2", "tlsroutes", "TLSRoute", true},
    {Resource::kTCPRoutes, "gateway.networking.k8s.io", "v1alpha2", "tcproutes", "TCPRoute", true},
    {Resource::kUDPRoutes, "gateway.networking.k8s.io", "v1alpha2", "udproutes", "UDPRoute", true},
    {Resource::kValidatingWebhookConfigurations, "admissionregistration.k8s.io", "v1",
     "validatingwebhookconfigurations", "ValidatingWebhookConfiguration", false},
    {Resource::kMutatingWebhookConfigurations, "admissionregistration.k8s.io", "v1",
     "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", false},
    {Resource::kAPIServices, "apiregistration.k8s.io", "v1", "apiservices", "APIService", false},
    {Resource::kCustomResourceDefinitions, "apiextensions.k8s.io", "v1",
     "customresourcedefinitions", "CustomResourceDefinition", false},
    {Resource::kPrometheuses, "monitoring.coreos.com", "v1", "prometheuses", "Prometheus", true},
    {Resource::kServiceMonitors, "monitoring.coreos.com", "v1", "servicemonitors",
     "ServiceMonitor", true},
    {Resource::kPodMonitors, "monitoring.coreos.com", "v1", "podmonitors", "PodMonitor", true},
}};

constexpr bool TableMatchesEnum() {
  for (size_t i = 0; i < kTable.size(); ++i) {
    if (static_cast<size_t>(kTable[i].id) != i) return false;
  }
  return true;
}
static_assert(TableMatchesEnum(), "kTable rows must follow the Resource enum order");

}  // namespace

std::string ResourceInfo::ApiVersion() const {
  if (group.empty()) return std::string(version);
  std::string s(group);
  s += '/';
  s += version;
  return s;
}

std::string ResourceInfo::GroupResource() const {
  std::string s(resource);
  if (!group.empty()) {
    s += '.';
    s += group;
  }
  return s;
}

const ResourceInfo& Info(Resource r) {
  return kTable[static_cast<size_t>(r)];
}

std::span<const ResourceInfo> AllResources() {
  return kTable;
}

const ResourceInfo* FindByKind(std::string_view api_version, std::string_view kind) {
  for (const ResourceInfo& info : kTable) {
    if (info.kind == kind && info.ApiVersion() == api_version) return &info;
  }
  return nullptr;
}

std::string ResourcePath(const ResourceInfo& info, std::string_view ns, std::string_view name) {
  std::string p;
  p.reserve(64 + ns.size() + name.size());
  if (info.group.empty()) {
    p += "/api/";
  } else {
    p += "/apis/";
    p += info.group;
    p += '/';
  }
  p += info.version;
  if (info.namespaced && !ns.empty()) {
    p += "/namespaces/";
    p += ns;
  }
  p += '/';
  p += info.resource;
  if (!name.empty()) {
    p += '/';
    p += name;
  }
  return p;
}

}  // namespace npc::kube
