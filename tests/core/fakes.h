// Test doubles for the pipeline: a scripted FakeSource and a RecordingSink that can fail on
// demand. Positions are the index of the last event of a transaction ("12" = events 0..12 are
// durable); the source resumes after it, so replays and gaps are visible in what the sink saw.
//
// Thread-safety: FakeSource's Acknowledge/RequestStop and the recording accessors are
// thread-safe; the rest runs on the pipeline's threads as the interfaces say.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/sink.h"
#include "core/source.h"
#include "tests/common/schema_builders.h"

namespace sluice::testing {

inline core::TableSchemaPtr TestSchema() {
  return MakeSchema("public", "items",
                    {Col("id", core::LogicalType::kInt64, "bigint", 0, 0, 0, false),
                     Col("name", core::LogicalType::kString, "text")});
}

class FakeSource : public core::Source {
 public:
  // `events` events in transactions of `txn_size`; ids are 0..events-1.
  FakeSource(int events, int txn_size) : total_(events), txn_size_(txn_size), schema_(TestSchema()) {}

  // The first Poll after each Start returns a batch that only announces the table.
  void set_announce_first(bool v) { announce_first_ = v; }
  // The first Poll after each Start returns a batch that only holds a schema change (no event,
  // no checkpoint), as a DDL read just before a poll's deadline would.
  void set_schema_change_first(bool v) { schema_change_first_ = v; }
  // Poll blocks (until RequestStop) once every event was emitted, instead of finishing.
  void set_block_when_done(bool v) { block_when_done_ = v; }
  // The op of every event (kCreate unless set; kRead makes snapshot rows).
  void set_op(core::Op op) { op_ = op; }
  // Every batch, the announcement too, carries this checkpoint (a snapshot's position, which
  // stays put until it ends) instead of its last id.
  void set_fixed_checkpoint(std::string value) { fixed_checkpoint_ = std::move(value); }
  // Batches carry no checkpoint: they end inside a transaction whose commit has not come yet.
  void set_no_checkpoint(bool v) { no_checkpoint_ = v; }
  // Poll fails with `status` the next `times` calls.
  void FailPolls(core::Status status, int times) {
    std::lock_guard lock(mu_);
    poll_error_ = std::move(status);
    poll_failures_ = times;
  }

  core::Status Start(const std::optional<core::SourcePosition>& resume) override {
    ++starts_;
    next_ = resume ? std::stoi(resume->value) + 1 : 0;
    started_from_.push_back(next_);
    announce_pending_ = announce_first_;
    schema_change_pending_ = schema_change_first_;
    stop_ = false;
    return core::Status::Ok();
  }

  core::Result<core::PollStatus> Poll(core::EventBatch& batch, const core::PollLimits& limits) override {
    {
      std::lock_guard lock(mu_);
      if (poll_failures_ > 0) {
        --poll_failures_;
        return poll_error_;
      }
    }
    if (schema_change_pending_) {
      schema_change_pending_ = false;
      core::SchemaChange change;
      change.txn = batch.AddTxn(core::TxnInfo{});
      change.database = "public";
      change.ddl = "ALTER TABLE items ADD COLUMN note text";
      batch.AddSchemaChange(std::move(change));
      return core::PollStatus::kHaveMore;
    }
    if (announce_pending_) {
      announce_pending_ = false;
      batch.AnnounceTable(schema_);
      if (!fixed_checkpoint_.empty()) batch.set_checkpoint(core::SourcePosition{fixed_checkpoint_});
      return core::PollStatus::kHaveMore;
    }
    if (next_ >= total_) {
      if (!block_when_done_) return core::PollStatus::kFinished;
      std::unique_lock lock(mu_);
      blocked_ = true;
      cv_.wait(lock, [&] { return stop_.load(); });
      return core::PollStatus::kIdle;
    }
    while (next_ < total_ && batch.size() + txn_size_ <= std::max<size_t>(limits.max_events, txn_size_)) {
      uint32_t txn = batch.AddTxn(core::TxnInfo{core::NowUnixMs(), false, false, 1, 0, "", 0, ""});
      int end = std::min(next_ + txn_size_, total_);
      for (; next_ < end; ++next_) {
        uint32_t row = batch.BeginRow();
        batch.AppendValue(std::to_string(next_));
        batch.AppendValue("name-" + std::to_string(next_));
        batch.EndRow();
        batch.AddEvent({op_, core::kNoRow, row, txn, schema_});
      }
      if (!no_checkpoint_) {
        batch.set_checkpoint(core::SourcePosition{
            fixed_checkpoint_.empty() ? std::to_string(next_ - 1) : fixed_checkpoint_});
      }
      if (batch.size() >= limits.max_events) break;
    }
    return next_ >= total_ && !block_when_done_ ? core::PollStatus::kFinished : core::PollStatus::kHaveMore;
  }

