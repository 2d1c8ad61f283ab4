#include "observability/health.h"

#include <chrono>
#include <cmath>

namespace npc::observability {
namespace {

std::string Seconds(Clock::Duration d) {
  double s = std::chrono::duration<double>(d).count();
  return std::to_string(static_cast<long long>(std::floor(s))) + "s";
}

}  // namespace

void HealthChecks::Add(std::string name, Check check) {
  std::lock_guard lock(mu_);
  checks_[std::move(name)] = std::move(check);
}

Status HealthChecks::Run() const {
  std::lock_guard lock(mu_);
  std::string failures;
  for (const auto& [name, check] : checks_) {
    Status s = check ? check() : Internal("no check function");
    if (s.ok()) continue;
    if (!failures.empty()) failures += "; ";
    failures += name;
    failures += ": ";
    failures += s.message().empty() ? std::string(StatusCodeName(s.code())) : s.message();
  }
  if (failures.empty()) return Status::Ok();
  return Unavailable(std::move(failures));
}

ProgressMonitor::ProgressMonitor(const Clock& clock, Clock::Duration stall_after)
    : clock_(clock), stall_after_(stall_after), last_progress_(clock.Now()) {}

ProgressMonitor::Activity& ProgressMonitor::Activity::operator=(Activity&& other) noexcept {
  if (this != &other) {
    End();
    monitor_ = std::exchange(other.monitor_, nullptr);
    id_ = other.id_;
  }
  return *this;
}

void ProgressMonitor::Activity::End() {
  if (monitor_ != nullptr) std::exchange(monitor_, nullptr)->Finish(id_);
}

ProgressMonitor::Activity ProgressMonitor::Begin() {
  std::lock_guard lock(mu_);
  Clock::TimePoint now = clock_.Now();  // under the lock: ids follow start times
  uint64_t id = next_id_++;
  active_.emplace(id, now);
  last_progress_ = now;
  return Activity(this, id);
}

void ProgressMonitor::Beat() {
  Clock::TimePoint now = clock_.Now();
  std::lock_guard lock(mu_);
  last_progress_ = now;
}

void ProgressMonitor::Finish(uint64_t id) {
  Clock::TimePoint now = clock_.Now();
  std::lock_guard lock(mu_);
  active_.erase(id);
  last_progress_ = now;
}

Status ProgressMonitor::Check(size_t pending) const {
  Clock::TimePoint now = clock_.Now();
  std::lock_guard lock(mu_);
  // Ids grow with start time, so the first entry is the oldest activity.
  if (!active_.empty()) {
    Clock::Duration held = now - active_.begin()->second;
    if (held > stall_after_) {
      return Unavailable("an item has been in hand for " + Seconds(held) + " (limit " +
                         Seconds(stall_after_) + ")");
    }
  }
  Clock::Duration quiet = now - last_progress_;
  if (pending > 0 && quiet > stall_after_) {
    return Unavailable(std::to_string(pending) + " items waiting and no progress for " +
                       Seconds(quiet) + " (limit " + Seconds(stall_after_) + ")");
  }
  return Status::Ok();
}

}  // namespace npc::observability
