#include "api/plugins.h"

#include "connectors/kafka/kafka_source.h"
#include "connectors/mysql/mysql_source.h"
#include "connectors/postgres/postgres_source.h"
#include "core/column_policy.h"
#include "core/config_providers.h"
#include "core/logging.h"
#include "sinks/file/file_sink.h"
#include "sinks/kafka/kafka_sink.h"
#include "sinks/mysql/mysql_sink.h"
#include "sinks/postgres/postgres_sink.h"

namespace sluice::api {

const std::vector<SourcePlugin>& SourcePlugins() {
  static const std::vector<SourcePlugin> plugins = {
      {"postgres", "io.debezium.connector.postgresql.PostgresConnector", "0.1.0",
       &pg::SourceConfigKeys, &pg::MakePostgresSource},
      {"mysql", "io.debezium.connector.mysql.MySqlConnector", "0.1.0", &mysql::SourceConfigKeys,
       &mysql::MakeMysqlSource},
      {"kafka", "sluice.kafka.KafkaSourceConnector", "0.1.0", &kafka::SourceConfigKeys,
       &kafka::MakeKafkaSource},
  };
  return plugins;
}

const std::vector<SinkPlugin>& SinkPlugins() {
  static const std::vector<SinkPlugin> plugins = {
      {"file", &sinks::FileSinkConfigKeys, &sinks::MakeFileSink},
      // A PostgreSQL COPY shorter than its 16 MB buffer ring takes every new page from the
      // shared buffers' clock sweep: a snapshot committed every 10,000 rows cost the target
      // server 1-1.5 CPU-s more per 2 M rows than one long COPY (integration/bench/pg_sink).
      // The source's snapshot position does not move until the snapshot ends, so the longer
      // transactions lose no resume point.
      {"postgres", &sinks::PostgresSinkConfigKeys, &sinks::MakePostgresSink,
       {{"sink.snapshot.batch.bytes", "67108864"}}},
      // Snapshot rows go in as one LOAD DATA per flush: 8 MiB flushes (about 80,000 pgbench
      // rows) instead of every 10,000 rows measured 0.89-0.95x against COPY | LOAD DATA vs
      // 0.88-0.90x (3 and 2 runs, load about 1, integration/bench/mysql_sink); 64 MiB loses
      // the overlap with the source's read (0.86-0.87x).
      {"mysql", &sinks::MysqlSinkConfigKeys, &sinks::MakeMysqlSink,
       {{"sink.snapshot.batch.bytes", "8388608"}}},
      // A Kafka flush waits for the delivery report of every record in flight, and the sink
      // thread produces nothing meanwhile: flushing every 10,000 records cost a PG -> Kafka
      // snapshot of 1 M rows a third of its time (2.2 s vs 1.4-1.7 s with 100,000). A caught-up
      // stream still flushes after sink.batch.idle.ms, so the position's lag is unchanged there.
      {"kafka", &sinks::KafkaSinkConfigKeys, &sinks::MakeKafkaSink, {{"sink.batch.size", "100000"}}},
  };
  return plugins;
}

const SourcePlugin* FindSourcePlugin(const std::string& connector_class) {
  auto canonical = core::CanonicalConnectorClass(connector_class);
  if (!canonical) return nullptr;
  for (const auto& p : SourcePlugins()) {
    if (p.connector_class == *canonical) return &p;
  }
  return nullptr;
}

const SinkPlugin* FindSinkPlugin(const std::string& type) {
  for (const auto& p : SinkPlugins()) {
    if (p.type == type) return &p;
  }
  return nullptr;
}

core::ConfigDef ConfigDefFor(const core::ConnectorConfig& config) {
  core::ConfigDef def;
  def.AddAll(core::CommonConfigKeys());
  if (const SourcePlugin* source = FindSourcePlugin(config.Get("connector.class"))) {
    def.AddAll(source->keys());
  }
  if (const SinkPlugin* sink = FindSinkPlugin(config.Get("sink.type"))) {
    def.AddAll(sink->keys());
  }
  return def;
}

core::Status ValidateConfig(const core::ConnectorConfig& config) {
  return ConfigDefFor(config).Validate(config);
}

namespace {

// The config with every default filled in, so that modules read one complete config.
core::ConnectorConfig WithDefaults(const core::ConfigDef& def, const core::ConnectorConfig& config) {
  core::ConnectorConfig full = config;
  if (const SinkPlugin* sink = FindSinkPlugin(config.Get("sink.type"))) {
    for (const auto& [key, value] : sink->pipeline_defaults) {
      if (!full.Has(key)) full.mutable_values()[key] = value;
    }
  }
  for (const auto& key : def.keys()) {
    if (!key.is_prefix && !key.default_value.empty() && !full.Has(key.name)) {
      full.mutable_values()[key.name] = key.default_value;
    }
  }
  return full;
}

}  // namespace

core::Result<std::unique_ptr<core::Source>> BuildSource(const core::ConnectorConfig& stored,
                                                       core::MetricsRegistry* metrics) {
  SLUICE_ASSIGN_OR_RETURN(const core::ConnectorConfig config, core::ResolveConfigProviders(stored));
  core::ConfigDef def = ConfigDefFor(config);
  SLUICE_RETURN_IF_ERROR(def.Validate(config));
  core::ConnectorConfig full = WithDefaults(def, config);
  const SourcePlugin* source_plugin = FindSourcePlugin(full.Get("connector.class"));
  if (source_plugin == nullptr) {
    return core::InvalidArgumentError("connector.class '" + full.Get("connector.class") +
                                      "' is not known; use postgres, mysql or kafka");
  }
  auto logger = core::ConnectorLogger(config.name().empty() ? "sluice" : config.name());
  return source_plugin->make(core::ConnectorContext{full, metrics, nullptr, logger});
}

core::Result<BuiltConnector> BuildConnector(const core::ConnectorConfig& stored,
                                            core::MetricsRegistry* metrics,
                                            core::ProgressTracker* progress) {
  // ${env:…} and ${file:…} references resolve here, as a pipeline is built, never when a config
  // is stored: the state store and the API keep the reference, not the secret.
  SLUICE_ASSIGN_OR_RETURN(const core::ConnectorConfig config, core::ResolveConfigProviders(stored));
  core::ConfigDef def = ConfigDefFor(config);
  SLUICE_RETURN_IF_ERROR(def.Validate(config));
  auto logger = core::ConnectorLogger(config.name().empty() ? "sluice" : config.name());
  for (const auto& warning : def.Warnings(config)) logger->warn("{}", warning.message);
  core::ConnectorConfig full = WithDefaults(def, config);
  const SourcePlugin* source_plugin = FindSourcePlugin(full.Get("connector.class"));
  const SinkPlugin* sink_plugin = FindSinkPlugin(full.Get("sink.type"));
  if (source_plugin == nullptr) {
    return core::InvalidArgumentError("connector.class '" + full.Get("connector.class") +
                                      "' is not known; use postgres, mysql or kafka");
  }
  if (sink_plugin == nullptr) {
    return core::InvalidArgumentError("sink.type '" + full.Get("sink.type") +
                                      "' is not known; use file, postgres, mysql or kafka");
  }
  core::ConnectorContext ctx{full, metrics, progress, logger};
  BuiltConnector built;
  SLUICE_ASSIGN_OR_RETURN(built.source, source_plugin->make(ctx));
  SLUICE_ASSIGN_OR_RETURN(built.sink, sink_plugin->make(ctx));
  // message.key.columns and the column masks: one stage in front of every sink.
  SLUICE_ASSIGN_OR_RETURN(core::ColumnPolicy policy, core::ColumnPolicy::FromConfig(full));
  built.sink = core::WithColumnPolicy(std::move(policy), std::move(built.sink));
  SLUICE_ASSIGN_OR_RETURN(built.options, core::PipelineOptionsFromConfig(full));
  return built;
}

}  // namespace sluice::api
