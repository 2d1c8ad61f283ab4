#include "cli/command.h"

#include <algorithm>
#include <istream>
#include <ostream>

#include "clusterread/clusterread.h"
#include "kube/config.h"
#include "cli/flags.h"
#include "manifest/manifest.h"
#include "synth/annotations.h"
#include "synth/namespaces.h"
#include "synth/synth.h"

namespace npc::cli {

void InputFlags::Register(CLI::App& cmd, bool required) {
  CLI::Option* f = cmd.add_option("-f,--filename", files,
                                   "Manifests to read: a file, a directory (recursively: *.yaml, "
                                   "*.yml, *.json) or - for standard input; repeatable")
                       ->allow_extra_args(false)  // one PATH per -f, so a WORKLOAD can follow
                       ->type_name("PATH");
  if (required) f->required();
  cmd.add_option("-n,--namespace", default_namespace, "Namespace of objects that do not name one")
      ->capture_default_str();
  cmd.add_flag("--skip-invalid", skip_invalid,
               "Go on (exit 0) when some input documents are invalid; they are left out");
}

std::optional<Snapshot> LoadInputs(const InputFlags& flags, Io& io) {
  manifest::LoadOptions options;
  options.default_namespace = flags.default_namespace;
  manifest::Loader loader(options);
  for (const std::string& path : flags.files) {
    if (path == "-") {
      loader.AddStream(io.in, "<stdin>");
      continue;
    }
    if (Status s = loader.AddPath(path); !s.ok()) {
      io.err << "error: " << s.message() << "\n";
      return std::nullopt;
    }
  }
  manifest::LoadResult result = std::move(loader).Finish();
  int errors = 0;
  for (const manifest::Diagnostic& d : result.diagnostics) {
    io.err << d.ToString() << "\n";
    if (d.severity == manifest::Diagnostic::Severity::kError) ++errors;
  }
  if (errors > 0 && !flags.skip_invalid) {
    io.err << "error: " << errors << " invalid input document" << (errors == 1 ? "" : "s")
           << "; fix " << (errors == 1 ? "it" : "them")
           << " or pass --skip-invalid to leave them out\n";
    return std::nullopt;
  }
  return std::move(result.snapshot);
}

void ClusterFlags::Register(CLI::App& cmd) {
  cmd.add_option("--kubeconfig", kubeconfig,
                 "Path to a kubeconfig (default: $KUBECONFIG, then in-cluster, then "
                 "~/.kube/config)");
  cmd.add_option("--context", context, "The kubeconfig context to use");
  cmd.add_option("--read-configmaps", read_config_maps,
                 "Read the ConfigMaps workloads use, as run does (needs list on configmaps)")
      ->capture_default_str();
}

std::optional<ClusterInput> ReadCluster(const ClusterFlags& flags, const SynthesisConfig& config,
                                        Io& io) {
  kube::ConfigOptions co;
  co.kubeconfig = flags.kubeconfig;
  co.context = flags.context;
  StatusOr<kube::RestConfig> rc = kube::ResolveConfig(co);
  if (!rc.ok()) {
    io.err << "error: " << rc.status().message() << "\n";
    return std::nullopt;
  }
  StatusOr<std::unique_ptr<kube::Client>> client = kube::MakeClient(*rc);
  if (!client.ok()) {
    io.err << "error: " << client.status().message() << "\n";
    return std::nullopt;
  }
  clusterread::Options ro;
  ro.read_config_maps = flags.read_config_maps;
  ro.read_secrets = config.read_secrets;
  StatusOr<clusterread::Cluster> c = clusterread::Read(**client, ro);
  if (!c.ok()) {
    io.err << "error: " << rc->server << ": " << c.status().message() << "\n";
    return std::nullopt;
  }
  if (!c->not_served.empty()) {
    io.err << "info: not served by this cluster, skipped:";
    for (const std::string& g : c->not_served) io.err << " " << g;
    io.err << "\n";
  }
  if (!c->invalid.empty()) {
    for (const std::string& why : c->invalid) io.err << "error: " << why << "\n";
    // Its workload would look gone, and its policy deleted: say nothing rather than that.
    io.err << "error: " << c->invalid.size() << " object" << (c->invalid.size() == 1 ? "" : "s")
           << " in the cluster could not be read\n";
    return std::nullopt;
  }
  return ClusterInput{std::move(c->snapshot), std::move(c->managed)};
}

void PrintNamespaceWarnings(const Snapshot& snapshot, const SynthesisConfig& config, Io& io) {
  std::vector<const Namespace*> ns;
  for (const Namespace& n : snapshot.namespaces) ns.push_back(&n);
  std::sort(ns.begin(), ns.end(),
            [](const Namespace* a, const Namespace* b) { return a->name < b->name; });
  for (const Namespace* n : ns) {
    const synth::NamespaceDecision d = synth::DecideNamespace(n->name, n, config);
    if (!d.warning.empty()) io.err << "warning: " << d.warning << "\n";
  }
}

std::optional<Offline> LoadAndSynthesize(const InputFlags& input, const ConfigFlags& config,
                                         Io& io, int* exit_code) {
  StatusOr<SynthesisConfig> c = config.ToConfig();
  if (!c.ok()) {
    io.err << "error: " << c.status().message() << "\n";
    *exit_code = kExitUsage;
    return std::nullopt;
  }
  std::optional<Snapshot> snapshot = LoadInputs(input, io);
  if (!snapshot) {
    *exit_code = kExitInvalidInput;
    return std::nullopt;
  }
  Offline out{*std::move(c), *std::move(snapshot), {}};
  config.ApplyObservedFlowsTtl(out.snapshot, std::nullopt, out.config);
  out.result = synth::Synthesize(out.snapshot, out.config);
  return out;
}

void ConfigFlags::Register(CLI::App& cmd) {
  cmd.add_option("--cluster-domain", cluster_domain, "DNS domain of the cluster")
      ->capture_default_str();
  cmd.add_option("--exclude-namespaces", exclude_namespaces,
                 "Namespaces that get no policies (replaces the default: kube-system, "
                 "kube-public, kube-node-lease)")
      ->delimiter(',')
      ->allow_extra_args(false)
      ->type_name("NS,...");
  cmd.add_option("--ingress-controller-mode", ingress_controller_mode,
                 "Let ingress controllers reach only workloads an Ingress routes to "
                 "(exposed), or every workload (all)")
      ->check(CLI::IsMember({"exposed", "all"}))
      ->capture_default_str();
  cmd.add_option("--dns-peer", dns_peers,
                 "DNS servers: NAMESPACE/label=value[,label=value], a CIDR list "
                 "(169.254.20.10/32 for NodeLocal DNSCache) or nodes; repeatable; replaces the "
                 "default kube-system/k8s-app=kube-dns")
      ->allow_extra_args(false)
      ->type_name("PEER");
  cmd.add_option("--monitoring-peer", monitoring_peers,
                 "Who scrapes prometheus.io/scrape workloads, and ServiceMonitor/PodMonitor "
                 "targets when no Prometheus object exists; same syntax; replaces the default "
                 "monitoring/app.kubernetes.io/name=prometheus")
      ->allow_extra_args(false)
      ->type_name("PEER");
  cmd.add_option("--ingress-controller-peer", ingress_controller_peers,
                 "Ingress controller pods, same syntax, then ;controller=C (IngressClass "
                 "spec.controller) and ;class=NAME (legacy class names) it serves (neither: "
                 "every class); repeatable; replaces the defaults (ingress-nginx, traefik, "
                 "contour, haproxy, istio)")
      ->allow_extra_args(false)
      ->type_name("PEER");
  cmd.add_option("--openshift-router-peer", openshift_router_peers,
                 "The OpenShift router, same syntax; replaces the default "
                 "openshift-ingress/ingresscontroller.operator.openshift.io/"
                 "deployment-ingresscontroller")
      ->allow_extra_args(false)
      ->type_name("PEER");
  cmd.add_option("--gateway-peer", gateway_peers,
                 "A Gateway API implementation: PEER;controller=CONTROLLER_NAME, where PEER may "
                 "use {name} and {namespace} of the Gateway (e.g. {namespace}/"
                 "gateway.networking.k8s.io/gateway-name={name}); repeatable; replaces the "
                 "defaults (Envoy Gateway, Istio, NGINX Gateway Fabric, Cilium)")
      ->allow_extra_args(false)
      ->type_name("PEER");
  cmd.add_option("--api-server-cidrs", api_server_cidrs,
                 "Where the API server calls webhooks and aggregated APIs from (default: the "
                 "addresses of the EndpointSlices of default/kubernetes)")
      ->delimiter(',')
      ->allow_extra_args(false)
      ->type_name("CIDR,...");
  cmd.add_option("--node-cidrs", node_cidrs,
                 "The nodes' addresses: hostNetwork pods (ingress controllers, backends, scrape "
                 "targets) send and receive from them")
      ->delimiter(',')
      ->allow_extra_args(false)
      ->type_name("CIDR,...");
  cmd.add_flag("--read-secrets", read_secrets,
               "Scan the Secrets templates use (secretKeyRef, envFrom, volumes) for host names, "
               "keeping only the names (needs list/watch on secrets in a cluster)");
  cmd.add_flag("--default-deny", default_deny,
               "Also write one deny-all policy per managed namespace");
  cmd.add_option("--namespace-selector", namespace_selector,
                 "Manage only namespaces whose labels match this selector (kubectl syntax: "
                 "team=shop,env!=dev,tier in (a,b),!legacy); the namespace label "
                 "netpol-ctrl.io/mode=audit|enforce|off overrides the mode per namespace")
      ->type_name("SELECTOR");
  cmd.add_option("--observed-flows", observed_flows,
                 "What flows the node agents observed (ObservedFlows objects) do: off; report "
                 "those the policies would deny (WouldDeny); allow in-cluster ones as edges")
      ->check(CLI::IsMember({"off", "report", "allow"}))
      ->capture_default_str();
  cmd.add_option("--observed-flows-ttl", observed_flows_ttl,
                 "With allow: drop an observed edge unseen this long (Go duration)")
      ->check([](const std::string& v) {
        const auto d = ParseDuration(v);
        return d && d->count() > 0 ? "" : "not a positive duration (e.g. 168h, 24h): " + v;
      })
      ->capture_default_str();
  cmd.add_flag("--allow-observed-external", allow_observed_external,
               "With allow: also allow observed addresses outside the cluster (a /32 or /128 "
               "ipBlock on the observed port); otherwise they are only reported");
}

std::chrono::milliseconds ConfigFlags::ObservedFlowsTtl() const {
  return ParseDuration(observed_flows_ttl).value_or(std::chrono::hours(168));
}

void ConfigFlags::ApplyObservedFlowsTtl(const Snapshot& snapshot, std::optional<int64_t> now,
                                        SynthesisConfig& config) const {
  int64_t at = 0;
  if (now) {
    at = *now;
  } else {
    for (const ObservedFlow& f : snapshot.observed_flows) at = std::max(at, f.last_seen);
  }
  if (at == 0) return;
  config.observed_not_before =
      at - std::chrono::duration_cast<std::chrono::seconds>(ObservedFlowsTtl()).count();
}

StatusOr<PeerSelector> ParsePeer(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument("peer \"" + text + "\": " + why);
  };
  PeerSelector peer;
  // Options after ';'.
  std::vector<std::string> parts;
  for (size_t pos = 0;;) {
    const size_t semi = text.find(';', pos);
    parts.push_back(text.substr(pos, semi == std::string::npos ? semi : semi - pos));
    if (semi == std::string::npos) break;
    pos = semi + 1;
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    const size_t eq = parts[i].find('=');
    const std::string key = parts[i].substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : parts[i].substr(eq + 1);
    if (value.empty() || (key != "controller" && key != "class")) {
      return bad("\"" + parts[i] + "\" is not controller=VALUE or class=VALUE");
    }
    (key == "controller" ? peer.controllers : peer.classes).push_back(value);
  }
  const std::string& what = parts[0];
  if (what == "any") {
    peer.any = true;
    return peer;
  }
  if (what == "nodes") {
    peer.nodes = true;
    return peer;
  }
  // A list of CIDRs?
  {
    std::vector<std::string> cidrs;
    bool all = !what.empty();
    for (size_t pos = 0; all;) {
      const size_t comma = what.find(',', pos);
      const std::string item = what.substr(pos, comma == std::string::npos ? comma : comma - pos);
      std::optional<std::string> c = synth::CanonicalCidr(item);
      if (!c) {
        all = false;
        break;
      }
      cidrs.push_back(*c);
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    if (all) {
      peer.cidrs = std::move(cidrs);
      return peer;
    }
  }
  const size_t slash = what.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 >= what.size()) {
    return bad(
        "expected NAMESPACE/label=value[,label=value...], CIDR[,CIDR...], nodes or any "
        "(then ;controller=... or ;class=...)");
  }
  const std::string ns = what.substr(0, slash);
  if (ns != "*") peer.namespaces.match_labels[std::string(kNamespaceNameLabel)] = ns;
  const std::string rest = what.substr(slash + 1);
  size_t pos = 0;
  while (pos <= rest.size()) {
    size_t comma = rest.find_first_of(",&", pos);
    if (comma == std::string::npos) comma = rest.size();
    const std::string item = rest.substr(pos, comma - pos);
    const size_t eq = item.find('=');
    if (item.empty() || eq == 0) return bad("\"" + item + "\" is not label=value or label");
    if (eq == std::string::npos) {
      peer.pods.match_expressions.push_back({item, "Exists", {}});
    } else {
      peer.pods.match_labels[item.substr(0, eq)] = item.substr(eq + 1);
    }
    pos = comma + 1;
  }
  return peer;
}

