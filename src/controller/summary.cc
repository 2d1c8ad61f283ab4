#include "controller/summary.h"

namespace npc::controller {

PolicySummary Summarize(const NetworkPolicy& policy) {
  return PolicySummary{PolicySpecFingerprint(policy), policy.labels, policy.owner};
}

bool PolicyUpToDate(const PolicySummary& stored, const PolicySummary& desired) {
  if (stored.spec != desired.spec) return false;
  for (const auto& [k, v] : desired.labels) {
    auto it = stored.labels.find(k);
    if (it == stored.labels.end() || it->second != v) return false;
  }
  if (desired.owner.has_value() != stored.owner.has_value()) return false;
  if (desired.owner) {
    const auto& a = *stored.owner;
    const auto& b = *desired.owner;
    if (a.kind != b.kind || a.name != b.name || a.api_version != b.api_version) return false;
    if (!b.uid.empty() && a.uid != b.uid) return false;
  }
  return true;
}

}  // namespace npc::controller
