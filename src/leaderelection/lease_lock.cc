#include "leaderelection/lease_lock.h"

#include <utility>

namespace npc::leaderelection {

std::optional<Status> InMemoryLeaseLock::NextFailureLocked() {
  if (fail_all_.has_value()) return fail_all_;
  if (!fail_next_.empty()) {
    Status s = std::move(fail_next_.front());
    fail_next_.pop_front();
    return s;
  }
  return std::nullopt;
}

StatusOr<LeaseState> InMemoryLeaseLock::Get() {
  std::lock_guard<std::mutex> l(mu_);
  if (auto f = NextFailureLocked()) return *f;
  if (!state_.has_value()) return NotFound("lease memory/lease not found");
  return *state_;
}

StatusOr<std::string> InMemoryLeaseLock::Create(const LeaderElectionRecord& record) {
  std::lock_guard<std::mutex> l(mu_);
  if (auto f = NextFailureLocked()) return *f;
  if (state_.has_value()) {
    return Status(StatusCode::kAlreadyExists, "lease memory/lease already exists");
  }
  state_ = LeaseState{record, std::to_string(++version_)};
  ++writes_;
  return state_->resource_version;
}

StatusOr<std::string> InMemoryLeaseLock::Update(const LeaderElectionRecord& record,
                                                const std::string& resource_version) {
  std::lock_guard<std::mutex> l(mu_);
  if (auto f = NextFailureLocked()) return *f;
  if (!state_.has_value()) return NotFound("lease memory/lease not found");
  if (state_->resource_version != resource_version) {
    return Status(StatusCode::kConflict, "lease memory/lease: resourceVersion " + resource_version +
                                             " is stale (now " + state_->resource_version + ")");
  }
  state_ = LeaseState{record, std::to_string(++version_)};
  ++writes_;
  return state_->resource_version;
}

void InMemoryLeaseLock::FailAll(Status status) {
  std::lock_guard<std::mutex> l(mu_);
  fail_all_ = std::move(status);
}

void InMemoryLeaseLock::FailNext(Status status) {
  std::lock_guard<std::mutex> l(mu_);
  fail_next_.push_back(std::move(status));
}

void InMemoryLeaseLock::ClearFailures() {
  std::lock_guard<std::mutex> l(mu_);
  fail_all_.reset();
  fail_next_.clear();
}

void InMemoryLeaseLock::Set(const LeaderElectionRecord& record) {
  std::lock_guard<std::mutex> l(mu_);
  state_ = LeaseState{record, std::to_string(++version_)};
}

std::optional<LeaseState> InMemoryLeaseLock::Peek() const {
  std::lock_guard<std::mutex> l(mu_);
  return state_;
}

int InMemoryLeaseLock::writes() const {
  std::lock_guard<std::mutex> l(mu_);
  return writes_;
}

}  // namespace npc::leaderelection
