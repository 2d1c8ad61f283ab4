#include "agent/reporter.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

#include <map>

#include "agent/test_util.h"

namespace npc::agent {
namespace {

using namespace std::chrono_literals;
using testing::Conn;
using testing::PodMetaOf;
using testing::Running;

// Keeps what was written, per object; fails while told to.
class FakeWriter final : public ReportWriter {
 public:
  Status Write(const observedflows::WorkloadRef& client,
               const observedflows::NodeReport& report) override {
    ++calls;
    if (fail) return Unavailable("the API server is away");
    objects[client.ns + "/" + observedflows::ObjectName(client.kind, client.name)] = report;
    return Status::Ok();
  }
  int calls = 0;
  bool fail = false;
  std::map<std::string, observedflows::NodeReport> objects;
};

class ReporterTest : public ::testing::Test {
 protected:
  ReporterTest()
      : metrics_(registry_, {.version = "test"}),
        aggregator_(map_, {}, wall_, clock_, metrics_),
        reporter_(aggregator_, writer_, {.node = "node-a", .interval = 60s}, metrics_) {
    map_.UpsertPod(PodMetaOf("shop", "web"), Running("198.18.0.2"));
    map_.UpsertPod(PodMetaOf("shop", "api"), Running("198.18.0.3"));
  }
  void Connect(const char* from, int n = 1) {
    std::vector<ConnEvent> e(n, Conn(from, "203.0.113.7", 443));
    aggregator_.OnEvents(e);
  }
  uint64_t Count(const std::string& object) {
    auto it = writer_.objects.find(object);
    return it == writer_.objects.end() || it->second.flows.empty() ? 0 : it->second.flows[0].count;
  }

  AddressMap map_{"node-a"};
  FakeWallClock wall_;
  FakeClock clock_;
  observability::Registry registry_;
  AgentMetrics metrics_;
  Aggregator aggregator_;
  FakeWriter writer_;
  Reporter reporter_;
};

TEST_F(ReporterTest, WritesAtMostOncePerIntervalAndNothingWhenQuiet) {
  Connect("198.18.0.2");
  EXPECT_EQ(reporter_.Tick(), 1u);
  EXPECT_EQ(Count("shop/pod-web"), 1u);
  // More connections within the interval: written once, when it has passed.
  for (int s = 0; s < 59; ++s) {
    Connect("198.18.0.2", 10);
    clock_.Advance(1s);
    EXPECT_EQ(reporter_.Tick(), 0u) << "second " << s;
  }
  clock_.Advance(1s);
  EXPECT_EQ(reporter_.Tick(), 1u);
  EXPECT_EQ(Count("shop/pod-web"), 591u);
  // Ten quiet intervals: not one write.
  const int calls = writer_.calls;
  for (int s = 0; s < 600; ++s) {
    clock_.Advance(1s);
    reporter_.Tick();
  }
  EXPECT_EQ(writer_.calls, calls);
  EXPECT_EQ(metrics_.reports_written.Value(), 2);
}

TEST_F(ReporterTest, EachClientWorkloadIsItsOwnObject) {
  Connect("198.18.0.2");
  Connect("198.18.0.3", 2);
  EXPECT_EQ(reporter_.Tick(), 2u);
  EXPECT_EQ(Count("shop/pod-web"), 1u);
  EXPECT_EQ(Count("shop/pod-api"), 2u);
  EXPECT_EQ(writer_.objects["shop/pod-api"].node, "node-a");
}

TEST_F(ReporterTest, AFailedWriteLosesNothingAndIsRetriedNextInterval) {
  writer_.fail = true;
  Connect("198.18.0.2", 3);
  EXPECT_EQ(reporter_.Tick(), 0u);
  EXPECT_EQ(metrics_.report_errors.Value(), 1);
  writer_.fail = false;
  clock_.Advance(30s);
  EXPECT_EQ(reporter_.Tick(), 0u) << "not before the interval";
  Connect("198.18.0.2", 2);
  clock_.Advance(30s);
  EXPECT_EQ(reporter_.Tick(), 1u);
  EXPECT_EQ(Count("shop/pod-web"), 5u);
}

TEST_F(ReporterTest, FlushWritesEverythingNewAtOnce) {
  Connect("198.18.0.2");
  reporter_.Tick();
  Connect("198.18.0.2");
  Connect("198.18.0.3");
  clock_.Advance(5s);
  EXPECT_EQ(reporter_.Flush(), 2u) << "shutdown: whatever the interval";
  EXPECT_EQ(Count("shop/pod-web"), 2u);
  EXPECT_EQ(reporter_.Flush(), 0u) << "nothing new";
}

TEST(FieldManagerTest, OnePerNodeWithinTheLimit) {
  EXPECT_EQ(FieldManager("node-a"), "netpol-ctrl-agent/node-a");
  const std::string m = FieldManager(std::string(200, 'n'));
  EXPECT_EQ(m.size(), 128u);
  EXPECT_NE(m, FieldManager(std::string(199, 'n') + "m"));
}

}  // namespace
}  // namespace npc::agent
