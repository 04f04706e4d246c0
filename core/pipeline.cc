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
        !batch->boundaries().empty() || !batch->schema_changes().empty() ||
        !batch->logical_messages().empty()) {
      size_t events = std::max<size_t>(batch->size(), 1);
      size_t bytes = batch->ByteSize();
      // While the queue is full (a slow sink) the source is not polled: let it keep its
      // connection alive meanwhile.
      BatchQueue::PushResult pushed;
      const milliseconds push_wait = std::min(kKeepAliveInterval, clock_->MaxBlock());
      TimePoint waiting_since = clock_->Now();
      // The caught-up fact rides on the batch it was read with (see the header comment).
      QueuedBatch queued{std::move(batch), *polled == PollStatus::kIdle};
      while ((pushed = queue_.PushFor(queued, events, bytes, stop, push_wait)) ==
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

}  // namespace sluice::core
