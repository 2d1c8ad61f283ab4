// What the long-running commands (`run`, `agent`) share around their main
// loop: the malloc arena limit and the signal handling.
//
//   LimitMallocArenas();
//   ...parse and check the flags, build the options...
//   return RunUntilSignalled([&](const std::atomic<bool>& stop) { return RunManager(o, stop); });
//
// Not thread-safe: called once, from the main thread, before other threads start.
#pragma once

#include <atomic>
#include <functional>

#include "common/status.h"

namespace npc::cli {

// A dozen informer threads, the workers and the servers would each get a
// malloc arena of their own (glibc allows 8 per core), each keeping the
// memory freed in it: two arenas keep freed memory reusable by every thread.
// MALLOC_ARENA_MAX, when set, still decides.
void LimitMallocArenas();

// Runs `body` until it returns. SIGINT and SIGTERM set its `stop` (logged
// once); they are taken by one thread with sigwait, so no other thread is
// interrupted and no handler needs async-signal-safety tricks. Returns the
// exit code: 0, or 1 after logging the error `body` returned.
int RunUntilSignalled(const std::function<Status(const std::atomic<bool>& stop)>& body);

}  // namespace npc::cli
