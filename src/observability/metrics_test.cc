#include "observability/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

namespace npc::observability {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(FormatValue, ShortestExactDecimalAndSpecialValues) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(3), "3");
  EXPECT_EQ(FormatValue(-2.5), "-2.5");
  EXPECT_EQ(FormatValue(0.005), "0.005");
  EXPECT_EQ(FormatValue(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(FormatValue(0.0005), "0.0005");
  EXPECT_EQ(FormatValue(0.00001), "1e-05");
  EXPECT_EQ(FormatValue(123456789), "123456789");
  EXPECT_EQ(FormatValue(9007199254740991.0), "9007199254740991");
  EXPECT_EQ(FormatValue(1e21), "1e+21");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
}

TEST(Escape, HelpEscapesBackslashAndNewlineOnly) {
  EXPECT_EQ(EscapeHelp("a\\b\nc\"d"), "a\\\\b\\nc\"d");
}

TEST(Escape, LabelValueEscapesBackslashQuoteAndNewline) {
  EXPECT_EQ(EscapeLabelValue("a\\b\nc\"d"), "a\\\\b\\nc\\\"d");
  EXPECT_EQ(EscapeLabelValue("plain"), "plain");
}

TEST(Registry, GoldenExposition) {
  Registry r;
  // Registered out of order: output is sorted by name.
  Gauge& temp = r.AddGauge("zz_temperature_celsius", "Temperature.\nSecond line \\ here.");
  auto& req = r.AddCounterFamily("aa_requests_total", "Requests by code.", {"code", "path"});
  Counter& plain = r.AddCounter("bb_plain_total", "Plain counter.");
  auto& lat = r.AddHistogramFamily("cc_latency_seconds", "Latency.", {"op"}, {0.1, 1});
  Collector& depth = r.AddCollector("dd_depth", "Depth by queue.", MetricType::kGauge, {"queue"});
  r.AddCounterFamily("ee_empty_total", "No series yet.", {"x"});

  temp.Set(-3.5);
  req.WithLabels({"500", "/b"}).Inc();
  req.WithLabels({"200", "/a\"q\"\n\\"}).Inc(2);
  req.WithLabels({"200", "/a"}).Inc();
  plain.Inc(0.5);
  lat.WithLabels({"write"}).Observe(0.1);  // inclusive upper bound
  lat.WithLabels({"write"}).Observe(0.5);
  lat.WithLabels({"write"}).Observe(7);
  lat.WithLabels({"read"}).Observe(0.01);
  depth.Set([] {
    return std::vector<Collector::Sample>{{{"slow"}, 4}, {{"fast"}, 1}, {{"too", "many"}, 9}};
  });

  EXPECT_EQ(r.Expose(),
            "# HELP aa_requests_total Requests by code.\n"
            "# TYPE aa_requests_total counter\n"
            "aa_requests_total{code=\"200\",path=\"/a\"} 1\n"
            "aa_requests_total{code=\"200\",path=\"/a\\\"q\\\"\\n\\\\\"} 2\n"
            "aa_requests_total{code=\"500\",path=\"/b\"} 1\n"
            "# HELP bb_plain_total Plain counter.\n"
            "# TYPE bb_plain_total counter\n"
            "bb_plain_total 0.5\n"
            "# HELP cc_latency_seconds Latency.\n"
            "# TYPE cc_latency_seconds histogram\n"
            "cc_latency_seconds_bucket{op=\"read\",le=\"0.1\"} 1\n"
            "cc_latency_seconds_bucket{op=\"read\",le=\"1\"} 1\n"
            "cc_latency_seconds_bucket{op=\"read\",le=\"+Inf\"} 1\n"
            "cc_latency_seconds_sum{op=\"read\"} 0.01\n"
            "cc_latency_seconds_count{op=\"read\"} 1\n"
            "cc_latency_seconds_bucket{op=\"write\",le=\"0.1\"} 1\n"
            "cc_latency_seconds_bucket{op=\"write\",le=\"1\"} 2\n"
            "cc_latency_seconds_bucket{op=\"write\",le=\"+Inf\"} 3\n"
            "cc_latency_seconds_sum{op=\"write\"} 7.6\n"
            "cc_latency_seconds_count{op=\"write\"} 3\n"
            "# HELP dd_depth Depth by queue.\n"
            "# TYPE dd_depth gauge\n"
            "dd_depth{queue=\"fast\"} 1\n"
            "dd_depth{queue=\"slow\"} 4\n"
            "# HELP ee_empty_total No series yet.\n"
            "# TYPE ee_empty_total counter\n"
            "# HELP zz_temperature_celsius Temperature.\\nSecond line \\\\ here.\n"
            "# TYPE zz_temperature_celsius gauge\n"
            "zz_temperature_celsius -3.5\n");
}

TEST(Registry, UnlabelledHistogramAndFreshMetricsShowZero) {
  Registry r;
  r.AddHistogram("h_seconds", "H.", {1});
  r.AddCounter("c_total", "C.");
  EXPECT_EQ(r.Expose(),
            "# HELP c_total C.\n"
            "# TYPE c_total counter\n"
            "c_total 0\n"
            "# HELP h_seconds H.\n"
            "# TYPE h_seconds histogram\n"
            "h_seconds_bucket{le=\"1\"} 0\n"
            "h_seconds_bucket{le=\"+Inf\"} 0\n"
            "h_seconds_sum 0\n"
            "h_seconds_count 0\n");
}

TEST(Counter, IgnoresNegativeAndNaN) {
  Counter c;
  c.Inc(2);
  c.Inc(-1);
  c.Inc(std::nan(""));
  EXPECT_EQ(c.Value(), 2);
}

TEST(Gauge, GoesUpAndDown) {
  Gauge g;
  g.Set(5);
  g.Inc();
  g.Dec();
  g.Dec();
  g.Add(0.5);
  EXPECT_EQ(g.Value(), 4.5);
}

TEST(Histogram, BucketsAreInclusiveUpperBoundsAndNaNGoesToInf) {
  Histogram h({1, 2});
  h.Observe(1);
  h.Observe(1.0000001);
  h.Observe(2);
  h.Observe(100);
  h.Observe(std::chrono::milliseconds(500));
  Histogram::Snapshot s = h.Read();
  EXPECT_EQ(s.counts, (std::vector<uint64_t>{2, 2, 1}));
  EXPECT_EQ(s.count, 5u);
  EXPECT_DOUBLE_EQ(s.sum, 1 + 1.0000001 + 2 + 100 + 0.5);
}

TEST(Buckets, ExponentialAndDefault) {
  EXPECT_EQ(ExponentialBuckets(0.5, 2, 4), (std::vector<double>{0.5, 1, 2, 4}));
  EXPECT_EQ(DefaultBuckets().front(), 0.005);
  EXPECT_EQ(DefaultBuckets().back(), 10);
}

TEST(Family, SameLabelsGiveTheSameSeries) {
  Registry r;
  auto& f = r.AddGaugeFamily("g", "G.", {"a"});
  Gauge& one = f.WithLabels({"x"});
  EXPECT_EQ(&one, &f.WithLabels(std::vector<std::string>{"x"}));
  EXPECT_NE(&one, &f.WithLabels({"y"}));
}

TEST(Collector, ClearRemovesSamplesAndSetValueGivesOne) {
  Registry r;
  Collector& c = r.AddCollector("q_depth", "Q.", MetricType::kGauge);
  c.SetValue([] { return 7.0; });
  EXPECT_THAT(r.Expose(), HasSubstr("\nq_depth 7\n"));
  c.Clear();
  EXPECT_THAT(r.Expose(), Not(HasSubstr("\nq_depth ")));
}

TEST(Concurrency, CountersHistogramsAndFamiliesCountEveryIncrement) {
  Registry r;
  Counter& c = r.AddCounter("c_total", "C.");
  auto& f = r.AddCounterFamily("f_total", "F.", {"t"});
  Histogram& h = r.AddHistogram("h_seconds", "H.", {0.5});
  Gauge& g = r.AddGauge("g", "G.");
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        c.Inc();
        f.WithLabels({std::to_string(i % 4)}).Inc();
        h.Observe(t % 2 == 0 ? 0.25 : 1.0);
        g.Inc();
        if (i % 5000 == 0) (void)r.Expose();  // scrapes race with updates
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.Value(), kThreads * kPerThread);
  double family_total = 0;
  for (int i = 0; i < 4; ++i) family_total += f.WithLabels({std::to_string(i)}).Value();
  EXPECT_EQ(family_total, kThreads * kPerThread);
  Histogram::Snapshot s = h.Read();
  EXPECT_EQ(s.count, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(s.counts[0], static_cast<uint64_t>(kThreads / 2 * kPerThread));
  EXPECT_EQ(g.Value(), kThreads * kPerThread);
}

using RegistryDeathTest = ::testing::Test;

TEST_F(RegistryDeathTest, RegistrationMistakesAbortNamingTheMetric) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Registry r;
        r.AddCounter("bad-name", "x");
      },
      "bad-name.*invalid metric name");
  EXPECT_DEATH(
      {
        Registry r;
        r.AddCounter("1abc", "x");
      },
      "invalid metric name");
  EXPECT_DEATH(
      {
        Registry r;
        r.AddCounter("dup_total", "x");
        r.AddGauge("dup_total", "y");
      },
      "dup_total.*registered twice");
  EXPECT_DEATH(
      {
        Registry r;
        r.AddCounterFamily("a_total", "x", {"__x"});
      },
      "invalid label");
  EXPECT_DEATH(
      {
        Registry r;
        r.AddCounterFamily("a_total", "x", {"a", "a"});
      },
      "duplicate label");
  EXPECT_DEATH(
      {
        Registry r;
        r.AddHistogramFamily("h", "x", {"le"}, {1});
      },
      "le");
  EXPECT_DEATH(
      {
        Registry r;
        r.AddHistogram("h", "x", {2, 1});
      },
      "strictly increase");
  EXPECT_DEATH(
      {
        Registry r;
        r.AddCounterFamily("a_total", "x", {"a", "b"}).WithLabels({"only-one"});
      },
      "a_total.*1 label values for 2 label names");
}

}  // namespace
}  // namespace npc::observability
