// The controller's observers: the log, the operations side (metrics,
// liveness, Events on workloads), and a tee that hands every notification to
// several of them.
//
// Thread-safety: every observer is called from the workers and from the
// desired-state thread at once; each is safe for that (the log and metrics
// are thread-safe, the Event recorder queues).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "controller/interfaces.h"
#include "manager/events.h"
#include "observability/controller_metrics.h"
#include "observability/health.h"

namespace npc::manager {

// Logs what the controller does ("created NetworkPolicy shop/deployment-web
// for Deployment/shop/web"), at info for writes and debug for the rest; a
// resync difference is an error.
std::unique_ptr<controller::Observer> NewLogObserver();

// Metrics, liveness and Events from what the controller reports.
class OpsObserver final : public controller::Observer {
 public:
  // `events` may be null (no Events posted).
  OpsObserver(observability::ControllerMetrics& metrics, observability::ProgressMonitor& progress,
              EventRecorder* events);

  void OnWrite(Action action, const controller::ReconcileKey& key, bool audit, const Status& result,
               const NetworkPolicy* policy) override;
  void OnReconcile(const controller::ReconcileKey& key, std::string_view result,
                   Clock::Duration took) override;
  void OnRecompute(const synth::Result& r, const std::vector<controller::MadePolicy>& made,
                   const Totals& totals, Clock::Duration took) override;
  void OnResync(size_t differences, const std::string& examples, Clock::Duration took) override;
  void OnConflict(const controller::ReconcileKey& key, const NetworkPolicy& wanted) override;

 private:
  observability::ControllerMetrics& metrics_;
  observability::ProgressMonitor& progress_;
  EventRecorder* events_;
};

// Hands every notification to each observer in turn.
class TeeObserver final : public controller::Observer {
 public:
  explicit TeeObserver(std::vector<controller::Observer*> all) : all_(std::move(all)) {}
  void OnWrite(Action action, const controller::ReconcileKey& key, bool audit, const Status& result,
               const NetworkPolicy* policy) override;
  void OnReconcile(const controller::ReconcileKey& key, std::string_view result,
                   Clock::Duration took) override;
  void OnKept(const controller::ReconcileKey& key, const std::string& why) override;
  void OnRecompute(const synth::Result& r, const std::vector<controller::MadePolicy>& made,
                   const Totals& totals, Clock::Duration took) override;
  void OnResync(size_t differences, const std::string& examples, Clock::Duration took) override;
  void OnConflict(const controller::ReconcileKey& key, const NetworkPolicy& wanted) override;
  void OnWarning(const std::string& message) override;

 private:
  std::vector<controller::Observer*> all_;
};

}  // namespace npc::manager
