// WouldDenyReporter: the controller's side of observed traffic (DESIGN.md
// section 5). It holds the ObservedFlows objects the informer delivers and
//   - with --observed-flows=allow, hands each object's flows seen within the
//     TTL to the model (they become edges); as time passes, flows that
//     outlive the TTL are taken back out (the edge is dropped);
//   - with report or allow, judges the flows against the desired policies
//     (synth/observed.h, through the cache) soon after an object changes and
//     every `rejudge_period` (the policies change too), and posts a
//     `WouldDeny` Warning Event on the client workload for each flow they
//     would deny: once per flow per `event_period`, and at most
//     `max_events_tracked` flows remembered (a bound on memory).
//
//   WouldDenyReporter r(options, judge, model, post);
//   r.Upsert(object); r.Remove(meta);     // informer thread
//   r.Start(); ... r.Stop();               // or Step(now) in tests
//
// Thread-safety: every method may be called from any thread, except Step()
// (only while the thread is not running). Judging happens outside the lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "common/thread_annotations.h"
#include "decode/decode.h"
#include "model/model.h"
#include "synth/observed.h"

namespace npc::controller {

struct WouldDenyOptions {
  ObservedFlowsMode mode = ObservedFlowsMode::kReport;
  std::chrono::seconds ttl = std::chrono::hours(168);  // allow: edges unseen this long go
  std::chrono::milliseconds debounce{1000};            // judge a changed object this soon
  std::chrono::seconds rejudge_period{300};            // judge everything again this often
  std::chrono::seconds event_period{3600};             // one Event per flow per period
  size_t max_events_tracked = 10000;                   // flows remembered for that
  // Unix seconds now (tests set it).
  std::function<int64_t()> unix_now;
};

// A WouldDeny Event to post about a client workload.
struct WouldDenyEvent {
  std::string ns;
  OwnerReference regarding;  // the client workload
  std::string note;
};

struct WouldDenyStats {
  size_t objects = 0;
  size_t flows = 0;       // observed flows held
  size_t would_deny = 0;  // of those, denied at the last judgement
  uint64_t judgements = 0;
  uint64_t events = 0;              // posted
  uint64_t events_not_tracked = 0;  // beyond max_events_tracked (posted, not remembered)
};

class WouldDenyReporter {
 public:
  using Judge = std::function<std::vector<synth::WouldDeny>(const std::vector<ObservedFlow>&)>;
  // Allow: the object as the model should hold it (flows within the TTL),
  // or its removal.
  struct Model {
    std::function<void(decode::Object)> upsert;
    std::function<void(const decode::Meta&)> remove;
  };
  using Post = std::function<void(const WouldDenyEvent&)>;

  WouldDenyReporter(WouldDenyOptions options, Judge judge, Model model, Post post);
  ~WouldDenyReporter();
  WouldDenyReporter(const WouldDenyReporter&) = delete;
  WouldDenyReporter& operator=(const WouldDenyReporter&) = delete;

  // --- informer side (an ObservedFlows object; other kinds are ignored) ----
  void Upsert(decode::Object object) EXCLUDES(mu_);
  void Remove(const decode::Meta& meta) EXCLUDES(mu_);

  // Judging only starts once the desired state is computed (the controller
  // runs): before, every flow would look denied.
  void SetReady() EXCLUDES(mu_);
  void Start() EXCLUDES(mu_);
  void Stop() EXCLUDES(mu_);
  // Runs what is due: TTL expiries, a judgement of the changed objects (all
  // of them when `all` or the rejudge period passed). Returns the Events posted.
  size_t Step(bool all = false) EXCLUDES(mu_);

  // The flows denied at the last judgement, by object "ns/name".
  [[nodiscard]] std::vector<synth::WouldDeny> Denied() const EXCLUDES(mu_);
  [[nodiscard]] WouldDenyStats Stats() const EXCLUDES(mu_);

  // "Deployment/shop/web -> Deployment/data/db 5432/TCP: observed 3 times
  // since T, last L; the policies would deny it (missing: ...)".
  static std::string Note(const synth::WouldDeny& d);

 private:
  struct Entry {
    decode::Meta meta;
    OwnerReference client;
    std::vector<ObservedFlow> flows;
    size_t in_model = 0;  // allow: flows handed to the model (within the TTL)
    std::vector<synth::WouldDeny> denied;
  };
  void Loop() EXCLUDES(mu_);
  // The flows of `e` within the TTL at `now`.
  std::vector<ObservedFlow> Live(const Entry& e, int64_t now) const;
  void ToModel(const Entry& e, std::vector<ObservedFlow> live);

  const WouldDenyOptions options_;
  const Judge judge_;
  const Model model_;
  const Post post_;

  mutable Mutex mu_;
  CondVar cv_;
  std::map<std::string, Entry> objects_ GUARDED_BY(mu_);  // "ns/name"
  std::set<std::string> dirty_ GUARDED_BY(mu_);
  // Flow (client, server, port, protocol) -> when its Event was posted (Unix s).
  std::map<std::string, int64_t> posted_ GUARDED_BY(mu_);
  int64_t last_all_ GUARDED_BY(mu_) = 0;
  bool ready_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
  WouldDenyStats stats_ GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace npc::controller
