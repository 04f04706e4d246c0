#include "connectors/mysql/snapshot_reader.h"

#include <spdlog/spdlog.h>

#include "core/clock.h"

namespace sluice::mysql {

SnapshotReader::SnapshotReader(ConnectionParams params, const CaptureFilter* filter,
                               std::shared_ptr<spdlog::logger> logger,
                               core::ProgressTracker* progress)
    : params_(std::move(params)), filter_(filter), logger_(std::move(logger)),
      progress_(progress) {}

core::Status SnapshotReader::Open(bool restarted) {
  restarted_ = restarted;
  SLUICE_RETURN_IF_ERROR(conn_.Connect(params_));
  SLUICE_RETURN_IF_ERROR(conn_.Execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"));
  started_ms_ = core::NowUnixMs();
  SLUICE_RETURN_IF_ERROR(conn_.Execute("START TRANSACTION WITH CONSISTENT SNAPSHOT"));
  SLUICE_ASSIGN_OR_RETURN(auto status, conn_.Query("SHOW STATUS LIKE 'binlog_snapshot_%'"));
  for (const auto& r : status) {
    if (r[0] == "Binlog_snapshot_file") position_.file = r[1].value_or("");
    if (r[0] == "Binlog_snapshot_position") position_.pos = std::stoull(r[1].value_or("0"));
  }
  if (position_.file.empty()) {
    // MySQL: no snapshot status; hold a global read lock only while the snapshot starts.
    SLUICE_RETURN_IF_ERROR(conn_.Execute("ROLLBACK"));
    SLUICE_RETURN_IF_ERROR(conn_.Execute("FLUSH TABLES WITH READ LOCK"));
    core::Status st = conn_.Execute("START TRANSACTION WITH CONSISTENT SNAPSHOT");
    auto master = st.ok() ? conn_.Query("SHOW MASTER STATUS") : core::Result<std::vector<ResultRow>>(st);
    core::Status unlock = conn_.Execute("UNLOCK TABLES");
    if (!master.ok()) return master.status();
    SLUICE_RETURN_IF_ERROR(unlock);
    if (master->empty()) {
      return core::FailedPreconditionError("mysql: binary logging is off; start the server with "
                                           "log_bin, binlog_format=ROW, binlog_row_image=FULL");
    }
    position_.file = (*master)[0][0].value_or("");
    position_.pos = std::stoull((*master)[0][1].value_or("4"));
  }
  if (conn_.is_mariadb()) {
    auto gtid = conn_.Query("SELECT @@global.gtid_binlog_pos");
    if (gtid.ok() && !gtid->empty()) position_.gtid = (*gtid)[0][0].value_or("");
  }
  SchemaLoader loader(&conn_, filter_);
  SLUICE_ASSIGN_OR_RETURN(tables_, loader.ListTables());
  loaded_.clear();
  for (const auto& id : tables_) {
    auto loaded = loader.Load(id, 1);
    if (!loaded.ok()) return loaded.status().WithContext("mysql snapshot of " + id.ToString());
    loaded_.push_back(std::move(*loaded));
  }
  if (progress_ != nullptr) {
    progress_->SetPhase("snapshot");
    for (const auto& t : tables_) {
      progress_->AddTable(t.ToString(), 0);
      if (restarted_) progress_->ResetTable(t.ToString());
    }
  }
  logger_->info("mysql snapshot of {} tables at {}:{}{}", tables_.size(), position_.file,
                position_.pos, restarted_ ? " (restarted: tables are truncated first)" : "");
  return core::Status::Ok();
}

core::Status SnapshotReader::StartTable() {
  const core::TableId& id = tables_[next_table_];
  current_ = loaded_[next_table_];
  fixes_.clear();
  std::string select = "SELECT ";
  bool first = true;
  for (size_t i = 0; i < current_.columns.size(); ++i) {
    if (current_.excluded[i]) continue;
    if (!first) select += ", ";
    first = false;
    select += QuoteIdentifier(current_.columns[i].name);
  }
  for (const auto& col : current_.schema->columns) {
    Fix f = Fix::kNone;
    if (col.type == core::LogicalType::kDate || col.type == core::LogicalType::kTimestamp) f = Fix::kZeroDate;
    if (col.type == core::LogicalType::kTimestampTz) f = Fix::kTimestampTz;
    if (col.type == core::LogicalType::kBool) f = Fix::kBitBool;
    if (col.source_type.rfind("year", 0) == 0) f = Fix::kYear;
    fixes_.push_back(f);
  }
  if (first) select += "1";  // every column excluded: still count rows
  select += " FROM " + QuoteIdentifier(id.schema) + "." + QuoteIdentifier(id.table);
  SLUICE_RETURN_IF_ERROR(conn_.StartStream(select));
  table_open_ = true;
  return core::Status::Ok();
}

core::Result<bool> SnapshotReader::Next(core::EventBatch& batch, const core::PollLimits& limits) {
  core::TxnInfo info;
  info.ts_ms = started_ms_;
  info.snapshot = true;
  info.file = position_.file;
  info.pos = position_.pos;
  info.gtid = position_.gtid;
  uint32_t txn = batch.AddTxn(info);
  BinlogPosition running = position_;
  running.snapshot_running = true;
  if (!announced_) {
    announced_ = true;
    for (const auto& t : loaded_) batch.AnnounceTable(t.schema);
  }
  while (next_table_ < tables_.size()) {
    if (!table_open_) {
      SLUICE_RETURN_IF_ERROR(StartTable());
      if (restarted_) batch.AddEvent({core::Op::kTruncate, core::kNoRow, core::kNoRow, txn, current_.schema});
    }
    const std::string table_name = current_.schema->id.ToString();
    size_t n = current_.schema->columns.size();
    uint64_t rows = 0, bytes = 0;
    char** values;
    unsigned long* lengths;
    bool more = true;
    while (batch.size() < limits.max_events && batch.ByteSize() < limits.max_bytes) {
      if (!conn_.NextRow(values, lengths)) {
        more = false;
        break;
      }
      uint32_t row = batch.BeginRow();
      for (size_t i = 0; i < n; ++i) {
        if (values[i] == nullptr) {
          batch.AppendNull();
          continue;
        }
        std::string_view v(values[i], lengths[i]);
        bytes += v.size();
        switch (fixes_[i]) {
          case Fix::kNone:
            batch.AppendValue(v);
            break;
          case Fix::kZeroDate:
            if (IsZeroDateText(v)) {
              ++zero_dates_;
              batch.AppendNull();
            } else {
              batch.AppendValue(v);
            }
            break;
          case Fix::kTimestampTz:
            if (IsZeroDateText(v)) {
              ++zero_dates_;
              batch.AppendNull();
            } else {
              batch.AppendValue(v);
              batch.ExtendLastValue("+00");
            }
            break;
          case Fix::kYear: {
            size_t k = 0;
            while (k + 1 < v.size() && v[k] == '0') ++k;
            batch.AppendValue(v.substr(k));
            break;
          }
          case Fix::kBitBool: {
            bool set = false;
            for (char c : v) set = set || c != 0;
            batch.AppendValue(set ? "t" : "f");
            break;
          }
        }
      }
      batch.EndRow();
      batch.AddEvent({core::Op::kRead, core::kNoRow, row, txn, current_.schema});
      ++rows;
    }
    if (progress_ != nullptr && rows > 0) progress_->AddRows(table_name, rows, bytes);
    if (more) {
      batch.set_checkpoint({running.ToJson()});
      return false;
    }
    SLUICE_RETURN_IF_ERROR(conn_.stream_status());
    conn_.EndStream();
    table_open_ = false;
    ++next_table_;
    if (progress_ != nullptr) progress_->MarkDone(table_name);
    if (batch.size() >= limits.max_events) {
      batch.set_checkpoint({running.ToJson()});
      if (next_table_ < tables_.size()) return false;
    }
  }
  if (zero_dates_ > 0) {
    logger_->warn("mysql snapshot: {} zero dates ('0000-00-00') were emitted as NULL", zero_dates_);
  }
  (void)conn_.Execute("COMMIT");
  batch.set_checkpoint({position_.ToJson()});
  return true;
}

}  // namespace sluice::mysql
