#include "manager/optional.h"

#include <spdlog/spdlog.h>

namespace npc::manager {

OptionalInformers::OptionalInformers(kube::Client& client, std::vector<kube::Resource> kinds,
                                     Factory make, Options options)
    : client_(client), kinds_(std::move(kinds)), make_(std::move(make)),
      options_(std::move(options)) {}

OptionalInformers::~OptionalInformers() {
  Stop();
}

OptionalInformers::Probe OptionalInformers::ProbeKind(kube::Resource r) {
  // One page of one item is enough: the first item (if any) ends the listing.
  kube::ListOptions lo;
  lo.limit = 1;
  lo.accept = std::string(kube::kAcceptPartialObjectMetadataList);
  lo.stop = &probes_stop_;
  kube::ListHandler h;
  h.on_item = [](std::string_view) { return Status(StatusCode::kCancelled, "probe: served"); };
  h.on_restart = [] {};
  auto list = client_.ListEach(r, "", lo, h);
  if (probes_stop_) return Probe::kUnknown;  // stopped: it says nothing
  const std::string name = kube::Info(r).GroupResource();
  MutexLock lock(mu_);
  if (list.ok() || list.error().local_code == StatusCode::kCancelled) {
    last_probe_error_.erase(r);
    return Probe::kServed;
  }
  if (list.error().http_code == 404) {
    last_probe_error_.erase(r);
    return Probe::kNotServed;
  }
  if (list.error().http_code == 403) {
    // RBAC decides before routing: a kind the ClusterRole leaves out answers
    // 403 whether served or not. Not readable is not served, for us; said once.
    const std::string why = list.status().ToString();
    if (last_probe_error_[r] != why) {
      spdlog::warn("{}: not allowed to list it ({}); its objects are not read (grant list and "
                   "watch, as deploy/clusterrole.yaml does, to apply its rules)",
                   name, why);
      last_probe_error_[r] = why;
    }
    return Probe::kNotServed;
  }
  const std::string why = list.status().ToString();
  if (last_probe_error_[r] != why) {
    spdlog::warn("{}: cannot tell whether it is served ({}); probing again later", name, why);
    last_probe_error_[r] = why;
  }
  return Probe::kUnknown;
}

void OptionalInformers::StartInformer(kube::Resource r, bool initial) {
  MutexLock lock(mu_);
  if (stopping_ || running_.contains(r)) return;
  Running_& run = running_[r];
  run.informer = make_(r);
  run.stop = std::make_unique<std::atomic<bool>>(false);
  run.initial = initial;
  run.thread = std::thread([i = run.informer.get(), s = run.stop.get()] { i->Run(*s); });
  spdlog::info("{} is served: watching it", kube::Info(r).GroupResource());
  if (options_.on_change) options_.on_change(r, true);
}

void OptionalInformers::StopInformer(kube::Resource r, bool forget) {
  Running_ run;
  {
    MutexLock lock(mu_);
    auto it = running_.find(r);
    if (it == running_.end()) return;
    run = std::move(it->second);
    running_.erase(it);
  }
  *run.stop = true;
  if (run.thread.joinable()) run.thread.join();
  if (forget) {
    spdlog::info("{} is no longer served: forgetting its objects", kube::Info(r).GroupResource());
    run.informer->ForgetAll();
  }
  if (options_.on_change) options_.on_change(r, false);
}

void OptionalInformers::Reconcile(kube::Resource r, bool initial) {
  const Probe p = ProbeKind(r);
  {
    MutexLock lock(mu_);
    if (p == Probe::kUnknown && initial) pending_initial_.insert(r);
    // The start-up answer, late: an informer started now still counts for readiness.
    if (p != Probe::kUnknown && pending_initial_.erase(r) > 0) initial = true;
  }
  bool running;
  {
    MutexLock lock(mu_);
    running = running_.contains(r);
  }
  if (p == Probe::kServed && !running) StartInformer(r, initial);
  if (p == Probe::kNotServed && running) StopInformer(r, /*forget=*/true);
  if (p == Probe::kNotServed && !running && initial) {
    spdlog::info("{} is not served: skipped (watched once its CRD appears)",
                 kube::Info(r).GroupResource());
  }
}

void OptionalInformers::Discover() {
  for (kube::Resource r : kinds_) {
    {
      MutexLock lock(mu_);
      if (stopping_) return;
    }
    Reconcile(r, /*initial=*/true);
  }
  MutexLock lock(mu_);
  discovered_ = true;
}

void OptionalInformers::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void OptionalInformers::Loop() {
  Discover();
  auto next_full = std::chrono::steady_clock::now() + options_.reprobe;
  while (true) {
    std::set<kube::Resource> todo;
    {
      MutexLock lock(mu_);
      const auto retry = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      while (!stopping_ && poked_.empty() && std::chrono::steady_clock::now() < next_full &&
             (pending_initial_.empty() || std::chrono::steady_clock::now() < retry)) {
        cv_.WaitFor(mu_, std::chrono::milliseconds(200));
      }
      if (stopping_) return;
      todo.swap(poked_);
      todo.insert(pending_initial_.begin(), pending_initial_.end());
    }
    if (std::chrono::steady_clock::now() >= next_full) {
      todo.insert(kinds_.begin(), kinds_.end());
      next_full = std::chrono::steady_clock::now() + options_.reprobe;
    }
    for (kube::Resource r : todo) Reconcile(r, /*initial=*/false);
  }
}

void OptionalInformers::Poke(const std::string& crd_name) {
  const kube::ResourceInfo* info = kube::FindByGroupResource(crd_name);
  if (!info) return;
  bool ours = false;
  for (kube::Resource r : kinds_) ours = ours || r == info->id;
  if (!ours) return;
  MutexLock lock(mu_);
  poked_.insert(info->id);
  cv_.SignalAll();
}

void OptionalInformers::Stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
    probes_stop_ = true;
    cv_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
  std::vector<kube::Resource> all;
  {
    MutexLock lock(mu_);
    for (const auto& [r, run] : running_) all.push_back(r);
  }
  for (kube::Resource r : all) StopInformer(r, /*forget=*/false);
}

bool OptionalInformers::InitialSynced() const {
  MutexLock lock(mu_);
  if (!discovered_ || !pending_initial_.empty()) return false;
  for (const auto& [r, run] : running_) {
    if (run.initial && !run.informer->synced()) return false;
  }
  return true;
}

std::string OptionalInformers::NotSynced() const {
  MutexLock lock(mu_);
  std::string out;
  if (!discovered_) out = "optional kinds (discovering which are served)";
  for (kube::Resource r : pending_initial_) {
    if (!out.empty()) out += "; ";
    out += kube::Info(r).GroupResource() + " (not probed yet";
    if (auto it = last_probe_error_.find(r); it != last_probe_error_.end()) out += ": " + it->second;
    out += ")";
  }
  for (const auto& [r, run] : running_) {
    if (!run.initial || run.informer->synced()) continue;
    if (!out.empty()) out += "; ";
    out += run.informer->name();
    if (!run.informer->last_error().empty()) out += " (" + run.informer->last_error() + ")";
  }
  return out;
}

std::set<kube::Resource> OptionalInformers::Running() const {
  MutexLock lock(mu_);
  std::set<kube::Resource> out;
  for (const auto& [r, run] : running_) out.insert(r);
  return out;
}

}  // namespace npc::manager
