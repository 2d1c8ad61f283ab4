// YAML (yaml-cpp nodes) to JSON text, typed the way Kubernetes reads YAML.
//
// kubectl turns a manifest into JSON with sigs.k8s.io/yaml, whose YAMLToJSON
// parses with (a fork of) go-yaml v2, i.e. YAML 1.1 scalar resolution, and then
// sends that JSON to the API server, which decodes it into typed structs. The
// manifest loader does the same: YamlToJson, then decode::Decoder. So a value
// means here what it means to `kubectl apply`:
//
//   quoted or block scalars ('x', "x", |, >) and !!str   -> strings
//   plain 5432, +1, 0x1F, 0o17, 017 (octal), 1_000         -> integers (JSON in decimal)
//   plain 1.5, 1e3, .5, 80.0                                -> numbers (80.0 is written 80)
//   plain true/false, yes/no, on/off, y/n (any of the three
//   spellings x, X, XX: True, TRUE...)                      -> true/false (YAML 1.1)
//   plain null, Null, NULL, ~ and empty values              -> null
//   anything else plain (2024-01-01, 1.2.3, :80)            -> strings
//
// Consequences, as with kubectl: `containerPort: "5432"` is a string (an error
// for an integer field), `targetPort: "5432"` is a port *name*, and `value: yes`
// or `value: on` in an env var is the boolean true, which a string field
// rejects (the API server answers "cannot unmarshal bool into ... string").
// Nothing is coerced back to a string: kubectl's YAMLToJSON has no target type
// to coerce to. Map keys become strings the same way go-yaml's keys do (`on:`
// is the key "true", `80:` is "80"); a later duplicate key wins; merge keys
// (`<<: *anchor`, or a list of anchors, the first winning) are expanded with
// go-yaml v2's ordering (entries after the merge override it, entries before
// it are overridden). .inf/.nan cannot be JSON and are errors, as are null or
// complex map keys and !!binary.
//
// Thread-safety: stateless functions; yaml-cpp nodes must not be shared
// between threads while they are read.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>

#include "common/status.h"

namespace npc::manifest {

// Converts `node` (usually one Kubernetes object) to compact JSON. Fails with
// InvalidArgument "<field path>: <problem>" for what JSON cannot hold, for
// nesting deeper than 256 levels and for output beyond 4 MiB (more than the
// API server accepts; aliases can expand a small document exponentially);
// `error_mark`, when given, receives the position of the offending node.
[[nodiscard]] StatusOr<std::string> YamlToJson(const YAML::Node& node,
                                               YAML::Mark* error_mark = nullptr);

// The node at a decode field path such as "spec.ports[0].port" or
// "metadata.labels.app.kubernetes.io/name" (keys may contain dots; the
// longest matching key wins), with keys named as YamlToJson names them.
// `*complete` tells whether the whole path was found; when it was not, the
// deepest node on the way is returned.
[[nodiscard]] YAML::Node FindPath(const YAML::Node& root, std::string_view path, bool* complete);

// How `node` reads as JSON, for messages: "\"http\"" (a string, shortened
// beyond 40 characters), 8080, true, null, "a list", "an object".
[[nodiscard]] std::string DescribeJson(const YAML::Node& node);

}  // namespace npc::manifest
