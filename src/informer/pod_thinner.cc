#include "informer/pod_thinner.h"

#include <variant>

namespace npc::informer {

std::string PodThinner::CustomOwnerKey(const Pod& p) {
  if (!p.controller) return "";
  const OwnerReference& c = *p.controller;
  if (IsKnownController(c.api_version, c.kind)) return "";
  // Static pods: their mirror is owned by the Node; no workload is formed.
  if (c.api_version == "v1" && c.kind == "Node") return "";
  return p.ns + "/" + c.api_version + "/" + c.kind + "/" + c.name + "/" + c.uid;
}

void PodThinner::OnUpsert(decode::Object object) {
  Pod* p = std::get_if<Pod>(&object.value);
  if (!p) {  // a bare pod (a workload: its spec is needed), or metadata only
    Forget({object.meta.ns, object.meta.name});
    next_.OnUpsert(std::move(object));
    return;
  }
  const Key key{p->ns, p->name};
  const std::string owner_key = CustomOwnerKey(*p);
  if (owner_key.empty()) {
    Forget(key);
    p->spec.reset();
    next_.OnUpsert(std::move(object));
    return;
  }
  if (auto it = custom_pods_.find(key); it != custom_pods_.end() && it->second.owner != owner_key) {
    Forget(key);  // its owner changed
  }
  Owner& owner = owners_[owner_key];
  owner.pods.insert(p->name);
  if (owner.holder.empty() || owner.holder == p->name) {
    // The holder: its spec is the workload's template (a newer one replaces it).
    owner.holder = p->name;
    if (p->spec) owner.spec = std::make_shared<const Pod::Spec>(*p->spec);
  } else {
    p->spec.reset();
  }
  auto [it, added] = custom_pods_.try_emplace(key);
  CustomPod& cp = it->second;
  if (!added) labels_.Release(cp.pod.labels);
  cp.owner = owner_key;
  cp.pod = *p;
  cp.pod.spec.reset();
  labels_.Intern(cp.pod.labels);
  p->labels.ShareWith(cp.pod.labels);  // the copy sent on is the same
  if (auto h = custom_pods_.find({p->ns, owner.holder}); h != custom_pods_.end() &&
                                                         h->second.pod.controller == cp.pod.controller) {
    cp.pod.controller.ShareWith(h->second.pod.controller);
  }
  next_.OnUpsert(std::move(object));
}

void PodThinner::Forget(const Key& key) {
  auto it = custom_pods_.find(key);
  if (it == custom_pods_.end()) return;
  const std::string owner_key = it->second.owner;
  labels_.Release(it->second.pod.labels);
  custom_pods_.erase(it);
  auto o = owners_.find(owner_key);
  if (o == owners_.end()) return;
  Owner& owner = o->second;
  owner.pods.erase(key.second);
  if (owner.pods.empty()) {
    owners_.erase(o);
    return;
  }
  if (owner.holder != key.second) return;
  // The holder went: another pod of the owner holds the spec now, and is
  // sent again with it so the workload keeps its template.
  owner.holder = *owner.pods.begin();
  auto next = custom_pods_.find({key.first, owner.holder});
  if (next == custom_pods_.end() || !owner.spec) return;
  const Pod& kept = next->second.pod;
  decode::Object again;
  again.meta.api_version = "v1";
  again.meta.kind = "Pod";
  again.meta.ns = kept.ns;
  again.meta.name = kept.name;
  again.meta.labels = kept.labels;
  again.meta.controller = kept.controller.optional();
  Pod pod = kept;
  pod.spec = *owner.spec;
  again.value = std::move(pod);
  next_.OnUpsert(std::move(again));
}

void PodThinner::OnDelete(const decode::Meta& meta) {
  next_.OnDelete(meta);
  Forget({meta.ns, meta.name});
}

void PodThinner::OnUnknown(const decode::Meta& meta, const std::string& why) {
  next_.OnUnknown(meta, why);
}

}  // namespace npc::informer
