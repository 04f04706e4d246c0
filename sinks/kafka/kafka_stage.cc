#include "sinks/kafka/kafka_stage.h"

#include <algorithm>

#include "core/text_codec.h"
#include "sinks/kafka/kafka_producer.h"

namespace sluice::sinks::kafka_sink {

void RecordStage::Add(rd_kafka_topic_t* topic, const std::string* key, size_t value_begin,
                      const core::TableSchema* table) {
  std::string& bytes = arena();
  Record r{topic, kNoValue, 0, value_begin, 0, table};
  if (value_begin != kNoValue) r.value_size = bytes.size() - value_begin;
  if (key != nullptr) {
    r.key_begin = bytes.size();
    r.key_size = key->size();
    bytes += *key;
  }
  records_.push_back(r);
}

void RecordStage::Add(rd_kafka_topic_t* topic, const std::string* key, const std::string* value,
                      const core::TableSchema* table) {
  size_t begin = kNoValue;
  if (value != nullptr) {
    begin = arena().size();
    arena() += *value;
  }
  Add(topic, key, begin, table);
}

void RecordStage::Clear() {
  if (arena_ != nullptr) ArenaPool::Release(arena_);
  arena_ = nullptr;
  records_.clear();
}

core::Status RecordStage::Drain(rd_kafka_t* rk, size_t queue_max_messages,
                               const std::atomic<bool>* cancel) {
  core::Status status = core::Status::Ok();
  size_t begin = 0;
  while (status.ok() && begin < records_.size()) {
    size_t end = begin + 1;
    while (end < records_.size() && records_[end].topic == records_[begin].topic) ++end;
    status = ProduceRun(rk, begin, end, queue_max_messages, cancel);
    begin = end;
  }
  Clear();
  return status;
}

core::Status RecordStage::ProduceRun(rd_kafka_t* rk, size_t begin, size_t end,
                                     size_t queue_max_messages,
                                     const std::atomic<bool>* cancel) {
  auto cancelled = [cancel] { return cancel != nullptr && cancel->load(); };
  // Calls small enough that the queue can take them whole: waiting for room before a call
  // means librdkafka refuses none of its records for the count (the byte bound may still).
  const size_t per_call =
      std::max<size_t>(1, std::min(kMaxRecordsPerCall, queue_max_messages / 2));
  char* base = arena_->bytes.data();  // records_ is not empty: the arena was taken
  while (begin < end) {
    const size_t n = std::min(per_call, end - begin);
    while (static_cast<size_t>(rd_kafka_outq_len(rk)) + n > queue_max_messages) {
      if (cancelled()) return core::CancelledError("kafka sink: produce cancelled");
      rd_kafka_poll(rk, 50);  // delivery reports make room
    }
    messages_.assign(n, rd_kafka_message_t{});
    for (size_t i = 0; i < n; ++i) {
      const Record& r = records_[begin + i];
      rd_kafka_message_t& m = messages_[i];
      m._private = arena_;  // the msg_opaque: its delivery report releases the arena
      if (r.value_begin != kNoValue) {
        m.payload = base + r.value_begin;
        m.len = r.value_size;
      }
      if (r.key_begin != kNoValue) {
        m.key = base + r.key_begin;
        m.key_len = r.key_size;
      }
    }
    // One reference per record before the call: reports may come before it returns.
    arena_->refs.fetch_add(n, std::memory_order_relaxed);
    const int accepted = rd_kafka_produce_batch(records_[begin].topic, RD_KAFKA_PARTITION_UA,
                                                0, messages_.data(), static_cast<int>(n));
    // Refused records get no report: their references go now (the stage still holds one).
    ArenaPool::Release(arena_, n - static_cast<size_t>(std::max(accepted, 0)));
    if (static_cast<size_t>(accepted) == n) {
      begin += n;
      continue;
    }
    size_t first = 0;
    while (first < n && messages_[first].err == RD_KAFKA_RESP_ERR_NO_ERROR) ++first;
    if (first == n) {  // not expected: the count and the errors disagree; all were accepted
      begin += n;
      continue;
    }
    const bool suffix = static_cast<size_t>(accepted) == first;
    const rd_kafka_resp_err_t err = messages_[first].err;
    if (!suffix) {
      return core::UnavailableError(
          "kafka sink: librdkafka refused a record (" + std::string(rd_kafka_err2str(err)) +
          ") but accepted later ones of the same call; the records since the last flush are "
          "produced again to keep their order");
    }
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) return RecordError(records_[begin + first], err);
    begin += first;
    if (cancelled()) return core::CancelledError("kafka sink: produce cancelled");
    rd_kafka_poll(rk, 50);  // the byte bound of the queue: wait for delivery reports
  }
  return core::Status::Ok();
}

core::Status RecordStage::RecordError(const Record& r, rd_kafka_resp_err_t err) const {
  const std::string topic = rd_kafka_topic_name(r.topic);
  const std::string row = r.table ? r.table->id.ToString() : topic;
  const std::string key =
      r.key_begin == kNoValue
          ? std::string("null")
          : core::SafeText(std::string_view(arena_->bytes).substr(r.key_begin, r.key_size), 200);
  if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
    return core::FailedPreconditionError(
        "kafka sink: the change of " + row + " with key " + key + " is " +
        std::to_string(r.value_size + r.key_size) +
        " bytes, more than message.max.bytes; raise sink.kafka.message.max.bytes (and the "
        "topic's max.message.bytes) or exclude the big columns with column.exclude.list");
  }
  return KafkaError(err, "kafka sink: produce to " + topic + " (" + row + ", key " + key + ")");
}

}  // namespace sluice::sinks::kafka_sink
