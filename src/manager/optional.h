// OptionalInformers: informers for kinds a cluster may or may not serve
// (the Prometheus operator's CRDs, OpenShift Routes, the Gateway API), started
// only where served and stopped when they go.
//
//   OptionalInformers opt(client, {Resource::kServiceMonitors, ...}, make_informer);
//   opt.Start();   // a thread: probes each kind once (start-up), then again when poked, or
//   opt.Poke("routes.route.openshift.io");   // ... a CRD appeared or went (CRD informer)
//   bool ready = opt.InitialSynced();
//   opt.Stop();
//
// Discovery is a LIST with limit=1 of the kind at the version netpol-ctrl
// reads (kube/resources.h): an answer means served, 404 means not served
// (skipped, never a failure; readiness does not wait for it), 403 is taken
// as not served (RBAC answers before routing; a warning says so), anything else
// (403, 5xx, no answer) is logged and probed again every few seconds; until
// it answers, readiness waits for it (it may be served). A kind found served
// at start-up is part of readiness (its first listing comes before the first
// policies are written, so no Prometheus or router flow is missing from
// them); one that appears later joins when its informer has listed.
//
// Later, a CRD appearing or going pokes the thread (the CRD informer sees
// both); every `reprobe` it probes anyway (aggregated APIs such as
// OpenShift's routes come without a CRD). A kind whose probe answers 404
// while its informer runs is gone: the informer is stopped and every object
// it delivered is reported deleted (Informer::ForgetAll), so nothing is left
// of a kind the cluster no longer has.
//
// Thread-safety: Discover, Start and Stop from one thread; Poke,
// InitialSynced, Running and NotSynced from any.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "common/thread_annotations.h"
#include "informer/informer.h"
#include "kube/client.h"
#include "kube/resources.h"

namespace npc::manager {

class OptionalInformers {
 public:
  using Factory = std::function<std::unique_ptr<informer::Informer>(kube::Resource)>;
  struct Options {
    std::chrono::milliseconds reprobe{std::chrono::minutes(5)};
    // Told when a kind's informer starts (true) or stops (false).
    std::function<void(kube::Resource, bool running)> on_change;
  };

  OptionalInformers(kube::Client& client, std::vector<kube::Resource> kinds, Factory make,
                    Options options);
  ~OptionalInformers();
  OptionalInformers(const OptionalInformers&) = delete;
  OptionalInformers& operator=(const OptionalInformers&) = delete;

  // Probes every kind once and starts the informers of those served (on the
  // calling thread; Start() does it on its own).
  void Discover() EXCLUDES(mu_);
  // Starts the thread that discovers, then probes again when poked and
  // every `reprobe`.
  void Start() EXCLUDES(mu_);
  // Stops the thread and every informer (their objects stay: this is a
  // shutdown, not a kind gone).
  void Stop() EXCLUDES(mu_);
  // A CRD of this name ("servicemonitors.monitoring.coreos.com") appeared,
  // changed or went: probe its kind soon. Names of other kinds are ignored.
  void Poke(const std::string& crd_name) EXCLUDES(mu_);

  // Every informer started by Discover() has listed once.
  [[nodiscard]] bool InitialSynced() const EXCLUDES(mu_);
  // "servicemonitors.monitoring.coreos.com (error)" for those that have not.
  [[nodiscard]] std::string NotSynced() const EXCLUDES(mu_);
  [[nodiscard]] std::set<kube::Resource> Running() const EXCLUDES(mu_);

 private:
  enum class Probe { kServed, kNotServed, kUnknown };
  struct Running_ {
    std::unique_ptr<informer::Informer> informer;
    std::unique_ptr<std::atomic<bool>> stop;
    std::thread thread;
    bool initial = false;  // started by Discover(): readiness waits for it
  };

  Probe ProbeKind(kube::Resource r);
  // Probes `r` and starts or stops its informer to match.
  void Reconcile(kube::Resource r, bool initial) EXCLUDES(mu_);
  void StartInformer(kube::Resource r, bool initial) EXCLUDES(mu_);
  void StopInformer(kube::Resource r, bool forget) EXCLUDES(mu_);
  void Loop() EXCLUDES(mu_);

  kube::Client& client_;
  const std::vector<kube::Resource> kinds_;
  const Factory make_;
  const Options options_;

  mutable Mutex mu_;
  CondVar cv_;
  std::map<kube::Resource, Running_> running_ GUARDED_BY(mu_);
  std::set<kube::Resource> poked_ GUARDED_BY(mu_);
  std::map<kube::Resource, std::string> last_probe_error_ GUARDED_BY(mu_);
  // Kinds whose start-up probe got no answer: probed again soon, and
  // readiness waits for them.
  std::set<kube::Resource> pending_initial_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::atomic<bool> probes_stop_{false};  // set with stopping_: ends a probe's retries
  bool discovered_ GUARDED_BY(mu_) = false;  // Discover() has run
  std::thread thread_;
};

}  // namespace npc::manager
