// netpol-ctrl: main only wires; every command lives in cli/.
#include "cli/cli.h"

int main(int argc, char** argv) { return npc::cli::Main(argc, argv); }
