#include "property/generator.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <utility>

namespace npc::property {
namespace {

constexpr const char* kDomain = "cluster.local";

// External addresses the matrix probes. The API server's address (in the
// EndpointSlice of default/kubernetes when the case has one) and the address
// of the selector-less Services' endpoints are among them.
constexpr const char* kExternalV4 = "203.0.113.7";
constexpr const char* kExternalV6 = "2001:db8::7";
constexpr const char* kApiServerIp = "192.0.2.10";
constexpr const char* kLegacyIp = "198.51.100.5";
constexpr int kApiServerPort = 6443;
constexpr const char* kNodeCidr = "172.18.0.0/24";  // hostNetwork pods' addresses

class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  int Int(int lo, int hi) {
    return lo + static_cast<int>(g_() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool Chance(double p) { return static_cast<double>(g_() % 100000) < p * 100000.0; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[g_() % v.size()];
  }
  size_t Index(size_t n) { return static_cast<size_t>(g_() % n); }
  template <typename T>
  void Shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[Index(i)]);
  }

 private:
  std::mt19937_64 g_;
};

// A reference the generator wrote: `client` names `service` on one of its
// ports (by index), or on all of them.
struct Reference {
  size_t client;
  size_t service;
  std::optional<size_t> port;
};

struct IngressRoute {
  size_t service;
  IntOrString port;
  size_t ingress;  // index in snapshot.ingresses
};

// A pod of the generated cluster: its labels as they are now, who runs it,
// and whether the snapshot (what the controller sees) lists it.
struct PodPlan {
  std::string ns;
  std::string name;
  Labels labels;
  std::vector<eval::PodPort> ports;
  bool host_network = false;
  size_t actor = SIZE_MAX;  // the workload (or custom-workload holder) it belongs to
  std::optional<OwnerReference> owner;
  bool in_snapshot = false;
};

// A custom workload (DESIGN.md section 1): the pods of an operator's resource,
// directly or through ReplicaSets of a Rollout. `holder` is the workload whose
// containers are its template: the newest ReplicaSet, or a scratch entry
// copied into one pod's spec at the end.
struct Custom {
  OwnerReference owner;
  std::string ns;
  size_t holder = 0;
  bool scratch = false;
  std::vector<size_t> pods;  // indexes in Builder::pods_
};

// The generator's own list of labels that differ between pods of one workload.
bool PerRevision(const std::string& key) {
  static const std::set<std::string> kKeys = {
      "pod-template-hash", "controller-revision-hash", "statefulset.kubernetes.io/pod-name",
      "apps.kubernetes.io/pod-index", "job-name", "controller-uid", "batch.kubernetes.io/job-name",
      "batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-completion-index",
      "rollouts-pod-template-hash"};
  return kKeys.contains(key);
}

class Builder {
 public:
  explicit Builder(uint64_t seed) : rng_(seed) { out_.seed = seed; }

  GeneratedCase Build() {
    out_.config = SynthesisConfig::Defaults();
    out_.config.default_deny = rng_.Chance(0.3);
    if (rng_.Chance(0.5)) out_.config.node_cidrs = {kNodeCidr};
    if (rng_.Chance(0.2)) out_.config.api_server_cidrs = {kApiServerCidr};
    out_.config.read_secrets = rng_.Chance(0.5);
    if (rng_.Chance(0.3)) {  // NodeLocal DNSCache, by address
      PeerSelector local;
      local.cidrs = {std::string(kNodeLocalDns) + "/32"};
      out_.config.dns_peers.push_back(local);
    }
    SystemParts();
    const int n_ns = rng_.Int(1, 3);
    for (int i = 0; i < n_ns; ++i) {
      std::string ns = "ns" + std::to_string(i);
      Labels labels;
      if (rng_.Chance(0.6)) labels["team"] = rng_.Chance(0.5) ? "a" : "b";
      if (rng_.Chance(0.5)) labels["monitored"] = "yes";
      Annotations annotations;
      if (rng_.Chance(0.08)) annotations[std::string(kIgnoreAnnotation)] = "true";
      AddNamespace(ns, labels, annotations);
      app_namespaces_.push_back(ns);
    }
    for (const std::string& ns : app_namespaces_) {
      const int n = rng_.Int(2, 5);
      for (int i = 0; i < n; ++i) AppWorkload(ns, i);
      if (rng_.Chance(0.3)) OverlappingPair(ns);
      if (rng_.Chance(0.3)) FailoverStatefulSet(ns);
      if (rng_.Chance(0.4)) OperatorPods(ns);
      if (rng_.Chance(0.3)) Rollout(ns);
    }
    for (const std::string& ns : app_namespaces_) {
      const int n = rng_.Int(1, 4);
      for (int i = 0; i < n; ++i) AppService(ns, i);
      if (rng_.Chance(0.35)) Webhook(ns);
    }
    for (size_t w = 0; w < out_.snapshot.workloads.size(); ++w) {
      if (!IsApp(out_.snapshot.workloads[w].ns) || !IsActor(w)) continue;
      const int n = rng_.Int(0, 3);
      for (int i = 0; i < n; ++i) AddReference(w, i);
      if (rng_.Chance(0.1)) AddNoise(w);
    }
    IngressClasses();
    for (const std::string& ns : app_namespaces_) {
      if (rng_.Chance(0.5)) AddIngress(ns);
      if (rng_.Chance(0.3)) AddRoute(ns);
      if (rng_.Chance(0.4)) AddGatewayRoute(ns);
    }
    Monitoring();
    for (size_t w = 0; w < out_.snapshot.workloads.size(); ++w) {
      if (IsApp(out_.snapshot.workloads[w].ns) && IsActor(w)) AddAnnotations(w);
    }
    if (rng_.Chance(0.7)) {
      EndpointSlice api{"default", "kubernetes",   "kubernetes",
                        "IPv4",    {kApiServerIp}, {{"https", kApiServerPort, "TCP"}}};
      out_.snapshot.endpoint_slices.push_back(std::move(api));
      api_server_known_ = true;
    }
    MakePods();
    MakeIntents();
    MakeProbes();
    Finish();
    out_.external_ips = {kExternalV4, kExternalV6, kApiServerIp, kLegacyIp, kNodeLocalDns};
    return std::move(out_);
  }

 private:
  static constexpr const char* kApiServerCidr = "192.0.2.0/28";
  static constexpr const char* kNodeLocalDns = "169.254.20.10";

  bool IsApp(const std::string& ns) const {
    return std::find(app_namespaces_.begin(), app_namespaces_.end(), ns) != app_namespaces_.end();
  }

  void AddNamespace(const std::string& name, Labels labels, Annotations annotations) {
    labels[std::string(kNamespaceNameLabel)] = name;
    Namespace n{name, labels, std::move(annotations)};
    out_.snapshot.namespaces.push_back(n);
    out_.namespaces.push_back(std::move(n));
  }

  Workload& NewWorkload(WorkloadKind kind, const std::string& ns, const std::string& name,
                        Labels template_labels) {
    Workload w;
    w.kind = kind;
    w.ns = ns;
    w.name = name;
    w.uid = "uid-" + std::to_string(out_.snapshot.workloads.size() + 1);
    w.labels = {{"app.kubernetes.io/part-of", "generated"}};
    w.template_labels = std::move(template_labels);
    w.pod_selector.match_labels = w.template_labels;
    out_.snapshot.workloads.push_back(std::move(w));
    return out_.snapshot.workloads.back();
  }

  // --- actors: workloads and custom workloads ---------------------------------

  bool IsActor(size_t w) const {
    return !out_.snapshot.workloads[w].has_controller || holder_custom_.contains(w);
  }
  const Custom* CustomOf(size_t w) const {
    auto it = holder_custom_.find(w);
    return it == holder_custom_.end() ? nullptr : &customs_[it->second];
  }
  std::string ActorId(size_t w) const {
    if (const Custom* c = CustomOf(w)) return c->owner.kind + "/" + c->ns + "/" + c->owner.name;
    return out_.snapshot.workloads[w].key().ToString();
  }
  // A custom workload's labels: those all its pods share, but per-revision ones.
  Labels SharedLabels(const Custom& c) const {
    std::optional<Labels> shared;
    for (size_t pi : c.pods) {
      Labels l;
      for (const auto& [k, v] : pods_[pi].labels) {
        if (!PerRevision(k)) l[k] = v;
      }
      if (!shared) {
        shared = l;
        continue;
      }
      for (auto it = shared->begin(); it != shared->end();) {
        auto f = l.find(it->first);
        it = f == l.end() || f->second != it->second ? shared->erase(it) : std::next(it);
      }
    }
    return shared.value_or(Labels{});
  }
  Labels ActorTemplate(size_t w) const {
    if (const Custom* c = CustomOf(w)) return SharedLabels(*c);
    return out_.snapshot.workloads[w].template_labels;
  }
  std::vector<size_t> Actors() const {
    std::vector<size_t> out;
    for (size_t w = 0; w < out_.snapshot.workloads.size(); ++w) {
      if (IsActor(w)) out.push_back(w);
    }
    return out;
  }

  // --- the cluster's platform -------------------------------------------------

  // DNS in kube-system (excluded), ingress controllers (named in the
  // configuration), the OpenShift router, and Prometheus (the default
  // monitoring peer, managed).
  void SystemParts() {
    AddNamespace("kube-system", {}, {});
    AddNamespace("ingress-nginx", {}, {});
    AddNamespace("traefik", {}, {});
    AddNamespace("openshift-ingress", {}, {});
    AddNamespace("monitoring", {}, {});
    Workload& dns =
        NewWorkload(WorkloadKind::kDeployment, "kube-system", "coredns", {{"k8s-app", "kube-dns"}});
    dns.containers.push_back(
        {"coredns",
         false,
         {},
         {},
         {},
         {"-conf", "/etc/coredns/Corefile"},
         {{"dns", 53, "UDP"}, {"dns-tcp", 53, "TCP"}, {"metrics", 9153, "TCP"}}});
    // Scraped, though unmanaged: Prometheus's egress must still reach it.
    if (rng_.Chance(0.5)) dns.template_annotations["prometheus.io/scrape"] = "true";
    Workload& ic =
        NewWorkload(WorkloadKind::kDeployment, "ingress-nginx", "ingress-nginx-controller",
                    {{"app.kubernetes.io/name", "ingress-nginx"},
                     {"app.kubernetes.io/component", "controller"}});
    ic.containers.push_back(
        {"controller", false, {}, {}, {}, {}, {{"http", 80, "TCP"}, {"https", 443, "TCP"}}});
    // Traefik, sometimes on the nodes' network: then only --node-cidrs reaches.
    Workload& tr = NewWorkload(WorkloadKind::kDaemonSet, "traefik", "traefik",
                               {{"app.kubernetes.io/name", "traefik"}});
    tr.containers.push_back({"traefik", false, {}, {}, {}, {}, {{"web", 8000, "TCP"}}});
    tr.host_network = rng_.Chance(0.4);
    Workload& router =
        NewWorkload(WorkloadKind::kDeployment, "openshift-ingress", "router-default",
                    {{"ingresscontroller.operator.openshift.io/deployment-ingresscontroller",
                      "default"}});
    router.containers.push_back({"router", false, {}, {}, {}, {}, {{"http", 80, "TCP"}}});
    Workload& prom = NewWorkload(WorkloadKind::kDeployment, "monitoring", "prometheus",
                                 {{"app.kubernetes.io/name", "prometheus"}});
    prom.containers.push_back({"prometheus", false, {}, {}, {}, {}, {{"web", 9090, "TCP"}}});
    if (rng_.Chance(0.5)) prom.annotations[std::string(kAllowApiServerAnnotation)] = "true";
    const size_t prom_index = out_.snapshot.workloads.size() - 1;
    // node-exporter on the nodes' network, scraped: no pod selector reaches
    // it; the node CIDR in allow-egress does, or --node-cidrs.
    if (rng_.Chance(0.5)) {
      Workload& ne = NewWorkload(WorkloadKind::kDaemonSet, "monitoring", "node-exporter",
                                 {{"app", "node-exporter"}});
      ne.host_network = true;
      ne.template_annotations = {{"prometheus.io/scrape", "true"}, {"prometheus.io/port", "9100"}};
      ne.containers.push_back({"node-exporter", false, {}, {}, {}, {}, {{"metrics", 9100, "TCP"}}});
      node_exporter_ = out_.snapshot.workloads.size() - 1;
      if (rng_.Chance(0.5)) {
        const std::string v = std::string(kNodeCidr) + ":9100";
        out_.snapshot.workloads[prom_index].annotations[std::string(kAllowEgressAnnotation)] = v;
        annotated_egress_[prom_index].push_back({v, Block(kNodeCidr), {Port(9100)}});
      }
    }
  }

