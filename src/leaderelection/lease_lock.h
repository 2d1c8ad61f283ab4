// LeaseLock: the one shared record leader candidates compete for, behind an
// interface so the elector's logic is tested against an in-memory lock and run
// against a coordination.k8s.io/v1 Lease (kube_lease_lock.h).
//
// The lock offers optimistic concurrency only: Update carries the
// resourceVersion the caller read, and a stale one fails with kConflict. The
// elector never interprets the timestamps in a record (they come from other
// machines' clocks); it only notices whether the record changed.
//
//   InMemoryLeaseLock lock;
//   StatusOr<LeaseState> s = lock.Get();          // kNotFound before the first Create
//   StatusOr<std::string> rv = lock.Create(record);
//   rv = lock.Update(record, s->resource_version);  // kConflict if someone wrote since
//
// Thread-safety: implementations are safe to call from any thread.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

#include "common/status.h"

namespace npc::leaderelection {

// The election state stored in the lock (a Lease's spec). Times are RFC 3339
// with microseconds ("2006-01-02T15:04:05.000000Z"), written for people and
// other tools; an empty string means unset.
struct LeaderElectionRecord {
  std::string holder_identity;  // empty: nobody holds the lease, anyone may take it
  int lease_duration_seconds = 0;
  std::string acquire_time;
  std::string renew_time;
  int lease_transitions = 0;

  friend bool operator==(const LeaderElectionRecord&, const LeaderElectionRecord&) = default;
};

// A record as read, with the version an Update must carry.
struct LeaseState {
  LeaderElectionRecord record;
  std::string resource_version;
};

class LeaseLock {
 public:
  virtual ~LeaseLock() = default;

  // The current record; kNotFound when the lock object does not exist.
  [[nodiscard]] virtual StatusOr<LeaseState> Get() = 0;
  // Creates the lock object; kAlreadyExists when another candidate was first.
  // Returns the new resourceVersion.
  [[nodiscard]] virtual StatusOr<std::string> Create(const LeaderElectionRecord& record) = 0;
  // Replaces the record if the object is still at `resource_version`; otherwise
  // kConflict. Returns the new resourceVersion.
  [[nodiscard]] virtual StatusOr<std::string> Update(const LeaderElectionRecord& record,
                                                     const std::string& resource_version) = 0;
  // "namespace/name", for messages.
  [[nodiscard]] virtual std::string Describe() const = 0;
};

// An in-memory LeaseLock shared by several electors in unit tests, with fault
// injection. Resource versions are "1", "2", ... as the record is written.
class InMemoryLeaseLock final : public LeaseLock {
 public:
  StatusOr<LeaseState> Get() override;
  StatusOr<std::string> Create(const LeaderElectionRecord& record) override;
  StatusOr<std::string> Update(const LeaderElectionRecord& record,
                               const std::string& resource_version) override;
  std::string Describe() const override { return "memory/lease"; }

  // Every following call fails with `status` until ClearFailures (an API server
  // that is down).
  void FailAll(Status status);
  // The next call (any operation) fails with `status`; queued in order.
  void FailNext(Status status);
  void ClearFailures();

  // Writes the record as another party would (bumps the resourceVersion).
  void Set(const LeaderElectionRecord& record);
  // The stored record, if any.
  [[nodiscard]] std::optional<LeaseState> Peek() const;
  // Calls to Create and Update that succeeded.
  [[nodiscard]] int writes() const;

 private:
  std::optional<Status> NextFailureLocked();

  mutable std::mutex mu_;
  std::optional<LeaseState> state_;  // GUARDED_BY(mu_)
  int64_t version_ = 0;              // GUARDED_BY(mu_)
  int writes_ = 0;                   // GUARDED_BY(mu_)
  std::optional<Status> fail_all_;   // GUARDED_BY(mu_)
  std::deque<Status> fail_next_;     // GUARDED_BY(mu_)
};

}  // namespace npc::leaderelection
