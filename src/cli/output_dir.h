// `generate --output-dir DIR`: one file per policy and a kustomization.yaml
// listing them, for GitOps.
//
// File names are stable: "<namespace>_<name>.yaml" (".json" with -o json;
// '_' appears in no namespace or object name, so names never collide). A
// file is written only when its bytes change (write to a temporary file,
// then rename), so unchanged input leaves the directory byte-identical and
// untouched. Files that an earlier run listed in its kustomization.yaml and
// that are no longer wanted are removed; nothing else in DIR is touched. A
// kustomization.yaml that netpol-ctrl did not write (no generated-by header)
// is never overwritten.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "model/model.h"

namespace npc::cli {

struct OutputDirResult {
  std::vector<std::string> written;  // file names whose content changed
  std::vector<std::string> removed;  // stale files an earlier run wrote
};

// `format` is "yaml" or "json".
[[nodiscard]] StatusOr<OutputDirResult> WriteOutputDir(const std::string& dir,
                                                       const std::vector<NetworkPolicy>& policies,
                                                       const std::string& format);

// The file name of a policy in an output directory.
[[nodiscard]] std::string PolicyFileName(const NetworkPolicy& policy, const std::string& format);

}  // namespace npc::cli
