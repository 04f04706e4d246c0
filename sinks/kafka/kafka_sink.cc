#include "sinks/kafka/kafka_sink.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <set>

#include "core/clock.h"
#include "core/text_codec.h"

namespace sluice::sinks {

namespace {

using kafka_sink::KafkaError;

}  // namespace

core::Result<std::unique_ptr<core::Sink>> MakeKafkaSink(const core::ConnectorContext& context) {
  SLUICE_ASSIGN_OR_RETURN(KafkaSinkOptions options, KafkaSinkOptionsFromConfig(context.config));
  // Reject bad librdkafka properties before anything starts.
  std::map<std::string, std::string> check = options.librdkafka;
  SLUICE_RETURN_IF_ERROR(kafka_sink::MakeConf(check, std::string(kKafkaSinkPrefix)).status());
  return std::unique_ptr<core::Sink>(new KafkaSink(std::move(options), context.logger));
}

KafkaSink::KafkaSink(KafkaSinkOptions options, std::shared_ptr<spdlog::logger> logger)
    : options_(std::move(options)),
      logger_(std::move(logger)),
      encoder_(options_.envelope, options_.schemas_enable, options_.unwrap),
      txn_(options_.schemas_enable) {}

KafkaSink::~KafkaSink() { Close(); }

void KafkaSink::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  // The record's bytes live in its arena until now (kafka_stage.h: produced without a copy).
  if (message->_private != nullptr) {
    kafka_sink::ArenaPool::Release(static_cast<kafka_sink::RecordArena*>(message->_private));
  }
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
  auto* self = static_cast<KafkaSink*>(opaque);
  // Delivery reports are served by the stage producer's thread and by the sink thread's flushes.
  std::lock_guard lock(self->delivery_mu_);
  ++self->failed_deliveries_;
  if (!self->delivery_error_.ok()) return;
  std::string topic = message->rkt ? rd_kafka_topic_name(message->rkt) : "?";
  std::string key = message->key ? std::string(static_cast<const char*>(message->key),
                                               message->key_len)
                                 : "null";
  if (message->err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
    self->delivery_error_ = core::FailedPreconditionError(
        "kafka sink: the broker rejected a record of topic " + topic + " with key " +
        core::SafeText(key, 200) + " (" + std::to_string(message->len) +
        " bytes) as too large; raise the topic's max.message.bytes or exclude big columns");
    return;
  }
  self->delivery_error_ = KafkaError(message->err, "kafka sink: delivery to topic " + topic +
                                                       " (key " + core::SafeText(key, 200) + ") failed");
}

core::Result<kafka_sink::KafkaHandle> KafkaSink::NewProducer(bool for_check) {
  std::map<std::string, std::string> settings = {
      {"enable.idempotence", "true"},
      {"acks", "all"},
      // Java's default partitioner: the same key lands in the same partition as with Debezium.
      {"partitioner", "murmur2_random"},
      {"client.id", "sluice-" + options_.connector_name},
  };
  for (const auto& [k, v] : options_.librdkafka) settings[k] = v;
  if (for_check) settings.erase("transactional.id");
  SLUICE_ASSIGN_OR_RETURN(kafka_sink::KafkaConf conf,
                          kafka_sink::MakeConf(settings, std::string(kKafkaSinkPrefix)));
  char queue_max[32];
  size_t queue_max_size = sizeof queue_max;
  if (rd_kafka_conf_get(conf.get(), "queue.buffering.max.messages", queue_max, &queue_max_size) ==
      RD_KAFKA_CONF_OK) {
    queue_max_messages_ = std::max<size_t>(1, std::strtoull(queue_max, nullptr, 10));
  }
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &KafkaSink::OnDelivery);
  rd_kafka_conf_set_opaque(conf.get(), this);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err);
  if (rk == nullptr) return core::InvalidArgumentError(std::string("kafka sink: ") + err);
  conf.release();  // owned by rk now
  kafka_sink::KafkaHandle handle(rk);
  // Fail fast with a clear message when no broker answers.
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t merr = rd_kafka_metadata(rk, 0, nullptr, &md, 10000);
  if (merr != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaError(merr, "kafka sink: no broker answered at sink.kafka.bootstrap.servers=" +
                                options_.librdkafka["bootstrap.servers"]);
  }
  rd_kafka_metadata_destroy(md);
  return handle;
}

