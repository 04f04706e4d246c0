// The transactional Kafka sink's checkpoints: the compacted offsets topic and the position last
// committed to it (read with a read_committed consumer).
#include <spdlog/spdlog.h>

#include <chrono>
#include <set>

#include "sinks/kafka/kafka_sink.h"

namespace sluice::sinks {

namespace {

using kafka_sink::KafkaError;

// Producer-only librdkafka properties, left out of the consumer that reads the offsets topic.
const std::set<std::string, std::less<>> kProducerOnlyKeys = {
    "transactional.id", "enable.idempotence", "acks", "request.required.acks", "partitioner",
    "linger.ms", "queue.buffering.max.ms", "batch.num.messages", "batch.size",
    "compression.type", "compression.codec", "compression.level", "message.timeout.ms",
    "delivery.timeout.ms", "transaction.timeout.ms", "queue.buffering.max.messages",
    "queue.buffering.max.kbytes", "retries", "message.send.max.retries", "retry.backoff.ms",
    "max.in.flight", "max.in.flight.requests.per.connection", "enable.gapless.guarantee",
    "sticky.partitioning.linger.ms", "request.timeout.ms", "message.copy.max.bytes"};

}  // namespace

core::Status KafkaSink::EnsureOffsetsTopic() {
  {
    kafka_sink::KafkaTopic rkt(
        rd_kafka_topic_new(producer_.get(), options_.offsets_topic.c_str(), nullptr));
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(producer_.get(), 0, rkt.get(), &md, 10000) ==
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      bool exists = md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
                    md->topics[0].partition_cnt > 0;
      rd_kafka_metadata_destroy(md);
      if (exists) return core::Status::Ok();
    }
  }
  rd_kafka_NewTopic_t* topic = rd_kafka_NewTopic_new(options_.offsets_topic.c_str(), 1, -1,
                                                     nullptr, 0);
  rd_kafka_NewTopic_set_config(topic, "cleanup.policy", "compact");
  rd_kafka_queue_t* queue = rd_kafka_queue_new(producer_.get());
  rd_kafka_CreateTopics(producer_.get(), &topic, 1, nullptr, queue);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, 10000);
  std::string problem;
  if (ev == nullptr) {
    problem = "timed out";
  } else if (rd_kafka_event_error(ev)) {
    problem = rd_kafka_event_error_string(ev);
  } else if (const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev)) {
    size_t n = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &n);
    for (size_t i = 0; i < n; ++i) {
      rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        problem = rd_kafka_err2str(err);
      }
    }
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy(topic);
  if (!problem.empty() && logger_) {
    logger_->warn("kafka sink: could not create the offsets topic {} ({}); relying on topic "
                  "auto-creation: make it compacted (cleanup.policy=compact)",
                  options_.offsets_topic, problem);
  }
  return core::Status::Ok();
}

core::Result<std::optional<core::SourcePosition>> KafkaSink::LoadCommittedPosition() {
  if (options_.transactional_id.empty()) return std::optional<core::SourcePosition>();
  std::map<std::string, std::string> settings;
  for (const auto& [k, v] : options_.librdkafka) {
    if (!kProducerOnlyKeys.contains(k)) settings[k] = v;
  }
  settings["group.id"] = "sluice-offsets-reader-" + options_.connector_name;
  settings["enable.auto.commit"] = "false";
  settings["enable.partition.eof"] = "true";
  settings["isolation.level"] = "read_committed";
  settings["auto.offset.reset"] = "earliest";
  settings["allow.auto.create.topics"] = "false";
  SLUICE_ASSIGN_OR_RETURN(kafka_sink::KafkaConf conf,
                          kafka_sink::MakeConf(settings, std::string(kKafkaSinkPrefix)));
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof err);
  if (rk == nullptr) return core::InvalidArgumentError(std::string("kafka sink: ") + err);
  conf.release();
  kafka_sink::KafkaHandle consumer(rk);
  std::string what = "kafka sink: read the committed position from " + options_.offsets_topic;

  kafka_sink::KafkaTopic rkt(rd_kafka_topic_new(rk, options_.offsets_topic.c_str(), nullptr));
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t merr = rd_kafka_metadata(rk, 0, rkt.get(), &md, 10000);
  if (merr != RD_KAFKA_RESP_ERR_NO_ERROR) return KafkaError(merr, what);
  int partitions = 0;
  if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    partitions = md->topics[0].partition_cnt;
  }
  rd_kafka_metadata_destroy(md);
  rkt.reset();
  if (partitions == 0) return std::optional<core::SourcePosition>();

  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list, options_.offsets_topic.c_str(), p)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_resp_err_t aerr = rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (aerr != RD_KAFKA_RESP_ERR_NO_ERROR) return KafkaError(aerr, what);

  std::optional<core::SourcePosition> found;
  int at_end = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.flush_timeout_ms);
  while (at_end < partitions) {
    if (std::chrono::steady_clock::now() > deadline) {
      rd_kafka_consumer_close(rk);
      return core::UnavailableError(what + ": timed out");
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 200);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      ++at_end;
    } else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      core::Status s = KafkaError(m->err, what, rd_kafka_message_errstr(m));
      rd_kafka_message_destroy(m);
      rd_kafka_consumer_close(rk);
      return s;
    } else if (m->key && std::string_view(static_cast<const char*>(m->key), m->key_len) ==
                             options_.connector_name) {
      if (m->payload == nullptr) {
        found.reset();
      } else {
        found = core::SourcePosition{
            std::string(static_cast<const char*>(m->payload), m->len)};
      }
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  return found;
}

}  // namespace sluice::sinks