std::string PeerString(const PeerSelector& peer) {
  std::string s;
  if (peer.any) {
    s = "any";
  } else if (peer.nodes) {
    s = "nodes";
  } else if (!peer.cidrs.empty()) {
    for (const std::string& c : peer.cidrs) s += (s.empty() ? "" : ",") + c;
  } else {
    auto ns = peer.namespaces.match_labels.find(std::string(kNamespaceNameLabel));
    s = ns == peer.namespaces.match_labels.end() ? "*" : ns->second;
    s += "/";
    std::string labels;
    for (const auto& [k, v] : peer.pods.match_labels) labels += (labels.empty() ? "" : ",") + k + "=" + v;
    for (const auto& r : peer.pods.match_expressions) {
      if (r.op == "Exists") labels += (labels.empty() ? "" : ",") + r.key;
    }
    s += labels;
  }
  for (const std::string& c : peer.controllers) s += ";controller=" + c;
  for (const std::string& c : peer.classes) s += ";class=" + c;
  return s;
}

StatusOr<SynthesisConfig> ConfigFlags::ToConfig() const {
  SynthesisConfig c = SynthesisConfig::Defaults();
  if (cluster_domain.empty()) return InvalidArgument("--cluster-domain must not be empty");
  c.cluster_domain = cluster_domain;
  if (!exclude_namespaces.empty()) c.excluded_namespaces = exclude_namespaces;
  c.ingress_controller_mode = ingress_controller_mode == "all" ? IngressControllerMode::kAll
                                                               : IngressControllerMode::kExposed;
  auto peers = [](const std::vector<std::string>& flags, const char* flag,
                  std::vector<PeerSelector>& into) -> Status {
    if (flags.empty()) return Status::Ok();
    into.clear();
    for (const std::string& f : flags) {
      StatusOr<PeerSelector> p = ParsePeer(f);
      if (!p.ok()) return p.status().WithContext(flag);
      into.push_back(*p);
    }
    return Status::Ok();
  };
  NPC_RETURN_IF_ERROR(peers(dns_peers, "--dns-peer", c.dns_peers));
  NPC_RETURN_IF_ERROR(peers(monitoring_peers, "--monitoring-peer", c.monitoring_peers));
  NPC_RETURN_IF_ERROR(
      peers(ingress_controller_peers, "--ingress-controller-peer", c.ingress_controller_peers));
  NPC_RETURN_IF_ERROR(
      peers(openshift_router_peers, "--openshift-router-peer", c.openshift_router_peers));
  NPC_RETURN_IF_ERROR(peers(gateway_peers, "--gateway-peer", c.gateway_peers));
  for (const PeerSelector& g : c.gateway_peers) {
    if (g.controllers.empty()) {
      return InvalidArgument("--gateway-peer: \"" + PeerString(g) +
                             "\" names no controller; add ;controller=CONTROLLER_NAME "
                             "(the GatewayClass spec.controllerName it implements)");
    }
  }
  auto cidrs = [](const std::vector<std::string>& in, const char* flag,
                  std::vector<std::string>& out) -> Status {
    out.clear();
    for (const std::string& text : in) {
      std::optional<std::string> cidr = synth::CanonicalCidr(text);
      if (!cidr) return InvalidArgument(std::string(flag) + ": \"" + text + "\" is not a CIDR");
      out.push_back(*cidr);
    }
    return Status::Ok();
  };
  NPC_RETURN_IF_ERROR(cidrs(api_server_cidrs, "--api-server-cidrs", c.api_server_cidrs));
  NPC_RETURN_IF_ERROR(cidrs(node_cidrs, "--node-cidrs", c.node_cidrs));
  c.read_secrets = read_secrets;
  c.default_deny = default_deny;
  if (!namespace_selector.empty()) {
    StatusOr<LabelSelector> sel = synth::ParseLabelSelector(namespace_selector);
    if (!sel.ok()) return sel.status().WithContext("--namespace-selector");
    c.namespace_selector = *std::move(sel);
  }
  c.observed_flows = ParseObservedFlowsMode(observed_flows).value_or(ObservedFlowsMode::kReport);
  c.allow_observed_external = allow_observed_external;
  return c;
}

std::string SelectorString(const LabelSelector& selector) {
  return selector.empty() ? "{}" : synth::DescribeSelector(selector);
}

}  // namespace npc::cli
