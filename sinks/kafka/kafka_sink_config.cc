// The Kafka sink's configuration: its ConfigDef keys and the options parsed from a config.
#include <set>

#include "sinks/kafka/kafka_sink.h"

namespace sluice::sinks {

namespace {

// Keys under sink.kafka. that Sluice reads itself; everything else goes to librdkafka.
const std::set<std::string, std::less<>> kOwnKeys = {
    "schemas.enable", "tombstones.on.delete", "topic.format", "offsets.topic",
    "flush.timeout.ms"};

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
  keys.push_back(core::SkippedOperationsConfigKey());
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
  for (auto& [key, value] : config.WithPrefix(kKafkaSinkPrefix)) {
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
  SLUICE_ASSIGN_OR_RETURN(o.skipped_ops, core::SkippedOperationsFromConfig(config));
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
  o.message_topic = o.envelope.name + ".message";
  return o;
}

}  // namespace sluice::sinks
