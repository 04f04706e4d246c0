#include "sinks/postgres/pg_applier.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <set>

#include "core/parse_number.h"

namespace sluice::sinks::pgsink {

using core::EventBatch;
using core::Op;
using core::Status;

namespace {


TargetName SplitTableName(const std::string& name) {
  size_t dot = name.find('.');
  if (dot == std::string::npos) return {"public", name};
  return {name.substr(0, dot), name.substr(dot + 1)};
}

bool IsKeyColumn(const core::TableSchema& schema, uint32_t column) {
  for (uint32_t k : schema.key) {
    if (k == column) return true;
  }
  return false;
}

}  // namespace

PgApplier::PgApplier(const PostgresSinkOptions& options, std::shared_ptr<spdlog::logger> logger)
    : options_(options), logger_(std::move(logger)), offsets_(SplitTableName(options.offsets_table)) {}

PgApplier::~PgApplier() { Disconnect(); }

Status PgApplier::Connect() {
  Disconnect();
  SLUICE_RETURN_IF_ERROR(conn_.Connect(options_.url));
  auto exists = conn_.ExecParams("SELECT 1 FROM pg_namespace WHERE nspname = $1",
                                 {offsets_.schema.c_str()});
  if (!exists.ok()) return exists.status().WithContext("postgres sink: offsets table");
  if (PQntuples(exists->get()) == 0) {
    auto r = conn_.Exec("CREATE SCHEMA IF NOT EXISTS " + sluice::pg::QuoteIdent(offsets_.schema));
    if (!r.ok()) return r.status().WithContext("postgres sink: creating offsets schema");
  }
  auto r = conn_.Exec(CreateOffsetsTableSql(offsets_));
  if (!r.ok()) {
    return r.status().WithContext("postgres sink: creating offsets table " + offsets_.Qualified());
  }
  return Status::Ok();
}

bool PgApplier::transaction_failed() const {
  return conn_.raw() != nullptr && PQtransactionStatus(conn_.raw()) == PQTRANS_INERROR;
}

void PgApplier::Disconnect() {
  conn_.Close();
  in_txn_ = false;
  in_pipeline_ = false;
  pending_.clear();
  sent_since_sync_ = 0;
  tables_.clear();
  deferred_keys_.clear();  // a restart adds missing keys at once (ChangePrimaryKey)
  unstage_.clear();        // the replay decides again
  last_table_ = nullptr;
  run_ = Run();
  copy_table_ = nullptr;
}

core::Result<std::optional<std::string>> PgApplier::LoadOffset() {
  auto r = conn_.ExecParams(LoadOffsetSql(offsets_), {options_.connector_name.c_str()});
  if (!r.ok()) return r.status().WithContext("postgres sink: reading " + offsets_.Qualified());
  if (PQntuples(r->get()) == 0) return std::optional<std::string>();
  return std::optional<std::string>(PQgetvalue(r->get(), 0, 0));
}

Status PgApplier::Begin() {
  if (in_txn_) return Status::Ok();
  if (in_pipeline_) {
    SLUICE_RETURN_IF_ERROR(SendPlain("BEGIN"));
  } else {
    auto r = conn_.Exec("BEGIN");
    if (!r.ok()) return r.status();
  }
  in_txn_ = true;
  return Status::Ok();
}

Status PgApplier::Commit(const std::optional<core::SourcePosition>& checkpoint) {
  SLUICE_RETURN_IF_ERROR(EndStreamingCopy());
  if (!in_txn_ && !checkpoint) return Status::Ok();
  if (in_pipeline_) {
    // The changes are in flight: the position and COMMIT follow them in the pipeline, and one
    // round trip reads every result. A failure anywhere rolls the whole transaction back.
    SLUICE_RETURN_IF_ERROR(Begin());
    if (checkpoint) {
      const char* values[2] = {options_.connector_name.c_str(), checkpoint->value.c_str()};
      if (PQsendQueryParams(conn_.raw(), SaveOffsetSql(offsets_).c_str(), 2, nullptr, values,
                            nullptr, nullptr, 0) != 1) {
        return conn_.ConnectionError("postgres sink: saving position");
      }
      pending_.push_back({PendingResult::kExec, kNoEvent, nullptr, apply_seq_});
    }
    SLUICE_RETURN_IF_ERROR(SendPlain("COMMIT"));
    in_txn_ = false;
    Status s = ExitPipeline(nullptr);
    if (!s.ok()) return s.WithContext("postgres sink: commit");
  } else {
    SLUICE_RETURN_IF_ERROR(Begin());
    if (checkpoint) {
      auto r = conn_.ExecParams(SaveOffsetSql(offsets_),
                                {options_.connector_name.c_str(), checkpoint->value.c_str()});
      if (!r.ok()) return r.status().WithContext("postgres sink: saving position");
    }
    in_txn_ = false;
    auto r = conn_.Exec("COMMIT");
    if (!r.ok()) return r.status().WithContext("postgres sink: commit");
  }
  precise_ = false;
  for (auto& [id, t] : tables_) t->stage_created = false;
  for (const core::TableId& id : unstage_) staged_.erase(id);
  unstage_.clear();
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Tables

core::Result<PgApplier::TableState*> PgApplier::Ensure(const core::TableSchemaPtr& schema,
                                                       const EventBatch& batch) {
  if (last_table_ != nullptr && last_table_->schema.get() == schema.get()) return last_table_;
  auto it = tables_.find(schema->id);
  if (it != tables_.end()) {
    TableState* t = it->second.get();
    if (t->schema.get() == schema.get() || t->schema->version == schema->version) {
      t->schema = schema;
      last_table_ = t;
      return t;
    }
  }
  // Catalog work runs as plain statements: end a COPY, leave pipeline mode first.
  SLUICE_RETURN_IF_ERROR(EndStreamingCopy());
  SLUICE_RETURN_IF_ERROR(ExitPipeline(&batch));
  auto state = std::make_unique<TableState>();
  state->schema = schema;
  state->target = ResolveTargetName(options_.table_name_format, schema->id);
  state->qualified = state->target.Qualified();
  state->stage = "sluice_stage_" + std::to_string(++stage_counter_);
  for (uint32_t i = 0; i < schema->columns.size(); ++i) {
    state->kinds.push_back(KindOf(schema->columns[i], options_.pg_source));
    state->all_columns.push_back(i);
  }
  SLUICE_RETURN_IF_ERROR(CreateOrEvolve(*state));
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

Status PgApplier::CreateOrEvolve(TableState& t) {
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
  SLUICE_RETURN_IF_ERROR(Begin());
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
    SLUICE_RETURN_IF_ERROR(CheckTypesExist(t, all, types));
    const bool defer = announcing_ && options_.defer_snapshot_keys && schema.HasKey();
    auto r = conn_.Exec(CreateTableSql(t.target, schema, types, !defer));
    if (!r.ok()) return r.status().WithContext(where + ": create table");
    if (defer) deferred_keys_.insert(schema.id);
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
    SLUICE_RETURN_IF_ERROR(CheckTypesExist(t, {i}, types));
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
  SLUICE_RETURN_IF_ERROR(ChangeColumnTypes(t, types));
  return ChangePrimaryKey(t);
}

// Columns whose type differs from the one the source schema maps to are altered in place.
// The wanted types are resolved by the server itself (`SELECT NULL::type, …` and the result's
// column type OIDs and modifiers), so aliases and spelling (varchar(20) / character varying(20),
// timestamptz / timestamp with time zone, a schema-qualified enum) never look like a change.
Status PgApplier::ChangeColumnTypes(TableState& t, const std::vector<std::string>& types) {
  const core::TableSchema& schema = *t.schema;
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
Status PgApplier::ChangePrimaryKey(TableState& t) {
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
    logger_->info("postgres sink: {}: primary key changed from ({}) to ({})", t.qualified, have, want);
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Applying a batch

Status PgApplier::Apply(const EventBatch& batch) {
  ++apply_seq_;
  // Fast mode: BEGIN goes out with the batch's first statements (no round trip of its own).
  if (!in_txn_ && !precise_) SLUICE_RETURN_IF_ERROR(EnterPipeline());
  SLUICE_RETURN_IF_ERROR(Begin());
  // A table announced again while its key is still deferred: a second snapshot attempt in this
  // session (the pipeline restarted the source), which sends its rows again. Rule (1) in
  // BuildDeferredKeys: the key is built now, over the first attempt's rows only.
  for (const core::TableSchemaPtr& table : batch.announced_tables()) {
    if (deferred_keys_.count(table->id) > 0) {
      SLUICE_RETURN_IF_ERROR(BuildDeferredKeys());
      break;
    }
  }
  // Announced tables (a snapshot's, even empty ones) are created or brought up to date first,
  // in the transaction that commits with the batch's position.
  announcing_ = true;
  for (const core::TableSchemaPtr& table : batch.announced_tables()) {
    auto t = Ensure(table, batch);
    if (!t.ok()) {
      announcing_ = false;
      return t.status();
    }
  }
  announcing_ = false;
  const auto& events = batch.events();
  size_t i = 0;
  while (i < events.size()) {
    const core::ChangeEvent& e = events[i];
    SLUICE_ASSIGN_OR_RETURN(TableState * t, Ensure(e.table, batch));
    if (e.op == Op::kRead) {
      size_t j = i + 1;
      while (j < events.size() && events[j].op == Op::kRead && events[j].table == e.table) ++j;
      bool unchanged = false;
      for (size_t k = i; k < j && !unchanged; ++k) {
        core::RowView row = batch.row(events[k].after);
        for (uint32_t c = 0; c < row.size(); ++c) unchanged |= row.is_unchanged(c);
      }
      if (!unchanged) {
        SLUICE_RETURN_IF_ERROR(ExitPipeline(&batch));
        SLUICE_RETURN_IF_ERROR(ApplyReads(batch, *t, i, j));
      } else {
        SLUICE_RETURN_IF_ERROR(ExitPipeline(&batch));
        SLUICE_RETURN_IF_ERROR(BuildDeferredKeys());  // upserts need the key
        SLUICE_RETURN_IF_ERROR(EndStreamingCopy());
        for (size_t k = i; k < j; ++k) {
          SLUICE_RETURN_IF_ERROR(
              SendUpsert(batch, *t, static_cast<uint32_t>(k), events[k].after));
        }
      }
      i = j;
      continue;
    }
    size_t j = i + 1;
    while (j < events.size() && events[j].op != Op::kRead) ++j;
    if (!deferred_keys_.empty()) {  // changes upsert and delete by key
      SLUICE_RETURN_IF_ERROR(ExitPipeline(&batch));
      SLUICE_RETURN_IF_ERROR(BuildDeferredKeys());
    }
    SLUICE_RETURN_IF_ERROR(EndStreamingCopy());
    if (!precise_) {
      SLUICE_RETURN_IF_ERROR(ApplyGrouped(batch, i, j));
    } else {
      for (size_t k = i; k < j; ++k) {
        SLUICE_ASSIGN_OR_RETURN(TableState * tk, Ensure(events[k].table, batch));
        SLUICE_RETURN_IF_ERROR(ApplyOne(batch, *tk, static_cast<uint32_t>(k)));
      }
    }
    i = j;
  }
  if (precise_) {
    // Each result read now, while the batch is here to name the row that failed.
    SLUICE_RETURN_IF_ERROR(ExitPipeline(&batch));
  } else if (in_pipeline_ && PQflush(conn_.raw()) != 0) {
    return conn_.ConnectionError("postgres sink pipeline");
  }
  if (!deferred_keys_.empty()) {
    for (const core::TxnInfo& txn : batch.txns()) {
      if (txn.last_snapshot_event) return BuildDeferredKeys();  // the snapshot's rows are all in
    }
  }
  return Status::Ok();
}

// Deferred primary keys: why the key build can never meet a duplicate, and why the key is
// there before anything needs it. A table is deferred only when this session created it for a
// snapshot's announcement (CreateOrEvolve) from a source whose snapshot reads each row once per
// attempt (postgres, mysql; PostgresSinkOptions::defer_snapshot_keys) and no other source table
// maps to the same target (ChangePrimaryKey). Rows reach a deferred table only as COPY of
// snapshot rows; the key is built, in the open transaction, at the first of:
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
// back (with any key build or table creation in it) and Disconnect() forgets the deferral; the
// replayed batches then find each table either absent (created again, deferred again, loaded
// once by the replay) or present with committed rows only, whose missing key ChangePrimaryKey
// adds at once, before any replayed row. After kill -9 the same holds at the next start.
// So the rows loaded while a table has no key come from one snapshot attempt, each row once:
// distinct. A second attempt's rows meet the key (rule 1), or a truncate comes first. The only
// way to a duplicate is a source that re-sends a snapshot row without announcing again; the
// build then fails with kFailedPrecondition naming the table (nothing is lost: the position
// past the snapshot is not committed).
Status PgApplier::BuildDeferredKeys() {
  if (deferred_keys_.empty()) return Status::Ok();
  SLUICE_RETURN_IF_ERROR(ExitPipeline(nullptr));
  SLUICE_RETURN_IF_ERROR(EndStreamingCopy());
  const bool own_transaction = !in_txn_;
  SLUICE_RETURN_IF_ERROR(Begin());
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
  return own_transaction ? Commit(std::nullopt) : Status::Ok();
}

Status PgApplier::ApplyOne(const EventBatch& batch, TableState& t, uint32_t index) {
  const core::ChangeEvent& e = batch.events()[index];
  switch (e.op) {
    case Op::kCreate:
      if (e.after == core::kNoRow) {
        return core::InvalidArgumentError("postgres sink: insert without a row: " +
                                          Describe(batch, index));
      }
      return SendUpsert(batch, t, index, e.after);
    case Op::kUpdate:
      return SendUpdate(batch, t, index);
    case Op::kDelete:
      return SendDelete(batch, t, index);
    case Op::kTruncate:
      return SendTruncate(t, index);
    case Op::kRead:
      return SendUpsert(batch, t, index, e.after);
  }
  return Status::Ok();
}

void PgApplier::ClearParams() {
  param_buf_.clear();
  param_offsets_.clear();
}

Status PgApplier::AddParam(const EventBatch& batch, const TableState& t, uint32_t row_index,
                           uint32_t column, uint32_t event_index) {
  core::RowView row = batch.row(row_index);
  if (!row.is_present(column)) {
    param_offsets_.push_back(kNullParam);
    return Status::Ok();
  }
  param_offsets_.push_back(static_cast<uint32_t>(param_buf_.size()));
  if (!AppendPgText(t.kinds[column], row.text(column), param_buf_, t.delimiters[column])) {
    return core::FailedPreconditionError("postgres sink: " + Describe(batch, event_index) +
                                         ": column " + t.schema->columns[column].name +
                                         ": value is not a JSON array");
  }
  param_buf_.push_back('\0');
  return Status::Ok();
}

Status PgApplier::EnterPipeline() {
  if (in_pipeline_) return Status::Ok();
  if (PQenterPipelineMode(conn_.raw()) != 1) return conn_.ConnectionError("postgres sink pipeline");
  in_pipeline_ = true;
  return Status::Ok();
}

Status PgApplier::SendPlain(const char* sql) {
  if (PQsendQueryParams(conn_.raw(), sql, 0, nullptr, nullptr, nullptr, nullptr, 0) != 1) {
    return conn_.ConnectionError(std::string("postgres sink: sending ") + sql);
  }
  pending_.push_back({PendingResult::kExec, kNoEvent, nullptr, apply_seq_});
  return Status::Ok();
}

Status PgApplier::SendUpsert(const EventBatch& batch, TableState& t, uint32_t event_index,
                             uint32_t row_index) {
  core::RowView row = batch.row(row_index);
  columns_.clear();
  bool all = true;
  for (uint32_t c = 0; c < row.size(); ++c) {
    if (row.is_unchanged(c)) {
      all = false;
    } else {
      columns_.push_back(c);
    }
  }
  ClearParams();
  for (uint32_t c : columns_) SLUICE_RETURN_IF_ERROR(AddParam(batch, t, row_index, c, event_index));
  key_.assign(all ? "U" : "U:");
  if (!all) {
    for (uint32_t c : columns_) key_ += std::to_string(c) + ",";
  }
  return SendCached(
      t, key_, [&] { return UpsertSql(t.target, *t.schema, columns_); }, event_index);
}

Status PgApplier::SendUpdate(const EventBatch& batch, TableState& t, uint32_t event_index) {
  const core::ChangeEvent& e = batch.events()[event_index];
  const core::TableSchema& schema = *t.schema;
  if (e.after == core::kNoRow) {
    return core::InvalidArgumentError("postgres sink: update without a new row: " +
                                      Describe(batch, event_index));
  }
  core::RowView after = batch.row(e.after);
  if (!schema.HasKey()) {
    if (e.before == core::kNoRow) {
      return core::FailedPreconditionError(
          "postgres sink: " + Describe(batch, event_index) +
          ": the table has no primary key and the update carries no old row; set REPLICA "
          "IDENTITY FULL on the source table");
    }
    core::RowView before = batch.row(e.before);
    columns_.clear();
    columns2_.clear();
    for (uint32_t c = 0; c < before.size(); ++c) {
      if (!before.is_unchanged(c)) columns_.push_back(c);
    }
    for (uint32_t c = 0; c < after.size(); ++c) {
      if (!after.is_unchanged(c)) columns2_.push_back(c);
    }
    ClearParams();
    for (uint32_t c : columns_) SLUICE_RETURN_IF_ERROR(AddParam(batch, t, e.before, c, event_index));
    for (uint32_t c : columns2_) SLUICE_RETURN_IF_ERROR(AddParam(batch, t, e.after, c, event_index));
    key_.assign("N:");
    for (uint32_t c : columns_) key_ += std::to_string(c) + ",";
    key_ += ":";
    for (uint32_t c : columns2_) key_ += std::to_string(c) + ",";
    return SendCached(
        t, key_, [&] { return UpdateOneRowSql(t.target, schema, columns_, columns2_, t.types); },
        event_index);
  }
  // Did the key change? Then update the old row in place (its key included).
  uint32_t key_row = e.after;
  if (e.before != core::kNoRow) {
    core::RowView before = batch.row(e.before);
    for (uint32_t k : schema.key) {
      if (before.state(k) != after.state(k) || before.text(k) != after.text(k)) {
        key_row = e.before;
        break;
      }
    }
  }
  bool unchanged = false;
  for (uint32_t c = 0; c < after.size(); ++c) unchanged |= after.is_unchanged(c);
  if (key_row == e.after && !unchanged) return SendUpsert(batch, t, event_index, e.after);

  columns_.clear();
  for (uint32_t c = 0; c < after.size(); ++c) {
    if (after.is_unchanged(c)) continue;
    if (key_row == e.after && IsKeyColumn(schema, c)) continue;
    columns_.push_back(c);
  }
  if (columns_.empty()) return Status::Ok();  // only unchanged values besides the key
  ClearParams();
  for (uint32_t c : columns_) SLUICE_RETURN_IF_ERROR(AddParam(batch, t, e.after, c, event_index));
  for (uint32_t k : schema.key) SLUICE_RETURN_IF_ERROR(AddParam(batch, t, key_row, k, event_index));
  key_.assign("K:");
  for (uint32_t c : columns_) key_ += std::to_string(c) + ",";
  return SendCached(
      t, key_, [&] { return UpdateByKeySql(t.target, schema, columns_); }, event_index);
}

Status PgApplier::SendDelete(const EventBatch& batch, TableState& t, uint32_t event_index) {
  const core::ChangeEvent& e = batch.events()[event_index];
  const core::TableSchema& schema = *t.schema;
  uint32_t row_index = e.before != core::kNoRow ? e.before : e.after;
  if (row_index == core::kNoRow) {
    return core::InvalidArgumentError("postgres sink: delete without a row: " +
                                      Describe(batch, event_index));
  }
  ClearParams();
  if (!schema.HasKey()) {
    if (e.before == core::kNoRow) {
      return core::FailedPreconditionError(
          "postgres sink: " + Describe(batch, event_index) +
          ": the table has no primary key and the delete carries no old row; set REPLICA "
          "IDENTITY FULL on the source table");
    }
    core::RowView before = batch.row(e.before);
    columns_.clear();
    for (uint32_t c = 0; c < before.size(); ++c) {
      if (!before.is_unchanged(c)) columns_.push_back(c);
    }
    for (uint32_t c : columns_) SLUICE_RETURN_IF_ERROR(AddParam(batch, t, e.before, c, event_index));
    key_.assign("M:");
    for (uint32_t c : columns_) key_ += std::to_string(c) + ",";
    return SendCached(
        t, key_, [&] { return DeleteOneRowSql(t.target, schema, columns_, t.types); }, event_index);
  }
  for (uint32_t k : schema.key) SLUICE_RETURN_IF_ERROR(AddParam(batch, t, row_index, k, event_index));
  key_.assign("D");
  return SendCached(t, key_, [&] { return DeleteByKeySql(t.target, schema); }, event_index);
}

Status PgApplier::SendTruncate(TableState& t, uint32_t event_index) {
  ClearParams();
  key_.assign("T");
  return SendCached(t, key_, [&] { return "TRUNCATE " + t.qualified; }, event_index);
}

Status PgApplier::SyncAndDrain(const EventBatch* batch) {
  if (!in_pipeline_) return Status::Ok();
  if (pending_.empty() || pending_.back().kind != PendingResult::kSync) {
    if (PQpipelineSync(conn_.raw()) != 1) return conn_.ConnectionError("postgres sink pipeline");
    pending_.push_back({PendingResult::kSync, 0, nullptr, apply_seq_});
  }
  sent_since_sync_ = 0;
  Status first;
  PGconn* c = conn_.raw();
  for (const PendingResult& p : pending_) {
    if (p.kind == PendingResult::kSync) {
      PGresult* r = PQgetResult(c);
      if (r == nullptr) r = PQgetResult(c);
      if (r == nullptr) {
        if (first.ok()) first = conn_.ConnectionError("postgres sink pipeline");
        break;
      }
      bool sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
      PQclear(r);
      if (!sync) {
        if (first.ok()) first = conn_.ConnectionError("postgres sink pipeline: lost sync");
        break;
      }
      continue;
    }
    bool got = false;
    while (PGresult* r = PQgetResult(c)) {
      got = true;
      ExecStatusType st = PQresultStatus(r);
      if (st == PGRES_FATAL_ERROR && first.ok()) {
        // The event can be named only while its batch is here (the Apply() call that sent it).
        bool named = batch != nullptr && p.seq == apply_seq_ && p.event != kNoEvent;
        std::string what = "postgres sink";
        if (named) {
          what += ": " + Describe(*batch, p.event);
        } else if (p.table != nullptr) {
          what += ": table " + p.table->qualified;
        }
        if (p.kind == PendingResult::kPrepare) what += ": preparing a statement";
        if (p.kind == PendingResult::kExecMany) {
          what = "postgres sink: table " + (p.table ? p.table->qualified : std::string("?")) +
                 ": a multi-row statement";
        }
        first = conn_.ErrorFrom(r, what);
        bool unnamed_row = p.kind == PendingResult::kExecMany ||
                           (p.kind == PendingResult::kExec && p.event != kNoEvent && !named);
        if (unnamed_row && !first.IsRetriable()) {
          // Which row? Replay the batches one statement per event: that names it.
          precise_ = true;
          first = core::AbortedError(first.message() +
                                     "; replaying one statement per row to name the row");
        }
      }
      PQclear(r);
    }
    if (!got && !conn_.connected()) {
      if (first.ok()) first = conn_.ConnectionError("postgres sink pipeline");
      break;
    }
  }
  pending_.clear();
  return first;
}

Status PgApplier::ExitPipeline(const EventBatch* batch) {
  if (!in_pipeline_) return Status::Ok();
  Status s = SyncAndDrain(batch);
  if (!s.ok()) return s;
  if (PQexitPipelineMode(conn_.raw()) != 1) return conn_.ConnectionError("postgres sink pipeline");
  in_pipeline_ = false;
  return Status::Ok();
}

std::string PgApplier::Describe(const EventBatch& batch, uint32_t event_index) const {
  if (event_index >= batch.events().size()) return "batch";
  const core::ChangeEvent& e = batch.events()[event_index];
  std::string out = "table " + e.table->id.ToString();
  uint32_t row_index = e.before != core::kNoRow ? e.before : e.after;
  if (row_index == core::kNoRow || !e.table->HasKey()) return out;
  core::RowView row = batch.row(row_index);
  out += ", key (";
  for (size_t i = 0; i < e.table->key.size(); ++i) {
    uint32_t k = e.table->key[i];
    if (i > 0) out += ", ";
    out += e.table->columns[k].name + "=";
    if (k >= row.size() || !row.is_present(k)) {
      out += "NULL";
    } else {
      std::string_view v = row.text(k);
      if (v.size() > 64) v = v.substr(0, 64);
      out.append(v);
    }
  }
  out += ")";
  return out;
}

}  // namespace sluice::sinks::pgsink
