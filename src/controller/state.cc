#include "controller/state.h"

namespace npc::controller {

bool ClusterState::Upsert(const decode::Object& object) {
  const auto& m = object.meta;
  Key key{m.kind, m.ns, m.name};
  Entry entry;
  if (const auto* w = std::get_if<Workload>(&object.value)) {
    // Pods, ReplicaSets and Jobs run by a controller are not workloads, and
    // synthesis never needs them: keep the cache small.
    if (w->has_controller) return Remove(m.kind, m.ns, m.name);
    entry = std::make_shared<const Workload>(*w);
  } else if (const auto* s = std::get_if<Service>(&object.value)) {
    entry = std::make_shared<const Service>(*s);
  } else if (const auto* e = std::get_if<EndpointSlice>(&object.value)) {
    entry = std::make_shared<const EndpointSlice>(*e);
  } else if (const auto* i = std::get_if<Ingress>(&object.value)) {
    entry = std::make_shared<const Ingress>(*i);
  } else if (const auto* c = std::get_if<ConfigMap>(&object.value)) {
    entry = std::make_shared<const ConfigMap>(*c);
  } else if (const auto* n = std::get_if<Namespace>(&object.value)) {
    entry = std::make_shared<const Namespace>(*n);
  } else {
    return false;
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(key);
  if (it != objects_.end() && it->second.index() == entry.index()) {
    // A change synthesis cannot see (status, resourceVersion, managedFields,
    // fields it does not read) costs no recompute.
    bool same = std::visit(
        [&](const auto& old_ptr) {
          using P = std::decay_t<decltype(old_ptr)>;
          return *old_ptr == *std::get<P>(entry);
        },
        it->second);
    if (same) return false;
  }
  objects_[std::move(key)] = std::move(entry);
  return true;
}

bool ClusterState::Remove(const std::string& kind, const std::string& ns,
                          const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  return objects_.erase(Key{kind, ns, name}) > 0;
}

Snapshot ClusterState::BuildSnapshot() const {
  Snapshot s;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [key, entry] : objects_) {
    std::visit(
        [&s](const auto& p) {
          using T = std::remove_const_t<typename std::decay_t<decltype(p)>::element_type>;
          if constexpr (std::is_same_v<T, Workload>) s.workloads.push_back(*p);
          if constexpr (std::is_same_v<T, Service>) s.services.push_back(*p);
          if constexpr (std::is_same_v<T, EndpointSlice>) s.endpoint_slices.push_back(*p);
          if constexpr (std::is_same_v<T, Ingress>) s.ingresses.push_back(*p);
          if constexpr (std::is_same_v<T, ConfigMap>) s.config_maps.push_back(*p);
          if constexpr (std::is_same_v<T, Namespace>) s.namespaces.push_back(*p);
        },
        entry);
  }
  return s;
}

std::vector<std::pair<std::string, std::string>> ClusterState::UnlabelledBarePods() const {
  std::vector<std::pair<std::string, std::string>> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [key, entry] : objects_) {
    if (std::get<0>(key) != "Pod") continue;
    const auto& w = std::get<std::shared_ptr<const Workload>>(entry);
    if (w->labels.empty()) out.emplace_back(w->ns, w->name);
  }
  return out;
}

size_t ClusterState::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return objects_.size();
}

}  // namespace npc::controller
