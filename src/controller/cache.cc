#include "controller/cache.h"

#include "controller/dispatch.h"
#include "synth/index.h"

namespace npc::controller {

ClusterCache::ClusterCache(const SynthesisConfig& config)
    : config_(config), model_(config, /*reasons=*/false) {}

ClusterCache::Effect ClusterCache::Upsert(const decode::Object& object) {
  Effect e;
  MutexLock lock(mu_);
  e.reconcile = ForgetUnknownLocked({object.meta.kind, object.meta.ns, object.meta.name});
  if (const auto* stored = std::get_if<decode::StoredPolicy>(&object.value)) {
    ReconcileKey key = ReconcileKey::Policy(object.meta.ns, object.meta.name);
    PolicySummary summary = Summarize(stored->policy);
    summary.generation = object.meta.generation;
    auto it = stored_.find(key);
    if (it != stored_.end() && summary.generation > 0 && it->second.generation > summary.generation) {
      // Older than a write the controller made since (the watch lags behind
      // the writes): taking it would undo that write here and make the same
      // write again. The watch brings the newer version next.
    } else if (it != stored_.end() && it->second == summary) {
      // As known already: the controller's own write coming back (recorded
      // by RecordApplied), or an event seen before. The reconcile that made
      // or saw it compared it; a desired change queues the key by itself.
    } else {
      stored_[key] = std::move(summary);
      // Someone may have edited it: compare with the desired policy again.
      e.reconcile.push_back(std::move(key));
    }
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
    if (!DropIfUnreadLocked(object, e)) {
      const auto* ns = std::get_if<Namespace>(&object.value);
      std::optional<synth::NamespaceDecision> before;
      if (ns) before = synth::DecideNamespace(ns->name, model_.FindNamespace(ns->name), config_);
      e.model_changed = UpsertIntoModel(model_, object);
      WantReadLocked(object, e);
      if (ns) {
        // audit <-> enforce changes no desired policy: decide writing again here.
        const synth::NamespaceDecision after = synth::DecideNamespace(ns->name, ns, config_);
        // (A misspelt label reads as audit but never deletes: fixing the typo
        // to audit changes what --audit-removes does.)
        if (after.managed != before->managed || after.mode != before->mode ||
            after.warning.empty() != before->warning.empty()) {
          auto keys = NamespaceKeysLocked(ns->name);
          e.reconcile.insert(e.reconcile.end(), keys.begin(), keys.end());
        }
        ModeWarningLocked(*ns, after, e);
      }
    }
  }
  if (!ready_) e.reconcile.clear();
  return e;
}

void ClusterCache::ModeWarningLocked(const Namespace& ns, const synth::NamespaceDecision& d,
                                     Effect& e) {
  auto label = ns.labels.find(std::string(kModeLabel));
  if (d.warning.empty() || label == ns.labels.end()) {
    mode_warned_.erase(ns.name);
    return;
  }
  auto [it, inserted] = mode_warned_.try_emplace(ns.name, label->second);
  if (!inserted && it->second == label->second) return;  // said already
  it->second = label->second;
  e.mode_warnings.push_back(d.warning);
}

synth::NamespaceDecision ClusterCache::NamespaceMode(const std::string& ns) const {
  MutexLock lock(mu_);
  return synth::DecideNamespace(ns, model_.FindNamespace(ns), config_);
}

std::vector<ReconcileKey> ClusterCache::NamespaceKeysLocked(const std::string& ns) const {
  std::vector<ReconcileKey> keys;
  for (auto it = stored_.lower_bound(ReconcileKey::Policy(ns, ""));
       it != stored_.end() && it->first.kind == ReconcileKey::Kind::kPolicy && it->first.ns == ns;
       ++it) {
    keys.push_back(it->first);
  }
  for (const WorkloadKey& w : model_.Workloads()) {
    if (w.ns == ns) keys.push_back(ReconcileKey::Policy(ns, synth::PolicyName(w)));
  }
  keys.push_back(ReconcileKey::Policy(ns, std::string(synth::kDefaultDenyPolicyName)));
  return keys;
}

void ClusterCache::DropUnreadConfigMaps() {
  MutexLock lock(mu_);
  drop_unread_config_maps_ = true;
}

bool ClusterCache::DropIfUnreadLocked(const decode::Object& object, Effect& e) {
  const auto* cm = std::get_if<ConfigMap>(&object.value);
  if (!drop_unread_config_maps_ || !cm) return false;
  NsName key{cm->ns, cm->name};
  FetchedLocked(key, e);  // the watch's copy is at least as new as a fetch in flight
  if (model_.ReadsConfigMap(cm->ns, cm->name)) {
    unread_config_maps_.erase(key);
    return false;
  }
  // Nobody reads it: hold its name only (it may have been read until now).
  e.model_changed = model_.Remove(synth::ObjectKind::kConfigMap, cm->ns, cm->name);
  unread_config_maps_.insert(std::move(key));
  return true;
}

void ClusterCache::WantReadLocked(const decode::Object& object, Effect& e) {
  if (!drop_unread_config_maps_ || unread_config_maps_.empty()) return;
  std::vector<std::string> names;
  std::string ns;
  if (const auto* w = std::get_if<Workload>(&object.value)) {
    names = synth::ConfigMapsRead(*w);
    ns = w->ns;
  } else if (const auto* p = std::get_if<Pod>(&object.value); p && p->spec) {
    Workload t;  // a custom workload's template comes from its pods
    t.containers = p->spec->containers;
    t.config_map_volumes = p->spec->config_map_volumes;
    names = synth::ConfigMapsRead(t);
    ns = p->ns;
  }
  for (std::string& name : names) {
    NsName key{ns, std::move(name)};
    if (unread_config_maps_.contains(key) && fetching_.insert(key).second) {
      e.fetch.push_back(std::move(key));
    }
  }
}

void ClusterCache::FetchedLocked(const NsName& cm, Effect& e) {
  if (fetching_.erase(cm) > 0 && fetching_.empty() && sync_requested_) e.synced_now = true;
}

ClusterCache::Effect ClusterCache::UpsertFetched(const decode::Object& object) {
  const auto* cm = std::get_if<ConfigMap>(&object.value);
  if (!cm) return {};
  {
    MutexLock lock(mu_);
    if (!fetching_.contains({cm->ns, cm->name})) return {};
  }
  return Upsert(object);
}

bool ClusterCache::RequestSynced() {
  MutexLock lock(mu_);
  const bool first = !sync_requested_;
  sync_requested_ = true;
  return first && fetching_.empty();
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
    if (meta.kind == "Namespace") mode_warned_.erase(meta.name);
    if (meta.kind == "ConfigMap") {
      unread_config_maps_.erase({meta.ns, meta.name});
      FetchedLocked({meta.ns, meta.name}, e);
    }
    e.model_changed = RemoveFromModel(model_, meta);
  }
  if (!ready_) e.reconcile.clear();
  return e;
}

