#include "connectors/mysql/stream_reader.h"

#include <mysql.h>
#include <mariadb_rpl.h>

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "connectors/mysql/binlog_health.h"
#include "connectors/mysql/start_decision.h"

namespace sluice::mysql {
namespace {

// MySQL 8's TRANSACTION_PAYLOAD_EVENT (binlog_transaction_compression): not in libmariadb's enum.
constexpr uint8_t kTransactionPayloadEvent = 40;
constexpr int kSchemaReadTimeoutS = 60;

std::string GtidText(const std::map<uint32_t, std::pair<uint32_t, uint64_t>>& state) {
  std::string out;
  for (const auto& [domain, sv] : state) {
    if (!out.empty()) out += ",";
    out += std::to_string(domain) + "-" + std::to_string(sv.first) + "-" + std::to_string(sv.second);
  }
  return out;
}

// Events, or a schema change (which the pipeline hands to the sink like an event).
bool Carries(const core::EventBatch& batch) {
  return !batch.empty() || !batch.schema_changes().empty();
}

}  // namespace

int BinlogReadTimeoutSeconds(int heartbeat_ms) {
  int64_t ms = static_cast<int64_t>(kMissedHeartbeats) * std::max(heartbeat_ms, 1);
  return static_cast<int>(std::max<int64_t>(kMinReadTimeoutS, (ms + 999) / 1000));
}

core::Status FetchFailureStatus(const FetchFailure& f, const BinlogLocation& at) {
  const std::string where = "mysql binlog stream at " + at.ToString();
  if (f.cancelled) return core::CancelledError(where + ": stopped on request");
  const std::string again = "; reconnecting and resuming from the last committed position";
  unsigned int e = f.client_errno != 0 ? f.client_errno : f.rpl_errno;
  const std::string& text = f.client_errno != 0 ? f.client_error : f.rpl_error;
  if (e == 0) {
    // libmariadb returns no event and records no error for the server's end-of-stream packet.
    return core::UnavailableError(
        where + " ended: the server sent end-of-stream (its binlog dump thread was killed, it is "
        "shutting down, or another replica registered with the same database.server.id)" + again);
  }
  const std::string detail = text + " (error " + std::to_string(e) + ")";
  const MysqlErrorKind kind = ClassifyMysqlErrorKind(e);
  const core::StatusCode code = ClassifyMysqlError(e);
  bool lost = e == 2013 || e == 2006 || e == 2055 || e == 5013;
  if (lost && f.read_timeout_s > 0 && f.silent_ms + 250 >= int64_t{f.read_timeout_s} * 1000) {
    return core::UnavailableError(
        where + ": nothing arrived from the server for " + std::to_string(f.silent_ms) +
        " ms, not even a heartbeat (heartbeat.interval.ms=" + std::to_string(f.heartbeat_ms) +
        "); the connection is taken as lost: " + detail + again);
  }
  if (e == 1236) {
    return core::FailedPreconditionError(
        where + ": the server cannot send the binlog from this position: " + detail +
        "; if the file was purged, changes since then are lost: take a new snapshot "
        "(snapshot.mode=when_needed) or reset the connector's offsets");
  }
  if (e == 5020 && text.find("(40)") != std::string::npos) {
    return core::FailedPreconditionError(
        where + ": " + detail + ": a MySQL compressed transaction (TRANSACTION_PAYLOAD); set "
        "binlog_transaction_compression=OFF");
  }
  if (code == core::StatusCode::kUnavailable) return core::UnavailableError(where + ": " + detail + again);
  if (kind == MysqlErrorKind::kUnknown) {
    // An error this connector does not know: reconnecting re-reads from the committed position,
    // and the pipeline gives up (and reports it) if it keeps coming back.
    return core::UnavailableError(where + ": " + detail + again);
  }
  return {code, where + ": " + detail};
}

StreamReader::StreamReader(ConnectionParams params, const CaptureFilter* filter,
                           StreamOptions options, std::shared_ptr<spdlog::logger> logger)
    : StreamReader(std::make_unique<MariadbBinlogStream>(params),
                   std::make_unique<MysqlBinlogCatalog>(params, filter), filter, options,
                   std::move(logger), &core::SteadyClock::Get()) {}

StreamReader::StreamReader(std::unique_ptr<BinlogStream> stream,
                           std::unique_ptr<BinlogCatalog> catalog, const CaptureFilter* filter,
                           StreamOptions options, std::shared_ptr<spdlog::logger> logger,
                           core::Clock* clock)
    : stream_(std::move(stream)),
      catalog_(std::move(catalog)),
      filter_(filter),
      options_(options),
      logger_(std::move(logger)),
      clock_(clock) {}

StreamReader::~StreamReader() = default;

void StreamReader::Cancel() {
  cancelled_.store(true);
  stream_->Cancel();
}

core::Status StreamReader::Open(const BinlogPosition& from) {
  file_ = from.file;
  pos_ = from.pos;
  read_to_ = from.pos;
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
  // Metadata queries only (information_schema, SHOW BINARY LOGS): a generous read timeout, so
  // that a server that stops answering cannot hang a schema lookup mid-stream either.
  read_timeout_s_ = BinlogReadTimeoutSeconds(options_.heartbeat_ms);
  SLUICE_RETURN_IF_ERROR(catalog_->Connect(std::max(kSchemaReadTimeoutS, read_timeout_s_)));
  // The file must still exist: a purged binlog is a gap, never a silent skip.
  SLUICE_ASSIGN_OR_RETURN(auto logs, catalog_->BinaryLogs());
  if (std::find(logs.begin(), logs.end(), file_) == logs.end()) return PurgedBinlogError(from);
  SLUICE_ASSIGN_OR_RETURN(checksum_, catalog_->ChecksumEnabled());
  const uint32_t server_id = options_.server_id;
  SLUICE_RETURN_IF_ERROR(
      stream_->Open({file_, pos_, server_id, options_.heartbeat_ms, read_timeout_s_,
                     options_.include_query}));
  last_event_at_ = clock_->Now();
  logger_->info("mysql binlog stream from {}:{} as server id {} (heartbeat {} ms, read timeout {} s)",
                file_, pos_, server_id, options_.heartbeat_ms, read_timeout_s_);
  return core::Status::Ok();
}

core::Result<std::shared_ptr<const LoadedTable>> StreamReader::Schema(const core::TableId& id) {
  auto it = schemas_.find(id);
  if (it != schemas_.end()) return it->second;
  auto loaded = catalog_->Load(id, ++schema_version_);
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
      auto built = BuildRowsPlan(map, (*loaded)->schema, (*loaded)->info, (*loaded)->excluded,
                                 options_.zero_dates);
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
        if (remap[k] < 0) {
          const std::string& name = full->columns[k].name;
          return core::InvalidArgumentError(core::ExcludedKeyColumnMessage(
              id, name, filter_->tables().ColumnExcludedBy(id, name)));
        }
        schema->key.push_back(static_cast<uint32_t>(remap[k]));
      }
      SLUICE_ASSIGN_OR_RETURN(plan, BuildRowsPlan(map, schema, info, excluded, options_.zero_dates));
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
    info.server_id = in_txn_ ? txn_server_id_ : h.server_id;
    info.thread = txn_thread_;
    txn_index_ = batch.AddTxn(info);
  }
  return txn_index_;
}