core::Status KafkaSink::Open() {
  if (producer_) return core::Status::Ok();
  SLUICE_ASSIGN_OR_RETURN(producer_, NewProducer(false));
  // With the producer, so that no path leaves a producer without its stage producer.
  stager_ = std::make_unique<kafka_sink::StageProducer>(producer_.get(), queue_max_messages_,
                                                         &arenas_);
  ClearDeliveryError();
  in_transaction_ = false;
  if (!options_.transactional_id.empty()) {
    SLUICE_RETURN_IF_ERROR(EnsureOffsetsTopic());
    if (rd_kafka_error_t* e = rd_kafka_init_transactions(producer_.get(), options_.flush_timeout_ms)) {
      core::Status s = KafkaError(e, "kafka sink: init transactions for transactional.id " +
                                         options_.transactional_id);
      DestroyProducer();
      return s;
    }
  }
  return core::Status::Ok();
}

core::Result<rd_kafka_topic_t*> KafkaSink::TopicNamed(const std::string& name) {
  auto it = topics_.find(name);
  if (it != topics_.end()) return it->second.get();
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(producer_.get(), name.c_str(), nullptr);
  if (rkt == nullptr) {
    return KafkaError(rd_kafka_last_error(), "kafka sink: topic " + name);
  }
  topics_.emplace(name, kafka_sink::KafkaTopic(rkt));
  return rkt;
}

core::Result<rd_kafka_topic_t*> KafkaSink::TopicFor(const core::TableSchemaPtr& table) {
  auto it = table_topics_.find(table.get());
  if (it != table_topics_.end()) return it->second.second;
  std::string name = kafka_sink::TopicName(options_.topic_format, options_.envelope.name, table->id);
  SLUICE_ASSIGN_OR_RETURN(rd_kafka_topic_t * rkt, TopicNamed(name));
  if (table_topics_.size() > 4096) table_topics_.clear();
  table_topics_.emplace(table.get(), std::make_pair(table, rkt));
  return rkt;
}

core::Status KafkaSink::Produce(rd_kafka_topic_t* topic, const std::string* key,
                                const std::string* value, const core::TableSchema* table) {
  stager_->stage().Add(topic, key, value, table);
  return SubmitIfFull();
}

core::Status KafkaSink::SubmitIfFull() {
  const kafka_sink::RecordStage& stage = stager_->stage();
  if (stage.size() < kafka_sink::RecordStage::kMaxRecordsPerCall && stage.bytes() < kStageBytes) {
    return core::Status::Ok();
  }
  stager_->Submit();
  return stager_->error();
}

core::Status KafkaSink::DeliveryError() {
  std::lock_guard lock(delivery_mu_);
  return delivery_error_;
}

void KafkaSink::ClearDeliveryError() {
  std::lock_guard lock(delivery_mu_);
  delivery_error_ = core::Status::Ok();
  failed_deliveries_ = 0;
}

core::Status KafkaSink::BeginTransactionIfNeeded() {
  if (options_.transactional_id.empty() || in_transaction_) return core::Status::Ok();
  if (rd_kafka_error_t* e = rd_kafka_begin_transaction(producer_.get())) {
    return KafkaError(e, "kafka sink: begin transaction");
  }
  in_transaction_ = true;
  return core::Status::Ok();
}

core::Status KafkaSink::ProduceEvent(const core::EventBatch& batch, const core::ChangeEvent& event,
                                     rd_kafka_topic_t* topic, int64_t now_ns) {
  if (options_.transaction_metadata) {
    const core::TxnInfo& info = batch.txn(event.txn);
    if (info.snapshot) {
      encoder_.set_transaction_block(nullptr);
    } else {
      if (!txn_.in_progress()) {
        // The source reported no BEGIN for it (never expected): begin here.
        core::TxnBoundary begin{0, true, info.txid, event.lsn, info.ts_ms};
        if (options_.envelope.connector != "postgresql") {
          begin.id = core::BinlogTransactionId(info.gtid, info.file, info.pos);
        }
        SLUICE_RETURN_IF_ERROR(ProduceTxnRecord(begin));
      }
      txn_.Event(*event.table, event.lsn);
      encoder_.set_transaction_block(&txn_.block());
    }
  }
  bool has_key = encoder_.EncodeKey(batch, event);
  const std::string* key = has_key ? &encoder_.key() : nullptr;
  if (!encoder_.DropsValue(event)) {
    kafka_sink::RecordStage& stage = stager_->stage();
    std::string& arena = stage.arena();
    const size_t begin = arena.size();
    if (!encoder_.AppendValue(arena, batch, event, now_ns)) {
      arena.resize(begin);
      return core::EnvelopeValueError(batch, event, options_.envelope.modes)
          .WithContext("kafka sink");
    }
    stage.Add(topic, key, begin, event.table.get());
  }
  if (event.op == core::Op::kDelete && options_.tombstones_on_delete && has_key &&
      !encoder_.DropsTombstones()) {
    stager_->stage().Add(topic, key, kafka_sink::RecordStage::kNoValue, event.table.get());
  }
  return SubmitIfFull();
}

