// Linked into every test program (npc_test in cmake/npc.cmake).
//
// spdlog builds its registry (the default logger, its sink and formatter) on
// first use, inside libspdlog, which sanitizer builds do not instrument. The
// fast path of that thread-safe static initialisation is an acquire load in
// the library, invisible to ThreadSanitizer: a thread whose first log comes
// after another thread built the registry, with nothing else ordering the
// two, looks as if it raced with the construction. Building the registry here,
// before main and before any thread, orders it before everything. netpol-ctrl
// itself sets up logging in main before it starts a thread (cli/flags.cc).
#include <spdlog/spdlog.h>

namespace {
[[maybe_unused]] const bool kRegistryBuilt = (spdlog::default_logger_raw(), true);
}  // namespace