void StreamReader::AddBoundary(core::EventBatch& batch, bool begin, const EventHeader& h,
                               const BinlogLocation& at) {
  if (!begin && !boundary_open_) return;  // no BEGIN reported (MySQL DDL outside BEGIN)
  boundary_open_ = begin;
  if (AlreadyEmitted(at)) return;  // handed over by an earlier reader of this process
  core::TxnBoundary b{static_cast<uint32_t>(batch.size()), begin, 0, 0,
                      static_cast<int64_t>(h.timestamp) * 1000};
  b.id = core::BinlogTransactionId(gtid_, file_, txn_pos_);
  batch.AddBoundary(std::move(b));
}

BinlogPosition StreamReader::committed() const {
  return BinlogPosition{file_, pos_, GtidText(gtid_state_), false};
}

void StreamReader::Commit(core::EventBatch& batch, uint64_t next_pos) {
  pos_ = next_pos;
  in_txn_ = false;
  standalone_group_ = false;
  txn_index_ = UINT32_MAX;
  txn_thread_ = -1;
  gtid_.clear();
  statement_query_.clear();
  statement_query_index_ = core::kNoQuery;
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
      txn_server_id_ = h.server_id;
      SLUICE_RETURN_IF_ERROR(NotifyObserver(at, batch));
      AddBoundary(batch, true, h, at);
    }
    txn_thread_ = q.thread_id;
    return core::Status::Ok();
  }
  if (sql == "COMMIT") {  // non-transactional engines end with COMMIT instead of XID
    AddBoundary(batch, false, h, at);
    Commit(batch, h.next_position);
    return core::Status::Ok();
  }
  DdlInfo ddl = ClassifyDdl(sql, q.database);
  if (ddl.kind == DdlInfo::Kind::kNone) {
    // Not DDL we act on (GRANT, DDL of other databases...): still the whole of its group when
    // a standalone GTID opened it (MariaDB), so its transaction ends here.
    if (standalone_group_) AddBoundary(batch, false, h, at);
    standalone_group_ = false;
    return core::Status::Ok();
  }
  txn_thread_ = q.thread_id;  // a truncate emitted below names the session that ran the DDL
  if (ddl.kind == DdlInfo::Kind::kOther) {
    logger_->info("mysql DDL at {} not parsed; schemas are re-read on next use: {}",
                  at.ToString(), std::string(sql.substr(0, 200)));
    schemas_.clear();
  }
  // include.schema.changes: table DDL naming a captured table, unless an earlier reader of this
  // process handed it over already. It goes before the truncate a CREATE emits.
  const bool table_ddl = ddl.kind == DdlInfo::Kind::kCreate || ddl.kind == DdlInfo::Kind::kAlter ||
                         ddl.kind == DdlInfo::Kind::kDrop || ddl.kind == DdlInfo::Kind::kRename;
  std::optional<core::SchemaChange> change;
  if (options_.include_schema_changes && table_ddl &&
      std::any_of(ddl.tables.begin(), ddl.tables.end(),
                  [&](const core::TableId& id) { return filter_->IncludesTable(id); }) &&
      !AlreadyEmitted(at)) {
    change.emplace();
    change->event_index = static_cast<uint32_t>(batch.size());
    change->source_pos = at.pos;
    change->ddl = std::string(sql);
  }
  for (const auto& id : ddl.tables) {
    if (!filter_->IncludesTable(id)) continue;
    schemas_.erase(id);
    if (change) {
      SLUICE_ASSIGN_OR_RETURN(auto entry, TableChange(ddl, id, at));
      if (change->database.empty()) change->database = id.schema;
      if (entry) change->tables.push_back(std::move(*entry));
    }
    // A table created at the source starts empty, so the target's table of that name is
    // emptied too: after DROP + CREATE of the same name (a rebuilt table) the dropped table's
    // rows must not stay in the target. CREATE TABLE IF NOT EXISTS is logged even when the
    // table existed and changed nothing, so it empties nothing.
    const bool creates_empty = ddl.kind == DdlInfo::Kind::kCreate && !ddl.if_not_exists;
    if (ddl.kind == DdlInfo::Kind::kTruncate || creates_empty) {
      auto loaded = Schema(id);
      if (loaded.ok() && AlreadyEmitted(at)) {
        // handed over by an earlier reader of this process
      } else if (loaded.ok()) {
        uint32_t txn = CurrentTxn(batch, h, at.pos);
        batch.AddEvent(
            {.op = core::Op::kTruncate, .txn = txn, .table = (*loaded)->schema, .source_pos = at.pos});
      } else {
        logger_->warn("mysql {} of {} at {}: schema unavailable ({}); no truncate emitted",
                      creates_empty ? "CREATE" : "TRUNCATE", id.ToString(), at.ToString(),
                      loaded.status().ToString());
      }
    } else {
      logger_->info("mysql DDL on {} at {}: schema will be re-read", id.ToString(), at.ToString());
    }
  }
  if (change) {
    change->txn = CurrentTxn(batch, h, at.pos);
    batch.AddSchemaChange(std::move(*change));
  }
  // DDL is its own transaction (MariaDB: a standalone GTID, no XID): commit after it.
  AddBoundary(batch, false, h, at);
  Commit(batch, h.next_position);
  return core::Status::Ok();
}

