// PolicySummary: what the controller keeps of a policy, desired or in the
// cluster: enough to tell whether the two say the same, not the policy itself
// (that is computed again from the cache when it must be written).
#pragma once

#include <cstdint>
#include <optional>

#include "model/model.h"

namespace npc::controller {

struct PolicySummary {
  uint64_t spec = 0;  // PolicySpecFingerprint
  Labels labels;
  std::optional<OwnerReference> owner;
  // Of a stored policy: its metadata.generation as last seen or written (0:
  // unknown; always 0 in a desired summary). A watch event older than a write
  // the controller made is recognised by it.
  int64_t generation = 0;
  bool operator==(const PolicySummary&) const = default;
};

[[nodiscard]] PolicySummary Summarize(const NetworkPolicy& policy);

// A policy a recompute made, as the controller keeps it: whose, its name
// (in the workload's namespace) and its summary; never its rules.
struct MadePolicy {
  WorkloadKey workload;
  std::string name;
  PolicySummary summary;
};

// True when the stored policy already says what the desired one says: same
// spec, our labels, and the same controlling owner. Labels and annotations
// that others added are left alone (synthesis writes no annotations).
[[nodiscard]] bool PolicyUpToDate(const PolicySummary& stored, const PolicySummary& desired);

}  // namespace npc::controller
