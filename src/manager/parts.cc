#include "manager/parts.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <thread>

#include "leaderelection/kube_lease_lock.h"

namespace npc::manager {
namespace {

std::string LeaseNamespace(const ManagerOptions& o, const kube::RestConfig& config) {
  if (!o.leader_election.ns.empty()) return o.leader_election.ns;
  if (const char* ns = std::getenv("POD_NAMESPACE"); ns && *ns) return ns;
  return config.namespace_name;
}

Status BuildElection(const ManagerOptions& options, Parts& p) {
  const auto& le = options.leader_election;
  p.identity = le.identity.empty() ? leaderelection::DefaultIdentity() : le.identity;
  if (!le.enabled) {
    p.metrics->SetLeader(true);
    p.leading = true;
    return Status::Ok();
  }
  p.lease_namespace = LeaseNamespace(options, p.config);
  NPC_ASSIGN_OR_RETURN(
      p.lease_lock,
      leaderelection::MakeKubeLeaseLock(
          p.config, p.lease_namespace, le.lease_name,
          std::chrono::duration_cast<std::chrono::milliseconds>(le.renew_deadline / 2)));
  leaderelection::ElectionConfig ec;
  ec.lock = p.lease_lock.get();
  ec.identity = p.identity;
  ec.lease_duration = le.lease_duration;
  ec.renew_deadline = le.renew_deadline;
  ec.retry_period = le.retry_period;
  ec.on_started_leading = [&p, name = le.lease_name] {
    spdlog::info("became the leader ({} in Lease {}/{})", p.identity, p.lease_namespace, name);
    p.metrics->SetLeader(true);
    p.leading = true;
  };
  ec.on_stopped_leading = [&p] {
    p.writes_stopped = true;  // a write retried from now could land under the next leader
    p.metrics->SetLeader(false);
  };
  ec.on_new_leader = [&p](const std::string& id) {
    if (id != p.identity) spdlog::info("the leader is {}", id);
  };
  NPC_ASSIGN_OR_RETURN(p.elector, leaderelection::LeaderElector::Create(std::move(ec)));
  return Status::Ok();
}

// Makes the informer of one kind, its hooks bound to the metrics.
std::unique_ptr<informer::Informer> MakeInformer(Parts& p, kube::Resource r, informer::Sink& sink,
                                                 std::string selector = {},
                                                 informer::InformerOptions::Payload payload = {},
                                                 std::string informer_name = {},
                                                 int list_streams = 1) {
  observability::ControllerMetrics& metrics = *p.metrics;
  informer::InformerOptions o;
  o.resource = r;
  o.label_selector = std::move(selector);
  o.payload = payload;
  o.name = std::move(informer_name);
  o.list_streams = list_streams;
  o.on_watch_failure = [&metrics](const std::string& name) { metrics.ObserveWatchRestart(name); };
  o.on_relist = [&metrics](const std::string& name) { metrics.ObserveRelist(name); };
  o.on_decode_error = [&metrics](const std::string& name) { metrics.ObserveDecodeError(name); };
  return std::make_unique<informer::Informer>(*p.client, o, sink);
}

constexpr int kPodListStreams = 2;

void BuildInformers(const ManagerOptions& options, Parts& p) {
  using kube::Resource;
  using Payload = informer::InformerOptions::Payload;
  p.sink = std::make_unique<ControllerSink>(*p.controller);
  // Whole pods (IPs, hostNetwork, owners; bare pods' specs), thinned to what
  // synthesis reads before they reach the cache.
  p.pods = std::make_unique<informer::PodThinner>(*p.sink);
  p.policies = std::make_unique<PolicySink>(*p.controller);
  observability::ControllerMetrics& metrics = *p.metrics;
  OptionalInformers::Options oo;
  oo.on_change = [&metrics](Resource r, bool running) {
    metrics.optional_informers.WithLabels({kube::Info(r).GroupResource()}).Set(running ? 1 : 0);
  };
  p.optional = std::make_unique<OptionalInformers>(
      *p.client, OptionalKinds(),
      [&p](Resource r) { return MakeInformer(p, r, *p.sink); }, std::move(oo));
  for (Resource r : OptionalKinds()) {
    metrics.optional_informers.WithLabels({kube::Info(r).GroupResource()}).Set(0);
  }
  p.crds = std::make_unique<CrdSink>(*p.sink, *p.optional);
  auto add = [&](Resource r, informer::Sink& sink, std::string selector = {},
                 Payload payload = Payload::kAuto, std::string name = {}, int list_streams = 1) {
    p.informers.push_back(
        MakeInformer(p, r, sink, std::move(selector), payload, std::move(name), list_streams));
  };
  add(Resource::kNamespaces, *p.sink);
  add(Resource::kDeployments, *p.sink);
  add(Resource::kStatefulSets, *p.sink);
  add(Resource::kDaemonSets, *p.sink);
  add(Resource::kReplicaSets, *p.sink);
  add(Resource::kJobs, *p.sink);
  add(Resource::kCronJobs, *p.sink);
  // Pods outnumber everything else and start-up waits for their listing:
  // listed by namespace, two requests at a time (at 100,000 Pods the API
  // server encodes one whole listing on one thread).
  add(Resource::kPods, *p.pods, "", Payload::kFull, {}, kPodListStreams);
  add(Resource::kServices, *p.sink);
  add(Resource::kEndpointSlices, *p.sink);
  add(Resource::kIngresses, *p.sink);
  add(Resource::kIngressClasses, *p.sink);
  add(Resource::kValidatingWebhookConfigurations, *p.sink);
  add(Resource::kMutatingWebhookConfigurations, *p.sink);
  add(Resource::kAPIServices, *p.sink);
  add(Resource::kCustomResourceDefinitions, *p.crds);
  if (options.controller.synthesis.read_config_maps) add(Resource::kConfigMaps, *p.sink);
  if (options.controller.synthesis.read_secrets) add(Resource::kSecrets, *p.sink);
  // Every NetworkPolicy, whole (PolicySink tells the managed ones apart).
  add(Resource::kNetworkPolicies, *p.policies, "", Payload::kFull);
}

// Hands ObservedFlows objects to the WouldDeny reporter (which feeds the
// model in allow mode).
class ObservedFlowsSink final : public informer::Sink {
 public:
  explicit ObservedFlowsSink(controller::WouldDenyReporter& r) : r_(r) {}
  void OnUpsert(decode::Object object) override { r_.Upsert(std::move(object)); }
  void OnDelete(const decode::Meta& meta) override { r_.Remove(meta); }
  void OnUnknown(const decode::Meta& meta, const std::string& why) override {
    spdlog::warn("ObservedFlows {}/{} cannot be read: {}", meta.ns, meta.name, why);
  }

