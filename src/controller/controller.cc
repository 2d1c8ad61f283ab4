#include "controller/controller.h"

namespace npc::controller {

Controller::Controller(ControllerOptions options, PolicyWriter& writer, Observer& observer,
                       const Clock& clock)
    : cache_(options.synthesis),
      queue_(clock),
      desired_(
          {.debounce = options.debounce, .resync_period = options.resync_period}, cache_, observer,
          [this](const ReconcileKey& k) { queue_.Add(k); }, clock),
      reconciler_({.mode = options.mode,
                   .audit_removes = options.audit_removes,
                   .workers = options.workers,
                   .excluded_namespaces = options.synthesis.excluded_namespaces},
                  cache_, desired_, queue_, writer, observer, clock),
      observer_(observer) {}

Controller::~Controller() {
  Stop();
}

void Controller::Apply(const ClusterCache::Effect& effect) {
  for (const auto& k : effect.reconcile) queue_.Add(k);
  if (fetcher_) {
    for (const auto& [ns, name] : effect.fetch) fetcher_->Fetch(ns, name);
  }
  if (effect.model_changed) desired_.Notify();
  if (effect.synced_now) desired_.MarkSynced();
  for (const std::string& w : effect.mode_warnings) {
    // Also with --audit-removes: a typo never deletes (Reconciler).
    observer_.OnWarning(w + ": nothing is written there and its managed policies are kept as they are");
  }
}

void Controller::SetConfigMapFetcher(ConfigMapFetcher* fetcher) {
  fetcher_ = fetcher;
  if (fetcher_) cache_.DropUnreadConfigMaps();
}

void Controller::UpsertFetched(const decode::Object& object) {
  Apply(cache_.UpsertFetched(object));
}

void Controller::Upsert(decode::Object object) {
  Apply(cache_.Upsert(object));
}

void Controller::Remove(const decode::Meta& meta) {
  Apply(cache_.Remove(meta));
}

void Controller::ObservePolicyName(const decode::Meta& meta, bool present) {
  Apply(cache_.ObservePolicyName(meta, present));
}

void Controller::MarkUnknown(const decode::Meta& meta, const std::string& why) {
  Apply(cache_.MarkUnknown(meta, why));
}

void Controller::UpsertPolicy(decode::Object object) {
  ObservePolicyName(object.meta, true);
  auto label = object.meta.labels.find(std::string(kManagedByLabel));
  if (label != object.meta.labels.end() && label->second == kManagedByValue) {
    Upsert(std::move(object));
  } else {
    Remove(object.meta);  // not ours, or no longer: the cache holds nothing of it
  }
}

void Controller::RemovePolicy(const decode::Meta& meta) {
  ObservePolicyName(meta, false);
  Remove(meta);
}

void Controller::MarkPolicyUnknown(const decode::Meta& meta, const std::string& why) {
  ObservePolicyName(meta, true);  // its labels were not read: not ours to write
  MarkUnknown(meta, why);
}

void Controller::MarkSynced() {
  if (cache_.RequestSynced()) desired_.MarkSynced();
}

void Controller::Start() {
  desired_.Start();
  reconciler_.Start();
}

void Controller::Stop() {
  // The computing thread first: it enqueues; then the workers finish.
  desired_.Stop();
  reconciler_.Stop();
}

void Controller::Recompute() {
  (void)desired_.Step();
}

void Controller::Resync() {
  desired_.RequestResync();
  while (desired_.Step()) {
  }
}

Status Controller::Reconcile(const ReconcileKey& key) {
  return reconciler_.Reconcile(key);
}

void Controller::DrainForTest() {
  while (desired_.Step()) {
  }
  reconciler_.DrainForTest();
}

ControllerStats Controller::Stats() const {
  const DesiredStats d = desired_.Stats();
  const ReconcilerStats r = reconciler_.Stats();
  const ClusterCache::Counts c = cache_.counts();
  ControllerStats s;
  s.recomputes = d.recomputes;
  s.resyncs = d.resyncs;
  s.resync_differences = d.resync_differences;
  s.reconciles = r.reconciles;
  s.applies = r.applies;
  s.deletes = r.deletes;
  s.pod_labels = r.pod_labels;
  s.errors = r.errors;
  s.kept = r.kept;
  s.conflicts = r.conflicts;
  s.foreign = c.foreign;
  s.desired = d.desired;
  s.stored = c.stored;
  s.unresolved = d.unresolved;
  s.unknown = c.unknown;
  return s;
}

}  // namespace npc::controller
