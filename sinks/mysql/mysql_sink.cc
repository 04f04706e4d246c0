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
    : options_(std::move(options)), logger_(std::move(logger)) {}

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
  if (collation_.empty()) {
    if (client_.is_mariadb()) {
      collation_ = "utf8mb4_nopad_bin";  // byte order, trailing spaces significant, as PostgreSQL
    } else if (!client_.server_version().empty() && client_.server_version()[0] >= '8') {
      collation_ = "utf8mb4_0900_bin";
    } else {
      collation_ = "utf8mb4_bin";
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
  return core::Status::Ok();
}

core::Status MysqlSink::EnsureDatabase() {
  const std::string& db = options_.url.database;
  SLUICE_RETURN_IF_ERROR(ExecuteDdl("CREATE DATABASE IF NOT EXISTS " + QuoteIdentifier(db) +
                                        " CHARACTER SET utf8mb4 COLLATE " + collation_,
                                    "creating database " + QuoteIdentifier(db)));
  offsets_qualified_ = QuoteIdentifier(db) + "." + QuoteIdentifier(options_.offsets_table);
  return ExecuteDdl("CREATE TABLE IF NOT EXISTS " + offsets_qualified_ +
                        " (connector VARCHAR(255) NOT NULL PRIMARY KEY, position LONGTEXT NOT NULL,"
                        " updated_at DATETIME(6) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
                        " COLLATE=" + collation_,
                    "creating offsets table " + offsets_qualified_);
}

core::Status MysqlSink::ExecuteDdl(const std::string& sql, const std::string& what,
                                   const TargetTable* target) {
  // DDL commits the open transaction implicitly. For a table this transaction has not written,
  // run it on a second connection so the rows written so far stay uncommitted until Flush()
  // commits them together with their checkpoint. (A table already written holds a metadata lock
  // that DDL on another connection would wait for: that DDL runs here and commits early, which
  // a replay makes harmless.)
  MysqlClient* client = &client_;
  if (target != nullptr && !target->touched) {
    if (!ddl_client_.connected()) {
      core::Status c = ddl_client_.Connect(options_.url);
      if (!c.ok()) return c.WithContext(what);
    }
    client = &ddl_client_;
  }
  core::Status s = client->Execute(sql);
  if (client == &ddl_client_) ddl_client_.Rollback();
  if (!s.ok()) return s.WithContext(what);
  // Table DDL is worth a line in the log; the IF NOT EXISTS set-up of Open() is not.
  if (logger_ && !what.starts_with("creating database") && !what.starts_with("creating offsets")) {
    logger_->info("mysql sink: {}", what);
  }
  return core::Status::Ok();
}

core::Status MysqlSink::Open() {
  SLUICE_RETURN_IF_ERROR(Connect());
  return EnsureDatabase();
}

core::Result<std::optional<std::string>> MysqlSink::StoredPosition() {
  auto rows = client_.Query("SELECT position FROM " + offsets_qualified_ + " WHERE connector = " +
                            QuoteString(options_.connector_name, client_.escaper()));
  client_.Rollback();  // end the read's transaction
  if (!rows.ok()) return rows.status().WithContext("reading " + offsets_qualified_);
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

core::Status MysqlSink::LoadTargetColumns(TargetTable& target) {
  auto rows = client_.Query(
      "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS WHERE "
      "TABLE_SCHEMA = " + QuoteString(options_.url.database, client_.escaper()) + " AND TABLE_NAME = " +
      QuoteString(target.name, client_.escaper()));
  if (!rows.ok()) return rows.status().WithContext("reading the columns of " + target.name);
  target.columns.clear();
  for (const MysqlRow& r : *rows) {
    if (r.size() < 3 || !r[0]) continue;
    target.columns[*r[0]] = {r[1].value_or(""), r[2].value_or("YES") == "YES"};
  }
  target.loaded = true;
  return core::Status::Ok();
}

core::Status MysqlSink::ApplySchema(const core::EventBatch& batch, TargetTable& target,
                                    const core::TableSchemaPtr& schema) {
  (void)batch;
  const std::string qualified = QuoteIdentifier(options_.url.database) + "." +
                                QuoteIdentifier(target.name);
  for (const core::Column& c : schema->columns) {
    if (const char* why = IdentifierProblem(c.name)) {
      return core::FailedPreconditionError(
          "mysql sink: column '" + c.name + "' of " + schema->id.ToString() + " " + why +
          "; leave the column out with column.exclude.list (" + schema->id.ToString() + "." +
          c.name + ") or the table with table.exclude.list");
    }
  }
  if (!target.loaded) SLUICE_RETURN_IF_ERROR(LoadTargetColumns(target));
  if (target.columns.empty()) {
    // DDL commits implicitly: rows applied so far in this transaction become durable without the
    // checkpoint, which is harmless because applying them again is idempotent.
    SLUICE_RETURN_IF_ERROR(ExecuteDdl(CreateTableSql(options_.url.database, target.name, *schema,
                                                     options_.types, collation_),
                                      "creating table " + qualified, &target));
    SLUICE_RETURN_IF_ERROR(LoadTargetColumns(target));
    target.applied = schema;
    return core::Status::Ok();
  }
  // The first schema of an existing table in this session: types and key may have changed at
  // the source while the connector was down (or killed between a change and its DDL here).
  if (!target.applied) SLUICE_RETURN_IF_ERROR(ReconcileTypesAndKey(target, *schema));
  for (size_t i = 0; i < schema->columns.size(); ++i) {
    const std::string& name = schema->columns[i].name;
    if (target.columns.count(name)) continue;
    // Added at the source: nullable at the target, since existing rows have no value for it.
    SLUICE_RETURN_IF_ERROR(ExecuteDdl(
        "ALTER TABLE " + qualified + " ADD COLUMN " +
            ColumnDefinition(*schema, i, options_.types, /*force_nullable=*/true),
        "adding column " + QuoteIdentifier(name) + " to " + qualified, &target));
    target.columns[name] = {"", true};
  }
  std::vector<std::string> gone;
  for (const auto& [name, column] : target.columns) {
    if (schema->FindColumn(name) < 0) gone.push_back(name);
  }
  bool newer = !target.applied || schema->version > target.applied->version;
  for (const std::string& name : gone) {
    TargetTable::Column& column = target.columns[name];
    // Only a drop seen as a transition to a newer version drops data: an older schema replayed
    // after a restart must not remove a column added since.
    bool was_in_previous = target.applied && target.applied->FindColumn(name) >= 0;
    if (options_.drop_columns == DropColumns::kDrop && newer && was_in_previous) {
      SLUICE_RETURN_IF_ERROR(ExecuteDdl("ALTER TABLE " + qualified + " DROP COLUMN " +
                                            QuoteIdentifier(name),
                                        "dropping column " + QuoteIdentifier(name) + " of " +
                                            qualified, &target));
      target.columns.erase(name);
    } else if (!column.nullable && !column.type.empty()) {
      // Kept: new rows have no value for it, so it must accept NULL.
      SLUICE_RETURN_IF_ERROR(ExecuteDdl("ALTER TABLE " + qualified + " MODIFY COLUMN " +
                                            QuoteIdentifier(name) + " " + column.type + " NULL",
                                        "making kept column " + QuoteIdentifier(name) + " of " +
                                            qualified + " nullable", &target));
      column.nullable = true;
    }
  }
  if (newer && target.applied) SLUICE_RETURN_IF_ERROR(ApplyTypeAndKeyChanges(target, *schema));
  if (newer) target.applied = schema;
  return core::Status::Ok();
}

namespace {

bool SameColumnType(const core::Column& a, const core::Column& b) {
  return a.type == b.type && a.source_type == b.source_type && a.length == b.length &&
         a.precision == b.precision && a.scale == b.scale && a.is_unsigned == b.is_unsigned &&
         a.enum_values == b.enum_values;
}

std::vector<std::string> KeyNames(const core::TableSchema& schema) {
  std::vector<std::string> names;
  for (uint32_t k : schema.key) names.push_back(schema.columns[k].name);
  return names;
}

}  // namespace

// A column whose type changed between the schema applied last and `schema` is modified in
// place (MODIFY COLUMN with the newly mapped type), and a changed primary key is replaced. Seen
// as transitions of the source schema (at start-up ReconcileTypesAndKey compares with the
// target's catalog instead). DDL commits implicitly in MySQL: the rows applied so far in this
// transaction become durable without their checkpoint, which is harmless (replays are idempotent).
core::Status MysqlSink::ApplyTypeAndKeyChanges(TargetTable& target, const core::TableSchema& schema) {
  const core::TableSchema& before = *target.applied;
  const std::string qualified = QuoteIdentifier(options_.url.database) + "." +
                                QuoteIdentifier(target.name);
  for (size_t i = 0; i < schema.columns.size(); ++i) {
    const core::Column& c = schema.columns[i];
    int old = before.FindColumn(c.name);
    if (old < 0 || SameColumnType(before.columns[static_cast<size_t>(old)], c)) continue;
    core::Status s = ExecuteDdl(ModifyColumnSql(qualified, schema, i, options_.types),
                                "changing the type of column " + QuoteIdentifier(c.name) + " of " +
                                    qualified + " to " + c.source_type, &target);
    if (!s.ok()) {
      return core::FailedPreconditionError(
          s.message() + "; change the target column by hand (ALTER TABLE … MODIFY COLUMN …) and "
          "restart the connector");
    }
  }
  std::vector<std::string> old_key = KeyNames(before), new_key = KeyNames(schema);
  if (old_key == new_key || new_key.empty()) return core::Status::Ok();
  // The new key's columns are redefined as key columns (NOT NULL; text types get the key's
  // character length) in the same statement.
  std::string sql = ReplacePrimaryKeySql(qualified, schema, options_.types, !old_key.empty());
  core::Status s = ExecuteDdl(sql, "changing the primary key of " + qualified, &target);
  if (!s.ok()) {
    return core::FailedPreconditionError(
        s.message() + "; fix the target table's primary key by hand and restart the connector");
  }
  return LoadTargetColumns(target);
}

// Compares an existing table with the first source schema seen for it in this session. The
// wanted column types are resolved by the server itself: a temporary table created with the
// same definitions and read back with SHOW COLUMNS gives COLUMN_TYPE texts comparable with the
// target's (int(11), longtext for JSON, ...), so spellings never look like a change. Columns
// that differ are modified and a different primary key replaced, as ApplyTypeAndKeyChanges does.
core::Status MysqlSink::ReconcileTypesAndKey(TargetTable& target, const core::TableSchema& schema) {
  const std::string& db = options_.url.database;
  const std::string qualified = QuoteIdentifier(db) + "." + QuoteIdentifier(target.name);
  const std::string probe = QuoteIdentifier(db) + ".`sluice_type_probe`";
  const std::string create = CreateTableSql(db, "sluice_type_probe", schema, options_.types, collation_);
  const std::string prefix = "CREATE TABLE IF NOT EXISTS ";
  if (create.rfind(prefix, 0) != 0) return core::InternalError("mysql sink: unexpected DDL " + create);
  // CREATE / DROP TEMPORARY TABLE do not commit the open transaction.
  SLUICE_RETURN_IF_ERROR(client_.Execute("DROP TEMPORARY TABLE IF EXISTS " + probe));
  core::Status made = client_.Execute("CREATE TEMPORARY TABLE " + create.substr(prefix.size()));
  if (!made.ok()) return made.WithContext("mysql sink: resolving the column types of " + qualified);
  auto wanted = client_.Query("SHOW COLUMNS FROM " + probe);
  SLUICE_RETURN_IF_ERROR(client_.Execute("DROP TEMPORARY TABLE IF EXISTS " + probe));
  if (!wanted.ok()) return wanted.status().WithContext("mysql sink: column types of " + qualified);
  bool changed = false;
  for (const MysqlRow& r : *wanted) {
    if (r.size() < 2 || !r[0] || !r[1]) continue;
    auto have = target.columns.find(*r[0]);
    int index = schema.FindColumn(*r[0]);
    if (have == target.columns.end() || index < 0 || have->second.type == *r[1]) continue;
    core::Status s = ExecuteDdl(ModifyColumnSql(qualified, schema, static_cast<size_t>(index),
                                                options_.types),
                                "changing the type of column " + QuoteIdentifier(*r[0]) + " of " +
                                    qualified + " from " + have->second.type + " to " + *r[1],
                                &target);
    if (!s.ok()) {
      return core::FailedPreconditionError(
          s.message() + "; change the target column by hand (ALTER TABLE … MODIFY COLUMN …) and "
          "restart the connector");
    }
    changed = true;
  }
  std::vector<std::string> want_key = KeyNames(schema);
  if (!want_key.empty()) {
    auto key = client_.Query(
        "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = " +
        QuoteString(db, client_.escaper()) + " AND TABLE_NAME = " + QuoteString(target.name, client_.escaper()) +
        " AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION");
    if (!key.ok()) return key.status().WithContext("mysql sink: primary key of " + qualified);
    std::vector<std::string> have_key;
    for (const MysqlRow& r : *key) {
      if (!r.empty() && r[0]) have_key.push_back(*r[0]);
    }
    if (have_key != want_key) {
      core::Status s = ExecuteDdl(ReplacePrimaryKeySql(qualified, schema, options_.types,
                                                       !have_key.empty()),
                                  "changing the primary key of " + qualified, &target);
      if (!s.ok()) {
        return core::FailedPreconditionError(
            s.message() + "; fix the target table's primary key by hand and restart the connector");
      }
      changed = true;
    }
  }
  return changed ? LoadTargetColumns(target) : core::Status::Ok();
}

core::Result<const TablePlan*> MysqlSink::PlanFor(const core::EventBatch& batch,
                                                  const core::TableSchemaPtr& schema) {
  if (schema.get() == last_schema_) return last_plan_;
  auto it = targets_.find(schema->id);
  if (it == targets_.end()) {
    TargetTable t;
    t.name = TargetTableName(options_.table_name_format, schema->id);
    if (const char* why = IdentifierProblem(t.name)) {
      return core::FailedPreconditionError(
          "mysql sink: target table name '" + t.name + "' for " + schema->id.ToString() + " " +
          why + "; name the target with sink.table.name.format or leave the table out with "
          "table.exclude.list");
    }
    it = targets_.emplace(schema->id, std::move(t)).first;
  }
  TargetTable& target = it->second;
  auto plan = target.plans.find(schema.get());
  if (plan != target.plans.end()) {
    last_schema_ = schema.get();
    last_plan_ = plan->second.get();
    last_target_ = &target;
    return last_plan_;
  }
  last_schema_ = nullptr;
  last_plan_ = nullptr;
  // A schema not seen yet: finish the statement in progress before any DDL.
  SLUICE_RETURN_IF_ERROR(ExecutePending(batch));
  SLUICE_RETURN_IF_ERROR(ApplySchema(batch, target, schema));
  if (target.plans.size() >= 8) target.plans.clear();
  auto built = std::make_unique<TablePlan>(
      BuildTablePlan(schema, options_.url.database, target.name, options_.types));
  const TablePlan* out = built.get();
  target.plans.emplace(schema.get(), std::move(built));
  last_schema_ = schema.get();
  last_plan_ = out;
  last_target_ = &target;
  return out;
}

core::Status MysqlSink::ValueFailure(const TablePlan& plan, const core::RowView& row,
                                     ValueError error) {
  const core::TableSchema& schema = *plan.schema;
  std::string column = error.column < schema.columns.size() ? schema.columns[error.column].name : "?";
  return core::FailedPreconditionError(
      "mysql sink: table " + plan.qualified + " key (" + DescribeKey(schema, row) + ") column " +
      QuoteIdentifier(column) + ": " + error.reason);
}

core::Status MysqlSink::ExecuteStatement(const std::string& sql, const core::EventBatch& batch,
                                         const TablePlan& plan, const std::vector<uint32_t>& rows) {
  core::Status s = client_.Execute(sql);
  if (s.ok()) return s;
  int code = client_.last_error_code();
  if (mysql::ClassifyMysqlErrorKind(static_cast<unsigned int>(code)) != mysql::MysqlErrorKind::kData ||
      rows.empty()) {
    return s.WithContext("table " + plan.qualified);
  }
  // Name the row: MySQL says "... at row N" (1-based within the statement) for most data errors.
  const std::string& message = client_.last_error_message();
  size_t row_in_statement = 0;
  if (size_t at = message.rfind("at row "); at != std::string::npos) {
    std::from_chars(message.data() + at + 7, message.data() + message.size(), row_in_statement);
  }
  std::string where;
  uint32_t row = rows[0];
  std::string reason = message;
  if (row_in_statement >= 1 && row_in_statement <= rows.size()) {
    row = rows[row_in_statement - 1];
  } else if (rows.size() > 1 && sql.starts_with(plan.insert_prefix)) {
    // No row number (e.g. a CHECK constraint): find the row by trying them one at a time. The
    // transaction is failing anyway; rows applied here are rolled back with it.
    bool found = false;
    std::string single;
    for (uint32_t candidate : rows) {
      single = plan.insert_prefix;
      AppendRowValues(single, plan, batch.row(candidate), client_.escaper());
      single += plan.upsert_suffix;
      if (!client_.Execute(single).ok()) {
        row = candidate;
        code = client_.last_error_code();
        reason = client_.last_error_message();
        found = true;
        break;
      }
    }
    if (!found) {
      where = " (in a statement of " + std::to_string(rows.size()) + " rows starting at this key)";
    }
  }
  return core::FailedPreconditionError(
      "mysql sink: table " + plan.qualified + " key (" + DescribeKey(*plan.schema, batch.row(row)) +
      ")" + where + ": " + reason + " (mysql error " + std::to_string(code) +
      "); the target rejects the value: widen the target column or fix the source row");
}

core::Status MysqlSink::ExecutePending(const core::EventBatch& batch) {
  if (pending_ == Pending::kNone) return core::Status::Ok();
  const TablePlan& plan = *pending_plan_;
  if (pending_ == Pending::kUpsert) {
    sql_ += plan.upsert_suffix;
  } else if (plan.schema->key.size() == 1) {
    sql_ += ')';
  }
  pending_ = Pending::kNone;
  pending_plan_ = nullptr;
  core::Status s = ExecuteStatement(sql_, batch, plan, sql_rows_);
  sql_.clear();
  sql_rows_.clear();
  return s;
}

core::Status MysqlSink::AddUpsert(const core::EventBatch& batch, const TablePlan& plan,
                                  uint32_t row) {
  bool continues = pending_ == Pending::kUpsert && pending_plan_ == &plan &&
                   sql_.size() < options_.max_statement_bytes;
  if (!continues) {
    SLUICE_RETURN_IF_ERROR(ExecutePending(batch));
    sql_ = plan.insert_prefix;
    pending_ = Pending::kUpsert;
    pending_plan_ = &plan;
  }
  size_t before = sql_.size();
  if (continues) sql_ += ',';
  core::RowView view = batch.row(row);
  ValueError e = AppendRowValues(sql_, plan, view, client_.escaper());
  if (!e.ok()) return ValueFailure(plan, view, e);
  // Keep every statement under max_allowed_packet: a large row starts a statement of its own.
  const size_t hard_limit = max_packet_bytes_ - plan.upsert_suffix.size() - 1024;
  if (sql_.size() > hard_limit) {
    if (!continues) {
      return core::FailedPreconditionError(
          "mysql sink: table " + plan.qualified + " key (" + DescribeKey(*plan.schema, view) +
          "): the row needs a statement of " + std::to_string(sql_.size()) +
          " bytes, more than the server's max_allowed_packet (" +
          std::to_string(max_packet_bytes_) + "); raise max_allowed_packet on the target");
    }
    sql_.resize(before);
    SLUICE_RETURN_IF_ERROR(ExecutePending(batch));
    return AddUpsert(batch, plan, row);
  }
  sql_rows_.push_back(row);
  return core::Status::Ok();
}

core::Status MysqlSink::AddDelete(const core::EventBatch& batch, const TablePlan& plan,
                                  uint32_t row) {
  core::RowView view = batch.row(row);
  const core::TableSchema& schema = *plan.schema;
  if (!schema.HasKey()) {
    // No key: delete one row equal to the full before image.
    SLUICE_RETURN_IF_ERROR(ExecutePending(batch));
    scratch_ = "DELETE FROM " + plan.qualified + " WHERE ";
    ValueError e = AppendKeyPredicate(scratch_, plan, view, client_.escaper());
    if (!e.ok()) return ValueFailure(plan, view, e);
    scratch_ += " LIMIT 1";
    return ExecuteStatement(scratch_, batch, plan, {row});
  }
  bool single = schema.key.size() == 1;
  if (pending_ != Pending::kDelete || pending_plan_ != &plan ||
      sql_.size() >= options_.max_statement_bytes) {
    SLUICE_RETURN_IF_ERROR(ExecutePending(batch));
    sql_ = "DELETE FROM " + plan.qualified + " WHERE ";
    if (single) sql_ += plan.quoted[schema.key[0]] + " IN (";
    pending_ = Pending::kDelete;
    pending_plan_ = &plan;
  } else {
    sql_ += single ? "," : " OR ";
  }
  ValueError e;
  if (single) {
    uint32_t k = schema.key[0];
    if (view.is_present(k)) {
      e = {k, AppendLiteral(sql_, plan.kinds[k], view.text(k), client_.escaper())};
    } else {
      sql_ += "NULL";
    }
  } else {
    sql_ += '(';
    e = AppendKeyPredicate(sql_, plan, view, client_.escaper());
    sql_ += ')';
  }
  if (!e.ok()) return ValueFailure(plan, view, e);
  sql_rows_.push_back(row);
  return core::Status::Ok();
}

core::Status MysqlSink::RunUpdate(const core::EventBatch& batch, const TablePlan& plan,
                                  uint32_t row, uint32_t key_row, bool set_key) {
  SLUICE_RETURN_IF_ERROR(ExecutePending(batch));
  core::RowView view = batch.row(row);
  ValueError e = BuildUpdateStatement(scratch_, plan, view, batch.row(key_row), set_key, client_.escaper());
  if (!e.ok()) return ValueFailure(plan, view, e);
  if (scratch_.empty()) return core::Status::Ok();
  return ExecuteStatement(scratch_, batch, plan, {row});
}

core::Status MysqlSink::ApplyEvent(const core::EventBatch& batch, const core::ChangeEvent& event) {
  if (!event.table) return core::InvalidArgumentError("mysql sink: event without a table schema");
  SLUICE_ASSIGN_OR_RETURN(const TablePlan* plan, PlanFor(batch, event.table));
  if (last_target_ != nullptr && !last_target_->touched) {
    last_target_->touched = true;
    touched_.push_back(last_target_);
  }
  const core::TableSchema& schema = *event.table;
  switch (event.op) {
    case core::Op::kRead:
    case core::Op::kCreate:
      if (event.after == core::kNoRow) return core::Status::Ok();
      return AddUpsert(batch, *plan, event.after);
    case core::Op::kUpdate: {
      if (event.after == core::kNoRow) return core::Status::Ok();
      core::RowView after = batch.row(event.after);
      bool unchanged = false;
      for (uint32_t i = 0; i < after.size(); ++i) unchanged |= after.is_unchanged(i);
      bool key_changed = schema.HasKey() && event.before != core::kNoRow &&
                         !SameKey(schema, batch.row(event.before), after);
      if (!schema.HasKey()) {
        // Keyless: update the row equal to the full before image when there is one.
        if (event.before == core::kNoRow) return AddUpsert(batch, *plan, event.after);
        return RunUpdate(batch, *plan, event.after, event.before, /*set_key=*/true);
      }
      if (unchanged) {
        return RunUpdate(batch, *plan, event.after, key_changed ? event.before : event.after,
                         key_changed);
      }
      if (key_changed) SLUICE_RETURN_IF_ERROR(AddDelete(batch, *plan, event.before));
      return AddUpsert(batch, *plan, event.after);
    }
    case core::Op::kDelete: {
      uint32_t row = event.before != core::kNoRow ? event.before : event.after;
      if (row == core::kNoRow) return core::Status::Ok();
      return AddDelete(batch, *plan, row);
    }
    case core::Op::kTruncate: {
      SLUICE_RETURN_IF_ERROR(ExecutePending(batch));
      // DELETE, not TRUNCATE: TRUNCATE commits implicitly and would break the batch's atomicity.
      return ExecuteStatement("DELETE FROM " + plan->qualified, batch, *plan, {});
    }
  }
  return core::Status::Ok();
}

core::Status MysqlSink::Write(const core::EventBatch& batch) {
  if (!client_.connected()) return core::UnavailableError("mysql sink: not connected; reset");
  if (commit_.replaying()) {
    if (!batch.checkpoint().empty()) pending_checkpoint_ = batch.checkpoint();
    return core::Status::Ok();
  }
  in_transaction_ = true;
  core::Status s;
  // Announced tables (a snapshot's, even empty ones) are created or brought up to date first.
  for (const core::TableSchemaPtr& table : batch.announced_tables()) {
    auto plan = PlanFor(batch, table);
    if (!plan.ok()) return plan.status();
  }
  const std::vector<core::ChangeEvent>& events = batch.events();
  // Events are applied table by table, in order within each table: per-key order is kept and
  // interleaved transactions still become a few multi-row statements. The whole batch commits
  // at once, so the order between tables is not observable.
  group_tables_.clear();
  event_group_.resize(events.size());
  const core::TableSchema* last = nullptr;
  uint32_t last_group = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    const core::TableSchema* t = events[i].table.get();
    if (t != last && t != nullptr) {
      last = t;
      last_group = 0;
      while (last_group < group_tables_.size() && !(group_tables_[last_group]->id == t->id)) {
        ++last_group;
      }
      if (last_group == group_tables_.size()) group_tables_.push_back(t);
    }
    event_group_[i] = last_group;
  }
  if (group_tables_.size() <= 1) {
    for (const core::ChangeEvent& event : events) {
      s = ApplyEvent(batch, event);
      if (!s.ok()) break;
    }
  } else {
    group_start_.assign(group_tables_.size() + 1, 0);
    for (uint32_t g : event_group_) ++group_start_[g + 1];
    for (size_t g = 1; g < group_start_.size(); ++g) group_start_[g] += group_start_[g - 1];
    order_.resize(events.size());
    for (size_t i = 0; i < events.size(); ++i) {
      order_[group_start_[event_group_[i]]++] = static_cast<uint32_t>(i);
    }
    for (uint32_t i : order_) {
      s = ApplyEvent(batch, events[i]);
      if (!s.ok()) break;
    }
  }
  if (s.ok()) s = ExecutePending(batch);
  if (!s.ok()) {
    pending_ = Pending::kNone;
    pending_plan_ = nullptr;
    sql_.clear();
    sql_rows_.clear();
    return s;
  }
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
  if (pending_checkpoint_) {
    core::Status s = client_.Execute(
        "INSERT INTO " + offsets_qualified_ + " (connector, position, updated_at) VALUES (" +
        QuoteString(options_.connector_name, client_.escaper()) + "," + QuoteString(pending_checkpoint_->value, client_.escaper()) +
        ",UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE position=VALUES(position),"
        " updated_at=VALUES(updated_at)");
    if (!s.ok()) return s.WithContext("writing the position to " + offsets_qualified_);
  }
  if (in_transaction_) {
    if (core::Status s = client_.Commit(); !s.ok()) {
      commit_.Failed(pending_checkpoint_);
      return s;
    }
  }
  commit_.Committed(pending_checkpoint_);
  in_transaction_ = false;
  ClearTouched();
  std::optional<core::SourcePosition> out = std::move(pending_checkpoint_);
  pending_checkpoint_.reset();
  return out;
}

core::Status MysqlSink::Reset() {
  pending_ = Pending::kNone;
  pending_plan_ = nullptr;
  sql_.clear();
  sql_rows_.clear();
  pending_checkpoint_.reset();
  in_transaction_ = false;
  ClearTouched();
  client_.Rollback();
  client_.Close();
  ddl_client_.Close();
  // A DDL statement may have completed on the server while its reply was lost: read the target
  // tables again before the next change.
  for (auto& [id, target] : targets_) {
    target.loaded = false;
    target.plans.clear();
  }
  last_schema_ = nullptr;
  last_plan_ = nullptr;
  last_target_ = nullptr;
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

void MysqlSink::ClearTouched() {
  for (TargetTable* t : touched_) t->touched = false;
  touched_.clear();
}

void MysqlSink::Close() {
  if (client_.connected()) client_.Rollback();
  client_.Close();
  ddl_client_.Close();
}

}  // namespace mysql_sink

core::Result<std::unique_ptr<core::Sink>> MakeMysqlSink(const core::ConnectorContext& context) {
  SLUICE_ASSIGN_OR_RETURN(mysql_sink::MysqlSinkOptions options,
                          mysql_sink::MysqlSinkOptionsFromConfig(context.config));
  return std::unique_ptr<core::Sink>(new mysql_sink::MysqlSink(std::move(options), context.logger));
}

}  // namespace sluice::sinks
