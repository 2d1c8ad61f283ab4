// Integration: the API server accepts the example app and every policy that
// `generate` writes for it (kubectl apply --dry-run=server).
//
// Runs under scripts/with-cluster (KUBECONFIG exported, kubectl on PATH). It
// creates the example's namespaces for real (dry-run objects need their
// namespace to exist) and deletes the ones it created.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli.h"

namespace npc::cli {
namespace {

using ::testing::HasSubstr;

const std::string kApp = std::string(NPC_SOURCE_DIR) + "/examples/app";

struct Shell {
  int code = -1;
  std::string output;  // stdout and stderr
};

// Runs `command` through /bin/sh with `input` on its standard input.
Shell Sh(const std::string& command, const std::string& input = "") {
  const std::filesystem::path in =
      std::filesystem::temp_directory_path() / ("npc_dryrun_" + std::to_string(::getpid()) + ".in");
  std::ofstream(in, std::ios::binary) << input;
  Shell s;
  FILE* p = ::popen((command + " < " + in.string() + " 2>&1").c_str(), "r");
  if (p == nullptr) return s;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) s.output.append(buf, n);
  const int status = ::pclose(p);
  s.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::filesystem::remove(in);
  return s;
}

std::string Generate(std::vector<std::string> args) {
  args.insert(args.begin(), {"netpol-ctrl", "generate", "-q", "-f", kApp});
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::istringstream in;
  std::ostringstream out, err;
  const int code = Run(static_cast<int>(argv.size()), argv.data(), in, out, err);
  EXPECT_EQ(code, 0) << err.str();
  return out.str();
}

// One test (ctest runs each test in its own process): the namespaces are
// created once and deleted at the end; a namespace still terminating from an
// earlier run is waited for first.
TEST(DryRun, TheExampleAppAndEveryGeneratedPolicyAreAccepted) {
  if (std::getenv("KUBECONFIG") == nullptr) {
    GTEST_SKIP() << "no KUBECONFIG: run under scripts/with-cluster";
  }
  ASSERT_EQ(Sh("kubectl version").code, 0) << "kubectl cannot reach the cluster";

  std::vector<std::string> created;
  for (const std::string ns : {"data", "monitoring", "shop"}) {
    (void)Sh("kubectl wait --for=delete namespace/" + ns + " --timeout=120s");
    Shell s = Sh("kubectl create namespace " + ns);
    if (s.code == 0) created.push_back(ns);
  }

  {
    SCOPED_TRACE("the example app");
    Shell s = Sh("kubectl apply --dry-run=server -f " + kApp);
    EXPECT_EQ(s.code, 0) << s.output;
  }
  for (const std::vector<std::string>& flags :
       {std::vector<std::string>{}, {"--default-deny"}, {"--ingress-controller-mode", "all"}}) {
    SCOPED_TRACE(::testing::PrintToString(flags));
    std::vector<std::string> json_flags = flags;
    json_flags.insert(json_flags.end(), {"-o", "json"});
    const std::string json = Generate(json_flags);
    const nlohmann::json list = nlohmann::json::parse(json);
    ASSERT_GT(list["items"].size(), 0u);

    Shell s = Sh("kubectl apply --dry-run=server -f -", Generate(flags));
    EXPECT_EQ(s.code, 0) << s.output;
    // One line per policy: networkpolicy.networking.k8s.io/NAME created (server dry run).
    size_t lines = 0;
    for (size_t pos = 0;
         (pos = s.output.find("networkpolicy.networking.k8s.io/", pos)) != std::string::npos;
         ++pos) {
      ++lines;
    }
    EXPECT_EQ(lines, list["items"].size()) << s.output;
    EXPECT_THAT(s.output, HasSubstr("(server dry run)"));

    Shell j = Sh("kubectl apply --dry-run=server -f -", json);
    EXPECT_EQ(j.code, 0) << j.output;
  }

  for (const std::string& ns : created)
    (void)Sh("kubectl delete namespace " + ns + " --wait=false");
}

}  // namespace
}  // namespace npc::cli
