// Pipeline: one source thread, a bounded queue, one sink thread, and the commit protocol.
//
//   source thread: Poll -> push batch to the queue (blocks when full), marked caught-up when
//                  the Poll returned kIdle
//   sink thread:   pop batches until sink.batch.size events, sink.batch.ms elapsed, nothing
//                  arrived for sink.batch.idle.ms, or the source caught up (below),
//                  Write each, Flush, save the returned position, then Acknowledge it
//                  to the source.
//
// Caught up: a steady trickle of small transactions (a busy OLTP source that the pipeline
// keeps up with) never leaves a sink.batch.idle.ms gap, so without this rule every change would
// wait out sink.batch.ms. The fact that the source had nothing more to read travels with the
// batch it read (QueuedBatch::caught_up, set when its Poll returned kIdle), in order, never as a
// shared flag that a later batch could overtake. The sink flushes at once when the newest
// pending batch is so marked, nothing is queued behind it, and it ends at a transaction boundary
// (it carries a checkpoint); not while snapshot rows are pending (they keep their own rules:
// sink.snapshot.batch.bytes, the changes-among-chunks rule) and not sooner than
// sink.batch.idle.ms after the previous flush: that floor bounds the flush rate of a source that
// reports kIdle too eagerly (a catch-up whose reader momentarily drains its socket) to one per
// sink.batch.idle.ms, as the idle rule already did. Under a backlog the source returns kHaveMore
// or the queue holds more, and the flush stays by size. A caught-up Poll that read nothing needs
// no marker: the idle rule flushes what is pending once nothing arrives.
//
// A crash anywhere means replay from the last saved position: duplicates possible, gaps never.
// Resume position: the sink's own committed position (exactly-once sinks) when it has one,
// else the state store's.
// Retriable sink errors (kUnavailable, kAborted) reset the sink and write every batch since the
// last flush again, with exponential backoff, up to `retry_max_ms`; a retriable source error
// closes and restarts the source from the last saved position. Anything else stops the pipeline
// with that status.
//
// Thread-safety: Start/RequestStop/Wait/state/last_error from any thread; Start once.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/bounded_queue.h"
#include "core/clock.h"
#include "core/event.h"
#include "core/metrics.h"
#include "core/sink.h"
#include "core/source.h"
#include "core/state_store.h"
#include "core/status.h"

namespace sluice::core {

struct PipelineOptions {
  size_t batch_events = 10000;        // sink.batch.size: events per flush
  std::chrono::milliseconds batch_wait{500};  // sink.batch.ms: longest wait before a flush
  // sink.batch.idle.ms: pending events are flushed as soon as nothing has arrived for this
  // long (the source caught up), instead of waiting out batch_wait. Also the shortest interval
  // from the previous flush to a flush because the source reported it caught up (see above).
  std::chrono::milliseconds batch_idle{20};
  // sink.snapshot.batch.bytes: while everything pending is snapshot rows (op r) whose
  // checkpoint is the position already committed (a PostgreSQL snapshot's, until it ends),
  // the flush waits for this many bytes of them instead of batch_events / batch_wait /
  // batch_idle: committing them earlier gains no resume point, and a database target loads far
  // faster in few long transactions (a PostgreSQL COPY shorter than its 16 MB buffer ring takes
  // every page from the shared buffers' clock sweep). Bounded in time by snapshot_batch_wait
  // after the oldest, and by batch_wait without a new batch. 0: they flush like any others.
  size_t snapshot_batch_bytes = 0;
  std::chrono::milliseconds snapshot_batch_wait{30000};
  // When the newest pending batch ends inside a source transaction (no checkpoint), a flush by
  // time (batch_wait, batch_idle) waits up to this much longer for the transaction's end, so
  // that the target does not commit part of a transaction whose rows a replay would write again
  // (a keyless table would hold them twice after a lost commit reply or kill -9). A transaction
  // larger than batch_events is still split: only time-driven flushes wait.
  std::chrono::milliseconds transaction_hold{5000};
  PollLimits poll;                    // per source poll (max.batch.size)
  size_t queue_max_events = 100000;   // max.queue.size
  size_t queue_max_bytes = 256u << 20;  // max.queue.size.in.bytes
  std::chrono::milliseconds retry_initial{200};
  std::chrono::milliseconds retry_max_backoff{10000};
  std::chrono::milliseconds retry_max_total{300000};  // give up (FAILED) after this long

