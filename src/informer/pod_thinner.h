// PodThinner: between the pod informer (whole Pods) and the controller's
// sink, keeps what synthesis reads of each pod and drops the rest.
//
// Synthesis reads of every pod its labels, controlling owner, IP and
// hostNetwork (Services' backends are all the pods their selectors match;
// pod DNS names; custom workloads formed from their pods). It reads a pod's
// spec only for a bare pod (a workload of its own: passed on whole) and for
// ONE pod of each workload whose pods an operator's custom resource makes
// directly (DESIGN.md 1: "dependencies come from ... one pod's spec"). Pods
// of Deployments, StatefulSets, DaemonSets, Jobs, ReplicaSets (also those a
// Rollout owns: the ReplicaSet holds the template) never keep a spec: at
// 100k pods a spec each would not fit the memory budget.
//
// The pod holding its owner's spec is the first one seen. When it goes, the
// spec is handed to another pod of the same owner (the one first by name,
// sent again with it), so the workload keeps its template until a new pod
// brings a fresh one; when the last pod goes, the spec goes too.
//
//   PodThinner thinner(controller_sink);
//   Informer pods(client, {.resource = Resource::kPods,
//                          .payload = InformerOptions::Payload::kFull}, thinner);
//
// Thread-safety: the Sink methods on the informer's thread only.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "decode/decode.h"
#include "informer/informer.h"

namespace npc::informer {

class PodThinner final : public Sink {
 public:
  explicit PodThinner(Sink& next) : next_(next) {}

  void OnUpsert(decode::Object object) override;
  void OnDelete(const decode::Meta& meta) override;
  void OnUnknown(const decode::Meta& meta, const std::string& why) override;

  // Custom owners whose spec is held, pods of such owners known, and their
  // distinct label sets (tests).
  [[nodiscard]] size_t owners() const { return owners_.size(); }
  [[nodiscard]] size_t custom_pods() const { return custom_pods_.size(); }
  [[nodiscard]] size_t label_sets() const { return labels_.size(); }

 private:
  using Key = std::pair<std::string, std::string>;  // namespace, name
  struct Owner {
    std::string holder;  // the pod whose spec is kept
    std::shared_ptr<const Pod::Spec> spec;
    std::set<std::string> pods;  // its pods, by name
  };
  // What is kept of each pod of a custom owner, to send it again with the
  // spec when it becomes the holder: the Pod without its spec (its Meta is
  // made from it), its labels interned and its owner shared with the
  // holder's.
  struct CustomPod {
    std::string owner;  // key in owners_
    Pod pod;
  };

  // The owner key of a pod whose controller is of a kind synthesis does not
  // know ("" for any other pod).
  static std::string CustomOwnerKey(const Pod& p);
  void Forget(const Key& key);

  Sink& next_;
  std::map<std::string, Owner> owners_;      // "ns/Kind/name/uid"
  std::map<Key, CustomPod> custom_pods_;     // pods of those owners
  Interned<Labels, MapHash> labels_;         // of custom_pods_
};

}  // namespace npc::informer