ClusterCache::Effect ClusterCache::ObservePolicyName(const decode::Meta& meta, bool present) {
  Effect e;
  auto label = meta.labels.find(std::string(kManagedByLabel));
  const bool foreign =
      present && (label == meta.labels.end() || label->second != kManagedByValue);
  ReconcileKey key = ReconcileKey::Policy(meta.ns, meta.name);
  MutexLock lock(mu_);
  const bool changed = foreign ? foreign_.insert(key).second : foreign_.erase(key) > 0;
  // A conflict begins (report it, write nothing) or ends (write ours now).
  if (changed && ready_) e.reconcile.push_back(std::move(key));
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
  // Summarised as they come: the first recompute would otherwise hold every
  // policy of the cluster at once (its memory peak).
  c.changes = model_.Recompute([&c](synth::WorkloadPolicy&& wp) {
    PolicySummary summary = Summarize(wp.policy);
    c.made.push_back(
        MadePolicy{std::move(wp.workload), std::move(wp.policy.name), std::move(summary)});
  });
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

bool ClusterCache::Foreign(const ReconcileKey& key) const {
  MutexLock lock(mu_);
  return foreign_.count(key) > 0;
}

ClusterCache::Counts ClusterCache::counts() const {
  MutexLock lock(mu_);
  return {stored_.size(), unknown_.size(), foreign_.size()};
}

std::vector<synth::WouldDeny> ClusterCache::JudgeObserved(
    const std::vector<ObservedFlow>& flows) const {
  MutexLock lock(mu_);
  return model_.Judge(flows);
}

}  // namespace npc::controller
