#include "core/debezium_catalog.h"

#include <array>

#include "core/config.h"
#include "core/debezium_transforms.h"
#include "core/envelope_modes.h"

namespace sluice::core {

namespace {

using S = DebeziumSupport;
constexpr S kImpl = S::kImplemented;
constexpr S kNone = S::kNoEffect;
constexpr S kRef = S::kRefused;

constexpr std::string_view kNotYet = "not implemented yet";

// The PostgreSQL and MySQL connector property tables of Debezium 2.x's reference documentation
// (required, advanced, pass-through and schema-history properties), then the Kafka Connect keys
// found in the same configs. Keep README.md's "Debezium properties" table in step.
constexpr std::array kProperties = {
    // Connection and identity.
    DebeziumProperty{"name", "both", kImpl, "", "connector name"},
    DebeziumProperty{"connector.class", "both", kImpl, "", "Debezium's class names are aliases of postgres / mysql"},
    DebeziumProperty{"tasks.max", "both", kNone, "", "every connector runs as one task, as Debezium's do"},
    DebeziumProperty{"database.hostname", "both", kImpl, "", ""},
    DebeziumProperty{"database.port", "both", kImpl, "", ""},
    DebeziumProperty{"database.user", "both", kImpl, "", ""},
    DebeziumProperty{"database.password", "both", kImpl, "", ""},
    DebeziumProperty{"database.dbname", "postgres", kImpl, "", ""},
    DebeziumProperty{"topic.prefix", "both", kImpl, "", "topics are <prefix>.<schema>.<table>"},
    DebeziumProperty{"database.server.name", "both", kRef, "", "Debezium 1.x key, removed in 2.x; use topic.prefix"},
    DebeziumProperty{"database.server.id", "mysql", kImpl, "", ""},
    DebeziumProperty{"database.sslmode", "postgres", kImpl, "", "sluice also takes it for MySQL (disabled, preferred, required, verify_ca, verify_identity)"},
    DebeziumProperty{"database.sslcert", "postgres", kImpl, "", "libpq's sslcert: the client certificate file; sluice also takes it for MySQL (a PEM file, with database.sslkey)"},
    DebeziumProperty{"database.sslkey", "postgres", kImpl, "", "libpq's sslkey: the client key file (mode 0600); sluice also takes it for MySQL (a PEM file)"},
    DebeziumProperty{"database.sslpassword", "postgres", kImpl, "", "libpq's sslpassword: the client key's passphrase"},
    DebeziumProperty{"database.sslrootcert", "postgres", kImpl, "", "libpq's sslrootcert: the certificate authorities' file; sluice also takes it for MySQL (a PEM file, for verify_ca and verify_identity)"},
    DebeziumProperty{"database.sslfactory", "postgres", kRef, "", "a JDBC socket factory has no meaning in sluice"},
    DebeziumProperty{"database.tcpKeepAlive", "postgres", kNone, "", "libpq keepalives are on"},
    DebeziumProperty{"database.ssl.mode", "mysql", kImpl, "", "disabled, preferred, required, verify_ca, verify_identity (sluice's database.sslmode takes the same values)"},
    DebeziumProperty{"database.ssl.keystore", "mysql", kRef, "", "a Java key store: give the client certificate and its key as PEM files in database.sslcert and database.sslkey"},
    DebeziumProperty{"database.ssl.keystore.password", "mysql", kRef, "", "a Java key store: give the client certificate and its key as PEM files in database.sslcert and database.sslkey"},
    DebeziumProperty{"database.ssl.truststore", "mysql", kRef, "", "a Java trust store: give the certificate authorities as a PEM file in database.sslrootcert"},
    DebeziumProperty{"database.ssl.truststore.password", "mysql", kRef, "", "a Java trust store: give the certificate authorities as a PEM file in database.sslrootcert"},
    DebeziumProperty{"database.jdbc.driver", "mysql", kNone, "", "no JDBC: sluice speaks the protocol through libmariadb"},
    DebeziumProperty{"database.protocol", "mysql", kNone, "", "no JDBC: sluice speaks the protocol through libmariadb"},
    DebeziumProperty{"database.initial.statements", "both", kImpl, "", "run on every connection but the one reading the log (snapshot, chunk readers, catalog, verify), before sluice sets its session again: PostgreSQL DateStyle, TimeZone, IntervalStyle, extra_float_digits, bytea_output, client_encoding; MySQL time_zone, NAMES, sql_mode, autocommit (a statement cannot change them); a failing statement fails the start naming it"},
    DebeziumProperty{"database.query.timeout.ms", "both", kNone, "", "changes no output"},
    DebeziumProperty{"connect.timeout.ms", "mysql", kImpl, "", "sluice also takes it for PostgreSQL"},
    DebeziumProperty{"connect.keep.alive", "mysql", kNone, "", "sluice reconnects with backoff"},
    DebeziumProperty{"connect.keep.alive.interval.ms", "mysql", kNone, "", "sluice reconnects with backoff"},
    DebeziumProperty{"use.nongraceful.disconnect", "mysql", kNone, "", "changes no output"},
    // PostgreSQL replication.
    DebeziumProperty{"plugin.name", "postgres", kNone, "pgoutput", "sluice decodes pgoutput only"},
    DebeziumProperty{"slot.name", "postgres", kImpl, "", "default sluice_<connector name>"},
    DebeziumProperty{"slot.drop.on.stop", "postgres", kImpl, "", ""},
    DebeziumProperty{"slot.stream.params", "postgres", kRef, "", "pgoutput parameters are sluice's own; not implemented"},
    DebeziumProperty{"slot.max.retries", "postgres", kNone, "", "sluice retries for errors.retry.timeout"},
    DebeziumProperty{"slot.retry.delay.ms", "postgres", kNone, "", "sluice retries with backoff"},
    DebeziumProperty{"publication.name", "postgres", kImpl, "", "default sluice_pub_<connector name>"},
    DebeziumProperty{"publication.autocreate.mode", "postgres", kImpl, "", "filtered (sluice's default), all_tables, disabled"},
    DebeziumProperty{"replica.identity.autoset.values", "postgres", kImpl, "", "<schema.table regex>:DEFAULT, FULL, NOTHING or INDEX <index>; set on the captured tables at each start (needs the table's owner)"},
    DebeziumProperty{"status.update.interval.ms", "postgres", kImpl, "", ""},
    DebeziumProperty{"xmin.fetch.interval.ms", "postgres", kImpl, "", "source.xmin of streamed transactions: the slot's catalog_xmin, read at most once per interval on a connection of its own; 0 (the default) leaves it null"},
    DebeziumProperty{"flush.lsn.source", "postgres", kNone, "true", "sluice always confirms the flushed LSN to the slot"},
    DebeziumProperty{"lsn.flush.timeout.ms", "postgres", kNone, "", "changes no output"},
    DebeziumProperty{"schema.refresh.mode", "postgres", kNone, "", "sluice follows every relation message"},
    DebeziumProperty{"message.prefix.include.list", "postgres", kImpl, "", "regexes (full match) on the prefix of logical decoding messages (pg_logical_emit_message, PostgreSQL 14+) written to <topic.prefix>.message; empty: all, as Debezium; not with message.prefix.exclude.list"},
    DebeziumProperty{"message.prefix.exclude.list", "postgres", kImpl, "", "regexes (full match) on the prefix of logical decoding messages left out; not with message.prefix.include.list"},
    // MySQL binlog.
    DebeziumProperty{"gtid.source.includes", "mysql", kRef, "", kNotYet},
    DebeziumProperty{"gtid.source.excludes", "mysql", kRef, "", kNotYet},
    DebeziumProperty{"binlog.buffer.size", "mysql", kNone, "", "changes no output"},
    DebeziumProperty{"table.ignore.builtin", "mysql", kNone, "true", "system databases are never captured"},
    DebeziumProperty{"enable.time.adjuster", "mysql", kNone, "true", "two-digit years are not adjusted by the server protocol sluice reads"},
    DebeziumProperty{"read.only", "mysql", kNone, "false", "incremental snapshots never write to the source (no signalling table), so there is nothing to switch"},
    DebeziumProperty{"min.row.count.to.stream.results", "mysql", kNone, "", "sluice always streams snapshot rows"},
    DebeziumProperty{"include.query", "mysql", kImpl, "", "source.query from ANNOTATE_ROWS (MariaDB) / ROWS_QUERY (MySQL) events; refused at start when the server does not log them"},
    DebeziumProperty{"include.schema.changes", "mysql", kImpl, "", "the schema-change topic <topic.prefix>: the snapshot's SET, DROP TABLE IF EXISTS, DROP/CREATE DATABASE, USE and CREATE TABLE records, then each CREATE/ALTER/DROP/RENAME TABLE on a captured table, tableChanges read from information_schema after the DDL (Kafka sink; database and file sinks skip it); default true, as Debezium's"},
    DebeziumProperty{"include.schema.comments", "both", kImpl, "true,false", "true: each column's comment (PostgreSQL col_description, MySQL COLUMN_COMMENT) as its field schema's doc (Kafka sink, schemas on), and the column and table comments in MySQL's tableChanges; default false"},
    DebeziumProperty{"inconsistent.schema.handling.mode", "mysql", kNone, "fail", "sluice stops on a row it cannot map"},
    DebeziumProperty{"event.deserialization.failure.handling.mode", "mysql", kNone, "fail", "sluice never skips an event"},
    DebeziumProperty{"schema.history.internal.", "mysql", kNone, "", "sluice keeps table schemas itself; no history topic", true},
    DebeziumProperty{"database.history.", "mysql", kNone, "", "Debezium 1.x schema history; sluice keeps schemas itself", true},
    // Filters.
    DebeziumProperty{"database.include.list", "mysql", kImpl, "", ""},
    DebeziumProperty{"database.exclude.list", "mysql", kImpl, "", ""},
    DebeziumProperty{"schema.include.list", "postgres", kImpl, "", "regexes on the schema name; not with schema.exclude.list"},
    DebeziumProperty{"schema.exclude.list", "postgres", kImpl, "", "regexes on the schema name; not with schema.include.list"},
    DebeziumProperty{"table.include.list", "both", kImpl, "", ""},
    DebeziumProperty{"table.exclude.list", "both", kImpl, "", ""},
    DebeziumProperty{"column.include.list", "both", kImpl, "", "not with column.exclude.list; a filter that leaves out a key column is refused (Debezium keeps it in the key only)"},
    DebeziumProperty{"column.exclude.list", "both", kImpl, "", "not with column.include.list; a filter that leaves out a key column is refused (Debezium keeps it in the key only)"},
    DebeziumProperty{"skip.messages.without.change", "both", kNone, "false", kNotYet},
    DebeziumProperty{"skipped.operations", "both", kImpl, "none", "the Kafka and file sinks take c, u, d, t or none, default t (truncates dropped) as Debezium's; database sinks apply truncates, so that the target equals the source, and take only none"},
    DebeziumProperty{"message.key.columns", "both", kImpl, "", "Kafka and file sinks; refused with a database sink, which keys rows by the primary key"},
    DebeziumProperty{"column.truncate.to.", "both", kImpl, "", "column.truncate.to.<n>.chars: character columns only (others refused); n counts UTF-16 units as Java", true},
    DebeziumProperty{"column.mask.", "both", kImpl, "", "column.mask.with.<n>.chars and column.mask.hash[.v2].<algorithm>.with.salt.<salt>: character columns only (others refused)", true},
    DebeziumProperty{"column.propagate.source.type", "both", kImpl, "", "regexes on schema.table.column (MySQL database.table.column), case-insensitive; Kafka sink with schemas; length/scale only where the type declares them (Debezium also gives JDBC display sizes, e.g. int4 10)"},
    DebeziumProperty{"datatype.propagate.source.type", "both", kImpl, "", "regexes on schema.table.<type name> (pg_type names such as int4, varchar; MySQL's such as BIGINT UNSIGNED), case-insensitive; as column.propagate.source.type"},
    DebeziumProperty{"converters", "both", kRef, "", "custom converters have no meaning in sluice"},
    DebeziumProperty{"post.processors", "both", kRef, "", kNotYet},
    // Value encodings.
    DebeziumProperty{"decimal.handling.mode", "both", kImpl, "precise,double,string", "Kafka sink; precise (Debezium's default) refuses NaN/Infinity, which it has no form for"},
    DebeziumProperty{"time.precision.mode", "both", kImpl, "adaptive,adaptive_time_microseconds,connect", "Kafka sink; connect refuses a value with sub-millisecond digits instead of dropping them"},
    DebeziumProperty{"binary.handling.mode", "both", kImpl, "bytes,base64,base64-url-safe,hex", "Kafka sink and Kafka source"},
    DebeziumProperty{"interval.handling.mode", "postgres", kImpl, "numeric,string", "Kafka sink; numeric is MicroDuration with 365.25/12-day months"},
    DebeziumProperty{"hstore.handling.mode", "postgres", kImpl, "json,map", "Kafka sink; json: an io.debezium.data.Json object string, map: a map<string,string>; the Kafka source reads both back to hstore text"},
    DebeziumProperty{"money.fraction.digits", "postgres", kImpl, "2", "Kafka sink: money is a decimal of scale 2 (PostgreSQL's C / en_US money); other digits are not implemented"},
    DebeziumProperty{"bigint.unsigned.handling.mode", "mysql", kImpl, "long,precise", "Kafka sink; long refuses a value above 2^63-1 (Debezium wraps it)"},
    DebeziumProperty{"include.unknown.datatypes", "postgres", kRef, "", "columns of unknown types are written as their text; not implemented yet"},
    DebeziumProperty{"unavailable.value.placeholder", "postgres", kImpl, "__debezium_unavailable_value", "other placeholders are not implemented yet"},
    DebeziumProperty{"schema.name.adjustment.mode", "both", kImpl, "none", "avro adjustment is not implemented yet"},
    DebeziumProperty{"field.name.adjustment.mode", "both", kImpl, "none", "avro adjustment is not implemented yet"},
    DebeziumProperty{"tombstones.on.delete", "both", kImpl, "true,false", "also sink.kafka.tombstones.on.delete"},
    // Topics.
    DebeziumProperty{"topic.naming.strategy", "both", kImpl, "io.debezium.schema.SchemaTopicNamingStrategy,io.debezium.schema.DefaultTopicNamingStrategy", "other strategies are not implemented; see sink.kafka.topic.format"},
    DebeziumProperty{"topic.delimiter", "both", kImpl, ".", "see sink.kafka.topic.format"},
    DebeziumProperty{"topic.cache.size", "both", kNone, "", "changes no output"},
    DebeziumProperty{"topic.heartbeat.prefix", "both", kImpl, "", "the Kafka sink's heartbeat topic is <topic.heartbeat.prefix>.<topic.prefix> (default __debezium-heartbeat)"},
    DebeziumProperty{"topic.transaction", "both", kImpl, "", "the Kafka sink's transaction metadata topic is <topic.prefix>.<topic.transaction> (default transaction)"},
    DebeziumProperty{"provide.transaction.metadata", "both", kImpl, "true,false", "the Kafka sink writes Debezium's BEGIN/END records and the envelope's transaction block (PostgreSQL, MySQL and MariaDB sources); refused (true) for the other sinks"},
    DebeziumProperty{"heartbeat.interval.ms", "both", kImpl, "", "the Kafka sink writes Debezium's heartbeat records ({\"serverName\"} / {\"ts_ms\"}), also while idle; database and file sinks have no heartbeat topic; the MySQL source also takes it as its binlog heartbeat period (1000 ms when unset or 0)"},
    DebeziumProperty{"heartbeat.action.query", "both", kImpl, "", "run on the source every heartbeat.interval.ms while streaming, on a connection of its own; needs heartbeat.interval.ms > 0"},
    // Snapshots.
    DebeziumProperty{"snapshot.mode", "both", kImpl, "", "initial, initial_only, never, no_data (alias schema_only), when_needed, always, recovery (MySQL; alias schema_only_recovery)"},
    DebeziumProperty{"snapshot.mode.custom.name", "both", kRef, "", "custom snapshotters have no meaning in sluice"},
    DebeziumProperty{"snapshot.mode.configuration.based.", "both", kRef, "", kNotYet, true},
    DebeziumProperty{"snapshot.locking.mode", "both", kNone, "", "sluice's snapshot is consistent without table locks (MySQL: see snapshot.max.threads)"},
    DebeziumProperty{"snapshot.locking.mode.custom.name", "both", kRef, "", "custom lockers have no meaning in sluice"},
    DebeziumProperty{"snapshot.query.mode", "both", kNone, "select_all", "other query modes are not implemented"},
    DebeziumProperty{"snapshot.query.mode.custom.name", "both", kRef, "", "custom query modes have no meaning in sluice"},
    DebeziumProperty{"snapshot.include.collection.list", "both", kImpl, "", "the captured tables the initial snapshot reads; the others are only streamed"},
    DebeziumProperty{"snapshot.select.statement.overrides", "both", kImpl, "", "with snapshot.select.statement.overrides.<schema.table>: the statement must return every captured column by name"},
    DebeziumProperty{"snapshot.lock.timeout.ms", "both", kNone, "", "sluice takes no table locks"},
    DebeziumProperty{"snapshot.delay.ms", "both", kNone, "", "changes no output"},
    DebeziumProperty{"streaming.delay.ms", "both", kNone, "", "changes no output"},
    DebeziumProperty{"snapshot.fetch.size", "both", kNone, "", "sluice streams snapshot rows (COPY, unbuffered results)"},
    DebeziumProperty{"query.fetch.size", "both", kNone, "", "changes no output"},
    DebeziumProperty{"snapshot.max.threads", "both", kImpl, "", ""},
    DebeziumProperty{"snapshot.tables.order.by.row.count", "both", kNone, "", "changes no output"},
    DebeziumProperty{"incremental.snapshot.chunk.size", "both", kNone, "", "implemented by both sources (their own key; MariaDB only among mysql servers)"},
    DebeziumProperty{"incremental.snapshot.watermarking.strategy", "both", kNone, "", "changes no output"},
    DebeziumProperty{"incremental.snapshot.allow.schema.changes", "mysql", kNone, "", "changes no output"},
    DebeziumProperty{"signal.data.collection", "both", kImpl, "", "execute-snapshot signals (incremental snapshots) from a captured table; nothing is written to it"},
    DebeziumProperty{"signal.enabled.channels", "both", kNone, "source", "signals are not implemented"},
    DebeziumProperty{"signal.kafka.", "both", kRef, "", "signals are not implemented", true},
    DebeziumProperty{"notification.enabled.channels", "both", kRef, "", "notifications are not implemented yet"},
    // Queue, polling, errors.
    DebeziumProperty{"max.batch.size", "both", kImpl, "", ""},
    DebeziumProperty{"max.queue.size", "both", kImpl, "", ""},
    DebeziumProperty{"max.queue.size.in.bytes", "both", kImpl, "", ""},
    DebeziumProperty{"poll.interval.ms", "both", kNone, "", "changes no output"},
    DebeziumProperty{"event.processing.failure.handling.mode", "both", kNone, "fail", "sluice never skips an event"},
    DebeziumProperty{"errors.max.retries", "both", kNone, "", "sluice retries for errors.retry.timeout"},
    DebeziumProperty{"retriable.restart.connector.wait.ms", "both", kNone, "", "sluice retries with backoff"},
    DebeziumProperty{"custom.metric.tags", "both", kNone, "", "changes no output"},
    // Kafka Connect keys found in connector configs.
    DebeziumProperty{"key.converter", "connect", kImpl, "org.apache.kafka.connect.json.JsonConverter", "sluice writes JSON only"},
    DebeziumProperty{"value.converter", "connect", kImpl, "org.apache.kafka.connect.json.JsonConverter", "sluice writes JSON only"},
    DebeziumProperty{"key.converter.schemas.enable", "connect", kImpl, "true,false", "must agree with value.converter.schemas.enable (sluice's default is false)"},
    DebeziumProperty{"value.converter.schemas.enable", "connect", kImpl, "true,false", "sluice's default is false; Kafka Connect's is true"},
    DebeziumProperty{"key.converter.", "connect", kRef, "", "other JsonConverter options are not implemented", true},
    DebeziumProperty{"value.converter.", "connect", kRef, "", "other JsonConverter options are not implemented", true},
    DebeziumProperty{"header.converter", "connect", kNone, "org.apache.kafka.connect.storage.SimpleHeaderConverter", "sluice writes no headers"},
    DebeziumProperty{"transforms", "connect", kRef, "", "implemented by the Kafka sink only: one transform, io.debezium.transforms.ExtractNewRecordState"},
    DebeziumProperty{"transforms.", "connect", kRef, "", "implemented by the Kafka sink only: ExtractNewRecordState's type, drop.tombstones, delete.handling.mode, add.fields, add.fields.prefix", true},
    DebeziumProperty{"predicates", "connect", kRef, "", "predicates are not implemented yet"},
    DebeziumProperty{"predicates.", "connect", kRef, "", "predicates are not implemented yet", true},
    DebeziumProperty{"errors.tolerance", "connect", kNone, "none", "sluice never skips a record"},
    DebeziumProperty{"errors.log.enable", "connect", kNone, "", "errors are always logged"},
    DebeziumProperty{"errors.log.include.messages", "connect", kNone, "", "changes no output"},
    DebeziumProperty{"errors.retry.delay.max.ms", "connect", kNone, "", "sluice retries with backoff"},
    DebeziumProperty{"offset.flush.interval.ms", "connect", kNone, "", "sluice commits after every flush"},
    DebeziumProperty{"offset.flush.timeout.ms", "connect", kNone, "", "sluice commits after every flush"},
    DebeziumProperty{"producer.override.", "connect", kRef, "", "use sink.kafka.<librdkafka property>", true},
    DebeziumProperty{"consumer.override.", "connect", kRef, "", "use kafka.consumer.<librdkafka property> (Kafka source)", true},
    DebeziumProperty{"topic.creation.", "connect", kRef, "", "topics are created by the broker's defaults; not implemented yet", true},
    DebeziumProperty{"exactly.once.support", "connect", kRef, "", "use sink.kafka.transactional.id"},
    DebeziumProperty{"transaction.boundary", "connect", kRef, "", "use sink.kafka.transactional.id"},
};

bool InValues(std::string_view values, std::string_view value) {
  for (const std::string& v : SplitConfigList(values)) {
    if (v == value) return true;
  }
  return false;
}

std::string ValuesText(std::string_view values) {
  std::string out;
  for (const std::string& v : SplitConfigList(values)) {
    if (!out.empty()) out += " or ";
    out += "'";
    out += v;
    out += "'";
  }
  return out;
}

}  // namespace

std::span<const DebeziumProperty> DebeziumProperties() { return kProperties; }

const DebeziumProperty* FindDebeziumProperty(std::string_view key) {
  const DebeziumProperty* best = nullptr;
  for (const auto& p : kProperties) {
    if (!p.is_prefix && p.name == key) return &p;
    if (p.is_prefix && key.starts_with(p.name) &&
        (best == nullptr || p.name.size() > best->name.size())) {
      best = &p;
    }
  }
  return best;
}

std::optional<std::string> DebeziumRefusal(const DebeziumProperty& property, std::string_view key,
                                           std::string_view value) {
  std::string k(key);
  if (property.support == DebeziumSupport::kRefused) {
    return "Debezium key '" + k + "' is refused: " + std::string(property.note) +
           " (sluice refuses what it would otherwise ignore, so that the output never differs "
           "silently)";
  }
  // An implemented key without values is checked by its module's ConfigDef.
  if (!property.values.empty() && !InValues(property.values, value)) {
    return k + " must be " + ValuesText(property.values) + " in sluice, got '" +
           std::string(value) + "': " + std::string(property.note);
  }
  return std::nullopt;
}

std::vector<ConfigIssue> DebeziumConfigIssues(const ConnectorConfig& config) {
  std::vector<ConfigIssue> out;
  // The value encodings shape the Kafka sink's envelopes; the file sink writes sluice's own
  // representation (core::kSluiceText), so only the values that describe it are accepted there.
  if (config.Get("sink.type") == "file") {
    for (auto [key, same] : {std::pair<std::string_view, std::string_view>{"decimal.handling.mode", "string"},
                             {"interval.handling.mode", "string"},
                             {"binary.handling.mode", "bytes"},
                             {"time.precision.mode", ""},
                             {"bigint.unsigned.handling.mode", ""},
                             {"hstore.handling.mode", ""},
                             {"money.fraction.digits", ""}}) {
      std::string value = config.Get(key);
      if (value.empty() || value == same) continue;
      out.push_back({std::string(key),
                     std::string(key) + "=" + value +
                         " applies to the Kafka sink; the file sink writes sluice's own value "
                         "representation (decimals and intervals as text, bytes as base64, every "
                         "time in microseconds): remove the key or use sink.type=kafka"});
    }
  }
  // The Kafka sink declares transforms.* (other sinks refuse them key by key): the chain and its
  // options are checked here.
  if (config.Get("sink.type") == "kafka") {
    std::optional<ConfigIssue> issue;
    NewRecordStateFromConfig(config, issue);
    if (issue) out.push_back(std::move(*issue));
  }
  // The envelope sinks declare skipped.operations (the catalogue accepts only none for the
  // others); its letters are checked here so that create, PUT and validate refuse a bad one.
  if ((config.Get("sink.type") == "kafka" || config.Get("sink.type") == "file") &&
      config.Has("skipped.operations")) {
    if (auto ops = SkippedOperationsFromConfig(config); !ops.ok()) {
      out.push_back({"skipped.operations", ops.status().message()});
    }
  }
  // Transaction metadata is written by the Kafka sink only (which checks the source).
  if (config.Get("sink.type") != "kafka" && config.Get("provide.transaction.metadata") == "true") {
    out.push_back({"provide.transaction.metadata",
                   "provide.transaction.metadata=true needs sink.type=kafka: the other sinks have "
                   "no transaction topic and write \"transaction\":null; remove the key or set it "
                   "to false"});
  }
  // One schemas setting covers key and value records.
  std::string key_schemas = config.Get("key.converter.schemas.enable");
  std::string value_schemas = config.Get("value.converter.schemas.enable");
  std::string own = config.Get("sink.kafka.schemas.enable");
  if (!key_schemas.empty() && !value_schemas.empty() && key_schemas != value_schemas) {
    out.push_back({"key.converter.schemas.enable",
                   "key.converter.schemas.enable=" + key_schemas +
                       " differs from value.converter.schemas.enable=" + value_schemas +
                       "; sluice writes keys and values with the same setting: make them equal"});
  }
  std::string converter = value_schemas.empty() ? key_schemas : value_schemas;
  if (!converter.empty() && !own.empty() && converter != own) {
    out.push_back({"sink.kafka.schemas.enable",
                   "sink.kafka.schemas.enable=" + own + " differs from the converter's schemas.enable=" +
                       converter + "; set one of them"});
  }
  return out;
}

std::string_view DebeziumSupportName(DebeziumSupport support) {
  switch (support) {
    case DebeziumSupport::kImplemented: return "implemented";
    case DebeziumSupport::kNoEffect: return "no effect";
    case DebeziumSupport::kRefused: return "refused";
  }
  return "refused";
}

}  // namespace sluice::core