  void AppWorkload(const std::string& ns, int index) {
    static const std::vector<std::string> kNames = {"web",   "api",  "db",     "cache",
                                                    "queue", "auth", "search", "cart"};
    static const std::vector<WorkloadKind> kKinds = {
        WorkloadKind::kDeployment, WorkloadKind::kDeployment, WorkloadKind::kStatefulSet,
        WorkloadKind::kCronJob, WorkloadKind::kPod};
    const WorkloadKind kind = rng_.Pick(kKinds);
    const std::string name = kNames[static_cast<size_t>(index) % kNames.size()];

    // Labels from a small vocabulary, so that selectors overlap.
    Labels tl;
    if (rng_.Chance(0.75)) tl["app"] = name;
    if (rng_.Chance(0.6))
      tl["tier"] = rng_.Pick(std::vector<std::string>{"frontend", "backend", "data"});
    if (rng_.Chance(0.4)) tl["part-of"] = rng_.Chance(0.5) ? "shop" : "pay";
    if (rng_.Chance(0.3)) tl["track"] = rng_.Chance(0.7) ? "stable" : "canary";
    if (tl.empty()) tl["app"] = name;
    Workload& w = NewWorkload(kind, ns, name, tl);

    if (kind == WorkloadKind::kDeployment || kind == WorkloadKind::kStatefulSet) {
      // A non-empty subset of the template labels, some as expressions.
      std::vector<std::string> keys;
      for (const auto& [k, v] : tl) keys.push_back(k);
      rng_.Shuffle(keys);
      const size_t n = 1 + rng_.Index(keys.size());
      w.pod_selector = {};
      for (size_t i = 0; i < n; ++i) {
        const std::string& k = keys[i];
        if (rng_.Chance(0.25)) {
          w.pod_selector.match_expressions.push_back({k, "In", {tl.at(k), "zzz"}});
        } else if (rng_.Chance(0.1)) {
          w.pod_selector.match_expressions.push_back({k, "Exists", {}});
        } else {
          w.pod_selector.match_labels[k] = tl.at(k);
        }
      }
      if (rng_.Chance(0.15))
        w.pod_selector.match_expressions.push_back({"legacy", "DoesNotExist", {}});
      if (rng_.Chance(0.15))
        w.pod_selector.match_expressions.push_back({"track", "NotIn", {"canary"}});
      if (w.pod_selector.match_expressions.size() > 0 && tl.contains("track") &&
          tl.at("track") == "canary") {
        // Keep the selector matching its own template.
        auto& ex = w.pod_selector.match_expressions;
        ex.erase(std::remove_if(ex.begin(), ex.end(),
                                [](const LabelSelectorRequirement& r) { return r.op == "NotIn"; }),
                 ex.end());
      }
    }
    if (rng_.Chance(0.08)) w.annotations[std::string(kIgnoreAnnotation)] = "true";
    AddPorts(w);
    // The controller sees the pods of some workloads (their labels are the
    // template's): nothing may change for them.
    if ((kind == WorkloadKind::kDeployment || kind == WorkloadKind::kStatefulSet) &&
        rng_.Chance(0.3)) {
      listed_pods_.insert(out_.snapshot.workloads.size() - 1);
    }
  }

  // Container ports: names and numbers drawn independently, so the same name
  // means different numbers in different workloads; sometimes a scrape
  // annotation.
  void AddPorts(Workload& w) {
    static const std::vector<std::string> kPortNames = {"http",    "grpc",         "admin",
                                                        "metrics", "http-metrics", ""};
    static const std::vector<int> kPortNumbers = {80, 8080, 8443, 9090, 9100, 5432, 6379, 3000};
    Container main{"main", false, {}, {}, {}, {}, {}};
    std::set<std::string> names;
    std::set<std::pair<int, std::string>> numbers;
    bool has_metrics_name = false;
    const int n_ports = rng_.Int(1, 3);
    for (int i = 0; i < n_ports; ++i) {
      std::string pname = rng_.Pick(kPortNames);
      const bool metricsy = pname == "metrics" || pname == "http-metrics";
      if (!pname.empty() && (names.contains(pname) || (metricsy && has_metrics_name))) continue;
      const int num = rng_.Pick(kPortNumbers);
      const std::string proto = rng_.Chance(0.15) ? "UDP" : "TCP";
      if (numbers.contains({num, proto})) continue;
      if (!pname.empty()) names.insert(pname);
      has_metrics_name = has_metrics_name || metricsy;
      numbers.insert({num, proto});
      main.ports.push_back({pname, num, proto});
    }
    w.containers.push_back(std::move(main));
    if (rng_.Chance(0.3) && !has_metrics_name && !numbers.contains({9102, "TCP"})) {
      w.containers.push_back({"exporter", false, {}, {}, {}, {}, {{"metrics", 9102, "TCP"}}});
      has_metrics_name = true;
    }
    if (rng_.Chance(0.3)) {
      w.template_annotations["prometheus.io/scrape"] = "true";
      if (rng_.Chance(0.5)) {
        const auto& ports = w.containers[0].ports;
        w.template_annotations["prometheus.io/port"] =
            std::to_string(rng_.Chance(0.8) ? ports[rng_.Index(ports.size())].port : 9999);
      }
    }
  }

  // Rule 4: two Deployments selecting app=pair; their templates differ in
  // `role` (the selector is narrowed to each template), or one template is
  // the other's subset (nothing separates them: both policies select both).
  void OverlappingPair(const std::string& ns) {
    const bool separable = rng_.Chance(0.7);
    for (const char* role : {"a", "b"}) {
      Labels tl = {{"app", "pair"}};
      if (separable || std::string(role) == "a") tl["role"] = role;
      Workload& w =
          NewWorkload(WorkloadKind::kDeployment, ns, std::string("pair-") + role, tl);
      w.pod_selector = {};
      w.pod_selector.match_labels = {{"app", "pair"}};
      w.containers.push_back({"main", false, {}, {}, {}, {}, {{"http", 8080, "TCP"}}});
    }
  }

  // Rule 3: a StatefulSet whose pods an operator relabels (role=primary on
  // one of them); a Service selects the primary by that live label.
  void FailoverStatefulSet(const std::string& ns) {
    Workload& w = NewWorkload(WorkloadKind::kStatefulSet, ns, "kv", {{"app", "kv"}});
    w.containers.push_back({"kv", false, {}, {}, {}, {}, {{"kv", 6379, "TCP"}}});
    const size_t wi = out_.snapshot.workloads.size() - 1;
    const OwnerReference owner{"apps/v1", "StatefulSet", "kv", w.uid};
    const int n = rng_.Int(1, 3);
    const int primary = rng_.Int(0, n - 1);
    for (int i = 0; i < n; ++i) {
      PodPlan p;
      p.ns = ns;
      p.name = "kv-" + std::to_string(i);
      p.labels = {{"app", "kv"},
                  {"controller-revision-hash", "kv-5d8b"},
                  {"statefulset.kubernetes.io/pod-name", p.name}};
      if (rng_.Chance(0.8)) p.labels["role"] = i == primary ? "primary" : "replica";
      p.ports = {{"kv", 6379, "TCP"}};
      p.actor = wi;
      p.owner = owner;
      p.in_snapshot = true;
      pods_.push_back(std::move(p));
    }
    explicit_pods_.insert(wi);
    Service s;
    s.ns = ns;
    s.name = "kv-primary";
    s.selector = Labels{{"app", "kv"}, {"role", "primary"}};
    s.labels = {{"app", "kv"}};
    ServicePort sp;
    sp.name = "kv";
    sp.port = 6379;
    sp.target_port.str = "kv";
    s.ports.push_back(sp);
    out_.snapshot.services.push_back(std::move(s));
  }

  // Rule 3: pods of an operator's custom resource (no ReplicaSet between);
  // the template is one pod's spec. Sometimes no label is shared (no policy).
  void OperatorPods(const std::string& ns) {
    Custom c;
    c.owner = {"cache.example.com/v1", "RedisCluster", "rc-" + ns, "uid-rc-" + ns};
    c.ns = ns;
    c.scratch = true;
    Workload& holder = NewWorkload(WorkloadKind::kPod, ns, "rc-" + ns + "-template", {});
    holder.has_controller = true;
    AddPorts(holder);
    c.holder = out_.snapshot.workloads.size() - 1;
    const bool shares = rng_.Chance(0.85);
    const int n = rng_.Int(1, 3);
    for (int i = 0; i < n; ++i) {
      PodPlan p;
      p.ns = ns;
      p.name = c.owner.name + "-" + std::to_string(i);
      if (shares) {
        p.labels = {{"app", "rc"}, {"cluster", c.owner.name}, {"controller-revision-hash", "r1"}};
        if (rng_.Chance(0.7)) p.labels["role"] = i == 0 ? "primary" : "replica";
      } else {
        p.labels = {{"member", std::to_string(i)}};
      }
      for (const Container& ct : holder.containers) {
        for (const ContainerPort& cp : ct.ports) p.ports.push_back({cp.name, cp.port, cp.protocol});
      }
      p.actor = c.holder;
      p.owner = c.owner;
      p.in_snapshot = true;
      c.pods.push_back(pods_.size());
      pods_.push_back(std::move(p));
    }
    holder_custom_[c.holder] = customs_.size();
    customs_.push_back(std::move(c));
  }

  // Rule 3: an Argo Rollout: pods through ReplicaSets it owns; the newest
  // ReplicaSet's template counts (the old one names another Service, which
  // must not be allowed).
  void Rollout(const std::string& ns) {
    Custom c;
    c.owner = {"argoproj.io/v1alpha1", "Rollout", "ro-" + ns, "uid-ro-" + ns};
    c.ns = ns;
    const int revisions = rng_.Int(1, 2);
    for (int r = 0; r < revisions; ++r) {
      const std::string hash = "h" + std::to_string(r);
      Workload& rs = NewWorkload(WorkloadKind::kReplicaSet, ns, c.owner.name + "-" + hash,
                                 {{"app", c.owner.name}, {"rollouts-pod-template-hash", hash}});
      rs.has_controller = true;
      rs.controller = c.owner;
      rs.created = "2024-0" + std::to_string(r + 1) + "-01T00:00:00Z";
      AddPorts(rs);
      const size_t ri = out_.snapshot.workloads.size() - 1;
      if (r + 1 == revisions) {
        c.holder = ri;
      } else {
        // The old revision's references: not the workload's any more.
        rs.containers[0].env.push_back({"OLD", "legacy-only." + ns + ".svc:1", "", ""});
      }
      const OwnerReference via{"apps/v1", "ReplicaSet", rs.name, rs.uid};
      const int n = rng_.Int(1, 2);
      for (int i = 0; i < n; ++i) {
        PodPlan p;
        p.ns = ns;
        p.name = rs.name + "-" + std::to_string(i);
        p.labels = rs.template_labels;
        for (const Container& ct : rs.containers) {
          for (const ContainerPort& cp : ct.ports) p.ports.push_back({cp.name, cp.port, cp.protocol});
        }
        p.owner = via;
        p.in_snapshot = true;
        c.pods.push_back(pods_.size());
        pods_.push_back(std::move(p));
      }
    }
    for (size_t pi : c.pods) pods_[pi].actor = c.holder;
    holder_custom_[c.holder] = customs_.size();
    customs_.push_back(std::move(c));
  }

