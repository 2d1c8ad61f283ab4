// Pieces of the long-running commands' flags: logging set-up and Go-style
// durations ("60s", "1h30m"), as kubectl and controller-runtime read them.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace npc::cli {

// Logs to stderr (stdout stays free for data): `format` "text" or "json";
// verbosity 0 info, 1 debug, 2 trace.
void ConfigureLogging(const std::string& format, int verbosity);

// "10m", "90s", "1h30m", "500ms", "1.5h", "0"; nullopt when malformed.
std::optional<std::chrono::milliseconds> ParseDuration(const std::string& text);

}  // namespace npc::cli
