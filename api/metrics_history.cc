#include "api/metrics_history.h"

#include <condition_variable>
#include <set>

#include <nlohmann/json.hpp>

#include "core/logging.h"

namespace sluice::api {

SampleRing::SampleRing(size_t capacity) : buffer_(capacity == 0 ? 1 : capacity) {}

void SampleRing::Push(const HistorySample& sample) {
  buffer_[next_] = sample;
  next_ = (next_ + 1) % buffer_.size();
  if (size_ < buffer_.size()) ++size_;
}

std::vector<HistorySample> SampleRing::Samples() const {
  std::vector<HistorySample> out;
  out.reserve(size_);
  size_t start = (next_ + buffer_.size() - size_) % buffer_.size();
  for (size_t i = 0; i < size_; ++i) out.push_back(buffer_[(start + i) % buffer_.size()]);
  return out;
}

MetricsHistory::MetricsHistory(size_t capacity, std::chrono::milliseconds interval)
    : capacity_(capacity == 0 ? 1 : capacity), interval_(interval) {}

namespace {

float Rate(uint64_t now, uint64_t before, double seconds) {
  if (now < before || seconds <= 0) return 0;  // counter restarted: no rate for this interval
  return static_cast<float>(static_cast<double>(now - before) / seconds);
}

}  // namespace

void MetricsHistory::Record(int64_t unix_ms, const std::vector<ConnectorReading>& readings) {
  std::lock_guard lock(mu_);
  std::set<std::string> seen;
  for (const ConnectorReading& r : readings) {
    seen.insert(r.name);
    auto it = series_.find(r.name);
    if (it == series_.end()) {
      it = series_.emplace(r.name, Series(capacity_)).first;
      it->second.last = r;
      it->second.last_unix_ms = unix_ms;
      continue;  // a baseline for the rates
    }
    Series& s = it->second;
    double seconds = static_cast<double>(unix_ms - s.last_unix_ms) / 1000.0;
    HistorySample sample;
    sample.unix_ms = unix_ms;
    sample.events_per_s = Rate(r.events_total, s.last.events_total, seconds);
    sample.rows_per_s = Rate(r.snapshot_rows_total, s.last.snapshot_rows_total, seconds);
    sample.bytes_per_s = Rate(r.bytes_total, s.last.bytes_total, seconds);
    sample.lag_ms = static_cast<float>(r.lag_ms);
    sample.queue_events = static_cast<float>(r.queue_events);
    sample.queue_bytes = static_cast<float>(r.queue_bytes);
    sample.slot_retained_bytes = static_cast<float>(r.slot_retained_bytes);
    s.ring.Push(sample);
    s.last = r;
    s.last_unix_ms = unix_ms;
  }
  std::erase_if(series_, [&](const auto& e) { return !seen.count(e.first); });
}

std::optional<std::vector<HistorySample>> MetricsHistory::Get(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = series_.find(name);
  if (it == series_.end()) return std::nullopt;
  return it->second.ring.Samples();
}

nlohmann::json MetricsHistory::ToJson(const std::string& name) const {
  using nlohmann::json;
  std::vector<HistorySample> samples = Get(name).value_or(std::vector<HistorySample>{});
  json t = json::array(), events = json::array(), rows = json::array(), bytes = json::array(),
       lag = json::array(), queue = json::array(), queue_bytes = json::array(),
       retained = json::array();
  for (const HistorySample& s : samples) {
    t.push_back(s.unix_ms);
    events.push_back(s.events_per_s);
    rows.push_back(s.rows_per_s);
    bytes.push_back(s.bytes_per_s);
    lag.push_back(s.lag_ms);
    queue.push_back(s.queue_events);
    queue_bytes.push_back(s.queue_bytes);
    retained.push_back(s.slot_retained_bytes >= 0 ? json(s.slot_retained_bytes) : json(nullptr));
  }
  return {{"name", name},
          {"interval_ms", interval_.count()},
          {"capacity", capacity_},
          {"bytes_per_connector", BytesPerConnector(capacity_)},
          {"series",
           {{"unix_ms", t},
            {"events_per_s", events},
            {"rows_per_s", rows},
            {"bytes_per_s", bytes},
            {"lag_ms", lag},
            {"queue_events", queue},
            {"queue_bytes", queue_bytes},
            {"slot_retained_bytes", retained}}}};
}

HistorySampler::HistorySampler(MetricsHistory* history,
                               std::function<std::vector<ConnectorReading>()> read)
    : history_(history), read_(std::move(read)),
      thread_([this](std::stop_token stop) { Run(stop); }) {}

HistorySampler::~HistorySampler() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

void HistorySampler::Run(std::stop_token stop) {
  std::mutex mu;
  std::condition_variable_any cv;
  while (!stop.stop_requested()) {
    try {
      auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch());
      history_->Record(now.count(), read_());
    } catch (const std::exception& e) {
      spdlog::warn("metrics history: sample skipped: {}", e.what());
    }
    std::unique_lock lock(mu);
    cv.wait_for(lock, stop, history_->interval(), [] { return false; });
  }
}

}  // namespace sluice::api
