// The Kubernetes resources netpol-ctrl talks to, in one table.
//
// Every request goes through one generic path (kube/client.h); the only
// per-resource knowledge is a row here: group, version, plural resource name,
// kind and whether it is namespaced.
//
//   const ResourceInfo& np = Info(Resource::kNetworkPolicies);
//   std::string path = ResourcePath(np, "default", "web");
//   // "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies/web"
//
// Thread-safety: the table is immutable; everything here is safe from any thread.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace npc::kube {

enum class Resource {
  kPods,
  kServices,
  kNamespaces,
  kConfigMaps,
  kEvents,  // core/v1 events
  kEndpoints,
  kDeployments,
  kStatefulSets,
  kDaemonSets,
  kReplicaSets,
  kJobs,
  kCronJobs,
  kNetworkPolicies,
  kIngresses,
  kEndpointSlices,
  kLeases,
  kEventsV1,  // events.k8s.io/v1 events
  kObservedFlows,  // netpol-ctrl.io/v1alpha1, the node agent's reports (deploy/agent/crd.yaml)
  // What synthesis reads besides (`netpol-ctrl diff` lists them; optional
  // groups may not be served).
  kSecrets,
  kIngressClasses,
  kRoutes,  // route.openshift.io
  kGateways,
  kGatewayClasses,
  kHTTPRoutes,
  kGRPCRoutes,
  kTLSRoutes,
  kTCPRoutes,
  kUDPRoutes,
  kValidatingWebhookConfigurations,
  kMutatingWebhookConfigurations,
  kAPIServices,
  kCustomResourceDefinitions,
  kPrometheuses,  // monitoring.coreos.com
  kServiceMonitors,
  kPodMonitors,
};

struct ResourceInfo {
  Resource id;
  std::string_view group;  // "" for the core group
  std::string_view version;
  std::string_view resource;  // plural, lower case: "networkpolicies"
  std::string_view kind;      // "NetworkPolicy"
  bool namespaced;

  // "v1" for the core group, else "group/version".
  [[nodiscard]] std::string ApiVersion() const;
  // "networkpolicies.networking.k8s.io", or "pods" for the core group.
  [[nodiscard]] std::string GroupResource() const;
};

[[nodiscard]] const ResourceInfo& Info(Resource r);
[[nodiscard]] std::span<const ResourceInfo> AllResources();
// Looks a row up by apiVersion ("apps/v1", "v1") and kind; nullptr when unknown.
[[nodiscard]] const ResourceInfo* FindByKind(std::string_view api_version, std::string_view kind);

// The URL path of a collection (name empty) or of one object. `ns` is ignored for
// cluster-scoped resources; an empty `ns` on a namespaced resource addresses the
// collection across all namespaces.
[[nodiscard]] std::string ResourcePath(const ResourceInfo& info, std::string_view ns,
                                       std::string_view name = {});

}  // namespace npc::kube
