// EventRecorder: Kubernetes Events (events.k8s.io/v1) about workloads, so
// `kubectl describe deployment web` says what netpol-ctrl did and what it
// could not do.
//
//   EventRecorder events(client, "netpol-ctrl-7f9c_ab12");
//   events.Record(owner_of_policy, "Normal", "PolicyCreated", "Apply", "created ...");
//
// Never a flood: the same (object, reason, note) is posted at most once per
// `dedupe_window`, and posting is limited to `qps` with a burst; beyond that
// events are dropped (and counted). Posting happens on a background thread,
// never on the caller's (a reconcile must not wait for an Event).
//
// Thread-safety: Record() may be called from any thread.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/thread_annotations.h"
#include "kube/client.h"
#include "model/model.h"

namespace npc::manager {

struct EventRecorderOptions {
  std::string reporting_controller = "netpol-ctrl.io/controller";
  std::string reporting_instance;  // identity of this replica
  double qps = 5;
  int burst = 25;
  std::chrono::minutes dedupe_window{10};
  size_t max_pending = 1000;
};

class EventRecorder {
 public:
  EventRecorder(kube::Client& client, EventRecorderOptions options,
                const Clock& clock = RealClock::Get());
  ~EventRecorder();
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // `regarding`: the object the event is about (its apiVersion, kind, name and
  // uid), in namespace `ns`. `type` is "Normal" or "Warning".
  void Record(const std::string& ns, const OwnerReference& regarding, const std::string& type,
              const std::string& reason, const std::string& action, const std::string& note)
      EXCLUDES(mu_);

  uint64_t dropped() const EXCLUDES(mu_);
  uint64_t posted() const EXCLUDES(mu_);

 private:
  struct Pending {
    std::string ns;
    OwnerReference regarding;
    std::string type, reason, action, note;
  };
  void Loop() EXCLUDES(mu_);
  // Posts one Event (outside the lock) and counts the outcome.
  void Post(const Pending& e) EXCLUDES(mu_);
  bool TakeToken() REQUIRES(mu_);

  kube::Client& client_;
  const EventRecorderOptions options_;
  const Clock& clock_;

  mutable Mutex mu_;
  CondVar cv_;
  std::deque<Pending> pending_ GUARDED_BY(mu_);
  std::map<std::string, Clock::TimePoint> recent_ GUARDED_BY(mu_);  // dedupe key -> when
  double tokens_ GUARDED_BY(mu_);
  Clock::TimePoint last_refill_ GUARDED_BY(mu_);
  uint64_t dropped_ GUARDED_BY(mu_) = 0;
  uint64_t posted_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace npc::manager
