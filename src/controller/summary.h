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
  bool operator==(const PolicySummary&) const = default;
};

[[nodiscard]] PolicySummary Summarize(const NetworkPolicy& policy);

// True when the stored policy already says what the desired one says: same
// spec, our labels, and the same controlling owner. Labels and annotations
// that others added are left alone (synthesis writes no annotations).
[[nodiscard]] bool PolicyUpToDate(const PolicySummary& stored, const PolicySummary& desired);

}  // namespace npc::controller
