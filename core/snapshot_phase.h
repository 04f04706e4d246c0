// The part of the snapshot -> stream skeleton that the two database sources share
// (connectors/postgres/source_phases.h, connectors/mysql/source_phases.h): the rows of an initial
// snapshot behind one interface, and the handle a source's phases keep them (with the position
// the stream continues from) in while they are read, so that a stop from another thread reaches a blocked read and a stopping source polls
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

// The rows of a snapshot read by a source's SnapshotReader (anything with Next and Cancel as
// above), which it owns.
template <class Reader>
class ReaderRows final : public SnapshotRows {
 public:
  explicit ReaderRows(std::unique_ptr<Reader> reader) : reader_(std::move(reader)) {}
  Result<bool> Next(EventBatch& batch, const PollLimits& limits) override {
    return reader_->Next(batch, limits);
  }
  void Cancel() override { reader_->Cancel(); }

 private:
  std::unique_ptr<Reader> reader_;
};

// A snapshot just opened: its rows, and the source position the stream continues from once they
// are read (PostgreSQL: the slot's consistent LSN; MySQL: the snapshot's binlog position).
template <class Position>
struct OpenedSnapshot {
  std::unique_ptr<SnapshotRows> rows;
  Position position{};
};

// What one read of the snapshot's rows came to.
enum class SnapshotStep {
  kMore,     // rows (or nothing yet) in the batch; more follow
  kDone,     // every row is read; the rows are released
  kStopped,  // the read failed while the source is stopping: poll idle, report nothing
};

template <class Position>
class SnapshotInProgress {
 public:
  // Keeps the rows until they are read whole or Close(), and the position until the next Open.
  void Open(OpenedSnapshot<Position> opened) {
    position_ = std::move(opened.position);
    std::lock_guard lock(mu_);
    rows_ = std::move(opened.rows);
  }
  // Whether rows are being read (source thread).
  bool open() const { return rows_ != nullptr; }
  // Where the stream continues once the rows are read (source thread).
  const Position& position() const { return position_; }

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
  Position position_{};
};

}  // namespace sluice::core
