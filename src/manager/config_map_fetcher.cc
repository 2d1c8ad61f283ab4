#include "manager/config_map_fetcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "decode/decode.h"

namespace npc::manager {

KubeConfigMapFetcher::KubeConfigMapFetcher(kube::Client& client, controller::Controller& controller)
    : client_(client), controller_(controller), thread_([this] { Run(); }) {}

KubeConfigMapFetcher::~KubeConfigMapFetcher() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.SignalAll();
  thread_.join();
}

void KubeConfigMapFetcher::Fetch(const std::string& ns, const std::string& name) {
  {
    MutexLock lock(mu_);
    queue_.emplace_back(ns, name);
  }
  cv_.Signal();
}

void KubeConfigMapFetcher::Run() {
  decode::Decoder decoder;
  auto backoff = std::chrono::milliseconds(500);
  for (;;) {
    std::pair<std::string, std::string> cm;
    {
      MutexLock lock(mu_);
      while (!stop_ && queue_.empty()) cv_.Wait(mu_);
      if (stop_) return;
      cm = std::move(queue_.front());
      queue_.pop_front();
    }
    const auto& [ns, name] = cm;
    // A LIST of that one name: the controller's RBAC grants list and watch
    // on ConfigMaps, not get (deploy/clusterrole.yaml).
    kube::ListOptions lo;
    lo.field_selector = "metadata.name=" + name;
    auto got = client_.List(kube::Resource::kConfigMaps, ns, lo);
    if (got.ok() && got->items.empty()) continue;  // gone: its watch says so
    StatusOr<decode::Object> o =
        got.ok() ? decoder.Decode(got->items.front().json, {.default_kind = "ConfigMap"})
                 : StatusOr<decode::Object>(got.status());
    if (o.ok()) {
      controller_.UpsertFetched(*o);
      backoff = std::chrono::milliseconds(500);
      continue;
    }
    spdlog::warn("ConfigMap {}/{}: cannot read it (read again in {} ms): {}", ns, name,
                 backoff.count(), o.status().ToString());
    MutexLock lock(mu_);
    queue_.push_back(std::move(cm));
    (void)cv_.WaitFor(mu_, backoff);  // woken early by new work or stop: fine
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(30));
  }
}

}  // namespace npc::manager
