// Rendering NetworkPolicies as Kubernetes objects (networking.k8s.io/v1).
//
// PolicyToJson builds the object as the API server expects it (apiVersion,
// kind, metadata with labels and the controller ownerReference, spec); keys
// and lists come out in a fixed order, so equal policies render to equal
// bytes. PolicyToYaml is the same object as YAML that `kubectl apply -f -`
// accepts. Thread-safe: pure functions.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/model.h"

namespace npc::render {

nlohmann::ordered_json PolicyToJson(const NetworkPolicy& policy);

// One YAML document (no leading "---").
std::string PolicyToYaml(const NetworkPolicy& policy);

// Several policies as multi-document YAML, each preceded by "---".
std::string PoliciesToYaml(const std::vector<NetworkPolicy>& policies);

// A `kind: List` of the policies, as JSON text.
std::string PoliciesToJsonList(const std::vector<NetworkPolicy>& policies);

}  // namespace npc::render
