// Config files: `netpol-ctrl run --config FILE`, a YAML map whose keys are the
// command's long flag names, so every flag can live in a file (a ConfigMap in
// deploy/):
//
//   mode: enforce
//   leader-elect: true
//   exclude-namespaces: [kube-system, netpol-ctrl-system]
//
// ExpandConfigFile turns the file into flags placed right after the
// sub-command, leaving out every flag also given on the command line (the
// command line wins). Every problem in the file is reported at once, each
// naming the file and the key.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "common/status.h"

namespace npc::cli {

// `args`: the command line without the program name. `sub`: the sub-command
// (already registered) that args[sub_index] names. Removes "--config FILE" /
// "--config=FILE" and inserts the file's flags. `also_known`: keys that are
// flags of that command (run, whose file `diff` reads) but not of `sub` are
// left out quietly instead of being errors.
[[nodiscard]] Status ExpandConfigFile(const CLI::App& sub, size_t sub_index,
                                      std::vector<std::string>& args,
                                      const CLI::App* also_known = nullptr);

}  // namespace npc::cli
