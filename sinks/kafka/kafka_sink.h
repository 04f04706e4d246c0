// KafkaSink: writes change events to Kafka as Debezium-compatible JSON records, one topic per
// table (<topic.prefix>.<schema>.<table>), keyed by the primary key so that every change of one
// row lands in one partition, in order.
//
// A batch's schema changes (MySQL DDL, include.schema.changes) go to the schema-change topic
// <topic.prefix>, in order with the batch's events (core/envelope.h has the record shapes).
//
// Delivery: an idempotent producer (enable.idempotence=true, acks=all). Write() produces
// asynchronously; Flush() waits for the delivery report of every message produced since the last
// flush and fails if any failed, so the pipeline commits a position only once everything up to
// it is acknowledged by the brokers (at-least-once: after a crash the records since the last
// committed position are produced again). With sink.kafka.transactional.id every flush is one
// Kafka transaction holding the records and the checkpoint (written to the compacted offsets
// topic, key = connector name); LoadCommittedPosition() reads that checkpoint back, so consumers
// with isolation.level=read_committed see each record exactly once.
//
// Lifecycle: Open() -> LoadCommittedPosition() -> (Write()* Flush())* -> Close(); Reset()
// discards the unflushed work (aborts the open transaction) and recreates the producer.
// Thread-safety: one thread (the sink thread) calls the methods. Write() renders the records;
// a thread of the sink's own (kafka_stage_producer.h) hands them to librdkafka in order and
// serves the delivery reports, so rendering overlaps producing. Flush() first waits for that
// thread to hand over everything written. Delivery callbacks run on either thread
// (delivery_mu_ guards what they set).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/envelope.h"
#include "core/sink.h"
#include "sinks/kafka/kafka_envelope.h"
#include "sinks/kafka/kafka_producer.h"
#include "sinks/kafka/kafka_stage_producer.h"
#include "sinks/kafka/kafka_txn.h"

namespace sluice::sinks {

// The prefix of the sink's own keys; other keys under it go to librdkafka.
inline constexpr std::string_view kKafkaSinkPrefix = "sink.kafka.";

// kafka_sink_config.cc: the keys, and the options parsed from a config.
std::vector<core::ConfigKey> KafkaSinkConfigKeys();
core::Result<std::unique_ptr<core::Sink>> MakeKafkaSink(const core::ConnectorContext& context);

struct KafkaSinkOptions {
  std::string connector_name;                   // key of the checkpoint record
  std::map<std::string, std::string> librdkafka;  // producer properties, incl. bootstrap.servers
  core::EnvelopeOptions envelope;               // source.connector and source.name (topic.prefix)
  bool schemas_enable = false;                  // {"schema", "payload"} records
  bool tombstones_on_delete = true;
  std::string skipped_ops;                      // Debezium's skipped.operations: op letters
                                                // (a config without the key gives "t")
  std::string topic_format = std::string(kafka_sink::kDefaultTopicFormat);
  // transforms=<alias> with io.debezium.transforms.ExtractNewRecordState: flat row values.
  std::optional<core::NewRecordStateOptions> unwrap;
  std::string transactional_id;                 // empty: no transactions
  std::string offsets_topic;                    // transactions: where checkpoints go
  int flush_timeout_ms = 60000;
  // Debezium's heartbeat.interval.ms (0: none) and its topic,
  // <topic.heartbeat.prefix>.<topic.prefix>.
  int64_t heartbeat_interval_ms = 0;
  std::string heartbeat_topic;
  // Debezium's provide.transaction.metadata (sinks/kafka/kafka_txn.h) and its topic,
  // <topic.prefix>.<topic.transaction>.
  bool transaction_metadata = false;
  std::string transaction_topic;
  // Debezium's MySQL schema-change topic: <topic.prefix> (sanitized). The source decides
  // whether there are schema changes (include.schema.changes); the sink writes those it gets.
  std::string schema_change_topic;
  // Debezium's PostgreSQL logical decoding message topic: <topic.prefix>.message (the source
  // decides which messages there are: message.prefix.include.list / exclude.list).
  std::string message_topic;
};

// Reads KafkaSinkOptions from the connector config (sink.kafka.* keys).
core::Result<KafkaSinkOptions> KafkaSinkOptionsFromConfig(const core::ConnectorConfig& config);

class KafkaSink final : public core::Sink {
 public:
  explicit KafkaSink(KafkaSinkOptions options, std::shared_ptr<spdlog::logger> logger = nullptr);
  ~KafkaSink() override;

