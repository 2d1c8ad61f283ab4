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
};

class Builder {
 public:
  explicit Builder(uint64_t seed) : rng_(seed) { out_.seed = seed; }

  GeneratedCase Build() {
    out_.config = SynthesisConfig::Defaults();
    out_.config.default_deny = rng_.Chance(0.3);
    SystemParts();
    const int n_ns = rng_.Int(1, 3);
    for (int i = 0; i < n_ns; ++i) {
      std::string ns = "ns" + std::to_string(i);
      Labels labels;
      if (rng_.Chance(0.6)) labels["team"] = rng_.Chance(0.5) ? "a" : "b";
      Annotations annotations;
      if (rng_.Chance(0.08)) annotations[std::string(kIgnoreAnnotation)] = "true";
      AddNamespace(ns, labels, annotations);
      app_namespaces_.push_back(ns);
    }
    for (const std::string& ns : app_namespaces_) {
      const int n = rng_.Int(2, 5);
      for (int i = 0; i < n; ++i) AppWorkload(ns, i);
    }
    for (const std::string& ns : app_namespaces_) {
      const int n = rng_.Int(1, 4);
      for (int i = 0; i < n; ++i) AppService(ns, i);
    }
    for (size_t w = 0; w < out_.snapshot.workloads.size(); ++w) {
      if (!IsApp(out_.snapshot.workloads[w].ns)) continue;
      const int n = rng_.Int(0, 3);
      for (int i = 0; i < n; ++i) AddReference(w, i);
      if (rng_.Chance(0.1)) AddNoise(w);
    }
    for (const std::string& ns : app_namespaces_) {
      if (rng_.Chance(0.5)) AddIngress(ns);
    }
    for (size_t w = 0; w < out_.snapshot.workloads.size(); ++w) {
      if (IsApp(out_.snapshot.workloads[w].ns)) AddAnnotations(w);
    }
    if (rng_.Chance(0.7)) {
      EndpointSlice api{"default", "kubernetes",   "kubernetes",
                        "IPv4",    {kApiServerIp}, {{"https", kApiServerPort, "TCP"}}};
      out_.snapshot.endpoint_slices.push_back(std::move(api));
      api_server_known_ = true;
    }
    // Pods of a controller netpol-ctrl does not know (an operator's custom
    // resource): never workloads, governed by no workload policy.
    for (const std::string& ns : app_namespaces_) {
      if (!rng_.Chance(0.3)) continue;
      Workload& w = NewWorkload(WorkloadKind::kPod, ns, "stray-" + ns, {{"role", "stray"}});
      w.has_controller = true;
      w.containers.push_back({"main", false, {}, {}, {}, {}, {{"http", 8080, "TCP"}}});
    }
    MakePods();
    MakeIntents();
    MakeProbes();
    out_.external_ips = {kExternalV4, kExternalV6, kApiServerIp, kLegacyIp};
    return std::move(out_);
  }

 private:
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