  void AppService(const std::string& ns, int index) {
    static const std::vector<std::string> kNames = {"frontend", "backend", "store",   "redis",
                                                    "pg",       "kafka",   "gateway", "billing"};
    Service s;
    s.ns = ns;
    s.name = kNames[static_cast<size_t>(index) % kNames.size()];
    if (rng_.Chance(0.4)) s.labels["monitor"] = "yes";
    s.labels["svc"] = s.name;
    std::vector<size_t> in_ns;
    for (size_t i = 0; i < out_.snapshot.workloads.size(); ++i) {
      if (out_.snapshot.workloads[i].ns == ns && IsActor(i)) in_ns.push_back(i);
    }
    const Workload* target = nullptr;
    Labels target_labels;
    const int flavour = rng_.Int(0, 99);
    if (flavour < 4) {
      // An alias of an outside name: no ports, nothing a policy can say.
      s.type = "ExternalName";
      s.external_name = "pay.example.com";
      out_.snapshot.services.push_back(std::move(s));
      return;
    }
    const bool selectorless = flavour < 14;
    if (selectorless) {
      // Endpoints written by hand (EndpointSlices below).
    } else if (rng_.Chance(0.9)) {
      const size_t ti = rng_.Pick(in_ns);
      target = &out_.snapshot.workloads[ti];
      target_labels = ActorTemplate(ti);
      if (const Custom* c = CustomOf(ti); c && !c->pods.empty() && rng_.Chance(0.5)) {
        target_labels = pods_[c->pods.front()].labels;  // a live label of one pod
        for (auto it = target_labels.begin(); it != target_labels.end();) {
          it = PerRevision(it->first) ? target_labels.erase(it) : std::next(it);
        }
      }
      if (target_labels.empty()) target_labels = {{"app", "nobody"}};
      std::vector<std::pair<std::string, std::string>> kv(target_labels.begin(),
                                                          target_labels.end());
      rng_.Shuffle(kv);
      const size_t n = 1 + rng_.Index(kv.size());
      s.selector = Labels(kv.begin(), kv.begin() + static_cast<long>(n));
    } else {
      s.selector = Labels{{"app", "nobody"}};
    }
    static const std::vector<int> kServicePorts = {80, 443, 8080, 5432, 6379, 9000, 53};
    std::set<int> used;
    const int n_ports = rng_.Int(1, 3);
    for (int i = 0; i < n_ports; ++i) {
      ServicePort sp;
      sp.port = rng_.Pick(kServicePorts);
      if (used.contains(sp.port)) continue;
      used.insert(sp.port);
      sp.protocol = rng_.Chance(0.1) ? "UDP" : "TCP";
      const double r = rng_.Int(0, 99) / 100.0;
      std::vector<ContainerPort> cports;
      if (target != nullptr) {
        for (const Container& c : target->containers) {
          for (const ContainerPort& p : c.ports) cports.push_back(p);
        }
      }
      if (r < 0.4 || cports.empty()) {
        // same as port
      } else if (r < 0.7) {
        const ContainerPort& p = rng_.Pick(cports);
        sp.target_port.num = rng_.Chance(0.8) ? p.port : 7777;
        sp.protocol = p.protocol;
      } else {
        const ContainerPort& p = rng_.Pick(cports);
        sp.target_port.str = p.name.empty() || rng_.Chance(0.1) ? "nope" : p.name;
        sp.protocol = p.protocol;
      }
      s.ports.push_back(sp);
    }
    for (size_t i = 0; i < s.ports.size(); ++i) {
      if (s.ports.size() > 1 || rng_.Chance(0.5))
        s.ports[i].name = "p" + std::to_string(s.ports[i].port);
    }
    if (selectorless) {
      // The endpoints listen on the port, or on port + 10000; an IPv4 slice
      // and sometimes an IPv6 one, both outside the cluster.
      std::vector<EndpointPort> eports;
      for (const ServicePort& sp : s.ports) {
        eports.push_back({sp.name, rng_.Chance(0.5) ? sp.port : sp.port + 10000, sp.protocol});
      }
      out_.snapshot.endpoint_slices.push_back(
          {ns, s.name + "-v4", s.name, "IPv4", {kLegacyIp}, eports});
      if (rng_.Chance(0.5)) {
        out_.snapshot.endpoint_slices.push_back(
            {ns, s.name + "-v6", s.name, "IPv6", {kExternalV6}, eports});
      }
      out_.snapshot.services.push_back(std::move(s));
      return;
    }
    const int t = rng_.Int(0, 9);
    if (t == 0) {
      s.headless = true;
    } else if (t == 1) {
      s.type = "NodePort";
    } else if (t == 2) {
      s.type = "LoadBalancer";
    }
    if (s.type != "ClusterIP") {
      for (ServicePort& sp : s.ports) sp.node_port = 30000 + sp.port;
    }
    out_.snapshot.services.push_back(std::move(s));
  }

  // Rule 1: a webhook server (or aggregated API, or CRD converter) and the
  // object that makes the API server call it.
  void Webhook(const std::string& ns) {
    const std::string name = "hook-" + ns;
    Workload& w = NewWorkload(WorkloadKind::kDeployment, ns, name, {{"app", name}});
    const bool named = rng_.Chance(0.5);
    w.containers.push_back({"server", false, {}, {}, {}, {}, {{"https", 8443, "TCP"}}});
    Service s;
    s.ns = ns;
    s.name = name;
    s.selector = Labels{{"app", name}};
    ServicePort sp;
    sp.name = "https";
    sp.port = rng_.Chance(0.7) ? 443 : 9443;
    if (named) {
      sp.target_port.str = "https";
    } else {
      sp.target_port.num = 8443;
    }
    s.ports.push_back(sp);
    ApiServerHook h;
    h.kind = static_cast<ApiServerHook::Kind>(rng_.Int(0, 3));
    h.name = name + "-config";
    ApiServerHook::Call call;
    call.webhook = h.kind == ApiServerHook::Kind::kValidatingWebhookConfiguration ||
                           h.kind == ApiServerHook::Kind::kMutatingWebhookConfiguration
                       ? "check." + ns + ".example.com"
                       : "";
    call.ns = ns;
    call.service = name;
    // The Service port it calls: 443 by default; now and then one the
    // Service lacks (the API server cannot call it: nothing to allow).
    call.port = rng_.Chance(0.85) ? sp.port : 1234;
    h.calls.push_back(call);
    out_.snapshot.api_server_hooks.push_back(h);
    out_.snapshot.services.push_back(std::move(s));
  }

  Container& MainContainer(size_t w) { return out_.snapshot.workloads[w].containers[0]; }

  std::string NewEnvName() { return "REF_" + std::to_string(++env_counter_); }

  ConfigMap& NewConfigMap(const std::string& ns) {
    ConfigMap cm;
    cm.ns = ns;
    cm.name = "cm-" + std::to_string(++cm_counter_);
    out_.snapshot.config_maps.push_back(std::move(cm));
    return out_.snapshot.config_maps.back();
  }

  Secret& NewSecret(const std::string& ns) {
    Secret s;
    s.ns = ns;
    s.name = "secret-" + std::to_string(++cm_counter_);
    out_.snapshot.secrets.push_back(std::move(s));
    return out_.snapshot.secrets.back();
  }

  void Record(size_t client, size_t service, std::optional<size_t> port, const std::string& how) {
    refs_.push_back({client, service, port});
    out_.references.push_back(ActorId(client) + " " + how);
  }
  // One reference from workload `w` to a random Service, in a random form and place.
  void AddReference(size_t w, int /*i*/) {
    const Workload& client = out_.snapshot.workloads[w];
    std::vector<size_t> same, all;
    for (size_t i = 0; i < out_.snapshot.services.size(); ++i) {
      all.push_back(i);
      if (out_.snapshot.services[i].ns == client.ns) same.push_back(i);
    }
    if (all.empty()) return;
    const size_t si = !same.empty() && rng_.Chance(0.6) ? rng_.Pick(same) : rng_.Pick(all);
    const Service svc = out_.snapshot.services[si];
    const bool local = svc.ns == client.ns;
    std::optional<size_t> port;
    if (!svc.ports.empty() && rng_.Chance(0.6)) port = rng_.Index(svc.ports.size());
    std::string port_text = port ? std::to_string(svc.ports[*port].port) : "";
    // A Service without ports (ExternalName): a port may still be written.
    if (svc.ports.empty() && rng_.Chance(0.6)) port_text = "443";
    const bool written = !port_text.empty();

    // The host, in one of the forms of DESIGN.md section 2.
    std::vector<std::string> hosts = {svc.name + "." + svc.ns + ".svc." + kDomain,
                                      svc.name + "." + svc.ns + ".svc", svc.name + "." + svc.ns};
    if (local) hosts.push_back(svc.name);
    if (svc.headless) hosts.push_back("member-0." + svc.name + "." + svc.ns + ".svc." + kDomain);
    const std::string host = rng_.Pick(hosts);
    const bool short_name = host == svc.name;

    std::string value;
    const int shape = rng_.Int(0, 3);
    if (shape == 0 || (shape == 3 && short_name)) {
      value = written ? host + ":" + port_text : host;
    } else if (shape == 1) {
      value = "http://" + host + (written ? ":" + port_text : "") + "/v1/items?x=1";
    } else if (shape == 2) {
      value =
          written ? "postgres://user:secret@" + host + ":" + port_text + "/main" : "tcp://" + host;
    } else {
      value = "unrelated.example.com:1234," + host + (written ? ":" + port_text : "") + ";x";
    }

    const std::string env = NewEnvName();
    int place = rng_.Int(0, 11);
    if (place >= 9 && short_name) place = 0;  // a Secret keeps qualified names only
    if (place >= 9) {
      // DESIGN.md section 4: Secrets are read only with --read-secrets, and
      // only their host names are kept (the decoder's reduction: qualified
      // names and URL hosts). The generator writes that reduction.
      std::string written_hosts = host + (written ? ":" + port_text : "");
      Secret& secret = NewSecret(client.ns);
      const std::string secret_name = secret.name;
      std::string how;
      if (place == 9) {
        secret.hosts["url"] = written_hosts;
        secret.exact = {"url"};
        EnvVar e;
        e.name = env;
        e.secret_name = secret_name;
        e.secret_key = "url";
        MainContainer(w).env.push_back(e);
        how = "env " + env + " from secret " + secret_name + "=" + written_hosts;
      } else if (place == 10) {
        secret.hosts[env] = written_hosts;
        EnvFromSource ef;
        ef.secret_name = secret_name;
        MainContainer(w).env_from.push_back(ef);
        how = "envFrom secret " + secret_name + " " + env + "=" + written_hosts;
      } else {
        secret.hosts["conf"] = written_hosts;
        out_.snapshot.workloads[w].secret_volumes.push_back(secret_name);
        how = "volume secret " + secret_name + " conf=" + written_hosts;
      }
      if (out_.config.read_secrets) {
        Record(w, si, port, how);
      } else {
        out_.references.push_back(ActorId(w) + " (not read: no --read-secrets) " + how);
      }
      return;
    }
    switch (place) {
      case 0: {
        MainContainer(w).env.push_back({env, value, "", ""});
        Record(w, si, port, "env " + env + "=" + value);
        break;
      }
      case 1: {
        ConfigMap& cm = NewConfigMap(client.ns);
        cm.data["target"] = value;
        MainContainer(w).env.push_back({env, std::nullopt, cm.name, "target"});
        Record(w, si, port, "env " + env + " from configmap " + cm.name + "=" + value);
        break;
      }
      case 2: {
        ConfigMap& cm = NewConfigMap(client.ns);
        cm.data[env] = value;
        MainContainer(w).env_from.push_back({cm.name, ""});
        Record(w, si, port, "envFrom configmap " + cm.name + " " + env + "=" + value);
        break;
      }
      case 3: {
        // $(VAR) pieces that name nothing on their own.
        if (!short_name && written) {
          MainContainer(w).env.push_back({env + "_NS", svc.ns, "", ""});
          MainContainer(w).env.push_back({env + "_PORT", port_text, "", ""});
          const std::string v = svc.name + ".$(" + env + "_NS).svc:$(" + env + "_PORT)";
          MainContainer(w).env.push_back({env, v, "", ""});
          Record(w, si, port, "env " + env + "=" + v + " (expanded)");
        } else {
          // The classic $(HOST):port: HOST itself names the Service (all ports).
          MainContainer(w).env.push_back({env + "_HOST", host, "", ""});
          const std::string v = "http://$(" + env + "_HOST)" + (written ? ":" + port_text : "");
          MainContainer(w).env.push_back({env, v, "", ""});
          Record(w, si, std::nullopt, "env " + env + "_HOST=" + host);
          Record(w, si, port, "env " + env + "=" + v + " (expanded)");
        }
        break;
      }
      case 4: {
        MainContainer(w).args.push_back("--upstream");
        MainContainer(w).args.push_back(value);
        Record(w, si, port, "args --upstream " + value);
        break;
      }
      case 5: {
        if (short_name) {
          MainContainer(w).env.push_back({env, value, "", ""});
          Record(w, si, port, "env " + env + "=" + value);
        } else {
          Container& c = MainContainer(w);
          if (c.command.empty()) c.command = {"sh", "-c", "exec /app"};
          c.command.back() += " --upstream " + value;
          Record(w, si, port, "command sh -c exec /app --upstream " + value);
        }
        break;
      }
      case 6: {
        ConfigMap& cm = NewConfigMap(client.ns);
        cm.data["upstream"] = value;
        out_.snapshot.workloads[w].config_map_volumes.push_back(cm.name);
        Record(w, si, port, "volume configmap " + cm.name + " upstream=" + value);
        break;
      }
      case 7: {
        Workload& wl = out_.snapshot.workloads[w];
        if (wl.containers.size() < 2 || !wl.containers.back().init) {
          wl.containers.push_back({"init", true, {}, {}, {}, {}, {}});
        }
        wl.containers.back().env.push_back({env, value, "", ""});
        Record(w, si, port, "initContainer env " + env + "=" + value);
        break;
      }
      default: {
        // envFrom with a prefix, read through $(VAR) in args.
        ConfigMap& cm = NewConfigMap(client.ns);
        cm.data["TARGET"] = value;
        MainContainer(w).env_from.push_back({cm.name, env + "_"});
        MainContainer(w).args.push_back("$(" + env + "_TARGET)");
        Record(w, si, port,
               "envFrom configmap " + cm.name + " prefix " + env + "_ TARGET=" + value);
        break;
      }
    }
  }