  // Creates the producer and checks that a broker answers (kUnavailable otherwise); with
  // transactions, creates the offsets topic if missing and initialises the transactional id
  // (fencing an older producer that uses it).
  core::Status Open() override;
  // Transactions: the newest committed checkpoint in the offsets topic (read_committed), nullopt
  // when there is none. Without transactions: nullopt (the state store keeps the position).
  core::Result<std::optional<core::SourcePosition>> LoadCommittedPosition() override;
  // Transactional: the checkpoint record commits with the records.
  bool StoresPosition() const override { return !options_.transactional_id.empty(); }
  // Produces every event of the batch (and a tombstone after each delete; an update that changes
  // the key becomes a delete + tombstone under the old key and a create under the new key, as
  // Debezium writes it); blocks only while the stage producer is two stages behind.
  // kFailedPrecondition for a record larger than message.max.bytes: records are produced on
  // the stage producer's thread, so the error is returned by this Write, a later one or Flush.
  core::Status Write(const core::EventBatch& batch) override;
  // Waits for all delivery reports (or commits the transaction). kUnavailable on timeout or a
  // retriable delivery failure, kAborted when the transaction must be replayed.
  core::Result<std::optional<core::SourcePosition>> Flush() override;
  // Produces and flushes a heartbeat record when heartbeat.interval.ms has passed since the last
  // one (Write() also produces one when due, with the batch's records).
  core::Status Idle() override;
  core::Status Reset() override;
  core::Status Check() override;
  void Close() override;

  const KafkaSinkOptions& options() const { return options_; }

 private:
  static void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* message, void* opaque);
  core::Result<kafka_sink::KafkaHandle> NewProducer(bool for_check);
  core::Result<rd_kafka_topic_t*> TopicFor(const core::TableSchemaPtr& table);
  core::Result<rd_kafka_topic_t*> TopicNamed(const std::string& name);
  // Encodes and produces one event (and the tombstone after a delete when enabled).
  core::Status ProduceEvent(const core::EventBatch& batch, const core::ChangeEvent& event,
                            rd_kafka_topic_t* topic, int64_t now_ns);
  // Stages one record (kafka_stage.h: produced in order, by the next drain). `table` and `key`
  // name the row in errors. A null `value` is a tombstone.
  core::Status Produce(rd_kafka_topic_t* topic, const std::string* key, const std::string* value,
                       const core::TableSchema* table);
  // Hands the stage to the stage producer once a call's worth is staged (Write hands the rest;
  // Flush waits for all of it).
  core::Status SubmitIfFull();
  // The first failed delivery since the last Reset (delivery_mu_).
  core::Status DeliveryError();
  void ClearDeliveryError();
  core::Status BeginTransactionIfNeeded();
  // Transaction metadata: produces the BEGIN or END record of `boundary`.
  core::Status ProduceTxnRecord(const core::TxnBoundary& boundary);
  // Produces the batch's boundaries from `next` on that come before event `before_event`.
  core::Status ProduceBoundaries(const core::EventBatch& batch, size_t& next, size_t before_event);
  // Produces the batch's schema changes (include.schema.changes) from `next` on that come
  // before event `before_event`, to the schema-change topic.
  core::Status ProduceSchemaChanges(const core::EventBatch& batch, size_t& next, size_t before_event);
  // The batch's logical decoding messages from `next` that come before event `before_event`.
  core::Status ProduceMessages(const core::EventBatch& batch, size_t& next, size_t before_event,
                               int64_t now_ns);
  // Produces a heartbeat record when one is due (see Idle); `produced` tells whether it did.
  core::Status MaybeProduceHeartbeat(bool* produced);
  core::Status EnsureOffsetsTopic();
  void DestroyProducer();

  KafkaSinkOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  kafka_sink::RecordEncoder encoder_;
  kafka_sink::TxnMetadata txn_;
  // The records' memory until their delivery reports (kafka_arena.h): declared before the
  // handle so that it outlives it.
  kafka_sink::ArenaPool arenas_;
  kafka_sink::KafkaHandle producer_;
  // Renders go into its stage; its thread hands them to librdkafka (kafka_stage_producer.h).
  // Created by Open() with the producer, destroyed before it.
  std::unique_ptr<kafka_sink::StageProducer> stager_;
  static constexpr size_t kStageBytes = 4 << 20;  // arena bytes that trigger a submit
  size_t queue_max_messages_ = 100000;            // queue.buffering.max.messages
  std::map<std::string, kafka_sink::KafkaTopic> topics_;
  std::map<const core::TableSchema*, std::pair<core::TableSchemaPtr, rd_kafka_topic_t*>> table_topics_;
  std::optional<core::SourcePosition> pending_checkpoint_;
  bool in_transaction_ = false;
  std::chrono::steady_clock::time_point last_heartbeat_{};
  // First failed delivery since the last Reset (set by OnDelivery, on the stage producer's
  // thread or the sink thread: guarded by delivery_mu_).
  std::mutex delivery_mu_;
  core::Status delivery_error_;
  uint64_t failed_deliveries_ = 0;
};

}  // namespace sluice::sinks
