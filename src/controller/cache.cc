#include "controller/cache.h"

#include "controller/dispatch.h"

namespace npc::controller {

ClusterCache::ClusterCache(const SynthesisConfig& config) : model_(config, /*reasons=*/false) {}

ClusterCache::Effect ClusterCache::Upsert(const decode::Object& object) {
  Effect e;
  MutexLock lock(mu_);
  e.reconcile = ForgetUnknownLocked({object.meta.kind, object.meta.ns, object.meta.name});
  if (const auto* stored = std::get_if<decode::StoredPolicy>(&object.value)) {
    ReconcileKey key = ReconcileKey::Policy(object.meta.ns, object.meta.name);
    stored_[key] = Summarize(stored->policy);
    // Someone may have edited it: compare with the desired policy again.
    e.reconcile.push_back(std::move(key));
  } else {
    if (const auto* w = std::get_if<Workload>(&object.value); w && w->kind == WorkloadKind::kPod) {
      // A bare pod without labels needs one before a policy can select it.
      ReconcileKey pod = ReconcileKey::PodLabel(w->ns, w->name);
      if (!w->has_controller && w->labels.empty()) {
        if (pods_to_label_.insert(pod).second) e.reconcile.push_back(std::move(pod));
      } else {
        pods_to_label_.erase(pod);
      }
    }
    e.model_changed = UpsertIntoModel(model_, object);
  }
  if (!ready_) e.reconcile.clear();
  return e;
}

ClusterCache::Effect ClusterCache::Remove(const decode::Meta& meta) {
  Effect e;
  MutexLock lock(mu_);
  e.reconcile = ForgetUnknownLocked({meta.kind, meta.ns, meta.name});
  if (meta.kind == "NetworkPolicy") {
    ReconcileKey key = ReconcileKey::Policy(meta.ns, meta.name);
    // Deleted by someone: put it back (when it is wanted).
    if (stored_.erase(key) > 0) e.reconcile.push_back(std::move(key));
  } else {
    if (meta.kind == "Pod") pods_to_label_.erase(ReconcileKey::PodLabel(meta.ns, meta.name));
    e.model_changed = RemoveFromModel(model_, meta);
  }
  if (!ready_) e.reconcile.clear();
  return e;
}

ClusterCache::Effect ClusterCache::MarkUnknown(const decode::Meta& meta, const std::string& why) {
  MutexLock lock(mu_);
  unknown_[{meta.kind, meta.ns, meta.name}] = UnknownObject{meta.uid, meta.controller, why};
  return {};  // nothing changes until it is read: the model keeps what it knew
}

std::vector<ReconcileKey> ClusterCache::ForgetUnknownLocked(const ObjectRef& ref) {
  auto it = unknown_.find(ref);
  if (it == unknown_.end()) return {};
  std::optional<OwnerReference> controller = std::move(it->second.controller);
  unknown_.erase(it);
  // Policies kept because of it are judged again.
  std::vector<ReconcileKey> keys = StoredOwnedByLocked(ref.ns, ref.kind, ref.name);
  if (controller) {
    auto more = StoredOwnedByLocked(ref.ns, controller->kind, controller->name);
    keys.insert(keys.end(), more.begin(), more.end());
  }
  return keys;
}

std::vector<ReconcileKey> ClusterCache::StoredOwnedByLocked(const std::string& ns,
                                                            const std::string& kind,
                                                            const std::string& name) const {
  std::vector<ReconcileKey> keys;
  for (auto it = stored_.lower_bound(ReconcileKey::Policy(ns, ""));
       it != stored_.end() && it->first.kind == ReconcileKey::Kind::kPolicy && it->first.ns == ns;
       ++it) {
    const auto& owner = it->second.owner;
    if (owner && owner->kind == kind && owner->name == name) keys.push_back(it->first);
  }
  return keys;
}

ClusterCache::Computed ClusterCache::Recompute() {
  MutexLock lock(mu_);
  Computed c;
  c.changes = model_.Recompute();
  c.policies = model_.policies();
  c.unresolved = model_.unresolved();
  return c;
}

std::vector<WorkloadKey> ClusterCache::WorkloadKeys() const {
  MutexLock lock(mu_);
  return model_.Workloads();
}

std::optional<std::vector<std::optional<PolicySummary>>> ClusterCache::SummariesIfSettled(
    const std::vector<WorkloadKey>& workloads) const {
  MutexLock lock(mu_);
  if (model_.pending()) return std::nullopt;
  std::vector<std::optional<PolicySummary>> out;
  out.reserve(workloads.size());
  for (const WorkloadKey& w : workloads) {
    std::optional<NetworkPolicy> p = model_.Policy(w);
    out.push_back(p ? std::optional<PolicySummary>(Summarize(*p)) : std::nullopt);
  }
  return out;
}

std::vector<ReconcileKey> ClusterCache::SetReady() {
  MutexLock lock(mu_);
  ready_ = true;
  std::vector<ReconcileKey> keys;
  keys.reserve(stored_.size() + pods_to_label_.size());
  for (const auto& [k, s] : stored_) keys.push_back(k);
  keys.insert(keys.end(), pods_to_label_.begin(), pods_to_label_.end());
  return keys;
}

std::optional<PolicySummary> ClusterCache::Stored(const ReconcileKey& key) const {
  MutexLock lock(mu_);
  auto it = stored_.find(key);
  if (it == stored_.end()) return std::nullopt;
  return it->second;
}

void ClusterCache::RecordApplied(const ReconcileKey& key, PolicySummary summary) {
  MutexLock lock(mu_);
  stored_[key] = std::move(summary);
}

void ClusterCache::RecordDeleted(const ReconcileKey& key) {
  MutexLock lock(mu_);
  stored_.erase(key);
}

std::optional<NetworkPolicy> ClusterCache::Policy(const WorkloadKey& workload) const {
  MutexLock lock(mu_);
  return model_.Policy(workload);
}

bool ClusterCache::NeedsLabel(const ReconcileKey& pod) const {
  MutexLock lock(mu_);
  return pods_to_label_.count(pod) > 0;
}

std::optional<std::string> ClusterCache::OwnerUnknown(const std::string& ns,
                                                      const OwnerReference& owner) const {
  MutexLock lock(mu_);
  auto same = [&](const std::string& uid) {
    return uid.empty() || owner.uid.empty() || uid == owner.uid;
  };
  // The owner itself could not be read (and is the same object, not a
  // successor of the same name).
  if (auto it = unknown_.find({owner.kind, ns, owner.name});
      it != unknown_.end() && same(it->second.uid)) {
    return owner.kind + " " + ns + "/" + owner.name +
           " exists but cannot be read: " + it->second.why;
  }
  // Something it controls could not be read (its workload may be made of it).
  for (const auto& [ref, u] : unknown_) {
    if (ref.ns == ns && u.controller && u.controller->kind == owner.kind &&
        u.controller->name == owner.name && same(u.controller->uid)) {
      return ref.kind + " " + ns + "/" + ref.name + " of " + owner.kind + " " + owner.name +
             " exists but cannot be read: " + u.why;
    }
  }
  return std::nullopt;
}

ClusterCache::Counts ClusterCache::counts() const {
  MutexLock lock(mu_);
  return {stored_.size(), unknown_.size()};
}

std::vector<synth::WouldDeny> ClusterCache::JudgeObserved(
    const std::vector<ObservedFlow>& flows) const {
  MutexLock lock(mu_);
  return model_.Judge(flows);
}

}  // namespace npc::controller