  // Values that name no Service: an unknown name, a port the Service lacks,
  // an external host.
  void AddNoise(size_t w) {
    const Workload& client = out_.snapshot.workloads[w];
    std::vector<std::string> values = {"http://nosuch." + client.ns + ":80", "api.example.com:443",
                                       "nosuch"};
    for (const Service& s : out_.snapshot.services) {
      if (s.ns == client.ns) values.push_back(s.name + "." + s.ns + ":1");
    }
    const std::string v = rng_.Pick(values);
    MainContainer(w).env.push_back({NewEnvName(), v, "", ""});
    out_.references.push_back(ActorId(w) + " env (names nothing) " + v);
  }

  // An annotation entry as written, and the peers and ports it means.
  struct AnnotationEntry {
    std::string text;
    PeerSpec peer;
    std::vector<PortSpec> ports;  // empty: every port
  };

  static PortSpec Port(int number, std::string protocol = "TCP", std::optional<int> end = {}) {
    PortSpec p;
    p.protocol = std::move(protocol);
    p.number = number;
    p.end = end;
    return p;
  }

  static PeerSpec Block(std::string cidr) {
    PeerSpec p;
    p.kind = PeerSpec::Kind::kIpBlock;
    p.cidr = std::move(cidr);
    return p;
  }

  static PeerSpec Pods(std::optional<std::string> ns, Labels pods) {
    PeerSpec p;
    p.kind = PeerSpec::Kind::kPeerSelector;
    if (ns) p.namespaces.match_labels[std::string(kNamespaceNameLabel)] = *ns;
    p.pods.match_labels = std::move(pods);
    return p;
  }

  // The annotations of DESIGN.md section 4 on workload `w` (on the object or
  // on its pod template), with what they intend.
  void AddAnnotations(size_t w) {
    const std::vector<AnnotationEntry> egress = {
        {kExternalV4, Block("203.0.113.7/32"), {}},
        {"203.0.113.0/24:443", Block("203.0.113.0/24"), {Port(443)}},
        {"[2001:db8::/32]:443", Block("2001:db8::/32"), {Port(443)}},
        {"10.244.0.0/16:8080", Block("10.244.0.0/16"), {Port(8080)}},
        {"203.0.113.0/24:8000-8100/TCP", Block("203.0.113.0/24"), {Port(8000, "TCP", 8100)}},
        {"203.0.113.7:53/UDP", Block("203.0.113.7/32"), {Port(53, "UDP")}},
        {"ns0:5432", Pods("ns0", {}), {Port(5432)}},
        {"*/app=api:8080", Pods(std::nullopt, {{"app", "api"}}), {Port(8080)}},
    };
    const std::vector<AnnotationEntry> ingress = {
        {"ns1", Pods("ns1", {}), {}},
        {"ns0/app=web", Pods("ns0", {{"app", "web"}}), {}},
        {"*/tier=frontend&part-of=shop:8080",
         Pods(std::nullopt, {{"tier", "frontend"}, {"part-of", "shop"}}),
         {Port(8080)}},
        {"*", Pods(std::nullopt, {}), {}},
        {"203.0.113.7:8080", Block("203.0.113.7/32"), {Port(8080)}},
        {"[2001:db8::/32]", Block("2001:db8::/32"), {}},
        {"monitoring/app=grafana:9090", Pods("monitoring", {{"app", "grafana"}}), {Port(9090)}},
    };
    Workload& wl = out_.snapshot.workloads[w];
    auto annotate = [&](std::string_view key, const std::vector<AnnotationEntry>& pool,
                        std::vector<AnnotationEntry>* intent) {
      std::string value;
      const int n = rng_.Int(1, 2);
      for (int i = 0; i < n; ++i) {
        const AnnotationEntry& e = rng_.Pick(pool);
        value += (value.empty() ? "" : ", ") + e.text;
        intent->push_back(e);
      }
      (rng_.Chance(0.5) && !CustomOf(w) ? wl.annotations : wl.template_annotations)[std::string(key)] = value;
      out_.references.push_back(ActorId(w) + " annotation " + std::string(key) + "=" + value);
    };
    if (rng_.Chance(0.2)) annotate(kAllowEgressAnnotation, egress, &annotated_egress_[w]);
    if (rng_.Chance(0.2)) annotate(kAllowIngressFromAnnotation, ingress, &annotated_ingress_[w]);
    if (rng_.Chance(0.1)) {
      const bool on = rng_.Chance(0.8);
      (rng_.Chance(0.5) && !CustomOf(w) ? wl.annotations
                                           : wl.template_annotations)[std::string(kAllowApiServerAnnotation)] =
          on ? "true" : "false";
      out_.references.push_back(ActorId(w) + " annotation " +
                                std::string(kAllowApiServerAnnotation) + "=" +
                                (on ? "true" : "false"));
    }
  }

  // --- Rule 5: ingress classes, Routes, Gateways ------------------------------

  void IngressClasses() {
    // nginx: ingress-nginx's; public: Traefik's; alb: served by no peer.
    if (rng_.Chance(0.6)) {
      out_.snapshot.ingress_classes.push_back({"nginx", "k8s.io/ingress-nginx", rng_.Chance(0.3)});
    }
    if (rng_.Chance(0.5)) {
      out_.snapshot.ingress_classes.push_back(
          {"public", "traefik.io/ingress-controller", rng_.Chance(0.2)});
    }
    if (rng_.Chance(0.3)) {
      out_.snapshot.ingress_classes.push_back({"alb", "ingress.k8s.aws/alb", rng_.Chance(0.2)});
    }
  }

  void AddIngress(const std::string& ns) {
    Ingress ing;
    ing.ns = ns;
    ing.name = "ing-" + ns;
    const std::string cls =
        rng_.Pick(std::vector<std::string>{"", "", "nginx", "public", "alb", "traefik", "other"});
    if (rng_.Chance(0.3)) {
      ing.class_annotation = cls;
    } else {
      ing.ingress_class = cls;
    }
    std::vector<size_t> in_ns;
    for (size_t i = 0; i < out_.snapshot.services.size(); ++i) {
      const Service& s = out_.snapshot.services[i];
      if (s.ns == ns && !s.ports.empty()) in_ns.push_back(i);
    }
    if (in_ns.empty()) return;
    const int n = rng_.Int(1, 2);
    for (int i = 0; i < n; ++i) {
      const size_t si = rng_.Pick(in_ns);
      const Service& s = out_.snapshot.services[si];
      const ServicePort& sp = rng_.Pick(s.ports);
      IngressBackend b;
      b.service_name = s.name;
      if (!sp.name.empty() && rng_.Chance(0.5)) {
        b.service_port.str = sp.name;
      } else {
        b.service_port.num = sp.port;
      }
      ing.backends.push_back(b);
      routes_.push_back({si, b.service_port, out_.snapshot.ingresses.size()});
    }
    out_.snapshot.ingresses.push_back(std::move(ing));
  }

  void AddRoute(const std::string& ns) {
    std::vector<size_t> in_ns;
    for (size_t i = 0; i < out_.snapshot.services.size(); ++i) {
      const Service& s = out_.snapshot.services[i];
      if (s.ns == ns && !s.ports.empty()) in_ns.push_back(i);
    }
    if (in_ns.empty()) return;
    Route r;
    r.ns = ns;
    r.name = "route-" + ns;
    const int n = rng_.Int(1, 2);
    for (int i = 0; i < n; ++i) r.services.push_back(out_.snapshot.services[rng_.Pick(in_ns)].name);
    const Service& first = out_.snapshot.services[in_ns[0]];
    const int kind = rng_.Int(0, 2);
    if (kind == 1) {
      const ServicePort& sp = rng_.Pick(first.ports);
      if (!sp.name.empty()) r.target_port.str = sp.name;
    } else if (kind == 2) {
      const ServicePort& sp = rng_.Pick(first.ports);
      r.target_port.num = sp.target_port.is_num() ? *sp.target_port.num : sp.port;
    }
    out_.snapshot.routes.push_back(std::move(r));
  }

  // A Gateway of one implementation, its class, and its pods.
  std::string AddGateway() {
    static const std::vector<std::pair<std::string, std::string>> kClasses = {
        {"eg", "gateway.envoyproxy.io/gatewayclass-controller"},
        {"istio", "istio.io/gateway-controller"},
        {"nginx", "gateway.nginx.org/nginx-gateway-controller"},
        {"cilium", "io.cilium/gateway-controller"},
        {"acme", "acme.example.com/gateway"}};
    if (!gateways_namespace_) {
      AddNamespace("gateways", {}, {});
      AddNamespace("envoy-gateway-system", {}, {});
      gateways_namespace_ = true;
    }
    const auto& [cls, controller] = kClasses[rng_.Index(kClasses.size())];
    const std::string name = "gw-" + std::to_string(out_.snapshot.gateways.size());
    out_.snapshot.gateways.push_back({"gateways", name, cls});
    bool known = false;
    for (const GatewayClass& c : out_.snapshot.gateway_classes) known = known || c.name == cls;
    if (!known) out_.snapshot.gateway_classes.push_back({cls, controller});
    // The proxies, where each implementation runs them.
    if (cls == "eg") {
      Workload& p = NewWorkload(WorkloadKind::kDeployment, "envoy-gateway-system", "envoy-" + name,
                                {{"gateway.envoyproxy.io/owning-gateway-name", name},
                                 {"gateway.envoyproxy.io/owning-gateway-namespace", "gateways"}});
      p.containers.push_back({"envoy", false, {}, {}, {}, {}, {{"http", 10080, "TCP"}}});
    } else if (cls == "istio" || cls == "nginx") {
      Workload& p = NewWorkload(WorkloadKind::kDeployment, "gateways", name + "-" + cls,
                                {{"gateway.networking.k8s.io/gateway-name", name}});
      p.containers.push_back({"proxy", false, {}, {}, {}, {}, {{"http", 80, "TCP"}}});
    }
    return name;
  }

  void AddGatewayRoute(const std::string& ns) {
    std::vector<size_t> in_ns;
    for (size_t i = 0; i < out_.snapshot.services.size(); ++i) {
      const Service& s = out_.snapshot.services[i];
      if (s.ns == ns && !s.ports.empty()) in_ns.push_back(i);
    }
    if (in_ns.empty()) return;
    if (out_.snapshot.gateways.empty() || rng_.Chance(0.4)) AddGateway();
    GatewayRoute r;
    r.kind = rng_.Pick(std::vector<std::string>{"HTTPRoute", "GRPCRoute", "TCPRoute"});
    r.ns = ns;
    r.name = "xroute-" + ns;
    const Gateway& g = rng_.Pick(out_.snapshot.gateways);
    r.parents.push_back({"gateway.networking.k8s.io", "Gateway", g.ns, g.name});
    if (rng_.Chance(0.2)) r.parents.push_back({"gateway.networking.k8s.io", "Gateway", "gateways", "missing"});
    const int n = rng_.Int(1, 2);
    for (int i = 0; i < n; ++i) {
      const Service& s = out_.snapshot.services[rng_.Pick(in_ns)];
      GatewayRoute::Backend b;
      b.ns = ns;
      b.name = s.name;
      b.port = rng_.Chance(0.9) ? rng_.Pick(s.ports).port : 1;
      r.backends.push_back(b);
    }
    out_.snapshot.gateway_routes.push_back(std::move(r));
  }

  // --- Rule 2: the Prometheus operator ----------------------------------------

