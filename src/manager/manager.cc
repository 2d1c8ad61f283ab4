#include "manager/manager.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "decode/decode.h"
#include "informer/informer.h"
#include "leaderelection/kube_lease_lock.h"
#include "leaderelection/leader_elector.h"
#include "manager/events.h"
#include "observability/controller_metrics.h"
#include "observability/health.h"
#include "observability/http_server.h"
#include "render/render.h"

namespace npc::manager {
namespace {

using controller::Controller;
using controller::Observer;
using controller::PolicyWriter;

class KubeWriter final : public PolicyWriter {
 public:
  // `may_write`, when set, is asked before every write: a replica that is not
  // (or no longer) the leader never writes.
  KubeWriter(kube::Client& client, std::function<bool()> may_write)
      : client_(client), may_write_(std::move(may_write)) {}

  Status Apply(const NetworkPolicy& policy) override {
    NPC_RETURN_IF_ERROR(CheckLeader());
    std::string body = render::PolicyToJson(policy).dump();
    auto r = client_.Apply(kube::Resource::kNetworkPolicies, policy.ns, policy.name, body, {});
    return r.status();
  }

  Status Delete(const std::string& ns, const std::string& name) override {
    NPC_RETURN_IF_ERROR(CheckLeader());
    auto r = client_.Delete(kube::Resource::kNetworkPolicies, ns, name, {});
    return r.status();
  }

  Status LabelPod(const std::string& ns, const std::string& name, const std::string& key,
                  const std::string& value) override {
    NPC_RETURN_IF_ERROR(CheckLeader());
    nlohmann::json patch = {{"metadata", {{"labels", {{key, value}}}}}};
    auto r = client_.MergePatch(kube::Resource::kPods, ns, name, patch.dump(), {});
    return r.status();
  }

 private:
  Status CheckLeader() const {
    if (may_write_ && !may_write_()) {
      return Status(StatusCode::kCancelled, "not the leader: writes are stopped");
    }
    return Status::Ok();
  }
  kube::Client& client_;
  std::function<bool()> may_write_;
};

std::string WorkloadOf(const NetworkPolicy* p) {
  if (!p || !p->owner) return "";
  return p->owner->kind + "/" + p->ns + "/" + p->owner->name;
}

class LogObserver final : public Observer {
 public:
  void OnWrite(Action action, const std::string& key, bool audit, const Status& result,
               const NetworkPolicy* policy) override {
    static constexpr const char* kVerb[] = {"create", "update", "delete", "label"};
    static constexpr const char* kDone[] = {"created", "updated", "deleted", "labelled"};
    const int a = static_cast<int>(action);
    const char* what = action == Action::kLabelPod ? "Pod" : "NetworkPolicy";
    std::string workload = WorkloadOf(policy);
    std::string why = workload.empty() ? "" : " (for " + workload + ")";
    if (!result.ok()) {
      spdlog::error("failed to {} {} {}{}: {}", kVerb[a], what, key, why, result.ToString());
    } else if (audit) {
      spdlog::info("audit: would {} {} {}{}", kVerb[a], what, key, why);
    } else {
      spdlog::info("{} {} {}{}", kDone[a], what, key, why);
    }
  }
  void OnReconcile(const std::string& key, std::string_view result, Clock::Duration took) override {
    spdlog::debug("reconciled {}: {} in {} us", key, result,
                  std::chrono::duration_cast<std::chrono::microseconds>(took).count());
  }
  void OnRecompute(const synth::Result& r, const Totals& totals, Clock::Duration took) override {
    spdlog::debug(
        "recomputed {} policies ({} skipped) in {} us; {} policies, {} unresolved references in "
        "all",
        r.policies.size() + r.default_deny.size(), r.skipped.size(),
        std::chrono::duration_cast<std::chrono::microseconds>(took).count(), totals.policies,
        totals.unresolved);
  }
};

// Metrics, liveness and Events from what the controller reports.
class OpsObserver final : public Observer {
 public:
  OpsObserver(observability::ControllerMetrics& metrics, observability::ProgressMonitor& progress,
              EventRecorder* events)
      : metrics_(metrics), progress_(progress), events_(events) {}

