#include "cli/command.h"

#include <algorithm>
#include <istream>
#include <ostream>

#include "manifest/manifest.h"

namespace npc::cli {

void InputFlags::Register(CLI::App& cmd) {
  cmd.add_option("-f,--filename", files,
                 "Manifests to read: a file, a directory (recursively: *.yaml, *.yml, "
                 "*.json) or - for standard input; repeatable")
      ->required()
      ->allow_extra_args(false)  // one PATH per -f, so a WORKLOAD can follow
      ->type_name("PATH");
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
                 "DNS server pods as NAMESPACE/label=value[,label=value]; repeatable; "
                 "replaces the default kube-system/k8s-app=kube-dns")
      ->allow_extra_args(false)
      ->type_name("PEER");
  cmd.add_option("--monitoring-peer", monitoring_peers,
                 "Pods that scrape prometheus.io/scrape workloads, same syntax; replaces "
                 "the default monitoring/app.kubernetes.io/name=prometheus")
      ->allow_extra_args(false)
      ->type_name("PEER");
  cmd.add_option("--ingress-controller-peer", ingress_controller_peers,
                 "Ingress controller pods, same syntax; replaces the defaults "
                 "(ingress-nginx, traefik, contour/envoy, haproxy)")
      ->allow_extra_args(false)
      ->type_name("PEER");
  cmd.add_flag("--default-deny", default_deny,
               "Also write one deny-all policy per managed namespace");
}

StatusOr<PeerSelector> ParsePeer(const std::string& text) {
  const size_t slash = text.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 >= text.size()) {
    return InvalidArgument("peer \"" + text +
                           "\": expected NAMESPACE/label=value[,label=value...]");
  }
  PeerSelector peer;
  const std::string ns = text.substr(0, slash);
  if (ns != "*") peer.namespaces.match_labels[std::string(kNamespaceNameLabel)] = ns;
  const std::string rest = text.substr(slash + 1);
  size_t pos = 0;
  while (pos <= rest.size()) {
    size_t comma = rest.find_first_of(",&", pos);
    if (comma == std::string::npos) comma = rest.size();
    const std::string item = rest.substr(pos, comma - pos);
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgument("peer \"" + text + "\": \"" + item + "\" is not label=value");
    }
    peer.pods.match_labels[item.substr(0, eq)] = item.substr(eq + 1);
    pos = comma + 1;
  }
  return peer;
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
  c.default_deny = default_deny;
  return c;
}

std::string SelectorString(const LabelSelector& selector) {
  if (selector.empty()) return "{}";
  std::string s;
  auto sep = [&s] {
    if (!s.empty()) s += ", ";
  };
  for (const auto& [k, v] : selector.match_labels) {
    sep();
    s += k + "=" + v;
  }
  for (const LabelSelectorRequirement& r : selector.match_expressions) {
    sep();
    if (r.op == "Exists") {
      s += r.key;
    } else if (r.op == "DoesNotExist") {
      s += "!" + r.key;
    } else {
      s += r.key + (r.op == "NotIn" ? " notin (" : " in (");
      for (size_t i = 0; i < r.values.size(); ++i) s += (i ? "," : "") + r.values[i];
      s += ")";
    }
  }
  return s;
}

}  // namespace npc::cli
