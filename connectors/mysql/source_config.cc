#include "connectors/mysql/source_config.h"

#include <algorithm>

#include "connectors/mysql/mysql_source.h"
#include "connectors/mysql/mysql_types.h"
#include "core/database_config_keys.h"

namespace sluice::mysql {
namespace {

// Default replica server id: 5400 + a hash of the connector name, so that two connectors on one
// server do not evict each other (a second reader with the same id kills the first).
uint32_t DefaultServerId(const std::string& name) {
  uint32_t h = 2166136261u;
  for (char c : name) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  return 5400 + h % 100000;
}

}  // namespace

core::Result<std::string> SslModeFromConfig(const core::ConnectorConfig& c) {
  const std::string plain = c.Get("database.sslmode");
  const std::string debezium = c.Get("database.ssl.mode");
  if (debezium.empty()) return plain.empty() ? std::string("preferred") : plain;
  // "preferred" is also the default ConfigDef fills in: only another value is a disagreement.
  if (!plain.empty() && plain != debezium && plain != "preferred") {
    return core::InvalidArgumentError("database.ssl.mode '" + debezium +
                                      "' and database.sslmode '" + plain +
                                      "' disagree: set one of them");
  }
  return debezium;
}

core::Status ApplyTlsConfig(const core::ConnectorConfig& c, ConnectionParams& params) {
  SLUICE_ASSIGN_OR_RETURN(params.ssl_mode, SslModeFromConfig(c));
  params.ssl_ca = c.Get("database.sslrootcert");
  params.ssl_cert = c.Get("database.sslcert");
  params.ssl_key = c.Get("database.sslkey");
  return CheckTlsSettings(params);
}

core::Result<SourceConfig> ParseSourceConfig(const core::ConnectorConfig& c) {
  SourceConfig out;
  out.params.host = c.Get("database.hostname", "127.0.0.1");
  SLUICE_ASSIGN_OR_RETURN(int64_t port, c.GetInt("database.port", 3306));
  out.params.port = static_cast<int>(port);
  out.params.user = c.Get("database.user");
  out.params.password = c.Get("database.password");
  out.params.initial_statements = core::SplitSqlStatements(c.Get("database.initial.statements"));
  SLUICE_RETURN_IF_ERROR(ApplyTlsConfig(c, out.params));
  SLUICE_ASSIGN_OR_RETURN(int64_t timeout, c.GetInt("connect.timeout.ms", 30000));
  out.params.connect_timeout_s = static_cast<int>(std::max<int64_t>(1, timeout / 1000));
  int64_t default_id = DefaultServerId(c.name());
  SLUICE_ASSIGN_OR_RETURN(int64_t server_id, c.GetInt("database.server.id", default_id));
  out.stream.server_id = static_cast<uint32_t>(server_id);
  SLUICE_ASSIGN_OR_RETURN(int64_t hb, c.GetInt("heartbeat.interval.ms", 1000));
  // 0 is Debezium's "no heartbeat records" (the Kafka sink's reading): the binlog keeps 1000.
  out.stream.heartbeat_ms = static_cast<int>(hb == 0 ? 1000 : hb);
  SLUICE_ASSIGN_OR_RETURN(out.heartbeat, core::HeartbeatActionFromConfig(c));
  SLUICE_ASSIGN_OR_RETURN(out.mode, core::ParseSnapshotMode(c.Get("snapshot.mode", "initial")));
  SLUICE_ASSIGN_OR_RETURN(int64_t threads, c.GetInt("snapshot.max.threads", 1));
  out.snapshot.threads = static_cast<int>(threads);
  SLUICE_ASSIGN_OR_RETURN(int64_t chunk_rows, c.GetInt("snapshot.chunk.rows", 200000));
  out.snapshot.chunk_rows = static_cast<uint64_t>(chunk_rows);
  SLUICE_ASSIGN_OR_RETURN(out.snapshot.select_overrides, core::SelectOverridesFromConfig(c));
  SLUICE_ASSIGN_OR_RETURN(out.snapshot.include_tables,
                          core::CompileRegexList(c, "snapshot.include.collection.list"));
  SLUICE_ASSIGN_OR_RETURN(ZeroDateMode zero_dates,
                          ParseZeroDateMode(c.Get(kZeroDateModeKey, "fail")));
  out.snapshot.zero_dates = out.stream.zero_dates = zero_dates;
  SLUICE_ASSIGN_OR_RETURN(out.stream.include_query, c.GetBool("include.query", false));
  SLUICE_ASSIGN_OR_RETURN(out.stream.include_schema_changes,
                          c.GetBool("include.schema.changes", true));
  out.snapshot.include_schema_changes = out.stream.include_schema_changes;
  SLUICE_ASSIGN_OR_RETURN(out.stream.include_schema_comments,
                          c.GetBool("include.schema.comments", false));
  out.snapshot.include_schema_comments = out.stream.include_schema_comments;
  SLUICE_ASSIGN_OR_RETURN(out.filter, CaptureFilter::FromConfig(c));
  SLUICE_ASSIGN_OR_RETURN(out.health_interval_ms, c.GetInt("binlog.health.interval.ms", 10000));
  SLUICE_ASSIGN_OR_RETURN(out.retained_warn_bytes,
                          c.GetInt("binlog.retained.warn.bytes", int64_t{1} << 30));
  SLUICE_ASSIGN_OR_RETURN(int64_t incremental_rows,
                          c.GetInt("incremental.snapshot.chunk.size", 1024));
  out.incremental_chunk_rows = static_cast<size_t>(std::max<int64_t>(1, incremental_rows));
  SLUICE_ASSIGN_OR_RETURN(out.incremental_consistency,
                          ParseSnapshotConsistency(c.Get(kSnapshotConsistencyKey, "auto")));
  SLUICE_ASSIGN_OR_RETURN(out.signal_table, core::SignalTableFromConfig(c, "database.table"));
  return out;
}

std::vector<core::ConfigKey> SourceConfigKeys() {
  using core::ConfigType;
  std::vector<core::ConfigKey> keys;
  auto host = core::MakeConfigKey("database.hostname", ConfigType::kString, "", "MySQL/MariaDB host");
  host.required = true;
  keys.push_back(host);
  keys.push_back(core::MakeIntConfigKey("database.port", "3306", "MySQL/MariaDB port", 1, 65535));
  auto user = core::MakeConfigKey("database.user", ConfigType::kString, "", "user with SELECT, RELOAD, "
                  "REPLICATION SLAVE, REPLICATION CLIENT (BINLOG MONITOR on MariaDB)");
  user.required = true;
  keys.push_back(user);
  for (auto& key : core::DatabaseSessionConfigKeys("every connection but the binlog reader's",
                                                   "time_zone, NAMES, sql_mode, autocommit")) {
    keys.push_back(std::move(key));
  }
  keys.push_back(core::MakeIntConfigKey(
      "database.server.id", "",
      "replica server id of the binlog reader, unique among the server's replicas; "
      "default 5400 + a hash of the connector name",
      1, 4294967295LL));
  keys.push_back(core::MakeConfigKey("database.include.list", ConfigType::kRegexList, "",
                     "regexes on database names to capture; empty captures all but system ones"));
  keys.push_back(core::MakeConfigKey("database.exclude.list", ConfigType::kRegexList, "",
                     "regexes on database names not to capture"));
  auto ssl = core::MakeConfigKey("database.sslmode", ConfigType::kEnum, "preferred",
                 "disabled, preferred, required, verify_ca, verify_identity");
  ssl.allowed.assign(kSslModes.begin(), kSslModes.end());
  keys.push_back(ssl);
  auto dbz_ssl = core::MakeConfigKey("database.ssl.mode", ConfigType::kEnum, "",
                                     "Debezium's name of database.sslmode (the same values); it "
                                     "wins when both are set");
  dbz_ssl.allowed.assign(kSslModes.begin(), kSslModes.end());
  keys.push_back(dbz_ssl);
  keys.push_back(core::MakeConfigKey(
      "database.sslrootcert", ConfigType::kString, "",
      "PEM file of the certificate authorities that verify the server (verify_ca, "
      "verify_identity); empty: the system's"));
  keys.push_back(core::MakeConfigKey(
      "database.sslcert", ConfigType::kString, "",
      "PEM file of a client certificate, for users created REQUIRE X509 (with database.sslkey)"));
  keys.push_back(core::MakeConfigKey("database.sslkey", ConfigType::kString, "",
                                     "PEM file of the client certificate's private key"));
  for (auto& key : core::HeartbeatConfigKeys(
           "binlog heartbeat period asked of the server while idle (1000 when unset or 0); how "
           "often heartbeat.action.query runs; with the Kafka sink also Debezium's heartbeat "
           "records")) {
    keys.push_back(std::move(key));
  }
  keys.push_back(core::MakeIntConfigKey("connect.timeout.ms", "30000", "connection timeout", 1000));
  keys.push_back(core::MakeIntConfigKey(
      "snapshot.max.threads", "1",
      "connections reading the snapshot in parallel (tables and primary-key "
      "ranges); more than one takes a brief FLUSH TABLES WITH READ LOCK (RELOAD), "
      "one needs no lock on MariaDB",
      1, 64));
  keys.push_back(core::MakeIntConfigKey(
      "snapshot.chunk.rows", "200000",
      "a table with a single integer primary key and more rows than this is read "
      "in primary-key ranges of about this many rows, in parallel",
      1000));
  auto zero = core::MakeConfigKey(kZeroDateModeKey, ConfigType::kEnum, "fail",
                  "a zero date or a date with a zero month or day ('0000-00-00', '2024-00-15'), "
                  "which no target holds: fail (stop, naming table, row, column and value) or "
                  "null (emit NULL and log it, as Debezium does; lossy)");
  zero.allowed = {"fail", "null"};
  keys.push_back(zero);
  keys.push_back(core::MakeConfigKey(
      "include.query", ConfigType::kBool, "false",
      "write each binlog change's SQL statement into source.query (Debezium's); needs "
      "binlog_annotate_row_events=ON (MariaDB) or binlog_rows_query_log_events=ON (MySQL). "
      "Snapshot records have query null"));
  keys.push_back(core::MakeConfigKey(
      "include.schema.changes", ConfigType::kBool, "true",
      "publish each table DDL on a captured table (CREATE/ALTER/DROP/RENAME TABLE) as "
      "Debezium's schema-change record on the topic <topic.prefix> (Kafka sink; other sinks "
      "skip them). Debezium's default, true; false turns the topic off"));
  keys.push_back(core::MakeIntConfigKey(
      "binlog.health.interval.ms", "10000",
      "how often the binlog retention (SHOW BINARY LOGS, the expiry settings) is "
      "sampled while streaming, on a connection of its own",
      100, 3600000));
  keys.push_back(core::MakeIntConfigKey(
      "binlog.retained.warn.bytes", "1073741824",
      "status and log warn when the server keeps at least this many binlog bytes "
      "from the file of the committed position on; 0 turns this warning off",
      0));
  keys.push_back(core::MakeIntConfigKey(
      "incremental.snapshot.chunk.size", "1024",
      "rows per chunk of an incremental snapshot (POST /connectors/{name}/snapshots); the "
      "stream waits at most while one chunk is read",
      1, 1000000));
  auto consistency = core::MakeConfigKey(
      kSnapshotConsistencyKey, ConfigType::kEnum, "auto",
      "how an incremental-snapshot chunk is made consistent with the binlog stream: exact "
      "(MariaDB's binlog position of the chunk's snapshot; refused on a server without it), "
      "window (DBLog's de-duplication between a low and a high binlog mark; MySQL 8), auto "
      "(exact where the server can, else window); neither writes to the source");
  consistency.allowed = {"auto", "exact", "window"};
  keys.push_back(consistency);
  keys.push_back(core::SignalTableConfigKey("database.table"));
  return keys;
}

}  // namespace sluice::mysql
