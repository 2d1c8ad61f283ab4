#include "informer/bare_pods.h"

#include <spdlog/spdlog.h>

namespace npc::informer {

BarePodReader::BarePodReader(kube::Client& client, Sink& next, BarePodReaderOptions options,
                             const Clock& clock)
    : client_(client), next_(next), options_(std::move(options)), queue_(clock, options_.backoff) {}

BarePodReader::~BarePodReader() {
  Stop();
}

void BarePodReader::OnUpsert(decode::Object object) {
  Key key{object.meta.ns, object.meta.name};
  if (object.meta.controller) {
    // Owned pods are never workloads and are not read; a formerly bare one
    // is forgotten.
    {
      MutexLock lock(mu_);
      pods_.erase(key);
    }
    next_.OnDelete(object.meta);
    return;
  }
  bool unread = false;
  {
    MutexLock lock(mu_);
    Pod& pod = pods_[key];
    pod.meta = object.meta;
    pod.meta.kind = "Pod";
    unread = !pod.read;
  }
  // Until it is read, it exists with unknown content: never an orphan.
  if (unread) next_.OnUnknown(object.meta, "not read yet");
  queue_.Add(key);
}

void BarePodReader::OnDelete(const decode::Meta& meta) {
  {
    MutexLock lock(mu_);
    pods_.erase({meta.ns, meta.name});
  }
  next_.OnDelete(meta);
}

void BarePodReader::OnUnknown(const decode::Meta& meta, const std::string& why) {
  // Its metadata did not decode: whether it is bare is unknown too. Read it.
  {
    MutexLock lock(mu_);
    Pod& pod = pods_[{meta.ns, meta.name}];
    pod.meta = meta;
    pod.read = false;
  }
  next_.OnUnknown(meta, why);
  queue_.Add({meta.ns, meta.name});
}

void BarePodReader::ReadOne(const Key& key) {
  decode::Meta meta;
  {
    MutexLock lock(mu_);
    auto it = pods_.find(key);
    if (it == pods_.end()) return;  // deleted, or owned, since
    meta = it->second.meta;
  }
  auto got = client_.Get(kube::Resource::kPods, key.first, key.second);
  Status failed;
  if (got.ok()) {
    auto full = decoder_.Decode(got->json, {"Pod", false});
    if (full.ok()) {
      bool still = false;
      {
        MutexLock lock(mu_);
        stats_.reads++;
        auto it = pods_.find(key);
        if (it != pods_.end()) {
          it->second.read = true;
          it->second.tried = true;
          still = true;
        }
      }
      // A pod deleted meanwhile stays deleted: the informer's word is newer.
      if (still) next_.OnUpsert(std::move(*full));
      queue_.Forget(key);
      return;
    }
    failed = full.status();
  } else if (got.error().reason == kube::Reason::kNotFound) {
    // A 404 is the one answer that says it is gone.
    {
      MutexLock lock(mu_);
      stats_.reads++;
      stats_.gone++;
      pods_.erase(key);
    }
    next_.OnDelete(meta);
    queue_.Forget(key);
    return;
  } else {
    failed = got.status();
  }
  {
    MutexLock lock(mu_);
    stats_.reads++;
    stats_.failures++;
    auto it = pods_.find(key);
    if (it == pods_.end()) return;
    it->second.read = false;
    it->second.tried = true;
  }
  spdlog::warn(
      "Pod {}/{}: cannot read this bare pod ({}); keeping what was known of it, "
      "retrying in {} s",
      key.first, key.second, failed.ToString(),
      options_.backoff.Delay(queue_.Failures(key) + 1).count() / 1000.0);
  if (options_.on_read_error) options_.on_read_error();
  next_.OnUnknown(meta, failed.ToString());
  queue_.AddRateLimited(key);
}

void BarePodReader::Loop() {
  while (auto key = queue_.Get()) {
    ReadOne(*key);
    queue_.Done(*key);
  }
}

bool BarePodReader::ReadOneForTest() {
  auto key = queue_.TryGet();
  if (!key) return false;
  ReadOne(*key);
  queue_.Done(*key);
  return true;
}

void BarePodReader::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void BarePodReader::Stop() {
  queue_.ShutDown();
  if (thread_.joinable()) thread_.join();
}

bool BarePodReader::FirstReadsDone() const {
  MutexLock lock(mu_);
  for (const auto& [k, p] : pods_) {
    if (!p.tried) return false;
  }
  return true;
}

BarePodReaderStats BarePodReader::Stats() const {
  MutexLock lock(mu_);
  BarePodReaderStats s = stats_;
  s.bare = pods_.size();
  s.unread = 0;
  for (const auto& [k, p] : pods_) s.unread += p.read ? 0 : 1;
  return s;
}

}  // namespace npc::informer
