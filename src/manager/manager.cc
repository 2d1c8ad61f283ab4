#include "manager/manager.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "decode/decode.h"
#include "informer/informer.h"
#include "render/render.h"

namespace npc::manager {
namespace {

using controller::Controller;
using controller::Observer;
using controller::PolicyWriter;

class KubeWriter final : public PolicyWriter {
 public:
  explicit KubeWriter(kube::Client& client) : client_(client) {}

  Status Apply(const NetworkPolicy& policy) override {
    std::string body = render::PolicyToJson(policy).dump();
    auto r = client_.Apply(kube::Resource::kNetworkPolicies, policy.ns, policy.name, body, {});
    return r.status();
  }

  Status Delete(const std::string& ns, const std::string& name) override {
    auto r = client_.Delete(kube::Resource::kNetworkPolicies, ns, name, {});
    return r.status();
  }

  Status LabelPod(const std::string& ns, const std::string& name, const std::string& key,
                  const std::string& value) override {
    nlohmann::json patch = {{"metadata", {{"labels", {{key, value}}}}}};
    auto r = client_.MergePatch(kube::Resource::kPods, ns, name, patch.dump(), {});
    return r.status();
  }

 private:
  kube::Client& client_;
};

class LogObserver final : public Observer {
 public:
  void OnWrite(Action action, const std::string& key, bool audit, const Status& result,
               const std::string& detail) override {
    static constexpr const char* kVerb[] = {"create", "update", "delete", "label"};
    static constexpr const char* kDone[] = {"created", "updated", "deleted", "labelled"};
    const int a = static_cast<int>(action);
    const char* what = action == Action::kLabelPod ? "Pod" : "NetworkPolicy";
    std::string why = detail.empty() ? "" : " (" +
        std::string(action == Action::kLabelPod ? "" : "for ") + detail + ")";
    if (!result.ok()) {
      spdlog::error("failed to {} {} {}{}: {}", kVerb[a], what, key, why, result.ToString());
    } else if (audit) {
      spdlog::info("audit: would {} {} {}{}", kVerb[a], what, key, why);
    } else {
      spdlog::info("{} {} {}{}", kDone[a], what, key, why);
    }
  }
  void OnReconcile(const std::string& key, std::string_view result,
                   Clock::Duration took) override {
    spdlog::debug("reconciled {}: {} in {} us", key, result,
                  std::chrono::duration_cast<std::chrono::microseconds>(took).count());
  }
  void OnRecompute(const synth::Result& r, Clock::Duration took) override {
    spdlog::debug("computed {} policies, {} edges, {} unresolved references in {} ms",
                  r.policies.size(), r.edges.size(), r.unresolved.size(),
                  std::chrono::duration_cast<std::chrono::milliseconds>(took).count());
  }
};

// Hands every notification to the log and to an optional second observer.
class TeeObserver final : public Observer {
 public:
  TeeObserver(Observer& a, Observer* b) : a_(a), b_(b) {}
  void OnWrite(Action action, const std::string& key, bool audit, const Status& result,
               const std::string& detail) override {
    a_.OnWrite(action, key, audit, result, detail);
    if (b_) b_->OnWrite(action, key, audit, result, detail);
  }
  void OnReconcile(const std::string& key, std::string_view result,
                   Clock::Duration took) override {
    a_.OnReconcile(key, result, took);
    if (b_) b_->OnReconcile(key, result, took);
  }
  void OnRecompute(const synth::Result& r, Clock::Duration took) override {
    a_.OnRecompute(r, took);
    if (b_) b_->OnRecompute(r, took);
  }

 private:
  Observer& a_;
  Observer* b_;
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
};

InformerSet MakeInformers(kube::Client& client, Controller& controller, bool config_maps) {
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

}  // namespace

std::unique_ptr<PolicyWriter> NewKubeWriter(kube::Client& client) {
  return std::make_unique<KubeWriter>(client);
}

std::unique_ptr<Observer> NewLogObserver() { return std::make_unique<LogObserver>(); }

Status RunManager(const ManagerOptions& options, const std::atomic<bool>& stop) {
  NPC_ASSIGN_OR_RETURN(kube::RestConfig config, kube::ResolveConfig(options.kube));
  spdlog::info("using {} (server {})", config.origin, config.server);
  NPC_ASSIGN_OR_RETURN(std::unique_ptr<kube::Client> client,
                       kube::MakeClient(config, options.client));

  auto writer = NewKubeWriter(*client);
  auto log = NewLogObserver();
  TeeObserver observer(*log, options.observer);
  Controller controller(options.controller, *writer, observer);
  InformerSet set =
      MakeInformers(*client, controller, options.controller.synthesis.read_config_maps);

  std::atomic<bool> stop_informers{false};
  std::vector<std::thread> threads;
  for (auto& inf : set.informers) {
    threads.emplace_back([&stop_informers, i = inf.get()] { i->Run(stop_informers); });
  }
  auto shutdown = [&] {
    controller.Stop();
    stop_informers = true;
    for (auto& t : threads) t.join();
  };

  // Wait for every cache, then compute and reconcile everything once.
  const auto start = std::chrono::steady_clock::now();
  auto last_report = start;
  while (!stop) {
    bool all = true;
    for (auto& inf : set.informers) all = all && inf->synced();
    if (all) break;
    auto now = std::chrono::steady_clock::now();
    if (now - last_report > std::chrono::seconds(10)) {
      last_report = now;
      for (auto& inf : set.informers) {
        if (!inf->synced()) {
          spdlog::warn("waiting for {} to sync{}{}", inf->name(),
                       inf->last_error().empty() ? "" : ": ", inf->last_error());
        }
      }
    }
    if (options.sync_timeout.count() > 0 && now - start > options.sync_timeout) {
      std::string missing;
      for (auto& inf : set.informers) {
        if (!inf->synced()) missing += " " + inf->name() + " (" + inf->last_error() + ")";
      }
      shutdown();
      return Status(StatusCode::kDeadlineExceeded, "caches did not sync:" + missing);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (stop) {
    shutdown();
    return Status::Ok();
  }
  spdlog::info("caches synced in {} ms; reconciling",
               std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - start)
                   .count());
  controller.Start();
  controller.MarkSynced();
  if (options.on_started) options.on_started(controller);

  while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  spdlog::info("shutting down");
  shutdown();
  return Status::Ok();
}

}  // namespace npc::manager
