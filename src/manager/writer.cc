#include "manager/writer.h"

#include <nlohmann/json.hpp>

#include "render/render.h"

namespace npc::manager {

KubeWriter::KubeWriter(kube::Client& client, std::function<bool()> may_write,
                       const std::atomic<bool>* stop)
    : client_(client), may_write_(std::move(may_write)), stop_(stop) {}

Status KubeWriter::CheckLeader() const {
  if (may_write_ && !may_write_()) {
    return Status(StatusCode::kCancelled, "not the leader: writes are stopped");
  }
  return Status::Ok();
}

StatusOr<int64_t> KubeWriter::Apply(const NetworkPolicy& policy) {
  NPC_RETURN_IF_ERROR(CheckLeader());
  std::string body = render::PolicyToJson(policy).dump();
  kube::ApplyOptions o;
  o.stop = stop_;
  auto r = client_.Apply(kube::Resource::kNetworkPolicies, policy.ns, policy.name, body, o);
  if (!r.ok()) return r.status();
  return r->meta.generation;
}

StatusOr<int64_t> KubeWriter::Create(const NetworkPolicy& policy) {
  NPC_RETURN_IF_ERROR(CheckLeader());
  std::string body = render::PolicyToJson(policy).dump();
  kube::ApplyOptions o;
  o.force = false;  // a policy of that name that someone else wrote: 409 Conflict
  o.stop = stop_;
  auto r = client_.Apply(kube::Resource::kNetworkPolicies, policy.ns, policy.name, body, o);
  if (!r.ok()) return r.status();
  return r->meta.generation;
}

Status KubeWriter::Delete(const std::string& ns, const std::string& name) {
  NPC_RETURN_IF_ERROR(CheckLeader());
  kube::DeleteOptions o;
  o.stop = stop_;
  return client_.Delete(kube::Resource::kNetworkPolicies, ns, name, o).status();
}

Status KubeWriter::LabelPod(const std::string& ns, const std::string& name, const std::string& key,
                            const std::string& value) {
  NPC_RETURN_IF_ERROR(CheckLeader());
  nlohmann::json patch = {{"metadata", {{"labels", {{key, value}}}}}};
  kube::RequestOptions o;
  o.stop = stop_;
  return client_.MergePatch(kube::Resource::kPods, ns, name, patch.dump(), o).status();
}

}  // namespace npc::manager