core::Result<std::optional<core::SchemaChangeTable>> StreamReader::TableChange(
    const DdlInfo& ddl, const core::TableId& id, const BinlogLocation& at) {
  using Type = core::SchemaChangeTable::Type;
  if (ddl.kind == DdlInfo::Kind::kDrop) {
    core::SchemaChangeTable dropped;
    dropped.type = Type::kDrop;
    dropped.id = id;
    return std::optional<core::SchemaChangeTable>(std::move(dropped));
  }
  auto loaded = Schema(id);
  if (!loaded.ok()) {
    if (loaded.status().code() != core::StatusCode::kNotFound) {
      return loaded.status().WithContext("mysql schema change at " + at.ToString() +
                                         ": reading " + id.ToString());
    }
    // The old name of a RENAME, or a table a later DDL dropped before we read it.
    logger_->info("mysql schema change at {}: {} does not exist now; left out of tableChanges",
                  at.ToString(), id.ToString());
    return std::optional<core::SchemaChangeTable>();
  }
  return std::optional<core::SchemaChangeTable>(TableChangeFromLoaded(
      **loaded, ddl.kind == DdlInfo::Kind::kCreate ? Type::kCreate : Type::kAlter,
      options_.include_schema_comments));
}

core::Status StreamReader::FetchFailed() {
  FetchFailure f = stream_->Failure();
  f.cancelled = cancelled_.load();
  f.silent_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    clock_->Now() - last_event_at_).count();
  f.heartbeat_ms = options_.heartbeat_ms;
  f.read_timeout_s = read_timeout_s_;
  return FetchFailureStatus(f, BinlogLocation{file_, pos_});
}

