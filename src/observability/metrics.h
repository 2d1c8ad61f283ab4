// Metrics: counters, gauges and histograms in a registry that renders the
// Prometheus text exposition format (version 0.0.4).
//
//   observability::Registry registry;
//   Counter& restarts = registry.AddCounter("app_restarts_total", "Restarts.");
//   auto& requests = registry.AddCounterFamily("app_requests_total", "Requests.",
//                                              {"verb", "code"});
//   Histogram& took = registry.AddHistogram("app_duration_seconds", "Time.",
//                                           DefaultBuckets());
//
//   restarts.Inc();
//   requests.WithLabels({"get", "200"}).Inc();
//   took.Observe(std::chrono::milliseconds(12));
//   Collector& depth = registry.AddCollector("app_queue_depth", "Depth.", MetricType::kGauge);
//   depth.SetValue([&queue] { return double(queue.Len()); });  // computed at scrape time
//   ...
//   depth.Clear();                 // before `queue` is destroyed
//   std::string text = registry.Expose();
//
// Registration (Add*) is for start-up code with constant names: an invalid or
// duplicate metric name, an invalid label name, a wrong number of label values
// or unsorted buckets is a programming error and aborts the process with a
// message naming the metric (like Prometheus' MustRegister).
//
// Output is stable: metric families sorted by name, series of a family sorted
// by label values; histograms get `_bucket{le=...}` (cumulative, ending with
// le="+Inf"), `_sum` and `_count`. Families without series still print their
// HELP and TYPE lines.
//
// Thread-safety: everything is safe to call from any thread. The hot path is
// cheap: Counter and Gauge are single atomics; Histogram::Observe takes one
// uncontended mutex; Family::WithLabels takes a shared (reader) lock for series
// that exist, so callers with a fixed label set may also keep the returned
// reference, which stays valid for the registry's lifetime. The registry must
// outlive every reference it handed out.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace npc::observability {

enum class MetricType { kCounter, kGauge, kHistogram };

// A value that only goes up (resets only when the process restarts).
class Counter {
 public:
  // Adds `v`, which must be >= 0; negative and NaN values are ignored.
  void Inc(double v = 1);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  void Inc() { Add(1); }
  void Dec() { Add(-1); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Counts observations into fixed buckets (upper bounds, inclusive).
class Histogram {
 public:
  // `bounds`: strictly increasing, finite upper bounds; +Inf is implicit.
  explicit Histogram(std::vector<double> bounds);

  void Observe(double v);
  // Observes a duration in seconds (the Prometheus base unit).
  void Observe(std::chrono::duration<double> d) { Observe(d.count()); }

  struct Snapshot {
    std::vector<double> bounds;    // as given, without +Inf
    std::vector<uint64_t> counts;  // per bucket, NOT cumulative; one more than bounds (+Inf)
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Read() const;

 private:
  const std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::vector<uint64_t> counts_;  // guarded by mu_
  double sum_ = 0;                // guarded by mu_
  uint64_t count_ = 0;            // guarded by mu_
};

// The Prometheus client defaults: .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10.
std::vector<double> DefaultBuckets();
// `count` bounds: start, start*factor, start*factor^2, ... (start > 0, factor > 1).
std::vector<double> ExponentialBuckets(double start, double factor, int count);

// Series of one metric told apart by label values, created on first use.
template <typename T>
class Family {
 public:
  // The series for these label values, one per label name, in the family's
  // order. The reference stays valid for the registry's lifetime.
  T& WithLabels(std::initializer_list<std::string_view> values);
  T& WithLabels(const std::vector<std::string>& values);

  const std::vector<std::string>& label_names() const { return label_names_; }

  // Internal (exposition): calls fn(label_values, series) in label-value order.
  void ForEach(const std::function<void(const std::vector<std::string>&, const T&)>& fn) const;

  // Use Registry::Add*Family.
  Family(std::string name, std::vector<std::string> label_names,
         std::function<std::unique_ptr<T>()> make);

 private:
  T& Get(std::vector<std::string> values);

  const std::string name_;
  const std::vector<std::string> label_names_;
  const std::function<std::unique_ptr<T>()> make_;
  mutable std::shared_mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>, std::less<>> series_;  // guarded by mu_
};

// A metric whose samples a callback computes at scrape time (queue depth,
// cache sizes): the value lives elsewhere and is read only when scraped.
class Collector {
 public:
  struct Sample {
    std::vector<std::string> label_values;  // one per label name
    double value = 0;
  };
  using Fn = std::function<std::vector<Sample>()>;

  // Installs (or replaces) the callback. It runs on the scraping thread, must
  // be quick and must not call into the registry. Samples are sorted by label
  // values when rendered; a sample with the wrong number of label values is dropped.
  void Set(Fn fn);
  // For a collector without labels: one sample with this value.
  void SetValue(std::function<double()> fn);
  // Removes the callback (the metric then has no samples). Waits for a scrape
  // running the old callback to finish, so what it captured may be destroyed
  // once Clear() returns.
  void Clear() { Set(nullptr); }

  // Internal (exposition): the samples, sorted by label values.
  std::vector<Sample> Collect() const;

  // Use Registry::AddCollector.
  explicit Collector(std::vector<std::string> label_names) : label_names_(std::move(label_names)) {}

 private:
  const std::vector<std::string> label_names_;
  mutable std::mutex mu_;
  Fn fn_;  // guarded by mu_
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // `name`: [a-zA-Z_:][a-zA-Z0-9_:]*, unique in the registry. `help`: any text.
  // Label names: [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__"; not "le" for
  // histograms. Every violation aborts (see the file comment).
  Counter& AddCounter(std::string name, std::string help);
  Gauge& AddGauge(std::string name, std::string help);
  Histogram& AddHistogram(std::string name, std::string help, std::vector<double> bounds);
  Family<Counter>& AddCounterFamily(std::string name, std::string help,
                                    std::vector<std::string> label_names);
  Family<Gauge>& AddGaugeFamily(std::string name, std::string help,
                                std::vector<std::string> label_names);
  Family<Histogram>& AddHistogramFamily(std::string name, std::string help,
                                        std::vector<std::string> label_names,
                                        std::vector<double> bounds);
  // `type`: kCounter or kGauge. Starts without a callback.
  Collector& AddCollector(std::string name, std::string help, MetricType type,
                          std::vector<std::string> label_names = {});

  // The text exposition format 0.0.4 of every registered metric.
  [[nodiscard]] std::string Expose() const;

 private:
  struct Entry;
  Entry& Add(std::string name, std::string help, MetricType type,
             const std::vector<std::string>& label_names);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Entry>, std::less<>> entries_;  // guarded by mu_
};

// The Content-Type of Registry::Expose() output.
inline constexpr std::string_view kExpositionContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// Exposition helpers, public for tests and for code writing its own samples.
// A sample value: "+Inf", "-Inf", "NaN"; an integer below 2^53 as an integer ("3"); else
// the shortest round-tripping %g form ("0.25", "0.0005", "1e-05", "1e+21").
std::string FormatValue(double v);
// HELP text: backslash and newline escaped.
std::string EscapeHelp(std::string_view help);
// Label value: backslash, double quote and newline escaped.
std::string EscapeLabelValue(std::string_view value);

}  // namespace npc::observability