  void OnWrite(Action action, const std::string&, bool audit, const Status& result,
               const NetworkPolicy* policy) override {
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
  void OnReconcile(const std::string&, std::string_view result, Clock::Duration took) override {
    metrics_.ObserveReconcile(result, took);
    progress_.Beat();
  }
  void OnRecompute(const synth::Result& r, const Totals& totals, Clock::Duration) override {
    progress_.Beat();
    metrics_.SetManagedPolicies(totals.policies);
    metrics_.SetUnresolvedReferences(totals.unresolved);
    if (!events_) return;
    // Warnings on the workloads concerned; the recorder de-duplicates, so a
    // reference that stays unresolved is reported once per window.
    std::map<WorkloadKey, const synth::WorkloadPolicy*> owners;
    for (const auto& p : r.policies) owners[p.workload] = &p;
    auto regarding = [&](const WorkloadKey& k) -> std::optional<OwnerReference> {
      auto it = owners.find(k);
      if (it == owners.end() || !it->second->policy.owner) return std::nullopt;
      return it->second->policy.owner;
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

 private:
  observability::ControllerMetrics& metrics_;
  observability::ProgressMonitor& progress_;
  EventRecorder* events_;
};

// Hands every notification to each observer in turn.
class TeeObserver final : public Observer {
 public:
  explicit TeeObserver(std::vector<Observer*> all) : all_(std::move(all)) {}
  void OnWrite(Action action, const std::string& key, bool audit, const Status& result,
               const NetworkPolicy* policy) override {
    for (auto* o : all_) o->OnWrite(action, key, audit, result, policy);
  }
  void OnReconcile(const std::string& key, std::string_view result, Clock::Duration took) override {
    for (auto* o : all_) o->OnReconcile(key, result, took);
  }
  void OnRecompute(const synth::Result& r, const Totals& totals, Clock::Duration took) override {
    for (auto* o : all_) o->OnRecompute(r, totals, took);
  }

 private:
  std::vector<Observer*> all_;
};

// Feeds informer events to the controller.
class ControllerSink : public informer::Sink {
 public:
  explicit ControllerSink(Controller& c) : c_(c) {}
  void OnUpsert(decode::Object object) override { c_.Upsert(std::move(object)); }
  void OnDelete(const decode::Meta& meta) override { c_.Remove(meta); }

 protected:
  Controller& c_;
};

// Pods arrive as metadata only. A pod run by a controller is never a
// workload; for a bare pod the sink reads its spec once per change (here, on
// the informer's thread, never inside a reconcile).
class PodSink final : public ControllerSink {
 public:
  PodSink(Controller& c, kube::Client& client) : ControllerSink(c), client_(client) {}
  void OnUpsert(decode::Object object) override {
    if (object.meta.controller) {
      // Owned pods are not cached; make sure a formerly bare one is forgotten.
      c_.Remove(object.meta);
      return;
    }
    auto pod = client_.Get(kube::Resource::kPods, object.meta.ns, object.meta.name);
    if (!pod.ok()) {
      if (pod.error().reason != kube::Reason::kNotFound) {
        spdlog::warn("Pod {}/{}: cannot read the spec of this bare pod: {}", object.meta.ns,
                     object.meta.name, pod.status().ToString());
      }
      return;
    }
    auto full = decoder_.Decode(pod->json, {"Pod", false});
    if (!full.ok()) {
      spdlog::error("Pod {}/{}: {}", object.meta.ns, object.meta.name, full.status().message());
      return;
    }
    c_.Upsert(std::move(*full));
  }

 private:
  kube::Client& client_;
  decode::Decoder decoder_;
};

struct InformerSet {
  std::vector<std::unique_ptr<informer::Sink>> sinks;
  std::vector<std::unique_ptr<informer::Informer>> informers;

  bool synced() const {
    for (const auto& i : informers) {
      if (!i->synced()) return false;
    }
    return true;
  }
  // "pods (Forbidden (403): ...); services" for those not synced.
  std::string NotSynced() const {
    std::string out;
    for (const auto& i : informers) {
      if (i->synced()) continue;
      if (!out.empty()) out += "; ";
      out += i->name();
      if (!i->last_error().empty()) out += " (" + i->last_error() + ")";
    }
    return out;
  }
};

InformerSet MakeInformers(kube::Client& client, Controller& controller, bool config_maps,
                          observability::ControllerMetrics& metrics) {
  using kube::Resource;
  InformerSet set;
  set.sinks.push_back(std::make_unique<ControllerSink>(controller));
  set.sinks.push_back(std::make_unique<PodSink>(controller, client));
  informer::Sink& plain = *set.sinks[0];
  informer::Sink& pods = *set.sinks[1];
  auto add = [&](Resource r, informer::Sink& sink, std::string selector = {},
                 bool meta_only = false) {
    informer::InformerOptions o;
    o.resource = r;
    o.label_selector = std::move(selector);
    o.pod_meta_only = meta_only;
    o.on_watch_failure = [&metrics](const std::string& name) { metrics.ObserveWatchRestart(name); };
    o.on_relist = [&metrics](const std::string& name) { metrics.ObserveRelist(name); };
    set.informers.push_back(std::make_unique<informer::Informer>(client, o, sink));
  };
  add(Resource::kNamespaces, plain);
  add(Resource::kDeployments, plain);
  add(Resource::kStatefulSets, plain);
  add(Resource::kDaemonSets, plain);
  add(Resource::kReplicaSets, plain);
  add(Resource::kJobs, plain);
  add(Resource::kCronJobs, plain);
  add(Resource::kPods, pods, "", /*meta_only=*/true);
  add(Resource::kServices, plain);
  add(Resource::kEndpointSlices, plain);
  add(Resource::kIngresses, plain);
  if (config_maps) add(Resource::kConfigMaps, plain);
  add(Resource::kNetworkPolicies, plain,
      std::string(kManagedByLabel) + "=" + std::string(kManagedByValue));
  return set;
}

std::string LeaseNamespace(const ManagerOptions& o, const kube::RestConfig& config) {
  if (!o.leader_election.ns.empty()) return o.leader_election.ns;
  if (const char* ns = std::getenv("POD_NAMESPACE"); ns && *ns) return ns;
  return config.namespace_name;
}

}  // namespace

std::unique_ptr<PolicyWriter> NewKubeWriter(kube::Client& client) {
  return std::make_unique<KubeWriter>(client, nullptr);
}

std::unique_ptr<Observer> NewLogObserver() {
  return std::make_unique<LogObserver>();
}

Status RunManager(const ManagerOptions& options, const std::atomic<bool>& stop) {
  NPC_ASSIGN_OR_RETURN(kube::RestConfig config, kube::ResolveConfig(options.kube));
  spdlog::info("using {} (server {})", config.origin, config.server);

  observability::Registry registry;
  observability::ControllerMetrics metrics(registry, {.version = NPC_VERSION});
  kube::ClientOptions client_options = options.client;
  client_options.on_rate_limit_wait = [&metrics](auto waited) {
    metrics.ObserveRateLimiterWait(waited);
  };
  client_options.on_request = [&metrics](std::string_view verb, int code) {
    metrics.ObserveApiRequest(verb, code);
  };
  NPC_ASSIGN_OR_RETURN(std::unique_ptr<kube::Client> client,
                       kube::MakeClient(config, client_options));

  // Leader election: every replica warms its caches; only the leader writes.
  std::unique_ptr<leaderelection::LeaseLock> lock;
  std::unique_ptr<leaderelection::LeaderElector> elector;
  std::function<bool()> may_write;
  const auto& le = options.leader_election;
  std::string identity = le.identity.empty() ? leaderelection::DefaultIdentity() : le.identity;
  std::atomic<bool> start_workers{false};
  std::atomic<bool> lost{false};
  if (le.enabled) {
    const std::string ns = LeaseNamespace(options, config);
    NPC_ASSIGN_OR_RETURN(
        lock, leaderelection::MakeKubeLeaseLock(
                  config, ns, le.lease_name,
                  std::chrono::duration_cast<std::chrono::milliseconds>(le.renew_deadline / 2)));
    leaderelection::ElectionConfig ec;
    ec.lock = lock.get();
    ec.identity = identity;
    ec.lease_duration = le.lease_duration;
    ec.renew_deadline = le.renew_deadline;
    ec.retry_period = le.retry_period;
    ec.on_started_leading = [&, ns] {
      spdlog::info("became the leader ({} in Lease {}/{})", identity, ns, le.lease_name);
      metrics.SetLeader(true);
      start_workers = true;
    };
    ec.on_stopped_leading = [&] { metrics.SetLeader(false); };
    ec.on_new_leader = [&](const std::string& id) {
      if (id != identity) spdlog::info("the leader is {}", id);
    };
    NPC_ASSIGN_OR_RETURN(elector, leaderelection::LeaderElector::Create(std::move(ec)));
    may_write = [e = elector.get()] { return e->IsLeader(); };
  } else {
    metrics.SetLeader(true);
    start_workers = true;
  }

  std::unique_ptr<EventRecorder> events;
  if (options.events && options.controller.mode == Mode::kEnforce) {
    EventRecorderOptions eo;
    eo.reporting_instance = identity;
    events = std::make_unique<EventRecorder>(*client, eo);
  }

  KubeWriter writer(*client, may_write);
  observability::ProgressMonitor progress(RealClock::Get(), std::chrono::minutes(2));
  auto log = NewLogObserver();
  OpsObserver ops(metrics, progress, events.get());
  std::vector<Observer*> observers = {log.get(), &ops};
  if (options.observer) observers.push_back(options.observer);
  TeeObserver observer(observers);
  Controller controller(options.controller, writer, observer);
  controller.queue().SetHooks([&metrics] { metrics.ObserveQueueAdd(); },
                              [&metrics] { metrics.ObserveQueueRetry(); });
  metrics.BindQueueDepth([&controller] { return double(controller.queue().Stats().depth); });

  InformerSet set =
      MakeInformers(*client, controller, options.controller.synthesis.read_config_maps, metrics);

  // Probes and metrics. The checks read state that lives until the servers stop.
  observability::HealthChecks healthz, readyz;
  healthz.Add("workers", [&] { return progress.Check(controller.queue().Stats().depth); });
  readyz.Add("informers", [&set] {
    return set.synced() ? Status::Ok() : Unavailable("caches not synced: " + set.NotSynced());
  });
  NPC_ASSIGN_OR_RETURN(
      auto metrics_server,
      observability::HttpServer::Start({.bind_address = options.metrics_bind_address},
                                       {{"/metrics", observability::MetricsHandler(registry)}}));
  NPC_ASSIGN_OR_RETURN(auto probe_server, observability::HttpServer::Start(
                                              {.bind_address = options.health_probe_bind_address},
                                              {{"/healthz", observability::HealthHandler(healthz)},
                                               {"/readyz", observability::HealthHandler(readyz)}}));
  if (metrics_server->enabled()) spdlog::info("metrics on :{}/metrics", metrics_server->port());
  if (probe_server->enabled()) {
    spdlog::info("probes on :{}/healthz and /readyz", probe_server->port());
  }

  std::atomic<bool> stop_informers{false};
  std::vector<std::thread> threads;
  for (auto& inf : set.informers) {
    threads.emplace_back([&stop_informers, i = inf.get()] { i->Run(stop_informers); });
  }
  std::atomic<bool> stop_election{false};
  Status election_status;
  std::thread election_thread;
  if (elector) {
    election_thread = std::thread([&] {
      election_status = elector->Run(stop_election);
      if (!election_status.ok()) lost = true;
    });
  }
  auto shutdown = [&] {
    // In-flight reconciles finish first; then the lease is released, so the
    // next leader starts at once; then the watches stop.
    controller.Stop();
    stop_election = true;
    if (election_thread.joinable()) election_thread.join();
    stop_informers = true;
    for (auto& t : threads) t.join();
    probe_server->Stop();
    metrics_server->Stop();
    metrics.UnbindQueueDepth();
  };

  // Wait for every cache, then (as the leader) compute and reconcile everything once.
  const auto start = std::chrono::steady_clock::now();
  auto last_report = start;
  while (!stop && !lost && !set.synced()) {
    auto now = std::chrono::steady_clock::now();
    if (now - last_report > std::chrono::seconds(10)) {
      last_report = now;
      spdlog::warn("waiting for caches to sync: {}", set.NotSynced());
    }
    if (options.sync_timeout.count() > 0 && now - start > options.sync_timeout) {
      std::string missing = set.NotSynced();
      shutdown();
      return Status(StatusCode::kDeadlineExceeded, "caches did not sync: " + missing);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!stop && !lost) {
    spdlog::info("caches synced in {} ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                               std::chrono::steady_clock::now() - start)
                                               .count());
    if (!start_workers) spdlog::info("waiting to become the leader ({})", identity);
  }
  bool started = false;
  while (!stop && !lost) {
    if (!started && start_workers) {
      started = true;
      controller.Start();
      controller.MarkSynced();
      if (options.on_started) options.on_started(controller);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (lost) {
    spdlog::error("lost leadership: {}; stopping at once", election_status.ToString());
    shutdown();
    return Status(StatusCode::kUnavailable, "lost leadership: " + election_status.ToString());
  }
  spdlog::info("shutting down");
  shutdown();
  return Status::Ok();
}

}  // namespace npc::manager