core::Status KafkaSink::ProduceTxnRecord(const core::TxnBoundary& boundary) {
  SLUICE_ASSIGN_OR_RETURN(rd_kafka_topic_t * topic, TopicNamed(options_.transaction_topic));
  if (boundary.begin) {
    txn_.Begin(boundary);
  } else {
    if (!txn_.in_progress()) {
      // A commit whose BEGIN was not seen (never expected): keep the records paired.
      core::TxnBoundary begin = boundary;
      begin.begin = true;
      SLUICE_RETURN_IF_ERROR(ProduceTxnRecord(begin));
    }
    txn_.End(boundary);
  }
  return Produce(topic, &txn_.key(), &txn_.value(), nullptr);
}

core::Status KafkaSink::ProduceBoundaries(const core::EventBatch& batch, size_t& next,
                                          size_t before_event) {
  if (!options_.transaction_metadata) return core::Status::Ok();
  const auto& boundaries = batch.boundaries();
  while (next < boundaries.size() && boundaries[next].event_index <= before_event) {
    SLUICE_RETURN_IF_ERROR(ProduceTxnRecord(boundaries[next]));
    ++next;
  }
  return core::Status::Ok();
}

core::Status KafkaSink::ProduceSchemaChanges(const core::EventBatch& batch, size_t& next,
                                            size_t before_event) {
  const auto& changes = batch.schema_changes();
  if (next >= changes.size()) return core::Status::Ok();
  core::EnvelopeOptions envelope = options_.envelope;
  envelope.include_schema = options_.schemas_enable;
  while (next < changes.size() && changes[next].event_index <= before_event) {
    const core::SchemaChange& change = changes[next];
    // Options built by hand (tests) may leave the topic unset: it is the prefix.
    const std::string name = options_.schema_change_topic.empty()
                                 ? kafka_sink::TopicName("${prefix}", options_.envelope.name, {})
                                 : options_.schema_change_topic;
    SLUICE_ASSIGN_OR_RETURN(rd_kafka_topic_t * topic, TopicNamed(name));
    // DDL is rare: building the record fresh each time costs nothing that matters.
    std::string key;
    core::AppendSchemaChangeKeyJson(key, change, options_.schemas_enable);
    std::string value;
    core::AppendSchemaChangeValueJson(value, batch, change, envelope);
    SLUICE_RETURN_IF_ERROR(Produce(topic, &key, &value, nullptr));
    ++next;
  }
  return core::Status::Ok();
}

core::Status KafkaSink::ProduceMessages(const core::EventBatch& batch, size_t& next,
                                       size_t before_event, int64_t now_ns) {
  const auto& messages = batch.logical_messages();
  if (next >= messages.size()) return core::Status::Ok();
  core::EnvelopeOptions envelope = options_.envelope;
  envelope.include_schema = options_.schemas_enable;
  // Options built by hand (tests) may leave the topic unset.
  const std::string name =
      options_.message_topic.empty() ? options_.envelope.name + ".message" : options_.message_topic;
  SLUICE_ASSIGN_OR_RETURN(rd_kafka_topic_t * topic, TopicNamed(name));
  std::string key, value;
  while (next < messages.size() && messages[next].event_index <= before_event) {
    const core::LogicalMessage& m = messages[next];
    key.clear();
    value.clear();
    core::AppendLogicalMessageKeyJson(key, batch.message_prefix(m), options_.schemas_enable);
    core::AppendLogicalMessageValueJson(value, batch, m, envelope, now_ns);
    SLUICE_RETURN_IF_ERROR(Produce(topic, &key, &value, nullptr));
    ++next;
  }
  return core::Status::Ok();
}

