#include "manager/observers.h"

#include <spdlog/spdlog.h>

#include <map>
#include <optional>

namespace npc::manager {
namespace {

using controller::Observer;
using controller::ReconcileKey;

std::string WorkloadOf(const NetworkPolicy* p) {
  if (!p || !p->owner) return "";
  return p->owner->kind + "/" + p->ns + "/" + p->owner->name;
}

class LogObserver final : public Observer {
 public:
  void OnWrite(Action action, const ReconcileKey& key, bool audit, const Status& result,
               const NetworkPolicy* policy) override {
    static constexpr const char* kVerb[] = {"create", "update", "delete", "label"};
    static constexpr const char* kDone[] = {"created", "updated", "deleted", "labelled"};
    const int a = static_cast<int>(action);
    const char* what = action == Action::kLabelPod ? "Pod" : "NetworkPolicy";
    std::string workload = WorkloadOf(policy);
    std::string why = workload.empty() ? "" : " (for " + workload + ")";
    const std::string name = key.ns + "/" + key.name;
    if (!result.ok()) {
      spdlog::error("failed to {} {} {}{}: {}", kVerb[a], what, name, why, result.ToString());
    } else if (audit) {
      spdlog::info("audit: would {} {} {}{}", kVerb[a], what, name, why);
    } else {
      spdlog::info("{} {} {}{}", kDone[a], what, name, why);
    }
  }
  void OnReconcile(const ReconcileKey& key, std::string_view result,
                   Clock::Duration took) override {
    spdlog::debug("reconciled {}: {} in {} us", key.ToString(), result,
                  std::chrono::duration_cast<std::chrono::microseconds>(took).count());
  }
  void OnKept(const ReconcileKey& key, const std::string& why) override {
    spdlog::warn("keeping NetworkPolicy {}/{} as it is, though nothing wants it now: {}", key.ns,
                 key.name, why);
  }
  void OnConflict(const ReconcileKey& key, const NetworkPolicy& wanted) override {
    spdlog::warn("{}: NetworkPolicy {} exists and is not managed by netpol-ctrl: left untouched, "
                 "{} gets no policy until it is renamed, deleted or labelled {}={}",
                 WorkloadOf(&wanted), key.ToString(), WorkloadOf(&wanted), kManagedByLabel,
                 kManagedByValue);
  }
  void OnRecompute(const synth::Result& r, const std::vector<controller::MadePolicy>& made,
                   const Totals& totals, Clock::Duration took) override {
    spdlog::debug(
        "recomputed {} policies ({} skipped) in {} us; {} policies, {} unresolved references in "
        "all",
        made.size() + r.default_deny.size(), r.skipped.size(),
        std::chrono::duration_cast<std::chrono::microseconds>(took).count(), totals.policies,
        totals.unresolved);
  }
  void OnWarning(const std::string& message) override { spdlog::warn("{}", message); }
  void OnResync(size_t differences, const std::string& examples, Clock::Duration took) override {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
    if (differences == 0) {
      spdlog::debug("resync: every desired policy agrees with a full recompute ({} ms)", ms);
    } else {
      spdlog::error(
          "BUG: the resync found {} desired policies that differ from a full recompute "
          "(corrected now; please report this with the log): {}",
          differences, examples);
    }
  }
};

}  // namespace

std::unique_ptr<Observer> NewLogObserver() {
  return std::make_unique<LogObserver>();
}

OpsObserver::OpsObserver(observability::ControllerMetrics& metrics,
                         observability::ProgressMonitor& progress, EventRecorder* events)
    : metrics_(metrics), progress_(progress), events_(events) {}

void OpsObserver::OnWrite(Action action, const ReconcileKey&, bool audit, const Status& result,
                          const NetworkPolicy* policy) {
  static constexpr const char* kAction[] = {"create", "update", "delete", "label"};
  if (result.ok() && !audit) metrics_.ObserveWrite(kAction[static_cast<int>(action)]);
  if (!events_ || audit || !policy || !policy->owner || action == Action::kDelete) return;
  if (result.ok()) {
    events_->Record(policy->ns, *policy->owner, "Normal",
                    action == Action::kCreate ? "PolicyCreated" : "PolicyUpdated", "Apply",
                    std::string(action == Action::kCreate ? "created" : "updated") +
                        " NetworkPolicy " + policy->name);
  } else {
    events_->Record(policy->ns, *policy->owner, "Warning", "PolicyWriteFailed", "Apply",
                    "cannot write NetworkPolicy " + policy->name + ": " + result.ToString());
  }
}

void OpsObserver::OnReconcile(const ReconcileKey&, std::string_view result, Clock::Duration took) {
  metrics_.ObserveReconcile(result, took);
  progress_.Beat();
}

void OpsObserver::OnRecompute(const synth::Result& r,
                              const std::vector<controller::MadePolicy>& made,
                              const Totals& totals, Clock::Duration) {
  progress_.Beat();
  metrics_.SetManagedPolicies(totals.policies);
  metrics_.SetUnresolvedReferences(totals.unresolved);
  if (!events_) return;
  // Warnings on the workloads concerned; the recorder de-duplicates, so a
  // reference that stays unresolved is reported once per window.
  std::map<WorkloadKey, const OwnerReference*> owners;
  for (const auto& m : made) {
    if (m.summary.owner) owners[m.workload] = &*m.summary.owner;
  }
  auto regarding = [&](const WorkloadKey& k) -> std::optional<OwnerReference> {
    auto it = owners.find(k);
    if (it == owners.end()) return std::nullopt;
    return *it->second;
  };
  for (const auto& u : r.unresolved) {
    if (auto o = regarding(u.client)) {
      events_->Record(u.client.ns, *o, "Warning", "UnresolvedReference", "Resolve",
                      u.source.field + " names " + u.host + (u.port.empty() ? "" : ":" + u.port) +
                          ": " + u.why);
    }
  }
  for (const auto& w : r.warnings) {
    if (auto o = regarding(w.workload)) {
      events_->Record(w.workload.ns, *o, "Warning", "CannotExpress", "Synthesize", w.message);
    }
  }
}

std::string ConflictNote(const NetworkPolicy& wanted) {
  return "NetworkPolicy " + wanted.name +
         " exists and is not managed by netpol-ctrl: left untouched; this workload gets no "
         "policy until that one is renamed or deleted, or labelled " +
         std::string(kManagedByLabel) + "=" + std::string(kManagedByValue) + " to hand it over";
}

void OpsObserver::OnConflict(const ReconcileKey&, const NetworkPolicy& wanted) {
  metrics_.ObservePolicyConflict();
  if (events_ && wanted.owner) {
    events_->Record(wanted.ns, *wanted.owner, "Warning", "PolicyConflict", "Apply",
                    ConflictNote(wanted));
  }
}

void OpsObserver::OnResync(size_t differences, const std::string&, Clock::Duration) {
  progress_.Beat();
  metrics_.ObserveResync(differences);
}

void TeeObserver::OnWrite(Action action, const ReconcileKey& key, bool audit, const Status& result,
                          const NetworkPolicy* policy) {
  for (auto* o : all_) o->OnWrite(action, key, audit, result, policy);
}
void TeeObserver::OnReconcile(const ReconcileKey& key, std::string_view result,
                              Clock::Duration took) {
  for (auto* o : all_) o->OnReconcile(key, result, took);
}
void TeeObserver::OnKept(const ReconcileKey& key, const std::string& why) {
  for (auto* o : all_) o->OnKept(key, why);
}
void TeeObserver::OnRecompute(const synth::Result& r,
                              const std::vector<controller::MadePolicy>& made,
                              const Totals& totals, Clock::Duration took) {
  for (auto* o : all_) o->OnRecompute(r, made, totals, took);
}
void TeeObserver::OnConflict(const ReconcileKey& key, const NetworkPolicy& wanted) {
  for (auto* o : all_) o->OnConflict(key, wanted);
}
void TeeObserver::OnResync(size_t differences, const std::string& examples, Clock::Duration took) {
  for (auto* o : all_) o->OnResync(differences, examples, took);
}
void TeeObserver::OnWarning(const std::string& message) {
  for (auto* o : all_) o->OnWarning(message);
}

}  // namespace npc::manager
