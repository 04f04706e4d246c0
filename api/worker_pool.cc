#include "api/worker_pool.h"

#include <spdlog/spdlog.h>

#include <exception>

#include "core/status.h"

namespace sluice::api {

WorkerPool::WorkerPool(std::string name, int threads, size_t max_pending)
    : name_(std::move(name)), capacity_(static_cast<size_t>(threads < 1 ? 1 : threads) + max_pending) {
  for (int i = 0; i < (threads < 1 ? 1 : threads); ++i) threads_.emplace_back([this] { Run(); });
}

WorkerPool::~WorkerPool() { Shutdown(); }

bool WorkerPool::TrySubmit(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() + running_ >= capacity_) return false;
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

size_t WorkerPool::in_flight() const {
  std::lock_guard lock(mu_);
  return queue_.size() + running_;
}

void WorkerPool::Shutdown() {
  std::lock_guard join_lock(join_mu_);  // a second caller waits for the first to finish
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    dropped.swap(queue_);
  }
  cv_.notify_all();
  dropped.clear();  // outside the lock: a job's captures may do work when destroyed
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void WorkerPool::Run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and nothing left
      job = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    try {
      job();
    } catch (...) {
      spdlog::error("{}", core::ExceptionToStatus(name_ + " worker job",
                                                  std::current_exception()).message());
    }
    job = nullptr;  // destroy the captures before counting the job as done
    std::lock_guard lock(mu_);
    --running_;
  }
}

}  // namespace sluice::api
