// The parts of a running controller, built and wired from ManagerOptions,
// not yet running: the API client, metrics, leader election, the
// controller, the informers that feed it, the probes. RunManager
// (manager.h) builds them with BuildParts and then runs them; building and
// running are apart so that each part is made in one place and owned by
// one struct (controller-runtime's manager.New and Start).
//
//   NPC_ASSIGN_OR_RETURN(std::unique_ptr<Parts> parts, BuildParts(options));
//   ... start the servers, the informers, the election; wait for sync ...
//
// Members are declared in dependency order: each refers only to those above
// it, and they are destroyed in reverse.
//
// Thread-safety: built on one thread; afterwards each part documents its own.
// `leading` is set by the election thread and read by the runner.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "controller/controller.h"
#include "controller/would_deny.h"
#include "informer/informer.h"
#include "informer/pod_thinner.h"
#include "kube/client.h"
#include "kube/config.h"
#include "leaderelection/leader_elector.h"
#include "leaderelection/lease_lock.h"
#include "manager/config_map_fetcher.h"
#include "manager/events.h"
#include "manager/manager.h"
#include "manager/observers.h"
#include "manager/optional.h"
#include "manager/writer.h"
#include "observability/controller_metrics.h"
#include "observability/health.h"
#include "observability/metrics.h"

namespace npc::manager {

// Feeds informer events to the controller.
class ControllerSink final : public informer::Sink {
 public:
  explicit ControllerSink(controller::Controller& c) : c_(c) {}
  void OnUpsert(decode::Object object) override { c_.Upsert(std::move(object)); }
  void OnDelete(const decode::Meta& meta) override { c_.Remove(meta); }
  void OnUnknown(const decode::Meta& meta, const std::string& why) override {
    c_.MarkUnknown(meta, why);
  }

 private:
  controller::Controller& c_;
};

// Feeds the one watch over every NetworkPolicy to the controller
// (Controller::UpsertPolicy tells the managed ones by their label). One
// watch, not a labelled one beside a metadata-only one: the API server then
// sends each of the controller's writes back once, not twice.
class PolicySink final : public informer::Sink {
 public:
  explicit PolicySink(controller::Controller& c) : c_(c) {}
  void OnUpsert(decode::Object object) override { c_.UpsertPolicy(std::move(object)); }
  void OnDelete(const decode::Meta& meta) override { c_.RemovePolicy(meta); }
  void OnUnknown(const decode::Meta& meta, const std::string& why) override {
    c_.MarkPolicyUnknown(meta, why);
  }

 private:
  controller::Controller& c_;
};

// CustomResourceDefinitions: to the controller (conversion webhooks), and
// to the optional informers (a CRD of a kind they read came or went).
class CrdSink final : public informer::Sink {
 public:
  CrdSink(informer::Sink& next, OptionalInformers& optional) : next_(next), optional_(optional) {}
  void OnUpsert(decode::Object object) override {
    std::string name = object.meta.name;
    next_.OnUpsert(std::move(object));
    optional_.Poke(name);
  }
  void OnDelete(const decode::Meta& meta) override {
    next_.OnDelete(meta);
    optional_.Poke(meta.name);
  }
  void OnUnknown(const decode::Meta& meta, const std::string& why) override {
    next_.OnUnknown(meta, why);
    optional_.Poke(meta.name);
  }

 private:
  informer::Sink& next_;
  OptionalInformers& optional_;
};


// The kinds read only where served (kube/resources.h).
[[nodiscard]] std::vector<kube::Resource> OptionalKinds();

struct Parts {
  kube::RestConfig config;
  observability::Registry registry;
  std::unique_ptr<observability::ControllerMetrics> metrics;
  std::unique_ptr<kube::Client> client;

  // Leader election: null when off. `leading` is true once this replica may
  // run the workers (at once when election is off).
  std::string identity;
  std::string lease_namespace;
  std::unique_ptr<leaderelection::LeaseLock> lease_lock;
  std::unique_ptr<leaderelection::LeaderElector> elector;
  std::atomic<bool> leading{false};
  // Set when leadership is lost: writes in flight end at once, unretried.
  std::atomic<bool> writes_stopped{false};

  std::unique_ptr<EventRecorder> events;  // null: no Events
  std::unique_ptr<KubeWriter> writer;
  std::unique_ptr<observability::ProgressMonitor> progress;
  std::unique_ptr<controller::Observer> log;
  std::unique_ptr<OpsObserver> ops;
  std::unique_ptr<TeeObserver> observer;
  std::unique_ptr<controller::Controller> controller;
  // ConfigMaps on demand: null when synthesis reads no ConfigMaps.
  std::unique_ptr<KubeConfigMapFetcher> config_map_fetcher;

  std::unique_ptr<ControllerSink> sink;
  std::unique_ptr<informer::PodThinner> pods;  // between the pod informer and `sink`
  std::unique_ptr<PolicySink> policies;
  std::vector<std::unique_ptr<informer::Informer>> informers;
  // Kinds served only where their CRDs are (Prometheus operator, Routes,
  // Gateway API); the CRD informer pokes them.
  std::unique_ptr<OptionalInformers> optional;
  std::unique_ptr<CrdSink> crds;

  // Observed traffic (--observed-flows report|allow; null when off): the
  // ObservedFlows informer, started once the CRD is served (ObservedFlowsPart).
  std::unique_ptr<EventRecorder> would_deny_events;  // null: no Events
  std::unique_ptr<controller::WouldDenyReporter> would_deny;
  std::unique_ptr<informer::Sink> observed_sink;
  std::unique_ptr<informer::Informer> observed_informer;
  // Nothing to wait for from ObservedFlows: not allow mode, or the CRD is not
  // served. With allow, the caches are synced only once they are read too, so
  // that a restart never writes a policy without its observed edges.
  std::atomic<bool> observed_settled{false};

  observability::HealthChecks healthz;
  observability::HealthChecks readyz;

  // Every cache has listed its resource once (of the optional kinds, those
  // served at start-up). Latches: once true, stays true.
  bool Synced();
  // "pods (Forbidden (403): ...); services" for the caches not synced.
  std::string NotSynced() const;

 private:
  std::atomic<bool> synced_{false};
};

// Runs the ObservedFlows informer once the CRD is served (checked every
// `retry` until then; never an error when absent), until `stop`.
void RunObservedFlows(Parts& p, const std::atomic<bool>& stop,
                      std::chrono::milliseconds retry = std::chrono::seconds(30));

// Builds and wires every part. Fails for a configuration that does not
// resolve, a client that cannot be made or an invalid election config.
[[nodiscard]] StatusOr<std::unique_ptr<Parts>> BuildParts(const ManagerOptions& options);

}  // namespace npc::manager
