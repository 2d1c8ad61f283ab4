// The command-line front end: parses flags and dispatches to the commands
// (generate, explain, graph; run is the controller's). Returns the process
// exit code.
#pragma once

#include <iosfwd>

namespace npc::cli {

int Main(int argc, char** argv);

// Main with injectable streams, for tests.
int Run(int argc, const char* const* argv, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace npc::cli
