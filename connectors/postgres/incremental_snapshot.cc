#include "connectors/postgres/incremental_snapshot.h"

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "connectors/postgres/pgoutput_decoder.h"
#include "core/clock.h"
#include "core/parse_number.h"

namespace sluice::pg {
namespace {

// Transactions handed over that a new chunk's snapshot is checked against. A transaction that
// committed but was still in progress for the snapshot is among the very newest.
constexpr size_t kHandedXidsKept = 1024;

// The config keys that decide which tables are captured, kept in the position.
const std::vector<std::string> kFilterKeys = {"table.include.list", "table.exclude.list",
                                              "schema.include.list", "schema.exclude.list"};

// One statement through the extended protocol, which refuses a second statement: a filter
// cannot end the read-only transaction and run something after it.
core::Result<PgResultPtr> ExecOne(PgConnection& conn, const std::string& sql,
                                  std::string_view context) {
  if (!conn.connected()) return core::UnavailableError(std::string(context) + ": not connected");
  PgResultPtr res(PQexecParams(conn.raw(), sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0));
  ExecStatusType st = PQresultStatus(res.get());
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    return StatusFromPg(conn.raw(), res.get(), context);
  }
  return res;
}

// The captured table named "schema.table" (nullopt when there is none).
core::Result<std::optional<TableEntry>> FindTable(PgConnection& conn, const std::string& name) {
  SLUICE_ASSIGN_OR_RETURN(
      PgRows rows,
      conn.Query("SELECT c.oid, n.nspname, c.relname, c.relreplident, "
                 "greatest(c.reltuples, 0)::bigint FROM pg_class c JOIN pg_namespace n ON "
                 "n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname || '.' || "
                 "c.relname = " + QuoteLiteral(name) + " ORDER BY n.nspname LIMIT 1"));
  if (rows.empty()) return std::optional<TableEntry>();
  const PgRow& r = rows[0];
  TableEntry t;
  t.id = {r[1].value_or(""), r[2].value_or("")};
  SLUICE_ASSIGN_OR_RETURN(t.relid, core::ParseNumber<uint32_t>(r[0].value_or(""), "pg_class oid"));
  t.replident = r[3].value_or("d")[0];
  SLUICE_ASSIGN_OR_RETURN(t.estimated_rows,
                          core::ParseNumber<uint64_t>(r[4].value_or("0"), "pg_class reltuples"));
  return std::optional<TableEntry>(std::move(t));
}

// The statement each chunk's transaction starts with, prepared once per connection (planning it
// cost more than running it): its snapshot, the LSN read after it, and the catalog fingerprint
// of the table named by $1.
constexpr char kChunkPointStatement[] = "sluice_chunk_point";

// One text that changes whenever what LoadRelation reads for `table` ("schema.table", matched as
// FindTable does) changes: its oid and replica identity, its columns (name, type, typmod, NOT
// NULL, generation expression) and its primary key and replica identity index. NULL when the
// table does not exist.
std::string CatalogFingerprintSql(std::string_view table) {
  return "(SELECT c.oid::text || ' ' || c.relreplident::text || ' ' || coalesce((SELECT "
         "string_agg(a.attnum || ' ' || quote_ident(a.attname) || ' ' || a.atttypid || ' ' || "
         "a.atttypmod || ' ' || a.attnotnull || ' ' || a.attgenerated::text || coalesce(' ' || "
         "(SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d WHERE d.adrelid = "
         "a.attrelid AND d.adnum = a.attnum AND a.attgenerated <> ''), ''), ',' ORDER BY "
         "a.attnum) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT "
         "a.attisdropped), '') || ' ' || coalesce((SELECT string_agg(i.indexrelid || ' ' || "
         "i.indkey::text || ' ' || i.indisprimary || ' ' || i.indisreplident, ',' ORDER BY "
         "i.indexrelid) FROM pg_index i WHERE i.indrelid = c.oid AND (i.indisprimary OR "
         "i.indisreplident)), '') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
         "WHERE c.relkind = 'r' AND n.nspname || '.' || c.relname = " + std::string(table) +
         " ORDER BY n.nspname LIMIT 1)";
}

std::string Relation(const core::TableId& id) {
  return QuoteIdent(id.schema) + "." + QuoteIdent(id.table);
}

}  // namespace

