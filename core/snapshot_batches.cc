#include "core/snapshot_batches.h"

namespace sluice::core {

SnapshotBatches::SnapshotBatches(int workers, size_t max_ready)
    : max_ready_(std::max<size_t>(2, max_ready)), running_(workers), reading_(workers) {}

std::unique_ptr<EventBatch> SnapshotBatches::Acquire() {
  std::unique_ptr<EventBatch> batch;
  {
    std::lock_guard lock(mu_);
    if (!free_.empty()) {
      batch = std::move(free_.back());
      free_.pop_back();
    }
  }
  if (!batch) batch = std::make_unique<EventBatch>();
  batch->Clear();
  return batch;
}

bool SnapshotBatches::Push(std::unique_ptr<EventBatch> batch, bool worker_done) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return stopped_ || !error_.ok() || ready_.size() < max_ready_; });
  if (stopped_ || !error_.ok()) return false;
  if (batch && !batch->empty()) ready_.push_back(std::move(batch));
  if (worker_done && --reading_ == 0 && !ready_.empty()) ready_.back()->MarkLastSnapshotEvent();
  cv_.notify_all();
  return true;
}

void SnapshotBatches::Fail(Status status) {
  std::lock_guard lock(mu_);
  if (error_.ok()) error_ = std::move(status);
  cv_.notify_all();
}

void SnapshotBatches::WorkerExited() {
  std::lock_guard lock(mu_);
  --running_;
  cv_.notify_all();
}

bool SnapshotBatches::stopped() const {
  std::lock_guard lock(mu_);
  return stopped_;
}

Result<SnapshotBatches::State> SnapshotBatches::Next(EventBatch& out,
                                                     std::chrono::milliseconds max_wait) {
  std::unique_lock lock(mu_);
  // The newest queued batch is held back while workers still read: it may hold the final row,
  // which the last worker to finish marks (Push) — after that, or once a newer batch is queued
  // behind it, it can go. max_ready_ >= 2 leaves the workers room meanwhile.
  auto can_take = [&] { return ready_.size() > 1 || (!ready_.empty() && (reading_ == 0 || running_ == 0)); };
  cv_.wait_for(lock, max_wait,
               [&] { return can_take() || running_ == 0 || !error_.ok() || stopped_; });
  if (!error_.ok()) return error_;
  if (stopped_) return CancelledError("snapshot stopped");
  if (can_take()) {
    std::unique_ptr<EventBatch> b = std::move(ready_.front());
    ready_.pop_front();
    cv_.notify_all();
    std::swap(out, *b);
    b->Clear();
    free_.push_back(std::move(b));
    return State::kBatch;
  }
  return running_ == 0 ? State::kFinished : State::kEmpty;
}

void SnapshotBatches::Stop() {
  std::lock_guard lock(mu_);
  stopped_ = true;
  cv_.notify_all();
}

}  // namespace sluice::core
