#include "clusterread/clusterread.h"

#include <algorithm>
#include <set>
#include <tuple>
#include <type_traits>
#include <variant>

#include "decode/decode.h"

namespace npc::clusterread {
namespace {

using kube::Resource;

struct Kind {
  Resource resource;
  bool optional;  // its API group may not be served: skip when it is not
};

// What synthesis reads, as the controller lists it (pods whole: bare pods are
// workloads, and custom workloads may need a pod's spec).
std::vector<Kind> Kinds(const Options& o) {
  std::vector<Kind> kinds = {
      {Resource::kNamespaces, false},
      {Resource::kDeployments, false},
      {Resource::kStatefulSets, false},
      {Resource::kDaemonSets, false},
      {Resource::kReplicaSets, false},
      {Resource::kJobs, false},
      {Resource::kCronJobs, false},
      {Resource::kPods, false},
      {Resource::kServices, false},
      {Resource::kEndpointSlices, false},
      {Resource::kIngresses, false},
      {Resource::kIngressClasses, false},
      {Resource::kValidatingWebhookConfigurations, false},
      {Resource::kMutatingWebhookConfigurations, false},
      {Resource::kAPIServices, false},
      {Resource::kCustomResourceDefinitions, false},
      {Resource::kRoutes, true},
      {Resource::kGateways, true},
      {Resource::kGatewayClasses, true},
      {Resource::kHTTPRoutes, true},
      {Resource::kGRPCRoutes, true},
      {Resource::kTLSRoutes, true},
      {Resource::kTCPRoutes, true},
      {Resource::kUDPRoutes, true},
      {Resource::kPrometheuses, true},
      {Resource::kServiceMonitors, true},
      {Resource::kPodMonitors, true},
  };
  if (o.read_config_maps) kinds.push_back({Resource::kConfigMaps, false});
  if (o.read_secrets) kinds.push_back({Resource::kSecrets, false});
  return kinds;
}

Status ListError(const kube::ResourceInfo& info, const kube::KubeError& e) {
  const std::string what = info.GroupResource();
  if (e.reason == kube::Reason::kForbidden) {
    return Status(StatusCode::kPermissionDenied,
                  "cannot list " + what + ": forbidden: missing permission: verb \"list\" on " +
                      what + (info.namespaced ? " in all namespaces" : "") +
                      " (the read-only ClusterRole of deploy/ grants it; the server said: " +
                      e.message + ")");
  }
  return e.ToStatus().WithContext("list " + what);
}

void Add(Snapshot& s, decode::Object&& o) {
  std::visit(
      [&](auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, Workload>) s.workloads.push_back(std::move(v));
        if constexpr (std::is_same_v<T, Service>) s.services.push_back(std::move(v));
        if constexpr (std::is_same_v<T, EndpointSlice>) s.endpoint_slices.push_back(std::move(v));
        if constexpr (std::is_same_v<T, Ingress>) s.ingresses.push_back(std::move(v));
        if constexpr (std::is_same_v<T, ConfigMap>) s.config_maps.push_back(std::move(v));
        if constexpr (std::is_same_v<T, Namespace>) s.namespaces.push_back(std::move(v));
        if constexpr (std::is_same_v<T, Pod>) s.pods.push_back(std::move(v));
        if constexpr (std::is_same_v<T, Secret>) s.secrets.push_back(std::move(v));
        if constexpr (std::is_same_v<T, IngressClass>) s.ingress_classes.push_back(std::move(v));
        if constexpr (std::is_same_v<T, Route>) s.routes.push_back(std::move(v));
        if constexpr (std::is_same_v<T, Gateway>) s.gateways.push_back(std::move(v));
        if constexpr (std::is_same_v<T, GatewayClass>) s.gateway_classes.push_back(std::move(v));
        if constexpr (std::is_same_v<T, GatewayRoute>) s.gateway_routes.push_back(std::move(v));
        if constexpr (std::is_same_v<T, ApiServerHook>) s.api_server_hooks.push_back(std::move(v));
        if constexpr (std::is_same_v<T, Prometheus>) s.prometheuses.push_back(std::move(v));
        if constexpr (std::is_same_v<T, ServiceMonitor>) s.service_monitors.push_back(std::move(v));
        if constexpr (std::is_same_v<T, PodMonitor>) s.pod_monitors.push_back(std::move(v));
      },
      o.value);
}

// Everything one listing delivered, dropped when the listing starts over.
struct Listing {
  std::vector<decode::Object> objects;
  std::vector<std::string> invalid;
};

StatusOr<bool> ListInto(kube::Client& client, const kube::ResourceInfo& info, bool optional,
                        const kube::ListOptions& lo, decode::Decoder& decoder, Listing& out) {
  decode::DecodeOptions d;
  d.default_kind = info.kind;
  kube::ListHandler h;
  h.on_item = [&](std::string_view json) -> Status {
    StatusOr<decode::Object> o = decoder.Decode(json, d);
    if (!o.ok()) {
      out.invalid.push_back(o.status().message());
      return Status::Ok();
    }
    out.objects.push_back(*std::move(o));
    return Status::Ok();
  };
  h.on_restart = [&] { out = {}; };
  auto end = client.ListEach(info.id, "", lo, h);
  if (!end.ok()) {
    if (optional && end.error().reason == kube::Reason::kNotFound) return false;
    return ListError(info, end.error());
  }
  return true;
}

}  // namespace

StatusOr<Cluster> Read(kube::Client& client, const Options& options) {
  Cluster c;
  decode::Decoder decoder;
  kube::ListOptions lo;
  lo.limit = options.page_size;
  for (const Kind& k : Kinds(options)) {
    const kube::ResourceInfo& info = kube::Info(k.resource);
    Listing listing;
    NPC_ASSIGN_OR_RETURN(bool served, ListInto(client, info, k.optional, lo, decoder, listing));
    if (!served) {
      c.not_served.push_back(info.GroupResource() + "/" + std::string(info.version));
      continue;
    }
    for (decode::Object& o : listing.objects) Add(c.snapshot, std::move(o));
    c.invalid.insert(c.invalid.end(), listing.invalid.begin(), listing.invalid.end());
  }
  // The policies netpol-ctrl manages, as they are stored.
  {
    const kube::ResourceInfo& info = kube::Info(Resource::kNetworkPolicies);
    kube::ListOptions plo = lo;
    plo.label_selector = std::string(kManagedByLabel) + "=" + std::string(kManagedByValue);
    Listing listing;
    NPC_ASSIGN_OR_RETURN(bool served, ListInto(client, info, false, plo, decoder, listing));
    (void)served;
    for (decode::Object& o : listing.objects) {
      if (auto* p = std::get_if<decode::StoredPolicy>(&o.value)) {
        c.managed.push_back(std::move(p->policy));
      }
    }
    c.invalid.insert(c.invalid.end(), listing.invalid.begin(), listing.invalid.end());
  }
  std::sort(c.managed.begin(), c.managed.end(), [](const NetworkPolicy& a, const NetworkPolicy& b) {
    return std::tie(a.ns, a.name) < std::tie(b.ns, b.name);
  });
  return c;
}

}  // namespace npc::clusterread
