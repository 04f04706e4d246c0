#include "connectors/mysql/stream_reader.h"

#include <mysql.h>
#include <mariadb_rpl.h>

#include <chrono>

#include <spdlog/spdlog.h>

namespace sluice::mysql {
namespace {

std::string GtidText(const std::map<uint32_t, std::pair<uint32_t, uint64_t>>& state) {
  std::string out;
  for (const auto& [domain, sv] : state) {
    if (!out.empty()) out += ",";
    out += std::to_string(domain) + "-" + std::to_string(sv.first) + "-" + std::to_string(sv.second);
  }
  return out;
}

}  // namespace

StreamReader::StreamReader(ConnectionParams params, const CaptureFilter* filter,
                           StreamOptions options, std::shared_ptr<spdlog::logger> logger)
    : params_(std::move(params)), filter_(filter), options_(options), logger_(std::move(logger)) {}

StreamReader::~StreamReader() {
  if (event_ != nullptr) mariadb_free_rpl_event(event_);
  if (rpl_ != nullptr) mariadb_rpl_close(rpl_);
}

void StreamReader::Cancel() { conn_.Cancel(); }

core::Status StreamReader::Open(const BinlogPosition& from) {
  file_ = from.file;
  pos_ = from.pos;
  // Parse the GTID state "D-S-N,D-S-N" so that positions keep carrying it.
  gtid_state_.clear();
  size_t start = 0;
  while (start < from.gtid.size()) {
    size_t end = from.gtid.find(',', start);
    std::string one = from.gtid.substr(start, end == std::string::npos ? std::string::npos : end - start);
    unsigned d = 0, s = 0;
    unsigned long long n = 0;
    if (std::sscanf(one.c_str(), "%u-%u-%llu", &d, &s, &n) == 3) gtid_state_[d] = {s, n};
    if (end == std::string::npos) break;
    start = end + 1;
  }
  SLUICE_RETURN_IF_ERROR(schema_conn_.Connect(params_));
  // The file must still exist: a purged binlog is a gap, never a silent skip.
  SLUICE_ASSIGN_OR_RETURN(auto logs, schema_conn_.Query("SHOW BINARY LOGS"));
  bool found = false;
  for (const auto& r : logs) found = found || r[0] == file_;
  if (!found) {
    return core::FailedPreconditionError(
        "mysql binlog " + file_ + " (resume position " + file_ + ":" + std::to_string(pos_) +
        ") is no longer on the server (purged); changes since then are lost: re-snapshot with "
        "snapshot.mode=when_needed or reset the connector's offsets");
  }
  SLUICE_ASSIGN_OR_RETURN(auto cs, schema_conn_.Query("SELECT @@global.binlog_checksum"));
  checksum_ = !cs.empty() && cs[0][0].value_or("NONE") != "NONE";

  SLUICE_RETURN_IF_ERROR(conn_.Connect(params_));
  SLUICE_RETURN_IF_ERROR(conn_.Execute("SET @master_binlog_checksum = @@global.binlog_checksum"));
  SLUICE_RETURN_IF_ERROR(conn_.Execute("SET @mariadb_slave_capability = 4"));
  uint64_t heartbeat_ns = static_cast<uint64_t>(options_.heartbeat_ms) * 1000000ULL;
  SLUICE_RETURN_IF_ERROR(conn_.Execute("SET @master_heartbeat_period = " + std::to_string(heartbeat_ns)));
  rpl_ = mariadb_rpl_init(conn_.raw());
  if (rpl_ == nullptr) return core::InternalError("mariadb_rpl_init failed");
  uint32_t server_id = options_.server_id;
  unsigned long start_pos = static_cast<unsigned long>(pos_);
  mariadb_rpl_optionsv(rpl_, MARIADB_RPL_SERVER_ID, server_id);
  mariadb_rpl_optionsv(rpl_, MARIADB_RPL_FILENAME, file_.c_str(), file_.size());
  mariadb_rpl_optionsv(rpl_, MARIADB_RPL_START, start_pos);
  mariadb_rpl_optionsv(rpl_, MARIADB_RPL_FLAGS, static_cast<unsigned int>(0));
  if (mariadb_rpl_open(rpl_) != 0) {
    return conn_.Error("mysql binlog dump from " + file_ + ":" + std::to_string(pos_));
  }
  logger_->info("mysql binlog stream from {}:{} as server id {}", file_, pos_, server_id);
  return core::Status::Ok();
}

core::Result<std::shared_ptr<const LoadedTable>> StreamReader::Schema(const core::TableId& id) {
  auto it = schemas_.find(id);
  if (it != schemas_.end()) return it->second;
  SchemaLoader loader(&schema_conn_, filter_);
  auto loaded = loader.Load(id, ++schema_version_);
  if (!loaded.ok()) return loaded.status();
  auto ptr = std::make_shared<const LoadedTable>(std::move(*loaded));
  schemas_[id] = ptr;
  return ptr;
}

core::Status StreamReader::HandleTableMap(std::string_view body, const BinlogLocation& at) {
  SLUICE_ASSIGN_OR_RETURN(TableMap map, DecodeTableMap(body, at));
  auto existing = tables_.find(map.table_id);
  if (existing != tables_.end() && existing->second.map.database == map.database &&
      existing->second.map.table == map.table && existing->second.map.types == map.types &&
      existing->second.map.metadata == map.metadata &&
      (existing->second.plan == nullptr ||
       schemas_.count(existing->second.plan->schema->id) != 0)) {
    return core::Status::Ok();  // unchanged: keep the plan
  }
  TableState state;
  core::TableId id{map.database, map.table};
  if (filter_->IncludesTable(id)) {
    auto loaded = Schema(id);
    std::shared_ptr<const RowsPlan> plan;
    bool names_match = loaded.ok() && (*loaded)->columns.size() == map.types.size();
    if (names_match && !map.column_names.empty()) {
      for (size_t i = 0; i < map.types.size(); ++i) {
        names_match = names_match && (*loaded)->columns[i].name == map.column_names[i];
      }
    }
    if (names_match) {
      auto built = BuildRowsPlan(map, (*loaded)->schema, (*loaded)->info, (*loaded)->excluded);
      if (built.ok()) plan = *built;
    }
    if (plan == nullptr) {
      // The server's current schema does not match this (older) event: use the TABLE_MAP.
      logger_->warn("mysql table {} at {}: binlog columns differ from information_schema; "
                    "using the binlog's own column metadata", id.ToString(), at.ToString());
      auto schema = std::make_shared<core::TableSchema>();
      schema->id = id;
      schema->database = id.schema;
      schema->version = ++schema_version_;
      std::vector<SchemaColumnInfo> info;
      SchemaFromTableMap(map, *schema, info);
      std::vector<bool> excluded(map.types.size(), false);
      auto full = std::make_shared<core::TableSchema>(*schema);
      schema->columns.clear();
      std::vector<int> remap(full->columns.size(), -1);
      for (size_t i = 0; i < full->columns.size(); ++i) {
        excluded[i] = !filter_->tables().IncludesColumn(id, full->columns[i].name);
        if (!excluded[i]) {
          remap[i] = static_cast<int>(schema->columns.size());
          schema->columns.push_back(full->columns[i]);
        }
      }
      schema->key.clear();
      for (uint32_t k : full->key) {
        if (remap[k] >= 0) schema->key.push_back(static_cast<uint32_t>(remap[k]));
      }
      SLUICE_ASSIGN_OR_RETURN(plan, BuildRowsPlan(map, schema, info, excluded));
    }
    state.plan = std::move(plan);
  }
  state.map = std::move(map);
  tables_[state.map.table_id] = std::move(state);
  return core::Status::Ok();
}

uint32_t StreamReader::CurrentTxn(core::EventBatch& batch, const EventHeader& h, uint64_t event_pos) {
  if (txn_index_ == UINT32_MAX) {
    core::TxnInfo info;
    info.ts_ms = in_txn_ ? txn_ts_ms_ : static_cast<int64_t>(h.timestamp) * 1000;
    info.file = file_;
    info.pos = in_txn_ ? txn_pos_ : event_pos;
    info.gtid = gtid_;
    txn_index_ = batch.AddTxn(info);
  }
  return txn_index_;
}

void StreamReader::Commit(core::EventBatch& batch, uint64_t next_pos) {
  pos_ = next_pos;
  in_txn_ = false;
  txn_index_ = UINT32_MAX;
  gtid_.clear();
  BinlogPosition p{file_, pos_, GtidText(gtid_state_), false};
  batch.set_checkpoint({p.ToJson()});
}

core::Status StreamReader::HandleQuery(const EventHeader& h, std::string_view body,
                                       const BinlogLocation& at, core::EventBatch& batch) {
  SLUICE_ASSIGN_OR_RETURN(QueryEvent q, DecodeQuery(body, at));
  std::string_view sql = q.sql;
  if (sql == "BEGIN" || sql == "XA START") {
    if (!in_txn_) {
      in_txn_ = true;
      txn_pos_ = at.pos;
      txn_ts_ms_ = static_cast<int64_t>(h.timestamp) * 1000;
    }
    return core::Status::Ok();
  }
  if (sql == "COMMIT") {  // non-transactional engines end with COMMIT instead of XID
    Commit(batch, h.next_position);
    return core::Status::Ok();
  }
  DdlInfo ddl = ClassifyDdl(sql, q.database);
  if (ddl.kind == DdlInfo::Kind::kNone) return core::Status::Ok();
  if (ddl.kind == DdlInfo::Kind::kOther) {
    logger_->info("mysql DDL at {} not parsed; schemas are re-read on next use: {}",
                  at.ToString(), std::string(sql.substr(0, 200)));
    schemas_.clear();
  }
  for (const auto& id : ddl.tables) {
    if (!filter_->IncludesTable(id)) continue;
    schemas_.erase(id);
    if (ddl.kind == DdlInfo::Kind::kTruncate) {
      auto loaded = Schema(id);
      if (loaded.ok()) {
        uint32_t txn = CurrentTxn(batch, h, at.pos);
        batch.AddEvent({core::Op::kTruncate, core::kNoRow, core::kNoRow, txn, (*loaded)->schema});
      } else {
        logger_->warn("mysql TRUNCATE of {} at {}: schema unavailable ({}); not emitted",
                      id.ToString(), at.ToString(), loaded.status().ToString());
      }
    } else {
      logger_->info("mysql DDL on {} at {}: schema will be re-read", id.ToString(), at.ToString());
    }
  }
  // DDL is its own transaction (MariaDB: a standalone GTID, no XID): commit after it.
  Commit(batch, h.next_position);
  return core::Status::Ok();
}

core::Result<core::PollStatus> StreamReader::Poll(core::EventBatch& batch,
                                                  const core::PollLimits& limits) {
  auto deadline = std::chrono::steady_clock::now() + limits.max_wait;
  txn_index_ = UINT32_MAX;  // a new batch: transactions get a new TxnInfo entry
  while (batch.size() < limits.max_events && batch.ByteSize() < limits.max_bytes) {
    // Fetch with a null event: passing the previous one would reuse (and clobber) it.
    if (event_ != nullptr) {
      mariadb_free_rpl_event(event_);
      event_ = nullptr;
    }
    event_ = mariadb_rpl_fetch(rpl_, nullptr);
    if (event_ == nullptr) {
      unsigned int e = mysql_errno(conn_.raw());
      if (e == 0) return core::PollStatus::kIdle;  // end of stream (non-blocking) or cancelled
      return conn_.Error("mysql binlog read at " + file_ + ":" + std::to_string(pos_));
    }
    const unsigned char* data = event_->raw_data;
    size_t size = event_->raw_data_size;
    if (size == static_cast<size_t>(event_->event_length) + 1) {
      ++data;  // the OK-packet marker byte
      --size;
    }
    std::string_view raw(reinterpret_cast<const char*>(data), size);
    uint8_t type = static_cast<uint8_t>(event_->event_type);
    uint64_t event_pos = event_->next_event_pos >= event_->event_length
                             ? event_->next_event_pos - event_->event_length : pos_;
    BinlogLocation at{file_, event_pos};
    if (type == HEARTBEAT_LOG_EVENT) {
      if (batch.empty() || std::chrono::steady_clock::now() >= deadline) {
        return batch.empty() ? core::PollStatus::kIdle : core::PollStatus::kHaveMore;
      }
      continue;
    }
    bool artificial = (event_->flags & 0x20) != 0 || event_->next_event_pos == 0;
    // FORMAT_DESCRIPTION and artificial ROTATE events carry no checksum we can rely on.
    bool verify = checksum_ && type != FORMAT_DESCRIPTION_EVENT && !artificial;
    SLUICE_ASSIGN_OR_RETURN(RawEvent ev, SplitEvent(raw, verify, at));
    std::string_view body = ev.body;
    if (!verify && checksum_ && type != FORMAT_DESCRIPTION_EVENT && body.size() >= kChecksumSize) {
      body.remove_suffix(kChecksumSize);
    }
    switch (type) {
      case ROTATE_EVENT: {
        SLUICE_ASSIGN_OR_RETURN(RotateEvent r, DecodeRotate(body, at));
        if (std::string(r.file) != file_) tables_.clear();
        file_ = std::string(r.file);
        pos_ = r.position;
        if (!artificial && !in_txn_) Commit(batch, pos_);
        continue;
      }
      case GTID_EVENT: {
        SLUICE_ASSIGN_OR_RETURN(MariaGtid g, DecodeMariaGtid(body, at));
        gtid_state_[g.domain] = {ev.header.server_id, g.sequence};
        gtid_ = std::to_string(g.domain) + "-" + std::to_string(ev.header.server_id) + "-" +
                std::to_string(g.sequence);
        in_txn_ = true;
        txn_pos_ = event_pos;
        txn_ts_ms_ = static_cast<int64_t>(ev.header.timestamp) * 1000;
        txn_index_ = UINT32_MAX;
        continue;
      }
      case QUERY_EVENT:
        SLUICE_RETURN_IF_ERROR(HandleQuery(ev.header, body, at, batch));
        continue;
      case XID_EVENT:
        Commit(batch, ev.header.next_position);
        if (std::chrono::steady_clock::now() >= deadline && !batch.empty()) {
          return core::PollStatus::kHaveMore;
        }
        continue;
      case TABLE_MAP_EVENT:
        SLUICE_RETURN_IF_ERROR(HandleTableMap(body, at));
        continue;
      case WRITE_ROWS_EVENT_V1: case UPDATE_ROWS_EVENT_V1: case DELETE_ROWS_EVENT_V1:
      case WRITE_ROWS_EVENT: case UPDATE_ROWS_EVENT: case DELETE_ROWS_EVENT: {
        SLUICE_ASSIGN_OR_RETURN(RowsEvent rows, DecodeRowsHeader(type, body, at));
        auto it = tables_.find(rows.table_id);
        if (it == tables_.end()) {
          return core::DataLossError("mysql rows event at " + at.ToString() +
                                     " refers to unknown table id " + std::to_string(rows.table_id));
        }
        if (it->second.plan == nullptr) continue;  // not captured
        uint32_t txn = CurrentTxn(batch, ev.header, event_pos);
        SLUICE_RETURN_IF_ERROR(DecodeRows(rows, *it->second.plan, txn, batch, at, &stats_));
        ++events_decoded_;
        if (stats_.zero_dates > zero_dates_warned_) {
          logger_->warn("mysql: zero dates ('0000-00-00') emitted as NULL (at {})", at.ToString());
          zero_dates_warned_ = stats_.zero_dates;
        }
        continue;
      }
      case WRITE_ROWS_COMPRESSED_EVENT_V1: case UPDATE_ROWS_COMPRESSED_EVENT_V1:
      case DELETE_ROWS_COMPRESSED_EVENT_V1: case WRITE_ROWS_COMPRESSED_EVENT:
      case UPDATE_ROWS_COMPRESSED_EVENT: case DELETE_ROWS_COMPRESSED_EVENT:
      case QUERY_COMPRESSED_EVENT:
        return core::FailedPreconditionError("mysql binlog at " + at.ToString() +
                                             " is compressed (log_bin_compress=ON); turn it off");
      default:
        continue;  // FORMAT_DESCRIPTION, ANNOTATE_ROWS, checkpoints, GTID lists, ...
    }
  }
  return core::PollStatus::kHaveMore;
}

}  // namespace sluice::mysql
