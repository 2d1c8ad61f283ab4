#include "controller/controller.h"

#include <algorithm>
#include <map>

namespace npc::controller {
namespace {

constexpr std::string_view kPodKeyPrefix = "pod:";

std::string PolicyKey(const std::string& ns, const std::string& name) {
  return ns + "/" + name;
}

std::pair<std::string, std::string> SplitKey(std::string_view key) {
  auto slash = key.find('/');
  if (slash == std::string_view::npos) return {"", std::string(key)};
  return {std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
}

}  // namespace

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

Controller::Controller(ControllerOptions options, PolicyWriter& writer, Observer& observer,
                       const Clock& clock)
    : options_(std::move(options)),
      writer_(writer),
      observer_(observer),
      clock_(clock),
      queue_(clock),
      state_(options_.synthesis, /*reasons=*/false) {}

Controller::~Controller() {
  Stop();
}

bool Controller::Excluded(const std::string& ns) const {
  const auto& ex = options_.synthesis.excluded_namespaces;
  return std::find(ex.begin(), ex.end(), ns) != ex.end();
}

void Controller::Upsert(decode::Object object) {
  if (auto* stored = std::get_if<decode::StoredPolicy>(&object.value)) {
    std::string key = PolicyKey(object.meta.ns, object.meta.name);
    {
      std::lock_guard<std::mutex> lock(mu_);
      stored_[key] = Summarize(stored->policy);
    }
    // Someone may have edited it: compare with the desired policy again.
    if (synced_) queue_.Add(key);
    return;
  }
  if (const auto* w = std::get_if<Workload>(&object.value); w && w->kind == WorkloadKind::kPod) {
    // A bare pod without labels needs one before a policy can select it.
    const std::string pod = PolicyKey(w->ns, w->name);
    const bool needs = !w->has_controller && w->labels.empty();
    bool added = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      added = needs ? pods_to_label_.insert(pod).second : (pods_to_label_.erase(pod), false);
    }
    if (added && synced_) queue_.Add(std::string(kPodKeyPrefix) + pod);
  }
  bool changed = false;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    changed = std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, decode::Unknown> || std::is_same_v<T, decode::PodMeta> ||
                        std::is_same_v<T, decode::StoredPolicy>) {
            return false;  // kinds synthesis does not read
          } else {
            return state_.Upsert(v);
          }
        },
        object.value);
  }
  if (changed) MarkDirty();
}

void Controller::Remove(const decode::Meta& meta) {
  if (meta.kind == "NetworkPolicy") {
    std::string key = PolicyKey(meta.ns, meta.name);
    bool known;
    {
      std::lock_guard<std::mutex> lock(mu_);
      known = stored_.erase(key) > 0;
    }
    if (known && synced_) queue_.Add(key);  // deleted by someone: put it back
    return;
  }
  bool changed = false;
  if (auto kind = ParseKind(meta.kind)) {
    if (*kind == WorkloadKind::kPod) {
      std::lock_guard<std::mutex> lock(mu_);
      pods_to_label_.erase(PolicyKey(meta.ns, meta.name));
    }
    std::lock_guard<std::mutex> lock(state_mu_);
    changed = state_.Remove(WorkloadKey{*kind, meta.ns, meta.name});
  } else if (auto object_kind = synth::ParseObjectKind(meta.kind)) {
    std::lock_guard<std::mutex> lock(state_mu_);
    changed = state_.Remove(*object_kind, meta.ns, meta.name);
  }
  if (changed) MarkDirty();
}

void Controller::MarkSynced() {
  synced_ = true;
  Recompute();
  // Every key, once: desired ones (create or check), stored ones (orphans
  // whose owner went away while we were not looking) and pods to label.
  std::vector<std::string> keys;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [k, v] : desired_) keys.push_back(k);
    for (const auto& [k, v] : stored_) keys.push_back(k);
    for (const auto& p : pods_to_label_) keys.push_back(std::string(kPodKeyPrefix) + p);
  }
  for (const auto& k : keys) queue_.Add(k);
}