  void Monitoring() {
    if (rng_.Chance(0.6)) {
      Prometheus p;
      p.ns = "monitoring";
      p.name = "k8s";
      auto selector = [&]() -> std::optional<LabelSelector> {
        const int v = rng_.Int(0, 3);
        if (v == 0) return std::nullopt;  // null: none (namespaces: its own)
        if (v == 1) return LabelSelector{};
        LabelSelector s;
        s.match_labels = v == 2 ? Labels{{"team", "a"}} : Labels{{"monitored", "yes"}};
        return s;
      };
      p.service_monitor_selector = selector();
      p.service_monitor_namespace_selector = selector();
      p.pod_monitor_selector = selector();
      p.pod_monitor_namespace_selector = selector();
      Workload& ss = NewWorkload(WorkloadKind::kStatefulSet, "monitoring", "prometheus-k8s",
                                 {{"app.kubernetes.io/name", "prometheus"}, {"prometheus", "k8s"}});
      ss.containers.push_back({"prometheus", false, {}, {}, {}, {}, {{"web", 9090, "TCP"}}});
      if (rng_.Chance(0.6)) {
        Workload& am =
            NewWorkload(WorkloadKind::kStatefulSet, "monitoring", "alertmanager-main",
                        {{"app.kubernetes.io/name", "alertmanager"}, {"alertmanager", "main"}});
        am.containers.push_back({"alertmanager", false, {}, {}, {}, {}, {{"web", 9093, "TCP"}}});
        Service s;
        s.ns = "monitoring";
        s.name = "alertmanager-main";
        s.selector = Labels{{"alertmanager", "main"}};
        ServicePort sp;
        sp.name = "web";
        sp.port = 9093;
        sp.target_port.str = "web";
        s.ports.push_back(sp);
        out_.snapshot.services.push_back(std::move(s));
        IntOrString port;
        if (rng_.Chance(0.5)) {
          port.str = "web";
        } else {
          port.num = 9093;
        }
        p.alertmanagers.push_back({"monitoring", "alertmanager-main", port});
      }
      out_.snapshot.prometheuses.push_back(std::move(p));
    }
    const MonitorNamespaces own;
    for (const std::string& ns : app_namespaces_) {
      auto scope = [&]() {
        MonitorNamespaces m;
        const int v = rng_.Int(0, 3);
        if (v == 1) m.any = true;
        if (v == 2) m.names = {rng_.Pick(app_namespaces_)};
        return m;
      };
      if (rng_.Chance(0.5)) {
        ServiceMonitor m;
        m.ns = ns;
        m.name = "sm-" + ns;
        m.labels = {{"team", rng_.Chance(0.5) ? "a" : "b"}};
        m.namespaces = scope();
        m.selector.match_labels = {{"monitor", "yes"}};
        ServiceMonitor::Endpoint e;
        const int v = rng_.Int(0, 2);
        if (v == 0) e.port = rng_.Pick(std::vector<std::string>{"p80", "p8080", "p9000", "kv"});
        if (v == 1) e.target_port.num = rng_.Pick(std::vector<int>{8080, 9090, 9102});
        m.endpoints.push_back(e);
        out_.snapshot.service_monitors.push_back(std::move(m));
      }
      if (rng_.Chance(0.5)) {
        PodMonitor m;
        m.ns = ns;
        m.name = "pm-" + ns;
        m.labels = {{"team", rng_.Chance(0.5) ? "a" : "b"}};
        m.namespaces = scope();
        m.selector.match_labels = {
            {"app", rng_.Pick(std::vector<std::string>{"web", "api", "db", "rc", "kv"})}};
        PodMonitor::Endpoint e;
        const int v = rng_.Int(0, 2);
        if (v == 0) e.port = rng_.Pick(std::vector<std::string>{"metrics", "http", "kv"});
        if (v == 1) e.port_number = rng_.Pick(std::vector<int>{8080, 9090, 9102});
        m.endpoints.push_back(e);
        out_.snapshot.pod_monitors.push_back(std::move(m));
      }
    }
    // node-exporter's metrics, through a PodMonitor (hostNetwork: only the
    // node addresses reach it).
    if (node_exporter_ && rng_.Chance(0.5)) {
      PodMonitor m;
      m.ns = "monitoring";
      m.name = "node-exporter";
      m.labels = {{"team", "a"}};
      m.selector.match_labels = {{"app", "node-exporter"}};
      m.endpoints.push_back({"", 9100, {}});
      out_.snapshot.pod_monitors.push_back(std::move(m));
    }
  }

  // --- pods ---------------------------------------------------------------------

  void MakePods() {
    int counter = 0;
    for (size_t wi = 0; wi < out_.snapshot.workloads.size(); ++wi) {
      const Workload& w = out_.snapshot.workloads[wi];
      if (w.has_controller || explicit_pods_.contains(wi)) continue;
      int n = w.kind == WorkloadKind::kPod ? 1 : rng_.Int(1, 2);
      if (w.ns == "kube-system") n = 2;
      std::optional<OwnerReference> owner;
      const bool listed = listed_pods_.contains(wi);
      if (listed && w.kind == WorkloadKind::kStatefulSet) {
        owner = OwnerReference{"apps/v1", "StatefulSet", w.name, w.uid};
      } else if (listed) {
        // A Deployment's pods come through a ReplicaSet it owns.
        Workload rs = w;
        rs.kind = WorkloadKind::kReplicaSet;
        rs.name = w.name + "-7f9c";
        rs.uid = w.uid + "-rs";
        rs.has_controller = true;
        rs.controller = OwnerReference{"apps/v1", "Deployment", w.name, w.uid};
        rs.template_labels["pod-template-hash"] = "7f9c";
        owner = OwnerReference{"apps/v1", "ReplicaSet", rs.name, rs.uid};
        extra_workloads_.push_back(std::move(rs));
      }
      for (int i = 0; i < n; ++i) {
        PodPlan p;
        p.ns = w.ns;
        p.labels = w.template_labels;
        switch (w.kind) {
          case WorkloadKind::kPod: p.name = w.name; break;
          case WorkloadKind::kStatefulSet:
            p.name = w.name + "-" + std::to_string(i);
            p.labels["statefulset.kubernetes.io/pod-name"] = p.name;
            p.labels["controller-revision-hash"] = w.name + "-6d4c";
            break;
          case WorkloadKind::kCronJob:
            p.name = w.name + "-28000000-" + std::to_string(i);
            p.labels["batch.kubernetes.io/job-name"] = w.name + "-28000000";
            p.labels["job-name"] = w.name + "-28000000";
            break;
          default:
            p.name = w.name + "-7f9c-" + std::to_string(i);
            p.labels["pod-template-hash"] = "7f9c";
            break;
        }
        for (const Container& c : w.containers) {
          if (c.init) continue;
          for (const ContainerPort& cp : c.ports) p.ports.push_back({cp.name, cp.port, cp.protocol});
        }
        p.host_network = w.host_network;
        p.actor = wi;
        p.owner = owner;
        p.in_snapshot = owner.has_value();
        pods_.push_back(std::move(p));
      }
    }
    for (const PodPlan& plan : pods_) {
      eval::Pod p;
      p.ns = plan.ns;
      p.name = plan.name;
      p.labels = plan.labels;
      p.ports = plan.ports;
      p.ip = "10.244." + std::to_string(counter / 250) + "." + std::to_string(counter % 250 + 1);
      if (plan.host_network) {
        p.host_network = true;
        p.ip = "172.18.0." + std::to_string(counter % 250 + 1);
      }
      ++counter;
      out_.pods.push_back(std::move(p));
    }
  }

  // The snapshot's pods (what the controller sees), the ReplicaSets between
  // Deployments and their listed pods, and the custom workloads' pod specs;
  // scratch template holders leave the snapshot.
  void Finish() {
    for (const PodPlan& plan : pods_) {
      if (!plan.in_snapshot) continue;
      Pod p;
      p.ns = plan.ns;
      p.name = plan.name;
      p.labels = plan.labels;
      p.host_network = plan.host_network;
      p.controller = plan.owner;
      out_.snapshot.pods.push_back(std::move(p));
    }
    for (const Custom& c : customs_) {
      if (!c.scratch) continue;
      const Workload& h = out_.snapshot.workloads[c.holder];
      for (Pod& p : out_.snapshot.pods) {
        if (p.ns != c.ns || p.name != pods_[c.pods.front()].name) continue;
        Pod::Spec spec;
        spec.annotations = h.template_annotations;
        spec.containers = h.containers;
        spec.config_map_volumes = h.config_map_volumes;
        spec.secret_volumes = h.secret_volumes;
        p.spec = std::move(spec);
      }
    }
    std::vector<Workload> kept;
    for (size_t wi = 0; wi < out_.snapshot.workloads.size(); ++wi) {
      const Custom* c = CustomOf(wi);
      if (c && c->scratch) continue;
      kept.push_back(std::move(out_.snapshot.workloads[wi]));
    }
    for (Workload& w : extra_workloads_) kept.push_back(std::move(w));
    out_.snapshot.workloads = std::move(kept);
  }

  // --- Intent --------------------------------------------------------------

  bool NamespaceIgnored(const std::string& ns) const {
    for (const Namespace& n : out_.snapshot.namespaces) {
      if (n.name != ns) continue;
      auto it = n.annotations.find(std::string(kIgnoreAnnotation));
      return it != n.annotations.end() && it->second == "true";
    }
    return false;
  }

  bool Managed(size_t a) const {
    const Workload& w = out_.snapshot.workloads[a];
    if (!IsActor(a) || w.host_network || NamespaceIgnored(w.ns)) return false;
    if (!IsApp(w.ns) && w.ns != "monitoring") return false;
    if (const Custom* c = CustomOf(a)) return !SharedLabels(*c).empty();
    auto it = w.annotations.find(std::string(kIgnoreAnnotation));
    return it == w.annotations.end() || it->second != "true";
  }

  // The pods an actor's policy selects: its selector; narrowed to its own
  // template labels (per-revision ones aside) when it also matches another
  // workload's template in its namespace (DESIGN.md section 1).
  eval::Selector SelectorOf(size_t a) const {
    const Workload& w = out_.snapshot.workloads[a];
    if (const Custom* c = CustomOf(a)) {
      eval::Selector s;
      s.match_labels = SharedLabels(*c);
      return s;
    }
    const eval::Selector base = ToEval(w.pod_selector);
    bool overlaps = false;
    for (size_t o : Actors()) {
      if (o == a || out_.snapshot.workloads[o].ns != w.ns || out_.snapshot.workloads[o].host_network)
        continue;
      overlaps = overlaps || base.Matches(ActorTemplate(o));
    }
    if (!overlaps) return base;
    eval::Selector own;
    for (const auto& [k, v] : w.template_labels) {
      if (!PerRevision(k)) own.match_labels[k] = v;
    }
    return own.match_labels.empty() ? base : own;
  }

  // The actors whose template, or one of whose pods, the Service selects.
  std::vector<size_t> Backends(const Service& s) const {
    std::vector<size_t> out;
    if (!s.selector || s.type == "ExternalName") return out;
    eval::Selector sel;
    sel.match_labels = *s.selector;
    std::set<size_t> found;
    for (size_t a : Actors()) {
      const Workload& w = out_.snapshot.workloads[a];
      if (w.ns == s.ns && !CustomOf(a) && sel.Matches(w.template_labels)) found.insert(a);
    }
    for (const PodPlan& p : pods_) {
      if (p.actor != SIZE_MAX && p.ns == s.ns && sel.Matches(p.labels)) found.insert(p.actor);
    }
    return {found.begin(), found.end()};
  }

  // The actors whose template or pods a selector selects in a namespace.
  std::vector<size_t> SelectedIn(const std::string& ns, const eval::Selector& sel) const {
    std::set<size_t> found;
    for (size_t a : Actors()) {
      const Workload& w = out_.snapshot.workloads[a];
      if (w.ns == ns && !CustomOf(a) && sel.Matches(w.template_labels)) found.insert(a);
    }
    for (const PodPlan& p : pods_) {
      if (p.actor != SIZE_MAX && p.ns == ns && sel.Matches(p.labels)) found.insert(p.actor);
    }
    return {found.begin(), found.end()};
  }

  static PortSpec Target(const ServicePort& sp) {
    PortSpec p;
    p.protocol = sp.protocol;
    if (sp.target_port.empty()) {
      p.number = sp.port;
    } else if (sp.target_port.is_num()) {
      p.number = *sp.target_port.num;
    } else {
      p.name = sp.target_port.str;
    }
    return p;
  }

  PeerSpec PodsOf(size_t a) const {
    const Workload& wl = out_.snapshot.workloads[a];
    return {PeerSpec::Kind::kSelected, wl.ns, {}, SelectorOf(a), ""};
  }

  static PeerSpec SelectedBy(const std::string& ns, const Labels& pods) {
    PeerSpec p;
    p.kind = PeerSpec::Kind::kSelected;
    p.ns = ns;
    p.pods.match_labels = pods;
    return p;
  }

  static PeerSpec FromConfig(const PeerSelector& p) {
    return {PeerSpec::Kind::kPeerSelector, "", ToEval(p.namespaces), ToEval(p.pods), ""};
  }

