// KubeLeaseLock: a LeaseLock over a coordination.k8s.io/v1 Lease.
//
// The record maps onto the Lease spec: holderIdentity, leaseDurationSeconds,
// acquireTime, renewTime (MicroTime, "2006-01-02T15:04:05.000000Z") and
// leaseTransitions; unset fields are left out of the object. Updates are PUTs
// carrying the resourceVersion last read, so two candidates never both win.
// Labels and annotations set on the Lease by others are kept on update.
//
// The elector judges the renew deadline between lock calls, so a lock call
// must not outlive it: give the lock a client whose request timeout is a
// fraction of the renew deadline and which does not retry by itself (the
// elector retries every retry period). MakeKubeLeaseLock builds such a client.
//
//   NPC_ASSIGN_OR_RETURN(auto lock, MakeKubeLeaseLock(rest_config, "netpol-ctrl",
//                                                     "netpol-ctrl-leader", 2s));
//
// Thread-safety: safe to call from any thread (the client is).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/status.h"
#include "kube/client.h"
#include "kube/config.h"
#include "leaderelection/lease_lock.h"

namespace npc::leaderelection {

class KubeLeaseLock final : public LeaseLock {
 public:
  // `client` must outlive the lock.
  KubeLeaseLock(kube::Client& client, std::string namespace_name, std::string name);
  // Owns its client.
  KubeLeaseLock(std::unique_ptr<kube::Client> client, std::string namespace_name, std::string name);

  StatusOr<LeaseState> Get() override;
  StatusOr<std::string> Create(const LeaderElectionRecord& record) override;
  StatusOr<std::string> Update(const LeaderElectionRecord& record,
                               const std::string& resource_version) override;
  std::string Describe() const override { return namespace_ + "/" + name_; }

 private:
  std::unique_ptr<kube::Client> owned_;
  kube::Client& client_;
  const std::string namespace_;
  const std::string name_;
  std::mutex mu_;
  std::string last_json_;  // GUARDED_BY(mu_): the object as last read or written
};

// A KubeLeaseLock with a client of its own: each request gives up after
// `request_timeout` and is not retried (the elector retries).
[[nodiscard]] StatusOr<std::unique_ptr<LeaseLock>> MakeKubeLeaseLock(
    const kube::RestConfig& config, std::string namespace_name, std::string name,
    std::chrono::milliseconds request_timeout);

// The Lease object for `record`. With `base` (a Lease as read) its other fields
// (labels, annotations, ...) are kept and only spec and resourceVersion replaced.
[[nodiscard]] StatusOr<std::string> LeaseJson(std::string_view namespace_name,
                                              std::string_view name,
                                              const LeaderElectionRecord& record,
                                              std::string_view resource_version,
                                              std::string_view base = {});
// The record in a Lease object's spec; absent fields stay empty or zero.
[[nodiscard]] StatusOr<LeaderElectionRecord> ParseLeaseRecord(std::string_view json);

// RFC 3339 in UTC with microseconds, as metav1.MicroTime: "2006-01-02T15:04:05.000000Z".
[[nodiscard]] std::string FormatMicroTime(std::chrono::system_clock::time_point t);

}  // namespace npc::leaderelection