 private:
  controller::WouldDenyReporter& r_;
};

// Observed traffic (DESIGN.md section 5): WouldDeny Events and, with allow,
// observed edges. Apart from BuildInformers: its informer waits for the CRD.
void BuildObservedFlows(const ManagerOptions& options, Parts& p) {
  const SynthesisConfig& sc = options.controller.synthesis;
  if (sc.observed_flows == ObservedFlowsMode::kOff) return;
  if (options.events) {
    EventRecorderOptions eo;
    eo.reporting_instance = p.identity;
    p.would_deny_events = std::make_unique<EventRecorder>(*p.client, eo);
  }
  controller::WouldDenyOptions wo;
  wo.mode = sc.observed_flows;
  wo.ttl = options.observed_flows_ttl;
  controller::Controller& c = *p.controller;
  controller::WouldDenyReporter::Model model;
  if (sc.observed_flows == ObservedFlowsMode::kAllow) {
    model.upsert = [&c](decode::Object o) { c.Upsert(std::move(o)); };
    model.remove = [&c](const decode::Meta& m) { c.Remove(m); };
  }
  EventRecorder* events = p.would_deny_events.get();
  observability::ControllerMetrics& metrics = *p.metrics;
  p.would_deny = std::make_unique<controller::WouldDenyReporter>(
      wo, [&c](const std::vector<ObservedFlow>& flows) { return c.JudgeObserved(flows); },
      std::move(model),
      [events](const controller::WouldDenyEvent& e) {
        if (events) events->Record(e.ns, e.regarding, "Warning", "WouldDeny", "Observe", e.note);
      });
  controller::WouldDenyReporter& r = *p.would_deny;
  p.registry
      .AddCollector("netpol_ctrl_observed_flows",
                    "Observed flows (ObservedFlows objects, merged over nodes) held.",
                    observability::MetricType::kGauge)
      .SetValue([&r] { return double(r.Stats().flows); });
  p.registry
      .AddCollector("netpol_ctrl_observed_flows_would_deny",
                    "Observed flows the desired policies would deny, at the last judgement.",
                    observability::MetricType::kGauge)
      .SetValue([&r] { return double(r.Stats().would_deny); });
  p.registry
      .AddCollector("netpol_ctrl_would_deny_events_total",
                    "WouldDeny Events posted (one per flow per hour).",
                    observability::MetricType::kCounter)
      .SetValue([&r] { return double(r.Stats().events); });
  p.observed_sink = std::make_unique<ObservedFlowsSink>(r);
  informer::InformerOptions o;
  o.resource = kube::Resource::kObservedFlows;
  o.on_watch_failure = [&metrics](const std::string& name) { metrics.ObserveWatchRestart(name); };
  o.on_relist = [&metrics](const std::string& name) { metrics.ObserveRelist(name); };
  o.on_decode_error = [&metrics](const std::string& name) { metrics.ObserveDecodeError(name); };
  p.observed_informer = std::make_unique<informer::Informer>(*p.client, o, *p.observed_sink);
  // Only allow changes policies: report never holds the first write back.
  p.observed_settled = sc.observed_flows != ObservedFlowsMode::kAllow;
}

}  // namespace

std::vector<kube::Resource> OptionalKinds() {
  using kube::Resource;
  return {Resource::kPrometheuses,   Resource::kServiceMonitors, Resource::kPodMonitors,
          Resource::kRoutes,         Resource::kGatewayClasses,  Resource::kGateways,
          Resource::kHTTPRoutes,     Resource::kGRPCRoutes,      Resource::kTLSRoutes,
          Resource::kTCPRoutes,      Resource::kUDPRoutes};
}

void RunObservedFlows(Parts& p, const std::atomic<bool>& stop, std::chrono::milliseconds retry) {
  if (!p.observed_informer) return;
  bool said = false;
  while (!stop) {
    kube::ListOptions lo;
    lo.limit = 1;
    lo.stop = &stop;
    auto probe = p.client->List(kube::Resource::kObservedFlows, "", lo);
    if (stop) return;
    if (probe.ok()) {
      spdlog::info("watching ObservedFlows");
      p.observed_informer->Run(stop);
      return;
    }
    const int code = probe.error().http_code;
    auto wait = retry;
    if (code == 404 || code == 403) {
      // Not served (or not granted): nothing to wait for; picked up when it is.
      p.observed_settled = true;
      if (!said) {
        said = true;
        spdlog::info(
            "ObservedFlows are not readable ({}): observed traffic is ignored until "
            "the agent's CRD is installed (kubectl apply -k deploy/agent/); checking "
            "again every {} s",
            probe.error().Describe(), retry.count() / 1000);
      }
    } else {
      // A failed request says nothing: try again soon (readiness waits in allow mode).
      spdlog::warn("reading ObservedFlows: {}", probe.error().Describe());
      wait = std::min(retry, std::chrono::milliseconds(2000));
    }
    for (auto waited = std::chrono::milliseconds(0); waited < wait && !stop;
         waited += std::chrono::milliseconds(100)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

bool Parts::Synced() {
  if (synced_) return true;
  for (const auto& i : informers) {
    if (!i->synced()) return false;
  }
  if (!optional->InitialSynced()) return false;
  if (observed_informer && !observed_settled && !observed_informer->synced()) return false;
  synced_ = true;
  return true;
}

std::string Parts::NotSynced() const {
  std::string out;
  for (const auto& i : informers) {
    if (i->synced()) continue;
    if (!out.empty()) out += "; ";
    out += i->name();
    if (!i->last_error().empty()) out += " (" + i->last_error() + ")";
  }
  if (observed_informer && !observed_settled && !observed_informer->synced()) {
    if (!out.empty()) out += "; ";
    out += "observedflows";
  }
  if (std::string o = optional->NotSynced(); !o.empty()) {
    if (!out.empty()) out += "; ";
    out += o;
  }
  return out;
}

StatusOr<std::unique_ptr<Parts>> BuildParts(const ManagerOptions& options) {
  auto parts = std::make_unique<Parts>();
  Parts& p = *parts;
  NPC_ASSIGN_OR_RETURN(p.config, kube::ResolveConfig(options.kube));
  spdlog::info("using {} (server {})", p.config.origin, p.config.server);

  p.metrics = std::make_unique<observability::ControllerMetrics>(
      p.registry, observability::BuildInfo{.version = NPC_VERSION});
  observability::ControllerMetrics& metrics = *p.metrics;
  kube::ClientOptions client_options = options.client;
  client_options.on_rate_limit_wait = [&metrics](auto waited) {
    metrics.ObserveRateLimiterWait(waited);
  };
  client_options.on_request = [&metrics](std::string_view verb, int code) {
    metrics.ObserveApiRequest(verb, code);
  };
  NPC_ASSIGN_OR_RETURN(p.client, kube::MakeClient(p.config, client_options));

  // Leader election: every replica warms its caches; only the leader writes.
  NPC_RETURN_IF_ERROR(BuildElection(options, p));
  std::function<bool()> may_write;
  if (p.elector) may_write = [e = p.elector.get()] { return e->IsLeader(); };

  // Also in audit mode: a namespace labelled netpol-ctrl.io/mode=enforce writes.
  if (options.events) {
    EventRecorderOptions eo;
    eo.reporting_instance = p.identity;
    p.events = std::make_unique<EventRecorder>(*p.client, eo);
  }
  p.writer = std::make_unique<KubeWriter>(*p.client, may_write, &p.writes_stopped);
  p.progress =
      std::make_unique<observability::ProgressMonitor>(RealClock::Get(), std::chrono::minutes(2));
  p.log = NewLogObserver();
  p.ops = std::make_unique<OpsObserver>(metrics, *p.progress, p.events.get());
  std::vector<controller::Observer*> observers = {p.log.get(), p.ops.get()};
  if (options.observer) observers.push_back(options.observer);
  p.observer = std::make_unique<TeeObserver>(std::move(observers));
  p.controller =
      std::make_unique<controller::Controller>(options.controller, *p.writer, *p.observer);
  controller::Controller& c = *p.controller;
  if (options.controller.synthesis.read_config_maps) {
    // Only the ConfigMaps some workload reads keep their data in the cache.
    p.config_map_fetcher = std::make_unique<KubeConfigMapFetcher>(*p.client, c);
    c.SetConfigMapFetcher(p.config_map_fetcher.get());
  }
  c.queue().SetHooks([&metrics] { metrics.ObserveQueueAdd(); },
                     [&metrics] { metrics.ObserveQueueRetry(); });
  metrics.BindQueueDepth([&c] { return double(c.queue().Stats().depth); });
  metrics.unknown_objects.SetValue([&c] { return double(c.Stats().unknown); });

  BuildInformers(options, p);
  BuildObservedFlows(options, p);

  // Probes. The checks read parts that live as long as the probe server.
  p.healthz.Add("workers", [&p] { return p.progress->Check(p.controller->queue().Stats().depth); });
  p.readyz.Add("informers", [&p] {
    return p.Synced() ? Status::Ok() : Unavailable("caches not synced: " + p.NotSynced());
  });
  return parts;
}

}  // namespace npc::manager