void Controller::MarkDirty() {
  if (!synced_) return;  // MarkSynced computes everything once caches are full
  std::lock_guard<std::mutex> lock(dirty_mu_);
  dirty_ = true;
  dirty_cv_.notify_one();
}

void Controller::Recompute() {
  const auto start = clock_.Now();
  synth::Changes changes;
  Observer::Totals totals;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    changes = state_.Recompute();
    totals.policies = state_.policies();
    totals.unresolved = state_.unresolved();
  }
  const synth::Result& r = changes.result;
  observer_.OnRecompute(r, totals, clock_.Now() - start);

  // The desired state of every key the recompute decided again: a summary
  // only (the policy is computed again from the cache when it is written).
  std::map<std::string, std::optional<Desired>> next;
  for (const WorkloadKey& w : changes.workloads) {
    next.emplace(PolicyKey(w.ns, synth::PolicyName(w)), std::nullopt);
  }
  for (const std::string& ns : changes.namespaces) {
    next.emplace(PolicyKey(ns, std::string(synth::kDefaultDenyPolicyName)), std::nullopt);
  }
  for (const auto& wp : r.policies) {
    next[PolicyKey(wp.policy.ns, wp.policy.name)] = Desired{Summarize(wp.policy), wp.workload};
  }
  for (const auto& np : r.default_deny) {
    next[PolicyKey(np.ns, np.name)] = Desired{Summarize(np), {}, true};
  }
  changes = {};  // the policies themselves are not kept

  std::vector<std::string> changed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [k, d] : next) {
      auto it = desired_.find(k);
      if (!d) {
        if (it != desired_.end()) {
          desired_.erase(it);
          changed.push_back(k);
        }
        continue;
      }
      if (it == desired_.end()) {
        desired_.emplace(k, std::move(*d));
        changed.push_back(k);
      } else if (it->second != *d) {
        it->second = std::move(*d);
        changed.push_back(k);
      }
    }
    stats_.recomputes++;
    stats_.desired = desired_.size();
    stats_.unresolved = totals.unresolved;
  }
  for (const auto& k : changed) queue_.Add(k);
}

Status Controller::Reconcile(const std::string& key) {
  bool wrote = false;
  return ReconcileKey(key, &wrote);
}

Status Controller::ReconcileKey(const std::string& key, bool* wrote) {
  if (key.rfind(kPodKeyPrefix, 0) == 0) return ReconcilePodLabel(key, wrote);
  return ReconcilePolicy(key, wrote);
}

Status Controller::ReconcilePolicy(const std::string& key, bool* wrote) {
  std::optional<Desired> desired;
  std::optional<PolicySummary> stored;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = desired_.find(key); it != desired_.end()) desired = it->second;
    if (auto it = stored_.find(key); it != stored_.end()) stored = it->second;
  }
  const bool audit = options_.mode == Mode::kAudit;
  if (desired) {
    if (stored && PolicyUpToDate(*stored, desired->summary)) return Status::Ok();
    // The policy to write, from the cache as it is now (the summary may be a
    // batch behind; the next recompute queues this key again if so).
    std::optional<NetworkPolicy> policy;
    if (desired->default_deny) {
      policy = synth::DefaultDenyPolicy(SplitKey(key).first);
    } else {
      std::lock_guard<std::mutex> lock(state_mu_);
      policy = state_.Policy(desired->workload);
    }
    if (!policy) return Status::Ok();  // gone or no longer managed: a recompute is due
    PolicySummary now = Summarize(*policy);
    if (stored && PolicyUpToDate(*stored, now)) return Status::Ok();
    auto action = stored ? Observer::Action::kUpdate : Observer::Action::kCreate;
    *wrote = true;
    Status s = audit ? Status::Ok() : writer_.Apply(*policy);
    observer_.OnWrite(action, key, audit, s, &*policy);
    std::lock_guard<std::mutex> lock(mu_);
    if (s.ok() && !audit) {
      stats_.applies++;
      // Until the watch delivers the written object, take it as stored, so a
      // key queued again meanwhile does not write the same thing twice.
      stored_[key] = std::move(now);
    }
    return s;
  }
  if (!stored) return Status::Ok();
  // A managed policy nobody wants (owner deleted or no longer managed). Never
  // touch excluded namespaces.
  auto [ns, name] = SplitKey(key);
  if (Excluded(ns)) return Status::Ok();
  *wrote = true;
  Status s = audit ? Status::Ok() : writer_.Delete(ns, name);
  if (s.code() == StatusCode::kNotFound) s = Status::Ok();
  NetworkPolicy gone;  // what the observer needs of it: where, and whose
  gone.ns = ns;
  gone.name = name;
  gone.owner = stored->owner;
  observer_.OnWrite(Observer::Action::kDelete, key, audit, s, &gone);
  std::lock_guard<std::mutex> lock(mu_);
  if (s.ok() && !audit) {
    stats_.deletes++;
    stored_.erase(key);
  }
  return s;
}

