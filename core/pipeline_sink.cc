// The pipeline's sink side: opening the sink and agreeing on the resume position, deciding when
// pending batches are flushed (live, timed, snapshot size), and the sink thread's loop. The
// source side and the lifecycle are in pipeline.cc; both share the members declared in
// pipeline.h.
#include "core/pipeline.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace sluice::core {

using TimePoint = Clock::TimePoint;
using std::chrono::milliseconds;

namespace {
// Batches the sink thread hands back to the source thread for reuse (beyond a snapshot flush).
constexpr size_t kPoolBatches = 8;

// Snapshot rows (op r only) whose checkpoint is the position already committed (a PostgreSQL
// snapshot's: it moves only once the snapshot ends): committing them gains no resume point, so
// such batches may wait for sink.snapshot.batch.bytes.
bool SnapshotRowsAtCommitted(const EventBatch& batch,
                             const std::optional<SourcePosition>& committed) {
  if (batch.empty() || !committed || batch.checkpoint() != *committed) return false;
  for (const ChangeEvent& e : batch.events()) {
    if (e.op != Op::kRead) return false;
  }
  return true;
}
}  // namespace

Status Pipeline::OpenSinkAndResume(std::stop_token stop, std::optional<SourcePosition>& resume) {
  milliseconds delay = options_.retry_initial;
  auto first_failure = clock_->Now();
  while (true) {
    Status s = sink_->Open();
    if (s.ok()) {
      RetrySucceeded(kSinkSide);
      break;
    }
    if (!s.IsRetriable()) return s.WithContext("opening sink");
    if (!Backoff(kSinkSide, stop, delay, first_failure, s)) {
      return stop.stop_requested() ? CancelledError("stopped while opening the sink")
                                   : s.WithContext("opening sink");
    }
  }
  auto from_sink = sink_->LoadCommittedPosition();
  if (!from_sink.ok()) return from_sink.status().WithContext("reading the sink's committed position");
  if (options_.one_shot) {
    if (from_sink->has_value()) {
      logger_->info("one-shot sync: the position the target holds from an earlier run ({}) is "
                    "ignored; copying from the start, each table's rows replaced",
                    (*from_sink)->value);
      sink_->ReplaceSnapshotTables();
    }
    return Status::Ok();
  }
  if (from_sink->has_value()) {
    resume = **from_sink;
    logger_->info("resuming from the position stored in the target: {}", resume->value);
    return Status::Ok();
  }
  if (positions_ != nullptr) {
    auto stored = positions_->LoadPosition(name_);
    if (!stored.ok()) return stored.status().WithContext("reading the committed position");
    resume = *stored;
    if (resume) logger_->info("resuming from the committed position: {}", resume->value);
  }
  return Status::Ok();
}

Pipeline::BatchKinds Pipeline::RecordEvents(const EventBatch& batch) {
  int64_t newest_ts = 0;
  // Counted locally, published once per batch: no atomic operation per event.
  uint64_t by_op[5] = {0, 0, 0, 0, 0};
  for (const ChangeEvent& e : batch.events()) {
    switch (e.op) {
      case Op::kRead: ++by_op[0]; break;
      case Op::kCreate: ++by_op[1]; break;
      case Op::kUpdate: ++by_op[2]; break;
      case Op::kDelete: ++by_op[3]; break;
      case Op::kTruncate: ++by_op[4]; break;
    }
  }
  if (by_op[0]) metrics_->events_read->Increment(by_op[0]);
  if (by_op[1]) metrics_->events_created->Increment(by_op[1]);
  if (by_op[2]) metrics_->events_updated->Increment(by_op[2]);
  if (by_op[3]) metrics_->events_deleted->Increment(by_op[3]);
  if (by_op[4]) metrics_->events_truncated->Increment(by_op[4]);
  for (const TxnInfo& t : batch.txns()) newest_ts = std::max(newest_ts, t.ts_ms);
  metrics_->bytes->Increment(batch.ByteSize());
  if (newest_ts > 0) {
    const int64_t lag = std::max<int64_t>(0, clock_->WallNowUnixMs() - newest_ts);
    metrics_->lag_ms->Set(static_cast<double>(lag));
  }
  BatchKinds kinds;
  kinds.reads = by_op[0] > 0;
  kinds.changes = by_op[1] + by_op[2] + by_op[3] + by_op[4] > 0;
  return kinds;
}

