#include "cli/config_file.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <unistd.h>

namespace npc::cli {
namespace {

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sub_ = app_.add_subcommand("run");
    sub_->add_option("--mode", mode_);
    sub_->add_option("--exclude-namespaces", excluded_);
    sub_->add_flag("--leader-elect", leader_);
    sub_->add_option("--config", file_);
  }
  std::string Write(const std::string& text) {
    // One file per test and process: ctest runs these tests in parallel, and a
    // shared name let one test read another's file.
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string path = ::testing::TempDir() + "/npc-config-" + info->name() + "-" +
                       std::to_string(::getpid()) + ".yaml";
    std::ofstream(path) << text;
    return path;
  }
  CLI::App app_;
  CLI::App* sub_ = nullptr;
  std::string mode_, file_;
  std::vector<std::string> excluded_;
  bool leader_ = false;
};

TEST_F(ConfigFileTest, FileFlagsGoInAndTheCommandLineWins) {
  std::string path =
      Write("mode: audit\nleader-elect: true\nexclude-namespaces: [a, b]\n");
  std::vector<std::string> args = {"run", "--config", path, "--mode=enforce"};
  ASSERT_TRUE(ExpandConfigFile(*sub_, 0, args).ok());
  EXPECT_EQ(args, (std::vector<std::string>{"run", "--leader-elect", "--exclude-namespaces=a",
                                            "--exclude-namespaces=b", "--mode=enforce"}));
}

TEST_F(ConfigFileTest, EveryProblemIsReportedAtOnceNamingTheFile) {
  std::string path = Write("bogus: 1\nleader-elect: maybe\nmode: {a: b}\n");
  std::vector<std::string> args = {"run", "--config=" + path};
  Status s = ExpandConfigFile(*sub_, 0, args);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "config file " + path +
                             ":\n  bogus: not a flag of `run`\n  leader-elect: expected true or "
                             "false\n  mode: expected a value or a list");
}

TEST_F(ConfigFileTest, UnreadableOrNotYaml) {
  std::vector<std::string> args = {"run", "--config", "/nonexistent/c.yaml"};
  EXPECT_EQ(ExpandConfigFile(*sub_, 0, args).message(),
            "config file /nonexistent/c.yaml: cannot be read");
  std::string path = Write("mode: [unclosed\n");
  args = {"run", "--config", path};
  Status s = ExpandConfigFile(*sub_, 0, args);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("not YAML"), std::string::npos) << s.message();
}

// `diff --config` reads run's file: run's other keys are left out quietly,
// a key of neither command is still an error.
TEST_F(ConfigFileTest, DiffReadsRunsFileAndLeavesRunsOtherKeysOut) {
  CLI::App* diff = app_.add_subcommand("diff");
  std::vector<std::string> excluded;
  diff->add_option("--exclude-namespaces", excluded);
  diff->add_option("--config", file_);
  std::string path = Write("mode: audit\nleader-elect: true\nexclude-namespaces: [a]\n");
  std::vector<std::string> args = {"diff", "--config", path};
  ASSERT_TRUE(ExpandConfigFile(*diff, 0, args, sub_).ok());
  EXPECT_EQ(args, (std::vector<std::string>{"diff", "--exclude-namespaces=a"}));
  path = Write("mode: audit\nbogus: 1\n");
  args = {"diff", "--config", path};
  Status s = ExpandConfigFile(*diff, 0, args, sub_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("bogus: not a flag of `diff`"), std::string::npos) << s.message();
}

TEST_F(ConfigFileTest, NoConfigLeavesArgumentsAlone) {
  std::vector<std::string> args = {"run", "--mode", "audit"};
  ASSERT_TRUE(ExpandConfigFile(*sub_, 0, args).ok());
  EXPECT_EQ(args, (std::vector<std::string>{"run", "--mode", "audit"}));
}

}  // namespace
}  // namespace npc::cli
