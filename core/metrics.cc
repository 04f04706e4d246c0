#include "core/metrics.h"

#include <cmath>
#include <sstream>

namespace sluice::core {

namespace {
std::string EscapeLabel(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string RenderLabels(const Labels& labels, const std::string& extra_key = "",
                         const std::string& extra_value = "") {
  if (labels.empty() && extra_key.empty()) return "";
  std::string s = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) s += ',';
    first = false;
    s += k + "=\"" + EscapeLabel(v) + "\"";
  }
  if (!extra_key.empty()) {
    if (!first) s += ',';
    s += extra_key + "=\"" + extra_value + "\"";
  }
  return s + "}";
}

std::string FormatDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

bool HasLabel(const Labels& labels, std::string_view key, std::string_view value) {
  for (const auto& [k, v] : labels) {
    if (k == key && v == value) return true;
  }
  return false;
}
}  // namespace

void Gauge::Add(double d) {
  double cur = value_.load(std::memory_order_relaxed);
  while (!value_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  double cur = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t acc = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    acc += buckets_[i].load(std::memory_order_relaxed);
    out[i] = acc;
  }
  return out;
}

MetricsRegistry::Family& MetricsRegistry::FamilyFor(std::string_view name, std::string_view help,
                                                    Kind kind) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{kind, std::string(help), {}, {}, {}}).first;
  }
  return it->second;
}

namespace {

// The series of `labels` in a family's map of one metric kind, made with `args` when new.
template <class Metric, class... Args>
Metric& SeriesIn(std::map<Labels, std::unique_ptr<Metric>>& series, const Labels& labels,
                 Args&&... args) {
  auto& slot = series[labels];
  if (!slot) slot = std::make_unique<Metric>(std::forward<Args>(args)...);
  return *slot;
}

}  // namespace

Counter& MetricsRegistry::GetCounter(std::string_view name, std::string_view help,
                                     const Labels& labels) {
  std::lock_guard lock(mu_);
  return SeriesIn<Counter>(FamilyFor(name, help, Kind::kCounter).counters, labels);
}

Gauge& MetricsRegistry::GetGauge(std::string_view name, std::string_view help,
                                 const Labels& labels) {
  std::lock_guard lock(mu_);
  return SeriesIn<Gauge>(FamilyFor(name, help, Kind::kGauge).gauges, labels);
}

Histogram& MetricsRegistry::GetHistogram(std::string_view name, std::string_view help,
                                         const Labels& labels, std::vector<double> upper_bounds) {
  if (upper_bounds.empty()) {
    upper_bounds = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  }
  std::lock_guard lock(mu_);
  return SeriesIn<Histogram>(FamilyFor(name, help, Kind::kHistogram).histograms, labels,
                             std::move(upper_bounds));
}

void MetricsRegistry::RemoveSeriesWithLabel(std::string_view key, std::string_view value) {
  std::lock_guard lock(mu_);
  for (auto& [name, f] : families_) {
    std::erase_if(f.counters, [&](const auto& e) { return HasLabel(e.first, key, value); });
    std::erase_if(f.gauges, [&](const auto& e) { return HasLabel(e.first, key, value); });
    std::erase_if(f.histograms, [&](const auto& e) { return HasLabel(e.first, key, value); });
  }
}

std::string MetricsRegistry::RenderPrometheus() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + f.help + "\n";
    switch (f.kind) {
      case Kind::kCounter:
        out += "# TYPE " + name + " counter\n";
        for (const auto& [labels, c] : f.counters) {
          out += name + RenderLabels(labels) + " " + std::to_string(c->value()) + "\n";
        }
        break;
      case Kind::kGauge:
        out += "# TYPE " + name + " gauge\n";
        for (const auto& [labels, g] : f.gauges) {
          out += name + RenderLabels(labels) + " " + FormatDouble(g->value()) + "\n";
        }
        break;
      case Kind::kHistogram:
        out += "# TYPE " + name + " histogram\n";
        for (const auto& [labels, h] : f.histograms) {
          auto counts = h->CumulativeCounts();
          for (size_t i = 0; i < h->bounds().size(); ++i) {
            out += name + "_bucket" + RenderLabels(labels, "le", FormatDouble(h->bounds()[i])) +
                   " " + std::to_string(counts[i]) + "\n";
          }
          out += name + "_bucket" + RenderLabels(labels, "le", "+Inf") + " " +
                 std::to_string(counts.back()) + "\n";
          out += name + "_sum" + RenderLabels(labels) + " " + FormatDouble(h->sum()) + "\n";
          out += name + "_count" + RenderLabels(labels) + " " + std::to_string(h->count()) + "\n";
        }
        break;
    }
  }
  return out;
}

double MetricsRegistry::SumWithLabel(std::string_view name, std::string_view key,
                                     std::string_view value) const {
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end()) return 0;
  double sum = 0;
  for (const auto& [labels, c] : it->second.counters) {
    if (HasLabel(labels, key, value)) sum += static_cast<double>(c->value());
  }
  for (const auto& [labels, g] : it->second.gauges) {
    if (HasLabel(labels, key, value)) sum += g->value();
  }
  return sum;
}

ConnectorMetrics::ConnectorMetrics(MetricsRegistry& r, const std::string& connector) {
  Labels base{{"connector", connector}};
  auto events = [&](const char* op) {
    Labels l = base;
    l.emplace_back("op", op);
    return &r.GetCounter("sluice_events_total", "Change events written to the sink, by op", l);
  };
  events_read = events("r");
  events_created = events("c");
  events_updated = events("u");
  events_deleted = events("d");
  events_truncated = events("t");
  bytes = &r.GetCounter("sluice_bytes_total", "Event payload bytes through the pipeline", base);
  batches = &r.GetCounter("sluice_flushes_total", "Sink flushes (micro-batches) committed", base);
  errors = &r.GetCounter("sluice_errors_total", "Errors seen, retried or fatal", base);
  retries = &r.GetCounter("sluice_retries_total", "Retries after retriable errors", base);
  queue_events = &r.GetGauge("sluice_queue_events", "Events waiting in the queue", base);
  queue_bytes = &r.GetGauge("sluice_queue_bytes", "Bytes waiting in the queue", base);
  lag_ms = &r.GetGauge("sluice_lag_ms",
                       "Milliseconds between the source commit and the sink write of the last event",
                       base);
  last_flush_unix_s = &r.GetGauge("sluice_last_flush_timestamp_seconds",
                                  "Unix time of the last committed flush", base);
  flush_seconds = &r.GetHistogram("sluice_batch_seconds", "Write+flush latency per micro-batch",
                                  base);
}

}  // namespace sluice::core