bool Pipeline::HoldsReads(const EventBatch& batch) {
  return std::any_of(batch.events().begin(), batch.events().end(),
                     [](const ChangeEvent& e) { return e.op == Op::kRead; });
}

bool Pipeline::EndsInsideTransaction() const {
  if (pending_.empty() || !pending_.back()->checkpoint().empty()) return false;
  // Snapshot rows last (an incremental snapshot's chunk handed over between two transactions,
  // or before a transaction's first change): no source transaction's changes would be split.
  const EventBatch& last = *pending_.back();
  return last.empty() || last.events().back().op != Op::kRead;
}

Clock::TimePoint Pipeline::LiveFlushAt() const {
  if (!pending_reads_ || live_since_ == TimePoint::max() || EndsInsideTransaction()) {
    return TimePoint::max();
  }
  return live_since_;
}

Clock::TimePoint Pipeline::CaughtUpFlushAt() const {
  // Snapshot rows pending keep their own rules: an initial snapshot's wait for
  // sink.snapshot.batch.bytes, and an incremental snapshot's chunks, which must not be committed
  // one by one because the stream between them is quiet (LiveFlushAt commits the changes).
  if (!caught_up_ || pending_.empty() || pending_.back()->checkpoint().empty() ||
      EndsInsideTransaction() || pending_reads_ ||
      (options_.snapshot_batch_bytes > 0 && pending_snapshot_only_)) {
    return TimePoint::max();
  }
  return last_flush_at_ + options_.batch_idle;
}

Clock::TimePoint Pipeline::TimedFlushAt(Clock::TimePoint deadline) const {
  return EndsInsideTransaction() ? deadline + options_.transaction_hold : deadline;
}

Status Pipeline::FlushPending(std::stop_token stop) {
  if (pending_.empty()) return Status::Ok();
  auto started = clock_->Now();
  milliseconds delay = options_.retry_initial;
  std::optional<TimePoint> first_failure;
  // After a failed Write the sink may hold a partial batch: reset and write everything again.
  bool rewrite = needs_rewrite_;
  Result<std::optional<SourcePosition>> flushed = std::optional<SourcePosition>();
  while (true) {
    Status s;
    if (rewrite) {
      s = sink_->Reset();
      for (size_t i = 0; s.ok() && i < pending_.size(); ++i) s = sink_->Write(*pending_[i]);
    }
    if (s.ok()) {
      flushed = sink_->Flush();
      s = flushed.status();
    }
    if (s.ok()) break;
    if (!s.IsRetriable()) return s.WithContext("sink");
    needs_rewrite_ = true;
    if (!first_failure) first_failure = clock_->Now();
    // A stop during a retry keeps nothing: the batches are replayed from the last position.
    if (!Backoff(kSinkSide, stop, delay, *first_failure, s)) {
      return stop.stop_requested() ? CancelledError("stopped while retrying the sink") : s;
    }
    rewrite = true;
  }
  needs_rewrite_ = false;
  if (first_failure) RetrySucceeded(kSinkSide);
  SLUICE_RETURN_IF_ERROR(Fault(PipelineOptions::Step::kAfterFlush));
  if (flushed->has_value()) {
    const SourcePosition& position = **flushed;
    if (positions_ != nullptr) {
      Status saved = sink_->StoresPosition() ? positions_->SavePositionCopy(name_, position)
                                             : positions_->SavePosition(name_, position);
      if (!saved.ok()) return saved.WithContext("saving the committed position");
    }
    SLUICE_RETURN_IF_ERROR(Fault(PipelineOptions::Step::kAfterSave));
    source_->Acknowledge(position);
    SLUICE_RETURN_IF_ERROR(Fault(PipelineOptions::Step::kAfterAcknowledge));
    std::lock_guard lock(mu_);
    committed_ = position;
  }
  uint64_t events = 0;
  for (const auto& b : pending_) events += b->size();
  events_written_ += events;
  metrics_->batches->Increment();
  metrics_->flush_seconds->Observe(std::chrono::duration<double>(clock_->Now() - started).count());
  metrics_->last_flush_unix_s->Set(static_cast<double>(clock_->WallNowUnixMs()) / 1000.0);
  {
    // A snapshot flush returns every batch: the source refills them at their grown capacity
    // instead of growing new ones row by row. Otherwise the pool keeps 8 and frees the rest.
    const size_t keep = pending_snapshot_only_ && options_.snapshot_batch_bytes > 0
                            ? std::max<size_t>(kPoolBatches, pending_.size())
                            : kPoolBatches;
    std::lock_guard lock(pool_mu_);
    if (pool_.size() > keep) pool_.resize(keep);
    for (auto& b : pending_) {
      if (pool_.size() < keep) pool_.push_back(std::move(b));
    }
  }
  pending_.clear();
  pending_events_ = 0;
  pending_bytes_ = 0;
  pending_snapshot_only_ = true;
  pending_reads_ = false;
  live_since_ = TimePoint::max();
  caught_up_ = false;
  last_flush_at_ = clock_->Now();
  return Status::Ok();
}

