// StageProducer: hands the Kafka sink's rendered records to librdkafka on a thread of its own.
//
// Why: the sink thread was the bottleneck of a PostgreSQL -> Kafka sync: about two thirds of
// its time went to rendering envelopes, one third to librdkafka (rd_kafka_produce_batch, which
// allocates and copies each message, and the delivery reports). Here the sink thread renders
// into one stage while this thread produces the previous ones, so the two overlap on a second
// core.
//
// Order and delivery: stages are produced one at a time, in the order they were submitted, and
// each stage's records in order (kafka_stage.h), so records keep the order the sink rendered
// them in. After an error the stages behind it are dropped and the error sticks until
// Discard(): the caller stops (or resets and replays) without any later record produced.
// Sync() returns only when everything submitted is in librdkafka's queue; the sink then waits
// for the delivery reports (rd_kafka_flush / commit), so a flushed position is still covered by
// acknowledged records.
//
// Lifecycle: constructed after the producer handle (which must outlive it), then (stage(),
// Submit())* Sync() ...; Discard() drops what is not produced yet (before the handle is
// purged or destroyed); the destructor discards and joins.
// Thread-safety: stage(), Submit(), Sync(), Discard() and error() are for one thread (the sink
// thread); the internal thread only takes submitted stages. Delivery callbacks run on the
// internal thread (its polls) and on whichever thread calls rd_kafka_flush / poll.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/status.h"
#include "sinks/kafka/kafka_stage.h"

namespace sluice::sinks::kafka_sink {

class StageProducer {
 public:
  // Stages waiting for the thread at most; Submit() blocks beyond (memory stays bounded: each
  // stage holds at most RecordStage::kMaxRecordsPerCall records or a few MB).
  static constexpr size_t kMaxQueuedStages = 2;

  // `pool` provides the stages' arenas; it must outlive this object and `rk`.
  StageProducer(rd_kafka_t* rk, size_t queue_max_messages, ArenaPool* pool);
  ~StageProducer();
  StageProducer(const StageProducer&) = delete;
  StageProducer& operator=(const StageProducer&) = delete;

  // The stage to render into; the caller's until Submit().
  RecordStage& stage() { return *filling_; }
  // Queues the current stage (when it holds records) for the thread and starts an empty one.
  // Blocks while kMaxQueuedStages stages wait.
  void Submit();
  // Submit(), then waits until every submitted record is in librdkafka's queue. Returns the
  // first error since the last Discard() (RecordStage::Drain's errors).
  core::Status Sync();
  // The first error since the last Discard(), without waiting.
  core::Status error() const;
  // Drops every record not yet produced (cancelling a drain that waits for queue room) and
  // clears the error.
  void Discard();

 private:
  void Run(std::stop_token stop);

  rd_kafka_t* const rk_;
  const size_t queue_max_messages_;
  ArenaPool* const pool_;
  std::unique_ptr<RecordStage> filling_;
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::deque<std::unique_ptr<RecordStage>> queued_;   // guarded by mu_
  std::vector<std::unique_ptr<RecordStage>> spare_;   // guarded by mu_
  bool busy_ = false;                                 // guarded by mu_: a stage is draining
  core::Status error_;                                // guarded by mu_
  std::atomic<bool> cancel_{false};
  std::jthread thread_;  // last: started after the members above exist
};

}  // namespace sluice::sinks::kafka_sink
