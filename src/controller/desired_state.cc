#include "controller/desired_state.h"

#include <algorithm>
#include <cstddef>

namespace npc::controller {

DesiredState::DesiredState(DesiredStateOptions options, ClusterCache& cache, Observer& observer,
                           Enqueue enqueue, const Clock& clock)
    : options_(options),
      cache_(cache),
      observer_(observer),
      enqueue_(std::move(enqueue)),
      clock_(clock) {}

DesiredState::~DesiredState() {
  Stop();
}

void DesiredState::Notify() {
  MutexLock lock(mu_);
  if (!synced_) return;  // the first computation covers it
  dirty_ = true;
  cv_.Signal();
}

void DesiredState::MarkSynced() {
  MutexLock lock(mu_);
  synced_ = true;
  cv_.Signal();
}

void DesiredState::RequestResync() {
  MutexLock lock(mu_);
  resync_requested_ = true;
  cv_.Signal();
}

void DesiredState::Start() {
  MutexLock lock(mu_);
  if (running_) return;
  running_ = true;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void DesiredState::Stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
    cv_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
  MutexLock lock(mu_);
  running_ = false;
}

bool DesiredState::Step() {
  Work work;
  {
    MutexLock lock(mu_);
    if (running_) return false;  // one owner: the thread
    work = DueLocked();
  }
  if (work == Work::kNone) return false;
  Run(work);
  return true;
}

DesiredState::Work DesiredState::DueLocked() const {
  if (!synced_) return Work::kNone;
  if (!ready_) return Work::kFirst;
  if (dirty_) return Work::kBatch;  // changes first: a resync never delays them
  if (resync_running_ || resync_requested_ ||
      (options_.resync_period > Clock::Duration::zero() && clock_.Now() >= next_resync_)) {
    return Work::kResync;
  }
  return Work::kNone;
}

void DesiredState::Loop() {
  while (true) {
    Work work = Work::kNone;
    {
      MutexLock lock(mu_);
      while (!stopping_ && (work = DueLocked()) == Work::kNone) {
        if (ready_ && options_.resync_period > Clock::Duration::zero()) {
          // Until the resync is due on our clock (bounded: a FakeClock does
          // not move by itself, and the clock is the judge, not this wait).
          auto left = next_resync_ - clock_.Now();
          cv_.WaitFor(mu_, std::clamp<Clock::Duration>(left, std::chrono::milliseconds(1),
                                                       std::chrono::seconds(1)));
        } else {
          cv_.Wait(mu_);
        }
      }
      if (stopping_) return;
    }
    // Let the rest of a burst arrive; what comes during the recompute makes
    // the next batch.
    if (work == Work::kBatch && options_.debounce > Clock::Duration::zero()) {
      std::this_thread::sleep_for(options_.debounce);
    }
    Run(work);
  }
}

void DesiredState::Run(Work work) {
  switch (work) {
    case Work::kFirst: ComputeFirst(); break;
    case Work::kBatch: ComputeBatch(); break;
    case Work::kResync: ResyncStep(); break;
    case Work::kNone: break;
  }
}

DesiredState::Next DesiredState::Entries(const ClusterCache::Computed& c) {
  const synth::Changes& changes = c.changes;
  Next next;
  for (const WorkloadKey& w : changes.workloads) {
    next.emplace(ReconcileKey::Policy(w.ns, synth::PolicyName(w)), std::nullopt);
  }
  for (const std::string& ns : changes.namespaces) {
    next.emplace(ReconcileKey::Policy(ns, std::string(synth::kDefaultDenyPolicyName)),
                 std::nullopt);
  }
  for (const MadePolicy& m : c.made) {
    next[ReconcileKey::Policy(m.workload.ns, m.name)] = Desired{m.summary, m.workload, false};
  }
  for (const auto& np : changes.result.default_deny) {
    next[ReconcileKey::Policy(np.ns, np.name)] = Desired{Summarize(np), {}, true};
  }
  return next;
}

void DesiredState::Report(const ClusterCache::Computed& c, Clock::Duration took) {
  observer_.OnRecompute(c.changes.result, c.made, {c.policies, c.unresolved}, took);
}

void DesiredState::ComputeFirst() {
  {
    MutexLock lock(mu_);
    dirty_ = false;
  }
  const auto start = clock_.Now();
  ClusterCache::Computed c = cache_.Recompute();  // the first one: everything
  Report(c, clock_.Now() - start);

  // Every policy made is desired, and nothing else: moved straight into
  // desired_, with no map of every entry beside it (as Entries() makes).
  std::vector<ReconcileKey> keys;
  {
    MutexLock lock(mu_);
    desired_.clear();
    for (MadePolicy& m : c.made) {
      ReconcileKey k = ReconcileKey::Policy(m.workload.ns, m.name);
      keys.push_back(k);
      desired_.insert_or_assign(std::move(k),
                                Desired{std::move(m.summary), std::move(m.workload), false});
    }
    for (const auto& np : c.changes.result.default_deny) {
      ReconcileKey k = ReconcileKey::Policy(np.ns, np.name);
      keys.push_back(k);
      desired_.insert_or_assign(std::move(k), Desired{Summarize(np), {}, true});
    }
    ready_ = true;
    stats_.ready = true;
    stats_.recomputes++;
    stats_.desired = desired_.size();
    stats_.unresolved = c.unresolved;
    next_resync_ = clock_.Now() + options_.resync_period;
  }
  c = {};
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  // Only now may workers act: every key, once. Desired ones (create or
  // check), stored ones (orphans whose owner went away while nobody watched)
  // and pods to label.
  std::vector<ReconcileKey> more = cache_.SetReady();
  for (const auto& k : keys) enqueue_(k);
  for (const auto& k : more) enqueue_(k);
}

std::vector<ReconcileKey> DesiredState::Publish(const Next& next, const ClusterCache::Computed& c) {
  std::vector<ReconcileKey> changed;
  MutexLock lock(mu_);
  for (const auto& [k, d] : next) {
    auto it = desired_.find(k);
    if (!d) {
      if (it != desired_.end()) {
        desired_.erase(it);
        changed.push_back(k);
      }
    } else if (it == desired_.end()) {
      desired_.emplace(k, *d);
      changed.push_back(k);
    } else if (it->second != *d) {
      it->second = *d;
      changed.push_back(k);
    }
  }
  stats_.recomputes++;
  stats_.desired = desired_.size();
  stats_.unresolved = c.unresolved;
  return changed;
}

void DesiredState::ComputeBatch() {
  {
    MutexLock lock(mu_);
    dirty_ = false;
  }
  const auto start = clock_.Now();
  ClusterCache::Computed c = cache_.Recompute();
  if (c.changes.workloads.empty() && c.changes.namespaces.empty()) return;  // nothing pending
  Report(c, clock_.Now() - start);
  const Next next = Entries(c);
  c.changes = {};
  for (const auto& k : Publish(next, c)) enqueue_(k);
}

void DesiredState::ResyncStep() {
  if (!run_) {
    run_.emplace();
    run_->start = clock_.Now();
    run_->workloads = cache_.WorkloadKeys();
    MutexLock lock(mu_);
    for (const auto& [k, d] : desired_) {
      if (!d.default_deny) run_->keys.push_back(k);
    }
    resync_running_ = true;
    resync_requested_ = false;
    next_resync_ = run_->start + options_.resync_period;
  }
  ResyncRun& run = *run_;
  // About 2 ms of work (CPU time, not the injected clock), then back to the loop.
  constexpr size_t kSlice = 16;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2);
  do {
    // The workloads of this slice: first those the cache holds, then those
    // of desired entries (an entry whose workload is gone is stale).
    std::vector<WorkloadKey> ws;
    std::vector<ReconcileKey> keys;  // pass 2: the entry each workload came from
    const bool pass1 = run.next_workload < run.workloads.size();
    if (pass1) {
      const size_t end = std::min(run.workloads.size(), run.next_workload + kSlice);
      ws.assign(run.workloads.begin() + static_cast<ptrdiff_t>(run.next_workload),
                run.workloads.begin() + static_cast<ptrdiff_t>(end));
    } else {
      const size_t end = std::min(run.keys.size(), run.next_key + kSlice);
      MutexLock lock(mu_);
      for (size_t i = run.next_key; i < end; ++i) {
        auto it = desired_.find(run.keys[i]);
        if (it == desired_.end() || it->second.default_deny) continue;
        ws.push_back(it->second.workload);
        keys.push_back(run.keys[i]);
      }
    }
    std::optional<std::vector<std::optional<PolicySummary>>> sums;
    if (!ws.empty()) {
      sums = cache_.SummariesIfSettled(ws);
      if (!sums) {
        // Changes are waiting: their batch runs first, this slice after.
        MutexLock lock(mu_);
        dirty_ = true;
        return;
      }
    }
    std::vector<ReconcileKey> fixed;
    auto differ = [&](const ReconcileKey& k, std::string_view how) {
      if (++run.differences <= 5) {
        run.examples += (run.examples.empty() ? "" : ", ") + k.ToString() + " " + std::string(how);
      }
      fixed.push_back(k);
    };
    {
      MutexLock lock(mu_);
      for (size_t i = 0; i < ws.size(); ++i) {
        const WorkloadKey& w = ws[i];
        const std::optional<PolicySummary>& want = (*sums)[i];
        const ReconcileKey k = pass1 ? ReconcileKey::Policy(w.ns, synth::PolicyName(w)) : keys[i];
        auto it = desired_.find(k);
        if (want) {
          if (it == desired_.end()) {
            differ(k, "(wanted, but not desired)");
            desired_.emplace(k, Desired{*want, w, false});
          } else if (it->second.summary != *want || it->second.workload != w) {
            differ(k, "(desired differently)");
            it->second = Desired{*want, w, false};
          }
        } else if (it != desired_.end() && !it->second.default_deny && it->second.workload == w) {
          differ(k, "(desired, but no policy is wanted)");
          desired_.erase(it);
        }
      }
      stats_.desired = desired_.size();
    }
    for (const auto& k : fixed) enqueue_(k);
    if (pass1) {
      run.next_workload = std::min(run.workloads.size(), run.next_workload + kSlice);
    } else {
      run.next_key = std::min(run.keys.size(), run.next_key + kSlice);
    }
    if (run.next_workload >= run.workloads.size() && run.next_key >= run.keys.size()) {
      FinishResync();
      return;
    }
  } while (std::chrono::steady_clock::now() < until);
}

void DesiredState::FinishResync() {
  const size_t differences = run_->differences;
  const std::string examples = std::move(run_->examples);
  const auto took = clock_.Now() - run_->start;
  run_.reset();
  {
    MutexLock lock(mu_);
    resync_running_ = false;
    stats_.resyncs++;
    stats_.resync_differences += differences;
  }
  observer_.OnResync(differences, examples, took);
}

std::optional<Desired> DesiredState::Get(const ReconcileKey& key) const {
  MutexLock lock(mu_);
  auto it = desired_.find(key);
  if (it == desired_.end()) return std::nullopt;
  return it->second;
}

void DesiredState::SetForTest(const ReconcileKey& key, std::optional<Desired> desired) {
  MutexLock lock(mu_);
  if (desired) {
    desired_[key] = std::move(*desired);
  } else {
    desired_.erase(key);
  }
}

DesiredStats DesiredState::Stats() const {
  MutexLock lock(mu_);
  return stats_;
}

}  // namespace npc::controller
