#include "connectors/mysql/incremental_snapshot.h"

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "connectors/mysql/snapshot_rows.h"
#include "core/clock.h"
#include "core/text_codec.h"

namespace sluice::mysql {
namespace {

// "database.table" (split at the first dot); kInvalidArgument without one.
core::Result<core::TableId> SplitTableName(const std::string& name) {
  const size_t dot = name.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == name.size()) {
    return core::InvalidArgumentError("table '" + name + "' must be named as database.table");
  }
  return core::TableId{name.substr(0, dot), name.substr(dot + 1)};
}

std::string Relation(const core::TableId& id) {
  return QuoteIdentifier(id.schema) + "." + QuoteIdentifier(id.table);
}

// Key columns of a binary type travel as hex in the stored progress (which is JSON text, so
// UTF-8) and come back as X'…' literals.
bool IsBinaryType(const std::string& data_type) {
  return data_type == "binary" || data_type == "varbinary" || data_type == "tinyblob" ||
         data_type == "blob" || data_type == "mediumblob" || data_type == "longblob";
}

std::string Hex(std::string_view bytes) {
  std::string out;
  core::AppendHexUpper(out, bytes);
  return out;
}

bool SameShape(const core::TableSchema& a, const core::TableSchema& b) {
  if (a.columns.size() != b.columns.size() || a.key != b.key) return false;
  for (size_t i = 0; i < a.columns.size(); ++i) {
    const core::Column& x = a.columns[i];
    const core::Column& y = b.columns[i];
    if (x.name != y.name || x.type != y.type || x.source_type != y.source_type ||
        x.nullable != y.nullable) {
      return false;
    }
  }
  return true;
}

// The chunk's binlog position: MariaDB's binlog_snapshot_* status of the connection's open
// consistent snapshot (outside one: the binlog's current end).
core::Result<BinlogPoint> SnapshotPoint(MysqlConnection& conn) {
  SLUICE_ASSIGN_OR_RETURN(auto rows, conn.Query("SHOW STATUS LIKE 'binlog_snapshot_%'"));
  std::map<std::string, std::string> status;
  for (const auto& r : rows) {
    if (r.size() >= 2 && r[0]) status[*r[0]] = r[1].value_or("");
  }
  return ParseBinlogSnapshotStatus(status);
}

// The binlog's current end: SHOW MASTER STATUS, which MySQL 8.4 renamed SHOW BINARY LOG STATUS.
core::Result<BinlogPoint> BinlogEnd(MysqlConnection& conn) {
  auto rows = conn.Query("SHOW MASTER STATUS");
  if (!rows.ok()) {
    if (rows.status().code() == core::StatusCode::kUnavailable) return rows.status();
    auto renamed = conn.Query("SHOW BINARY LOG STATUS");
    if (!renamed.ok()) {
      return rows.status().WithContext("the binlog end (SHOW MASTER STATUS, SHOW BINARY LOG "
                                       "STATUS: " + renamed.status().message() + ")");
    }
    rows = std::move(renamed);
  }
  return ParseBinlogEnd(rows->empty() ? nullptr : &(*rows)[0]);
}

bool operator==(const BinlogPoint& a, const BinlogPoint& b) {
  return a.file == b.file && a.pos == b.pos;
}

}  // namespace

const std::vector<std::string>& IncrementalFilterKeys() {
  static const std::vector<std::string> keys = {"database.include.list", "database.exclude.list",
                                                "table.include.list", "table.exclude.list"};
  return keys;
}

MysqlIncrementalSnapshot::MysqlIncrementalSnapshot(ConnectionParams params,
                                                   const CaptureFilter* filter,
                                                   ZeroDateMode zero_dates, size_t chunk_rows,
                                                   SnapshotConsistency consistency,
                                                   std::shared_ptr<spdlog::logger> logger)
    : params_(std::move(params)),
      filter_(filter),
      zero_dates_(zero_dates),
      chunk_rows_(std::max<size_t>(1, chunk_rows)),
      consistency_(consistency),
      logger_(std::move(logger)) {
  tracker_ = std::make_shared<core::IncrementalSnapshots>(
      [this](const std::string& table, const std::string& cond) { return Check(table, cond); });
}

