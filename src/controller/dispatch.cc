#include "controller/dispatch.h"

#include <type_traits>
#include <variant>

namespace npc::controller {
namespace {
std::string JoinKey(const std::string& a, const std::string& b) {
  return a + "/" + b;
}
}  // namespace

bool UpsertIntoModel(synth::Incremental& model, const decode::Object& object) {
  return std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, decode::Unknown> || std::is_same_v<T, decode::PodMeta> ||
                      std::is_same_v<T, decode::StoredPolicy>) {
          return false;  // kinds synthesis does not read
        } else if constexpr (std::is_same_v<T, decode::ObservedFlowsValue>) {
          return model.UpsertObserved(JoinKey(object.meta.ns, object.meta.name), v.flows);
        } else {
          return model.Upsert(v);
        }
      },
      object.value);
}

bool RemoveFromModel(synth::Incremental& model, const decode::Meta& meta) {
  if (meta.kind == "ObservedFlows") return model.RemoveObserved(JoinKey(meta.ns, meta.name));
  if (auto kind = ParseKind(meta.kind)) {
    return model.Remove(WorkloadKey{*kind, meta.ns, meta.name});
  }
  if (auto kind = synth::ParseObjectKind(meta.kind)) {
    return model.Remove(*kind, meta.ns, meta.name);
  }
  return false;
}

}  // namespace npc::controller
