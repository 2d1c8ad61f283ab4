#include "controller/reconciler.h"

#include <algorithm>

namespace npc::controller {

Reconciler::Reconciler(ReconcilerOptions options, ClusterCache& cache, const DesiredState& desired,
                       ReconcileQueue& queue, PolicyWriter& writer, Observer& observer,
                       const Clock& clock)
    : options_(std::move(options)),
      cache_(cache),
      desired_(desired),
      queue_(queue),
      writer_(writer),
      observer_(observer),
      clock_(clock) {}

Reconciler::~Reconciler() {
  Stop();
}

bool Reconciler::Excluded(const std::string& ns) const {
  const auto& ex = options_.excluded_namespaces;
  return std::find(ex.begin(), ex.end(), ns) != ex.end();
}

Status Reconciler::Reconcile(const ReconcileKey& key) {
  bool wrote = false;
  bool kept = false;
  return ReconcileKeyOnce(key, &wrote, &kept);
}

Status Reconciler::ReconcileKeyOnce(const ReconcileKey& key, bool* wrote, bool* kept) {
  if (key.kind == ReconcileKey::Kind::kPodLabel) return ReconcilePodLabel(key, wrote);
  return ReconcilePolicy(key, wrote, kept);
}

Status Reconciler::ReconcilePolicy(const ReconcileKey& key, bool* wrote, bool* kept) {
  const std::optional<Desired> desired = desired_.Get(key);
  const std::optional<PolicySummary> stored = cache_.Stored(key);
  // The namespace's mode: its label, else the global one. Audit writes
  // nothing; with --audit-removes it deletes the managed policies there, but
  // never because of a misspelt label (ns.warning): a typo deletes nothing.
  const synth::NamespaceDecision ns = cache_.NamespaceMode(key.ns);
  const bool audit_ns = ns.mode.value_or(options_.mode) == Mode::kAudit;
  const bool remove = audit_ns && options_.audit_removes && ns.managed && ns.warning.empty();
  const bool audit = audit_ns && !remove;
  // No longer managed: the recompute that follows drops it, and deletes.
  if (desired && !ns.managed) return Status::Ok();
  if (desired && !remove) {
    if (stored && PolicyUpToDate(*stored, desired->summary)) return Status::Ok();
    // The policy to write, from the cache as it is now (the summary may be a
    // batch behind; the next recompute queues this key again if so).
    std::optional<NetworkPolicy> policy =
        desired->default_deny ? synth::DefaultDenyPolicy(key.ns) : cache_.Policy(desired->workload);
    if (!policy) return Status::Ok();  // gone or no longer managed: a recompute is due
    PolicySummary now = Summarize(*policy);
    if (stored && PolicyUpToDate(*stored, now)) return Status::Ok();
    // Rule 8: a policy of that name that is not ours is never taken over.
    // The workload waits; the key is reconciled again when it goes or
    // becomes ours.
    if (!stored && cache_.Foreign(key)) {
      conflicts_++;
      observer_.OnConflict(key, *policy);
      return Status::Ok();
    }
    auto action = stored ? Observer::Action::kUpdate : Observer::Action::kCreate;
    *wrote = true;
    // Ours (stored, labelled): apply with force, so a hand edit is undone.
    // Not known: create only, never over a policy the cache has not seen yet.
    StatusOr<int64_t> written = audit    ? StatusOr<int64_t>(int64_t{0})
                                : stored ? writer_.Apply(*policy)
                                         : writer_.Create(*policy);
    const Status s = written.status();
    if (!stored && (s.code() == StatusCode::kConflict || s.code() == StatusCode::kAlreadyExists)) {
      // Someone holds the name and the watch has not said so yet: report,
      // and try again later (by then the watch tells whose it is).
      conflicts_++;
      observer_.OnConflict(key, *policy);
      return Status(s.code(), "NetworkPolicy " + key.ToString() +
                                  " exists and is not managed by netpol-ctrl: " + s.message());
    }
    observer_.OnWrite(action, key, audit, s, &*policy);
    if (s.ok() && !audit) {
      applies_++;
      now.generation = *written;
      cache_.RecordApplied(key, std::move(now));
    }
    return s;
  }
  if (!stored) return Status::Ok();
  // A managed policy nobody wants (owner deleted, or no longer managed).
  // Never touch excluded namespaces; never judge an owner gone because it
  // could not be read.
  if (Excluded(key.ns)) return Status::Ok();
  if (!remove && stored->owner) {
    if (auto why = cache_.OwnerUnknown(key.ns, *stored->owner)) {
      *kept = true;
      kept_++;
      observer_.OnKept(key, *why);
      return Status::Ok();  // judged again when the owner is read or gone
    }
  }
  *wrote = true;
  Status s = audit ? Status::Ok() : writer_.Delete(key.ns, key.name);
  if (s.code() == StatusCode::kNotFound) s = Status::Ok();
  NetworkPolicy gone;  // what the observer needs of it: where, and whose
  gone.ns = key.ns;
  gone.name = key.name;
  gone.owner = stored->owner;
  observer_.OnWrite(Observer::Action::kDelete, key, audit, s, &gone);
  if (s.ok() && !audit) {
    deletes_++;
    cache_.RecordDeleted(key);
  }
  return s;
}

Status Reconciler::ReconcilePodLabel(const ReconcileKey& key, bool* wrote) {
  if (!cache_.NeedsLabel(key)) return Status::Ok();  // labelled or gone since
  const synth::NamespaceDecision ns = cache_.NamespaceMode(key.ns);
  if (!ns.managed) return Status::Ok();
  const bool audit = ns.mode.value_or(options_.mode) == Mode::kAudit;
  *wrote = true;
  Status s = audit ? Status::Ok()
                   : writer_.LabelPod(key.ns, key.name, std::string(kBarePodLabel),
                                      synth::BarePodLabelValue(key.name));
  if (s.code() == StatusCode::kNotFound) s = Status::Ok();
  observer_.OnWrite(Observer::Action::kLabelPod, key, audit, s, nullptr);
  if (s.ok() && !audit) pod_labels_++;
  return s;
}

void Reconciler::ProcessOne(const ReconcileKey& key) {
  const auto start = clock_.Now();
  bool wrote = false;
  bool kept = false;
  Status s = ReconcileKeyOnce(key, &wrote, &kept);
  reconciles_++;
  if (s.ok()) {
    queue_.Forget(key);
  } else {
    errors_++;
    queue_.AddRateLimited(key);
  }
  observer_.OnReconcile(key,
                        !s.ok() ? "error"
                        : wrote ? "written"
                        : kept  ? "kept"
                                : "unchanged",
                        clock_.Now() - start);
  queue_.Done(key);
}

void Reconciler::DrainForTest() {
  while (auto key = queue_.TryGet()) ProcessOne(*key);
}

void Reconciler::WorkerLoop() {
  while (auto key = queue_.Get()) ProcessOne(*key);
}

void Reconciler::Start() {
  for (int i = 0; i < std::max(1, options_.workers); ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
}

void Reconciler::Stop() {
  queue_.ShutDown();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
}

ReconcilerStats Reconciler::Stats() const {
  return {reconciles_.load(), applies_.load(), deletes_.load(),
          pod_labels_.load(), errors_.load(),  kept_.load(), conflicts_.load()};
}

}  // namespace npc::controller
