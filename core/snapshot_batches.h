// SnapshotBatches: the hand-off between a parallel snapshot's worker threads (each reading
// tables or chunks on its own connection) and the source thread that returns batches from
// Poll(). Bounded, so slow sinks slow the workers; keeps cleared batches for reuse; carries the
// first worker error; and marks the snapshot's final row (TxnInfo::last_snapshot_event).
//
// Lifecycle: construct with the number of workers; each worker Acquire()s batches, Push()es
// them (the last one with worker_done = true, even when empty) and calls WorkerExited() when its
// thread ends. The source thread calls Next() until it reports kFinished. Stop() from any thread.
// Thread-safety: thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "core/event.h"
#include "core/status.h"

namespace sluice::core {

class SnapshotBatches {
 public:
  // `max_ready`: batches queued at most (at least 2).
  SnapshotBatches(int workers, size_t max_ready);

  // Worker side.
  // A cleared batch (reused when one is free).
  std::unique_ptr<EventBatch> Acquire();
  // Queues `batch` (waits for room; an empty or null batch is not queued). `worker_done`: the
  // worker has nothing more to queue. The worker that finishes last holds the snapshot's final
  // row, in this batch or, when this one is empty, in the batch queued last (every other worker
  // queued its rows before finishing): that row is marked under the lock. Next() never hands
  // on the newest batch while workers still read, so the mark always lands. False once
  // stopped or failed (the batch is dropped).
  bool Push(std::unique_ptr<EventBatch> batch, bool worker_done);
  // Records the first error; Next() returns it.
  void Fail(Status status);
  void WorkerExited();
  bool stopped() const;

  // Source-thread side.
  enum class State { kBatch, kEmpty, kFinished };
  // Swaps the oldest queued batch into `out` (kBatch); kEmpty when none arrived within
  // `max_wait`; kFinished once every worker has exited and nothing is queued; the first worker
  // error, or kCancelled after Stop().
  Result<State> Next(EventBatch& out, std::chrono::milliseconds max_wait);
  void Stop();

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  const size_t max_ready_;
  std::deque<std::unique_ptr<EventBatch>> ready_;
  std::vector<std::unique_ptr<EventBatch>> free_;
  int running_;
  int reading_;
  Status error_;
  bool stopped_ = false;
};

// One worker's loop: takes chunk numbers from `next` until `count` (or `stop`), reads each with
// `read(chunk, batch)` (which fills and Push()es batches, keeping a partly filled one in
// `batch`), calls `done(chunk)` after each, then queues the remainder as its last batch or
// records its error. The caller then ends its transaction and calls WorkerExited().
template <typename Read, typename Done>
void RunSnapshotWorker(SnapshotBatches& batches, std::atomic<size_t>& next, size_t count,
                       const std::atomic<bool>& stop, Read read, Done done) {
  std::unique_ptr<EventBatch> batch;
  Status status;
  while (!stop.load()) {
    size_t chunk = next.fetch_add(1);
    if (chunk >= count) break;
    // A worker thread must not let an exception escape (std::terminate): it becomes the
    // snapshot's error.
    try {
      status = read(chunk, batch);
      if (!status.ok()) break;
      done(chunk);
    } catch (...) {
      status = ExceptionToStatus("snapshot worker", std::current_exception());
      break;
    }
  }
  if (status.ok() && !batches.Push(std::move(batch), true)) status = Status::Ok();
  if (!status.ok() && !stop.load()) batches.Fail(status);
}

}  // namespace sluice::core
