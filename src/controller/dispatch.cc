#include "controller/dispatch.h"

#include <map>
#include <string_view>
#include <type_traits>
#include <variant>

namespace npc::controller {

bool UpsertIntoModel(synth::Incremental& model, const decode::Object& object) {
  return std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, Workload> || std::is_same_v<T, Service> ||
                      std::is_same_v<T, EndpointSlice> || std::is_same_v<T, Ingress> ||
                      std::is_same_v<T, ConfigMap> || std::is_same_v<T, Namespace>) {
          return model.Upsert(v);
        } else {
          return false;  // kinds synthesis does not read
        }
      },
      object.value);
}

bool RemoveFromModel(synth::Incremental& model, const decode::Meta& meta) {
  static const std::map<std::string_view, synth::ObjectKind> kKinds = {
      {"Service", synth::ObjectKind::kService},
      {"EndpointSlice", synth::ObjectKind::kEndpointSlice},
      {"Ingress", synth::ObjectKind::kIngress},
      {"ConfigMap", synth::ObjectKind::kConfigMap},
      {"Namespace", synth::ObjectKind::kNamespace}};
  if (auto kind = ParseKind(meta.kind)) {
    return model.Remove(WorkloadKey{*kind, meta.ns, meta.name});
  }
  if (auto it = kKinds.find(meta.kind); it != kKinds.end()) {
    return model.Remove(it->second, meta.ns, meta.name);
  }
  return false;
}

}  // namespace npc::controller
