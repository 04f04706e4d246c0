#include "connectors/mysql/snapshot_reader.h"

#include <algorithm>
#include <charconv>

#include <spdlog/spdlog.h>

#include "connectors/mysql/snapshot_schema_changes.h"
#include "core/clock.h"
#include "core/parse_number.h"

namespace sluice::mysql {
namespace {

bool ParseInt64(const std::optional<std::string>& text, int64_t& out) {
  if (!text) return false;
  auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), out);
  return ec == std::errc() && p == text->data() + text->size();
}

bool IsIntegerKey(const core::Column& c) {
  return c.type == core::LogicalType::kInt16 || c.type == core::LogicalType::kInt32 ||
         c.type == core::LogicalType::kInt64;
}

}  // namespace

SnapshotReader::SnapshotReader(ConnectionParams params, const CaptureFilter* filter,
                               SnapshotOptions options, std::shared_ptr<spdlog::logger> logger,
                               core::ProgressTracker* progress)
    : params_(std::move(params)), filter_(filter), options_(options), logger_(std::move(logger)),
      progress_(progress) {}

SnapshotReader::~SnapshotReader() {
  Cancel();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
}

// One connection: MariaDB's binlog_snapshot_* status needs no lock; MySQL takes a short global
// read lock around the snapshot start.
core::Status SnapshotReader::StartOneSnapshot(MysqlConnection& conn) {
  SLUICE_RETURN_IF_ERROR(conn.Execute("START TRANSACTION WITH CONSISTENT SNAPSHOT"));
  SLUICE_ASSIGN_OR_RETURN(auto status, conn.Query("SHOW STATUS LIKE 'binlog_snapshot_%'"));
  for (const auto& r : status) {
    if (r[0] == "Binlog_snapshot_file") position_.file = r[1].value_or("");
    if (r[0] == "Binlog_snapshot_position") {
      SLUICE_ASSIGN_OR_RETURN(position_.pos,
                              core::ParseNumber<uint64_t>(r[1].value_or(""),
                                                          "mysql Binlog_snapshot_position"));
    }
  }
  if (!position_.file.empty()) {
    if (conn.is_mariadb()) {
      // Read right after the snapshot started, in the same transaction: the GTID state of that
      // position is what binlog_snapshot_* describes as long as nothing commits in between,
      // which the stream tolerates (GTID positions are only used to reconnect).
      auto gtid = conn.Query("SELECT @@global.gtid_binlog_pos");
      if (gtid.ok() && !gtid->empty()) position_.gtid = (*gtid)[0][0].value_or("");
    }
    return core::Status::Ok();
  }
  SLUICE_RETURN_IF_ERROR(conn.Execute("ROLLBACK"));
  SLUICE_RETURN_IF_ERROR(conn.Execute("FLUSH TABLES WITH READ LOCK"));
  core::Status st = conn.Execute("START TRANSACTION WITH CONSISTENT SNAPSHOT");
  auto master = st.ok() ? conn.Query("SHOW MASTER STATUS") : core::Result<std::vector<ResultRow>>(st);
  core::Status unlock = conn.Execute("UNLOCK TABLES");
  if (!master.ok()) return master.status();
  SLUICE_RETURN_IF_ERROR(unlock);
  return SetPositionFromMasterStatus(*master);
}

core::Result<BinlogPosition> PositionFromMasterStatus(const std::vector<ResultRow>& master) {
  if (master.empty()) {
    return core::FailedPreconditionError("mysql: binary logging is off; start the server with "
                                         "log_bin, binlog_format=ROW, binlog_row_image=FULL");
  }
  BinlogPosition at;
  at.file = master[0][0].value_or("");
  SLUICE_ASSIGN_OR_RETURN(at.pos, core::ParseNumber<uint64_t>(master[0][1].value_or(""),
                                                              "mysql SHOW MASTER STATUS position"));
  return at;
}

core::Status SnapshotReader::SetPositionFromMasterStatus(const std::vector<ResultRow>& master) {
  SLUICE_ASSIGN_OR_RETURN(BinlogPosition at, PositionFromMasterStatus(master));
  position_.file = std::move(at.file);
  position_.pos = at.pos;
  return core::Status::Ok();
}

