// KubeWriter: the controller's PolicyWriter against the API server:
// server-side apply with fieldManager netpol-ctrl (with force for policies it
// manages, without to create one: never over someone else's), deletes, and
// merge patches of bare Pods' labels.
//
// Thread-safety: as kube::Client (any thread); `may_write` must be too.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "common/status.h"
#include "controller/interfaces.h"
#include "kube/client.h"

namespace npc::manager {

class KubeWriter final : public controller::PolicyWriter {
 public:
  // `may_write`, when set, is asked before every write: a replica that is not
  // (or no longer) the leader never writes. `stop`, when set and true, ends
  // a write in flight and its retries at once (set when leadership is lost:
  // a retry could land after another replica took over).
  KubeWriter(kube::Client& client, std::function<bool()> may_write,
             const std::atomic<bool>* stop = nullptr);

  StatusOr<int64_t> Apply(const NetworkPolicy& policy) override;
  StatusOr<int64_t> Create(const NetworkPolicy& policy) override;
  Status Delete(const std::string& ns, const std::string& name) override;
  Status LabelPod(const std::string& ns, const std::string& name, const std::string& key,
                  const std::string& value) override;

 private:
  Status CheckLeader() const;

  kube::Client& client_;
  const std::function<bool()> may_write_;
  const std::atomic<bool>* const stop_;
};

}  // namespace npc::manager