PgIncrementalSnapshot::PgIncrementalSnapshot(ConnectionParams params, const core::TableFilter* filter,
                                             SchemaCache* schemas, size_t chunk_rows,
                                             std::shared_ptr<spdlog::logger> logger)
    : params_(std::move(params)),
      filter_(filter),
      schemas_(schemas),
      chunk_rows_(std::max<size_t>(1, chunk_rows)),
      logger_(std::move(logger)) {
  tracker_ = std::make_shared<core::IncrementalSnapshots>(
      [this](const std::string& table, const std::string& cond) { return Check(table, cond); });
}

PgIncrementalSnapshot::~PgIncrementalSnapshot() { Close(); }

void PgIncrementalSnapshot::SetPublication(const std::string& publication) {
  std::lock_guard lock(publication_mu_);
  publication_ = publication;
}

std::string PgIncrementalSnapshot::PositionField(const core::ConnectorConfig& config) const {
  return core::IncrementalPositionField(*tracker_, config, kFilterKeys);
}

core::Status PgIncrementalSnapshot::Restart(const std::string& field) {
  held_.clear();
  stop_.store(false);
  if (restored_) return core::Status::Ok();
  restored_ = true;
  return core::RestoreIncrementalPositionField(*tracker_, field, "postgres", *logger_);
}

void PgIncrementalSnapshot::RequestNewTables(PgConnection& conn, const std::string& field,
                                             const core::ConnectorConfig& config) {
  auto before_values = core::IncrementalFilterBefore(field, config, kFilterKeys);
  if (!before_values) return;
  auto before = core::TableFilter::FromConfig(core::ConnectorConfig("", *before_values));
  auto then_tables = before.ok() ? ListCapturedTables(conn, *before)
                                 : core::Result<std::vector<TableEntry>>(before.status());
  auto now_tables = ListCapturedTables(conn, *filter_);
  if (!then_tables.ok() || !now_tables.ok()) {
    logger_->warn("postgres: the table filter changed, but the tables it added could not be "
                  "listed ({}); request their incremental snapshot with POST "
                  "/connectors/{{name}}/snapshots",
                  (then_tables.ok() ? now_tables.status() : then_tables.status()).message());
    return;
  }
  std::vector<core::TableId> added;
  for (const TableEntry& t : *now_tables) {
    bool known = std::any_of(then_tables->begin(), then_tables->end(),
                             [&](const TableEntry& o) { return o.id == t.id; });
    if (!known) added.push_back(t.id);
  }
  core::RequestAddedTables(*tracker_, added, *logger_, "postgres");
}

core::Result<core::IncrementalTableInfo> PgIncrementalSnapshot::Check(const std::string& table,
                                                                      const std::string& cond) {
  ConnectionParams params = params_;
  params.connect_timeout_s = std::min(params.connect_timeout_s, 5);
  PgConnection conn;
  SLUICE_RETURN_IF_ERROR(conn.Connect(params, false));
  SLUICE_ASSIGN_OR_RETURN(std::optional<TableEntry> entry, FindTable(conn, table));
  if (!entry) {
    return core::NotFoundError("table " + table + " does not exist in database " + params.dbname +
                               " (name it as schema.table, spelled as in the catalog)");
  }
  if (!filter_->IncludesTable(entry->id)) {
    return core::InvalidArgumentError(
        "table " + table + " is not captured by this connector: add it to table.include.list "
        "first (PATCH /connectors/{name}/config)");
  }
  std::string publication;
  {
    std::lock_guard lock(publication_mu_);
    publication = publication_;
  }
  if (!publication.empty()) {
    SLUICE_ASSIGN_OR_RETURN(
        PgRows rows,
        conn.Query("SELECT 1 FROM pg_publication_tables WHERE pubname = " +
                   QuoteLiteral(publication) + " AND schemaname = " +
                   QuoteLiteral(entry->id.schema) + " AND tablename = " +
                   QuoteLiteral(entry->id.table)));
    if (rows.empty()) {
      return core::FailedPreconditionError(
          "table " + table + " is not in publication " + publication + ", so its changes are not "
          "streamed: add it to the publication (or restart the connector, which updates a "
          "publication it created)");
    }
  }
  SLUICE_ASSIGN_OR_RETURN(PgRows allowed,
                          conn.Query("SELECT has_table_privilege(" + std::to_string(entry->relid) +
                                     ", 'SELECT')"));
  if (allowed.empty() || allowed[0][0].value_or("f") != "t") {
    return core::PermissionDeniedError("user " + params.user + " may not read table " + table +
                                       ": GRANT SELECT ON " + Relation(entry->id) + " TO " +
                                       QuoteIdent(params.user));
  }
  TypeResolver types(&conn);
  SLUICE_ASSIGN_OR_RETURN(RelationInfo rel,
                          LoadRelation(conn, types, *entry, params.dbname, *filter_, *schemas_));
  if (!rel.schema->HasKey()) {
    return core::InvalidArgumentError(
        "table " + table + " has no primary key (nor a replica identity index on included "
        "columns): incremental snapshots read a table in key order; add a primary key");
  }
  if (!cond.empty()) {
    SLUICE_RETURN_IF_ERROR(conn.Exec("BEGIN READ ONLY"));
    auto explained = ExecOne(conn, "EXPLAIN SELECT 1 FROM " + Relation(entry->id) + " WHERE (" +
                                       cond + ")", "filter");
    conn.Exec("ROLLBACK").ok();
    if (!explained.ok()) {
      return core::InvalidArgumentError("the filter of " + table + " is not a valid condition on "
                                        "its rows: " + explained.status().message());
    }
  }
  return core::IncrementalTableInfo{entry->id.ToString(), entry->estimated_rows};
}

