// `netpol-ctrl explain`: every rule of every policy, and why it is there.
#include <algorithm>
#include <cctype>
#include <ostream>

#include "cli/command.h"
#include "synth/synth.h"

namespace npc::cli {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// WORKLOAD as "name", "kind/name" or "ns/kind/name"; kind in any case.
struct WorkloadFilter {
  std::string ns;    // "" matches any
  std::string kind;  // lower case; "" matches any
  std::string name;

  static StatusOr<WorkloadFilter> Parse(const std::string& text) {
    std::vector<std::string> parts;
    size_t pos = 0;
    while (true) {
      const size_t slash = text.find('/', pos);
      parts.push_back(text.substr(pos, slash == std::string::npos ? slash : slash - pos));
      if (slash == std::string::npos) break;
      pos = slash + 1;
    }
    WorkloadFilter f;
    if (parts.size() == 1) {
      f.name = parts[0];
    } else if (parts.size() == 2) {
      f.kind = Lower(parts[0]);
      f.name = parts[1];
    } else if (parts.size() == 3) {
      f.ns = parts[0];
      f.kind = Lower(parts[1]);
      f.name = parts[2];
    }
    if (f.name.empty() || parts.size() > 3 ||
        std::any_of(parts.begin(), parts.end(), [](const std::string& p) { return p.empty(); })) {
      return InvalidArgument("workload \"" + text + "\": expected NAME, KIND/NAME or NS/KIND/NAME");
    }
    // Any kind: the pods of an operator's custom resource are a workload of
    // that kind ("rollout/api").
    return f;
  }

  bool Matches(const WorkloadKey& k) const {
    return (ns.empty() || k.ns == ns) && (kind.empty() || Lower(k.Kind()) == kind) &&
           k.name == name;
  }
};

std::string DescribePeer(const PolicyPeer& p) {
  if (p.ip_block) {
    std::string s = "ipBlock " + p.ip_block->cidr;
    if (!p.ip_block->except.empty()) {
      s += " except";
      for (const std::string& e : p.ip_block->except) s += " " + e;
    }
    return s;
  }
  std::string s;
  if (p.namespace_selector) {
    s += "namespaces {" + SelectorString(*p.namespace_selector) + "}";
  }
  if (p.pod_selector) {
    if (!s.empty()) s += " AND ";
    s += "pods {" + SelectorString(*p.pod_selector) + "}";
    if (!p.namespace_selector) s += " in this namespace";
  }
  return s;
}

std::string DescribePorts(const std::vector<PolicyPort>& ports) {
  if (ports.empty()) return "all ports";
  std::string s;
  for (const PolicyPort& p : ports) {
    if (!s.empty()) s += ", ";
    s += p.port.empty() ? "all" : p.port.ToString();
    if (p.end_port) s += "-" + std::to_string(*p.end_port);
    s += "/" + p.protocol;
  }
  return s;
}

void PrintRules(const char* direction, const char* peer_word, const std::vector<PolicyRule>& rules,
                const std::vector<std::vector<std::string>>& reasons, std::ostream& out) {
  out << "  " << direction << ":";
  if (rules.empty()) {
    out << " none (all " << direction << " traffic is denied)\n";
    return;
  }
  out << "\n";
  for (size_t i = 0; i < rules.size(); ++i) {
    const PolicyRule& r = rules[i];
    out << "    [" << i + 1 << "] " << peer_word << ": ";
    if (r.peers.empty()) {
      out << "anywhere";
    } else {
      for (size_t j = 0; j < r.peers.size(); ++j) {
        out << (j ? "\n        or " : "") << DescribePeer(r.peers[j]);
      }
    }
    out << "\n        on: " << DescribePorts(r.ports) << "\n";
    if (i < reasons.size()) {
      for (const std::string& why : reasons[i]) out << "        because: " << why << "\n";
    }
  }
}

std::string Source(const synth::RefSource& s) {
  std::string out = s.field;
  if (!s.container.empty()) out = "container " + s.container + " " + out;
  if (!s.value.empty()) out += " = \"" + s.value + "\"";
  return out;
}

class ExplainCommand : public Command {
 public:
  CLI::App* Register(CLI::App& app) override {
    CLI::App* cmd = app.add_subcommand(
        "explain", "Show why each rule of each policy exists, and what could not be resolved");
    input_.Register(*cmd);
    config_.Register(*cmd);
    cmd->add_option("workload", workload_,
                    "Only this workload: NAME, KIND/NAME or NAMESPACE/KIND/NAME")
        ->type_name("WORKLOAD");
    cmd->footer(
        "For each policy: the pods it selects, each ingress and egress rule with the\n"
        "reasons behind it (which value named which Service), then the references that\n"
        "did not resolve, the workloads that get no policy, and warnings.\n"
        "\n"
        "Name conflicts: `run` never takes over a NetworkPolicy it does not manage. If\n"
        "one of yours has a name shown here (no app.kubernetes.io/managed-by=netpol-ctrl\n"
        "label), that workload gets no policy and a Warning PolicyConflict Event: rename\n"
        "or delete yours, or label it app.kubernetes.io/managed-by=netpol-ctrl to hand\n"
        "it over.\n"
        "\n"
        "Example:\n"
        "  netpol-ctrl explain -f examples/app shop/deployment/api\n"
        "  netpol-ctrl explain -f examples/app worker\n"
        "  netpol-ctrl explain -f examples/app shop/rollout/checkout   # pods of a custom resource");
    return cmd;
  }

