#include "controller/controller.h"

#include <algorithm>

namespace npc::controller {
namespace {

constexpr std::string_view kPodKeyPrefix = "pod:";

std::string PolicyKey(const std::string& ns, const std::string& name) { return ns + "/" + name; }

std::pair<std::string, std::string> SplitKey(std::string_view key) {
  auto slash = key.find('/');
  if (slash == std::string_view::npos) return {"", std::string(key)};
  return {std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
}

}  // namespace

bool PolicyUpToDate(const NetworkPolicy& stored, const NetworkPolicy& desired) {
  if (stored.pod_selector != desired.pod_selector || stored.ingress != desired.ingress ||
      stored.egress != desired.egress || stored.policy_types != desired.policy_types) {
    return false;
  }
  for (const auto& [k, v] : desired.labels) {
    auto it = stored.labels.find(k);
    if (it == stored.labels.end() || it->second != v) return false;
  }
  for (const auto& [k, v] : desired.annotations) {
    auto it = stored.annotations.find(k);
    if (it == stored.annotations.end() || it->second != v) return false;
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
      queue_(clock) {}

Controller::~Controller() { Stop(); }

bool Controller::Excluded(const std::string& ns) const {
  const auto& ex = options_.synthesis.excluded_namespaces;
  return std::find(ex.begin(), ex.end(), ns) != ex.end();
}

void Controller::Upsert(decode::Object object) {
  if (auto* stored = std::get_if<decode::StoredPolicy>(&object.value)) {
    std::string key = PolicyKey(object.meta.ns, object.meta.name);
    {
      std::lock_guard<std::mutex> lock(mu_);
      stored_[key] = std::make_shared<const NetworkPolicy>(std::move(stored->policy));
    }
    // Someone may have edited it: compare with the desired policy again.
    if (synced_) queue_.Add(key);
    return;
  }
  if (state_.Upsert(object)) MarkDirty();
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
  if (state_.Remove(meta.kind, meta.ns, meta.name)) MarkDirty();
}

void Controller::MarkSynced() {
  synced_ = true;
  Recompute();
  // Every key, once: desired ones (create or check) and stored ones (orphans
  // whose owner went away while we were not looking).
  std::vector<std::string> keys;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [k, v] : desired_) keys.push_back(k);
    for (const auto& [k, v] : stored_) keys.push_back(k);
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
  Snapshot snapshot = state_.BuildSnapshot();
  auto result = std::make_shared<const synth::Result>(
      synth::Synthesize(snapshot, options_.synthesis));

  std::map<std::string, std::shared_ptr<const Desired>> next;
  for (const auto& wp : result->policies) {
    next.emplace(PolicyKey(wp.policy.ns, wp.policy.name),
                 std::make_shared<const Desired>(Desired{wp.policy, wp.workload}));
  }
  for (const auto& np : result->default_deny) {
    next.emplace(PolicyKey(np.ns, np.name), std::make_shared<const Desired>(Desired{np, {}}));
  }

  std::vector<std::string> changed;
  std::set<std::string> pods;
  for (auto& [ns, name] : state_.UnlabelledBarePods()) pods.insert(ns + "/" + name);
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [k, d] : next) {
      auto it = desired_.find(k);
      if (it == desired_.end() || it->second->policy != d->policy) changed.push_back(k);
    }
    for (const auto& [k, d] : desired_) {
      if (!next.count(k)) changed.push_back(k);
    }
    desired_ = std::move(next);
    for (const auto& p : pods) {
      if (!pods_to_label_.count(p)) changed.push_back(std::string(kPodKeyPrefix) + p);
    }
    pods_to_label_ = std::move(pods);
    last_result_ = result;
    stats_.recomputes++;
    stats_.desired = desired_.size();
    stats_.unresolved = result->unresolved.size();
  }
  for (const auto& k : changed) queue_.Add(k);
  observer_.OnRecompute(*result, clock_.Now() - start);
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
  std::shared_ptr<const Desired> desired;
  std::shared_ptr<const NetworkPolicy> stored;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = desired_.find(key); it != desired_.end()) desired = it->second;
    if (auto it = stored_.find(key); it != stored_.end()) stored = it->second;
  }
  const bool audit = options_.mode == Mode::kAudit;
  if (desired) {
    if (stored && PolicyUpToDate(*stored, desired->policy)) return Status::Ok();
    auto action = stored ? Observer::Action::kUpdate : Observer::Action::kCreate;
    *wrote = true;
    Status s = audit ? Status::Ok() : writer_.Apply(desired->policy);
    observer_.OnWrite(action, key, audit, s, &desired->policy);
    std::lock_guard<std::mutex> lock(mu_);
    if (s.ok() && !audit) {
      stats_.applies++;
      // Until the watch delivers the written object, take it as stored, so a
      // key queued again meanwhile does not write the same thing twice.
      stored_[key] = std::make_shared<const NetworkPolicy>(desired->policy);
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
  observer_.OnWrite(Observer::Action::kDelete, key, audit, s, stored.get());
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
  observer_.OnReconcile(key, !s.ok() ? "error" : wrote ? "written" : "unchanged",
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
    // Fold a burst of events into one recompute.
    lock.unlock();
    std::this_thread::sleep_for(options_.debounce);
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

std::shared_ptr<const synth::Result> Controller::LastResult() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_result_;
}

}  // namespace npc::controller
