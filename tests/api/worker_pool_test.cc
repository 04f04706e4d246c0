// WorkerPool: bounded both in threads and in queued jobs, survives a throwing job, drops what is
// still queued at shutdown and waits for what runs.
#include "api/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

namespace sluice::api {
namespace {

void WaitFor(const std::function<bool()>& done) {
  for (int i = 0; i < 1000 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(done());
}

TEST(WorkerPoolTest, RefusesBeyondThreadsPlusPending) {
  std::atomic<bool> release{false};
  std::atomic<int> started{0}, finished{0};
  WorkerPool pool("test", 2, 1);
  auto job = [&] {
    ++started;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ++finished;
  };
  EXPECT_TRUE(pool.TrySubmit(job));
  EXPECT_TRUE(pool.TrySubmit(job));
  WaitFor([&] { return started == 2; });
  EXPECT_TRUE(pool.TrySubmit(job)) << "one may wait";
  EXPECT_FALSE(pool.TrySubmit(job)) << "two running and one waiting: full";
  EXPECT_EQ(pool.in_flight(), 3u);
  release = true;
  WaitFor([&] { return finished == 3; });
  WaitFor([&] { return pool.in_flight() == 0; });
  EXPECT_TRUE(pool.TrySubmit(job)) << "room again";
  WaitFor([&] { return finished == 4; });
}

TEST(WorkerPoolTest, AThrowingJobDoesNotEndItsThread) {
  std::atomic<int> ran{0};
  WorkerPool pool("test", 1, 4);
  EXPECT_TRUE(pool.TrySubmit([] { throw std::runtime_error("boom"); }));
  EXPECT_TRUE(pool.TrySubmit([] { throw 42; }));
  EXPECT_TRUE(pool.TrySubmit([&] { ++ran; }));
  WaitFor([&] { return ran == 1; });
}

TEST(WorkerPoolTest, ShutdownDropsQueuedJobsAndWaitsForRunningOnes) {
  std::atomic<bool> release{false}, started{false};
  std::atomic<int> ran{0};
  auto pool = std::make_unique<WorkerPool>("test", 1, 8);
  EXPECT_TRUE(pool->TrySubmit([&] {
    started = true;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ++ran;
  }));
  WaitFor([&] { return started.load(); });
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(pool->TrySubmit([&] { ++ran; }));
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    release = true;
  });
  pool->Shutdown();
  releaser.join();
  EXPECT_EQ(ran, 1) << "the running job finished, the queued ones were dropped";
  EXPECT_FALSE(pool->TrySubmit([&] { ++ran; }));
  pool.reset();
}

}  // namespace
}  // namespace sluice::api
