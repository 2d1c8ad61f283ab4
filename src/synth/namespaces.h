// Which namespaces netpol-ctrl manages, and in which mode (DESIGN.md section
// 4, "Rollout"): one pure decision that synthesis (which workloads get a
// policy), the reconciler (audit or write, per namespace), `diff` and
// `generate` all share.
//
//   NamespaceDecision d = DecideNamespace("shop", ns_object, config);
//   if (!d.managed) Skip(d.why_not);
//   Mode m = d.mode.value_or(global_mode);
//
// A namespace is managed unless it is excluded (--exclude-namespaces),
// annotated netpol-ctrl.io/ignore=true, labelled netpol-ctrl.io/mode=off, or
// its labels do not match --namespace-selector. A namespace without an
// object (offline input that declares none) has the one label the API
// server always sets: kubernetes.io/metadata.name=<name>.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "model/model.h"

namespace npc::synth {

struct NamespaceDecision {
  bool managed = true;
  std::string why_not;  // set when !managed: "namespace shop is excluded", ...
  // netpol-ctrl.io/mode=audit|enforce on a managed namespace: the mode there
  // (nullopt: the global --mode). A value that is none of audit, enforce and
  // off is read as audit (nothing is written there; its managed policies are
  // kept, also with --audit-removes: a typo never deletes), and `warning`
  // names the namespace, the value and the allowed values.
  std::optional<Mode> mode;
  std::string warning;
};

[[nodiscard]] NamespaceDecision DecideNamespace(std::string_view ns, const Namespace* object,
                                                const SynthesisConfig& config);

// A label selector in kubectl's syntax: comma-separated requirements
// `key=value`, `key==value`, `key!=value`, `key in (a,b)`, `key notin (a,b)`,
// `key` (exists) and `!key` (does not exist). "" selects everything.
// InvalidArgument names what does not parse.
[[nodiscard]] StatusOr<LabelSelector> ParseLabelSelector(std::string_view text);

}  // namespace npc::synth
