#include "core/pipeline.h"

#include <algorithm>
#include <condition_variable>

#include <spdlog/spdlog.h>

namespace sluice::core {

using TimePoint = Clock::TimePoint;
using std::chrono::milliseconds;

namespace {
// How often a source blocked on a full queue gets its KeepAlive() call.
constexpr milliseconds kKeepAliveInterval{1000};
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

std::string_view PipelineStateName(PipelineState state) {
  switch (state) {
    case PipelineState::kCreated: return "CREATED";
    case PipelineState::kStarting: return "STARTING";
    case PipelineState::kRunning: return "RUNNING";
    case PipelineState::kFinished: return "FINISHED";
    case PipelineState::kStopped: return "STOPPED";
    case PipelineState::kFailed: return "FAILED";
  }
  return "UNKNOWN";
}

Result<PipelineOptions> PipelineOptionsFromConfig(const ConnectorConfig& config) {
  PipelineOptions o;
  SLUICE_ASSIGN_OR_RETURN(int64_t batch, config.GetInt("sink.batch.size", 10000));
  SLUICE_ASSIGN_OR_RETURN(int64_t batch_ms, config.GetInt("sink.batch.ms", 500));
  SLUICE_ASSIGN_OR_RETURN(int64_t idle_ms, config.GetInt("sink.batch.idle.ms", 20));
  SLUICE_ASSIGN_OR_RETURN(int64_t snapshot_bytes, config.GetInt("sink.snapshot.batch.bytes", 0));
  SLUICE_ASSIGN_OR_RETURN(int64_t poll, config.GetInt("max.batch.size", 4096));
  SLUICE_ASSIGN_OR_RETURN(int64_t queue, config.GetInt("max.queue.size", 100000));
  SLUICE_ASSIGN_OR_RETURN(int64_t queue_bytes, config.GetInt("max.queue.size.in.bytes", 256 << 20));
  SLUICE_ASSIGN_OR_RETURN(int64_t retry, config.GetInt("errors.retry.timeout", 300000));
  if (batch < 1) return InvalidArgumentError("sink.batch.size must be at least 1");
  if (batch_ms < 0) return InvalidArgumentError("sink.batch.ms must not be negative");
  if (idle_ms < 0) return InvalidArgumentError("sink.batch.idle.ms must not be negative");
  if (snapshot_bytes < 0) {
    return InvalidArgumentError("sink.snapshot.batch.bytes must not be negative (0 turns it off)");
  }
  if (poll < 1) return InvalidArgumentError("max.batch.size must be at least 1");
  if (queue < 1) return InvalidArgumentError("max.queue.size must be at least 1");
  if (queue_bytes < 1024) return InvalidArgumentError("max.queue.size.in.bytes must be at least 1024");
  o.batch_events = static_cast<size_t>(batch);
  o.batch_wait = milliseconds(batch_ms);
  o.batch_idle = milliseconds(idle_ms);
  o.snapshot_batch_bytes = static_cast<size_t>(snapshot_bytes);
  o.poll.max_events = static_cast<size_t>(std::min(poll, batch));
  o.poll.max_bytes = std::max<size_t>(static_cast<size_t>(queue_bytes) / 8, 1024);
  o.queue_max_events = static_cast<size_t>(queue);
  o.queue_max_bytes = static_cast<size_t>(queue_bytes);
  o.retry_max_total = milliseconds(retry < 0 ? INT64_MAX / 2 : retry);
  return o;
}

Pipeline::Pipeline(std::string name, std::unique_ptr<Source> source, std::unique_ptr<Sink> sink,
                   PositionStore* positions, PipelineOptions options, MetricsRegistry* metrics,
                   std::shared_ptr<spdlog::logger> logger)
    : name_(std::move(name)),
      source_(std::move(source)),
      sink_(std::move(sink)),
      positions_(positions),
      options_(std::move(options)),
      clock_(options_.clock ? options_.clock : &SteadyClock::Get()),
      logger_(logger ? std::move(logger) : spdlog::default_logger()),
      queue_(options_.queue_max_events, options_.queue_max_bytes) {
  static MetricsRegistry fallback_registry;  // tests without a registry
  metrics_ = std::make_unique<ConnectorMetrics>(metrics ? *metrics : fallback_registry, name_);
}

Pipeline::~Pipeline() {
  RequestStop();
  if (sink_thread_.joinable()) sink_thread_.join();
  if (source_thread_.joinable()) source_thread_.join();
}

void Pipeline::Start() {
  state_ = PipelineState::kStarting;
  {
    std::lock_guard lock(done_mu_);
    threads_running_ = 1;
  }
  sink_thread_ = std::jthread([this] { SinkThread(stop_.get_token()); });
}

void Pipeline::RequestStop() {
  stop_.request_stop();
  source_->RequestStop();
}

Status Pipeline::Wait() {
  if (sink_thread_.joinable()) sink_thread_.join();
  return last_error();
}

bool Pipeline::WaitFor(milliseconds timeout) {
  std::unique_lock lock(done_mu_);
  return done_cv_.wait_for(lock, timeout, [&] { return threads_running_ == 0; });
}

Status Pipeline::last_error() const {
  std::lock_guard lock(mu_);
  return error_;
}

std::optional<SourcePosition> Pipeline::last_committed() const {
  std::lock_guard lock(mu_);
  return committed_;
}

void Pipeline::Fail(Status status) {
  {
    std::lock_guard lock(mu_);
    if (error_.ok()) error_ = status;
  }
  metrics_->errors->Increment();
  logger_->error("connector failed: {}", status.ToString());
  RequestStop();
}

Status Pipeline::Fault(PipelineOptions::Step step) {
  if (!options_.fault_hook) return Status::Ok();
  Status s = options_.fault_hook(step);
  if (!s.ok()) crashed_ = true;
  return s;
}

std::optional<RetryStatus> Pipeline::retry_status() const {
  std::lock_guard lock(mu_);
  return retry_[kSourceSide] ? retry_[kSourceSide] : retry_[kSinkSide];
}

void Pipeline::RetrySucceeded(Side side) {
  std::lock_guard lock(mu_);
  if (retry_[side]) {
    logger_->info("{} recovered after {} retries", retry_[side]->side, retry_[side]->attempt);
    retry_[side].reset();
  }
}

bool Pipeline::Backoff(Side side, std::stop_token stop, milliseconds& delay,
                       TimePoint first_failure, const Status& why) {
  metrics_->errors->Increment();
  if (clock_->Now() - first_failure > options_.retry_max_total) {
    logger_->error("giving up after retrying for {} ms: {}", options_.retry_max_total.count(),
                   why.ToString());
    return false;
  }
  metrics_->retries->Increment();
  logger_->warn("retrying in {} ms after: {}", delay.count(), why.ToString());
  {
    std::lock_guard lock(mu_);
    int attempt = retry_[side] ? retry_[side]->attempt + 1 : 1;
    retry_[side] = RetryStatus{side == kSourceSide ? "source" : "sink", attempt,
                               clock_->WallNow() + delay, why};
  }
  const bool slept = clock_->SleepFor(delay, stop);
  delay = std::min(delay * 2, options_.retry_max_backoff);
  return slept;
}

Status Pipeline::StartSource(std::stop_token stop, const std::optional<SourcePosition>& resume) {
  milliseconds delay = options_.retry_initial;
  auto first_failure = clock_->Now();
  while (true) {
    Status s = source_->Start(resume);
    if (s.ok()) return s;
    source_->Close();
    if (!s.IsRetriable()) return s.WithContext("starting source");
    if (!Backoff(kSourceSide, stop, delay, first_failure, s)) {
      return stop.stop_requested() ? CancelledError("stopped while starting the source") : s;
    }
  }
}

void Pipeline::SourceThread(std::stop_token stop) {
  try {
    SourceLoop(stop);
    return;
  } catch (...) {
    Fail(ExceptionToStatus("source thread", std::current_exception()));
  }
  // The source may be half-way through anything: release what it holds (guarded again, it may
  // throw the same way) and end the queue so that the sink thread drains it and stops.
  try {
    source_->Close();
  } catch (...) {
    logger_->error("closing the source after an exception failed too");
  }
  queue_.Close();
}

void Pipeline::SinkThread(std::stop_token stop) {
  try {
    SinkLoop(stop);
  } catch (...) {
    Fail(ExceptionToStatus("sink thread", std::current_exception()));
    try {
      if (!crashed_) sink_->Close();
    } catch (...) {
      logger_->error("closing the sink after an exception failed too");
    }
  }
  // Always: stop and join the source thread and publish the final state, or Wait() and
  // WaitFor() would never see the pipeline end.
  RequestStop();
  if (source_thread_.joinable()) source_thread_.join();
  {
    std::lock_guard lock(mu_);
    if (!error_.ok()) {
      state_ = PipelineState::kFailed;
    } else if (source_done_) {
      state_ = PipelineState::kFinished;
    } else {
      state_ = PipelineState::kStopped;
    }
  }
  logger_->info("pipeline {} ({} events written)", PipelineStateName(state_.load()),
                events_written_.load());
  {
    std::lock_guard lock(done_mu_);
    threads_running_ = 0;
  }
  done_cv_.notify_all();
}

void Pipeline::SourceLoop(std::stop_token stop) {
  std::optional<SourcePosition> resume;
  {
    std::lock_guard lock(mu_);
    resume = resume_;
  }
  Status s = StartSource(stop, resume);
  if (!s.ok()) {
    if (s.code() != StatusCode::kCancelled) Fail(s);
    source_->Close();
    queue_.Close();
    return;
  }
  state_ = PipelineState::kRunning;
  RetrySucceeded(kSourceSide);
  milliseconds delay = options_.retry_initial;
  std::optional<TimePoint> first_failure;
  while (!stop.stop_requested()) {
    std::unique_ptr<EventBatch> batch;
    {
      std::lock_guard lock(pool_mu_);
      if (!pool_.empty()) {
        batch = std::move(pool_.back());
        pool_.pop_back();
      }
    }
    if (!batch) batch = std::make_unique<EventBatch>();
    batch->Clear();
    PollLimits limits = options_.poll;
    limits.sink_backlog_events = queue_.items();
    Result<PollStatus> polled = source_->Poll(*batch, limits);
    if (!polled.ok()) {
      const Status& err = polled.status();
      if (stop.stop_requested()) break;
      if (!err.IsRetriable()) {
        Fail(err);
        break;
      }
      // Reconnect from the last durable position; what was read since is read again.
      source_->Close();
      if (!first_failure) first_failure = clock_->Now();
      if (!Backoff(kSourceSide, stop, delay, *first_failure, err)) {
        if (!stop.stop_requested()) Fail(err);
        break;
      }
      std::optional<SourcePosition> from = last_committed();
      Status restarted = StartSource(stop, from);
      if (!restarted.ok()) {
        if (restarted.code() != StatusCode::kCancelled) Fail(restarted);
        break;
      }
      continue;
    }
    if (first_failure) RetrySucceeded(kSourceSide);
    first_failure.reset();
    delay = options_.retry_initial;
    // (A transaction boundary alone, e.g. a BEGIN read just before the poll timed out, is
    // passed on too: the Kafka sink's transaction metadata needs every one; so is a schema
    // change alone, for the Kafka sink's schema-change topic.)
    if (!batch->empty() || !batch->checkpoint().empty() || !batch->announced_tables().empty() ||
        !batch->boundaries().empty() || !batch->schema_changes().empty()) {
      size_t events = std::max<size_t>(batch->size(), 1);
      size_t bytes = batch->ByteSize();
      // While the queue is full (a slow sink) the source is not polled: let it keep its
      // connection alive meanwhile.
      BatchQueue::PushResult pushed;
      const milliseconds push_wait = std::min(kKeepAliveInterval, clock_->MaxBlock());
      TimePoint waiting_since = clock_->Now();
      while ((pushed = queue_.PushFor(batch, events, bytes, stop, push_wait)) ==
             BatchQueue::PushResult::kTimedOut) {
        if (clock_->Now() - waiting_since < kKeepAliveInterval) continue;
        waiting_since = clock_->Now();
        if (Status alive = source_->KeepAlive(); !alive.ok()) {
          logger_->warn("source keep-alive while the sink is slow: {}", alive.ToString());
        }
      }
      if (pushed != BatchQueue::PushResult::kPushed) break;
      metrics_->queue_events->Set(static_cast<double>(queue_.items()));
      metrics_->queue_bytes->Set(static_cast<double>(queue_.bytes()));
    }
    if (*polled == PollStatus::kFinished) {
      source_done_ = true;
      break;
    }
  }
  source_->Close();
  queue_.Close();
}

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
  return live_since_ + options_.batch_idle;
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
      Status saved = positions_->SavePosition(name_, position);
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
        if (const TimePoint live_at = LiveFlushAt(); live_at != TimePoint::max()) {
          wait = std::min(wait, std::max(milliseconds(0),
                                         std::chrono::ceil<milliseconds>(live_at - now)));
        }
        wait = std::min(wait, clock_->MaxBlock());
      }
      std::optional<std::unique_ptr<EventBatch>> popped = queue_.Pop(wait, never.get_token());
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
        EventBatch& batch = **popped;
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
        pending_.push_back(std::move(*popped));
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
      bool due = prompt || idle || full || needs_rewrite_ || live_due ||
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
