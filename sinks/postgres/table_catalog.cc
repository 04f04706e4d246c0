// TableCatalog: create, evolve and the deferred primary keys of the target tables.
#include "sinks/postgres/table_catalog.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <set>

#include "core/parse_number.h"

namespace sluice::sinks::pgsink {

using core::Status;

bool DeferKeyOfNewTable(bool for_snapshot, bool defer_snapshot_keys, bool has_key) {
  return for_snapshot && defer_snapshot_keys && has_key;
}

TableCatalog::TableCatalog(const PostgresSinkOptions& options,
                           std::shared_ptr<spdlog::logger> logger, PgSession& session)
    : options_(options), logger_(std::move(logger)), session_(session), conn_(session.conn()) {}

void TableCatalog::Clear() {
  tables_.clear();
  last_table_ = nullptr;
  deferred_keys_.clear();  // a restart adds missing keys at once (ChangePrimaryKey)
}

TableState* TableCatalog::Lookup(const core::TableSchemaPtr& schema) {
  if (last_table_ != nullptr && last_table_->schema.get() == schema.get()) return last_table_;
  auto it = tables_.find(schema->id);
  if (it == tables_.end()) return nullptr;
  TableState* t = it->second.get();
  if (t->schema.get() != schema.get() && t->schema->version != schema->version) return nullptr;
  t->schema = schema;
  last_table_ = t;
  return t;
}

uint64_t TableCatalog::LoadedId(const core::TableId& table) const {
  auto it = tables_.find(table);
  return it == tables_.end() ? 0 : it->second->id;
}

core::Result<TableState*> TableCatalog::Load(const core::TableSchemaPtr& schema,
                                             bool for_snapshot) {
  auto state = std::make_unique<TableState>();
  state->id = ++load_counter_;
  state->schema = schema;
  state->target = ResolveTargetName(options_.table_name_format, schema->id);
  state->qualified = state->target.Qualified();
  for (uint32_t i = 0; i < schema->columns.size(); ++i) {
    state->kinds.push_back(KindOf(schema->columns[i], options_.pg_source));
    state->all_columns.push_back(i);
  }
  SLUICE_RETURN_IF_ERROR(CreateOrEvolve(*state, for_snapshot));
  SLUICE_RETURN_IF_ERROR(LoadArrayDelimiters(*state));
  if (!schema->HasKey() && logger_) {
    logger_->warn(
        "postgres sink: {} has no primary key: inserts append, updates and deletes change one "
        "equal row (needs REPLICA IDENTITY FULL at the source), a replayed snapshot may "
        "duplicate rows",
        schema->id.ToString());
  }
  TableState* t = state.get();
  tables_[schema->id] = std::move(state);
  last_table_ = t;
  return t;
}

Status TableCatalog::CreateOrEvolve(TableState& t, bool for_snapshot) {
  const core::TableSchema& schema = *t.schema;
  std::string where = "postgres sink: table " + t.qualified;
  std::vector<std::string> types;
  for (const auto& c : schema.columns) {
    auto type = TargetType(c, options_.pg_source);
    if (!type) {
      return core::FailedPreconditionError(where + ": column " + c.name + " has type text '" +
                                           c.source_type + "' that is not a type expression");
    }
    types.push_back(*type);
  }
  for (const core::GeneratedColumn& g : schema.generated) {
    core::Column as_column;
    as_column.source_type = g.source_type;
    if (!TargetType(as_column, true)) {
      return core::FailedPreconditionError(where + ": generated column " + g.name +
                                           " has type text '" + g.source_type +
                                           "' that is not a type expression");
    }
  }
  t.types = types;
  SLUICE_RETURN_IF_ERROR(session_.Begin());
  auto exists = conn_.ExecParams("SELECT to_regclass($1) IS NOT NULL", {t.qualified.c_str()});
  if (!exists.ok()) return exists.status().WithContext(where);
  if (std::string_view(PQgetvalue(exists->get(), 0, 0)) != "t") {
    auto ns = conn_.ExecParams("SELECT 1 FROM pg_namespace WHERE nspname = $1",
                               {t.target.schema.c_str()});
    if (!ns.ok()) return ns.status().WithContext(where);
    if (PQntuples(ns->get()) == 0) {
      auto r = conn_.Exec("CREATE SCHEMA IF NOT EXISTS " + sluice::pg::QuoteIdent(t.target.schema));
      if (!r.ok()) return r.status().WithContext(where + ": creating its schema");
    }
    for (const auto& c : schema.columns) {
      Status s = EnsureEnumType(c);
      if (!s.ok()) return s.WithContext(where);
    }
    std::vector<size_t> all(schema.columns.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = i;
    SLUICE_RETURN_IF_ERROR(CheckTypesExist(t, all));
    const bool defer =
        DeferKeyOfNewTable(for_snapshot, options_.defer_snapshot_keys, schema.HasKey());
    auto r = conn_.Exec(CreateTableSql(t.target, schema, types, !defer));
    if (!r.ok()) return r.status().WithContext(where + ": create table");
    if (defer) deferred_keys_.insert(schema.id);
    t.created = true;
    if (logger_) {
      logger_->info("postgres sink: created table {}{}", t.qualified,
                    defer ? " (primary key built after its snapshot rows are loaded)" : "");
    }
    return Status::Ok();
  }
  // The table exists: add the columns it lacks, drop or keep those the source no longer has.
  auto cols = conn_.ExecParams(
      "SELECT a.attname, a.attnotnull, EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = "
      "a.attrelid AND i.indisprimary AND a.attnum = ANY (i.indkey)) FROM pg_attribute a WHERE "
      "a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
      {t.qualified.c_str()});
  if (!cols.ok()) return cols.status().WithContext(where);
  std::set<std::string> existing;
  for (int i = 0; i < PQntuples(cols->get()); ++i) {
    std::string name = PQgetvalue(cols->get(), i, 0);
    existing.insert(name);
    if (schema.FindColumn(name) >= 0) continue;
    bool generated = false;
    for (const core::GeneratedColumn& g : schema.generated) generated = generated || g.name == name;
    if (generated) continue;
    bool not_null = std::string_view(PQgetvalue(cols->get(), i, 1)) == "t";
    bool in_pk = std::string_view(PQgetvalue(cols->get(), i, 2)) == "t";
    std::string sql;
    if (options_.drop_columns) {
      sql = "ALTER TABLE " + t.qualified + " DROP COLUMN IF EXISTS " + sluice::pg::QuoteIdent(name);
    } else if (not_null && !in_pk) {
      // Kept columns get no more values: they must accept NULL for new rows.
      sql = "ALTER TABLE " + t.qualified + " ALTER COLUMN " + sluice::pg::QuoteIdent(name) +
            " DROP NOT NULL";
    }
    if (!sql.empty()) {
      auto r = conn_.Exec(sql);
      if (!r.ok()) return r.status().WithContext(where + ": column " + name);
      if (logger_) logger_->info("postgres sink: {}: {}", t.qualified, sql);
    }
  }
  for (size_t i = 0; i < schema.columns.size(); ++i) {
    const auto& c = schema.columns[i];
    if (existing.count(c.name)) continue;
    Status s = EnsureEnumType(c);
    if (!s.ok()) return s.WithContext(where);
    SLUICE_RETURN_IF_ERROR(CheckTypesExist(t, {i}));
    std::string sql = "ALTER TABLE " + t.qualified + " ADD COLUMN IF NOT EXISTS " +
                      sluice::pg::QuoteIdent(c.name) + " " + types[i];
    auto r = conn_.Exec(sql);
    if (!r.ok()) return r.status().WithContext(where + ": adding column " + c.name);
    if (logger_) logger_->info("postgres sink: {}: added column {}", t.qualified, c.name);
  }
  for (const core::GeneratedColumn& g : schema.generated) {
    if (existing.count(g.name)) continue;
    auto r = conn_.Exec("ALTER TABLE " + t.qualified + " ADD COLUMN IF NOT EXISTS " +
                        GeneratedColumnDefinition(g));
    if (!r.ok()) return r.status().WithContext(where + ": adding generated column " + g.name);
    if (logger_) logger_->info("postgres sink: {}: added generated column {}", t.qualified, g.name);
  }
  SLUICE_RETURN_IF_ERROR(ChangeColumnTypes(t));
  return ChangePrimaryKey(t);
}

// Columns whose type differs from the one the source schema maps to are altered in place.
// The wanted types are resolved by the server itself (`SELECT NULL::type, …` and the result's
// column type OIDs and modifiers), so aliases and spelling (varchar(20) / character varying(20),
// timestamptz / timestamp with time zone, a schema-qualified enum) never look like a change.
Status TableCatalog::ChangeColumnTypes(TableState& t) {
  const core::TableSchema& schema = *t.schema;
  const std::vector<std::string>& types = t.types;
  std::string where = "postgres sink: table " + t.qualified;
  if (schema.columns.empty()) return Status::Ok();
  std::string probe = "SELECT ";
  for (size_t i = 0; i < types.size(); ++i) probe += (i ? ", NULL::" : "NULL::") + types[i];
  auto wanted = conn_.Exec(probe + " LIMIT 0");
  if (!wanted.ok()) return wanted.status().WithContext(where + ": resolving column types");
  auto have = conn_.ExecParams(
      "SELECT attname, atttypid::bigint, atttypmod, format_type(atttypid, atttypmod) FROM "
      "pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped",
      {t.qualified.c_str()});
  if (!have.ok()) return have.status().WithContext(where);
  for (int r = 0; r < PQntuples(have->get()); ++r) {
    std::string name = PQgetvalue(have->get(), r, 0);
    int i = schema.FindColumn(name);
    if (i < 0) continue;
    auto oid = core::ParseNumber<Oid>(PQgetvalue(have->get(), r, 1),
                                      where + ": atttypid of column " + name);
    if (!oid.ok()) return oid.status();
    auto typmod = core::ParseNumber<int>(PQgetvalue(have->get(), r, 2),
                                         where + ": atttypmod of column " + name);
    if (!typmod.ok()) return typmod.status();
    if (*oid == PQftype(wanted->get(), i) && *typmod == PQfmod(wanted->get(), i)) continue;
    Status s = EnsureEnumType(schema.columns[i]);
    if (!s.ok()) return s.WithContext(where);
    std::string sql = AlterColumnTypeSql(t.target, name, types[i]);
    auto altered = conn_.Exec(sql);
    if (!altered.ok()) {
      return core::FailedPreconditionError(
          where + ": cannot change column " + name + " from " + PQgetvalue(have->get(), r, 3) +
          " to " + types[i] + " (" + altered.status().message() +
          "); change the target column by hand (ALTER TABLE … ALTER COLUMN … TYPE … USING …) "
          "and restart the connector");
    }
    if (logger_) {
      logger_->info("postgres sink: {}: column {} changed from {} to {}", t.qualified, name,
                    PQgetvalue(have->get(), r, 3), types[i]);
    }
  }
  return Status::Ok();
}

// The target's primary key follows the source's: a different column list drops the old
// constraint and adds the new one, in the batch's transaction. A source table that lost its
// key leaves the target's key in place.
Status TableCatalog::ChangePrimaryKey(TableState& t) {
  const core::TableSchema& schema = *t.schema;
  if (deferred_keys_.count(schema.id) > 0) return Status::Ok();  // built after the snapshot
  // Another source table deferred the key of this same target table (sink.table.name.format
  // maps both here): rows of two source tables may share a key, so no deferral — the key is
  // added now and their snapshot rows meet it (COPY, then the staging upsert on a clash).
  for (auto it = deferred_keys_.begin(); it != deferred_keys_.end();) {
    auto other = tables_.find(*it);
    if (other != tables_.end() && other->second->qualified == t.qualified) {
      it = deferred_keys_.erase(it);
    } else {
      ++it;
    }
  }
  std::string where = "postgres sink: table " + t.qualified;
  auto pk = conn_.ExecParams(
      "SELECT c.conname, array_to_string(ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH "
      "ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n "
      "ORDER BY k.o), ',') FROM pg_constraint c WHERE c.conrelid = to_regclass($1) AND "
      "c.contype = 'p'",
      {t.qualified.c_str()});
  if (!pk.ok()) return pk.status().WithContext(where);
  std::string want;
  for (uint32_t k : schema.key) want += (want.empty() ? "" : ",") + schema.columns[k].name;
  std::string have = PQntuples(pk->get()) > 0 ? PQgetvalue(pk->get(), 0, 1) : "";
  if (have == want) return Status::Ok();
  if (want.empty()) {
    // Keep what the target has: without a source key there is nothing better to enforce.
    if (logger_) {
      logger_->warn("postgres sink: {}: the source table has no primary key any more; the "
                    "target keeps its key ({})", t.qualified, have);
    }
    return Status::Ok();
  }
  std::string sql =
      ReplacePrimaryKeySql(t.target, schema, have.empty() ? "" : PQgetvalue(pk->get(), 0, 0));
  auto r = conn_.Exec(sql);
  if (!r.ok()) {
    return core::FailedPreconditionError(
        where + ": cannot change the primary key from (" + have + ") to (" + want + ") (" +
        r.status().message() + "); fix the target table by hand and restart the connector");
  }
  if (logger_) {
    logger_->info("postgres sink: {}: primary key changed from ({}) to ({})", t.qualified, have,
                  want);
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Deferred primary keys: why the key build can never meet a duplicate, and why the key is
// there before anything needs it. A table is deferred only when this session created it for a
// snapshot's announcement (DeferKeyOfNewTable) from a source whose snapshot reads each row once
// per attempt (postgres, mysql; PostgresSinkOptions::defer_snapshot_keys) and no other source table
// maps to the same target (ChangePrimaryKey). Rows reach a deferred table only as COPY of
// snapshot rows; the key is built, in the open transaction, at the first of (PgApplier decides
// when; this only builds):
//   (1) the table announced again: a second snapshot attempt without a process restart (the
//       pipeline restarts a failed source from the committed position and it re-reads). Every
//       snapshot announces its tables before its first row (core/event.h), so the key is built
//       over the first attempt's rows, which are distinct; the second attempt's rows then meet
//       the key (a restarted snapshot also truncates first, in which case none clash);
//   (2) the batch holding the snapshot's final row (TxnInfo::last_snapshot_event) — all rows in;
//   (3) a change event of any table (upserts and deletes go by key) or a snapshot row with
//       unchanged values (an upsert), and a batch with a position but neither rows nor
//       announcements (PostgresSink::Write: both sources end their snapshot with one, and an
//       idle stream sends them): so the key exists before any change is applied and before a
//       position past the snapshot commits, even when no row was marked last (empty tables);
//   (4) Close() (a one-shot sync whose snapshot had no row at all).
// Replays: after a retriable error the pipeline calls Reset(): the open transaction is rolled
// back (with any key build or table creation in it) and Clear() forgets the deferral; the
// replayed batches then find each table either absent (created again, deferred again, loaded
// once by the replay) or present with committed rows only, whose missing key ChangePrimaryKey
// adds at once, before any replayed row. After kill -9 the same holds at the next start.
// So the rows loaded while a table has no key come from one snapshot attempt, each row once:
// distinct. A second attempt's rows meet the key (rule 1), or a truncate comes first. The only
// way to a duplicate is a source that re-sends a snapshot row without announcing again; the
// build then fails with kFailedPrecondition naming the table (nothing is lost: the position
// past the snapshot is not committed).
Status TableCatalog::BuildDeferredKeys() {
  if (deferred_keys_.empty()) return Status::Ok();
  // The index build sorts every key: in memory when it fits (the server default, 64 MB, spills
  // a few million keys to disk). Only for this transaction.
  auto mem = conn_.Exec("SET LOCAL maintenance_work_mem = '" + options_.key_build_memory + "'");
  if (!mem.ok()) return mem.status().WithContext("postgres sink: sink.postgres.key.build.memory");
  for (const core::TableId& id : deferred_keys_) {
    auto it = tables_.find(id);
    if (it == tables_.end()) continue;
    const TableState& t = *it->second;
    auto has_key = conn_.ExecParams(
        "SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'p'",
        {t.qualified.c_str()});
    if (!has_key.ok()) return has_key.status().WithContext("postgres sink: table " + t.qualified);
    if (PQntuples(has_key->get()) > 0) continue;  // added meanwhile (ChangePrimaryKey)
    auto started = std::chrono::steady_clock::now();
    auto r = conn_.Exec(ReplacePrimaryKeySql(t.target, *t.schema, ""));
    if (!r.ok()) {
      return core::FailedPreconditionError(
          "postgres sink: table " + t.qualified + ": building its primary key after the snapshot "
          "load failed (" + r.status().message() + "); drop the target table and restart the "
          "connector to load it again");
    }
    if (logger_) {
      logger_->info("postgres sink: {}: primary key built after the snapshot load in {} ms",
                    t.qualified,
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started).count());
    }
  }
  deferred_keys_.clear();
  return Status::Ok();
}

// Every type a new column needs must exist at the target (enums are created just before):
// otherwise CREATE TABLE fails with `type "…" does not exist`, naming neither the column nor a
// way past it. to_regtype() answers NULL instead of failing, so the transaction stays usable.
Status TableCatalog::CheckTypesExist(const TableState& t, const std::vector<size_t>& columns) {
  const std::vector<std::string>& types = t.types;
  if (columns.empty()) return Status::Ok();
  std::string sql = "SELECT ";
  std::vector<const char*> params;
  for (size_t k = 0; k < columns.size(); ++k) {
    sql += (k > 0 ? ", to_regtype($" : "to_regtype($") + std::to_string(k + 1) + ") IS NOT NULL";
    params.push_back(types[columns[k]].c_str());
  }
  auto r = conn_.ExecParams(sql, params);
  if (!r.ok()) return r.status().WithContext("postgres sink: table " + t.qualified);
  for (size_t k = 0; k < columns.size(); ++k) {
    if (std::string_view(PQgetvalue(r->get(), 0, static_cast<int>(k))) == "t") continue;
    const core::TableSchema& schema = *t.schema;
    const std::string& name = schema.columns[columns[k]].name;
    return core::FailedPreconditionError(
        "postgres sink: table " + t.qualified + ": column " + name + " has type " +
        types[columns[k]] + ", which the target database does not have; create the type there "
        "(CREATE TYPE, or CREATE EXTENSION for an extension's type), or leave the column out "
        "with column.exclude.list (" + schema.id.ToString() + "." + name +
        ") or the table with table.exclude.list");
  }
  return Status::Ok();
}

// Array literals separate elements with the element type's typdelim (';' for box[]), as the
// target's column types say.
Status TableCatalog::LoadArrayDelimiters(TableState& t) {
  t.delimiters.assign(t.schema->columns.size(), ',');
  bool any = false;
  for (ValueKind k : t.kinds) any = any || k == ValueKind::kArray;
  if (!any) return Status::Ok();
  auto r = conn_.ExecParams(
      "SELECT a.attname, e.typdelim FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
      "JOIN pg_type e ON e.oid = t.typelem WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 "
      "AND NOT a.attisdropped AND t.typcategory = 'A'",
      {t.qualified.c_str()});
  if (!r.ok()) return r.status().WithContext("postgres sink: table " + t.qualified);
  for (int i = 0; i < PQntuples(r->get()); ++i) {
    int column = t.schema->FindColumn(PQgetvalue(r->get(), i, 0));
    std::string_view delimiter = PQgetvalue(r->get(), i, 1);
    if (column >= 0 && delimiter.size() == 1) {
      t.delimiters[static_cast<size_t>(column)] = delimiter[0];
    }
  }
  return Status::Ok();
}

Status TableCatalog::EnsureEnumType(const core::Column& column) {
  const bool is_array = column.type == core::LogicalType::kArray;
  if (!options_.pg_source || (column.type != core::LogicalType::kEnum && !is_array) ||
      column.enum_values.empty()) {
    return Status::Ok();
  }
  auto type = TargetType(column, true);
  if (!type) return Status::Ok();
  // enum[] (the source sends the element's labels and "schema.type[]"): create the element.
  while (is_array && type->size() > 2 && type->ends_with("[]")) type->resize(type->size() - 2);
  auto r = conn_.ExecParams("SELECT to_regtype($1) IS NOT NULL", {type->c_str()});
  if (!r.ok()) return r.status();
  if (std::string_view(PQgetvalue(r->get(), 0, 0)) == "t") return Status::Ok();
  std::string sql = "CREATE TYPE " + *type + " AS ENUM (";
  for (size_t i = 0; i < column.enum_values.size(); ++i) {
    if (i > 0) sql += ", ";
    sql += sluice::pg::QuoteLiteral(column.enum_values[i]);
  }
  sql += ")";
  auto c = conn_.Exec(sql);
  if (!c.ok()) return c.status().WithContext("creating enum type " + *type);
  return Status::Ok();
}

}  // namespace sluice::sinks::pgsink
