// Network namespaces by name (ip netns: /run/netns/<name>), for the node
// runner, the forwarder and the prober.
//
//   NPC_ASSIGN_OR_RETURN(NetnsGuard g, NetnsGuard::Enter("npc-abc123-node"));
//   int fd = socket(AF_INET, SOCK_STREAM, 0);  // lives in that namespace for good
//   // ~NetnsGuard: this thread is back in the namespace it came from
//
// Thread-safety: setns(2) changes the calling thread only; a guard must be
// destroyed on the thread that made it.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace npc::dataplane {

class NetnsGuard {
 public:
  // Moves the calling thread into /run/netns/<name> (or an absolute path).
  [[nodiscard]] static StatusOr<NetnsGuard> Enter(const std::string& name);
  NetnsGuard(NetnsGuard&& other) noexcept : back_(other.back_) { other.back_ = -1; }
  NetnsGuard& operator=(NetnsGuard&&) = delete;
  NetnsGuard(const NetnsGuard&) = delete;
  ~NetnsGuard();

 private:
  explicit NetnsGuard(int back) : back_(back) {}
  int back_ = -1;  // fd of the namespace to return to
};

// "/run/netns/<name>", or `name` itself when it is absolute.
std::string NetnsPath(const std::string& name);
bool NetnsExists(const std::string& name);

// Runs argv (execvp) and waits; Internal with its output when it fails.
[[nodiscard]] Status Run(const std::vector<std::string>& argv);
// Same, ignoring failure (teardown of what may already be gone).
void RunQuietly(const std::vector<std::string>& argv);

}  // namespace npc::dataplane
