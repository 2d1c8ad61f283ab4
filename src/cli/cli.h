// The command-line front end: parses flags and dispatches to the commands
// (run, generate, explain, graph, version). Returns the process exit code.
#pragma once

namespace npc::cli {

int Main(int argc, char** argv);

}  // namespace npc::cli