MysqlIncrementalSnapshot::~MysqlIncrementalSnapshot() { Close(); }

std::string MysqlIncrementalSnapshot::PositionField(const core::ConnectorConfig& config) const {
  return core::IncrementalPositionField(*tracker_, config, IncrementalFilterKeys());
}

core::Status MysqlIncrementalSnapshot::Restart(const std::string& field) {
  Drop();
  table_cache_.reset();
  placement_.Reset();
  touches_.Clear();
  tracking_ = false;
  observed_to_.reset();
  open_committed_.reset();
  window_mode_.reset();
  stop_.store(false);
  if (restored_) return core::Status::Ok();
  restored_ = true;
  return core::RestoreIncrementalPositionField(*tracker_, field, "mysql", *logger_);
}

void MysqlIncrementalSnapshot::RequestNewTables(const std::string& field,
                                                const core::ConnectorConfig& config) {
  auto before_values = core::IncrementalFilterBefore(field, config, IncrementalFilterKeys());
  if (!before_values) return;
  auto list = [&]() -> core::Result<std::vector<core::TableId>> {
    SLUICE_ASSIGN_OR_RETURN(CaptureFilter before,
                            CaptureFilter::FromConfig(core::ConnectorConfig("", *before_values)));
    MysqlConnection conn;
    SLUICE_RETURN_IF_ERROR(conn.Connect(params_));
    SLUICE_ASSIGN_OR_RETURN(std::vector<core::TableId> then_tables,
                            SchemaLoader(&conn, &before).ListTables());
    SLUICE_ASSIGN_OR_RETURN(std::vector<core::TableId> now_tables,
                            SchemaLoader(&conn, filter_).ListTables());
    std::vector<core::TableId> added;
    for (const core::TableId& t : now_tables) {
      if (std::find(then_tables.begin(), then_tables.end(), t) == then_tables.end()) {
        added.push_back(t);
      }
    }
    return added;
  };
  auto added = list();
  if (!added.ok()) {
    logger_->warn("mysql: the table filter changed, but the tables it added could not be listed "
                  "({}); request their incremental snapshot with POST "
                  "/connectors/{{name}}/snapshots", added.status().message());
    return;
  }
  core::RequestAddedTables(*tracker_, *added, *logger_, "mysql");
}