core::Status KafkaSink::Write(const core::EventBatch& batch) {
  if (!producer_) return core::FailedPreconditionError("kafka sink: Write before Open");
  SLUICE_RETURN_IF_ERROR(DeliveryError());
  SLUICE_RETURN_IF_ERROR(stager_->error());
  SLUICE_RETURN_IF_ERROR(BeginTransactionIfNeeded());
  int64_t now_ns = core::EnvelopeNowNs();
  encoder_.BeginBatch();
  const core::TableSchema* last_table = nullptr;
  rd_kafka_topic_t* topic = nullptr;
  auto skipped = [&](core::Op op) { return core::SkipsOperation(options_.skipped_ops, op); };
  size_t next_boundary = 0;
  size_t next_schema_change = 0;
  size_t next_message = 0;
  for (size_t i = 0; i < batch.events().size(); ++i) {
    const core::ChangeEvent& event = batch.events()[i];
    SLUICE_RETURN_IF_ERROR(ProduceSchemaChanges(batch, next_schema_change, i));
    SLUICE_RETURN_IF_ERROR(ProduceBoundaries(batch, next_boundary, i));
    SLUICE_RETURN_IF_ERROR(ProduceMessages(batch, next_message, i, now_ns));
    // A key change, as Debezium writes it: a delete (and its tombstone) under the old key, then
    // a create under the new one, so a compacted topic keeps no row under the old key. Each of
    // the two is skipped by its own operation (skipped.operations=d keeps the create).
    bool key_change = event.op == core::Op::kUpdate && event.before != core::kNoRow &&
                      event.after != core::kNoRow && event.table->HasKey() &&
                      !core::SameKey(*event.table, batch.row(event.before), batch.row(event.after));
    if (key_change ? skipped(core::Op::kDelete) && skipped(core::Op::kCreate) : skipped(event.op)) {
      if (std::string warning = core::SkippedSnapshotTruncateWarning(batch, event);
          !warning.empty() && logger_) {
        logger_->warn("kafka sink: {}", warning);
      }
      continue;
    }
    if (event.table.get() != last_table) {
      SLUICE_ASSIGN_OR_RETURN(topic, TopicFor(event.table));
      last_table = event.table.get();
    }
    if (!key_change) {
      SLUICE_RETURN_IF_ERROR(ProduceEvent(batch, event, topic, now_ns));
      continue;
    }
    if (!skipped(core::Op::kDelete)) {
      core::ChangeEvent removed = event;  // keeps the source fields (lsn, MySQL row and pos)
      removed.op = core::Op::kDelete;
      removed.after = core::kNoRow;
      SLUICE_RETURN_IF_ERROR(ProduceEvent(batch, removed, topic, now_ns));
    }
    if (!skipped(core::Op::kCreate)) {
      core::ChangeEvent created = event;
      created.op = core::Op::kCreate;
      created.before = core::kNoRow;
      SLUICE_RETURN_IF_ERROR(ProduceEvent(batch, created, topic, now_ns));
    }
  }
  SLUICE_RETURN_IF_ERROR(ProduceSchemaChanges(batch, next_schema_change, batch.events().size()));
  SLUICE_RETURN_IF_ERROR(ProduceMessages(batch, next_message, batch.events().size(), now_ns));
  SLUICE_RETURN_IF_ERROR(ProduceBoundaries(batch, next_boundary, batch.events().size()));
  bool heartbeat = false;
  SLUICE_RETURN_IF_ERROR(MaybeProduceHeartbeat(&heartbeat));
  // The batch's records go to librdkafka on the stage producer's thread, which also serves
  // the delivery reports; the next batch renders meanwhile.
  stager_->Submit();
  SLUICE_RETURN_IF_ERROR(stager_->error());
  SLUICE_RETURN_IF_ERROR(DeliveryError());
  if (!batch.checkpoint().empty()) pending_checkpoint_ = batch.checkpoint();
  return core::Status::Ok();
}