core::PollStatus StreamReader::Finish(core::EventBatch& batch, core::PollStatus status) {
  auto now = clock_->Now();
  auto period = std::chrono::milliseconds(options_.heartbeat_ms);
  if (Carries(batch)) {
    // A held-back position precedes this batch's events: safe to resume from once they are
    // durable. The batch's own checkpoint, when it has one, is past it.
    if (batch.checkpoint().empty() && !pending_checkpoint_.empty()) {
      batch.set_checkpoint(std::move(pending_checkpoint_));
    }
    pending_checkpoint_ = {};
    return status;
  }
  // A batch with no event: only a position. One per heartbeat period is enough to keep the
  // committed position moving on a server busy with tables we do not capture; more would only
  // make the sink write its offset several times a second.
  if (!batch.checkpoint().empty()) {
    pending_checkpoint_ = batch.checkpoint();
    batch.set_checkpoint({});
  }
  if (!pending_checkpoint_.empty() && now - last_checkpoint_only_at_ >= period) {
    batch.set_checkpoint(std::move(pending_checkpoint_));
    pending_checkpoint_ = {};
    last_checkpoint_only_at_ = now;
    return core::PollStatus::kHaveMore;
  }
  return core::PollStatus::kIdle;
}

namespace {

// Binlog files of one server share a base name and differ in a numbered extension that grows
// in length only past 999999: a longer name is a later file.
bool AtOrBefore(std::string_view file, uint64_t pos, const std::string& ref_file, uint64_t ref_pos) {
  if (ref_file.empty()) return false;
  if (file.size() != ref_file.size()) return file.size() < ref_file.size();
  if (file != ref_file) return file < ref_file;
  return pos <= ref_pos;
}

}  // namespace

core::Result<core::PollStatus> StreamReader::Poll(core::EventBatch& batch,
                                                  const core::PollLimits& limits) {
  // The pipeline drops the batch of a failed Poll: only a successful one hands events over.
  auto result = PollEvents(batch, limits);
  if (result.ok()) emitted_ = progress_;
  if (retention_ && file_last_event_unix_s_ > 0) {
    retention_->FileRead(file_, file_last_event_unix_s_);
  }
  return result;
}

core::Status StreamReader::NotifyObserver(const BinlogLocation& start, core::EventBatch& batch) {
  if (!observer_) return core::Status::Ok();
  const bool may_emit = !AtOrBefore(start.file, start.pos, skip_.file, skip_.pos);
  return observer_->BeforeTransaction(start, may_emit, batch);
}

bool StreamReader::AlreadyEmitted(const BinlogLocation& at) {
  if (AtOrBefore(at.file, at.pos, skip_.file, skip_.pos)) return true;
  progress_.file = std::string(at.file);
  progress_.pos = at.pos;
  return false;
}