core::Result<core::IncrementalTableInfo> MysqlIncrementalSnapshot::Check(const std::string& table,
                                                                         const std::string& cond) {
  ConnectionParams params = params_;
  params.connect_timeout_s = std::min(params.connect_timeout_s, 5);
  MysqlConnection conn;
  SLUICE_RETURN_IF_ERROR(conn.Connect(params));
  SLUICE_ASSIGN_OR_RETURN(bool window, DecideWindow(conn));
  // Binary logging on: a position to read (outside a transaction, the snapshot status is the
  // binlog's end too).
  SLUICE_RETURN_IF_ERROR(window ? BinlogEnd(conn).status() : SnapshotPoint(conn).status());
  SLUICE_ASSIGN_OR_RETURN(core::TableId id, SplitTableName(table));
  SLUICE_ASSIGN_OR_RETURN(
      auto found,
      conn.Query("SELECT COALESCE(TABLE_ROWS, 0) FROM information_schema.TABLES WHERE "
                 "TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA = " + conn.Quote(id.schema) +
                 " AND TABLE_NAME = " + conn.Quote(id.table)));
  if (found.empty()) {
    return core::NotFoundError("table " + table + " does not exist on " + params.host + ":" +
                               std::to_string(params.port) + " (name it as database.table, "
                               "spelled as in information_schema.TABLES)");
  }
  if (!filter_->IncludesTable(id)) {
    return core::InvalidArgumentError(
        "table " + table + " is not captured by this connector: add it to table.include.list "
        "(and database.include.list) first (PATCH /connectors/{name}/config)");
  }
  SLUICE_ASSIGN_OR_RETURN(LoadedTable loaded, SchemaLoader(&conn, filter_).Load(id, 1));
  if (!loaded.schema->HasKey()) {
    return core::InvalidArgumentError(
        "table " + table + " has no primary key: incremental snapshots read a table in key "
        "order; add a primary key");
  }
  auto probe = conn.Query("SELECT 1 FROM " + Relation(id) + " LIMIT 0");
  if (!probe.ok()) {
    if (probe.status().code() == core::StatusCode::kPermissionDenied) {
      return core::PermissionDeniedError("user " + params.user + " may not read table " + table +
                                         ": GRANT SELECT ON " + Relation(id) + " TO " +
                                         conn.Quote(params.user));
    }
    return probe.status();
  }
  if (!cond.empty()) {
    auto explained = conn.Query("EXPLAIN SELECT 1 FROM " + Relation(id) + " WHERE (" + cond + ")");
    if (!explained.ok()) {
      return core::InvalidArgumentError("the filter of " + table + " is not a valid condition on "
                                        "its rows: " + explained.status().message());
    }
  }
  uint64_t estimated = 0;
  if (!found[0].empty() && found[0][0]) estimated = std::strtoull(found[0][0]->c_str(), nullptr, 10);
  return core::IncrementalTableInfo{id.ToString(), estimated, window ? "window" : "exact"};
}

core::Result<bool> MysqlIncrementalSnapshot::DecideWindow(MysqlConnection& conn) {
  SLUICE_ASSIGN_OR_RETURN(auto rows, conn.Query("SHOW STATUS LIKE 'binlog_snapshot_%'"));
  std::map<std::string, std::string> status;
  for (const auto& r : rows) {
    if (r.size() >= 2 && r[0]) status[*r[0]] = r[1].value_or("");
  }
  const bool has = HasBinlogSnapshotStatus(status);
  return UseWindow(consistency_, has);
}

core::Result<bool> MysqlIncrementalSnapshot::Prepare(StreamReader& stream, core::EventBatch& batch,
                                                     bool may_read) {
  poll_from_ = scan_from_ = batch.size();
  const BinlogLocation read_to = stream.read_to();
  const BinlogPoint now_read{std::string(read_to.file), read_to.pos};
  if (observed_to_ && !(*observed_to_ == now_read)) {
    // The stream moved in Polls this object did not see (no snapshot was running): what it
    // touched then is unknown.
    touches_.Clear();
    tracking_ = false;
    open_committed_.reset();
  }
  const BinlogPosition committed = stream.committed();
  prepare_committed_ = {committed.file, committed.pos};
  if (stream.between_transactions()) StartTracking();
  if (held_ && !tracker_->Wanted(held_->task)) Drop();  // cancelled
  if (!held_) {
    if (!may_read) return false;
    std::optional<core::IncrementalSnapshots::Task> task = tracker_->Next();
    if (!task) return false;
    std::optional<ChunkWindow> window;
    auto use_window = Connected();
    if (use_window.ok() && *use_window &&
        (!tracking_ || std::chrono::steady_clock::now() - tracking_since_ < kTouchLookback)) {
      // The window's seeds must cover the transaction the stream is inside, from its start, and
      // kTouchLookback before W: the stream goes on until they do (once per snapshot request
      // or stream restart).
      return false;
    }
    const auto read_start = std::chrono::steady_clock::now();
    timings_.ReadStarts(read_start);
    auto chunk = use_window.ok() ? ReadChunk(*task, stream, window)
                                 : core::Result<Held>(use_window.status());
    const auto read_end = std::chrono::steady_clock::now();
    timings_.read += read_end - read_start;
    if (!chunk.ok()) {
      {
        std::lock_guard lock(conn_mu_);
        conn_.reset();  // possibly inside a transaction or a streamed result
      }
      if (stop_.load()) return false;
      const core::Status& st = chunk.status();
      if (st.code() == core::StatusCode::kUnavailable || st.code() == core::StatusCode::kAborted) {
        return st;
      }
      if (st.code() == core::StatusCode::kCancelled) return false;
      logger_->error("mysql incremental snapshot of {} failed: {}", task->table, st.message());
      tracker_->Fail(*task, st.message());
      return false;
    }
    if (chunk->rows.row_count() == 0) {
      tracker_->ChunkHandedOver(*task, {}, 0, true);
      window_.reset();
      logger_->info("mysql incremental snapshot of {} finished: {}", task->table,
                    timings_.Summary());
      timings_.Reset();
      return false;
    }
    auto verdict = placement_.ChunkRead(chunk->at);
    if (!verdict.ok()) {
      logger_->error("mysql incremental snapshot of {} failed: {}", task->table,
                     verdict.status().message());
      tracker_->Fail(*task, verdict.status().message());
      return false;
    }
    if (*verdict == ChunkPlacement::Verdict::kStale) {
      logger_->debug("mysql incremental snapshot of {}: the stream is past the chunk's binlog "
                     "position {}:{}; reading the chunk again", task->table, chunk->at.file,
                     chunk->at.pos);
      ++timings_.rereads;
      return false;
    }
    held_ = std::move(*chunk);
    held_->read_at = read_end;
    window_ = std::move(window);
  }
  return HandOverIfCaughtUp(stream, batch);
}

