// Time for the pipeline's decisions (batch deadlines, idle flushes, retry backoff, keep-alives)
// and wall-clock helpers. Clock is read once or twice per batch, never per event.
//   SteadyClock: the real one (steady_clock for intervals, system_clock for timestamps).
//   ManualClock: a test clock whose time moves only when the test says so; a sleep on it waits
//                until the test has advanced the clock past its end.
//
// Thread-safety: both clocks may be used from any thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stop_token>
#include <vector>

namespace sluice::core {

// Milliseconds since the Unix epoch.
inline int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using WallTime = std::chrono::system_clock::time_point;
  virtual ~Clock() = default;

  // Monotonic time, for intervals.
  virtual TimePoint Now() = 0;
  // Wall-clock time, for timestamps shown to people and for replication lag.
  virtual WallTime WallNow() = 0;
  // Waits `delay` or until `stop`; false when stopped.
  virtual bool SleepFor(std::chrono::milliseconds delay, std::stop_token stop) = 0;
  // The longest a caller should block on something else (a queue) before it reads this clock
  // again: the real clock's time passes while the caller blocks, a manual clock's does not.
  virtual std::chrono::milliseconds MaxBlock() const = 0;

  int64_t WallNowUnixMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(WallNow().time_since_epoch())
        .count();
  }
};

class SteadyClock final : public Clock {
 public:
  // The process's real clock.
  static SteadyClock& Get() {
    static SteadyClock clock;
    return clock;
  }
  TimePoint Now() override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() override { return std::chrono::system_clock::now(); }
  bool SleepFor(std::chrono::milliseconds delay, std::stop_token stop) override {
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    cv.wait_for(lock, stop, delay, [] { return false; });
    return !stop.stop_requested();
  }
  std::chrono::milliseconds MaxBlock() const override {
    return std::chrono::milliseconds::max();
  }
};

// Starts at an arbitrary fixed time; Advance() moves it. Sleepers are counted and their delays
// recorded, so that a test can wait for the code under test to sleep, check the delay it chose
// and then let it go on by advancing the clock.
class ManualClock final : public Clock {
 public:
  TimePoint Now() override {
    std::lock_guard lock(mu_);
    ++reads_;
    cv_.notify_all();
    return now_;
  }
  WallTime WallNow() override {
    std::lock_guard lock(mu_);
    return WallTime(std::chrono::duration_cast<WallTime::duration>(now_.time_since_epoch()));
  }
  bool SleepFor(std::chrono::milliseconds delay, std::stop_token stop) override {
    std::unique_lock lock(mu_);
    const TimePoint until = now_ + delay;
    sleeps_.push_back(delay);
    cv_.notify_all();
    return cv_.wait(lock, stop, [&] { return now_ >= until; }) && !stop.stop_requested();
  }
  std::chrono::milliseconds MaxBlock() const override { return std::chrono::milliseconds(1); }

  void Advance(std::chrono::milliseconds by) {
    std::lock_guard lock(mu_);
    now_ += by;
    cv_.notify_all();
  }
  // Every sleep begun so far, in order.
  std::vector<std::chrono::milliseconds> sleeps() const {
    std::lock_guard lock(mu_);
    return sleeps_;
  }
  // Waits (up to `guard` of real time, against a hang) until `count` sleeps have begun.
  bool WaitForSleeps(size_t count, std::chrono::milliseconds guard) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, guard, [&] { return sleeps_.size() >= count; });
  }
  // Waits (up to `guard` of real time) until the clock was read `count` more times: the code
  // under test went round its loop and saw the current time.
  bool WaitForReads(uint64_t count, std::chrono::milliseconds guard) {
    std::unique_lock lock(mu_);
    const uint64_t target = reads_ + count;
    return cv_.wait_for(lock, guard, [&] { return reads_ >= target; });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  TimePoint now_ = TimePoint(std::chrono::hours(24 * 365 * 50));  // ~2020 as a wall time
  uint64_t reads_ = 0;
  std::vector<std::chrono::milliseconds> sleeps_;
};

}  // namespace sluice::core
