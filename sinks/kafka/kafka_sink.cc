#include "sinks/kafka/kafka_sink.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <set>

#include "core/clock.h"
#include "core/text_codec.h"

namespace sluice::sinks {

namespace {

using kafka_sink::KafkaError;

constexpr std::string_view kPrefix = "sink.kafka.";

// Keys under sink.kafka. that Sluice reads itself; everything else goes to librdkafka.
const std::set<std::string, std::less<>> kOwnKeys = {
    "schemas.enable", "tombstones.on.delete", "topic.format", "offsets.topic",
    "flush.timeout.ms"};

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

std::vector<core::ConfigKey> KafkaSinkConfigKeys() {
  std::vector<core::ConfigKey> keys;
  core::ConfigKey bootstrap = core::MakeConfigKey("sink.kafka.bootstrap.servers", core::ConfigType::kString, "",
                                  "Kafka brokers, host:port[,host:port…]");
  bootstrap.required = true;
  keys.push_back(bootstrap);
  keys.push_back(core::MakeConfigKey("sink.kafka.schemas.enable", core::ConfigType::kBool, "false",
                     "write {\"schema\", \"payload\"} records as JsonConverter with "
                     "schemas.enable=true does"));
  keys.push_back(core::MakeConfigKey("sink.kafka.tombstones.on.delete", core::ConfigType::kBool, "true",
                     "follow each delete by a tombstone (key, null value) for log compaction"));
  keys.push_back(core::MakeConfigKey("skipped.operations", core::ConfigType::kList, "none",
                     "Debezium's key: operations not written, a comma-separated list of c, u, d, "
                     "t, or none; sluice's default is none (Debezium's is t)"));
  keys.push_back(core::MakeConfigKey("sink.kafka.topic.format", core::ConfigType::kString,
                     std::string(kafka_sink::kDefaultTopicFormat),
                     "topic name with ${prefix}, ${schema}, ${table}"));
  keys.push_back(core::MakeConfigKey("sink.kafka.transactional.id", core::ConfigType::kString, "",
                     "enables exactly-once: each flush is one Kafka transaction that also "
                     "stores the position"));
  keys.push_back(core::MakeConfigKey("sink.kafka.offsets.topic", core::ConfigType::kString, "",
                     "transactions: compacted topic for positions (default "
                     "<topic.prefix>.sluice_offsets)"));
  core::ConfigKey timeout = core::MakeConfigKey("sink.kafka.flush.timeout.ms", core::ConfigType::kInt, "60000",
                                "longest wait for delivery reports in a flush");
  timeout.min = 100;
  keys.push_back(timeout);
  core::ConfigKey heartbeat = core::MakeConfigKey(
      "heartbeat.interval.ms", core::ConfigType::kInt, "",
      "Debezium's heartbeat records on <topic.heartbeat.prefix>.<topic.prefix> at most every "
      "this many ms (0 or unset: none); a MySQL source also takes it as its binlog heartbeat "
      "period");
  heartbeat.min = 0;
  heartbeat.max = 3600000;
  keys.push_back(heartbeat);
  keys.push_back(core::MakeConfigKey("topic.heartbeat.prefix", core::ConfigType::kString,
                                     std::string(kafka_sink::kDefaultHeartbeatPrefix),
                                     "prefix of the heartbeat topic"));
  keys.push_back(core::MakeConfigKey(
      "provide.transaction.metadata", core::ConfigType::kBool, "false",
      "Debezium's transaction metadata: BEGIN/END records on <topic.prefix>.<topic.transaction> "
      "and a \"transaction\" block in every streamed change"));
  keys.push_back(core::MakeConfigKey("topic.transaction", core::ConfigType::kString,
                                     std::string(kafka_sink::kDefaultTransactionTopic),
                                     "suffix of the transaction metadata topic"));
  keys.push_back(core::MakeConfigKey("transforms", core::ConfigType::kList, "",
                     "Kafka Connect's transform chain: one alias, whose type is "
                     "io.debezium.transforms.ExtractNewRecordState"));
  core::ConfigKey transform = core::MakeConfigKey(
      "transforms.", core::ConfigType::kString, "",
      "transforms.<alias>.type, .drop.tombstones, .delete.handling.mode, .add.fields, "
      ".add.fields.prefix (checked with the chain)");
  transform.is_prefix = true;
  keys.push_back(transform);
  core::ConfigKey pass = core::MakeConfigKey("sink.kafka.", core::ConfigType::kString, "",
                             "any other librdkafka producer property, e.g. "
                             "sink.kafka.compression.type=lz4");
  pass.is_prefix = true;
  keys.push_back(pass);  // last: ConfigDef::Find returns the first match
  return keys;
}

core::Result<KafkaSinkOptions> KafkaSinkOptionsFromConfig(const core::ConnectorConfig& config) {
  KafkaSinkOptions o;
  o.connector_name = config.name().empty() ? config.Get("name", "sluice") : config.name();
  for (auto& [key, value] : config.WithPrefix(kPrefix)) {
    if (!kOwnKeys.contains(key)) o.librdkafka[key] = value;
  }
  if (o.librdkafka["bootstrap.servers"].empty()) {
    return core::InvalidArgumentError(
        "sink.kafka.bootstrap.servers is required for sink.type=kafka (host:port of a broker)");
  }
  o.envelope.connector = config.connector_class() == "mysql" ? "mysql" : "postgresql";
  o.envelope.name = config.Get("topic.prefix", "sluice");
  o.envelope.include_schema = false;  // the encoder wraps records itself
  SLUICE_ASSIGN_OR_RETURN(o.envelope.modes, core::ValueModesFromConfig(config));
  SLUICE_ASSIGN_OR_RETURN(o.envelope.source_types,
                          core::SourceTypePropagation::FromConfig(
                              config, o.envelope.connector == "mysql"));
  // Kafka Connect's JsonConverter keys take precedence over sluice's own (the catalogue refuses
  // them when they disagree); sluice's default stays false, Kafka Connect's is true.
  SLUICE_ASSIGN_OR_RETURN(bool own_schemas, config.GetBool("sink.kafka.schemas.enable", false));
  SLUICE_ASSIGN_OR_RETURN(bool key_schemas,
                          config.GetBool("key.converter.schemas.enable", own_schemas));
  SLUICE_ASSIGN_OR_RETURN(o.schemas_enable,
                          config.GetBool("value.converter.schemas.enable", key_schemas));
  SLUICE_ASSIGN_OR_RETURN(bool own_tombstones,
                          config.GetBool("sink.kafka.tombstones.on.delete", true));
  SLUICE_ASSIGN_OR_RETURN(o.tombstones_on_delete,
                          config.GetBool("tombstones.on.delete", own_tombstones));
  for (const std::string& op : config.GetList("skipped.operations")) {
    if (op == "none") continue;
    if (op != "c" && op != "u" && op != "d" && op != "t") {
      return core::InvalidArgumentError("skipped.operations: '" + op +
                                        "' is not an operation; use c, u, d, t or none");
    }
    o.skipped_ops += op;
  }
  std::optional<core::ConfigIssue> issue;
  o.unwrap = core::NewRecordStateFromConfig(config, issue);
  if (issue) return core::InvalidArgumentError(issue->message);
  o.topic_format = config.Get("sink.kafka.topic.format", kafka_sink::kDefaultTopicFormat);
  if (o.topic_format.empty()) o.topic_format = kafka_sink::kDefaultTopicFormat;
  o.transactional_id = config.Get("sink.kafka.transactional.id");
  o.offsets_topic = config.Get("sink.kafka.offsets.topic");
  if (o.offsets_topic.empty()) o.offsets_topic = o.envelope.name + ".sluice_offsets";
  SLUICE_ASSIGN_OR_RETURN(int64_t timeout, config.GetInt("sink.kafka.flush.timeout.ms", 60000));
  o.flush_timeout_ms = static_cast<int>(timeout);
  SLUICE_ASSIGN_OR_RETURN(o.heartbeat_interval_ms, config.GetInt("heartbeat.interval.ms", 0));
  if (o.heartbeat_interval_ms < 0) {
    return core::InvalidArgumentError("heartbeat.interval.ms must be 0 (no heartbeats) or more");
  }
  std::string heartbeat_prefix = config.Get("topic.heartbeat.prefix");
  if (heartbeat_prefix.empty()) heartbeat_prefix = kafka_sink::kDefaultHeartbeatPrefix;
  o.heartbeat_topic = heartbeat_prefix + "." + o.envelope.name;
  SLUICE_ASSIGN_OR_RETURN(o.transaction_metadata,
                          config.GetBool("provide.transaction.metadata", false));
  if (o.transaction_metadata && o.envelope.connector == "postgresql" &&
      !config.Has("publication.autocreate.mode")) {
    // Which transactions reach the source decides which BEGIN/END records exist: Debezium's
    // default publication (all_tables) also streams transactions that touch no captured table
    // (BEGIN/END with event_count 0); sluice's default (filtered) does not.
    return core::InvalidArgumentError(
        "provide.transaction.metadata=true needs publication.autocreate.mode set explicitly: "
        "Debezium's default, all_tables, also gives BEGIN/END records (event_count 0) for "
        "transactions without captured changes, sluice's default, filtered, gives none; set "
        "publication.autocreate.mode=all_tables (Debezium's default) or =filtered");
  }
  std::string txn_topic = config.Get("topic.transaction");
  if (txn_topic.empty()) txn_topic = kafka_sink::kDefaultTransactionTopic;
  o.transaction_topic = o.envelope.name + "." + txn_topic;
  o.schema_change_topic = kafka_sink::TopicName("${prefix}", o.envelope.name, core::TableId{});
  return o;
}

core::Result<std::unique_ptr<core::Sink>> MakeKafkaSink(const core::ConnectorContext& context) {
  SLUICE_ASSIGN_OR_RETURN(KafkaSinkOptions options, KafkaSinkOptionsFromConfig(context.config));
  // Reject bad librdkafka properties before anything starts.
  std::map<std::string, std::string> check = options.librdkafka;
  SLUICE_RETURN_IF_ERROR(kafka_sink::MakeConf(check, std::string(kPrefix)).status());
  return std::unique_ptr<core::Sink>(new KafkaSink(std::move(options), context.logger));
}

KafkaSink::KafkaSink(KafkaSinkOptions options, std::shared_ptr<spdlog::logger> logger)
    : options_(std::move(options)),
      logger_(std::move(logger)),
      encoder_(options_.envelope, options_.schemas_enable, options_.unwrap),
      txn_(options_.schemas_enable) {}

KafkaSink::~KafkaSink() { Close(); }

void KafkaSink::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
  auto* self = static_cast<KafkaSink*>(opaque);
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
                          kafka_sink::MakeConf(settings, std::string(kPrefix)));
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
  delivery_error_ = core::Status::Ok();
  failed_deliveries_ = 0;
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
                          kafka_sink::MakeConf(settings, std::string(kPrefix)));
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
  void* payload = value ? const_cast<char*>(value->data()) : nullptr;
  size_t len = value ? value->size() : 0;
  const void* key_ptr = key ? key->data() : nullptr;
  size_t key_len = key ? key->size() : 0;
  while (rd_kafka_produce(topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, payload, len,
                          key_ptr, key_len, nullptr) != 0) {
    rd_kafka_resp_err_t err = rd_kafka_last_error();
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(producer_.get(), 50);  // serve delivery reports to make room
      continue;
    }
    std::string row = table ? table->id.ToString() : std::string(rd_kafka_topic_name(topic));
    std::string key_text = key ? core::SafeText(*key, 200) : "null";
    if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
      return core::FailedPreconditionError(
          "kafka sink: the change of " + row + " with key " + key_text + " is " +
          std::to_string(len + key_len) +
          " bytes, more than message.max.bytes; raise sink.kafka.message.max.bytes (and the "
          "topic's max.message.bytes) or exclude the big columns with column.exclude.list");
    }
    return KafkaError(err, "kafka sink: produce to " + std::string(rd_kafka_topic_name(topic)) +
                               " (" + row + ", key " + key_text + ")");
  }
  return core::Status::Ok();
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
    if (!encoder_.EncodeValue(batch, event, now_ns)) {
      return core::EnvelopeValueError(batch, event, options_.envelope.modes)
          .WithContext("kafka sink");
    }
    SLUICE_RETURN_IF_ERROR(Produce(topic, key, &encoder_.value(), event.table.get()));
  }
  if (event.op == core::Op::kDelete && options_.tombstones_on_delete && has_key &&
      !encoder_.DropsTombstones()) {
    SLUICE_RETURN_IF_ERROR(Produce(topic, key, nullptr, event.table.get()));
  }
  return core::Status::Ok();
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

