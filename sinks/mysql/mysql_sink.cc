#include "sinks/mysql/mysql_sink.h"

#include <algorithm>
#include <charconv>

namespace sluice::sinks {

std::vector<core::ConfigKey> MysqlSinkConfigKeys() {
  std::vector<core::ConfigKey> keys;
  keys.push_back(core::MakeConfigKey("sink.offsets.table", core::ConfigType::kString, "sluice_offsets",
                     "table in the target database that holds the source position, written in "
                     "the same transaction as the rows"));
  core::ConfigKey drop = core::MakeConfigKey("sink.columns.drop", core::ConfigType::kEnum, "keep",
                             "a column dropped at the source: keep (made nullable) or drop it in "
                             "the target");
  drop.allowed = {"keep", "drop"};
  keys.push_back(drop);
  core::ConfigKey numeric = core::MakeConfigKey("sink.mysql.numeric.unbounded", core::ConfigType::kEnum, "decimal",
                                "PostgreSQL numeric without precision: decimal (DECIMAL(65,30); a "
                                "value that does not fit fails the connector) or text (LONGTEXT, "
                                "every value kept, NaN included)");
  numeric.allowed = {"decimal", "text"};
  keys.push_back(numeric);
  core::ConfigKey stmt = core::MakeConfigKey("sink.mysql.statement.bytes", core::ConfigType::kInt, "4194304",
                             "largest multi-row statement sent (capped by max_allowed_packet)");
  stmt.min = 65536;
  stmt.max = 1 << 30;
  keys.push_back(stmt);
  return keys;
}

namespace mysql_sink {

core::Result<MysqlSinkOptions> MysqlSinkOptionsFromConfig(const core::ConnectorConfig& config) {
  MysqlSinkOptions o;
  if (!config.Has("sink.url")) {
    return core::InvalidArgumentError(
        "sink.url is required for sink.type=mysql (mysql://user:password@host:port/database)");
  }
  SLUICE_ASSIGN_OR_RETURN(o.url, ParseMysqlUrl(config.Get("sink.url")));
  o.connector_name = config.name().empty() ? config.Get("topic.prefix", "sluice") : config.name();
  o.offsets_table = config.Get("sink.offsets.table", "sluice_offsets");
  if (o.offsets_table.empty() || o.offsets_table.size() > 64) {
    return core::InvalidArgumentError("sink.offsets.table must be a table name of 1 to 64 characters");
  }
  o.table_name_format = config.Get("sink.table.name.format");
  std::string drop = config.Get("sink.columns.drop", "keep");
  if (drop == "drop") {
    o.drop_columns = DropColumns::kDrop;
  } else if (drop != "keep") {
    return core::InvalidArgumentError("sink.columns.drop must be keep or drop");
  }
  std::string numeric = config.Get("sink.mysql.numeric.unbounded", "decimal");
  if (numeric == "text") {
    o.types.unbounded_numeric = UnboundedNumeric::kText;
  } else if (numeric != "decimal") {
    return core::InvalidArgumentError("sink.mysql.numeric.unbounded must be decimal or text");
  }
  SLUICE_ASSIGN_OR_RETURN(int64_t stmt, config.GetInt("sink.mysql.statement.bytes", 4 << 20));
  o.max_statement_bytes = static_cast<size_t>(std::max<int64_t>(stmt, 65536));
  // A MySQL source's column types are MySQL's own: reuse them verbatim.
  o.types.reuse_source_type = config.connector_class() == "mysql";
  return o;
}

MysqlSink::MysqlSink(MysqlSinkOptions options, std::shared_ptr<spdlog::logger> logger)
    : options_(std::move(options)),
      logger_(std::move(logger)),
      catalog_(options_, client_, logger_),
      writer_(client_, catalog_) {}

MysqlSink::~MysqlSink() { Close(); }

core::Status MysqlSink::Connect() {
  SLUICE_RETURN_IF_ERROR(client_.Connect(options_.url));
  // Read committed: upserts and deletes take no gap locks, so concurrent writers of the target
  // rarely deadlock with the sink. Not with statement-based binary logging, which refuses it.
  SLUICE_ASSIGN_OR_RETURN(auto binlog, client_.Query("SELECT @@log_bin, @@binlog_format"));
  bool statement_binlog = !binlog.empty() && binlog[0].size() == 2 &&
                          binlog[0][0].value_or("0") == "1" &&
                          binlog[0][1].value_or("") == "STATEMENT";
  if (!statement_binlog) {
    SLUICE_RETURN_IF_ERROR(
        client_.Execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"));
  }
  if (!catalog_.has_collation()) {
    if (client_.is_mariadb()) {
      catalog_.SetCollation("utf8mb4_nopad_bin");  // byte order, trailing spaces significant
    } else if (!client_.server_version().empty() && client_.server_version()[0] >= '8') {
      catalog_.SetCollation("utf8mb4_0900_bin");
    } else {
      catalog_.SetCollation("utf8mb4_bin");
    }
    SLUICE_ASSIGN_OR_RETURN(auto rows, client_.Query("SELECT @@max_allowed_packet"));
    if (!rows.empty() && rows[0][0]) {
      size_t packet = 0;
      const std::string& v = *rows[0][0];
      std::from_chars(v.data(), v.data() + v.size(), packet);
      if (packet > 0) {
        max_packet_bytes_ = packet;
        options_.max_statement_bytes = std::min(options_.max_statement_bytes, packet / 2);
      }
    }
    client_.Rollback();
  }
  writer_.SetLimits(options_.max_statement_bytes, max_packet_bytes_);
  return core::Status::Ok();
}

core::Status MysqlSink::Open() {
  SLUICE_RETURN_IF_ERROR(Connect());
  return catalog_.EnsureDatabase();
}

core::Result<std::optional<std::string>> MysqlSink::StoredPosition() {
  auto rows = client_.Query("SELECT position FROM " + catalog_.offsets_qualified() + " WHERE connector = " +
                            QuoteString(options_.connector_name, client_.escaper()));
  client_.Rollback();  // end the read's transaction
  if (!rows.ok()) return rows.status().WithContext("reading " + catalog_.offsets_qualified());
  if (rows->empty() || !(*rows)[0][0] || (*rows)[0][0]->empty()) {
    return std::optional<std::string>();
  }
  return std::optional<std::string>(*(*rows)[0][0]);
}

core::Result<std::optional<core::SourcePosition>> MysqlSink::LoadCommittedPosition() {
  SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> stored, StoredPosition());
  if (!stored) return std::optional<core::SourcePosition>();
  std::optional<core::SourcePosition> position(core::SourcePosition{std::move(*stored)});
  commit_.Committed(position);
  return position;
}

core::Status MysqlSink::Write(const core::EventBatch& batch) {
  if (!client_.connected()) return core::UnavailableError("mysql sink: not connected; reset");
  if (commit_.replaying()) {
    if (!batch.checkpoint().empty()) pending_checkpoint_ = batch.checkpoint();
    return core::Status::Ok();
  }
  in_transaction_ = true;
  SLUICE_RETURN_IF_ERROR(writer_.Apply(batch));
  if (!batch.checkpoint().empty()) pending_checkpoint_ = batch.checkpoint();
  return core::Status::Ok();
}

core::Result<std::optional<core::SourcePosition>> MysqlSink::Flush() {
  if (!client_.connected()) return core::UnavailableError("mysql sink: not connected; reset");
  if (commit_.replaying()) {
    commit_.Committed(pending_checkpoint_);
    std::optional<core::SourcePosition> out = std::move(pending_checkpoint_);
    pending_checkpoint_.reset();
    return out;
  }
  if (core::Status s = writer_.Finish(); !s.ok()) {
    writer_.Discard();
    return s;
  }
  if (pending_checkpoint_) {
    core::Status s = client_.Execute(
        "INSERT INTO " + catalog_.offsets_qualified() + " (connector, position, updated_at) VALUES (" +
        QuoteString(options_.connector_name, client_.escaper()) + "," + QuoteString(pending_checkpoint_->value, client_.escaper()) +
        ",UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE position=VALUES(position),"
        " updated_at=VALUES(updated_at)");
    if (!s.ok()) return s.WithContext("writing the position to " + catalog_.offsets_qualified());
  }
  if (in_transaction_) {
    if (core::Status s = client_.Commit(); !s.ok()) {
      commit_.Failed(pending_checkpoint_);
      return s;
    }
  }
  commit_.Committed(pending_checkpoint_);
  in_transaction_ = false;
  catalog_.ClearTouched();
  std::optional<core::SourcePosition> out = std::move(pending_checkpoint_);
  pending_checkpoint_.reset();
  return out;
}

void MysqlSink::ReplaceSnapshotTables() { catalog_.ReplaceExistingTables(); }

core::Status MysqlSink::Reset() {
  writer_.Discard();
  pending_checkpoint_.reset();
  in_transaction_ = false;
  client_.Rollback();
  client_.Close();
  // A DDL statement may have completed on the server while its reply was lost: read the target
  // tables again before the next change.
  catalog_.Invalidate();
  SLUICE_RETURN_IF_ERROR(Open());
  // The connection broke during a commit: if the target holds its checkpoint, it went through,
  // and the batches the pipeline writes again must not be applied twice.
  SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> went_through,
                          commit_.SettleAfterReconnect([this] { return StoredPosition(); }));
  if (went_through && logger_) {
    logger_->info("mysql sink: the commit at {} went through before its connection was lost; "
                  "not applying it again", *went_through);
  }
  return core::Status::Ok();
}

core::Status MysqlSink::Check() {
  SLUICE_RETURN_IF_ERROR(Connect());
  auto rows = client_.Query("SELECT 1");
  client_.Rollback();
  client_.Close();
  if (!rows.ok()) return rows.status();
  return core::Status::Ok();
}

void MysqlSink::Close() {
  writer_.Discard();  // ends a load still open: its thread uses the connection
  if (client_.connected()) client_.Rollback();
  client_.Close();
  catalog_.Close();
}

}  // namespace mysql_sink

core::Result<std::unique_ptr<core::Sink>> MakeMysqlSink(const core::ConnectorContext& context) {
  SLUICE_ASSIGN_OR_RETURN(mysql_sink::MysqlSinkOptions options,
                          mysql_sink::MysqlSinkOptionsFromConfig(context.config));
  return std::unique_ptr<core::Sink>(new mysql_sink::MysqlSink(std::move(options), context.logger));
}

}  // namespace sluice::sinks
