#include "observability/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace npc::observability {
namespace {

// A registration mistake: start-up code with constant names is wrong.
[[noreturn]] void Die(std::string_view metric, std::string_view what) {
  std::fprintf(stderr, "observability: metric \"%.*s\": %.*s\n", static_cast<int>(metric.size()),
               metric.data(), static_cast<int>(what.size()), what.data());
  std::abort();
}

bool IsMetricName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool IsLabelName(std::string_view s) {
  if (s.empty() || s.starts_with("__")) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

void CheckBounds(std::string_view name, const std::vector<double>& bounds) {
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i])) Die(name, "bucket bounds must be finite (+Inf is implicit)");
    if (i > 0 && !(bounds[i - 1] < bounds[i])) Die(name, "bucket bounds must strictly increase");
  }
}

std::string_view TypeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

// `{a="x",b="y"}` (with an optional extra label last), or nothing without labels.
void AppendLabels(std::string& out, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, std::string_view extra_name = {},
                  std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (!first) out += ',';
    first = false;
    out += names[i];
    out += "=\"";
    out += EscapeLabelValue(values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

void AppendSample(std::string& out, std::string_view name, std::string_view suffix,
                  const std::vector<std::string>& names, const std::vector<std::string>& values,
                  double value, std::string_view extra_name = {},
                  std::string_view extra_value = {}) {
  out += name;
  out += suffix;
  AppendLabels(out, names, values, extra_name, extra_value);
  out += ' ';
  out += FormatValue(value);
  out += '\n';
}

}  // namespace

void Counter::Inc(double v) {
  if (!(v >= 0)) return;  // negative or NaN
  value_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double v) {
  // First bound >= v: buckets are inclusive upper bounds. NaN lands in +Inf.
  size_t i = std::isnan(v)
                 ? bounds_.size()
                 : static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                       bounds_.begin());
  std::lock_guard lock(mu_);
  ++counts_[i];
  sum_ += v;
  ++count_;
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  s.bounds = bounds_;
  std::lock_guard lock(mu_);
  s.counts = counts_;
  s.sum = sum_;
  s.count = count_;
  return s;
}

std::vector<double> DefaultBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  std::vector<double> out;
  double v = start;
  for (int i = 0; i < count; ++i, v *= factor) out.push_back(v);
  return out;
}

template <typename T>
Family<T>::Family(std::string name, std::vector<std::string> label_names,
                  std::function<std::unique_ptr<T>()> make)
    : name_(std::move(name)), label_names_(std::move(label_names)), make_(std::move(make)) {}

template <typename T>
T& Family<T>::WithLabels(std::initializer_list<std::string_view> values) {
  return WithLabels(std::vector<std::string>(values.begin(), values.end()));
}

template <typename T>
T& Family<T>::WithLabels(const std::vector<std::string>& values) {
  {
    std::shared_lock lock(mu_);
    auto it = series_.find(values);
    if (it != series_.end()) return *it->second;
  }
  return Get(values);
}

template <typename T>
T& Family<T>::Get(std::vector<std::string> values) {
  if (values.size() != label_names_.size()) {
    Die(name_, "got " + std::to_string(values.size()) + " label values for " +
                   std::to_string(label_names_.size()) + " label names");
  }
  std::unique_lock lock(mu_);
  auto [it, inserted] = series_.try_emplace(std::move(values));
  if (inserted) it->second = make_();
  return *it->second;
}

template <typename T>
void Family<T>::ForEach(
    const std::function<void(const std::vector<std::string>&, const T&)>& fn) const {
  std::shared_lock lock(mu_);
  for (const auto& [values, series] : series_) fn(values, *series);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

void Collector::Set(Fn fn) {
  std::lock_guard lock(mu_);
  fn_ = std::move(fn);
}

void Collector::SetValue(std::function<double()> fn) {
  if (!label_names_.empty()) Die("(collector)", "SetValue on a collector with labels");
  if (!fn) return Clear();
  Set([fn = std::move(fn)] { return std::vector<Sample>{{{}, fn()}}; });
}

std::vector<Collector::Sample> Collector::Collect() const {
  std::vector<Sample> samples;
  {
    std::lock_guard lock(mu_);
    if (fn_) samples = fn_();
  }
  std::erase_if(samples,
                [&](const Sample& s) { return s.label_values.size() != label_names_.size(); });
  std::stable_sort(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) {
    return a.label_values < b.label_values;
  });
  return samples;
}