Status Controller::ReconcilePodLabel(const std::string& key, bool* wrote) {
  std::string pod = key.substr(kPodKeyPrefix.size());
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!pods_to_label_.count(pod)) return Status::Ok();  // labelled or gone since
  }
  auto [ns, name] = SplitKey(pod);
  const bool audit = options_.mode == Mode::kAudit;
  *wrote = true;
  Status s = audit ? Status::Ok()
                   : writer_.LabelPod(ns, name, std::string(kBarePodLabel),
                                      synth::BarePodLabelValue(name));
  if (s.code() == StatusCode::kNotFound) s = Status::Ok();
  observer_.OnWrite(Observer::Action::kLabelPod, pod, audit, s, nullptr);
  std::lock_guard<std::mutex> lock(mu_);
  if (s.ok() && !audit) stats_.pod_labels++;
  return s;
}

void Controller::ProcessOne(const std::string& key) {
  const auto start = clock_.Now();
  bool wrote = false;
  Status s = ReconcileKey(key, &wrote);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.reconciles++;
    if (!s.ok()) stats_.errors++;
  }
  if (s.ok()) {
    queue_.Forget(key);
  } else {
    queue_.AddRateLimited(key);
  }
  observer_.OnReconcile(key,
                        !s.ok() ? "error"
                        : wrote ? "written"
                                : "unchanged",
                        clock_.Now() - start);
  queue_.Done(key);
}

void Controller::DrainForTest() {
  while (auto key = queue_.TryGet()) ProcessOne(*key);
}

void Controller::WorkerLoop() {
  while (auto key = queue_.Get()) ProcessOne(*key);
}

void Controller::RecomputeLoop() {
  std::unique_lock<std::mutex> lock(dirty_mu_);
  while (true) {
    dirty_cv_.wait(lock, [&] { return dirty_ || stopping_; });
    if (stopping_) return;
    // Let the rest of a burst arrive; what comes during the recompute makes
    // the next batch.
    lock.unlock();
    if (options_.debounce.count() > 0) std::this_thread::sleep_for(options_.debounce);
    lock.lock();
    dirty_ = false;
    lock.unlock();
    Recompute();
    lock.lock();
  }
}

void Controller::Start() {
  recompute_thread_ = std::thread([this] { RecomputeLoop(); });
  for (int i = 0; i < std::max(1, options_.workers); ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
}

void Controller::Stop() {
  {
    std::lock_guard<std::mutex> lock(dirty_mu_);
    stopping_ = true;
    dirty_cv_.notify_all();
  }
  queue_.ShutDown();
  if (recompute_thread_.joinable()) recompute_thread_.join();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
}

ControllerStats Controller::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  ControllerStats s = stats_;
  s.stored = stored_.size();
  return s;
}

}  // namespace npc::controller