core::Status KafkaSink::Write(const core::EventBatch& batch) {
  if (!producer_) return core::FailedPreconditionError("kafka sink: Write before Open");
  if (!delivery_error_.ok()) return delivery_error_;
  SLUICE_RETURN_IF_ERROR(BeginTransactionIfNeeded());
  int64_t now_ns = core::EnvelopeNowNs();
  const core::TableSchema* last_table = nullptr;
  rd_kafka_topic_t* topic = nullptr;
  auto skipped = [&](core::Op op) {
    return !options_.skipped_ops.empty() &&
           options_.skipped_ops.find(static_cast<char>(op)) != std::string::npos;
  };
  size_t next_boundary = 0;
  size_t next_schema_change = 0;
  for (size_t i = 0; i < batch.events().size(); ++i) {
    const core::ChangeEvent& event = batch.events()[i];
    SLUICE_RETURN_IF_ERROR(ProduceSchemaChanges(batch, next_schema_change, i));
    SLUICE_RETURN_IF_ERROR(ProduceBoundaries(batch, next_boundary, i));
    // A key change, as Debezium writes it: a delete (and its tombstone) under the old key, then
    // a create under the new one, so a compacted topic keeps no row under the old key. Each of
    // the two is skipped by its own operation (skipped.operations=d keeps the create).
    bool key_change = event.op == core::Op::kUpdate && event.before != core::kNoRow &&
                      event.after != core::kNoRow && event.table->HasKey() &&
                      !core::SameKey(*event.table, batch.row(event.before), batch.row(event.after));
    if (key_change ? skipped(core::Op::kDelete) && skipped(core::Op::kCreate) : skipped(event.op)) {
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
  SLUICE_RETURN_IF_ERROR(ProduceBoundaries(batch, next_boundary, batch.events().size()));
  bool heartbeat = false;
  SLUICE_RETURN_IF_ERROR(MaybeProduceHeartbeat(&heartbeat));
  rd_kafka_poll(producer_.get(), 0);
  if (!delivery_error_.ok()) return delivery_error_;
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
    if (rd_kafka_error_t* e = rd_kafka_commit_transaction(producer_.get(), options_.flush_timeout_ms)) {
      core::Status s = KafkaError(e, "kafka sink: commit transaction");
      if (!delivery_error_.ok()) s = delivery_error_;
      return s;
    }
    in_transaction_ = false;
  } else {
    rd_kafka_resp_err_t err = rd_kafka_flush(producer_.get(), options_.flush_timeout_ms);
    if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
      return core::UnavailableError(
          "kafka sink: " + std::to_string(rd_kafka_outq_len(producer_.get())) +
          " records still without a delivery report after sink.kafka.flush.timeout.ms=" +
          std::to_string(options_.flush_timeout_ms) + "; is the cluster reachable?");
    }
  }
  if (!delivery_error_.ok()) return delivery_error_;
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
}

core::Status KafkaSink::Reset() {
  pending_checkpoint_.reset();
  txn_.Restore();  // the pipeline replays every batch since the last flush
  // A fresh producer: the simplest state that is certainly clean after any failure (fatal
  // idempotence errors, abortable transactions, purged queues).
  DestroyProducer();
  delivery_error_ = core::Status::Ok();
  failed_deliveries_ = 0;
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
