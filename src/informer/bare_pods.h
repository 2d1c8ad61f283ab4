// BarePodReader: reads bare Pods in full, off the informer's thread.
//
// The pod informer watches Pods as metadata only (labels, owners): a pod run
// by a controller is never a workload, and 100k pod specs would not fit the
// memory budget. A bare pod (no controlling owner) is a workload, so its spec
// is needed: this sink, between the pod informer and the controller's sink,
// reads each bare pod with a GET on its own thread and hands the full object
// on. Owned pods are passed on as deletions (a formerly bare pod is
// forgotten).
//
// A failed read is never taken as "gone" (issue 13, item 2): until a pod has
// been read, and again whenever a read or its decoding fails, the next sink
// hears OnUnknown (it exists, content unknown: what was known stays, and
// its policy is never deleted as an orphan); the read is retried with
// backoff (1 s doubling to 5 min). Only a 404 says the pod is gone.
//
//   BarePodReader reader(client, controller_sink, {});
//   Informer pods(client, {.resource = kube::Resource::kPods, .pod_meta_only = true}, reader);
//   reader.Start();
//   ... pods.Run(stop) on another thread ...
//   reader.Stop();
//
// Thread-safety: the Sink methods on the informer's thread; Start/Stop from
// one thread; Stats and FirstReadsDone from any. The next sink is called from
// both the informer's thread (deletions, owned pods) and the reader's.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <utility>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/thread_annotations.h"
#include "decode/decode.h"
#include "informer/informer.h"
#include "kube/client.h"
#include "workqueue/workqueue.h"

namespace npc::informer {

struct BarePodReaderOptions {
  BackoffPolicy backoff{std::chrono::seconds(1), std::chrono::minutes(5)};
  // A read failed (metrics): called on the reader's thread.
  std::function<void()> on_read_error;
};

struct BarePodReaderStats {
  uint64_t reads = 0;     // GETs made
  uint64_t failures = 0;  // reads or decodes that failed (then retried)
  uint64_t gone = 0;      // 404s
  size_t bare = 0;        // bare pods known
  size_t unread = 0;      // of which not read (yet, or not since a failure)
};

class BarePodReader final : public Sink {
 public:
  BarePodReader(kube::Client& client, Sink& next, BarePodReaderOptions options = {},
                const Clock& clock = RealClock::Get());
  ~BarePodReader() override;
  BarePodReader(const BarePodReader&) = delete;
  BarePodReader& operator=(const BarePodReader&) = delete;

  void OnUpsert(decode::Object object) override EXCLUDES(mu_);
  void OnDelete(const decode::Meta& meta) override EXCLUDES(mu_);
  void OnUnknown(const decode::Meta& meta, const std::string& why) override EXCLUDES(mu_);

  void Start();
  void Stop();
  // Reads one queued pod on the calling thread, if one is due (tests, without Start()).
  bool ReadOneForTest();

  // True when every bare pod known so far has been tried at least once (the
  // pod "cache" counts as synced only then: see manager).
  [[nodiscard]] bool FirstReadsDone() const EXCLUDES(mu_);
  [[nodiscard]] BarePodReaderStats Stats() const EXCLUDES(mu_);

 private:
  using Key = std::pair<std::string, std::string>;  // namespace, name
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return std::hash<std::string>{}(k.first) * 31 + std::hash<std::string>{}(k.second);
    }
  };
  struct Pod {
    decode::Meta meta;
    bool read = false;   // the last attempt succeeded
    bool tried = false;  // attempted at least once
  };

  void Loop();
  void ReadOne(const Key& key);

  kube::Client& client_;
  Sink& next_;
  const BarePodReaderOptions options_;
  WorkQueue<Key, KeyHash> queue_;
  decode::Decoder decoder_;  // used by the reader's thread only

  mutable Mutex mu_;
  std::map<Key, Pod> pods_ GUARDED_BY(mu_);  // bare pods the informer knows
  BarePodReaderStats stats_ GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace npc::informer
