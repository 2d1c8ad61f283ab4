// Integration: the API server accepts the example app, its platform part, and
// every policy that `generate` writes for them (kubectl apply --dry-run=server).
//
// Runs under scripts/with-cluster (KUBECONFIG exported, kubectl on PATH). It
// creates the examples' namespaces for real (dry-run objects need their
// namespace to exist), and the platform part's minimal CRDs
// (examples/platform/crds) so that its custom resources are known; it deletes
// what it created.
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
const std::string kPlatform = std::string(NPC_SOURCE_DIR) + "/examples/platform";

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

std::string Generate(std::vector<std::string> args, const std::string& from = kApp) {
  args.insert(args.begin(), {"netpol-ctrl", "generate", "-q", "-f", from});
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

// The platform part: webhook configuration, APIService, Pods, a Secret, and
// custom resources (Prometheus operator, OpenShift Route, Gateway API, an
// Argo Rollout, an operator's PostgresCluster). Only dry runs: the webhook
// configuration (failurePolicy Fail) must never be created for real.
TEST(DryRun, ThePlatformExampleAndItsPoliciesAreAccepted) {
  if (std::getenv("KUBECONFIG") == nullptr) {
    GTEST_SKIP() << "no KUBECONFIG: run under scripts/with-cluster";
  }
  ASSERT_EQ(Sh("kubectl version").code, 0) << "kubectl cannot reach the cluster";

  // The CRDs: created (and later deleted) only where missing, so a test
  // that brought its own keeps them.
  const std::string crds = kPlatform + "/crds/crds.yaml";
  Shell names = Sh("kubectl create --dry-run=client -o name -f " + crds);
  ASSERT_EQ(names.code, 0) << names.output;
  std::vector<std::string> created_crds;
  std::istringstream crd_names(names.output);
  for (std::string crd; std::getline(crd_names, crd);) {
    if (crd.empty()) continue;
    if (Sh("kubectl get " + crd).code == 0) continue;
    created_crds.push_back(crd);
  }
  {
    Shell s = Sh("kubectl apply -f " + crds);
    ASSERT_EQ(s.code, 0) << s.output;
    Shell w = Sh("kubectl wait --for condition=established --timeout=60s -f " + crds);
    ASSERT_EQ(w.code, 0) << w.output;
  }

  std::vector<std::string> created;
  for (const std::string ns :
       {"payments", "policy-system", "custom-metrics", "observability", "gateway-system"}) {
    (void)Sh("kubectl wait --for=delete namespace/" + ns + " --timeout=120s");
    Shell s = Sh("kubectl create namespace " + ns);
    if (s.code == 0) created.push_back(ns);
  }

  {
    SCOPED_TRACE("the platform example");
    Shell s = Sh("kubectl apply --dry-run=server -f " + kPlatform);
    EXPECT_EQ(s.code, 0) << s.output;
    EXPECT_THAT(s.output, HasSubstr("validatingwebhookconfiguration.admissionregistration.k8s.io/"
                                    "policy-webhook created (server dry run)"));
    EXPECT_THAT(s.output, HasSubstr("servicemonitor.monitoring.coreos.com/checkout-api created "
                                    "(server dry run)"));
  }
  {
    SCOPED_TRACE("the platform's policies");
    const std::vector<std::string> flags = {"--read-secrets", "--api-server-cidrs",
                                            "192.0.2.10/32"};
    const nlohmann::json list = nlohmann::json::parse(Generate({"--read-secrets", "--api-server-cidrs",
                                                                "192.0.2.10/32", "-o", "json"},
                                                               kPlatform));
    ASSERT_GT(list["items"].size(), 0u);
    Shell s = Sh("kubectl apply --dry-run=server -f -", Generate(flags, kPlatform));
    EXPECT_EQ(s.code, 0) << s.output;
    size_t lines = 0;
    for (size_t pos = 0;
         (pos = s.output.find("networkpolicy.networking.k8s.io/", pos)) != std::string::npos;
         ++pos) {
      ++lines;
    }
    EXPECT_EQ(lines, list["items"].size()) << s.output;
  }

  for (const std::string& ns : created)
    (void)Sh("kubectl delete namespace " + ns + " --wait=false");
  for (const std::string& crd : created_crds) (void)Sh("kubectl delete " + crd + " --wait=false");
}

}  // namespace
}  // namespace npc::cli
