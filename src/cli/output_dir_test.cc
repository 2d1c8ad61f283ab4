#include "cli/output_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "cli/cli.h"

namespace npc::cli {
namespace {
namespace fs = std::filesystem;

const std::string kApp = std::string(NPC_SOURCE_DIR) + "/examples/app";

// Every file of `dir` with its bytes and modification time.
std::map<std::string, std::pair<std::string, fs::file_time_type>> Files(const fs::path& dir) {
  std::map<std::string, std::pair<std::string, fs::file_time_type>> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::ifstream in(e.path(), std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    out[e.path().filename().string()] = {ss.str(), fs::last_write_time(e.path())};
  }
  return out;
}

int Generate(std::vector<std::string> args, std::string* err = nullptr) {
  args.insert(args.begin(), {"netpol-ctrl", "generate", "-q"});
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::istringstream in;
  std::ostringstream out, e;
  const int code = Run(static_cast<int>(argv.size()), argv.data(), in, out, e);
  if (err) *err = e.str();
  return code;
}

class OutputDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("npc_output_dir_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(OutputDir, OneFilePerPolicyAndAKustomizationByteIdenticalOnUnchangedInput) {
  std::string err;
  ASSERT_EQ(Generate({"-f", kApp, "--output-dir", dir_.string()}, &err), 0) << err;
  auto first = Files(dir_);
  ASSERT_TRUE(first.count("kustomization.yaml"));
  ASSERT_TRUE(first.count("shop_deployment-api.yaml"));
  const std::string& k = first["kustomization.yaml"].first;
  EXPECT_NE(k.find("kind: Kustomization"), std::string::npos) << k;
  for (const auto& [name, content] : first) {
    if (name == "kustomization.yaml") continue;
    EXPECT_NE(k.find("\n- " + name + "\n"), std::string::npos) << name << " not listed:\n" << k;
    EXPECT_NE(content.first.find("kind: NetworkPolicy"), std::string::npos) << name;
  }

  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(Generate({"-f", kApp, "--output-dir", dir_.string()}, &err), 0) << err;
  // Same bytes, and not even rewritten.
  EXPECT_EQ(Files(dir_), first);

  // The same as stdout's documents, one per file.
  std::ifstream in(dir_ / "shop_deployment-api.yaml");
  std::ostringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str().rfind("apiVersion: networking.k8s.io/v1", 0), 0u) << ss.str();
}

TEST_F(OutputDir, StaleFilesOfAnEarlierRunGoOthersStay) {
  std::string err;
  ASSERT_EQ(Generate({"-f", kApp, "--default-deny", "--output-dir", dir_.string()}, &err), 0)
      << err;
  ASSERT_TRUE(fs::exists(dir_ / "shop_default-deny.yaml"));
  std::ofstream(dir_ / "README.md") << "mine\n";
  ASSERT_EQ(Generate({"-f", kApp, "--output-dir", dir_.string()}, &err), 0) << err;
  EXPECT_FALSE(fs::exists(dir_ / "shop_default-deny.yaml"));
  EXPECT_TRUE(fs::exists(dir_ / "shop_deployment-api.yaml"));
  EXPECT_TRUE(fs::exists(dir_ / "README.md"));
}

TEST_F(OutputDir, JsonFilesAndAForeignKustomizationIsNeverOverwritten) {
  std::string err;
  ASSERT_EQ(Generate({"-f", kApp, "-o", "json", "--output-dir", dir_.string()}, &err), 0) << err;
  EXPECT_TRUE(fs::exists(dir_ / "shop_deployment-api.json"));
  const fs::path other = dir_ / "other";
  fs::create_directories(other);
  std::ofstream(other / "kustomization.yaml") << "resources: [app.yaml]\n";
  EXPECT_EQ(Generate({"-f", kApp, "--output-dir", other.string()}, &err), 1);
  EXPECT_NE(err.find("not written by netpol-ctrl"), std::string::npos) << err;
}

TEST(GenerateFlags, EitherFilesOrTheCluster) {
  std::string err;
  EXPECT_EQ(Generate({}, &err), 2);
  EXPECT_NE(err.find("either -f/--filename or --from-cluster"), std::string::npos) << err;
  EXPECT_EQ(Generate({"-f", kApp, "--from-cluster"}, &err), 2);
  EXPECT_EQ(Generate({"-f", kApp, "--namespace-selector", "tier in (a"}, &err), 2);
  EXPECT_NE(err.find("--namespace-selector"), std::string::npos) << err;
}

}  // namespace
}  // namespace npc::cli