std::optional<core::IncrementalSnapshots::Task> PgIncrementalSnapshot::NextTask() {
  if (held_.empty()) return tracker_->Next();
  const Held& back = held_.back();
  if (back.last) return std::nullopt;
  core::IncrementalSnapshots::Task task = back.task;
  task.last_key = back.last_key;
  return task;
}

core::Status PgIncrementalSnapshot::Prepare(StreamReader& stream, bool may_read) {
  if (!held_.empty() && !tracker_->Wanted(held_.front().task)) held_.clear();  // cancelled
  std::optional<core::IncrementalSnapshots::Task> task;
  if (may_read && held_.size() < kMaxHeldChunks) task = NextTask();
  if (task) {
    const auto read_start = std::chrono::steady_clock::now();
    timings_.ReadStarts(read_start);
    auto chunk = ReadChunk(*task);
    const auto read_end = std::chrono::steady_clock::now();
    timings_.read += read_end - read_start;
    if (!chunk.ok()) {
      {
        std::lock_guard lock(conn_mu_);
        if (conn_) conn_->Exec("ROLLBACK").ok();
      }
      if (stop_.load()) return core::Status::Ok();
      const core::Status& st = chunk.status();
      if (st.code() == core::StatusCode::kUnavailable || st.code() == core::StatusCode::kAborted ||
          st.code() == core::StatusCode::kCancelled) {
        std::lock_guard lock(conn_mu_);
        conn_.reset();
        types_.reset();
        return st.code() == core::StatusCode::kCancelled ? core::Status::Ok() : st;
      }
      logger_->error("postgres incremental snapshot of {} failed: {}", task->table, st.message());
      tracker_->Fail(*task, st.message());
      held_.clear();
      return core::Status::Ok();
    }
    if (!*chunk) {
      ++timings_.rereads;  // read again at the next Poll
    } else if ((*chunk)->rows.row_count() == 0) {
      if (held_.empty()) {
        tracker_->ChunkHandedOver(*task, {}, 0, true);
        logger_->info("postgres incremental snapshot of {} finished: {}", task->table,
                      timings_.Summary());
        timings_.Reset();
      } else {
        held_.back().last = true;  // the table ends with the chunk held before
      }
    } else {
      held_.push_back(std::move(**chunk));
      held_.back().read_at = read_end;
    }
  }
  const bool waiting = std::any_of(held_.begin(), held_.end(),
                                   [](const Held& h) { return !h.handed_over; });
  return waiting ? stream.RequestKeepalive() : core::Status::Ok();
}

