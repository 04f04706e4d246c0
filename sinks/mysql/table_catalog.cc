#include "sinks/mysql/table_catalog.h"

namespace sluice::sinks::mysql_sink {

TableCatalog::TableCatalog(const MysqlSinkOptions& options, MysqlClient& client,
                           std::shared_ptr<spdlog::logger> logger)
    : options_(options), client_(client), logger_(std::move(logger)) {}

core::Status TableCatalog::EnsureDatabase() {
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

core::Status TableCatalog::ExecuteDdl(const std::string& sql, const std::string& what,
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

core::Status TableCatalog::LoadTargetColumns(TargetTable& target) {
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

core::Status TableCatalog::EmptyForReplacement(const TargetTable& target,
                                               const std::string& qualified) {
  auto referenced = client_.Query(
      "SELECT 1 FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE "
      "UNIQUE_CONSTRAINT_SCHEMA = " + QuoteString(options_.url.database, client_.escaper()) +
      " AND REFERENCED_TABLE_NAME = " + QuoteString(target.name, client_.escaper()) + " LIMIT 1");
  if (!referenced.ok()) return referenced.status().WithContext("mysql sink: table " + qualified);
  if (!referenced->empty()) {
    if (logger_) {
      logger_->warn("mysql sink: {} is referenced by a foreign key, so this sync does not empty "
                    "it: rows deleted at the source since the earlier run stay", qualified);
    }
    return core::Status::Ok();
  }
  // TRUNCATE commits the open transaction, like any DDL here: harmless, since a one-shot sync
  // that stops before its end starts over from the beginning.
  return ExecuteDdl("TRUNCATE TABLE " + qualified,
                    "emptying " + qualified + ": this sync replaces the rows of an earlier run",
                    &target);
}

core::Status TableCatalog::ApplySchema(TargetTable& target, const core::TableSchemaPtr& schema) {
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
  if (replace_ && !replaced_.count(target.name)) {
    replaced_.insert(target.name);
    if (!target.columns.empty()) SLUICE_RETURN_IF_ERROR(EmptyForReplacement(target, qualified));
  }
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
core::Status TableCatalog::ApplyTypeAndKeyChanges(TargetTable& target, const core::TableSchema& schema) {
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
core::Status TableCatalog::ReconcileTypesAndKey(TargetTable& target, const core::TableSchema& schema) {
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

core::Result<const TablePlan*> TableCatalog::PlanFor(
    const core::TableSchemaPtr& schema, bool touch,
    const std::function<core::Status()>& before_ddl) {
  if (schema.get() == last_schema_) {
    if (touch) Touch(*last_target_);
    return last_plan_;
  }
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
    if (touch) Touch(target);
    return last_plan_;
  }
  last_schema_ = nullptr;
  last_plan_ = nullptr;
  // A schema not seen yet: finish the statement in progress before any DDL.
  SLUICE_RETURN_IF_ERROR(before_ddl());
  SLUICE_RETURN_IF_ERROR(ApplySchema(target, schema));
  if (target.plans.size() >= 8) target.plans.clear();
  auto built = std::make_unique<TablePlan>(
      BuildTablePlan(schema, options_.url.database, target.name, options_.types));
  const TablePlan* out = built.get();
  target.plans.emplace(schema.get(), std::move(built));
  last_schema_ = schema.get();
  last_plan_ = out;
  last_target_ = &target;
  if (touch) Touch(target);
  return out;
}

void TableCatalog::Touch(TargetTable& target) {
  if (target.touched) return;
  target.touched = true;
  touched_.push_back(&target);
}

void TableCatalog::ClearTouched() {
  for (TargetTable* t : touched_) t->touched = false;
  touched_.clear();
}

void TableCatalog::Invalidate() {
  ClearTouched();
  ddl_client_.Close();
  for (auto& [id, target] : targets_) {
    target.loaded = false;
    target.plans.clear();
  }
  last_schema_ = nullptr;
  last_plan_ = nullptr;
  last_target_ = nullptr;
}

}  // namespace sluice::sinks::mysql_sink