  // Whether a configured pod peer matches a hostNetwork workload here.
  bool PeerOnHostNetwork(const PeerSelector& p) const {
    for (const Workload& w : out_.snapshot.workloads) {
      if (!w.host_network || w.has_controller) continue;
      Labels ns_labels;
      for (const Namespace& n : out_.namespaces) {
        if (n.name == w.ns) ns_labels = n.labels;
      }
      if (ToEval(p.namespaces).Matches(ns_labels) && ToEval(p.pods).Matches(w.template_labels))
        return true;
    }
    return false;
  }

  // What a configured peer stands for (rule 6): its pods, its addresses, the
  // nodes, anyone; and the nodes' addresses when its pods use hostNetwork.
  std::vector<PeerSpec> ConfigPeers(const PeerSelector& p) const {
    std::vector<PeerSpec> out;
    if (p.any) out.push_back({PeerSpec::Kind::kAnyone, "", {}, {}, ""});
    for (const std::string& c : p.cidrs) out.push_back(Block(c));
    const bool nodes = !out_.config.node_cidrs.empty();
    if (p.nodes && nodes) out.push_back(Block(kNodeCidr));
    if (p.cidrs.empty() && !p.nodes && !p.any) {
      out.push_back(FromConfig(p));
      if (nodes && PeerOnHostNetwork(p)) out.push_back(Block(kNodeCidr));
    }
    return out;
  }

  // The scrape ports of `w` (DESIGN.md section 3, ingress 5): empty when it
  // is not scraped.
  static std::vector<PortSpec> ScrapePorts(const Workload& w) {
    std::vector<PortSpec> ports;
    const Annotations& ta = w.template_annotations;
    if (!ta.contains("prometheus.io/scrape") || ta.at("prometheus.io/scrape") != "true")
      return ports;
    if (ta.contains("prometheus.io/port")) {
      PortSpec p;
      p.number = std::stoi(ta.at("prometheus.io/port"));
      ports.push_back(p);
      return ports;
    }
    for (const Container& c : w.containers) {
      for (const ContainerPort& cp : c.ports) {
        if (cp.name == "metrics" || cp.name == "http-metrics") {
          PortSpec p;
          p.protocol = cp.protocol;
          p.number = cp.port;
          p.name = cp.name;
          p.either = true;
          ports.push_back(p);
        }
      }
    }
    return ports;
  }

  bool IsMonitoring(const Workload& w) const {
    for (const PeerSelector& m : out_.config.monitoring_peers) {
      Labels ns_labels;
      for (const Namespace& n : out_.namespaces) {
        if (n.name == w.ns) ns_labels = n.labels;
      }
      if (ToEval(m.namespaces).Matches(ns_labels) && ToEval(m.pods).Matches(w.template_labels)) {
        return true;
      }
    }
    return false;
  }

  static std::string HostCidr(const std::string& address) {
    return address + (address.find(':') != std::string::npos ? "/128" : "/32");
  }

  const Labels& NamespaceLabelsOf(const std::string& ns) const {
    static const Labels kNone;
    for (const Namespace& n : out_.namespaces) {
      if (n.name == ns) return n.labels;
    }
    return kNone;
  }

  // Operator semantics: a null selector selects no monitor, {} all; a null
  // namespace selector means the Prometheus' own namespace.
  bool Selects(const Prometheus& p, const std::optional<LabelSelector>& sel,
               const std::optional<LabelSelector>& ns_sel, const std::string& ns,
               const Labels& labels) const {
    if (!sel || !ToEval(*sel).Matches(labels)) return false;
    if (!ns_sel) return ns == p.ns;
    Labels ns_labels = NamespaceLabelsOf(ns);
    ns_labels[std::string(kNamespaceNameLabel)] = ns;
    return ToEval(*ns_sel).Matches(ns_labels);
  }

  static bool InScope(const MonitorNamespaces& m, const std::string& own, const std::string& ns) {
    if (m.any) return true;
    if (m.names.empty()) return ns == own;
    return std::find(m.names.begin(), m.names.end(), ns) != m.names.end();
  }

  // Scrape flows of one monitor: `egress` for the scrapers, `ingress` peers
  // for the targets.
  struct Scrape {
    PeerSpec target;           // the pods scraped (egress)
    std::vector<PortSpec> ports;
    std::vector<size_t> targets;  // actors scraped (ingress)
    std::string why;
  };

  std::vector<Scrape> ScrapesOf(const ServiceMonitor& m) const {
    std::vector<Scrape> out;
    for (const Service& s : out_.snapshot.services) {
      if (s.type == "ExternalName" || !InScope(m.namespaces, m.ns, s.ns) ||
          !ToEval(m.selector).Matches(s.labels)) {
        continue;
      }
      for (const ServiceMonitor::Endpoint& e : m.endpoints) {
        Scrape sc;
        sc.why = "ServiceMonitor " + m.ns + "/" + m.name + " -> " + s.ns + "/" + s.name;
        if (!e.port.empty()) {
          bool found = false;
          for (const ServicePort& sp : s.ports) {
            if (sp.name == e.port) {
              sc.ports.push_back(Target(sp));
              found = true;
            }
          }
          if (!found) continue;
        } else if (!e.target_port.empty()) {
          sc.ports.push_back(e.target_port.is_num() ? Port(*e.target_port.num) : PortSpec{});
        } else {
          for (const ServicePort& sp : s.ports) sc.ports.push_back(Target(sp));
        }
        if (!s.selector) {
          // Selector-less: its endpoints' addresses.
          for (const EndpointSlice& slice : out_.snapshot.endpoint_slices) {
            if (slice.ns != s.ns || slice.service_name != s.name) continue;
            std::vector<PortSpec> ports;
            for (const EndpointPort& ep : slice.ports) {
              if (!e.port.empty() ? ep.name == e.port : true) ports.push_back(Port(ep.port, ep.protocol));
            }
            if (!e.port.empty() && ports.empty()) continue;
            if (e.port.empty()) {
              ports.clear();
              if (!e.target_port.empty() && e.target_port.is_num()) {
                ports.push_back(Port(*e.target_port.num));
              } else if (e.target_port.empty()) {
                for (const ServicePort& sp : s.ports) {
                  if (sp.target_port.empty() || sp.target_port.is_num()) ports.push_back(Target(sp));
                }
                if (ports.empty()) continue;
              }
            }
            for (const std::string& a : slice.addresses) {
              out.push_back({Block(HostCidr(a)), ports, {}, sc.why + " (endpoints)"});
            }
          }
          continue;
        }
        sc.target = SelectedBy(s.ns, *s.selector);
        sc.targets = Backends(s);
        out.push_back(std::move(sc));
      }
    }
    return out;
  }

  std::vector<Scrape> ScrapesOf(const PodMonitor& m) const {
    std::vector<Scrape> out;
    std::vector<std::string> namespaces;
    for (const Namespace& n : out_.snapshot.namespaces) {
      if (InScope(m.namespaces, m.ns, n.name)) namespaces.push_back(n.name);
    }
    for (const PodMonitor::Endpoint& e : m.endpoints) {
      std::vector<PortSpec> ports;
      if (!e.port.empty()) {
        PortSpec p;
        p.name = e.port;
        ports.push_back(p);
      } else if (e.port_number) {
        ports.push_back(Port(*e.port_number));
      }
      for (const std::string& ns : namespaces) {
        Scrape sc;
        sc.why = "PodMonitor " + m.ns + "/" + m.name + " in " + ns;
        sc.target = SelectedBy(ns, m.selector.match_labels);
        sc.ports = ports;
        sc.targets = SelectedIn(ns, ToEval(m.selector));
        out.push_back(std::move(sc));
      }
    }
    return out;
  }

  void MakeIntents() {
    const auto& wls = out_.snapshot.workloads;
    std::map<size_t, WorkloadIntent> intents;
    for (size_t i : Actors()) {
      if (!Managed(i)) continue;
      WorkloadIntent& in = intents[i];
      in.id = ActorId(i);
      in.ns = wls[i].ns;
      in.selector = SelectorOf(i);
      in.ingress.push_back({PodsOf(i), {}, "own pods"});
      in.egress.push_back({PodsOf(i), {}, "own pods"});
      for (const PeerSelector& dns : out_.config.dns_peers) {
        PortSpec udp, tcp;
        udp.protocol = "UDP";
        udp.number = 53;
        tcp.number = 53;
        for (const PeerSpec& p : ConfigPeers(dns)) in.egress.push_back({p, {udp, tcp}, "DNS"});
      }
      // Scraped: the monitoring peers reach the scrape ports.
      if (std::vector<PortSpec> ports = ScrapePorts(wls[i]); !ports.empty()) {
        for (const PeerSelector& m : out_.config.monitoring_peers) {
          for (const PeerSpec& p : ConfigPeers(m)) in.ingress.push_back({p, ports, "monitoring"});
        }
      }
      // A monitoring workload reaches every scrape target, managed or not;
      // hostNetwork ones by the nodes' addresses (--node-cidrs).
      if (IsMonitoring(wls[i])) {
        for (size_t t = 0; t < wls.size(); ++t) {
          if (t == i || !IsActor(t)) continue;
          std::vector<PortSpec> ports = ScrapePorts(wls[t]);
          if (ports.empty()) continue;
          if (wls[t].host_network) {
            if (!out_.config.node_cidrs.empty()) {
              in.egress.push_back({Block(kNodeCidr), ports, "scrapes " + ActorId(t) + " (nodes)"});
            }
            continue;
          }
          in.egress.push_back({PodsOf(t), ports, "scrapes " + ActorId(t)});
        }
      }
      // Annotations.
      for (const AnnotationEntry& e : annotated_egress_[i]) {
        in.egress.push_back({e.peer, e.ports, "annotation " + e.text});
      }
      for (const AnnotationEntry& e : annotated_ingress_[i]) {
        in.ingress.push_back({e.peer, e.ports, "annotation " + e.text});
      }
      for (const Annotations* a : {&wls[i].annotations, &wls[i].template_annotations}) {
        if (CustomOf(i) && a == &wls[i].annotations) continue;
        auto it = a->find(std::string(kAllowApiServerAnnotation));
        if (it == a->end() || it->second != "true" || !api_server_known_) continue;
        in.egress.push_back(
            {Block(HostCidr(kApiServerIp)), {Port(kApiServerPort)}, "the API server"});
      }
    }
    // Client -> Service edges: egress of the client to the pods the Service
    // selects, ingress of every workload backing it; for a Service without
    // selector, egress to its endpoints' addresses.
    for (const Reference& r : refs_) {
      const Service& s = out_.snapshot.services[r.service];
      std::vector<bool> narrowed(s.ports.size(), false);
      for (size_t k = 0; k < s.ports.size(); ++k) {
        // A client of a headless Service reaches the pods themselves, so the
        // port it writes may also be a target port.
        const int written = r.port ? s.ports[*r.port].port : 0;
        narrowed[k] =
            !r.port || *r.port == k || (s.headless && s.ports[k].target_port.num == written);
      }
      const std::string why = ActorId(r.client) + " -> " + s.ns + "/" + s.name;
      if (!s.selector && s.type != "ExternalName") {
        if (!intents.contains(r.client)) continue;
        for (const EndpointSlice& slice : out_.snapshot.endpoint_slices) {
          if (slice.ns != s.ns || slice.service_name != s.name) continue;
          std::vector<PortSpec> ports;
          for (size_t k = 0; k < s.ports.size(); ++k) {
            if (!narrowed[k]) continue;
            for (const EndpointPort& ep : slice.ports) {
              if (ep.name == s.ports[k].name && ep.protocol == s.ports[k].protocol) {
                ports.push_back(Port(ep.port, ep.protocol));
              }
            }
          }
          for (const std::string& a : slice.addresses) {
            intents[r.client].egress.push_back({Block(HostCidr(a)), ports, why + " (endpoints)"});
          }
        }
        continue;
      }
      if (!s.selector) continue;  // ExternalName
      std::vector<PortSpec> ports;
      for (size_t k = 0; k < s.ports.size(); ++k) {
        if (narrowed[k]) ports.push_back(Target(s.ports[k]));
      }
      if (intents.contains(r.client)) {
        intents[r.client].egress.push_back({SelectedBy(s.ns, *s.selector), ports, why});
      }
      for (size_t b : Backends(s)) {
        if (intents.contains(b)) intents[b].ingress.push_back({PodsOf(r.client), ports, why});
      }
    }
    // Ingress controllers -> the routed Service port's target: those serving
    // the Ingress' class (rule 5).
    for (const IngressRoute& route : routes_) {
      const Service& s = out_.snapshot.services[route.service];
      const Ingress& ing = out_.snapshot.ingresses[route.ingress];
      std::vector<PortSpec> ports;
      for (const ServicePort& sp : s.ports) {
        if (route.port.is_num() ? *route.port.num == sp.port : route.port.str == sp.name) {
          ports.push_back(Target(sp));
        }
      }
      if (ports.empty()) continue;
      for (size_t b : Backends(s)) {
        if (!intents.contains(b)) continue;
        for (const PeerSelector* ic : ServingControllers(ing)) {
          for (const PeerSpec& p : ConfigPeers(*ic)) {
            intents[b].ingress.push_back({p, ports, "Ingress -> " + s.name});
          }
        }
      }
    }
    // The OpenShift router -> Services of Routes.
    for (const Route& route : out_.snapshot.routes) {
      for (const std::string& name : route.services) {
        const Service* s = FindService(route.ns, name);
        if (!s) continue;
        std::vector<PortSpec> ports;
        if (route.target_port.empty()) {
          for (const ServicePort& sp : s->ports) ports.push_back(Target(sp));
        } else if (route.target_port.is_num()) {
          // The pods' port; its protocol that of the Service port targeting it.
          PortSpec p = Port(*route.target_port.num);
          for (const ServicePort& sp : s->ports) {
            const PortSpec t = Target(sp);
            if (t.number && *t.number == *route.target_port.num) p.protocol = sp.protocol;
          }
          ports.push_back(p);
        } else {
          for (const ServicePort& sp : s->ports) {
            if (sp.name == route.target_port.str) ports.push_back(Target(sp));
          }
          if (ports.empty()) continue;
        }
        for (size_t b : Backends(*s)) {
          if (!intents.contains(b)) continue;
          for (const PeerSelector& r : out_.config.openshift_router_peers) {
            for (const PeerSpec& p : ConfigPeers(r)) {
              intents[b].ingress.push_back({p, ports, "Route " + route.name});
            }
          }
        }
      }
    }
    // Gateway API: the pods of each parent Gateway's implementation.
    for (const GatewayRoute& route : out_.snapshot.gateway_routes) {
      for (const GatewayRoute::Backend& be : route.backends) {
        const Service* s = FindService(be.ns, be.name);
        if (!s) continue;
        std::vector<PortSpec> ports;
        for (const ServicePort& sp : s->ports) {
          if (!be.port || sp.port == *be.port) ports.push_back(Target(sp));
        }
        if (ports.empty()) continue;
        for (const GatewayRoute::Parent& parent : route.parents) {
          for (const PeerSpec& p : GatewayPods(parent)) {
            for (size_t b : Backends(*s)) {
              if (intents.contains(b)) {
                intents[b].ingress.push_back({p, ports, route.kind + " " + route.name});
              }
            }
          }
        }
      }
    }
    // Anyone -> LoadBalancer and NodePort Services.
    for (const Service& s : out_.snapshot.services) {
      if (s.type != "LoadBalancer" && s.type != "NodePort") continue;
      std::vector<PortSpec> ports;
      for (const ServicePort& sp : s.ports) ports.push_back(Target(sp));
      for (size_t b : Backends(s)) {
        if (!intents.contains(b)) continue;
        intents[b].ingress.push_back(
            {{PeerSpec::Kind::kAnyone, "", {}, {}, ""}, ports, s.type + " " + s.name});
      }
    }
    // The API server -> webhook, aggregated-API and converter backends, on
    // the target port of the Service port it calls.
    std::vector<PeerSpec> api_server;
    if (!out_.config.api_server_cidrs.empty()) {
      api_server.push_back(Block(kApiServerCidr));
    } else if (api_server_known_) {
      api_server.push_back(Block(HostCidr(kApiServerIp)));
    }
    for (const ApiServerHook& h : out_.snapshot.api_server_hooks) {
      for (const ApiServerHook::Call& call : h.calls) {
        const Service* s = FindService(call.ns, call.service);
        if (!s) continue;
        std::vector<PortSpec> ports;
        for (const ServicePort& sp : s->ports) {
          if (sp.port == call.port) ports.push_back(Target(sp));
        }
        if (ports.empty()) continue;
        for (size_t b : Backends(*s)) {
          if (!intents.contains(b)) continue;
          for (const PeerSpec& p : api_server) intents[b].ingress.push_back({p, ports, "API server"});
        }
      }
    }
    MonitoringIntents(intents);
    for (auto& [i, in] : intents) out_.intents.push_back(std::move(in));
    // Default deny (DESIGN.md section 4): every pod of a managed namespace is
    // isolated, also those no workload policy covers. A namespace is managed
    // when it is neither excluded nor ignored; netpol-ctrl leaves it without
    // default-deny (and warns) when that would isolate a workload it does not
    // manage.
    if (!out_.config.default_deny) return;
    for (const Namespace& n : out_.snapshot.namespaces) {
      const auto& ex = out_.config.excluded_namespaces;
      if (std::find(ex.begin(), ex.end(), n.name) != ex.end() || NamespaceIgnored(n.name)) continue;
      bool unmanaged_workload = false;
      for (size_t a : Actors()) {
        const Workload& w = wls[a];
        unmanaged_workload =
            unmanaged_workload || (w.ns == n.name && !w.host_network && !Managed(a));
      }
      if (unmanaged_workload) continue;
      WorkloadIntent deny;
      deny.id = "default-deny/" + n.name;
      deny.ns = n.name;
      out_.intents.push_back(std::move(deny));
    }
  }

