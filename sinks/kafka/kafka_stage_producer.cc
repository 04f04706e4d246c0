#include "sinks/kafka/kafka_stage_producer.h"

#include <exception>
#include <string>

namespace sluice::sinks::kafka_sink {

StageProducer::StageProducer(rd_kafka_t* rk, size_t queue_max_messages, ArenaPool* pool)
    : rk_(rk),
      queue_max_messages_(queue_max_messages),
      pool_(pool),
      filling_(std::make_unique<RecordStage>(pool)),
      thread_([this](std::stop_token stop) { Run(stop); }) {}

StageProducer::~StageProducer() {
  Discard();
  thread_.request_stop();
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void StageProducer::Submit() {
  if (filling_->size() == 0) return;
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return queued_.size() < kMaxQueuedStages; });
  queued_.push_back(std::move(filling_));
  if (!spare_.empty()) {
    filling_ = std::move(spare_.back());
    spare_.pop_back();
  } else {
    filling_ = std::make_unique<RecordStage>(pool_);
  }
  lock.unlock();
  cv_.notify_all();
}

core::Status StageProducer::Sync() {
  Submit();
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return queued_.empty() && !busy_; });
  return error_;
}

core::Status StageProducer::error() const {
  std::lock_guard lock(mu_);
  return error_;
}

void StageProducer::Discard() {
  filling_->Clear();
  std::unique_lock lock(mu_);
  for (auto& s : queued_) {
    s->Clear();
    spare_.push_back(std::move(s));
  }
  queued_.clear();
  cancel_ = true;  // a drain waiting for queue room gives up
  cv_.wait(lock, [&] { return !busy_; });
  cancel_ = false;
  error_ = core::Status::Ok();
  lock.unlock();
  cv_.notify_all();
}

void StageProducer::Run(std::stop_token stop) {
  while (true) {
    std::unique_ptr<RecordStage> stage;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, stop, [&] { return !queued_.empty(); });
      if (queued_.empty()) return;  // stop requested
      stage = std::move(queued_.front());
      queued_.pop_front();
      busy_ = true;
    }
    cv_.notify_all();  // room for Submit()
    core::Status status;
    try {
      status = stage->Drain(rk_, queue_max_messages_, &cancel_);
      rd_kafka_poll(rk_, 0);  // delivery reports: frees librdkafka's copies
    } catch (const std::exception& e) {
      stage->Clear();
      status = core::InternalError(std::string("kafka sink: producing failed: ") + e.what());
    } catch (...) {
      stage->Clear();
      status = core::InternalError("kafka sink: producing failed: unknown exception");
    }
    {
      std::lock_guard lock(mu_);
      if (!status.ok() && error_.ok() && !cancel_) error_ = status;
      if (!error_.ok()) {
        // Nothing behind a failed record is produced: the caller fails or replays.
        for (auto& s : queued_) {
          s->Clear();
          spare_.push_back(std::move(s));
        }
        queued_.clear();
      }
      spare_.push_back(std::move(stage));
      busy_ = false;
    }
    cv_.notify_all();
  }
}

}  // namespace sluice::sinks::kafka_sink