core::Result<bool> MysqlIncrementalSnapshot::Connected() {
  {
    std::lock_guard lock(conn_mu_);
    if (!conn_) {
      auto conn = std::make_unique<MysqlConnection>();
      SLUICE_RETURN_IF_ERROR(conn->Connect(params_));
      conn_ = std::move(conn);
      window_mode_.reset();
    }
  }
  if (!window_mode_) {
    SLUICE_ASSIGN_OR_RETURN(bool use_window, DecideWindow(*conn_));
    window_mode_ = use_window;
  }
  return *window_mode_;
}

core::Result<MysqlIncrementalSnapshot::Held> MysqlIncrementalSnapshot::ReadChunk(
    const core::IncrementalSnapshots::Task& task, StreamReader& stream,
    std::optional<ChunkWindow>& window) {
  window.reset();
  SLUICE_RETURN_IF_ERROR(Connected().status());
  MysqlConnection& conn = *conn_;
  const std::string context = "mysql incremental snapshot of " + task.table;
  SLUICE_ASSIGN_OR_RETURN(core::TableId id, SplitTableName(task.table));
  // Window: no low mark is read from the server. The window starts where the stream stood (W,
  // with the seeds of StreamTouches), which is at or before the binlog's end L at this point.
  SLUICE_RETURN_IF_ERROR(conn.Execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"));
  Held held;
  held.task = task;
  held.read_unix_ms = core::NowUnixMs();
  if (!*window_mode_) {
    SLUICE_ASSIGN_OR_RETURN(held.at, SnapshotPoint(conn));
  }
  if (!filter_->IncludesTable(id)) {
    return core::FailedPreconditionError(context + ": table.include.list no longer includes it");
  }
  SLUICE_ASSIGN_OR_RETURN(const LoadedTable* current, CurrentTable(conn, id, context));
  const LoadedTable& loaded = *current;
  const core::TableSchema& schema = *loaded.schema;
  if (!schema.HasKey()) return core::FailedPreconditionError(context + ": it has no key any more");
  if (!task.last_key.empty() && task.last_key.size() != schema.key.size()) {
    return core::FailedPreconditionError(context + ": its key changed (" +
                                         std::to_string(schema.key.size()) +
                                         " columns now); request it again");
  }
  std::vector<std::string> keys, last;
  std::vector<bool> binary;
  for (size_t i = 0; i < schema.key.size(); ++i) {
    const std::string& name = schema.columns[schema.key[i]].name;
    keys.push_back(QuoteIdentifier(name));
    auto col = std::find_if(loaded.columns.begin(), loaded.columns.end(),
                            [&](const InformationSchemaColumn& c) { return c.name == name; });
    binary.push_back(col != loaded.columns.end() && IsBinaryType(col->data_type));
    if (!task.last_key.empty()) {
      // Key columns are NOT NULL (primary key).
      const std::string& v = task.last_key[i].value_or("");
      last.push_back(binary.back() ? "X'" + v + "'" : conn.Quote(v));
    }
  }
  SnapshotRowCodec codec(&loaded, zero_dates_);
  const std::string sql =
      ChunkQuery(codec.SelectList(), Relation(id), keys, task.filter, last, chunk_rows_);
  SLUICE_RETURN_IF_ERROR(conn.StartStream(sql).WithContext(context));
  const size_t nkeys = keys.size();
  const size_t first_key = conn.stream_field_count() - nkeys;
  uint64_t bytes = 0, zero_dates = 0;
  char** values;
  unsigned long* lengths;
  core::KeyText row_key(nkeys);
  while (conn.NextRow(values, lengths)) {
    held.rows.BeginRow();
    SLUICE_RETURN_IF_ERROR(codec.AppendRow(held.rows, values, lengths, bytes, zero_dates, scratch_)
                               .WithContext(context));
    held.rows.EndRow();
    for (size_t k = 0; k < nkeys; ++k) {
      const char* v = values[first_key + k];
      if (v == nullptr) return core::DataLossError(context + ": a key column is NULL");
      std::string_view text(v, lengths[first_key + k]);
      row_key[k] = binary[k] ? Hex(text) : std::string(text);
    }
  }
  SLUICE_RETURN_IF_ERROR(conn.stream_status().WithContext(context));
  conn.EndStream();
  SLUICE_RETURN_IF_ERROR(conn.Execute("COMMIT"));
  if (*window_mode_) {
    // H: every transaction the read view saw was written to the binlog before it.
    SLUICE_ASSIGN_OR_RETURN(held.at, BinlogEnd(conn));
    std::vector<KeyFold> folds;
    for (uint32_t k : schema.key) {
      const std::string& name = schema.columns[k].name;
      auto col = std::find_if(loaded.columns.begin(), loaded.columns.end(),
                              [&](const InformationSchemaColumn& c) { return c.name == name; });
      folds.push_back(col == loaded.columns.end() ? KeyFold::kExact
                                                  : KeyFoldFor(col->data_type, col->collation));
    }
    window.emplace(id, held.rows, schema.key, std::move(folds));
    window->Apply(touches_);
  }
  if (held.rows.row_count() > 0) held.last_key = std::move(row_key);
  held.last = held.rows.row_count() < chunk_rows_;
  held.schema = EmittedSchema(loaded, stream);
  return held;
}

core::Result<const LoadedTable*> MysqlIncrementalSnapshot::CurrentTable(
    MysqlConnection& conn, const core::TableId& id, const std::string& context) {
  auto shown = conn.Query("SHOW CREATE TABLE " + Relation(id));
  std::string definition;
  if (shown.ok()) {
    if (!shown->empty() && (*shown)[0].size() >= 2 && (*shown)[0][1]) {
      definition = TableDefinition(*(*shown)[0][1]);
    }
  } else if (shown.status().code() == core::StatusCode::kUnavailable) {
    return shown.status();
  }  // else (dropped, no privilege): the loader below says why
  if (!definition.empty() && table_cache_ && table_cache_->id == id &&
      table_cache_->definition == definition) {
    return &table_cache_->loaded;
  }
  table_cache_.reset();
  auto loaded_or = SchemaLoader(&conn, filter_).Load(id, 1);
  if (loaded_or.status().code() == core::StatusCode::kNotFound) {
    return core::FailedPreconditionError(context + ": the table no longer exists");
  }
  SLUICE_RETURN_IF_ERROR(loaded_or.status());
  // Read before the loader: a DDL in between leaves an older definition, which the next chunk's
  // no longer matches, so the table is loaded again then.
  table_cache_ = CachedTable{id, std::move(definition), std::move(*loaded_or)};
  return &table_cache_->loaded;
}

core::TableSchemaPtr MysqlIncrementalSnapshot::EmittedSchema(const LoadedTable& loaded,
                                                             StreamReader& stream) {
  const core::TableId& id = loaded.schema->id;
  auto streamed = stream.CapturedSchema(id);
  if (streamed.ok() && SameShape(*(*streamed)->schema, *loaded.schema)) return (*streamed)->schema;
  auto cached = loaded_schemas_.find(id);
  if (cached != loaded_schemas_.end() && SameShape(*cached->second, *loaded.schema)) {
    return cached->second;
  }
  // The stream has not met the table's current shape yet (DDL ahead of it): a version of its own.
  auto copy = std::make_shared<core::TableSchema>(*loaded.schema);
  copy->version = stream.TakeSchemaVersion();
  loaded_schemas_[id] = copy;
  return copy;
}

core::Status MysqlIncrementalSnapshot::BeforeTransaction(const BinlogLocation& start,
                                                         bool may_emit, core::EventBatch& batch) {
  auto now = placement_.HandOverBefore({std::string(start.file), start.pos});
  if (!now.ok()) {
    if (held_ && !held_->handed_over) {
      logger_->error("mysql incremental snapshot of {} failed: {}", held_->task.table,
                     now.status().message());
      tracker_->Fail(held_->task, now.status().message());
      Drop();
    }
    return core::Status::Ok();
  }
  if (!*now || !held_ || held_->handed_over) return core::Status::Ok();
  // The first streamed transaction at or after P (or H): the chunk belongs here.
  if (may_emit) {
    if (window_ && !ApplyWindow(batch)) return core::Status::Ok();
    HandOver(batch);
  } else {
    held_.reset();  // a replay being skipped, handed over before: read the chunk again
    window_.reset();
  }
  return core::Status::Ok();
}

bool MysqlIncrementalSnapshot::HandOverIfCaughtUp(StreamReader& stream, core::EventBatch& batch) {
  if (!held_ || held_->handed_over) return false;
  const BinlogLocation read_to = stream.read_to();
  auto now = placement_.HandOverAtPollEnd({std::string(read_to.file), read_to.pos},
                                          stream.between_transactions());
  if (!now.ok()) {
    logger_->error("mysql incremental snapshot of {} failed: {}", held_->task.table,
                   now.status().message());
    tracker_->Fail(held_->task, now.status().message());
    Drop();
    return false;
  }
  if (!*now) return false;
  HandOver(batch);
  // Between transactions: the committed position is where the stream stands, so the progress
  // that travels with it is durable with this chunk even when the stream is idle.
  if (batch.checkpoint().empty()) batch.set_checkpoint({stream.committed().ToJson()});
  return true;
}

bool MysqlIncrementalSnapshot::AfterPoll(StreamReader& stream, core::EventBatch& batch) {
  if (window_ && held_ && !held_->handed_over) ApplyWindow(batch);
  const bool appended = HandOverIfCaughtUp(stream, batch);
  if (held_ && held_->handed_over) {
    const uint64_t dropped = window_ ? window_->dropped_count() : 0;
    tracker_->ChunkHandedOver(held_->task, held_->last_key, held_->rows.row_count() - dropped,
                              held_->last, dropped);
    if (held_->last) {
      logger_->info("mysql incremental snapshot of {} finished: {}", held_->task.table,
                    timings_.Summary());
      timings_.Reset();
    }
    held_.reset();
    window_.reset();
  }
  RecordTouches(stream, batch);
  return appended;
}

void MysqlIncrementalSnapshot::StartTracking() {
  if (tracking_) return;
  tracking_ = true;
  tracking_since_ = std::chrono::steady_clock::now();
}

bool MysqlIncrementalSnapshot::ApplyWindow(const core::EventBatch& batch) {
  const bool ok = window_->Apply(TouchedKeys(batch, scan_from_, batch.size()));
  scan_from_ = batch.size();
  if (ok) return true;
  logger_->info("mysql incremental snapshot of {}: the table's key changed while a chunk was "
                "held; reading the chunk again", held_->task.table);
  Drop();
  return false;
}

void MysqlIncrementalSnapshot::RecordTouches(StreamReader& stream, const core::EventBatch& batch) {
  const BinlogLocation read_to = stream.read_to();
  observed_to_ = BinlogPoint{std::string(read_to.file), read_to.pos};
  const BinlogPosition c = stream.committed();
  const BinlogPoint committed{c.file, c.pos};
  // A commit in this Poll: the transaction open at its end (if any) began within it.
  if (!(committed == prepare_committed_) || stream.between_transactions()) StartTracking();
  // Recorded while the method may be the window (before the first chunk, in auto mode, too).
  if (consistency_ == SnapshotConsistency::kExact || window_mode_ == false) return;
  // The open transaction's events are the batch's last ones, from its start (>= committed) on.
  size_t open_event = batch.size();
  if (!stream.between_transactions()) {
    const auto& events = batch.events();
    while (open_event > poll_from_) {
      const core::ChangeEvent& e = events[open_event - 1];
      const core::TxnInfo& t = batch.txn(e.txn);
      if (!t.snapshot && e.op != core::Op::kRead) {
        auto cmp = CompareBinlogPoints({t.file, t.pos}, committed);
        if (cmp.ok() && *cmp < 0) break;
      }
      --open_event;
    }
  }
  std::vector<TouchedKey> touched = TouchedKeys(batch, poll_from_, open_event);
  const size_t open_from = touched.size();
  for (TouchedKey& t : TouchedKeys(batch, open_event, batch.size())) {
    touched.push_back(std::move(t));
  }
  const bool continues = !stream.between_transactions() && open_committed_ &&
                         *open_committed_ == committed;
  touches_.Record(std::move(touched), open_from, continues, std::chrono::steady_clock::now());
  if (stream.between_transactions()) {
    open_committed_.reset();
  } else {
    open_committed_ = committed;
  }
}

void MysqlIncrementalSnapshot::HandOver(core::EventBatch& batch) {
  Held& h = *held_;
  core::TxnInfo info;
  info.ts_ms = h.read_unix_ms;
  info.snapshot = true;
  info.file = h.at.file;
  info.pos = h.at.pos;
  if (!window_) {
    core::AppendChunkRows(batch, h.rows, h.schema, info);
  } else if (window_->dropped_count() < h.rows.row_count()) {
    core::AppendChunkRows(batch, window_->KeptRows(h.rows), h.schema, info);
  }
  h.handed_over = true;
  ++timings_.chunks;
  timings_.handed_at = std::chrono::steady_clock::now();
  timings_.placement += *timings_.handed_at - h.read_at;
}

void MysqlIncrementalSnapshot::Drop() {
  held_.reset();
  window_.reset();
  placement_.Drop();
}

void MysqlIncrementalSnapshot::PollFailed() {
  if (held_ && held_->handed_over) {
    held_.reset();
    window_.reset();
  }
}

void MysqlIncrementalSnapshot::Cancel() {
  stop_.store(true);
  std::lock_guard lock(conn_mu_);
  if (conn_) conn_->Cancel();
}

void MysqlIncrementalSnapshot::Close() {
  Drop();
  placement_.Reset();
  std::lock_guard lock(conn_mu_);
  conn_.reset();
}

}  // namespace sluice::mysql