  const Service* FindService(const std::string& ns, const std::string& name) const {
    for (const Service& s : out_.snapshot.services) {
      if (s.ns == ns && s.name == name) return &s;
    }
    return nullptr;
  }

  // The ingress controllers serving an Ingress (rule 5): its class's (by the
  // IngressClass controller, else by legacy class name), the default
  // class's when it names none, every configured one when there is no
  // default either. A peer naming no controller or class serves every class.
  std::vector<const PeerSelector*> ServingControllers(const Ingress& ing) const {
    const auto& peers = out_.config.ingress_controller_peers;
    std::vector<const PeerSelector*> out;
    auto serve = [&](const std::string& controller, const std::string& cls) {
      for (const PeerSelector& p : peers) {
        const bool all = p.controllers.empty() && p.classes.empty();
        const bool c = !controller.empty() && std::find(p.controllers.begin(), p.controllers.end(),
                                                        controller) != p.controllers.end();
        const bool k = controller.empty() &&
                       std::find(p.classes.begin(), p.classes.end(), cls) != p.classes.end();
        if ((all || c || k) && std::find(out.begin(), out.end(), &p) == out.end()) {
          out.push_back(&p);
        }
      }
    };
    const std::string cls = !ing.ingress_class.empty() ? ing.ingress_class : ing.class_annotation;
    if (!cls.empty()) {
      for (const IngressClass& c : out_.snapshot.ingress_classes) {
        if (c.name == cls) {
          serve(c.controller, "");
          return out;
        }
      }
      serve("", cls);
      return out;
    }
    bool any_default = false;
    for (const IngressClass& c : out_.snapshot.ingress_classes) {
      if (!c.is_default) continue;
      any_default = true;
      serve(c.controller, "");
    }
    if (!any_default) {
      for (const PeerSelector& p : peers) out.push_back(&p);
    }
    return out;
  }

  // The pods of a Gateway's implementation (configured per controller).
  std::vector<PeerSpec> GatewayPods(const GatewayRoute::Parent& parent) const {
    std::vector<PeerSpec> out;
    const Gateway* g = nullptr;
    for (const Gateway& x : out_.snapshot.gateways) {
      if (x.ns == parent.ns && x.name == parent.name) g = &x;
    }
    if (!g) return out;
    std::string controller;
    for (const GatewayClass& c : out_.snapshot.gateway_classes) {
      if (c.name == g->gateway_class) controller = c.controller;
    }
    auto fill = [&](std::string v) {
      for (auto [from, to] : {std::pair<std::string, std::string>{"{name}", g->name},
                              {"{namespace}", g->ns}}) {
        for (size_t at = v.find(from); at != std::string::npos; at = v.find(from)) {
          v.replace(at, from.size(), to);
        }
      }
      return v;
    };
    for (const PeerSelector& peer : out_.config.gateway_peers) {
      if (std::find(peer.controllers.begin(), peer.controllers.end(), controller) ==
          peer.controllers.end()) {
        continue;
      }
      PeerSelector p = peer;
      for (auto& [k, v] : p.namespaces.match_labels) v = fill(v);
      for (auto& [k, v] : p.pods.match_labels) v = fill(v);
      for (const PeerSpec& s : ConfigPeers(p)) out.push_back(s);
    }
    return out;
  }

  // Rule 2: the Prometheus objects' scrapes (or the monitoring peers', when
  // there is no Prometheus object), and alerting.
  void MonitoringIntents(std::map<size_t, WorkloadIntent>& intents) {
    const auto& proms = out_.snapshot.prometheuses;
    auto add = [&](const std::vector<PeerSpec>& scrapers_peers,
                   const std::vector<size_t>& scrapers, const Scrape& sc) {
      for (size_t s : scrapers) {
        if (intents.contains(s)) intents[s].egress.push_back({sc.target, sc.ports, sc.why});
        for (size_t t : sc.targets) {
          const Workload& tw = out_.snapshot.workloads[t];
          if (!tw.host_network || out_.config.node_cidrs.empty() || !intents.contains(s)) continue;
          std::vector<PortSpec> numeric;
          for (const PortSpec& p : sc.ports) {
            if (p.number) numeric.push_back(p);
          }
          if (!numeric.empty() || sc.ports.empty()) {
            intents[s].egress.push_back({Block(kNodeCidr), numeric, sc.why + " (nodes)"});
          }
        }
      }
      for (size_t t : sc.targets) {
        if (!intents.contains(t)) continue;
        for (const PeerSpec& p : scrapers_peers) intents[t].ingress.push_back({p, sc.ports, sc.why});
      }
    };
    if (proms.empty()) {
      std::vector<size_t> scrapers;
      for (size_t a : Actors()) {
        if (IsMonitoring(out_.snapshot.workloads[a])) scrapers.push_back(a);
      }
      std::vector<PeerSpec> peers;
      for (const PeerSelector& m : out_.config.monitoring_peers) {
        for (const PeerSpec& p : ConfigPeers(m)) peers.push_back(p);
      }
      for (const ServiceMonitor& m : out_.snapshot.service_monitors) {
        for (const Scrape& sc : ScrapesOf(m)) add(peers, scrapers, sc);
      }
      for (const PodMonitor& m : out_.snapshot.pod_monitors) {
        for (const Scrape& sc : ScrapesOf(m)) add(peers, scrapers, sc);
      }
      return;
    }
    for (const Prometheus& p : proms) {
      const Labels pod_labels = {{"app.kubernetes.io/name", "prometheus"}, {"prometheus", p.name}};
      eval::Selector sel;
      sel.match_labels = pod_labels;
      std::vector<size_t> scrapers;
      for (size_t a : Actors()) {
        const Workload& w = out_.snapshot.workloads[a];
        if (w.ns == p.ns && !CustomOf(a) && sel.Matches(w.template_labels)) scrapers.push_back(a);
      }
      const std::vector<PeerSpec> peers = {SelectedBy(p.ns, pod_labels)};
      // The operator's Prometheus discovers its targets through the API server.
      for (size_t s : scrapers) {
        if (!intents.contains(s) || !api_server_known_) continue;
        intents[s].egress.push_back(
            {Block(HostCidr(kApiServerIp)), {Port(kApiServerPort)}, "Prometheus -> the API server"});
      }
      for (const ServiceMonitor& m : out_.snapshot.service_monitors) {
        if (!Selects(p, p.service_monitor_selector, p.service_monitor_namespace_selector, m.ns,
                     m.labels)) {
          continue;
        }
        for (const Scrape& sc : ScrapesOf(m)) add(peers, scrapers, sc);
      }
      for (const PodMonitor& m : out_.snapshot.pod_monitors) {
        if (!Selects(p, p.pod_monitor_selector, p.pod_monitor_namespace_selector, m.ns, m.labels)) {
          continue;
        }
        for (const Scrape& sc : ScrapesOf(m)) add(peers, scrapers, sc);
      }
      for (const Prometheus::Alertmanager& am : p.alertmanagers) {
        const Service* s = FindService(am.ns, am.service);
        if (!s || !s->selector) continue;
        Scrape sc;
        sc.why = "alerting -> " + am.service;
        for (const ServicePort& sp : s->ports) {
          if (am.port.empty() || (am.port.is_num() ? sp.port == *am.port.num : sp.name == am.port.str)) {
            sc.ports.push_back(Target(sp));
          }
        }
        if (sc.ports.empty()) continue;
        sc.target = SelectedBy(s->ns, *s->selector);
        sc.targets = Backends(*s);
        add(peers, scrapers, sc);
      }
    }
  }

