// ViewRefresh (api/cluster/view_refresh.h): every caller returns after a refresh that started
// after it arrived; concurrent callers share refreshes; a flood costs one refresh per interval.
#include "api/cluster/view_refresh.h"

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <thread>
#include <vector>

namespace sluice::api::cluster {
namespace {

using namespace std::chrono_literals;
using Clock = ViewRefresh::Clock;

// Records when each refresh started and ended.
struct Log {
  std::mutex mu;
  std::vector<std::pair<Clock::time_point, Clock::time_point>> runs;

  // Whether a refresh that started at or after `arrived` had ended by `returned`.
  bool CoveredBy(Clock::time_point arrived, Clock::time_point returned) {
    std::lock_guard lock(mu);
    for (const auto& [start, end] : runs) {
      if (start >= arrived && end <= returned) return true;
    }
    return false;
  }
  size_t size() {
    std::lock_guard lock(mu);
    return runs.size();
  }
};

std::function<void()> Recording(Log& log, std::chrono::milliseconds takes) {
  return [&log, takes] {
    auto start = Clock::now();
    std::this_thread::sleep_for(takes);
    std::lock_guard lock(log.mu);
    log.runs.emplace_back(start, Clock::now());
  };
}

TEST(ViewRefreshTest, EachCallSeesARefreshThatStartedAfterIt) {
  Log log;
  ViewRefresh refresh(Recording(log, 1ms), 20ms);
  for (int i = 0; i < 3; ++i) {
    auto arrived = Clock::now();
    refresh.Run();
    EXPECT_TRUE(log.CoveredBy(arrived, Clock::now())) << "call " << i;
  }
  ASSERT_EQ(log.size(), 3u);
  // Sequential calls are spaced by the interval.
  for (size_t i = 1; i < log.runs.size(); ++i) {
    EXPECT_GE(log.runs[i].first - log.runs[i - 1].first, 20ms);
  }
}

TEST(ViewRefreshTest, ConcurrentCallersShareRefreshes) {
  Log log;
  ViewRefresh refresh(Recording(log, 50ms), 1ms);
  constexpr int kThreads = 16;
  std::barrier start(kThreads);
  std::atomic<int> uncovered{0};
  std::vector<std::jthread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      auto arrived = Clock::now();
      refresh.Run();
      if (!log.CoveredBy(arrived, Clock::now())) ++uncovered;
    });
  }
  threads.clear();
  EXPECT_EQ(uncovered.load(), 0);
  // The first caller's refresh, then one shared by every caller that arrived during it.
  EXPECT_LE(log.size(), 2u);
}

TEST(ViewRefreshTest, AFloodOfCallsCostsOneRefreshPerInterval) {
  Log log;
  ViewRefresh refresh(Recording(log, 0ms), 50ms);
  std::atomic<int> calls{0};
  auto until = Clock::now() + 500ms;
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        while (Clock::now() < until) {
          refresh.Run();
          ++calls;
        }
      });
    }
  }
  EXPECT_GT(calls.load(), static_cast<int>(log.size()));
  // 500 ms of calls, one refresh per 50 ms at most, plus the last one that began before the end.
  EXPECT_LE(log.size(), 12u);
  EXPECT_GE(log.size(), 2u);
}

}  // namespace
}  // namespace sluice::api::cluster
