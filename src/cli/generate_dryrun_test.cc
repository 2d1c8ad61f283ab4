// Integration: the API server accepts the example app and every policy that
// `generate` writes for it (kubectl apply --dry-run=server).
//
// Runs under scripts/with-cluster (KUBECONFIG exported, kubectl on PATH). It
// creates the example's namespaces for real (dry-run objects need their
// namespace to exist) and deletes the ones it created.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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
  const std::filesystem::path in = std::filesystem::temp_directory_path() /
                                   ("npc_dryrun_" + std::to_string(::getpid()) + ".in");
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

class DryRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (const char* ns : {"data", "monitoring", "shop"}) {
      if (Sh(std::string("kubectl get namespace ") + ns).code == 0) continue;
      Shell s = Sh(std::string("kubectl create namespace ") + ns);
      if (s.code == 0) created_.push_back(ns);
    }
  }
  static void TearDownTestSuite() {
    for (const std::string& ns : created_) {
      (void)Sh("kubectl delete namespace " + ns + " --wait=false");
    }
  }
  void SetUp() override {
    if (std::getenv("KUBECONFIG") == nullptr) {
      GTEST_SKIP() << "no KUBECONFIG: run under scripts/with-cluster";
    }
    ASSERT_EQ(Sh("kubectl version").code, 0) << "kubectl cannot reach the cluster";
  }
  static inline std::vector<std::string> created_;
};

TEST_F(DryRun, TheExampleAppIsValid) {
  Shell s = Sh("kubectl apply --dry-run=server -f " + kApp);
  EXPECT_EQ(s.code, 0) << s.output;
}

TEST_F(DryRun, EveryGeneratedPolicyIsAccepted) {
  for (const std::vector<std::string>& flags :
       {std::vector<std::string>{}, {"--default-deny"}, {"--ingress-controller-mode", "all"}}) {
    const std::string yaml = Generate(flags);
    std::vector<std::string> json_flags = flags;
    json_flags.insert(json_flags.end(), {"-o", "json"});
    const nlohmann::json list = nlohmann::json::parse(Generate(json_flags));
    ASSERT_GT(list["items"].size(), 0u);
    Shell s = Sh("kubectl apply --dry-run=server -f -", yaml);
    EXPECT_EQ(s.code, 0) << s.output;
    // One "created (server dry run)" or "configured"/"unchanged" line per policy.
    size_t lines = 0;
    for (size_t pos = 0; (pos = s.output.find("networkpolicy.networking.k8s.io/", pos)) !=
                         std::string::npos;
         ++pos) {
      ++lines;
    }
    EXPECT_EQ(lines, list["items"].size()) << s.output;
    EXPECT_THAT(s.output, HasSubstr("(server dry run)"));
  }
}

TEST_F(DryRun, TheJsonListIsAccepted) {
  Shell s = Sh("kubectl apply --dry-run=server -f -", Generate({"-o", "json"}));
  EXPECT_EQ(s.code, 0) << s.output;
}

}  // namespace
}  // namespace npc::cli