  void Acknowledge(const core::SourcePosition& position) override {
    std::lock_guard lock(mu_);
    acked_.push_back(position.value);
  }
  void RequestStop() override {
    std::lock_guard lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  void Close() override { ++closes_; }
  core::Status Check() override { return core::Status::Ok(); }
  core::Status KeepAlive() override {
    ++keepalives_;
    return core::Status::Ok();
  }
  int keepalives() const { return keepalives_; }

  std::vector<std::string> acked() const {
    std::lock_guard lock(mu_);
    return acked_;
  }
  bool blocked() const {
    std::lock_guard lock(mu_);
    return blocked_;
  }
  int starts() const { return starts_; }
  std::vector<int> started_from() const { return started_from_; }

 private:
  int total_;
  int txn_size_;
  core::TableSchemaPtr schema_;
  int next_ = 0;
  bool block_when_done_ = false;
  core::Op op_ = core::Op::kCreate;
  std::string fixed_checkpoint_;
  bool no_checkpoint_ = false;
  bool announce_first_ = false;
  bool schema_change_first_ = false;
  bool schema_change_pending_ = false;
  bool announce_pending_ = false;
  std::atomic<int> starts_{0};
  std::atomic<int> closes_{0};
  std::atomic<int> keepalives_{0};
  std::vector<int> started_from_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stop_{false};
  bool blocked_ = false;
  std::vector<std::string> acked_;
  core::Status poll_error_;
  int poll_failures_ = 0;
};

// What a RecordingSink made durable; shared across "process restarts" so tests can check
// what survived.
struct DurableLog {
  std::mutex mu;
  std::vector<int> ids;                        // flushed event ids, in order
  std::vector<std::string> announced;          // tables announced to the sink, "schema.table"
  std::vector<std::string> schema_changes;     // the ddl of each schema change written
  std::optional<core::SourcePosition> stored;  // for exactly-once mode
  bool replace_tables = false;                 // ReplaceSnapshotTables() was called
};

class RecordingSink : public core::Sink {
 public:
  explicit RecordingSink(DurableLog* log, bool exactly_once = false)
      : log_(log), exactly_once_(exactly_once) {}

  void FailNextWrites(core::Status s, int times) { std::lock_guard l(mu_); write_error_ = s; write_failures_ = times; }
  void FailNextFlushes(core::Status s, int times) { std::lock_guard l(mu_); flush_error_ = s; flush_failures_ = times; }
  void set_write_delay(std::chrono::milliseconds d) { write_delay_ = d; }
  int resets() const { return resets_; }
  int flushes() const { return flushes_.load(); }
  // Events passed to a Write that succeeded.
  int written() const { return written_.load(); }