struct Registry::Entry {
  std::string name;
  std::string help;
  MetricType type;
  std::vector<std::string> label_names;
  std::unique_ptr<Family<Counter>> counters;
  std::unique_ptr<Family<Gauge>> gauges;
  std::unique_ptr<Family<Histogram>> histograms;
  std::unique_ptr<Collector> collector;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Entry& Registry::Add(std::string name, std::string help, MetricType type,
                               const std::vector<std::string>& label_names) {
  if (!IsMetricName(name)) Die(name, "invalid metric name");
  for (size_t i = 0; i < label_names.size(); ++i) {
    const std::string& l = label_names[i];
    if (!IsLabelName(l)) Die(name, "invalid label name \"" + l + "\"");
    if (type == MetricType::kHistogram && l == "le")
      Die(name, "histograms cannot use label \"le\"");
    for (size_t j = 0; j < i; ++j) {
      if (label_names[j] == l) Die(name, "duplicate label name \"" + l + "\"");
    }
  }
  std::lock_guard lock(mu_);
  auto [it, inserted] = entries_.try_emplace(name);
  if (!inserted) Die(name, "registered twice");
  it->second = std::make_unique<Entry>();
  Entry& e = *it->second;
  e.name = std::move(name);
  e.help = std::move(help);
  e.type = type;
  e.label_names = label_names;
  return e;
}

Family<Counter>& Registry::AddCounterFamily(std::string name, std::string help,
                                            std::vector<std::string> label_names) {
  Entry& e = Add(std::move(name), std::move(help), MetricType::kCounter, label_names);
  e.counters = std::make_unique<Family<Counter>>(e.name, std::move(label_names),
                                                 [] { return std::make_unique<Counter>(); });
  return *e.counters;
}

Family<Gauge>& Registry::AddGaugeFamily(std::string name, std::string help,
                                        std::vector<std::string> label_names) {
  Entry& e = Add(std::move(name), std::move(help), MetricType::kGauge, label_names);
  e.gauges = std::make_unique<Family<Gauge>>(e.name, std::move(label_names),
                                             [] { return std::make_unique<Gauge>(); });
  return *e.gauges;
}

Family<Histogram>& Registry::AddHistogramFamily(std::string name, std::string help,
                                                std::vector<std::string> label_names,
                                                std::vector<double> bounds) {
  CheckBounds(name, bounds);
  Entry& e = Add(std::move(name), std::move(help), MetricType::kHistogram, label_names);
  e.histograms = std::make_unique<Family<Histogram>>(
      e.name, std::move(label_names),
      [bounds = std::move(bounds)] { return std::make_unique<Histogram>(bounds); });
  return *e.histograms;
}

Counter& Registry::AddCounter(std::string name, std::string help) {
  return AddCounterFamily(std::move(name), std::move(help), {}).WithLabels({});
}

Gauge& Registry::AddGauge(std::string name, std::string help) {
  return AddGaugeFamily(std::move(name), std::move(help), {}).WithLabels({});
}

Histogram& Registry::AddHistogram(std::string name, std::string help, std::vector<double> bounds) {
  return AddHistogramFamily(std::move(name), std::move(help), {}, std::move(bounds)).WithLabels({});
}

Collector& Registry::AddCollector(std::string name, std::string help, MetricType type,
                                  std::vector<std::string> label_names) {
  if (type == MetricType::kHistogram) Die(name, "a collector is a counter or a gauge");
  Entry& e = Add(std::move(name), std::move(help), type, label_names);
  e.collector = std::make_unique<Collector>(std::move(label_names));
  return *e.collector;
}

std::string Registry::Expose() const {
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& entry : entries_) {
    // Not a structured binding: lambdas below capture it (clang 14 cannot).
    const std::string& name = entry.first;
    const auto& e = entry.second;
    out += "# HELP ";
    out += name;
    out += ' ';
    out += EscapeHelp(e->help);
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += TypeName(e->type);
    out += '\n';
    const auto& labels = e->label_names;
    if (e->counters) {
      e->counters->ForEach([&](const std::vector<std::string>& values, const Counter& c) {
        AppendSample(out, name, "", labels, values, c.Value());
      });
    } else if (e->gauges) {
      e->gauges->ForEach([&](const std::vector<std::string>& values, const Gauge& g) {
        AppendSample(out, name, "", labels, values, g.Value());
      });
    } else if (e->histograms) {
      e->histograms->ForEach([&](const std::vector<std::string>& values, const Histogram& h) {
        Histogram::Snapshot s = h.Read();
        uint64_t cumulative = 0;
        for (size_t i = 0; i < s.bounds.size(); ++i) {
          cumulative += s.counts[i];
          AppendSample(out, name, "_bucket", labels, values, static_cast<double>(cumulative), "le",
                       FormatValue(s.bounds[i]));
        }
        AppendSample(out, name, "_bucket", labels, values, static_cast<double>(s.count), "le",
                     "+Inf");
        AppendSample(out, name, "_sum", labels, values, s.sum);
        AppendSample(out, name, "_count", labels, values, static_cast<double>(s.count));
      });
    } else if (e->collector) {
      for (const Collector::Sample& s : e->collector->Collect()) {
        AppendSample(out, name, "", labels, s.label_values, s.value);
      }
    }
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  // Integers as integers while exact; else the shortest round-tripping %g form.
  if (std::abs(v) < 9007199254740992.0 && v == std::trunc(v)) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), static_cast<int64_t>(v));
    return std::string(buf, end);
  }
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::general);
  if (ec != std::errc()) return "NaN";  // cannot happen with 64 bytes
  return std::string(buf, end);
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace npc::observability
