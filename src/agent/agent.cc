#include "agent/agent.h"

#include <spdlog/spdlog.h>

#include <memory>
#include <thread>
#include <vector>

#include "agent/address_map.h"
#include "agent/conntrack.h"
#include "agent/metrics.h"
#include "agent/reporter.h"
#include "agent/wall_clock.h"
#include "informer/informer.h"
#include "observability/health.h"
#include "observability/http_server.h"

namespace npc::agent {
namespace {

using namespace std::chrono_literals;

// Informer sinks: each keeps only what the address map needs. OnUnknown (an
// object that cannot be decoded) keeps what was known of it.
class PodSink final : public informer::Sink {
 public:
  explicit PodSink(AddressMap& map) : map_(map) {}
  void OnUpsert(decode::Object o) override {
    if (auto* p = std::get_if<decode::PodMeta>(&o.value)) map_.UpsertPod(o.meta, *p);
  }
  void OnDelete(const decode::Meta& m) override { map_.DeletePod(m.ns, m.name); }
  void OnUnknown(const decode::Meta&, const std::string&) override {}

 private:
  AddressMap& map_;
};

class ControllerSink final : public informer::Sink {
 public:
  ControllerSink(AddressMap& map, std::string kind) : map_(map), kind_(std::move(kind)) {}
  void OnUpsert(decode::Object o) override { map_.UpsertController(kind_, o.meta); }
  void OnDelete(const decode::Meta& m) override { map_.DeleteController(kind_, m.ns, m.name); }
  void OnUnknown(const decode::Meta& m, const std::string&) override { map_.UpsertController(kind_, m); }

 private:
  AddressMap& map_;
  const std::string kind_;
};

class ServiceSink final : public informer::Sink {
 public:
  explicit ServiceSink(AddressMap& map) : map_(map) {}
  void OnUpsert(decode::Object o) override {
    if (auto* s = std::get_if<Service>(&o.value)) map_.UpsertService(*s);
  }
  void OnDelete(const decode::Meta& m) override { map_.DeleteService(m.ns, m.name); }
  void OnUnknown(const decode::Meta&, const std::string&) override {}

 private:
  AddressMap& map_;
};

// Forwards events to the aggregator and notes that the reader is alive.
class LivenessSink final : public EventSink {
 public:
  explicit LivenessSink(EventSink& next) : next_(next) {}
  void OnEvents(std::span<const ConnEvent> e) override {
    next_.OnEvents(e);
    Beat();
  }
  void OnOverflow(uint64_t lost) override {
    next_.OnOverflow(lost);
    spdlog::warn(
        "conntrack: the kernel dropped events ({} so far): the socket buffer was full; "
        "a table dump will recover the flows not seen yet (raise "
        "--conntrack-buffer-size if this repeats)",
        lost);
  }
  void OnIdle() override {
    next_.OnIdle();
    Beat();
  }
  std::chrono::steady_clock::time_point last_beat() const {
    return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(beat_.load()));
  }

 private:
  void Beat() { beat_ = std::chrono::steady_clock::now().time_since_epoch().count(); }
  EventSink& next_;
  std::atomic<std::chrono::steady_clock::duration::rep> beat_{
      std::chrono::steady_clock::now().time_since_epoch().count()};
};

struct Informers {
  std::vector<std::unique_ptr<informer::Sink>> sinks;
  std::vector<std::unique_ptr<informer::Informer>> informers;
  std::vector<std::thread> threads;
  std::atomic<bool> stop{false};

  bool synced() const {
    for (const auto& i : informers) {
      if (!i->synced()) return false;
    }
    return true;
  }
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
  void Stop() {
    stop = true;
    for (auto& t : threads) t.join();
    threads.clear();
  }
};

void AddInformer(Informers& set, kube::Client& client, AgentMetrics& metrics, kube::Resource r,
                 std::unique_ptr<informer::Sink> sink, bool pod_meta_only,
                 informer::InformerOptions::Payload payload) {
  informer::InformerOptions o;
  o.resource = r;
  o.pod_meta_only = pod_meta_only;
  o.payload = payload;
  o.on_watch_failure = [&metrics](const std::string& name) {
    metrics.watch_restarts.WithLabels({name}).Inc();
  };
  set.informers.push_back(std::make_unique<informer::Informer>(client, o, *sink));
  set.sinks.push_back(std::move(sink));
}

// Sleeps up to `d`, waking early when `stop` is set.
void SleepFor(std::chrono::milliseconds d, const std::atomic<bool>& stop) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (!stop && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(50ms);
}

}  // namespace

