#include "model/model.h"

#include <algorithm>

namespace npc {

bool Matches(const LabelSelector& selector, const Labels& labels) {
  for (const auto& [k, v] : selector.match_labels) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  for (const auto& r : selector.match_expressions) {
    auto it = labels.find(r.key);
    const bool has = it != labels.end();
    const bool in =
        has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
    if (r.op == "In") {
      if (!in) return false;
    } else if (r.op == "NotIn") {
      if (in) return false;
    } else if (r.op == "Exists") {
      if (!has) return false;
    } else if (r.op == "DoesNotExist") {
      if (has) return false;
    } else {
      return false;  // an unknown operator selects nothing (API validation rejects it)
    }
  }
  return true;
}

std::string_view KindName(WorkloadKind kind) {
  switch (kind) {
    case WorkloadKind::kDeployment: return "Deployment";
    case WorkloadKind::kStatefulSet: return "StatefulSet";
    case WorkloadKind::kDaemonSet: return "DaemonSet";
    case WorkloadKind::kReplicaSet: return "ReplicaSet";
    case WorkloadKind::kJob: return "Job";
    case WorkloadKind::kCronJob: return "CronJob";
    case WorkloadKind::kPod: return "Pod";
    case WorkloadKind::kCustom: return "Custom";
  }
  return "Unknown";
}

std::string_view KindApiVersion(WorkloadKind kind) {
  switch (kind) {
    case WorkloadKind::kDeployment:
    case WorkloadKind::kStatefulSet:
    case WorkloadKind::kDaemonSet:
    case WorkloadKind::kReplicaSet: return "apps/v1";
    case WorkloadKind::kJob:
    case WorkloadKind::kCronJob: return "batch/v1";
    case WorkloadKind::kPod: return "v1";
    case WorkloadKind::kCustom: return "";
  }
  return "v1";
}

namespace {
std::string_view GroupOf(std::string_view api_version) {
  const size_t slash = api_version.find('/');
  return slash == std::string_view::npos ? std::string_view() : api_version.substr(0, slash);
}
}  // namespace

bool IsKnownController(std::string_view api_version, std::string_view kind) {
  const std::string_view group = GroupOf(api_version);
  if (group == "apps") {
    return kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet" ||
           kind == "ReplicaSet";
  }
  if (group == "batch") return kind == "Job" || kind == "CronJob";
  return false;
}

bool IsPerRevisionLabel(std::string_view key) {
  static constexpr std::string_view kKeys[] = {
      "pod-template-hash",
      "controller-revision-hash",
      "statefulset.kubernetes.io/pod-name",
      "apps.kubernetes.io/pod-index",
      "job-name",
      "controller-uid",
      "batch.kubernetes.io/job-name",
      "batch.kubernetes.io/controller-uid",
      "batch.kubernetes.io/job-completion-index",
      "rollouts-pod-template-hash",
  };
  for (std::string_view k : kKeys) {
    if (k == key) return true;
  }
  return false;
}

Labels WithoutPerRevisionLabels(const Labels& labels) {
  Labels out;
  for (const auto& [k, v] : labels) {
    if (!IsPerRevisionLabel(k)) out.emplace_hint(out.end(), k, v);
  }
  return out;
}

std::string_view HookKindName(ApiServerHook::Kind kind) {
  switch (kind) {
    case ApiServerHook::Kind::kValidatingWebhookConfiguration:
      return "ValidatingWebhookConfiguration";
    case ApiServerHook::Kind::kMutatingWebhookConfiguration: return "MutatingWebhookConfiguration";
    case ApiServerHook::Kind::kAPIService: return "APIService";
    case ApiServerHook::Kind::kCustomResourceDefinition: return "CustomResourceDefinition";
  }
  return "Unknown";
}

std::optional<ApiServerHook::Kind> ParseHookKind(std::string_view kind) {
  for (auto k : {ApiServerHook::Kind::kValidatingWebhookConfiguration,
                 ApiServerHook::Kind::kMutatingWebhookConfiguration,
                 ApiServerHook::Kind::kAPIService,
                 ApiServerHook::Kind::kCustomResourceDefinition}) {
    if (HookKindName(k) == kind) return k;
  }
  return std::nullopt;
}

std::optional<WorkloadKind> ParseKind(std::string_view kind) {
  for (auto k : {WorkloadKind::kDeployment, WorkloadKind::kStatefulSet, WorkloadKind::kDaemonSet,
                 WorkloadKind::kReplicaSet, WorkloadKind::kJob, WorkloadKind::kCronJob,
                 WorkloadKind::kPod}) {
    if (KindName(k) == kind) return k;
  }
  return std::nullopt;
}

std::string WorkloadKey::Kind() const {
  return kind == WorkloadKind::kCustom ? custom_kind : std::string(KindName(kind));
}

std::string WorkloadKey::ToString() const {
  std::string s = Kind();
  s += '/';
  s += ns;
  s += '/';
  s += name;
  return s;
}

namespace {
PeerSelector Peer(std::string ns, Labels pods, std::vector<std::string> controllers = {},
                  std::vector<std::string> classes = {}) {
  PeerSelector p;
  p.namespaces.match_labels[std::string(kNamespaceNameLabel)] = std::move(ns);
  p.pods.match_labels = std::move(pods);
  p.controllers = std::move(controllers);
  p.classes = std::move(classes);
  return p;
}
}  // namespace

SynthesisConfig SynthesisConfig::Defaults() {
  SynthesisConfig c;
  c.dns_peers = {Peer("kube-system", {{"k8s-app", "kube-dns"}})};
  c.monitoring_peers = {Peer("monitoring", {{"app.kubernetes.io/name", "prometheus"}})};
  // Ingress controllers: the namespace and pod labels of each project's
  // documented install, the controller value of the IngressClass it ships
  // and the class name it answers to. Checked against:
  // - ingress-nginx: deploy/static/provider/*/deploy.yaml (namespace
  //   ingress-nginx, pods app.kubernetes.io/name=ingress-nginx, IngressClass
  //   nginx with controller k8s.io/ingress-nginx);
  // - Traefik: traefik-helm-chart templates/_helpers.tpl (selector labels
  //   app.kubernetes.io/name=traefik) and templates/ingressclass.yaml
  //   (controller traefik.io/ingress-controller); namespace traefik as in its
  //   install guide;
  // - Contour: examples/contour/03-envoy.yaml (the Envoy DaemonSet that
  //   proxies the traffic: namespace projectcontour, pods app=envoy); the
  //   IngressClass controller projectcontour.io/ingress-controller (its
  //   quickstart's class "contour");
  // - HAProxy (haproxytech/kubernetes-ingress): helm-charts
  //   kubernetes-ingress/templates/_helpers.tpl (app.kubernetes.io/name=
  //   kubernetes-ingress), controller-ingressclass.yaml (controller
  //   haproxy.org/ingress-controller, with /haproxy for the default class
  //   haproxy), namespace haproxy-controller as in its install guide;
  // - Istio's ingress gateway: istio.io "Kubernetes Ingress" task (IngressClass
  //   istio, controller istio.io/ingress-controller, served by the pods
  //   istio=ingressgateway in istio-system).
  c.ingress_controller_peers = {
      Peer("ingress-nginx", {{"app.kubernetes.io/name", "ingress-nginx"}}, {"k8s.io/ingress-nginx"},
           {"nginx"}),
      Peer("traefik", {{"app.kubernetes.io/name", "traefik"}}, {"traefik.io/ingress-controller"},
           {"traefik"}),
      Peer("projectcontour", {{"app", "envoy"}}, {"projectcontour.io/ingress-controller"},
           {"contour"}),
      Peer("haproxy-controller", {{"app.kubernetes.io/name", "kubernetes-ingress"}},
           {"haproxy.org/ingress-controller", "haproxy.org/ingress-controller/haproxy"}, {"haproxy"}),
      Peer("istio-system", {{"istio", "ingressgateway"}}, {"istio.io/ingress-controller"},
           {"istio"}),
  };
  // The OpenShift router: the ingress operator labels its router pods
  // ingresscontroller.operator.openshift.io/deployment-ingresscontroller=<the
  // IngressController's name> in openshift-ingress (cluster-ingress-operator
  // pkg/operator/controller/names.go, ControllerDeploymentLabel); any value,
  // so that every IngressController (router shard) is covered.
  PeerSelector router;
  router.namespaces.match_labels[std::string(kNamespaceNameLabel)] = "openshift-ingress";
  router.pods.match_expressions.push_back(
      {"ingresscontroller.operator.openshift.io/deployment-ingresscontroller", "Exists", {}});
  c.openshift_router_peers = {router};
  // Gateway API implementations, by GatewayClass controllerName:
  // - Envoy Gateway: its proxies run in envoy-gateway-system, labelled with
  //   the owning Gateway (internal/gatewayapi/translator.go,
  //   OwningGatewayNameLabel/OwningGatewayNamespaceLabel);
  // - Istio: one Deployment per Gateway in the Gateway's namespace, pods
  //   labelled gateway.networking.k8s.io/gateway-name (manifests/charts/
  //   istio-control/istio-discovery/files/kube-gateway.yaml);
  // - NGINX Gateway Fabric (2.x): one NGINX Deployment per Gateway in the
  //   Gateway's namespace, selected by gateway.networking.k8s.io/gateway-name
  //   (internal/controller/provisioner/objects.go);
  // - Cilium: the proxy is the per-node Envoy of the Cilium agent and its
  //   traffic to backends carries Cilium's reserved "ingress" identity, which
  //   neither pod selectors nor ipBlocks of a Kubernetes NetworkPolicy match
  //   (docs.cilium.io, "Ingress and Network Policy"; CIDR rules only match
  //   addresses outside the cluster): only a rule without peers admits it.
  c.gateway_peers = {
      Peer("envoy-gateway-system",
           {{"gateway.envoyproxy.io/owning-gateway-name", "{name}"},
            {"gateway.envoyproxy.io/owning-gateway-namespace", "{namespace}"}},
           {"gateway.envoyproxy.io/gatewayclass-controller"}),
      Peer("{namespace}", {{"gateway.networking.k8s.io/gateway-name", "{name}"}},
           {"istio.io/gateway-controller"}),
      Peer("{namespace}", {{"gateway.networking.k8s.io/gateway-name", "{name}"}},
           {"gateway.nginx.org/nginx-gateway-controller"}),
  };
  PeerSelector cilium;
  cilium.any = true;
  cilium.controllers = {"io.cilium/gateway-controller"};
  c.gateway_peers.push_back(cilium);
  return c;
}

namespace {

// FNV-1a over a length-prefixed serialization: no two different specs
// serialize alike.
class Fingerprint {
 public:
  void Add(std::string_view s) {
    Num(s.size());
    for (char c : s) Byte(static_cast<unsigned char>(c));
  }
  void Num(uint64_t n) {
    for (int i = 0; i < 8; ++i) Byte(static_cast<unsigned char>(n >> (8 * i)));
  }
  void Add(const LabelSelector& s) {
    Num(s.match_labels.size());
    for (const auto& [k, v] : s.match_labels) Add(k), Add(v);
    Num(s.match_expressions.size());
    for (const auto& e : s.match_expressions) {
      Add(e.key), Add(e.op), Num(e.values.size());
      for (const auto& v : e.values) Add(v);
    }
  }
  template <typename T>
  void Optional(const std::optional<T>& o) {
    Num(o.has_value());
    if (o) Add(*o);
  }
  void Add(const IPBlock& b) {
    Add(b.cidr), Num(b.except.size());
    for (const auto& e : b.except) Add(e);
  }
  void Add(const std::vector<PolicyRule>& rules) {
    Num(rules.size());
    for (const PolicyRule& r : rules) {
      Num(r.peers.size());
      for (const PolicyPeer& p : r.peers) {
        Optional(p.namespace_selector), Optional(p.pod_selector), Optional(p.ip_block);
      }
      Num(r.ports.size());
      for (const PolicyPort& p : r.ports) {
        Add(p.protocol), Num(p.port.num.has_value()), Num(p.port.num.value_or(0)), Add(p.port.str);
        Num(p.end_port.has_value()), Num(p.end_port.value_or(0));
      }
    }
  }
  uint64_t value() const { return h_; }

 private:
  void Byte(unsigned char b) {
    h_ ^= b;
    h_ *= 0x100000001b3ULL;
  }
  uint64_t h_ = 0xcbf29ce484222325ULL;
};

}  // namespace

uint64_t PolicySpecFingerprint(const NetworkPolicy& policy) {
  Fingerprint f;
  f.Add(policy.pod_selector);
  f.Add(policy.ingress);
  f.Add(policy.egress);
  f.Num(policy.policy_types.size());
  for (const auto& t : policy.policy_types) f.Add(t);
  return f.value();
}

std::string_view ObservedFlowsModeName(ObservedFlowsMode m) {
  switch (m) {
    case ObservedFlowsMode::kOff: return "off";
    case ObservedFlowsMode::kReport: return "report";
    case ObservedFlowsMode::kAllow: return "allow";
  }
  return "report";
}

std::optional<ObservedFlowsMode> ParseObservedFlowsMode(std::string_view s) {
  if (s == "off") return ObservedFlowsMode::kOff;
  if (s == "report") return ObservedFlowsMode::kReport;
  if (s == "allow") return ObservedFlowsMode::kAllow;
  return std::nullopt;
}

}  // namespace npc
