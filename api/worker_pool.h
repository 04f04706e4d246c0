// WorkerPool: a fixed number of threads running submitted jobs from a bounded queue. The REST
// server uses one to keep requests that may block (validate's connection checks, lifecycle calls
// that wait for a pipeline to stop) off its I/O threads, and RestApi uses another to run
// connection checks with a deadline. Bounded both ways: `threads` jobs run at once and at most
// `max_pending` more wait; TrySubmit refuses beyond that instead of queueing without end.
//
// Lifecycle: threads start in the constructor. Shutdown() (also the destructor) refuses new jobs,
// drops those still queued (their destructors run, nothing else) and joins the threads, waiting
// for the running jobs: callers must bound their own jobs' time.
// Thread-safety: every method is thread-safe; jobs run concurrently with each other. A job that
// throws is logged and the thread goes on (no exception leaves a worker).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sluice::api {

class WorkerPool {
 public:
  WorkerPool(std::string name, int threads, size_t max_pending);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `job`; false (and `job` is dropped) when the pool is shut down or already holds
  // `threads + max_pending` jobs (running or queued).
  bool TrySubmit(std::function<void()> job);

  // Jobs running or queued now.
  size_t in_flight() const;

  void Shutdown();

 private:
  void Run();

  const std::string name_;
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  size_t running_ = 0;
  bool stopping_ = false;
  std::mutex join_mu_;                 // serialises Shutdown's joins
  std::vector<std::thread> threads_;   // set in the constructor, joined by Shutdown
};

}  // namespace sluice::api
