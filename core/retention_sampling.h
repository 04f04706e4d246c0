// What the two retention samplers (connectors/postgres/slot_health: a replication slot's
// retained WAL; connectors/mysql/binlog_health: the binlog files a connector still needs) share:
// the sampling thread's loop, the rate window and the cadence of their warnings. Each sampler keeps its own
// queries, assessment and metrics.
//
// Thread-safety: RunSampling runs on the sampler's own thread; RetentionLog belongs to it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>

#include "core/source.h"
#include "core/status.h"

namespace sluice::core {

// What a sampler's constructor takes (the monitors' headers need no more than these names).
class Gauge;
class MetricsRegistry;
class ProgressTracker;

// The samples' sliding window for growth rates: the last 5 minutes.
inline constexpr double kRetentionRateWindowS = 300;

// Monotonic seconds, the samples' `at_s` (for rates; not a wall-clock time).
inline double MonotonicSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The samples of the last kRetentionRateWindowS (at least two once two were added), for growth
// rates. `Sample` has `at_s`.
template <class Sample>
class RateWindow {
 public:
  // Adds `sample`; the oldest sample still in the window, the base of the rate.
  const Sample& Add(const Sample& sample) {
    window_.push_back(sample);
    while (window_.size() > 2 && sample.at_s - window_[1].at_s >= kRetentionRateWindowS) {
      window_.pop_front();
    }
    return window_.front();
  }

 private:
  std::deque<Sample> window_;
};

// Calls `step` now and then every `interval` until `stop` (woken early through `wake` under
// `mu`). `step()` returns Result<bool>: true to go on, false to end the loop (the sampler found
// something that ends it), an error for a failed sample. A failed sample is logged once, as
// "<what> failed (retrying …; the stream goes on)", until one succeeds again; it never ends the
// loop. Nothing escapes: an exception ends the loop with an error line.
template <class Step>
void RunSampling(std::stop_token stop, std::mutex& mu, std::condition_variable_any& wake,
                 std::chrono::milliseconds interval, spdlog::logger& logger,
                 const std::string& what, Step&& step) {
  bool failing = false;
  try {
    while (!stop.stop_requested()) {
      Result<bool> more = step();
      if (stop.stop_requested()) break;
      if (more.ok()) {
        if (failing) logger.info("{} works again", what);
        failing = false;
        if (!*more) break;
      } else if (!failing) {
        failing = true;
        logger.warn("{} failed (retrying every {} ms; the stream goes on): {}", what,
                    interval.count(), more.status().ToString());
      }
      std::unique_lock lock(mu);
      wake.wait_for(lock, stop, interval, [] { return false; });
    }
  } catch (const std::exception& e) {
    logger.error("{} stopped: {}", what, e.what());
  } catch (...) {
    logger.error("{} stopped: unknown exception", what);
  }
}

// A sampler's thread. Start() runs `run(stop_token)` on it (once; again after Stop()). Stop()
// requests the stop, wakes RunSampling's wait (`wake` under `mu`), calls `cancel` (to end a
// query that blocks) and joins. The owner calls Stop() from its destructor, before its own
// members go. Start and Stop from one thread.
class SamplerThread {
 public:
  template <class Run>
  void Start(Run run) {
    if (thread_.joinable()) return;
    thread_ = std::jthread(std::move(run));
  }
  template <class Cancel>
  void Stop(std::mutex& mu, std::condition_variable_any& wake, Cancel cancel) {
    if (!thread_.joinable()) return;
    thread_.request_stop();
    {
      std::lock_guard lock(mu);
      wake.notify_all();
    }
    cancel();
    thread_.join();
  }

 private:
  std::jthread thread_;
};

// A sampler (SlotHealthMonitor, BinlogHealthMonitor) as a core::RetentionWatch: built with the
// monitor's own arguments, sampling from construction until destruction (the monitor's
// destructor stops its thread).
template <class Monitor>
class MonitorWatch final : public RetentionWatch {
 public:
  template <class... Args>
  explicit MonitorWatch(Args&&... args) : monitor_(std::forward<Args>(args)...) {
    monitor_.Start();
  }

 private:
  Monitor monitor_;
};

// When a retention level (0 ok, 1 warning, 2 critical) is worth a log line: a warning when the
// level rises or changes, then at most once a minute while it lasts; one line when it is back
// to ok.
class RetentionLog {
 public:
  enum class Line { kNone, kWarn, kBackToNormal };

  Line Next(int level, double at_s) {
    Line line = Line::kNone;
    if (level != 0 && (level != level_ || at_s - at_s_ >= kIntervalS)) {
      line = Line::kWarn;
      at_s_ = at_s;
    } else if (level == 0 && level_ != 0) {
      line = Line::kBackToNormal;
    }
    level_ = level;
    return line;
  }

  // Next(), with its line written to `logger`: `warning` as a warning, `back_to_normal` as info.
  void Log(spdlog::logger& logger, int level, double at_s, std::string_view warning,
           std::string_view back_to_normal) {
    switch (Next(level, at_s)) {
      case Line::kWarn:
        logger.warn("{}", warning);
        break;
      case Line::kBackToNormal:
        logger.info("{}", back_to_normal);
        break;
      case Line::kNone:
        break;
    }
  }

 private:
  static constexpr double kIntervalS = 60;
  int level_ = 0;
  double at_s_ = 0;
};

}  // namespace sluice::core