  int Run(Io& io) override {
    std::optional<WorkloadFilter> filter;
    if (!workload_.empty()) {
      StatusOr<WorkloadFilter> f = WorkloadFilter::Parse(workload_);
      if (!f.ok()) {
        io.err << "error: " << f.status().message() << "\n";
        return kExitUsage;
      }
      filter = *f;
    }
    int exit_code = kExitOk;
    std::optional<Offline> offline = LoadAndSynthesize(input_, config_, io, &exit_code);
    if (!offline) return exit_code;
    const synth::Result& r = offline->result;

    auto wanted = [&](const WorkloadKey& k) { return !filter || filter->Matches(k); };
    int matched = 0;
    std::ostream& out = io.out;
    for (const synth::WorkloadPolicy& p : r.policies) {
      if (!wanted(p.workload)) continue;
      ++matched;
      out << p.workload.ToString() << " -> NetworkPolicy " << p.policy.ns << "/" << p.policy.name
          << "\n";
      out << "  selects pods: {" << SelectorString(p.policy.pod_selector) << "}\n";
      if (!p.selector_note.empty()) out << "    (" << p.selector_note << ")\n";
      if (!p.template_from.empty()) out << "  template from: " << p.template_from << "\n";
      PrintRules("ingress", "from", p.policy.ingress, p.ingress_reasons, out);
      PrintRules("egress", "to", p.policy.egress, p.egress_reasons, out);
      bool header = false;
      for (const synth::Unresolved& u : r.unresolved) {
        if (!(u.client == p.workload)) continue;
        if (!header) out << "  unresolved references (no rule):\n";
        header = true;
        out << "    " << u.host << (u.port.empty() ? "" : ":" + u.port) << " (" << Source(u.source)
            << "): " << u.why << "\n";
      }
      header = false;
      for (const synth::Warning& w : r.warnings) {
        if (!(w.workload == p.workload)) continue;
        if (!header) out << "  warnings:\n";
        header = true;
        out << "    " << w.message << "\n";
      }
      out << "\n";
    }
    if (!filter) {
      for (const NetworkPolicy& d : r.default_deny) {
        out << "NetworkPolicy " << d.ns << "/" << d.name
            << ": default deny for every pod of namespace " << d.ns << " (--default-deny)\n\n";
      }
    }

    // Unresolved and warnings of workloads without a policy, and skipped ones.
    std::vector<std::string> lines;
    auto has_policy = [&](const WorkloadKey& k) {
      return std::any_of(r.policies.begin(), r.policies.end(),
                         [&](const synth::WorkloadPolicy& p) { return p.workload == k; });
    };
    for (const synth::Skipped& s : r.skipped) {
      if (!wanted(s.workload)) continue;
      ++matched;
      lines.push_back("skipped " + s.workload.ToString() + ": " + s.why);
    }
    for (const synth::Warning& w : r.warnings) {
      if (!wanted(w.workload) || has_policy(w.workload)) continue;
      lines.push_back("warning " + w.workload.ToString() + ": " + w.message);
    }
    for (const std::string& l : lines) out << l << "\n";

    if (filter && matched == 0) {
      io.err << "error: no workload matches \"" << workload_ << "\"\n";
      return kExitInvalidInput;
    }
    return kExitOk;
  }

 private:
  InputFlags input_;
  ConfigFlags config_;
  std::string workload_;
};

}  // namespace

std::unique_ptr<Command> NewExplainCommand() {
  return std::make_unique<ExplainCommand>();
}

}  // namespace npc::cli
