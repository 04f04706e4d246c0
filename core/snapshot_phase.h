// The part of the snapshot -> stream skeleton that the two database sources share
// (connectors/postgres/source_phases.h, connectors/mysql/source_phases.h): the rows of an initial
// snapshot behind one interface, and the handle a source's phases keep them in while they are
// read, so that a stop from another thread reaches a blocked read and a stopping source polls
// idle instead of failing. What happens before the snapshot (PostgreSQL's announcement, the
// binlog look-ups) and at its end (where the stream opens, what is checkpointed) stays with each
// source's phases.
//
// Thread-safety: SnapshotInProgress's Open/Next/Close/open() on the source thread; Cancel() from
// any thread.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <utility>

#include "core/source.h"
#include "core/status.h"

namespace sluice::core {

// The rows of an initial snapshot (a source's SnapshotReader on a server; scripted in tests).
class SnapshotRows {
 public:
  virtual ~SnapshotRows() = default;
  // Appends the next rows to `batch`: true once every table is read, false when more follow.
  // An error is the snapshot's (the caller restarts the source).
  virtual Result<bool> Next(EventBatch& batch, const PollLimits& limits) = 0;
  // From any thread: a blocked Next() returns soon.
  virtual void Cancel() = 0;
};

// What one read of the snapshot's rows came to.
enum class SnapshotStep {
  kMore,     // rows (or nothing yet) in the batch; more follow
  kDone,     // every row is read; the rows are released
  kStopped,  // the read failed while the source is stopping: poll idle, report nothing
};

class SnapshotInProgress {
 public:
  // Keeps `rows` until they are read whole or Close().
  void Open(std::unique_ptr<SnapshotRows> rows) {
    std::lock_guard lock(mu_);
    rows_ = std::move(rows);
  }
  // Whether rows are being read (source thread).
  bool open() const { return rows_ != nullptr; }

  // Reads the next rows into `batch`. An error of the rows is returned as it is, unless `stop` is
  // set by then (a stop cancels the read, which then fails): kStopped.
  Result<SnapshotStep> Next(EventBatch& batch, const PollLimits& limits,
                            const std::atomic<bool>& stop) {
    Result<bool> done = rows_->Next(batch, limits);
    if (!done.ok()) {
      if (stop.load()) return SnapshotStep::kStopped;
      return done.status();
    }
    if (!*done) return SnapshotStep::kMore;
    std::unique_ptr<SnapshotRows> finished;  // released outside the lock, not cancelled
    {
      std::lock_guard lock(mu_);
      finished = std::move(rows_);
    }
    return SnapshotStep::kDone;
  }

  // A blocked Next() returns soon.
  void Cancel() {
    std::lock_guard lock(mu_);
    if (rows_) rows_->Cancel();
  }

  // Cancels and releases the rows (their reader's threads end here, outside the lock).
  void Close() {
    std::unique_ptr<SnapshotRows> rows;
    {
      std::lock_guard lock(mu_);
      rows = std::move(rows_);
    }
    if (rows) rows->Cancel();
  }

 private:
  std::mutex mu_;  // guards rows_ against Cancel() from other threads
  std::unique_ptr<SnapshotRows> rows_;
};

}  // namespace sluice::core