core::Status KafkaSink::MaybeProduceHeartbeat(bool* produced) {
  *produced = false;
  if (options_.heartbeat_interval_ms <= 0) return core::Status::Ok();
  const auto now = std::chrono::steady_clock::now();
  if (now - last_heartbeat_ < std::chrono::milliseconds(options_.heartbeat_interval_ms)) {
    return core::Status::Ok();
  }
  SLUICE_RETURN_IF_ERROR(BeginTransactionIfNeeded());
  SLUICE_ASSIGN_OR_RETURN(rd_kafka_topic_t * topic, TopicNamed(options_.heartbeat_topic));
  const std::string key = kafka_sink::HeartbeatKey(options_.envelope.name, options_.schemas_enable);
  const std::string value = kafka_sink::HeartbeatValue(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count(),
      options_.schemas_enable);
  SLUICE_RETURN_IF_ERROR(Produce(topic, &key, &value, nullptr));
  last_heartbeat_ = now;
  *produced = true;
  return core::Status::Ok();
}

core::Status KafkaSink::Idle() {
  if (!producer_) return core::Status::Ok();
  bool produced = false;
  SLUICE_RETURN_IF_ERROR(MaybeProduceHeartbeat(&produced));
  if (!produced) return core::Status::Ok();
  // Nothing else is pending (the pipeline calls Idle only then): flushing makes the heartbeat
  // durable and commits its transaction, and carries no checkpoint.
  return Flush().status();
}

core::Result<std::optional<core::SourcePosition>> KafkaSink::Flush() {
  if (!producer_) return core::FailedPreconditionError("kafka sink: Flush before Open");
  if (in_transaction_) {
    if (pending_checkpoint_) {
      SLUICE_ASSIGN_OR_RETURN(rd_kafka_topic_t * offsets, TopicNamed(options_.offsets_topic));
      const std::string& name = options_.connector_name;
      SLUICE_RETURN_IF_ERROR(Produce(offsets, &name, &pending_checkpoint_->value, nullptr));
    }
    SLUICE_RETURN_IF_ERROR(stager_->Sync());
    if (rd_kafka_error_t* e = rd_kafka_commit_transaction(producer_.get(), options_.flush_timeout_ms)) {
      core::Status s = KafkaError(e, "kafka sink: commit transaction");
      if (core::Status d = DeliveryError(); !d.ok()) s = d;
      return s;
    }
    in_transaction_ = false;
  } else {
    SLUICE_RETURN_IF_ERROR(stager_->Sync());
    rd_kafka_resp_err_t err = rd_kafka_flush(producer_.get(), options_.flush_timeout_ms);
    if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
      return core::UnavailableError(
          "kafka sink: " + std::to_string(rd_kafka_outq_len(producer_.get())) +
          " records still without a delivery report after sink.kafka.flush.timeout.ms=" +
          std::to_string(options_.flush_timeout_ms) + "; is the cluster reachable?");
    }
  }
  SLUICE_RETURN_IF_ERROR(DeliveryError());
  char fatal[512];
  if (rd_kafka_resp_err_t err = rd_kafka_fatal_error(producer_.get(), fatal, sizeof fatal)) {
    return KafkaError(err, "kafka sink: producer failed", fatal);
  }
  std::optional<core::SourcePosition> out = std::move(pending_checkpoint_);
  pending_checkpoint_.reset();
  txn_.Save();
  return out;
}

void KafkaSink::DestroyProducer() {
  if (!producer_) return;
  // First drop what is not produced yet, so that nothing reaches librdkafka after the abort.
  stager_.reset();  // drops what it holds (records of the producer's topics) and joins
  if (in_transaction_) {
    if (rd_kafka_error_t* e = rd_kafka_abort_transaction(producer_.get(), 10000)) {
      rd_kafka_error_destroy(e);
    }
    in_transaction_ = false;
  }
  rd_kafka_purge(producer_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(producer_.get(), 0);
  table_topics_.clear();
  topics_.clear();
  producer_.reset();
  // Records the handle dropped without a report held their arenas: nothing refers to any now.
  arenas_.ReclaimAll();
}

core::Status KafkaSink::Reset() {
  pending_checkpoint_.reset();
  txn_.Restore();  // the pipeline replays every batch since the last flush
  // A fresh producer: the simplest state that is certainly clean after any failure (fatal
  // idempotence errors, abortable transactions, purged queues).
  DestroyProducer();
  ClearDeliveryError();
  return Open();
}

core::Status KafkaSink::Check() {
  SLUICE_ASSIGN_OR_RETURN(kafka_sink::KafkaHandle probe, NewProducer(true));
  return core::Status::Ok();
}

void KafkaSink::Close() {
  if (producer_ && !in_transaction_) rd_kafka_flush(producer_.get(), 2000);
  DestroyProducer();
}

}  // namespace sluice::sinks