core::Result<std::optional<PgIncrementalSnapshot::Held>> PgIncrementalSnapshot::ReadChunk(
    const core::IncrementalSnapshots::Task& task) {
  {
    std::lock_guard lock(conn_mu_);
    if (!conn_) {
      auto conn = std::make_unique<PgConnection>();
      SLUICE_RETURN_IF_ERROR(conn->Connect(params_, false));
      SLUICE_RETURN_IF_ERROR(conn->Exec(std::string("PREPARE ") + kChunkPointStatement +
                                        "(text) AS SELECT pg_current_snapshot()::text, "
                                        "pg_current_wal_lsn()::text, " +
                                        CatalogFingerprintSql("$1")));
      conn_ = std::move(conn);
      types_ = std::make_unique<TypeResolver>(conn_.get());
    }
  }
  PgConnection& conn = *conn_;
  const std::string context = "postgres incremental snapshot of " + task.table;
  // One round trip: the transaction, its snapshot (taken by its first statement), the LSN read
  // after it (so every transaction the snapshot sees committed below it) and a fingerprint of
  // the table's catalog rows; the relation is loaded again only when the fingerprint changed.
  SLUICE_ASSIGN_OR_RETURN(
      PgRows at,
      conn.Query(std::string("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; EXECUTE ") +
                 kChunkPointStatement + "(" + QuoteLiteral(task.table) + ")"));
  Held held;
  held.task = task;
  held.read_unix_ms = core::NowUnixMs();
  SLUICE_ASSIGN_OR_RETURN(held.at.xids, PgSnapshotXids::Parse(at.at(0).at(0).value_or("")));
  if (!ParseLsn(at[0].at(1).value_or(""), held.at.wal_lsn)) {
    return core::DataLossError(context + ": pg_current_wal_lsn() is malformed");
  }
  if (!at[0].at(2)) return core::FailedPreconditionError(context + ": the table no longer exists");
  if (!relation_ || relation_->table != task.table || relation_->fingerprint != *at[0][2]) {
    relation_.reset();
    SLUICE_ASSIGN_OR_RETURN(std::optional<TableEntry> entry, FindTable(conn, task.table));
    if (!entry) return core::FailedPreconditionError(context + ": the table no longer exists");
    SLUICE_ASSIGN_OR_RETURN(RelationInfo loaded, LoadRelation(conn, *types_, *entry, params_.dbname,
                                                              *filter_, *schemas_));
    relation_ = CachedRelation{task.table, *at[0][2], std::move(loaded)};
  }
  const RelationInfo& rel = relation_->rel;
  const core::TableSchema& schema = *rel.schema;
  if (!rel.captured) {
    return core::FailedPreconditionError(context + ": table.include.list no longer includes it");
  }
  if (!schema.HasKey()) return core::FailedPreconditionError(context + ": it has no key any more");
  if (!task.last_key.empty() && task.last_key.size() != schema.key.size()) {
    return core::FailedPreconditionError(context + ": its key changed (" +
                                         std::to_string(schema.key.size()) +
                                         " columns now); request it again");
  }
  // ORDER BY output positions: a key's text column shares its name.
  std::string cols, keys, key_order, key_texts, last;
  for (const auto& c : schema.columns) {
    if (!cols.empty()) cols += ", ";
    cols += QuoteIdent(c.name);
  }
  for (size_t i = 0; i < schema.key.size(); ++i) {
    const std::string col = QuoteIdent(schema.columns[schema.key[i]].name);
    keys += (i ? ", " : "") + col;
    key_order += (i ? ", " : "") + std::to_string(schema.key[i] + 1);
    key_texts += ", " + col + "::text";
    if (!task.last_key.empty()) {
      // Key columns are NOT NULL (primary key or replica identity index).
      last += (i ? ", " : "") + QuoteLiteral(task.last_key[i].value_or(""));
    }
  }
  std::string sql = "SELECT " + cols + key_texts + " FROM " + Relation(schema.id) + " WHERE (" +
                    (task.filter.empty() ? std::string("true") : task.filter) + ")";
  if (!task.last_key.empty()) sql += " AND (" + keys + ") > (" + last + ")";
  sql += " ORDER BY " + key_order + " LIMIT " + std::to_string(chunk_rows_);
  held.schema = rel.schema;
  SLUICE_RETURN_IF_ERROR(ReadRows(sql, held, rel.codecs).WithContext(context));
  SLUICE_RETURN_IF_ERROR(conn.Exec("COMMIT"));
  held.last = held.rows.row_count() < chunk_rows_;
  // A transaction handed over already that this snapshot did not see (it committed in the WAL
  // just before the snapshot, but was still in progress for it): the chunk would undo it.
  for (uint32_t xid : handed_xids_) {
    if (!held.at.xids.Sees(xid)) {
      logger_->debug("{}: transaction {} was streamed but is not in the chunk's snapshot; "
                     "reading the chunk again", context, xid);
      return std::optional<Held>();
    }
  }
  return std::optional<Held>(std::move(held));
}