  // DNS in kube-system (excluded), an ingress controller (named in the
  // configuration), and Prometheus (the default monitoring peer, managed).
  void SystemParts() {
    AddNamespace("kube-system", {}, {});
    AddNamespace("ingress-nginx", {}, {});
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
    Workload& prom = NewWorkload(WorkloadKind::kDeployment, "monitoring", "prometheus",
                                 {{"app.kubernetes.io/name", "prometheus"}});
    prom.containers.push_back({"prometheus", false, {}, {}, {}, {}, {{"web", 9090, "TCP"}}});
    if (rng_.Chance(0.5)) prom.annotations[std::string(kAllowApiServerAnnotation)] = "true";
    const size_t prom_index = out_.snapshot.workloads.size() - 1;
    // node-exporter on the nodes' network, scraped: no pod selector reaches
    // it; the node CIDR in allow-egress does (netpol-ctrl's warning says so).
    if (rng_.Chance(0.5)) {
      Workload& ne = NewWorkload(WorkloadKind::kDaemonSet, "monitoring", "node-exporter",
                                 {{"app", "node-exporter"}});
      ne.host_network = true;
      ne.template_annotations = {{"prometheus.io/scrape", "true"}, {"prometheus.io/port", "9100"}};
      ne.containers.push_back({"node-exporter", false, {}, {}, {}, {}, {{"metrics", 9100, "TCP"}}});
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

    // Container ports: names and numbers drawn independently, so the same
    // name means different numbers in different workloads.
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

  void AppService(const std::string& ns, int index) {
    static const std::vector<std::string> kNames = {"frontend", "backend", "store",   "redis",
                                                    "pg",       "kafka",   "gateway", "billing"};
    Service s;
    s.ns = ns;
    s.name = kNames[static_cast<size_t>(index) % kNames.size()];
    std::vector<size_t> in_ns;
    for (size_t i = 0; i < out_.snapshot.workloads.size(); ++i) {
      if (out_.snapshot.workloads[i].ns == ns) in_ns.push_back(i);
    }
    const Workload* target = nullptr;
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
      target = &out_.snapshot.workloads[rng_.Pick(in_ns)];
      std::vector<std::pair<std::string, std::string>> kv(target->template_labels.begin(),
                                                          target->template_labels.end());
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

  Container& MainContainer(size_t w) { return out_.snapshot.workloads[w].containers[0]; }

  std::string NewEnvName() { return "REF_" + std::to_string(++env_counter_); }

  ConfigMap& NewConfigMap(const std::string& ns) {
    ConfigMap cm;
    cm.ns = ns;
    cm.name = "cm-" + std::to_string(++cm_counter_);
    out_.snapshot.config_maps.push_back(std::move(cm));
    return out_.snapshot.config_maps.back();
  }

  void Record(size_t client, size_t service, std::optional<size_t> port, const std::string& how) {
    refs_.push_back({client, service, port});
    out_.references.push_back(out_.snapshot.workloads[client].key().ToString() + " " + how);
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
    const int place = rng_.Int(0, 8);
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
    out_.references.push_back(client.key().ToString() + " env (names nothing) " + v);
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
      (rng_.Chance(0.5) ? wl.annotations : wl.template_annotations)[std::string(key)] = value;
      out_.references.push_back(wl.key().ToString() + " annotation " + std::string(key) + "=" +
                                value);
    };
    if (rng_.Chance(0.2)) annotate(kAllowEgressAnnotation, egress, &annotated_egress_[w]);
    if (rng_.Chance(0.2)) annotate(kAllowIngressFromAnnotation, ingress, &annotated_ingress_[w]);
    if (rng_.Chance(0.1)) {
      const bool on = rng_.Chance(0.8);
      (rng_.Chance(0.5) ? wl.annotations
                        : wl.template_annotations)[std::string(kAllowApiServerAnnotation)] =
          on ? "true" : "false";
      out_.references.push_back(wl.key().ToString() + " annotation " +
                                std::string(kAllowApiServerAnnotation) + "=" +
                                (on ? "true" : "false"));
    }
  }

  void AddIngress(const std::string& ns) {
    Ingress ing;
    ing.ns = ns;
    ing.name = "ing-" + ns;
    ing.ingress_class = "nginx";
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
      routes_.push_back({si, b.service_port});
    }
    out_.snapshot.ingresses.push_back(std::move(ing));
  }

  void MakePods() {
    int counter = 0;
    for (const Workload& w : out_.snapshot.workloads) {
      int n = w.kind == WorkloadKind::kPod ? 1 : rng_.Int(1, 2);
      if (w.ns == "kube-system") n = 2;
      for (int i = 0; i < n; ++i) {
        eval::Pod p;
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
          for (const ContainerPort& cp : c.ports)
            p.ports.push_back({cp.name, cp.port, cp.protocol});
        }
        p.ip = "10.244." + std::to_string(counter / 250) + "." + std::to_string(counter % 250 + 1);
        if (w.host_network) {
          p.host_network = true;
          p.ip = "172.18.0." + std::to_string(counter % 250 + 1);
        }
        ++counter;
        out_.pods.push_back(std::move(p));
      }
    }
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

  bool Managed(const Workload& w) const {
    if (w.has_controller || w.host_network || NamespaceIgnored(w.ns)) return false;
    if (!IsApp(w.ns) && w.ns != "monitoring") return false;
    auto it = w.annotations.find(std::string(kIgnoreAnnotation));
    return it == w.annotations.end() || it->second != "true";
  }

  // Backends: the workloads (never pods of another controller) whose template
  // the Service's selector matches.
  std::vector<size_t> Backends(const Service& s) const {
    std::vector<size_t> out;
    if (!s.selector) return out;
    eval::Selector sel;
    sel.match_labels = *s.selector;
    for (size_t i = 0; i < out_.snapshot.workloads.size(); ++i) {
      const Workload& w = out_.snapshot.workloads[i];
      if (!w.has_controller && w.ns == s.ns && sel.Matches(w.template_labels)) out.push_back(i);
    }
    return out;
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

  PeerSpec PodsOf(size_t w) const {
    const Workload& wl = out_.snapshot.workloads[w];
    return {PeerSpec::Kind::kSelected, wl.ns, {}, ToEval(wl.pod_selector), ""};
  }

  static PeerSpec FromConfig(const PeerSelector& p) {
    return {PeerSpec::Kind::kPeerSelector, "", ToEval(p.namespaces), ToEval(p.pods), ""};
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

  void MakeIntents() {
    const auto& wls = out_.snapshot.workloads;
    std::map<size_t, WorkloadIntent> intents;
    for (size_t i = 0; i < wls.size(); ++i) {
      if (!Managed(wls[i])) continue;
      WorkloadIntent& in = intents[i];
      in.id = wls[i].key().ToString();
      in.ns = wls[i].ns;
      in.selector = ToEval(wls[i].pod_selector);
      in.ingress.push_back({PodsOf(i), {}, "own pods"});
      in.egress.push_back({PodsOf(i), {}, "own pods"});
      for (const PeerSelector& dns : out_.config.dns_peers) {
        PortSpec udp, tcp;
        udp.protocol = "UDP";
        udp.number = 53;
        tcp.number = 53;
        in.egress.push_back({FromConfig(dns), {udp, tcp}, "DNS"});
      }
      // Scraped: the monitoring peers reach the scrape ports.
      if (std::vector<PortSpec> ports = ScrapePorts(wls[i]); !ports.empty()) {
        for (const PeerSelector& m : out_.config.monitoring_peers) {
          in.ingress.push_back({FromConfig(m), ports, "monitoring"});
        }
      }
      // A monitoring workload reaches every scrape target, managed or not;
      // not hostNetwork ones, which no pod selector can match.
      if (IsMonitoring(wls[i])) {
        for (size_t t = 0; t < wls.size(); ++t) {
          if (t == i || wls[t].has_controller || wls[t].host_network) continue;
          if (std::vector<PortSpec> ports = ScrapePorts(wls[t]); !ports.empty()) {
            in.egress.push_back({PodsOf(t), ports, "scrapes " + wls[t].key().ToString()});
          }
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
        auto it = a->find(std::string(kAllowApiServerAnnotation));
        if (it == a->end() || it->second != "true" || !api_server_known_) continue;
        in.egress.push_back(
            {Block(HostCidr(kApiServerIp)), {Port(kApiServerPort)}, "the API server"});
      }
    }
    // Client -> Service edges: egress of the client, ingress of the backends;
    // for a Service without selector, egress to its endpoints' addresses.
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
      const std::string why = wls[r.client].key().ToString() + " -> " + s.ns + "/" + s.name;
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
      std::vector<PortSpec> ports;
      for (size_t k = 0; k < s.ports.size(); ++k) {
        if (narrowed[k]) ports.push_back(Target(s.ports[k]));
      }
      for (size_t b : Backends(s)) {
        if (intents.contains(r.client)) intents[r.client].egress.push_back({PodsOf(b), ports, why});
        if (intents.contains(b)) intents[b].ingress.push_back({PodsOf(r.client), ports, why});
      }
    }
    // Ingress controllers -> the routed Service port's target.
    for (const IngressRoute& route : routes_) {
      const Service& s = out_.snapshot.services[route.service];
      std::vector<PortSpec> ports;
      for (const ServicePort& sp : s.ports) {
        if (route.port.is_num() ? *route.port.num == sp.port : route.port.str == sp.name) {
          ports.push_back(Target(sp));
        }
      }
      if (ports.empty()) continue;
      for (size_t b : Backends(s)) {
        if (!intents.contains(b)) continue;
        for (const PeerSelector& ic : out_.config.ingress_controller_peers) {
          intents[b].ingress.push_back({FromConfig(ic), ports, "Ingress -> " + s.name});
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
      for (const Workload& w : wls) {
        unmanaged_workload = unmanaged_workload || (w.ns == n.name && !w.has_controller &&
                                                    !w.host_network && !Managed(w));
      }
      if (unmanaged_workload) continue;
      WorkloadIntent deny;
      deny.id = "default-deny/" + n.name;
      deny.ns = n.name;
      out_.intents.push_back(std::move(deny));
    }
  }

  void MakeProbes() {
    // 53, the API server, both ends of the annotation range 8000-8100 and just
    // outside it, and every port the annotations write.
    std::set<int> ports = {53, kApiServerPort, 443, 5432, 7999, 8000, 8080, 8100, 8101, 9090};
    for (const EndpointSlice& e : out_.snapshot.endpoint_slices) {
      for (const EndpointPort& p : e.ports) ports.insert(p.port);
    }
    for (const Workload& w : out_.snapshot.workloads) {
      for (const Container& c : w.containers) {
        for (const ContainerPort& p : c.ports) ports.insert(p.port);
      }
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