  // Steps of the commit protocol, for fault injection in tests: a hook returning an error at a
  // step makes the pipeline stop right there as if the process died (nothing after it runs).
  enum class Step { kAfterWrite, kAfterFlush, kAfterSave, kAfterAcknowledge };
  std::function<Status(Step)> fault_hook;
  // Time of the batching, idle, retry and keep-alive decisions; null: SteadyClock (tests
  // inject a ManualClock). Not owned; outlives the pipeline.
  Clock* clock = nullptr;
  // A one-shot sync (`sluice sync`, POST /syncs): always copies from the start, so a position
  // the target or the state holds from an earlier run with the same name is ignored (logged),
  // instead of resuming a stream that a one-shot run would never finish.
  bool one_shot = false;
};

// Reads PipelineOptions from the config keys (sink.batch.size, sink.batch.ms,
// sink.batch.idle.ms, sink.snapshot.batch.bytes, max.batch.size,
// max.queue.size, max.queue.size.in.bytes, errors.retry.timeout).
Result<PipelineOptions> PipelineOptionsFromConfig(const ConnectorConfig& config);

// A retry in progress inside a running pipeline (a lost source connection, a sink that is down):
// the pipeline keeps running and retries with backoff, and shows this meanwhile.
struct RetryStatus {
  std::string side;   // "source" or "sink"
  int attempt = 0;    // retries of this trouble so far, 1 for the first
  std::chrono::system_clock::time_point next_retry;
  Status error;       // what failed last
};

enum class PipelineState { kCreated, kStarting, kRunning, kFinished, kStopped, kFailed };
std::string_view PipelineStateName(PipelineState state);

class Pipeline {
 public:
  // `positions` may be null (no state store: the sink's position or a fresh start).
  Pipeline(std::string name, std::unique_ptr<Source> source, std::unique_ptr<Sink> sink,
           PositionStore* positions, PipelineOptions options, MetricsRegistry* metrics,
           std::shared_ptr<spdlog::logger> logger);
  ~Pipeline();  // requests stop and joins
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Starts both threads; returns at once.
  void Start();
  // Stop: the source stops reading, the sink flushes what it has and saves the position.
  void RequestStop();
  // Blocks until both threads ended. OK when finished or stopped; the failure otherwise.
  Status Wait();
  // Waits up to `timeout`; true when the pipeline has ended.
  bool WaitFor(std::chrono::milliseconds timeout);

  PipelineState state() const { return state_.load(); }
  Status last_error() const;
  uint64_t events_written() const { return events_written_.load(); }
  std::optional<SourcePosition> last_committed() const;
  // The source's incremental snapshots (null when it has none); any thread.
  std::shared_ptr<IncrementalSnapshots> incremental_snapshots() const {
    return source_->incremental_snapshots();
  }
  // The retry in progress, if any (the source's when both retry).
  std::optional<RetryStatus> retry_status() const;

