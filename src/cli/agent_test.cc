// `netpol-ctrl agent`'s flags, help and usage errors (the agent itself is
// tested in src/agent and, with real connections, in test/dataplane).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "cli/command.h"
#include "cli/flags.h"

namespace npc::cli {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

struct Outcome {
  int code = -1;
  std::string out, err;
};

Outcome RunCli(std::vector<std::string> args) {
  args.insert(args.begin(), "netpol-ctrl");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::istringstream in;
  std::ostringstream out, err;
  Outcome o;
  o.code = Run(static_cast<int>(argv.size()), argv.data(), in, out, err);
  o.out = out.str();
  o.err = err.str();
  return o;
}

TEST(AgentCliTest, HelpHasFlagsAndAnExample) {
  Outcome o = RunCli({"agent", "--help"});
  EXPECT_EQ(o.code, 0);
  for (const char* flag :
       {"--kubeconfig", "--node-name", "--report-interval", "--max-flows",
        "--max-flows-per-workload", "--forget-after", "--conntrack-buffer-size",
        "--metrics-bind-address", "--health-probe-bind-address", "--log-format"}) {
    EXPECT_THAT(o.out, HasSubstr(flag));
  }
  EXPECT_THAT(o.out, HasSubstr("netpol-ctrl agent --kubeconfig"));
  EXPECT_THAT(o.out, HasSubstr("CAP_NET_ADMIN"));
  EXPECT_THAT(RunCli({"--help"}).out, HasSubstr("agent"));
}

TEST(AgentCliTest, UsageErrorsExit2) {
  ::unsetenv("NODE_NAME");
  Outcome o = RunCli({"agent", "--kubeconfig", "/nonexistent"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_THAT(o.err, HasSubstr("--node-name is required"));
  o = RunCli({"agent", "--node-name", "n", "--report-interval", "500ms"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_THAT(o.err, HasSubstr("at least 1s"));
  o = RunCli({"agent", "--node-name", "n", "--max-flows", "10", "--max-flows-per-workload", "20"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_THAT(o.err, HasSubstr("above --max-flows"));
  o = RunCli({"agent", "--node-name", "n", "--report-interval", "soon"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_THAT(o.err, HasSubstr("not a duration"));
  o = RunCli({"agent", "--node-name", "n", "--no-such-flag"});
  EXPECT_EQ(o.code, kExitUsage);
  o = RunCli({"agent", "--node-name", "n", "--max-flows", "0"});
  EXPECT_EQ(o.code, kExitUsage);
}

TEST(FlagsTest, Durations) {
  EXPECT_EQ(ParseDuration("60s"), std::chrono::milliseconds(60s));
  EXPECT_EQ(ParseDuration("1h30m"), std::chrono::milliseconds(90min));
  EXPECT_EQ(ParseDuration("1.5h"), std::chrono::milliseconds(90min));
  EXPECT_EQ(ParseDuration("250ms"), 250ms);
  EXPECT_EQ(ParseDuration("0"), 0ms);
  EXPECT_FALSE(ParseDuration(""));
  EXPECT_FALSE(ParseDuration("60"));
  EXPECT_FALSE(ParseDuration("s"));
  EXPECT_FALSE(ParseDuration("1.2.3s"));
  EXPECT_FALSE(ParseDuration("5d"));
}

}  // namespace
}  // namespace npc::cli