  core::Status Open() override { return core::Status::Ok(); }
  core::Result<std::optional<core::SourcePosition>> LoadCommittedPosition() override {
    std::lock_guard lock(log_->mu);
    return exactly_once_ ? log_->stored : std::nullopt;
  }
  bool StoresPosition() const override { return exactly_once_; }
  core::Status Write(const core::EventBatch& batch) override {
    if (write_delay_.count() > 0) std::this_thread::sleep_for(write_delay_);
    {
      std::lock_guard l(mu_);
      if (write_failures_ > 0) {
        --write_failures_;
        // A failed write may have applied part of the batch: record half of it.
        for (size_t i = 0; i < batch.size() / 2; ++i) unflushed_.push_back(IdOf(batch, i));
        return write_error_;
      }
    }
    for (const core::TableSchemaPtr& t : batch.announced_tables()) {
      std::lock_guard lock(log_->mu);
      log_->announced.push_back(t->id.ToString());
    }
    for (const core::SchemaChange& c : batch.schema_changes()) {
      std::lock_guard lock(log_->mu);
      log_->schema_changes.push_back(c.ddl);
    }
    for (size_t i = 0; i < batch.size(); ++i) unflushed_.push_back(IdOf(batch, i));
    if (!batch.checkpoint().empty()) checkpoint_ = batch.checkpoint();
    written_ += static_cast<int>(batch.size());
    return core::Status::Ok();
  }
  core::Result<std::optional<core::SourcePosition>> Flush() override {
    {
      std::lock_guard l(mu_);
      if (flush_failures_ > 0) {
        --flush_failures_;
        return flush_error_;
      }
    }
    std::optional<core::SourcePosition> out;
    {
      std::lock_guard lock(log_->mu);
      log_->ids.insert(log_->ids.end(), unflushed_.begin(), unflushed_.end());
      unflushed_.clear();
      out = checkpoint_;
      checkpoint_.reset();
      if (exactly_once_ && out) log_->stored = out;
    }
    // Counted last: a test that sees the flush also sees its ids in the log.
    ++flushes_;
    return out;
  }
  core::Status Reset() override {
    ++resets_;
    unflushed_.clear();
    checkpoint_.reset();
    return core::Status::Ok();
  }
  core::Status Check() override { return core::Status::Ok(); }
  void Close() override {}
  void ReplaceSnapshotTables() override {
    std::lock_guard lock(log_->mu);
    log_->replace_tables = true;
  }

 private:
  static int IdOf(const core::EventBatch& batch, size_t i) {
    return std::stoi(std::string(batch.row(batch.events()[i].after).text(0)));
  }
  DurableLog* log_;
  bool exactly_once_;
  std::mutex mu_;
  core::Status write_error_, flush_error_;
  int write_failures_ = 0, flush_failures_ = 0;
  std::chrono::milliseconds write_delay_{0};
  std::atomic<int> flushes_{0};
  std::atomic<int> written_{0};
  std::vector<int> unflushed_;
  std::optional<core::SourcePosition> checkpoint_;
  std::atomic<int> resets_{0};
};

// An in-memory PositionStore that can be told to fail.
class MemoryPositionStore : public core::PositionStore {
 public:
  core::Result<std::optional<core::SourcePosition>> LoadPosition(const std::string&) override {
    std::lock_guard l(mu_);
    return position_;
  }
  core::Status SavePosition(const std::string&, const core::SourcePosition& p) override {
    std::lock_guard l(mu_);
    position_ = p;
    ++saves_;
    return core::Status::Ok();
  }
  core::Status SavePositionCopy(const std::string&, const core::SourcePosition& p) override {
    std::lock_guard l(mu_);
    position_ = p;
    ++copies_;
    return core::Status::Ok();
  }
  std::optional<core::SourcePosition> position() { std::lock_guard l(mu_); return position_; }
  int saves() { std::lock_guard l(mu_); return saves_; }    // SavePosition calls
  int copies() { std::lock_guard l(mu_); return copies_; }  // SavePositionCopy calls

 private:
  std::mutex mu_;
  std::optional<core::SourcePosition> position_;
  int saves_ = 0;
  int copies_ = 0;
};

}  // namespace sluice::testing