 private:
  // Thread entries: run the loop and turn any exception that escapes it into the pipeline's
  // failure (never std::terminate). SinkThread also joins the source and publishes the end.
  void SourceThread(std::stop_token stop);
  void SinkThread(std::stop_token stop);
  void SourceLoop(std::stop_token stop);
  void SinkLoop(std::stop_token stop);
  Status OpenSinkAndResume(std::stop_token stop, std::optional<SourcePosition>& resume);
  Status StartSource(std::stop_token stop, const std::optional<SourcePosition>& resume);
  // Writes and flushes `pending`, retrying retriable errors; commits the position.
  Status FlushPending(std::stop_token stop);
  // The newest pending batch ends inside a source transaction: it has no checkpoint, and its
  // last event is not a snapshot row.
  bool EndsInsideTransaction() const;
  // When a time-driven flush of batches due at `deadline` happens (transaction_hold later
  // while the pending batches end inside a transaction).
  Clock::TimePoint TimedFlushAt(Clock::TimePoint deadline) const;
  // When changes pending among snapshot rows are due (pending_reads_, live_since_): as soon as
  // the first of them is written; max() when none wait, or while the pending batches end inside
  // a transaction.
  Clock::TimePoint LiveFlushAt() const;
  // When the pending batches are flushed because the source caught up (caught_up_): the
  // previous flush plus batch_idle; max() when the rule does not apply (see the file comment).
  // The caller also checks that nothing is queued.
  Clock::TimePoint CaughtUpFlushAt() const;
  // The batch carries snapshot rows (op r).
  static bool HoldsReads(const EventBatch& batch);
  Status Fault(PipelineOptions::Step step);
  void Fail(Status status);
  enum Side { kSourceSide = 0, kSinkSide = 1 };
  bool Backoff(Side side, std::stop_token stop, std::chrono::milliseconds& delay,
               Clock::TimePoint first_failure, const Status& why);
  void RetrySucceeded(Side side);
  // Counts the batch's events in the metrics; which kinds it holds.
  struct BatchKinds {
    bool reads = false;    // snapshot rows (op r)
    bool changes = false;  // anything else
  };
  BatchKinds RecordEvents(const EventBatch& batch);

  std::string name_;
  std::unique_ptr<Source> source_;
  std::unique_ptr<Sink> sink_;
  PositionStore* positions_;
  PipelineOptions options_;
  Clock* clock_;
  std::unique_ptr<ConnectorMetrics> metrics_;
  std::shared_ptr<spdlog::logger> logger_;

  // A polled batch on its way to the sink thread. `caught_up`: its Poll returned kIdle, the
  // source had nothing more to read right then.
  struct QueuedBatch {
    std::unique_ptr<EventBatch> batch;
    bool caught_up = false;
  };
  using BatchQueue = BoundedQueue<QueuedBatch>;
  BatchQueue queue_;
  std::vector<std::unique_ptr<EventBatch>> pending_;  // written since the last flush (sink thread)
  size_t pending_events_ = 0;
  size_t pending_bytes_ = 0;
  // Every pending batch is snapshot rows at the committed position (or nothing is pending).
  bool pending_snapshot_only_ = true;
  // Snapshot rows are pending, and changes too since live_since_ (an incremental snapshot's
  // chunks interleaved with the stream): the changes are flushed as soon as they are written.
  // Chunk rows keep coming, so the source never looks idle; waiting (for batch_idle, or for
  // batch_events of chunk rows) would only add more chunk rows to the change's transaction,
  // whose commit it waits for. max(): no change pending.
  bool pending_reads_ = false;
  Clock::TimePoint live_since_ = Clock::TimePoint::max();
  bool needs_rewrite_ = false;  // a Write failed: Reset and write all pending before flushing
  // The newest pending batch was read when the source had caught up (QueuedBatch::caught_up).
  bool caught_up_ = false;
  // When the last flush ended (min(): none yet); the floor of the caught-up rule counts from it.
  Clock::TimePoint last_flush_at_ = Clock::TimePoint::min();

  // Batches flow back from the sink thread to the source thread for reuse.
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<EventBatch>> pool_;

  std::atomic<PipelineState> state_{PipelineState::kCreated};
  mutable std::mutex mu_;
  Status error_;
  std::optional<SourcePosition> committed_;
  std::optional<SourcePosition> resume_;
  std::optional<RetryStatus> retry_[2];  // by Side
  std::atomic<bool> source_ready_{false};
  std::atomic<bool> source_done_{false};
  std::atomic<bool> crashed_{false};
  std::atomic<uint64_t> events_written_{0};
  std::stop_source stop_;
  std::jthread source_thread_;
  std::jthread sink_thread_;
  std::mutex done_mu_;
  std::condition_variable done_cv_;
  int threads_running_ = 0;
};

}  // namespace sluice::core