// Several connections: equal snapshots under a global read lock (see the header for why the
// result is one consistent image at the position read under the lock).
core::Status SnapshotReader::StartSnapshots(int workers) {
  for (int i = 0; i < workers; ++i) {
    auto conn = std::make_unique<MysqlConnection>();
    SLUICE_RETURN_IF_ERROR(conn->Connect(params_));
    SLUICE_RETURN_IF_ERROR(conn->Execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"));
    conns_.push_back(std::move(conn));
  }
  if (workers > 1) {
    core::Status locked = control_.Execute("SET SESSION lock_wait_timeout = 10");
    if (locked.ok()) locked = control_.Execute("FLUSH TABLES WITH READ LOCK");
    if (locked.ok()) {
      core::Status st;
      for (auto& conn : conns_) {
        if (st.ok()) st = conn->Execute("START TRANSACTION WITH CONSISTENT SNAPSHOT");
      }
      core::Result<std::vector<ResultRow>> master =
          st.ok() ? control_.Query("SHOW MASTER STATUS") : core::Result<std::vector<ResultRow>>(st);
      core::Result<std::vector<ResultRow>> gtid = std::vector<ResultRow>();
      if (master.ok() && control_.is_mariadb()) gtid = control_.Query("SELECT @@global.gtid_binlog_pos");
      core::Status unlock = control_.Execute("UNLOCK TABLES");
      if (!master.ok()) return master.status().WithContext("mysql snapshot under the global read lock");
      if (!gtid.ok()) return gtid.status();
      SLUICE_RETURN_IF_ERROR(unlock);
      SLUICE_RETURN_IF_ERROR(SetPositionFromMasterStatus(*master));
      if (!gtid->empty()) position_.gtid = (*gtid)[0][0].value_or("");
      return core::Status::Ok();
    }
    logger_->warn("mysql snapshot: FLUSH TABLES WITH READ LOCK failed ({}); reading with one "
                  "connection (grant RELOAD for a parallel snapshot)",
                  locked.message());
    conns_.resize(1);
  }
  return StartOneSnapshot(*conns_[0]);
}

core::Status SnapshotReader::Open(bool restarted) {
  restarted_ = restarted;
  SLUICE_RETURN_IF_ERROR(control_.Connect(params_));
  SchemaLoader loader(&control_, filter_);
  SLUICE_ASSIGN_OR_RETURN(tables_, loader.ListTables());
  if (!options_.include_tables.empty()) {  // snapshot.include.collection.list
    std::erase_if(tables_, [&](const core::TableId& id) {
      return !core::AnyFullMatch(options_.include_tables, id.ToString());
    });
  }
  // Schemas before the snapshot: information_schema is not transactional anyway, and a table
  // changed in between is caught by the stream, which re-reads schemas at its TABLE_MAPs.
  loaded_.clear();
  codecs_.clear();
  for (const auto& id : tables_) {
    auto loaded = loader.Load(id, 1);
    if (!loaded.ok()) return loaded.status().WithContext("mysql snapshot of " + id.ToString());
    loaded_.push_back(std::move(*loaded));
  }
  if (options_.include_schema_changes) {
    SLUICE_ASSIGN_OR_RETURN(schema_changes_, ReadSnapshotSchemaChanges(control_, loaded_,
                                                                      options_.include_schema_comments));
  }
  // After loaded_ is complete: each codec points into it.
  for (const LoadedTable& t : loaded_) codecs_.emplace_back(&t, options_.zero_dates);
  SLUICE_RETURN_IF_ERROR(EstimateTables());
  // More connections than chunks would only hold the global read lock for nothing.
  int64_t potential = 0;
  for (int64_t rows : estimated_rows_) {
    potential += rows > static_cast<int64_t>(options_.chunk_rows)
                     ? rows / static_cast<int64_t>(options_.chunk_rows) + 1
                     : 1;
  }
  started_ms_ = core::NowUnixMs();
  int workers = static_cast<int>(std::clamp<int64_t>(potential, 1, std::max(1, options_.threads)));
  SLUICE_RETURN_IF_ERROR(StartSnapshots(workers));
  SLUICE_RETURN_IF_ERROR(PlanChunks());
  workers = static_cast<int>(std::min(conns_.size(), std::max<size_t>(1, chunks_.size())));
  conns_.resize(static_cast<size_t>(workers));  // spare connections end their snapshots here
  if (progress_ != nullptr) {
    progress_->SetPhase("snapshot");
    for (const auto& t : tables_) {
      progress_->AddTable(t.ToString(), 0);
      if (restarted_) progress_->ResetTable(t.ToString());
    }
  }
  logger_->info("mysql snapshot of {} tables in {} chunks on {} connections at {}:{}{}",
                tables_.size(), chunks_.size(), workers, position_.file, position_.pos,
                restarted_ ? " (restarted: tables are truncated first)" : "");
  batches_ = std::make_unique<core::SnapshotBatches>(workers, static_cast<size_t>(workers) * 2);
  for (int i = 0; i < workers; ++i) workers_.emplace_back([this, i] { Worker(static_cast<size_t>(i)); });
  return core::Status::Ok();
}

// Primary-key ranges for big tables with a single integer key column, from MIN/MAX read inside
// the first worker's snapshot (so the ranges cover every row that snapshot holds). Ranges are
// half-open and the first and last are unbounded below/above: together they cover every key.
core::Status SnapshotReader::PlanChunks() {
  MysqlConnection& conn = *conns_[0];
  chunks_.clear();
  counts_.Clear();
  for (size_t t = 0; t < tables_.size(); ++t) {
    const core::TableSchema& schema = *loaded_[t].schema;
    size_t before = chunks_.size();
    const int64_t rows = estimated_rows_[t];
    if (conns_.size() > 1 && rows > static_cast<int64_t>(options_.chunk_rows)) {
      const core::TableId& id = tables_[t];
      std::string rel = QuoteIdentifier(id.schema) + "." + QuoteIdentifier(id.table);
      std::string key = QuoteIdentifier(schema.columns[schema.key[0]].name);
      {
        SLUICE_ASSIGN_OR_RETURN(auto range, conn.Query("SELECT MIN(" + key + "), MAX(" + key + ") FROM " + rel));
        int64_t lo = 0, hi = 0;
        if (!range.empty() && ParseInt64(range[0][0], lo) && ParseInt64(range[0][1], hi) && hi > lo) {
          int64_t n = std::max<int64_t>(2, rows / static_cast<int64_t>(options_.chunk_rows) + 1);
          // In 128 bits: hi - lo may not fit in 64.
          __int128 width = (static_cast<__int128>(hi) - lo + n) / n;
          __int128 from = lo;
          for (int64_t i = 0; i < n; ++i) {
            __int128 to = from + width;
            std::string where;
            if (i > 0) where = key + " >= " + std::to_string(static_cast<int64_t>(from));
            if (i + 1 < n && to <= hi) {
              where += std::string(where.empty() ? "" : " AND ") + key + " < " +
                       std::to_string(static_cast<int64_t>(to));
            }
            chunks_.push_back({t, where});
            if (to > hi) break;
            from = to;
          }
        }
      }
    }
    if (chunks_.size() == before) chunks_.push_back({t, ""});
    counts_.AddTable(chunks_.size() - before);
  }
  return core::Status::Ok();
}

// Row estimates (information_schema.TABLES.TABLE_ROWS) of the tables that can be read in
// primary-key ranges: a single-column integer key.
core::Status SnapshotReader::EstimateTables() {
  estimated_rows_.assign(tables_.size(), -1);
  for (size_t t = 0; t < tables_.size(); ++t) {
    const core::TableSchema& schema = *loaded_[t].schema;
    if (schema.key.size() != 1 || !IsIntegerKey(schema.columns[schema.key[0]])) continue;
    const core::TableId& id = tables_[t];
    // A table read with its own SELECT (snapshot.select.statement.overrides) is one chunk.
    if (options_.select_overrides.contains(id)) continue;
    SLUICE_ASSIGN_OR_RETURN(
        auto est, control_.Query("SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = " +
                                 control_.Quote(id.schema) + " AND TABLE_NAME = " + control_.Quote(id.table)));
    int64_t rows = 0;
    if (!est.empty() && ParseInt64(est[0][0], rows)) estimated_rows_[t] = rows;
  }
  return core::Status::Ok();
}

core::TxnInfo SnapshotReader::SnapshotTxn() const {
  core::TxnInfo info;
  info.ts_ms = started_ms_;
  info.snapshot = true;
  info.file = position_.file;
  info.pos = position_.pos;
  info.gtid = position_.gtid;
  return info;
}

void SnapshotReader::Worker(size_t index) {
  MysqlConnection& conn = *conns_[index];
  uint32_t txn = 0;
  core::RunTableChunks(
      *batches_, next_chunk_, chunks_, counts_, stop_,
      [&](const Chunk& chunk, std::unique_ptr<core::EventBatch>& batch) {
        return ReadChunk(conn, chunk, batch, txn);
      },
      [&](size_t table) {
        const std::string name = tables_[table].ToString();
        if (progress_ != nullptr) progress_->MarkDone(name);
        logger_->info("mysql snapshot of {}: {} rows", name, counts_.rows(table));
      });
  (void)conn.Execute("COMMIT");
  batches_->WorkerExited();
}

core::Status SnapshotReader::ReadChunk(MysqlConnection& conn, const Chunk& chunk,
                                       std::unique_ptr<core::EventBatch>& batch, uint32_t& txn) {
  const LoadedTable& table = loaded_[chunk.table];
  const SnapshotRowCodec& codec = codecs_[chunk.table];
  const core::TableId& id = tables_[chunk.table];
  std::string select = "SELECT " + codec.SelectList();
  const bool overridden = options_.select_overrides.contains(id);
  if (overridden) {
    select = core::OverrideQuery(options_.select_overrides, id, select.substr(7));
  } else {
    select += " FROM " + QuoteIdentifier(id.schema) + "." + QuoteIdentifier(id.table);
  }
  if (!chunk.where.empty()) select += " WHERE " + chunk.where;
  if (core::Status started = conn.StartStream(select); !started.ok()) {
    if (!overridden) return started;
    return started.WithContext("mysql snapshot of " + id.ToString() +
                               " with snapshot.select.statement.overrides." + id.ToString() +
                               " (the statement must return every captured column by name)");
  }
  const std::string table_name = id.ToString();
  uint64_t rows = 0, bytes = 0, zero_dates = 0;
  auto report = [&] {
    counts_.AddRows(chunk.table, rows);
    if (progress_ != nullptr && rows > 0) progress_->AddRows(table_name, rows, bytes);
    zero_dates_.fetch_add(zero_dates);
    rows = bytes = zero_dates = 0;
  };
  std::string converted;  // reused: no allocation per value once it has grown
  char** values;
  unsigned long* lengths;
  while (conn.NextRow(values, lengths)) {
    if (stop_.load()) return core::CancelledError("mysql snapshot stopped");
    if (!batch) {
      batch = batches_->Acquire();
      txn = batch->AddTxn(SnapshotTxn());
    }
    uint32_t row = batch->BeginRow();
    SLUICE_RETURN_IF_ERROR(codec.AppendRow(*batch, values, lengths, bytes, zero_dates, converted));
    batch->EndRow();
    batch->AddEvent({core::Op::kRead, core::kNoRow, row, txn, table.schema});
    ++rows;
    if (batch->size() >= options_.batch_events || batch->ByteSize() >= options_.batch_bytes) {
      report();
      if (!batches_->Push(std::move(batch), false)) return core::CancelledError("mysql snapshot stopped");
      batch.reset();
    }
  }
  report();
  SLUICE_RETURN_IF_ERROR(conn.stream_status().WithContext("mysql snapshot of " + table_name));
  conn.EndStream();
  return core::Status::Ok();
}

core::Result<bool> SnapshotReader::Next(core::EventBatch& batch, const core::PollLimits& limits) {
  BinlogPosition running = position_;
  running.snapshot_running = true;
  if (!announced_) {
    // Every table first, empty ones included (sinks that create tables create them all), then
    // a restarted snapshot's truncates, before any row.
    announced_ = true;
    for (const auto& t : loaded_) batch.AnnounceTable(t.schema);
    if (!schema_changes_.empty()) {  // Debezium's snapshot DDL, at the snapshot's position
      uint32_t txn = batch.AddTxn(SnapshotTxn());
      for (core::SchemaChange& change : schema_changes_) {
        change.txn = txn;
        change.source_pos = position_.pos;
        batch.AddSchemaChange(std::move(change));
      }
      schema_changes_.clear();
    }
    if (restarted_) {
      uint32_t txn = batch.AddTxn(SnapshotTxn());
      for (const auto& t : loaded_) {
        batch.AddEvent({core::Op::kTruncate, core::kNoRow, core::kNoRow, txn, t.schema});
      }
    }
    batch.set_checkpoint({running.ToJson()});
    return false;
  }
  SLUICE_ASSIGN_OR_RETURN(core::SnapshotBatches::State state, batches_->Next(batch, limits.max_wait));
  if (state == core::SnapshotBatches::State::kBatch) {
    batch.set_checkpoint({running.ToJson()});
    return false;
  }
  if (state == core::SnapshotBatches::State::kEmpty) return false;
  if (zero_dates_.load() > 0) {
    logger_->warn("mysql snapshot: {} zero dates ('0000-00-00') were emitted as NULL "
                  "(zero.date.handling.mode=null)", zero_dates_.load());
  }
  logger_->info("mysql snapshot done in {} ms", core::NowUnixMs() - started_ms_);
  return true;
}

void SnapshotReader::Cancel() {
  stop_.store(true);
  if (batches_) batches_->Stop();
  for (auto& c : conns_) c->Cancel();
  control_.Cancel();
}

}  // namespace sluice::mysql
