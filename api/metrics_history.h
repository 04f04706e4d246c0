// MetricsHistory: the last hour (by default) of a few per-connector rates and gauges, kept in
// memory for the web console's plots (GET /connectors/{name}/metrics/history).
//
// A sampler thread calls Record() every `interval` with one ConnectorReading per connector
// (cumulative counters and current gauges, read from the Supervisor and the MetricsRegistry);
// Record() turns counters into per-second rates against the previous reading and appends one
// HistorySample to the connector's SampleRing. A connector missing from a reading (deleted) loses
// its history. A counter that went down (a connector re-created under the same name) gives a
// rate of 0 for that interval, never a negative one.
//
// Memory is bounded: a SampleRing holds `capacity` samples of sizeof(HistorySample) bytes
// (32), allocated once, so a connector costs BytesPerConnector() = capacity * 32 bytes plus its
// name and the previous reading (about 23 KiB for the default 720 samples x 5 s = 1 h).
// Nothing is persisted: history starts again when `sluice serve` restarts.
//
// Thread-safety: SampleRing is a value (no locking). MetricsHistory is thread-safe; the
// HistorySampler owns a thread that stops (and is joined) in its destructor.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace sluice::api {

struct HistorySample {
  int64_t unix_ms = 0;
  float events_per_s = 0;  // change events written to the sink (snapshot reads included)
  float rows_per_s = 0;    // snapshot rows read
  float bytes_per_s = 0;   // event payload bytes through the pipeline
  float lag_ms = 0;        // source commit -> sink write of the last event
  float queue_events = 0;  // events waiting between source and sink
  float queue_bytes = 0;
  // WAL the slot holds back, or MySQL binlog after the committed position; -1: none.
  float slot_retained_bytes = -1;
};
static_assert(sizeof(HistorySample) == 40, "the documented memory bound assumes 40 bytes");

// A fixed-capacity ring of samples: Push() overwrites the oldest when full.
class SampleRing {
 public:
  explicit SampleRing(size_t capacity);
  void Push(const HistorySample& sample);
  // Oldest first.
  std::vector<HistorySample> Samples() const;
  size_t size() const { return size_; }
  size_t capacity() const { return buffer_.size(); }

 private:
  std::vector<HistorySample> buffer_;
  size_t next_ = 0;  // where the next sample goes
  size_t size_ = 0;
};

// What the sampler reads of one connector at one instant.
struct ConnectorReading {
  std::string name;
  uint64_t events_total = 0;         // cumulative
  uint64_t snapshot_rows_total = 0;  // cumulative
  uint64_t bytes_total = 0;          // cumulative
  double lag_ms = 0;
  double queue_events = 0;
  double queue_bytes = 0;
  double slot_retained_bytes = -1;  // -1: the source has no replication slot (not sampled)
};

class MetricsHistory {
 public:
  static constexpr size_t kDefaultCapacity = 720;
  static constexpr std::chrono::milliseconds kDefaultInterval{5000};

  explicit MetricsHistory(size_t capacity = kDefaultCapacity,
                          std::chrono::milliseconds interval = kDefaultInterval);

  // Appends one sample per connector in `readings` (the first reading of a connector only sets
  // its baseline) and forgets connectors that are not in `readings`.
  void Record(int64_t unix_ms, const std::vector<ConnectorReading>& readings);

  // The connector's samples, oldest first; nullopt when it has no history (unknown, or not
  // sampled yet).
  std::optional<std::vector<HistorySample>> Get(const std::string& name) const;

  // {"name", "interval_ms", "capacity", "bytes_per_connector",
  //  "series": {"unix_ms": [...], "events_per_s": [...], "rows_per_s": [...], "bytes_per_s":
  //  [...], "lag_ms": [...], "queue_events": [...], "queue_bytes": [...],
  //  "slot_retained_bytes": [... or null where the source has no slot sample]}} (columns,
  // oldest first; empty arrays when nothing was sampled yet).
  nlohmann::json ToJson(const std::string& name) const;

  size_t capacity() const { return capacity_; }
  std::chrono::milliseconds interval() const { return interval_; }
  static size_t BytesPerConnector(size_t capacity) { return capacity * sizeof(HistorySample); }

 private:
  struct Series {
    explicit Series(size_t capacity) : ring(capacity) {}
    SampleRing ring;
    ConnectorReading last;
    int64_t last_unix_ms = 0;
  };

  const size_t capacity_;
  const std::chrono::milliseconds interval_;
  mutable std::mutex mu_;
  std::map<std::string, Series> series_;
};

// Calls `read` every history->interval() and records what it returns; the first sample is
// taken at once. `read` must not throw (an exception is caught and logged, the sample skipped).
class HistorySampler {
 public:
  HistorySampler(MetricsHistory* history, std::function<std::vector<ConnectorReading>()> read);
  ~HistorySampler();  // stops and joins
  HistorySampler(const HistorySampler&) = delete;
  HistorySampler& operator=(const HistorySampler&) = delete;

 private:
  void Run(std::stop_token stop);

  MetricsHistory* history_;
  std::function<std::vector<ConnectorReading>()> read_;
  std::jthread thread_;  // last: started after the members it uses
};

}  // namespace sluice::api
