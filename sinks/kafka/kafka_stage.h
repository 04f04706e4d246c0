// RecordStage: the Kafka sink's records between rendering and rd_kafka_produce_batch.
//
// Why: producing record by record (rd_kafka_produce) costs librdkafka two clock reads and a
// topic lock per record; rd_kafka_produce_batch takes them once per call. Keys and values are
// rendered into an arena of `pool` (kafka_arena.h: no allocation per record once warm), then
// handed to librdkafka in order, one call per run of records of the same topic, without
// RD_KAFKA_MSG_F_COPY: each message points into the arena and carries it as its msg_opaque, and
// its delivery report releases it (KafkaSink::OnDelivery calls ArenaPool::Release). After a
// drain the stage takes a fresh arena; the old one is reused once every report is in.
//
// Order: records are produced exactly in the order they were staged. librdkafka may refuse
// records of a call when its queue is full (queue.buffering.max.messages / .kbytes); Drain()
// waits for room before each call, and when records were refused it retries from the first
// refused one only if no later record of that call was accepted. Otherwise the order within a
// partition could be broken: Drain() returns kUnavailable, and the pipeline replays every batch
// since the last flush on a fresh producer (at-least-once; no record is lost).
//
// Thread-safety: one thread at a time (the sink thread fills a stage, StageProducer's thread
// drains it); delivery callbacks run inside Drain()'s polls.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "sinks/kafka/kafka_arena.h"

namespace sluice::sinks::kafka_sink {

class RecordStage {
 public:
  // Records per rd_kafka_produce_batch call at most (and bounded by the queue's size).
  static constexpr size_t kMaxRecordsPerCall = 2048;

  // `pool` (outliving the stage) provides the arenas.
  explicit RecordStage(ArenaPool* pool) : pool_(pool) {}
  ~RecordStage() { Clear(); }
  RecordStage(const RecordStage&) = delete;
  RecordStage& operator=(const RecordStage&) = delete;

  // The arena that values are rendered into: append a value to it, then call Add() with the
  // offset where it began. Its contents up to that offset must not change.
  std::string& arena() {
    if (arena_ == nullptr) arena_ = pool_->Take();
    return arena_->bytes;
  }
  // Stages a record of `topic`: `key` (copied into the arena; nullptr: a null key) and the
  // value from `value_begin` to the end of the arena (kNoValue: a null value, a tombstone).
  // `table` names the row in errors (nullptr for the sink's own records).
  static constexpr size_t kNoValue = static_cast<size_t>(-1);
  void Add(rd_kafka_topic_t* topic, const std::string* key, size_t value_begin,
           const core::TableSchema* table);
  // Stages a record whose value is `value` (copied; nullptr: a tombstone).
  void Add(rd_kafka_topic_t* topic, const std::string* key, const std::string* value,
           const core::TableSchema* table);

  size_t size() const { return records_.size(); }
  size_t bytes() const { return arena_ ? arena_->bytes.size() : 0; }

  // Produces every staged record in order and empties the stage (also on error). Blocks,
  // polling `rk`, while librdkafka's queue has no room (`queue_max_messages`: the producer's
  // queue.buffering.max.messages), until `cancel` (optional) is set: then kCancelled.
  // kFailedPrecondition for a record larger than message.max.bytes (naming its table and key),
  // kUnavailable when the order could not be kept (replay), the mapped librdkafka error
  // otherwise.
  core::Status Drain(rd_kafka_t* rk, size_t queue_max_messages,
                     const std::atomic<bool>* cancel = nullptr);
  // Drops the staged records (after a failure, before the producer is recreated) and lets go
  // of the arena (records already produced from it keep it alive until their reports).
  void Clear();

 private:
  struct Record {
    rd_kafka_topic_t* topic;
    size_t key_begin, key_size;      // key_begin == kNoValue: null key
    size_t value_begin, value_size;  // value_begin == kNoValue: null value
    const core::TableSchema* table;
  };
  core::Status ProduceRun(rd_kafka_t* rk, size_t begin, size_t end, size_t queue_max_messages,
                          const std::atomic<bool>* cancel);
  core::Status RecordError(const Record& record, rd_kafka_resp_err_t err) const;

  ArenaPool* const pool_;
  RecordArena* arena_ = nullptr;  // taken on first use, released by Clear()
  std::vector<Record> records_;
  std::vector<rd_kafka_message_t> messages_;  // reused per call
};

}  // namespace sluice::sinks::kafka_sink
