#include "leaderelection/leader_elector.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "leaderelection/kube_lease_lock.h"

namespace npc::leaderelection {
namespace {

using std::chrono::duration_cast;
using std::chrono::seconds;

void RealSleep(Clock::Duration d, const std::atomic<bool>& stop) {
  constexpr auto kSlice = std::chrono::milliseconds(20);
  auto end = std::chrono::steady_clock::now() + d;
  while (!stop.load()) {
    auto now = std::chrono::steady_clock::now();
    if (now >= end) return;
    std::this_thread::sleep_for(std::min<Clock::Duration>(kSlice, end - now));
  }
}

std::string Millis(Clock::Duration d) {
  return fmt::format("{}", std::chrono::duration_cast<std::chrono::milliseconds>(d));
}

}  // namespace

Status ValidateElectionConfig(const ElectionConfig& c) {
  std::vector<std::string> problems;
  if (c.lock == nullptr) problems.push_back("lock is required");
  if (c.retry_period <= Clock::Duration::zero()) {
    problems.push_back("retry_period (" + Millis(c.retry_period) + ") must be positive");
  }
  if (c.lease_duration < seconds(1)) {
    problems.push_back("lease_duration (" + Millis(c.lease_duration) + ") must be at least 1s");
  }
  // Others wait the whole seconds written into the record.
  if (c.renew_deadline >= duration_cast<seconds>(c.lease_duration)) {
    problems.push_back("lease_duration (" + Millis(c.lease_duration) +
                       ", whole seconds) must exceed renew_deadline (" + Millis(c.renew_deadline) +
                       ")");
  }
  if (c.renew_deadline <= c.retry_period) {
    problems.push_back("renew_deadline (" + Millis(c.renew_deadline) +
                       ") must exceed retry_period (" + Millis(c.retry_period) + ")");
  }
  if (problems.empty()) return Status::Ok();
  std::string msg = "leader election: ";
  for (size_t i = 0; i < problems.size(); ++i) {
    if (i > 0) msg += "; ";
    msg += problems[i];
  }
  return InvalidArgument(msg);
}

std::string DefaultIdentity() {
  std::string base;
  if (const char* pod = std::getenv("POD_NAME"); pod != nullptr && *pod != '\0') {
    base = pod;
  } else {
    char host[256] = {};
    if (gethostname(host, sizeof(host) - 1) == 0) base = host;
    if (base.empty()) base = "netpol-ctrl";
  }
  std::random_device rd;
  uint64_t r = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return fmt::format("{}_{:012x}", base, r & 0xffffffffffffULL);
}

StatusOr<std::unique_ptr<LeaderElector>> LeaderElector::Create(ElectionConfig config) {
  NPC_RETURN_IF_ERROR(ValidateElectionConfig(config));
  if (config.identity.empty()) config.identity = DefaultIdentity();
  if (!config.wall_now) config.wall_now = [] { return std::chrono::system_clock::now(); };
  if (!config.sleep) config.sleep = RealSleep;
  return std::unique_ptr<LeaderElector>(new LeaderElector(std::move(config)));
}

LeaderElector::LeaderElector(ElectionConfig config)
    : config_(std::move(config)),
      clock_(config_.clock != nullptr ? *config_.clock : RealClock::Get()) {}

Clock::Duration LeaderElector::ExpiryOf(const LeaderElectionRecord& r) const {
  // The holder's own promise, as the Lease API defines it; ours when absent.
  if (r.lease_duration_seconds > 0) return seconds(r.lease_duration_seconds);
  return config_.lease_duration;
}

Clock::TimePoint LeaderElector::LastRenew() const {
  return Clock::TimePoint(Clock::Duration(last_renew_.load()));
}

bool LeaderElector::IsLeader() const {
  if (!leading_.load()) return false;
  return clock_.Now() < LastRenew() + config_.renew_deadline;
}

std::string LeaderElector::GetLeader() const {
  std::lock_guard<std::mutex> l(mu_);
  return observed_record_.has_value() ? observed_record_->holder_identity : std::string();
}

std::optional<std::string> LeaderElector::ObserveLocked(const LeaderElectionRecord& r,
                                                        Clock::TimePoint now) {
  if (observed_record_.has_value() && *observed_record_ == r) return std::nullopt;
  std::optional<std::string> changed;
  if (!r.holder_identity.empty() &&
      (!observed_record_.has_value() || observed_record_->holder_identity != r.holder_identity)) {
    changed = r.holder_identity;
  }
  observed_record_ = r;
  observed_time_ = now;
  return changed;
}

void LeaderElector::NotifyNewLeader(const std::optional<std::string>& identity) {
  if (!identity.has_value()) return;
  if (*identity != config_.identity) {
    spdlog::info("leader election: lease {} is held by {}", config_.lock->Describe(), *identity);
  }
  if (config_.on_new_leader) config_.on_new_leader(*identity);
}

StatusOr<bool> LeaderElector::TryAcquireOrRenew() {
  std::optional<std::string> new_leader;
  StatusOr<bool> result = [&]() -> StatusOr<bool> {
    std::lock_guard<std::mutex> l(mu_);
    const Clock::TimePoint start = clock_.Now();
    const std::string wall = FormatMicroTime(config_.wall_now());
    const int lease_seconds = static_cast<int>(
        std::max<int64_t>(1, duration_cast<seconds>(config_.lease_duration).count()));

    StatusOr<LeaseState> got = config_.lock->Get();
    if (!got.ok()) {
      if (got.status().code() != StatusCode::kNotFound) return got.status();
      LeaderElectionRecord mine{config_.identity, lease_seconds, wall, wall, 0};
      StatusOr<std::string> rv = config_.lock->Create(mine);
      if (!rv.ok()) return rv.status();
      new_leader = ObserveLocked(mine, clock_.Now());
      holding_ = true;
      written_ = mine;
      written_version_ = *rv;
      last_renew_.store(start.time_since_epoch().count());
      return true;
    }

    const LeaderElectionRecord& old = got->record;
    new_leader = ObserveLocked(old, start);
    const bool ours = old.holder_identity == config_.identity;
    if (!ours && !old.holder_identity.empty() && start < observed_time_ + ExpiryOf(old)) {
      holding_ = false;
      return false;
    }

    LeaderElectionRecord mine{config_.identity, lease_seconds, wall, wall, old.lease_transitions};
    if (ours) {
      mine.acquire_time = old.acquire_time;
    } else {
      ++mine.lease_transitions;
    }
    StatusOr<std::string> rv = config_.lock->Update(mine, got->resource_version);
    if (!rv.ok()) return rv.status();
    if (auto n = ObserveLocked(mine, clock_.Now())) new_leader = n;
    holding_ = true;
    written_ = mine;
    written_version_ = *rv;
    last_renew_.store(start.time_since_epoch().count());
    return true;
  }();
  NotifyNewLeader(new_leader);
  return result;
}

Status LeaderElector::Release() {
  std::lock_guard<std::mutex> l(mu_);
  if (!holding_) return Status::Ok();
  LeaderElectionRecord released = written_;
  released.holder_identity.clear();
  released.lease_duration_seconds = 1;
  released.acquire_time = released.renew_time = FormatMicroTime(config_.wall_now());
  std::string version = written_version_;
  // Our cached version may be stale if someone touched the object (a label, or
  // a takeover): re-read once and release only if the lease is still ours.
  for (int attempt = 0; attempt < 2; ++attempt) {
    StatusOr<std::string> rv = config_.lock->Update(released, version);
    if (rv.ok()) {
      holding_ = false;
      leading_.store(false);
      (void)ObserveLocked(released, clock_.Now());
      spdlog::info("leader election: {} released lease {}", config_.identity,
                   config_.lock->Describe());
      return Status::Ok();
    }
    if (rv.status().code() != StatusCode::kConflict) {
      return rv.status().WithContext("releasing lease " + config_.lock->Describe());
    }
    StatusOr<LeaseState> got = config_.lock->Get();
    if (!got.ok()) return got.status().WithContext("releasing lease " + config_.lock->Describe());
    if (got->record.holder_identity != config_.identity) {
      holding_ = false;
      leading_.store(false);
      return Status::Ok();
    }
    released.lease_transitions = got->record.lease_transitions;
    version = got->resource_version;
  }
  return Status(StatusCode::kConflict,
                "releasing lease " + config_.lock->Describe() + ": it keeps changing");
}

Status LeaderElector::Run(const std::atomic<bool>& stop) {
  const std::string lease = config_.lock->Describe();
  spdlog::info("leader election: {} competing for lease {}", config_.identity, lease);
  std::string last_error;
  auto log_error = [&](const Status& s) {
    // Conflicts are races between candidates, not problems.
    if (s.code() == StatusCode::kConflict || s.code() == StatusCode::kAlreadyExists) {
      spdlog::debug("leader election: lease {}: {}", lease, s.ToString());
      return;
    }
    if (s.ToString() != last_error) {
      spdlog::warn("leader election: lease {}: {}", lease, s.ToString());
      last_error = s.ToString();
    }
  };

  // Acquire.
  for (;;) {
    if (stop.load()) return Status::Ok();
    StatusOr<bool> r = TryAcquireOrRenew();
    if (r.ok() && *r) break;
    if (!r.ok()) log_error(r.status());
    config_.sleep(config_.retry_period, stop);
  }
  leading_.store(true);
  spdlog::info("leader election: {} acquired lease {}", config_.identity, lease);
  if (config_.on_started_leading) config_.on_started_leading();

  // Renew.
  Status lost;
  for (;;) {
    if (stop.load()) break;
    const Clock::TimePoint deadline = LastRenew() + config_.renew_deadline;
    const Clock::TimePoint now = clock_.Now();
    if (now >= deadline) {
      lost = Status(StatusCode::kDeadlineExceeded,
                    fmt::format("leadership of lease {} lost: no renewal succeeded for {}", lease,
                                Millis(now - LastRenew())));
      break;
    }
    config_.sleep(std::min<Clock::Duration>(config_.retry_period, deadline - now), stop);
    if (stop.load()) break;
    if (clock_.Now() >= deadline) continue;  // reported at the top
    StatusOr<bool> r = TryAcquireOrRenew();
    if (!r.ok()) {
      log_error(r.status());
    } else if (!*r) {
      lost = Status(StatusCode::kConflict,
                    fmt::format("leadership of lease {} lost: now held by {}", lease, GetLeader()));
      break;
    }
  }

  if (!lost.ok()) {
    leading_.store(false);
    spdlog::error("leader election: {}: {}", config_.identity, lost.message());
    if (config_.on_stopped_leading) config_.on_stopped_leading();
    return lost;
  }
  // Stopped: the callback still sees IsLeader() while it drains in-flight work.
  if (config_.on_stopped_leading) config_.on_stopped_leading();
  leading_.store(false);
  if (config_.release_on_stop) {
    Status s = Release();
    if (!s.ok()) spdlog::warn("leader election: {}", s.ToString());
  }
  return Status::Ok();
}

}  // namespace npc::leaderelection