core::Result<core::PollStatus> StreamReader::PollEvents(core::EventBatch& batch,
                                                        const core::PollLimits& limits) {
  auto deadline = clock_->Now() + limits.max_wait;
  txn_index_ = UINT32_MAX;  // a new batch: transactions get a new TxnInfo entry
  statement_query_index_ = core::kNoQuery;  // and statements a new query entry
  while (batch.size() < limits.max_events && batch.ByteSize() < limits.max_bytes) {
    // Poll blocks at most max_wait when nothing comes, and returns what it read as soon as the
    // server has nothing more between transactions for core::kCaughtUpProbe (caught up: kIdle,
    // which lets the pipeline flush at once, core/pipeline.h): a blocking Fetch would hold the
    // batch until the next event, however late (a held incremental chunk waited for the next
    // transaction; the stream's lag grew by its gap). The probe rides over the server's pauses
    // in a backlog, so a catch-up is not flushed in small pieces. Inside a transaction it waits
    // for the rest up to max_wait (kHaveMore). Once no event, not even a heartbeat, came for the
    // read timeout, Fetch runs anyway and meets the dead link.
    const auto before = clock_->Now();
    if (before - last_event_at_ < std::chrono::seconds(read_timeout_s_)) {
      std::chrono::milliseconds wait{0};
      if (deadline > before) {
        wait = std::chrono::ceil<std::chrono::milliseconds>(deadline - before);
        if (!in_txn_ && Carries(batch)) wait = std::min(wait, core::kCaughtUpProbe);
      }
      if (!stream_->WaitReadable(wait)) {
        return Finish(batch, in_txn_ ? core::PollStatus::kHaveMore : core::PollStatus::kIdle);
      }
    }
    FetchedEvent event;
    if (!stream_->Fetch(event)) return FetchFailed();
    auto now = clock_->Now();
    last_event_at_ = now;
    std::string_view raw = event.raw;
    uint8_t type = event.type;
    uint64_t event_pos = event.next_pos >= event.length ? event.next_pos - event.length : pos_;
    BinlogLocation at{file_, event_pos};
    if (type == HEARTBEAT_LOG_EVENT) {
      // Its body names the server's current binlog file, its log_pos the server's end in it.
      std::string_view hb_file = raw.size() > kEventHeaderSize ? raw.substr(kEventHeaderSize) : "";
      if (checksum_ && hb_file.size() >= kChecksumSize) hb_file.remove_suffix(kChecksumSize);
      if (hb_file == file_) read_to_ = std::max(read_to_, event.next_pos);
      // The server had nothing to send for a heartbeat period: we are caught up.
      return Finish(batch, Carries(batch) ? core::PollStatus::kHaveMore : core::PollStatus::kIdle);
    }
    bool artificial = (event.flags & 0x20) != 0 || event.next_pos == 0;
    if (!artificial) read_to_ = std::max(read_to_, event.next_pos);
    // FORMAT_DESCRIPTION and artificial ROTATE events carry no checksum we can rely on.
    bool verify = checksum_ && type != FORMAT_DESCRIPTION_EVENT && !artificial;
    SLUICE_ASSIGN_OR_RETURN(RawEvent ev, SplitEvent(raw, verify, at));
    std::string_view body = ev.body;
    if (!artificial && ev.header.timestamp != 0) file_last_event_unix_s_ = ev.header.timestamp;
    if (!verify && checksum_ && type != FORMAT_DESCRIPTION_EVENT && body.size() >= kChecksumSize) {
      body.remove_suffix(kChecksumSize);
    }
    switch (type) {
      case ROTATE_EVENT: {
        SLUICE_ASSIGN_OR_RETURN(RotateEvent r, DecodeRotate(body, at));
        if (std::string(r.file) != file_) {
          tables_.clear();
          // A real ROTATE is the last event of the file it closes: written at its last write.
          if (retention_ && !artificial) retention_->FileClosed(file_, ev.header.timestamp);
          file_last_event_unix_s_ = 0;
        }
        if (std::string(r.file) != file_) read_to_ = r.position;
        file_ = std::string(r.file);
        pos_ = r.position;
        if (!artificial && !in_txn_) Commit(batch, pos_);
        break;
      }
      case GTID_EVENT: {
        SLUICE_ASSIGN_OR_RETURN(MariaGtid g, DecodeMariaGtid(body, at));
        gtid_state_[g.domain] = {ev.header.server_id, g.sequence};
        gtid_ = std::to_string(g.domain) + "-" + std::to_string(ev.header.server_id) + "-" +
                std::to_string(g.sequence);
        in_txn_ = true;
        txn_pos_ = event_pos;
        txn_ts_ms_ = static_cast<int64_t>(ev.header.timestamp) * 1000;
        txn_server_id_ = ev.header.server_id;
        txn_thread_ = -1;
        txn_index_ = UINT32_MAX;
        SLUICE_RETURN_IF_ERROR(NotifyObserver(at, batch));
        standalone_group_ = g.standalone();
        AddBoundary(batch, true, ev.header, at);
        break;
      }
      case QUERY_EVENT:
        SLUICE_RETURN_IF_ERROR(HandleQuery(ev.header, body, at, batch));
        break;
      case XID_EVENT:
        AddBoundary(batch, false, ev.header, at);
        Commit(batch, ev.header.next_position);
        break;
      case TABLE_MAP_EVENT:
        SLUICE_RETURN_IF_ERROR(HandleTableMap(body, at));
        break;
      case WRITE_ROWS_EVENT_V1: case UPDATE_ROWS_EVENT_V1: case DELETE_ROWS_EVENT_V1:
      case WRITE_ROWS_EVENT: case UPDATE_ROWS_EVENT: case DELETE_ROWS_EVENT: {
        SLUICE_ASSIGN_OR_RETURN(RowsEvent rows, DecodeRowsHeader(type, body, at));
        auto it = tables_.find(rows.table_id);
        if (it == tables_.end()) {
          return core::DataLossError("mysql rows event at " + at.ToString() +
                                     " refers to unknown table id " + std::to_string(rows.table_id));
        }
        const bool statement_end = (rows.flags & kRowsStatementEnd) != 0;
        if (it->second.plan == nullptr || AlreadyEmitted(at)) {  // not captured, or repeated
          if (statement_end) statement_query_.clear();
          break;
        }
        uint32_t txn = CurrentTxn(batch, ev.header, event_pos);
        if (!statement_query_.empty() && statement_query_index_ == core::kNoQuery) {
          statement_query_index_ = batch.AddQuery(statement_query_);
        }
        SLUICE_RETURN_IF_ERROR(DecodeRows(rows, *it->second.plan, txn, batch, at, &stats_,
                                          statement_query_index_));
        ++events_decoded_;
        if (statement_end) {  // the statement's last ROWS event
          statement_query_.clear();
          statement_query_index_ = core::kNoQuery;
        }
        if (stats_.zero_dates > zero_dates_warned_) {
          logger_->warn("mysql: zero dates ('0000-00-00') emitted as NULL (at {}; "
                        "zero.date.handling.mode=null)", at.ToString());
          zero_dates_warned_ = stats_.zero_dates;
        }
        break;
      }
      case ROWS_QUERY_LOG_EVENT: case ANNOTATE_ROWS_EVENT: {
        if (!options_.include_query) break;
        SLUICE_ASSIGN_OR_RETURN(std::string_view sql, DecodeRowsQuery(type, body, at));
        statement_query_.assign(sql);
        statement_query_index_ = core::kNoQuery;
        break;
      }
      case WRITE_ROWS_COMPRESSED_EVENT_V1: case UPDATE_ROWS_COMPRESSED_EVENT_V1:
      case DELETE_ROWS_COMPRESSED_EVENT_V1: case WRITE_ROWS_COMPRESSED_EVENT:
      case UPDATE_ROWS_COMPRESSED_EVENT: case DELETE_ROWS_COMPRESSED_EVENT:
      case QUERY_COMPRESSED_EVENT:
        return core::FailedPreconditionError("mysql binlog at " + at.ToString() +
                                             " is compressed (log_bin_compress=ON); turn it off");
      case kTransactionPayloadEvent:
        return core::FailedPreconditionError(
            "mysql binlog at " + at.ToString() + " holds a compressed transaction "
            "(TRANSACTION_PAYLOAD, MySQL binlog_transaction_compression=ON), which this connector "
            "cannot read; set binlog_transaction_compression=OFF");
      default:
        break;  // FORMAT_DESCRIPTION, checkpoints, GTID lists, ...
    }
    // However busy the server is with tables we do not capture, Poll returns in time; mid-
    // transaction too (the batch then has no checkpoint, or an earlier one).
    if (now >= deadline) {
      return Finish(batch, Carries(batch) ? core::PollStatus::kHaveMore : core::PollStatus::kIdle);
    }
  }
  return Finish(batch, core::PollStatus::kHaveMore);
}

}  // namespace sluice::mysql
