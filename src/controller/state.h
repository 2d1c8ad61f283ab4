// ClusterState: the controller's cache of what synthesis reads.
//
// Holds only model structs (never whole API objects or managedFields), each
// as shared_ptr<const T>: objects in the cache are immutable and shared, and
// a change replaces the pointer. Snapshot() copies them into a Snapshot for
// synthesis.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "decode/decode.h"
#include "model/model.h"

namespace npc::controller {

class ClusterState {
 public:
  // Stores a decoded object. Returns true when synthesis may see a difference
  // (kinds synthesis does not read, and NetworkPolicies, return false).
  bool Upsert(const decode::Object& object);
  // Forgets an object; true when it was known.
  bool Remove(const std::string& kind, const std::string& ns, const std::string& name);

  Snapshot BuildSnapshot() const;
  // Bare pods (no controller) that have no labels at all: they need the
  // netpol-ctrl.io/pod label before a policy can select them.
  std::vector<std::pair<std::string, std::string>> UnlabelledBarePods() const;
  size_t size() const;

 private:
  using Key = std::tuple<std::string, std::string, std::string>;  // kind, ns, name
  using Entry = std::variant<std::shared_ptr<const Workload>, std::shared_ptr<const Service>,
                             std::shared_ptr<const EndpointSlice>, std::shared_ptr<const Ingress>,
                             std::shared_ptr<const ConfigMap>, std::shared_ptr<const Namespace>>;

  mutable std::mutex mu_;
  std::map<Key, Entry> objects_;  // GUARDED_BY(mu_)
};

}  // namespace npc::controller