core::Status PgIncrementalSnapshot::ReadRows(const std::string& sql, Held& held,
                                             const std::vector<ColumnCodec>& codecs) {
  SLUICE_ASSIGN_OR_RETURN(PgResultPtr res, ExecOne(*conn_, sql, "chunk query"));
  const core::TableSchema& schema = *held.schema;
  const int ncols = static_cast<int>(schema.columns.size());
  const int nkeys = static_cast<int>(schema.key.size());
  if (PQnfields(res.get()) != ncols + nkeys) {
    return core::InternalError("the chunk query returned " + std::to_string(PQnfields(res.get())) +
                               " columns");
  }
  const int n = PQntuples(res.get());
  core::EventBatch& rows = held.rows;
  for (int r = 0; r < n; ++r) {
    rows.BeginRow();
    for (int c = 0; c < ncols; ++c) {
      if (PQgetisnull(res.get(), r, c)) {
        rows.AppendNull();
        continue;
      }
      std::string_view text(PQgetvalue(res.get(), r, c),
                            static_cast<size_t>(PQgetlength(res.get(), r, c)));
      if (!AppendCanonical(rows, codecs[c], text, scratch_)) {
        return core::DataLossError("malformed value of column " + schema.columns[c].name + " (" +
                                   schema.columns[c].source_type + ")");
      }
    }
    rows.EndRow();
  }
  if (n > 0) {
    for (int k = 0; k < nkeys; ++k) {
      held.last_key.emplace_back(std::string(PQgetvalue(res.get(), n - 1, ncols + k),
                                             static_cast<size_t>(PQgetlength(res.get(), n - 1, ncols + k))));
    }
  }
  return core::Status::Ok();
}

core::Status PgIncrementalSnapshot::BeforeTransaction(uint32_t xid, bool may_emit,
                                                      core::EventBatch& batch) {
  handed_xids_.push_back(xid);
  if (handed_xids_.size() > kHandedXidsKept) handed_xids_.pop_front();
  for (Held& h : held_) {
    if (h.handed_over || h.at.xids.Sees(xid)) continue;
    // The first streamed transaction the chunk's snapshot did not see: the chunk belongs here.
    if (!may_emit) {
      DropUnplaced();  // handed over before (a replay being skipped): read the chunks again
      break;
    }
    HandOver(h, batch);
  }
  return core::Status::Ok();
}

bool PgIncrementalSnapshot::AfterPoll(StreamReader& stream, core::EventBatch& batch) {
  bool appended = false;
  if (stream.between_transactions()) {
    for (Held& h : held_) {
      if (h.handed_over || stream.server_wal_end() < h.at.wal_lsn) continue;
      HandOver(h, batch);
      appended = true;
    }
  }
  while (!held_.empty() && held_.front().handed_over) {
    const Held& h = held_.front();
    tracker_->ChunkHandedOver(h.task, h.last_key, h.rows.row_count(), h.last);
    if (h.last) {
      logger_->info("postgres incremental snapshot of {} finished: {}", h.task.table,
                    timings_.Summary());
      timings_.Reset();
    }
    held_.pop_front();
  }
  return appended;
}

void PgIncrementalSnapshot::HandOver(Held& h, core::EventBatch& batch) {
  core::TxnInfo info;
  info.ts_ms = h.read_unix_ms;
  info.snapshot = true;
  info.lsn = h.at.wal_lsn;
  core::AppendChunkRows(batch, h.rows, h.schema, info);
  h.handed_over = true;
  ++timings_.chunks;
  timings_.handed_at = std::chrono::steady_clock::now();
  timings_.placement += *timings_.handed_at - h.read_at;
}

void PgIncrementalSnapshot::DropUnplaced() {
  auto first =
      std::find_if(held_.begin(), held_.end(), [](const Held& h) { return !h.handed_over; });
  held_.erase(first, held_.end());
}

void PgIncrementalSnapshot::PollFailed() {
  // The batch carried the chunks handed over; those read after them continue from their keys.
  if (std::any_of(held_.begin(), held_.end(), [](const Held& h) { return h.handed_over; })) {
    held_.clear();
  }
}

void PgIncrementalSnapshot::Cancel() {
  stop_.store(true);
  std::lock_guard lock(conn_mu_);
  if (conn_) conn_->Cancel();
}

void PgIncrementalSnapshot::Close() {
  held_.clear();
  std::lock_guard lock(conn_mu_);
  types_.reset();
  conn_.reset();
}

}  // namespace sluice::pg
