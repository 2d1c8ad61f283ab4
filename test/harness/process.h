// RunProcess: runs a program as a child process and captures what it prints.
//
// Test plumbing (until tests can use the C++ kube client everywhere): lets an
// integration test run kubectl or a cluster helper script and look at its exit
// code, stdout and stderr.
//
//   npc::harness::RunOptions opts;
//   opts.stdin_data = manifest_yaml;
//   StatusOr<ProcessResult> r = RunProcess({"kubectl", "apply", "-f", "-"}, opts);
//   ASSERT_TRUE(r.ok()) << r.status().ToString();   // could not run it at all
//   EXPECT_EQ(r->exit_code, 0) << r->Describe();     // ran, and failed
//
// Thread-safety: RunProcess may be called from several threads at once. The
// first call sets SIGPIPE to ignored in this process (children get the default
// back), so writing to a child that exited early is an error, not a crash.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/status.h"

namespace npc::harness {

struct ProcessResult {
  // The exit status, or 128 + N when the child was killed by signal N.
  int exit_code = -1;
  std::string out;  // everything the child wrote to stdout
  std::string err;  // everything the child wrote to stderr

  bool ok() const { return exit_code == 0; }
  // "exit 1\nstdout: ...\nstderr: ..." for assertion messages.
  std::string Describe() const;
};

struct RunOptions {
  std::string stdin_data;  // written to the child's stdin, which is then closed
  // The child is killed (SIGKILL) when it has not finished by then.
  std::chrono::milliseconds timeout{std::chrono::seconds(120)};
};

// Runs argv[0] (looked up in PATH like execvp) with the arguments argv[1..],
// in this process's environment and working directory. Returns the result
// once the child has exited and closed its stdout and stderr.
// Errors: InvalidArgument (empty argv), NotFound (no such program),
// DeadlineExceeded (timeout; the child was killed), Internal (system call).
[[nodiscard]] StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                                 const RunOptions& options = {});

}  // namespace npc::harness
