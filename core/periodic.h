// Periodic: "at most once per interval", asked on one thread (a source's, for Debezium's
// heartbeat.action.query and xmin.fetch.interval.ms). The first ask is always due; each due
// ask starts the next interval, whether or not what it gated succeeded.
//
// Thread-safety: one thread.
#pragma once

#include <chrono>

#include "core/clock.h"

namespace sluice::core {

class Periodic {
 public:
  explicit Periodic(std::chrono::milliseconds interval) : interval_(interval) {}

  bool Due(Clock::TimePoint now) {
    if (started_ && now < next_) return false;
    started_ = true;
    next_ = now + interval_;
    return true;
  }

 private:
  std::chrono::milliseconds interval_;
  Clock::TimePoint next_{};
  bool started_ = false;
};

}  // namespace sluice::core
