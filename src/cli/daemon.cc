#include "cli/daemon.h"

#include <malloc.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>
#include <thread>

#include "cli/command.h"

namespace npc::cli {

void LimitMallocArenas() {
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, 2);
  // A fixed mmap threshold: glibc raises it after each large block is freed
  // (up to 32 MB), after which large, short-lived buffers (a 100 KB
  // ConfigMap's parse, a list page) come from the heap and stay in the RSS.
  // Fixed, they are mapped and unmapped, and the RSS follows what is live.
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}

int RunUntilSignalled(const std::function<Status(const std::atomic<bool>& stop)>& body) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::atomic<bool> stop{false};
  std::thread signals([&] {
    int sig = 0;
    while (sigwait(&set, &sig) == 0) {
      if (sig == SIGINT || sig == SIGTERM) {
        // Already set: `body` returned by itself and woke us to end.
        if (!stop.exchange(true)) {
          spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
        }
        return;
      }
    }
  });
  Status s = body(stop);
  if (!stop.exchange(true)) {
    // `body` returned by itself (an error): wake the signal thread.
    pthread_kill(signals.native_handle(), SIGTERM);
  }
  signals.join();
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  return kExitOk;
}

}  // namespace npc::cli
