// The keys the controller's queue holds (STYLE.md 11: a struct, not a string
// with a prefix).
//
//   ReconcileKey k = ReconcileKey::Policy("shop", "deployment-web");
//   ReconcileKey p = ReconcileKey::PodLabel("shop", "debug");
//   WorkQueue<ReconcileKey, ReconcileKeyHash> queue;
//
// A reconcile key names what a worker makes right: one managed
// NetworkPolicy (whatever woke it: a workload, a Service, a hand edit, an
// orphan), or one bare Pod that needs the label a policy can select it by.
#pragma once

#include <compare>
#include <cstddef>
#include <functional>
#include <string>

namespace npc::controller {

struct ReconcileKey {
  enum class Kind : unsigned char { kPolicy, kPodLabel };

  Kind kind = Kind::kPolicy;
  std::string ns;
  std::string name;  // of the NetworkPolicy, or of the Pod

  static ReconcileKey Policy(std::string ns, std::string name) {
    return {Kind::kPolicy, std::move(ns), std::move(name)};
  }
  static ReconcileKey PodLabel(std::string ns, std::string name) {
    return {Kind::kPodLabel, std::move(ns), std::move(name)};
  }

  // "shop/deployment-web" for a policy, "pod shop/debug" for a pod label: for logs.
  std::string ToString() const { return (kind == Kind::kPodLabel ? "pod " : "") + ns + "/" + name; }
  bool operator==(const ReconcileKey&) const = default;
  auto operator<=>(const ReconcileKey&) const = default;
};

struct ReconcileKeyHash {
  size_t operator()(const ReconcileKey& k) const {
    size_t h = std::hash<std::string>{}(k.ns);
    h = h * 31 + std::hash<std::string>{}(k.name);
    return h * 2 + static_cast<size_t>(k.kind);
  }
};

}  // namespace npc::controller