  void MakeProbes() {
    // 53, the API server, both ends of the annotation range 8000-8100 and just
    // outside it, and every port the annotations write.
    std::set<int> ports = {53, kApiServerPort, 443, 5432, 7999, 8000, 8080, 8100, 8101, 9090};
    for (const EndpointSlice& e : out_.snapshot.endpoint_slices) {
      for (const EndpointPort& p : e.ports) ports.insert(p.port);
    }
    for (const PodPlan& p : pods_) {
      for (const eval::PodPort& pp : p.ports) ports.insert(pp.port);
    }
    for (const Workload& w : out_.snapshot.workloads) {
      auto it = w.template_annotations.find("prometheus.io/port");
      if (it != w.template_annotations.end()) ports.insert(std::stoi(it->second));
    }
    for (const Service& s : out_.snapshot.services) {
      for (const ServicePort& sp : s.ports) {
        ports.insert(sp.port);
        if (sp.target_port.is_num()) ports.insert(*sp.target_port.num);
      }
    }
    int unused = 0;
    do {
      unused = rng_.Int(20000, 29999);
    } while (ports.contains(unused));
    ports.insert(unused);
    for (int p : ports) {
      out_.probes.push_back({p, "TCP"});
      out_.probes.push_back({p, "UDP"});
    }
    out_.probes.push_back({*ports.begin(), "SCTP"});
  }

  Rng rng_;
  GeneratedCase out_;
  std::vector<std::string> app_namespaces_;
  std::vector<Reference> refs_;
  std::vector<IngressRoute> routes_;
  std::map<size_t, std::vector<AnnotationEntry>> annotated_egress_;   // by workload
  std::map<size_t, std::vector<AnnotationEntry>> annotated_ingress_;  // by workload
  std::vector<PodPlan> pods_;
  std::vector<Custom> customs_;
  std::map<size_t, size_t> holder_custom_;  // template holder -> custom
  std::set<size_t> explicit_pods_;          // workloads whose pods were planned apart
  std::set<size_t> listed_pods_;            // workloads whose pods the snapshot lists
  std::vector<Workload> extra_workloads_;   // ReplicaSets of listed Deployments
  std::optional<size_t> node_exporter_;
  bool gateways_namespace_ = false;
  bool api_server_known_ = false;
  int env_counter_ = 0;
  int cm_counter_ = 0;
};


// --- The intended matrix -----------------------------------------------------

// An address as 16 bytes (IPv4 mapped into ::ffff:0:0/96) and its family.
struct Address {
  std::array<unsigned char, 16> bytes{};
  bool v6 = false;
};

std::optional<Address> ParseAddress(const std::string& text) {
  Address a;
  unsigned char buf[16];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) {
    a.bytes[10] = a.bytes[11] = 0xff;
    std::memcpy(a.bytes.data() + 12, buf, 4);
    return a;
  }
  if (inet_pton(AF_INET6, text.c_str(), buf) == 1) {
    a.v6 = true;
    std::memcpy(a.bytes.data(), buf, 16);
    return a;
  }
  return std::nullopt;
}

// Whether `ip` lies in `cidr` ("a.b.c.d/n" or "x::/n"), same family only.
bool InCidr(const std::string& cidr, const std::string& ip) {
  const size_t slash = cidr.find('/');
  const std::optional<Address> net = ParseAddress(cidr.substr(0, slash));
  const std::optional<Address> addr = ParseAddress(ip);
  if (!net || !addr || net->v6 != addr->v6) return false;
  int bits = std::stoi(cidr.substr(slash + 1)) + (net->v6 ? 0 : 96);
  for (size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    const unsigned mask = bits >= 8 ? 0xffu : (0xffu << (8 - bits)) & 0xffu;
    if ((net->bytes[i] & mask) != (addr->bytes[i] & mask)) return false;
  }
  return true;
}

// `pod` is the peer pod, or nullptr for an external peer; `ip` is its address.
bool PeerMatches(const PeerSpec& peer, const std::map<std::string, eval::LabelMap>& namespaces,
                 const eval::Pod* pod, const std::string& ip) {
  switch (peer.kind) {
    case PeerSpec::Kind::kAnyone: return true;
    case PeerSpec::Kind::kIpBlock: return InCidr(peer.cidr, ip);
    case PeerSpec::Kind::kSelected:
      return pod != nullptr && pod->ns == peer.ns && peer.pods.Matches(pod->labels);
    case PeerSpec::Kind::kPeerSelector:
      return pod != nullptr && peer.namespaces.Matches(namespaces.at(pod->ns)) &&
             peer.pods.Matches(pod->labels);
  }
  return false;
}

eval::Cell PortCell(const std::vector<PortSpec>& ports, const eval::Pod* dst,
                    const eval::Probe& pr) {
  if (ports.empty()) return eval::Cell::kAllowed;
  eval::Cell best = eval::Cell::kDenied;
  for (const PortSpec& p : ports) {
    if (p.any) return eval::Cell::kAllowed;
    if (p.protocol != pr.protocol) continue;
    bool by_name = false;
    if (!p.name.empty() && dst != nullptr) {
      for (const eval::PodPort& cp : dst->ports) {
        by_name =
            by_name || (cp.name == p.name && cp.protocol == pr.protocol && cp.port == pr.port);
      }
    }
    const bool by_number =
        p.number && (p.end ? *p.number <= pr.port && pr.port <= *p.end : *p.number == pr.port);
    if (p.either) {
      if (by_name && by_number) return eval::Cell::kAllowed;
      if (by_name || by_number) best = eval::Cell::kEither;
    } else if ((p.name.empty() && by_number) || (!p.name.empty() && by_name)) {
      return eval::Cell::kAllowed;
    }
  }
  return best;
}

// What the intents governing `self` say about a flow with `peer` on `probe`;
// `dst` is the destination pod (for named ports).
eval::Cell SideCell(const std::vector<const WorkloadIntent*>& governing, bool egress,
                    const std::map<std::string, eval::LabelMap>& namespaces, const eval::Pod* peer,
                    const std::string& peer_ip, const eval::Pod* dst, const eval::Probe& probe) {
  if (governing.empty()) return eval::Cell::kAllowed;
  eval::Cell best = eval::Cell::kDenied;
  for (const WorkloadIntent* in : governing) {
    for (const IntentRule& r : egress ? in->egress : in->ingress) {
      if (!PeerMatches(r.peer, namespaces, peer, peer_ip)) continue;
      const eval::Cell c = PortCell(r.ports, dst, probe);
      if (c == eval::Cell::kAllowed) return c;
      if (c == eval::Cell::kEither) best = c;
    }
  }
  return best;
}

std::string SelectorString(const LabelSelector& s) {
  std::string out;
  for (const auto& [k, v] : s.match_labels) out += (out.empty() ? "" : ",") + k + "=" + v;
  for (const auto& r : s.match_expressions) {
    out += (out.empty() ? "" : ",") + r.key + " " + r.op;
    if (!r.values.empty()) {
      out += " (";
      for (size_t i = 0; i < r.values.size(); ++i) out += (i ? "," : "") + r.values[i];
      out += ")";
    }
  }
  return "{" + out + "}";
}

std::string LabelsString(const Labels& l) {
  std::string out;
  for (const auto& [k, v] : l) out += (out.empty() ? "" : ",") + k + "=" + v;
  return "{" + out + "}";
}

}  // namespace

eval::Selector ToEval(const LabelSelector& s) {
  eval::Selector out;
  out.match_labels = s.match_labels;
  for (const LabelSelectorRequirement& r : s.match_expressions) {
    out.match_expressions.push_back({r.key, r.op, r.values});
  }
  return out;
}

GeneratedCase Generate(uint64_t seed) {
  return Builder(seed).Build();
}

eval::Matrix IntendedMatrix(const GeneratedCase& c) {
  std::vector<eval::Endpoint> endpoints;
  std::vector<const eval::Pod*> pods;
  std::vector<std::string> ips;
  for (const eval::Pod& p : c.pods) {
    endpoints.push_back(eval::Endpoint::Pod(p.ns, p.name));
    // A hostNetwork pod is its node's address: no intent governs it, and as a
    // peer it is an address (only ipBlocks match it, no named port resolves).
    pods.push_back(p.host_network ? nullptr : &p);
    ips.push_back(p.ip);
  }
  for (const std::string& ip : c.external_ips) {
    endpoints.push_back(eval::Endpoint::External(ip));
    pods.push_back(nullptr);
    ips.push_back(ip);
  }
  std::map<std::string, eval::LabelMap> namespaces;
  for (const Namespace& n : c.namespaces) namespaces[n.name] = n.labels;

  std::vector<std::vector<const WorkloadIntent*>> governing(pods.size());
  for (size_t i = 0; i < pods.size(); ++i) {
    if (pods[i] == nullptr) continue;
    for (const WorkloadIntent& in : c.intents) {
      if (in.ns == pods[i]->ns && in.selector.Matches(pods[i]->labels)) governing[i].push_back(&in);
    }
  }
  eval::Matrix m(endpoints, c.probes);
  for (size_t s = 0; s < pods.size(); ++s) {
    for (size_t d = 0; d < pods.size(); ++d) {
      if (!m.Judged(s, d)) continue;
      for (size_t k = 0; k < c.probes.size(); ++k) {
        const eval::Cell out =
            SideCell(governing[s], true, namespaces, pods[d], ips[d], pods[d], c.probes[k]);
        if (out == eval::Cell::kDenied) continue;
        const eval::Cell in =
            SideCell(governing[d], false, namespaces, pods[s], ips[s], pods[d], c.probes[k]);
        if (in == eval::Cell::kDenied) continue;
        m.set(s, d, k,
              out == eval::Cell::kAllowed && in == eval::Cell::kAllowed ? eval::Cell::kAllowed
                                                                        : eval::Cell::kEither);
      }
    }
  }
  return m;
}

std::string Describe(const GeneratedCase& c) {
  std::string out = "seed " + std::to_string(c.seed) +
                    (c.config.default_deny ? " (default-deny on)" : "") + "\nnamespaces:\n";
  for (const Namespace& n : c.namespaces) {
    out += "  " + n.name + " " + LabelsString(n.labels);
    if (!n.annotations.empty()) out += " annotations " + LabelsString(n.annotations);
    out += "\n";
  }
  out += "workloads:\n";
  for (const Workload& w : c.snapshot.workloads) {
    out += "  " + w.key().ToString() + " selector " + SelectorString(w.pod_selector) +
           " template " + LabelsString(w.template_labels);
    if (w.has_controller) out += " (pod of another controller: no workload)";
    if (!w.annotations.empty()) out += " annotations " + LabelsString(w.annotations);
    if (!w.template_annotations.empty())
      out += " pod-annotations " + LabelsString(w.template_annotations);
    out += " ports";
    for (const Container& ct : w.containers) {
      for (const ContainerPort& p : ct.ports) {
        out +=
            " " + (p.name.empty() ? "" : p.name + ":") + std::to_string(p.port) + "/" + p.protocol;
      }
    }
    out += "\n";
  }
  out += "services:\n";
  for (const Service& s : c.snapshot.services) {
    out += "  " + s.ns + "/" + s.name + " " + s.type + (s.headless ? " headless" : "") +
           " selector " + (s.selector ? LabelsString(*s.selector) : "none") +
           (s.external_name.empty() ? "" : " externalName " + s.external_name) + " ports";
    for (const ServicePort& sp : s.ports) {
      out += " " + (sp.name.empty() ? "" : sp.name + ":") + std::to_string(sp.port) + "->" +
             (sp.target_port.empty() ? "same" : sp.target_port.ToString()) + "/" + sp.protocol;
    }
    out += "\n";
  }
  for (const EndpointSlice& e : c.snapshot.endpoint_slices) {
    out += "endpointslice " + e.ns + "/" + e.name + " of " + e.service_name + ":";
    for (const std::string& a : e.addresses) out += " " + a;
    out += " ports";
    for (const EndpointPort& p : e.ports) {
      out += " " + (p.name.empty() ? "" : p.name + ":") + std::to_string(p.port) + "/" + p.protocol;
    }
    out += "\n";
  }
  for (const Ingress& ing : c.snapshot.ingresses) {
    out += "ingress " + ing.ns + "/" + ing.name + ":";
    for (const IngressBackend& b : ing.backends)
      out += " " + b.service_name + ":" + b.service_port.ToString();
    out += "\n";
  }
  out += "references:\n";
  for (const std::string& r : c.references) out += "  " + r + "\n";
  out += "pods:\n";
  for (const eval::Pod& p : c.pods) {
    out += "  " + p.ns + "/" + p.name + " " + p.ip + " " + LabelsString(p.labels) + "\n";
  }
  return out;
}

}  // namespace npc::property
