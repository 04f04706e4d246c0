// ViewRefresh: brings a worker's state view up to date before it answers "not found" or
// creates a connector, so that a connector created through one worker is found through any
// other at once (read-your-writes across workers), without letting requests for unknown names
// flood the brokers.
//
// Run() returns once a refresh that started after the call arrived has finished: it reuses a
// refresh that started meanwhile (callers queue behind the one in flight and share the next),
// and starts refreshes at most once per `min_interval`. So a flood of requests for names that
// exist nowhere costs the brokers one refresh per interval, and each such request waits at most
// about one interval plus one refresh.
//
// Thread-safety: Run() from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

namespace sluice::api::cluster {

class ViewRefresh {
 public:
  using Clock = std::chrono::steady_clock;

  ViewRefresh(std::function<void()> refresh, std::chrono::milliseconds min_interval)
      : refresh_(std::move(refresh)), min_interval_(min_interval) {}

  void Run() {
    const Clock::time_point arrived = Clock::now();
    std::lock_guard lock(mu_);
    if (started_.has_value() && *started_ >= arrived) return;  // it began after we arrived
    if (started_.has_value()) std::this_thread::sleep_until(*started_ + min_interval_);
    started_ = Clock::now();
    refresh_();
  }

 private:
  std::function<void()> refresh_;
  const std::chrono::milliseconds min_interval_;
  std::mutex mu_;  // held for the whole refresh: one at a time
  std::optional<Clock::time_point> started_;
};

}  // namespace sluice::api::cluster