void Pipeline::SinkLoop(std::stop_token stop) {
  std::optional<SourcePosition> resume;
  Status s = OpenSinkAndResume(stop, resume);
  if (!s.ok()) {
    if (s.code() != StatusCode::kCancelled) Fail(s);
  } else if (!stop.stop_requested()) {
    {
      std::lock_guard lock(mu_);
      resume_ = resume;
      committed_ = resume;
    }
    source_thread_ = std::jthread([this] { SourceThread(stop_.get_token()); });
    // When the oldest unflushed batch must be flushed (sink.batch.ms after it arrived);
    // TimePoint::max() while nothing is pending.
    TimePoint deadline = TimePoint::max();
    TimePoint last_arrival;  // of the newest pending batch
    // The sink drains the queue even after a stop request, so that what was read is committed;
    // it ends when the source has closed the queue and it is empty.
    std::stop_source never;
    while (true) {
      milliseconds wait(200);
      bool idle_wait = false;  // the wait ends early for sink.batch.idle.ms
      // Snapshot rows alone wait for sink.snapshot.batch.bytes (PipelineOptions).
      const bool snapshot_batch = options_.snapshot_batch_bytes > 0 && pending_snapshot_only_;
      const milliseconds idle_after = snapshot_batch ? options_.batch_wait : options_.batch_idle;
      if (deadline != TimePoint::max()) {
        const TimePoint now = clock_->Now();
        wait = std::max(milliseconds(0),
                        std::chrono::duration_cast<milliseconds>(TimedFlushAt(deadline) - now));
        const milliseconds until_idle = std::max(
            milliseconds(0), std::chrono::ceil<milliseconds>(last_arrival + idle_after - now));
        if (until_idle < wait && !EndsInsideTransaction()) {
          wait = until_idle;
          idle_wait = true;
        }
        for (const TimePoint at : {LiveFlushAt(), CaughtUpFlushAt()}) {
          if (at == TimePoint::max()) continue;
          // (Compared first: a caught-up flush due since the start is near TimePoint::min().)
          wait = at <= now ? milliseconds(0)
                           : std::min(wait, std::chrono::ceil<milliseconds>(at - now));
        }
        wait = std::min(wait, clock_->MaxBlock());
      }
      std::optional<QueuedBatch> popped = queue_.Pop(wait, never.get_token());
      bool drained = !popped && queue_.closed_and_empty();
      // Nothing came for sink.batch.idle.ms: the source has caught up (a stream's backlog is
      // read, a snapshot is done); what is pending would only wait out sink.batch.ms.
      bool idle = !popped && idle_wait && clock_->Now() - last_arrival >= idle_after &&
                  !EndsInsideTransaction();
      // A batch with a checkpoint but no event, with nothing queued behind it, is a source
      // marking progress without data: the start position of a snapshot it waits on, or an
      // idle stream's position. Nothing is gained by waiting for more, and the source may be
      // blocked on its acknowledgement. While batches are queued behind it (a stream catching
      // up: a transaction's commit often arrives apart from its rows) it waits for the batch
      // bounds like any other, or every such commit would be a target transaction of its own.
      bool prompt = false;
      if (popped) {
        EventBatch& batch = *popped->batch;
        // Changes wait for sink.batch.idle.ms while no snapshot rows are pending. When an
        // incremental snapshot's chunk arrives meanwhile, they are committed before its rows are
        // written, rather than waiting for the chunk's write and commit too.
        if (!pending_reads_ && live_since_ != TimePoint::max() && !EndsInsideTransaction() &&
            HoldsReads(batch)) {
          s = FlushPending(stop);
          if (!s.ok()) {
            if (s.code() != StatusCode::kCancelled || crashed_) Fail(s);
            break;
          }
          deadline = TimePoint::max();
        }
        prompt = batch.empty() && !batch.checkpoint().empty() && queue_.items() == 0;
        metrics_->queue_events->Set(static_cast<double>(queue_.items()));
        metrics_->queue_bytes->Set(static_cast<double>(queue_.bytes()));
        s = sink_->Write(batch);
        const BatchKinds kinds = RecordEvents(batch);
        pending_events_ += batch.size();
        pending_bytes_ += batch.ByteSize();
        const bool was_snapshot_batch =
            options_.snapshot_batch_bytes > 0 && pending_snapshot_only_;
        pending_snapshot_only_ =
            pending_snapshot_only_ && SnapshotRowsAtCommitted(batch, last_committed());
        pending_.push_back(std::move(popped->batch));
        caught_up_ = popped->caught_up;
        last_arrival = clock_->Now();
        pending_reads_ = pending_reads_ || kinds.reads;
        if (kinds.changes && live_since_ == TimePoint::max()) live_since_ = last_arrival;
        if (deadline == TimePoint::max()) {
          deadline = last_arrival + (options_.snapshot_batch_bytes > 0 && pending_snapshot_only_
                                         ? options_.snapshot_batch_wait
                                         : options_.batch_wait);
        } else if (was_snapshot_batch && !pending_snapshot_only_) {
          // Other events joined the snapshot rows: the ordinary bound from now on.
          deadline = std::min(deadline, last_arrival + options_.batch_wait);
        }
        if (!s.ok() && !s.IsRetriable()) {
          Fail(s.WithContext("sink"));
          break;
        }
        if (Status f = Fault(PipelineOptions::Step::kAfterWrite); !f.ok()) {
          Fail(f);
          break;
        }
        // A retriable write error is handled by the flush: reset, rewrite all pending, flush.
        if (!s.ok()) needs_rewrite_ = true;
      }
      const bool full = options_.snapshot_batch_bytes > 0 && pending_snapshot_only_
                            ? pending_bytes_ >= options_.snapshot_batch_bytes
                            : pending_events_ >= options_.batch_events;
      // Changes interleaved with snapshot rows have waited sink.batch.idle.ms (see live_since_).
      const bool live_due = clock_->Now() >= LiveFlushAt();
      // The source caught up and nothing is queued behind what is pending (pipeline.h).
      const bool caught_up_due = clock_->Now() >= CaughtUpFlushAt() && queue_.items() == 0;
      bool due = prompt || idle || full || needs_rewrite_ || live_due || caught_up_due ||
                 (deadline != TimePoint::max() && clock_->Now() >= TimedFlushAt(deadline)) ||
                 drained;
      if (due && !pending_.empty()) {
        s = FlushPending(stop);
        if (!s.ok()) {
          if (s.code() != StatusCode::kCancelled || crashed_) Fail(s);
          break;
        }
        deadline = TimePoint::max();
      }
      if (!popped && !drained && pending_.empty()) {
        // Nothing to flush: the sink's own periodic records (the Kafka sink's heartbeats).
        if (Status h = sink_->Idle(); !h.ok()) {
          if (!h.IsRetriable()) {
            Fail(h.WithContext("sink"));
            break;
          }
          logger_->warn("sink idle write failed, retried at the next one: {}", h.ToString());
          (void)sink_->Reset();
        }
      }
      if (drained) break;
    }
    if (!crashed_) sink_->Close();
  }
}

}  // namespace sluice::core
