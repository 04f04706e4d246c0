// MetricsRegistry: counters, gauges and histograms with labels, rendered as Prometheus text.
//
// Get*() returns a reference that stays valid for the registry's lifetime (or until Remove());
// look a metric up once and keep the reference: updates are lock-free atomics.
//
// Thread-safety: everything is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::core {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Increment(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double d);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative counts per bound (last = +Inf), sum and count.
  std::vector<uint64_t> CumulativeCounts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
  std::atomic<uint64_t> count_{0};
};

class MetricsRegistry {
 public:
  Counter& GetCounter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& GetGauge(std::string_view name, std::string_view help, const Labels& labels = {});
  // Default buckets suit latencies in seconds (1 ms .. 60 s).
  Histogram& GetHistogram(std::string_view name, std::string_view help, const Labels& labels = {},
                          std::vector<double> upper_bounds = {});

  // Removes every series carrying label `key`=`value` (a deleted connector). References to
  // removed series must not be used afterwards.
  void RemoveSeriesWithLabel(std::string_view key, std::string_view value);

  // Prometheus text exposition format 0.0.4.
  std::string RenderPrometheus() const;

  // The sum of the counter or gauge series of family `name` that carry label `key`=`value`
  // (0 when there is none); read under the registry's lock, so safe against a concurrent
  // RemoveSeriesWithLabel. For samplers (the console's metrics history), not for hot paths.
  double SumWithLabel(std::string_view name, std::string_view key, std::string_view value) const;

 private:
  enum class Kind { kCounter, kGauge, kHistogram };
  struct Family {
    Kind kind;
    std::string help;
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<Gauge>> gauges;
    std::map<Labels, std::unique_ptr<Histogram>> histograms;
  };
  Family& FamilyFor(std::string_view name, std::string_view help, Kind kind);

  mutable std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
};

// The metrics every pipeline reports, labelled connector=<name>; created once per connector.
struct ConnectorMetrics {
  ConnectorMetrics(MetricsRegistry& registry, const std::string& connector);

  Counter* events_read;     // snapshot reads
  Counter* events_created;
  Counter* events_updated;
  Counter* events_deleted;
  Counter* events_truncated;
  Counter* bytes;           // event payload bytes through the pipeline
  Counter* batches;
  Counter* errors;          // errors seen (retried or fatal)
  Counter* retries;
  Gauge* queue_events;
  Gauge* queue_bytes;
  Gauge* lag_ms;            // now - source commit time of the last event written
  Gauge* last_flush_unix_s;
  Histogram* flush_seconds;  // write+flush latency per micro-batch
};

}  // namespace sluice::core
