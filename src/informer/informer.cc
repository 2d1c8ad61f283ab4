#include "informer/informer.h"

#include <spdlog/spdlog.h>

#include <random>
#include <thread>

namespace npc::informer {

Informer::Informer(kube::Client& client, InformerOptions options, Sink& sink)
    : client_(client), options_(std::move(options)), sink_(sink) {}

std::string Informer::name() const {
  if (!options_.name.empty()) return options_.name;
  return kube::Info(options_.resource).GroupResource();
}

InformerStats Informer::Stats() const {
  MutexLock lock(mu_);
  return stats_;
}

std::string Informer::last_error() const {
  MutexLock lock(mu_);
  return last_error_;
}

void Informer::SetError(const Status& s) {
  MutexLock lock(mu_);
  last_error_ = s.ok() ? "" : s.ToString();
}

void Informer::Handle(kube::EventType type, std::string_view json, bool listing) {
  const auto& info = kube::Info(options_.resource);
  decode::DecodeOptions opts;
  opts.default_kind = info.kind;
  opts.pod_meta_only = options_.pod_meta_only;
  auto obj = decoder_.Decode(json, opts);
  if (!obj.ok()) {
    HandleUndecodable(type, json, listing, obj.status());
    return;
  }
  {
    MutexLock lock(mu_);
    stats_.events++;
  }
  if (type == kube::EventType::kDeleted) {
    known_.Erase(obj->meta.ns, obj->meta.name);
    sink_.OnDelete(obj->meta);
  } else {
    known_.Insert(obj->meta.ns, obj->meta.name);
    sink_.OnUpsert(std::move(*obj));
  }
  MutexLock lock(mu_);
  stats_.objects = known_.size();
}

void Informer::HandleUndecodable(kube::EventType type, std::string_view json, bool listing,
                                 const Status& error) {
  // The API server validated it: a failure here is our bug or a field of a
  // newer API. It still exists (or, for DELETED, is gone): say so by its
  // metadata, never drop it silently.
  {
    MutexLock lock(mu_);
    stats_.decode_errors++;
  }
  if (options_.on_decode_error) options_.on_decode_error(name());
  auto km = kube::ParseObjectMeta(json);
  if (!km.ok() || km->name.empty()) {
    spdlog::error("{}: cannot decode an object, not even its name ({}): {}", name(),
                  km.ok() ? "no metadata.name" : km.status().message(), error.message());
    return;
  }
  decode::Meta meta;
  meta.kind = std::string(kube::Info(options_.resource).kind);
  meta.ns = km->namespace_name;
  meta.name = km->name;
  meta.uid = km->uid;
  meta.resource_version = km->resource_version;
  if (km->controller) {
    meta.controller = OwnerReference{km->controller->api_version, km->controller->kind,
                                     km->controller->name, km->controller->uid};
  }
  if (type == kube::EventType::kDeleted) {
    known_.Erase(meta.ns, meta.name);
    sink_.OnDelete(meta);
  } else {
    spdlog::error("{}: cannot decode {} {}/{} ({}), keeping what was known of it: {}", name(),
                  meta.kind, meta.ns, meta.name, listing ? "listed" : "watched", error.message());
    known_.Insert(meta.ns, meta.name);  // it exists: a listing must not report it deleted
    sink_.OnUnknown(meta, error.message());
  }
  MutexLock lock(mu_);
  stats_.objects = known_.size();
}

bool Informer::MetadataPayload() const {
  using P = InformerOptions::Payload;
  return options_.payload == P::kMetadata ||
         (options_.payload == P::kAuto && options_.pod_meta_only);
}

Status Informer::List(bool after_expiry, const std::atomic<bool>& stop) {
  kube::ListOptions lo;
  lo.stop = &stop;  // a listing that waits to retry must not hold up a shutdown
  lo.label_selector = options_.label_selector;
  lo.limit = options_.page_size;
  if (MetadataPayload()) lo.accept = std::string(kube::kAcceptPartialObjectMetadataList);
  // Every key the listing holds gets marked; what stays unmarked vanished.
  known_.ClearMarks();
  kube::ListHandler h;
  h.on_item = [&](std::string_view json) {
    Handle(kube::EventType::kAdded, json, /*listing=*/true);
    return Status::Ok();
  };
  h.on_restart = [&] { known_.ClearMarks(); };
  std::string resource_version;
  if (options_.list_streams > 1) {
    NPC_ASSIGN_OR_RETURN(resource_version, ListByNamespace(lo, stop));
  } else {
    auto list = client_.ListEach(options_.resource, "", lo, h);
    if (!list.ok()) return list.status();
    resource_version = std::move(list->resource_version);
  }

  // What we knew and the complete listing does not hold was deleted meanwhile.
  const std::string kind(kube::Info(options_.resource).kind);
  known_.SweepUnmarked([&](std::string_view ns, std::string_view name) {
    decode::Meta meta;
    meta.kind = kind;
    meta.ns = std::string(ns);
    meta.name = std::string(name);
    sink_.OnDelete(meta);
  });
  resource_version_ = std::move(resource_version);
  if (synced_ && options_.on_relist) options_.on_relist(name());
  MutexLock lock(mu_);
  stats_.lists++;
  if (after_expiry) stats_.relists_expired++;
  stats_.objects = known_.size();
  return Status::Ok();
}

StatusOr<std::string> Informer::ListByNamespace(const kube::ListOptions& lo,
                                                const std::atomic<bool>& stop) {
  kube::ListOptions nlo;
  nlo.stop = &stop;
  nlo.limit = options_.page_size;
  nlo.accept = std::string(kube::kAcceptPartialObjectMetadataList);
  std::vector<std::string> namespaces;
  kube::ListHandler nh;
  nh.on_item = [&](std::string_view json) -> Status {
    NPC_ASSIGN_OR_RETURN(kube::ObjectMeta meta, kube::ParseObjectMeta(json));
    namespaces.push_back(std::move(meta.name));
    return Status::Ok();
  };
  nh.on_restart = [&] { namespaces.clear(); };
  auto listed = client_.ListEach(kube::Resource::kNamespaces, "", nlo, nh);
  if (!listed.ok()) return listed.status();

  Mutex mu;  // one item at a time through the decoder, known_ and the sink
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  Status failure;  // the first; written once, under `mu`
  auto fail = [&](Status s) {
    MutexLock lock(mu);
    if (failure.ok()) failure = std::move(s);
    failed = true;
  };
  auto work = [&] {
    kube::ListHandler h;
    h.on_item = [&](std::string_view json) {
      MutexLock lock(mu);
      Handle(kube::EventType::kAdded, json, /*listing=*/true);
      return Status::Ok();
    };
    bool restarted = false;  // a later page's 410 made the client list it again
    h.on_restart = [&] { restarted = true; };
    for (size_t i = next++; i < namespaces.size() && !failed && !stop; i = next++) {
      restarted = false;
      auto r = client_.ListEach(options_.resource, namespaces[i], lo, h);
      if (!r.ok()) {
        fail(r.status());
      } else if (restarted) {
        fail(Status(StatusCode::kExpired,
                    "namespace " + namespaces[i] + ": the listing started over (410)"));
      }
    }
  };
  std::vector<std::thread> helpers;
  for (int k = 1; k < options_.list_streams && static_cast<size_t>(k) < namespaces.size(); ++k) {
    helpers.emplace_back(work);
  }
  work();
  for (std::thread& t : helpers) t.join();
  MutexLock lock(mu);
  if (!failure.ok()) return failure;
  if (stop) return Status(StatusCode::kCancelled, "listing stopped");
  return std::move(listed->resource_version);
}

Status Informer::WatchOnce(const std::atomic<bool>& stop, bool* expired) {
  kube::WatchOptions wo;
  wo.label_selector = options_.label_selector;
  wo.resource_version = resource_version_;
  wo.stop = &stop;
  if (MetadataPayload()) wo.accept = std::string(kube::kAcceptPartialObjectMetadata);
  {
    MutexLock lock(mu_);
    stats_.watches++;
  }
  auto end = client_.Watch(options_.resource, "", wo, [&](const kube::WatchEvent& e) {
    if (!e.resource_version.empty()) resource_version_ = std::string(e.resource_version);
    if (e.type == kube::EventType::kBookmark) return Status::Ok();
    Handle(e.type, e.object, /*listing=*/false);
    return Status::Ok();
  });
  if (end.ok()) {
    if (!end->resource_version.empty()) resource_version_ = end->resource_version;
    return Status::Ok();
  }
  *expired = end.error().IsExpired();
  return end.status();
}

void Informer::Backoff(const std::atomic<bool>& stop, int* failures) {
  thread_local std::mt19937 rng{std::random_device{}()};
  auto delay = options_.backoff_initial;
  for (int i = 1; i < *failures && delay < options_.backoff_max; ++i) delay *= 2;
  delay = std::min(delay, options_.backoff_max);
  // Up to 20% jitter so informers that failed together do not retry together.
  std::uniform_int_distribution<int64_t> jitter(0, delay.count() / 5);
  delay += std::chrono::milliseconds(jitter(rng));
  ++*failures;
  auto until = std::chrono::steady_clock::now() + delay;
  while (!stop && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void Informer::ForgetAll() {
  const std::string kind(kube::Info(options_.resource).kind);
  known_.ClearMarks();
  known_.SweepUnmarked([&](std::string_view ns, std::string_view name) {
    decode::Meta meta;
    meta.kind = kind;
    meta.ns = std::string(ns);
    meta.name = std::string(name);
    sink_.OnDelete(meta);
  });
  resource_version_.clear();
  synced_ = false;
  MutexLock lock(mu_);
  stats_.objects = 0;
}

void Informer::Run(const std::atomic<bool>& stop) {
  // A second Run resumes watching from where the first stopped.
  bool need_list = !synced_;
  bool after_expiry = false;
  int failures = 0;
  while (!stop) {
    if (need_list) {
      const auto listing = std::chrono::steady_clock::now();
      Status s = List(after_expiry, stop);
      if (stop) break;
      if (!s.ok()) {
        SetError(s);
        spdlog::warn("{}: list failed (attempt {}), retrying: {}", name(), failures + 1,
                     s.ToString());
        Backoff(stop, &failures);
        continue;
      }
      SetError(Status::Ok());
      need_list = false;
      after_expiry = false;
      failures = 0;
      if (!synced_.exchange(true)) {
        // What start-up waits for, informer by informer (the slowest sets
        // "caches synced in").
        spdlog::info("{}: synced, {} objects listed in {} ms", name(), Stats().objects,
                     std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - listing)
                         .count());
      }
    }
    bool expired = false;
    Status s = WatchOnce(stop, &expired);
    if (stop) break;
    if (s.ok()) {
      failures = 0;
      continue;  // the server closed the watch: watch again from where we are
    }
    if (expired) {
      spdlog::info("{}: resourceVersion {} is too old, listing again", name(), resource_version_);
      need_list = true;
      after_expiry = true;
      continue;
    }
    {
      MutexLock lock(mu_);
      stats_.watch_failures++;
    }
    if (options_.on_watch_failure) options_.on_watch_failure(name());
    SetError(s);
    spdlog::warn("{}: watch failed, retrying: {}", name(), s.ToString());
    Backoff(stop, &failures);
  }
}

}  // namespace npc::informer
