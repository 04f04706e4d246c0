#include "connectors/postgres/source_config.h"

#include <algorithm>
#include <optional>

#include "connectors/postgres/pg_names.h"
#include "connectors/postgres/postgres_source.h"
#include "core/database_config_keys.h"
#include "core/human_units.h"

namespace sluice::pg {
namespace {

core::Status RecoveryRefusal() {
  return core::InvalidArgumentError(
      "snapshot.mode=recovery is a MySQL mode (it rebuilds a lost schema history topic); the "
      "PostgreSQL connector has none: use initial, no_data, when_needed or always");
}

}  // namespace

core::Result<SourceConfig> ParseSourceConfig(const core::ConnectorConfig& c) {
  SourceConfig out;
  ConnectionParams& params = out.params;
  params.host = c.Get("database.hostname", "127.0.0.1");
  SLUICE_ASSIGN_OR_RETURN(int64_t port, c.GetInt("database.port", 5432));
  params.port = static_cast<int>(port);
  params.user = c.Get("database.user", "postgres");
  params.password = c.Get("database.password");
  params.initial_statements = core::SplitSqlStatements(c.Get("database.initial.statements"));
  params.dbname = c.Get("database.dbname");
  if (params.dbname.empty()) {
    return core::InvalidArgumentError("database.dbname is required for connector.class=postgres");
  }
  params.sslmode = c.Get("database.sslmode");
  params.sslrootcert = c.Get("database.sslrootcert");
  params.sslcert = c.Get("database.sslcert");
  params.sslkey = c.Get("database.sslkey");
  params.sslpassword = c.Get("database.sslpassword");
  SLUICE_ASSIGN_OR_RETURN(int64_t timeout, c.GetInt("connect.timeout.ms", 30000));
  params.connect_timeout_s = static_cast<int>(std::max<int64_t>(2, timeout / 1000));
  params.application_name = DeriveServerObjectName("sluice_", c.name());
  out.publication_mode = c.Get("publication.autocreate.mode", "filtered");
  SLUICE_ASSIGN_OR_RETURN(out.mode, core::ParseSnapshotMode(c.Get("snapshot.mode", "initial")));
  if (out.mode == core::SnapshotMode::kRecovery) return RecoveryRefusal();
  SLUICE_ASSIGN_OR_RETURN(int64_t threads, c.GetInt("snapshot.max.threads", 2));
  out.snapshot.threads = static_cast<int>(threads);
  SLUICE_ASSIGN_OR_RETURN(int64_t pages, c.GetInt("snapshot.chunk.pages", 16384));
  out.snapshot.chunk_pages = static_cast<uint64_t>(pages);
  out.snapshot.binary = c.Get("snapshot.copy.format", "binary") == "binary";
  SLUICE_ASSIGN_OR_RETURN(int64_t chunk_rows, c.GetInt("incremental.snapshot.chunk.size", 1024));
  out.incremental_chunk_rows = static_cast<size_t>(std::max<int64_t>(1, chunk_rows));
  SLUICE_ASSIGN_OR_RETURN(out.signal_table, core::SignalTableFromConfig(c, "schema.table"));
  SLUICE_ASSIGN_OR_RETURN(out.snapshot.select_overrides, core::SelectOverridesFromConfig(c));
  SLUICE_ASSIGN_OR_RETURN(out.snapshot.include_tables,
                          core::CompileRegexList(c, "snapshot.include.collection.list"));
  SLUICE_ASSIGN_OR_RETURN(out.drop_on_stop, c.GetBool("slot.drop.on.stop", false));
  SLUICE_ASSIGN_OR_RETURN(int64_t interval, c.GetInt("status.update.interval.ms", 10000));
  out.stream.status_interval_ms = interval;
  SLUICE_ASSIGN_OR_RETURN(out.slot_health_interval_ms, c.GetInt("slot.health.interval.ms", 10000));
  SLUICE_ASSIGN_OR_RETURN(out.xmin_fetch_interval_ms, c.GetInt("xmin.fetch.interval.ms", 0));
  SLUICE_ASSIGN_OR_RETURN(out.heartbeat, core::HeartbeatActionFromConfig(c));
  SLUICE_ASSIGN_OR_RETURN(out.replica_identity_rules,
                          ParseReplicaIdentityRules(c.Get("replica.identity.autoset.values")));
  SLUICE_ASSIGN_OR_RETURN(out.slot_warn_bytes, c.GetInt("slot.retained.warn.bytes", int64_t{1} << 30));
  if (std::string limit = c.Get("slot.max.retained.wal"); !limit.empty()) {
    SLUICE_ASSIGN_OR_RETURN(out.slot_max_retained_bytes,
                            core::ParseHumanBytes(limit, "slot.max.retained.wal"));
  }
  out.stream.database = params.dbname;
  SLUICE_ASSIGN_OR_RETURN(out.stream.message_prefix_include,
                          core::CompileRegexList(c, "message.prefix.include.list"));
  SLUICE_ASSIGN_OR_RETURN(out.stream.message_prefix_exclude,
                          core::CompileRegexList(c, "message.prefix.exclude.list"));
  if (!out.stream.message_prefix_include.empty() && !out.stream.message_prefix_exclude.empty()) {
    return core::InvalidArgumentError(
        "message.prefix.include.list and message.prefix.exclude.list are both set; set at most "
        "one of them");
  }
  SLUICE_ASSIGN_OR_RETURN(out.filter, core::TableFilter::FromConfig(c));
  return out;
}

std::vector<core::ConfigKey> SourceConfigKeys() {
  using core::ConfigType;
  std::vector<core::ConfigKey> keys;
  keys.push_back(core::MakeConfigKey("database.hostname", ConfigType::kString, "127.0.0.1", "PostgreSQL host"));
  keys.push_back(core::MakeIntConfigKey("database.port", "5432", "PostgreSQL port", 1, 65535));
  keys.push_back(core::MakeConfigKey("database.user", ConfigType::kString, "postgres",
                     "user with LOGIN and REPLICATION (and SELECT on the captured tables)"));
  for (auto& key : core::DatabaseSessionConfigKeys(
           "every regular connection",
           "DateStyle, TimeZone, IntervalStyle, extra_float_digits, bytea_output, "
           "client_encoding")) {
    keys.push_back(std::move(key));
  }
  auto db = core::MakeConfigKey("database.dbname", ConfigType::kString, "", "the database to capture");
  db.required = true;
  keys.push_back(db);
  // Debezium's PostgreSQL connector has no recovery mode (it keeps no schema history).
  auto mode = core::MakeConfigKey("snapshot.mode", ConfigType::kEnum, "initial",
                                  "initial, initial_only, never, no_data (schema_only), "
                                  "when_needed, always");
  for (const auto& name : core::SplitConfigList(core::kSnapshotModeNames)) {
    auto parsed = core::ParseSnapshotMode(name);
    if (parsed.ok() && *parsed != core::SnapshotMode::kRecovery) mode.allowed.push_back(name);
  }
  keys.push_back(mode);
  keys.push_back(core::MakeConfigKey("schema.include.list", ConfigType::kRegexList, "",
                                     "regexes on the schema name; empty includes all"));
  keys.push_back(core::MakeConfigKey("schema.exclude.list", ConfigType::kRegexList, "",
                                     "regexes on the schema name"));
  keys.push_back(core::MakeConfigKey(
      "message.prefix.include.list", ConfigType::kRegexList, "",
      "regexes on the prefix of logical decoding messages to capture; empty captures all"));
  keys.push_back(core::MakeConfigKey("message.prefix.exclude.list", ConfigType::kRegexList, "",
                                     "regexes on the prefix of logical decoding messages to leave out"));
  auto ssl = core::MakeConfigKey("database.sslmode", ConfigType::kEnum, "prefer",
                 "libpq sslmode: disable, allow, prefer, require, verify-ca, verify-full");
  ssl.allowed = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"};
  keys.push_back(ssl);
  keys.push_back(core::MakeConfigKey(
      "database.sslrootcert", ConfigType::kString, "",
      "file of the certificate authorities that verify the server (verify-ca, verify-full); "
      "empty: libpq's ~/.postgresql/root.crt"));
  keys.push_back(core::MakeConfigKey(
      "database.sslcert", ConfigType::kString, "",
      "file of the client certificate (cert authentication); empty: ~/.postgresql/postgresql.crt"));
  keys.push_back(core::MakeConfigKey(
      "database.sslkey", ConfigType::kString, "",
      "file of the client certificate's private key (mode 0600); empty: "
      "~/.postgresql/postgresql.key"));
  keys.push_back(core::MakeConfigKey("database.sslpassword", ConfigType::kPassword, "",
                                     "passphrase of an encrypted database.sslkey"));
  keys.push_back(core::MakeConfigKey("slot.name", ConfigType::kString, "",
                     "logical replication slot (pgoutput); default sluice_<connector name>"));
  keys.push_back(core::MakeConfigKey("publication.name", ConfigType::kString, "",
                     "publication to stream; default sluice_pub_<connector name>"));
  auto pub = core::MakeConfigKey("publication.autocreate.mode", ConfigType::kEnum, "filtered",
                 "filtered: create/update the publication for the included tables; all_tables: "
                 "FOR ALL TABLES (superuser); disabled: it must exist");
  pub.allowed = {"filtered", "all_tables", "disabled"};
  keys.push_back(pub);
  // An integer key with bounds (std::nullopt: unbounded above).
  auto int_key = [&](const char* name, const char* default_value, const char* doc, int64_t min,
                     std::optional<int64_t> max) {
    auto key = core::MakeConfigKey(name, ConfigType::kInt, default_value, doc);
    key.min = min;
    if (max) key.max = *max;
    keys.push_back(std::move(key));
  };
  int_key("snapshot.max.threads", "2",
          "connections reading the snapshot in parallel (tables and chunks)", 1, 64);
  int_key("snapshot.chunk.pages", "16384",
          "a table larger than this many 8 KiB pages is read in ctid-range chunks in parallel; 0 "
          "reads every table whole, and so does snapshot.max.threads=1", 0, std::nullopt);
  int_key("incremental.snapshot.chunk.size", "1024",
          "rows per chunk of an incremental snapshot (POST /connectors/{name}/snapshots); the "
          "stream waits at most while one chunk is read", 1, 1000000);
  keys.push_back(core::SignalTableConfigKey("schema.table"));
  auto format = core::MakeConfigKey("snapshot.copy.format", ConfigType::kEnum, "binary",
                    "binary: COPY in binary format (cheaper for the server) for every table whose "
                    "column types all have a binary decoder, text COPY for the others; text: "
                    "text COPY for every table");
  format.allowed = {"binary", "text"};
  keys.push_back(format);
  keys.push_back(core::MakeConfigKey("slot.drop.on.stop", ConfigType::kBool, "false",
                     "drop the replication slot when the connector stops (testing only: changes "
                     "made while stopped are lost)"));
  int_key("status.update.interval.ms", "10000",
          "longest interval between standby status updates to the server", 100, 3600000);
  int_key("slot.health.interval.ms", "10000",
          "how often the replication slot's retention (retained WAL, wal_status, safe_wal_size) "
          "is sampled while streaming, on a connection of its own", 100, 3600000);
  for (auto& key : core::HeartbeatConfigKeys("how often heartbeat.action.query runs while "
                                              "streaming; with the Kafka sink also Debezium's "
                                              "heartbeat records")) {
    keys.push_back(std::move(key));
  }
  keys.push_back(core::MakeConfigKey(
      "replica.identity.autoset.values", ConfigType::kString, "",
      "Debezium's key: <schema.table regex>:DEFAULT|FULL|NOTHING|INDEX <index>, comma-separated; "
      "at each start the captured tables a rule matches get that REPLICA IDENTITY (first match; "
      "needs the table's owner)"));
  int_key("xmin.fetch.interval.ms", "0",
          "Debezium's key: how often the replication slot's catalog_xmin is read (on a "
          "connection of its own) for source.xmin of the streamed transactions that begin after "
          "the reading; 0 leaves source.xmin null, as Debezium's default", 0, 86400000);
  int_key("slot.retained.warn.bytes", "1073741824",
          "status and log warn when the slot retains at least this many WAL bytes; 0 turns this "
          "warning off", 0, std::nullopt);
  keys.push_back(core::MakeConfigKey(
      "slot.max.retained.wal", ConfigType::kBytes, "",
      "the most WAL the slot may retain (bytes, or with a unit: 50GB, 512MB; 1024-based): status "
      "shows the time left before it at the recent WAL rate, warns within a day and is critical "
      "within an hour and past it; the connector keeps streaming (it never drops the slot: "
      "max_slot_wal_keep_size on the server does that); empty or 0 turns it off"));
  int_key("connect.timeout.ms", "30000", "connection timeout", 1000, std::nullopt);
  return keys;
}

}  // namespace sluice::pg