Status RunAgent(const AgentOptions& options, const std::atomic<bool>& stop) {
  if (options.node.empty()) {
    return InvalidArgument("the node name is empty (--node-name or $NODE_NAME)");
  }
  // Fail fast without the capability, before touching the API server.
  {
    ConntrackOptions co;
    co.receive_buffer_bytes = 0;
    NPC_ASSIGN_OR_RETURN(auto probe, OpenConntrack(co));
  }
  NPC_ASSIGN_OR_RETURN(kube::RestConfig config, kube::ResolveConfig(options.kube));
  spdlog::info("agent on node {}: using {} (server {})", options.node, config.origin,
               config.server);

  observability::Registry registry;
  AgentMetrics metrics(registry, {.version = NPC_VERSION});
  kube::ClientOptions client_options = options.client;
  client_options.on_request = [&metrics](std::string_view verb, int code) {
    metrics.ObserveApiRequest(verb, code);
  };
  NPC_ASSIGN_OR_RETURN(std::unique_ptr<kube::Client> client,
                       kube::MakeClient(config, client_options));

  AddressMap map(options.node);
  Aggregator aggregator(map, options.aggregation, RealWallClock::Get(), RealClock::Get(), metrics);
  LivenessSink liveness(aggregator);
  KubeReportWriter writer(*client, options.node);
  Reporter reporter(aggregator, writer, {.node = options.node, .interval = options.report_interval},
                    metrics);

  // Probes and metrics; the checks read state that outlives the servers.
  std::atomic<bool> read_back{false};
  std::atomic<bool> counting{false};
  std::string read_back_error;  // written before read_back is set
  std::mutex read_back_mu;
  Informers set;
  observability::HealthChecks healthz, readyz;
  healthz.Add("conntrack", [&] {
    if (!counting) return Status::Ok();
    const auto quiet = std::chrono::steady_clock::now() - liveness.last_beat();
    return quiet < 30s ? Status::Ok() : Unavailable("the conntrack reader is stuck");
  });
  readyz.Add("informers", [&set] {
    return set.synced() ? Status::Ok() : Unavailable("caches not synced: " + set.NotSynced());
  });
  readyz.Add("read-back", [&] {
    if (read_back) return Status::Ok();
    std::lock_guard<std::mutex> lock(read_back_mu);
    return Unavailable("this node's ObservedFlows not read back yet" +
                       (read_back_error.empty() ? std::string() : ": " + read_back_error));
  });
  readyz.Add("conntrack", [&] {
    return counting ? Status::Ok() : Unavailable("not reading conntrack events yet");
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

  // 1. Watches.
  using Payload = informer::InformerOptions::Payload;
  AddInformer(set, *client, metrics, kube::Resource::kPods, std::make_unique<PodSink>(map),
              /*pod_meta_only=*/true, Payload::kFull);
  AddInformer(set, *client, metrics, kube::Resource::kReplicaSets,
              std::make_unique<ControllerSink>(map, "ReplicaSet"), false, Payload::kMetadata);
  AddInformer(set, *client, metrics, kube::Resource::kJobs,
              std::make_unique<ControllerSink>(map, "Job"), false, Payload::kMetadata);
  AddInformer(set, *client, metrics, kube::Resource::kServices, std::make_unique<ServiceSink>(map),
              false, Payload::kFull);
  for (auto& inf : set.informers) {
    set.threads.emplace_back([&set, i = inf.get()] { i->Run(set.stop); });
  }
  auto shutdown_servers = [&] {
    probe_server->Stop();
    metrics_server->Stop();
  };
  const auto start = std::chrono::steady_clock::now();
  auto last_log = start;
  while (!stop && !set.synced()) {
    if (std::chrono::steady_clock::now() - last_log > 10s) {
      last_log = std::chrono::steady_clock::now();
      spdlog::warn("waiting for caches to sync: {}", set.NotSynced());
    }
    std::this_thread::sleep_for(20ms);
  }
  if (stop) {
    set.Stop();
    shutdown_servers();
    return Status::Ok();
  }
  spdlog::info("caches synced in {} ms: {} pods, {} Services mapped",
               std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - start)
                   .count(),
               map.sizes().pods, map.sizes().services);

  // 2. Read-back, until it works.
  std::chrono::milliseconds backoff = 1s;
  while (!stop) {
    auto objects = ReadBack(*client, options.node);
    if (objects.ok()) {
      size_t flows = 0;
      for (const auto& o : *objects) {
        for (const auto& n : o.nodes) flows += n.flows.size();
      }
      aggregator.Load(*objects, options.node);
      spdlog::info("read back this node's entries of {} ObservedFlows objects ({} flows)",
                   objects->size(), flows);
      read_back = true;
      break;
    }
    {
      std::lock_guard<std::mutex> lock(read_back_mu);
      read_back_error = objects.status().ToString();
    }
    spdlog::error("cannot read back this node's ObservedFlows (retrying in {} s): {}",
                  backoff.count() / 1000, objects.status().ToString());
    SleepFor(backoff, stop);
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, 30s);
  }
  if (stop) {
    set.Stop();
    shutdown_servers();
    return Status::Ok();
  }

  // 3. Subscribe, then count what the table holds.
  ConntrackOptions co;
  co.receive_buffer_bytes = options.receive_buffer_bytes;
  auto ct = OpenConntrack(co);
  if (!ct.ok()) {
    set.Stop();
    shutdown_servers();
    return ct.status();
  }
  const bool timestamps = ConntrackTimestampsEnabled();
  auto dumped = aggregator.ApplyDump([&](const auto& fn) { return (*ct)->Dump(fn); },
                                     Aggregator::DumpKind::kStartup, timestamps);
  if (dumped.ok()) {
    spdlog::info(
        "conntrack: {} tracked connections of this node's pods, {} counted as new, {} older "
        "than the pod that has the address now (start times {}: {})",
        dumped->entries, dumped->counted, dumped->stale, timestamps ? "on" : "off",
        timestamps ? "connections made since the last report are counted exactly"
                   : "only flows never reported before are counted from the table; set "
                     "net.netfilter.nf_conntrack_timestamp=1 to count all");
  } else {
    spdlog::warn(
        "conntrack: the start-up dump failed (connections made while no agent ran "
        "are not counted): {}",
        dumped.status().ToString());
  }

  // 4. Events and reports.
  std::atomic<bool> stop_events{false};
  Status events_status;
  std::atomic<bool> events_failed{false};
  std::thread reader([&] {
    events_status = (*ct)->Run(stop_events, liveness);
    if (!events_status.ok()) events_failed = true;
  });
  counting = true;
  spdlog::info("counting connections; reporting every {} s",
               std::chrono::duration_cast<std::chrono::seconds>(options.report_interval).count());
  if (options.on_started) options.on_started();
  auto last_resync = std::chrono::steady_clock::now() - options.min_resync_interval;
  bool resync_wanted = false;
  while (!stop && !events_failed) {
    reporter.Tick();
    resync_wanted = aggregator.TakeResyncRequest() || resync_wanted;
    const auto now = std::chrono::steady_clock::now();
    if (resync_wanted && now - last_resync >= options.min_resync_interval) {
      resync_wanted = false;
      last_resync = now;
      auto r = aggregator.ApplyDump([&](const auto& fn) { return (*ct)->Dump(fn); },
                                    Aggregator::DumpKind::kResync, timestamps);
      if (r.ok()) {
        spdlog::info(
            "conntrack resync: {} tracked connections, {} of flows not seen before counted",
            r->entries, r->counted);
      } else {
        spdlog::warn("conntrack resync failed: {}", r.status().ToString());
      }
    }
    const AddressMap::Sizes sizes = map.sizes();
    metrics.pods.Set(static_cast<double>(sizes.pods));
    metrics.services.Set(static_cast<double>(sizes.services));
    SleepFor(1s, stop);
  }
  stop_events = true;
  reader.join();
  counting = false;
  const size_t flushed = reporter.Flush();
  spdlog::info("shutting down: wrote {} ObservedFlows with what was not reported yet", flushed);
  set.Stop();
  shutdown_servers();
  if (events_failed) return events_status;
  return Status::Ok();
}

}  // namespace npc::agent
