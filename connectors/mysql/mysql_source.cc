#include "connectors/mysql/mysql_source.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "connectors/mysql/binlog_health.h"
#include "connectors/mysql/incremental_snapshot.h"
#include "connectors/mysql/mysql_connection.h"
#include "connectors/mysql/mysql_position.h"
#include "connectors/mysql/mysql_schema.h"
#include "connectors/mysql/snapshot_reader.h"
#include "connectors/mysql/source_config.h"
#include "connectors/mysql/source_phases.h"
#include "connectors/mysql/stream_reader.h"
#include "core/debezium_offsets.h"
#include "core/heartbeat_action.h"
#include "core/incremental_poll.h"
#include "core/parse_number.h"
#include "core/progress.h"
#include "core/snapshot_mode.h"

namespace sluice::mysql {
namespace {

// The phases' moves (source_phases.h) run here on the server; this class owns the connections,
// the stream reader, the retention monitors and incremental snapshots.
class MysqlSource final : public core::DebeziumOffsetSource<BinlogPosition>, private PhaseIo {
 public:
  explicit MysqlSource(const core::ConnectorContext& ctx)
      : DebeziumOffsetSource(ctx.config.Get("topic.prefix", "sluice")),
        ctx_(ctx),
        logger_(ctx.logger),
        phases_(this, &stop_, ctx.logger) {}
  ~MysqlSource() override { Close(); }

  core::Status Configure() {
    SLUICE_ASSIGN_OR_RETURN(config_, ParseSourceConfig(ctx_.config));
    if (!config_.heartbeat.query.empty()) {
      auto conn = std::make_shared<std::unique_ptr<MysqlConnection>>();
      heartbeat_ = std::make_unique<core::HeartbeatAction>(
          config_.heartbeat.query, std::chrono::milliseconds(config_.heartbeat.interval_ms),
          [conn, params = config_.params](const std::string& query) {
            if (!*conn) {
              auto fresh = std::make_unique<MysqlConnection>();
              SLUICE_RETURN_IF_ERROR(fresh->Connect(params));
              *conn = std::move(fresh);
            }
            core::Status s = (*conn)->Execute(query);
            if (!s.ok()) conn->reset();  // a new connection at the next run
            return s;
          });
    }
    pacer_ = std::make_unique<core::ChunkPacer>(config_.incremental_chunk_rows);
    incremental_ = std::make_unique<MysqlIncrementalSnapshot>(
        config_.params, &config_.filter, config_.stream.zero_dates, config_.incremental_chunk_rows,
        config_.incremental_consistency,
        logger_);
    return core::Status::Ok();
  }

  core::Status Start(const std::optional<core::SourcePosition>& resume) override {
    Close();
    stop_.store(false);
    SLUICE_RETURN_IF_ERROR(Check());
    std::optional<BinlogPosition> from;
    if (resume && !resume->empty()) {
      SLUICE_ASSIGN_OR_RETURN(BinlogPosition p, BinlogPosition::Parse(resume->value));
      from = p;
    }
    SLUICE_RETURN_IF_ERROR(incremental_->Restart(from ? from->incremental : ""));
    return phases_.Begin(from, config_.mode);
  }

  core::Result<core::PollStatus> Poll(core::EventBatch& batch, const core::PollLimits& limits) override {
    auto result = phases_.Poll(batch, limits);
    if (result.ok() && phases_.streaming()) {
      core::CarryIncrementalState<BinlogPosition>(
          batch, *incremental_, ctx_.config,
          [](const BinlogPosition& p) { return core::SourcePosition{p.ToJson()}; });
    }
    return result;
  }

  std::shared_ptr<core::IncrementalSnapshots> incremental_snapshots() const override {
    return incremental_->tracker();
  }

  // The binlog needs no release; the committed position is the file the retention guardrails
  // watch (binlog_health.h).
  void Acknowledge(const core::SourcePosition& position) override {
    auto p = BinlogPosition::Parse(position.value);
    if (p.ok() && !p->snapshot_running && !p->file.empty()) retention_->SetNeeded(p->file, p->pos);
  }

  // The binlog files from the stored position on: none before a position names a file, nor
  // while a snapshot was running (its restart takes a new one).
  std::unique_ptr<core::RetentionWatch> WatchRetention(
      const std::optional<core::SourcePosition>& stored,
      core::ProgressTracker* progress) override {
    if (!stored || stored->empty()) return nullptr;
    auto p = BinlogPosition::Parse(stored->value);
    if (!p.ok() || p->snapshot_running || p->file.empty()) return nullptr;
    auto needed = std::make_shared<BinlogRetention>();
    needed->SetNeeded(p->file, p->pos);
    ConnectionParams params = config_.params;
    params.connect_timeout_s = std::min(params.connect_timeout_s, 5);
    return WatchBinlog(HealthOptions(params), std::move(needed), ctx_.metrics, progress, logger_);
  }

  void RequestStop() override {
    stop_.store(true);
    incremental_->Cancel();
    std::lock_guard lock(mu_);
    if (stream_) stream_->Cancel();
    phases_.Cancel();
  }

  void Close() override {
    health_.reset();  // stops its thread
    phases_.Close();
    std::lock_guard lock(mu_);
    // What the stream handed over stays ours: a restart in this process skips it (the
    // pipeline still holds it), see StreamReader::Emitted.
    if (stream_) {
      emitted_ = stream_->emitted();
      schema_version_ = stream_->schema_version();
    }
    stream_.reset();
    if (incremental_) incremental_->Close();
  }

  core::Status Check() override {
    MysqlConnection conn;
    SLUICE_RETURN_IF_ERROR(conn.Connect(config_.params));
    std::string sql = "SHOW GLOBAL VARIABLES WHERE Variable_name IN (";
    bool first = true;
    for (const auto& name : CheckedServerVariables()) {
      sql += (first ? "'" : ", '") + name + "'";
      first = false;
    }
    sql += ")";
    SLUICE_ASSIGN_OR_RETURN(auto rows, conn.Query(sql));
    std::map<std::string, std::string> variables;
    for (const auto& r : rows) {
      if (r.size() >= 2 && r[0]) variables[*r[0]] = r[1].value_or("");
    }
    SLUICE_RETURN_IF_ERROR(CheckBinlogSettings(variables, config_.stream.include_query));
    auto master = conn.Query("SHOW MASTER STATUS");
    if (!master.ok()) return master.status();
    return core::Status::Ok();
  }

  // Two binlog readers with one server id evict each other on the server, each reconnect
  // ending the other's stream: no two connectors of a service may share one.
  std::vector<std::string> ExclusiveServerObjects(
      const std::optional<core::SourcePosition>& /*stored*/) const override {
    return {"replica server id " + std::to_string(config_.stream.server_id) +
            " (database.server.id) on " + config_.params.host + ":" + std::to_string(config_.params.port)};
  }

  core::Result<core::SourcePosition> ImportOffset(const nlohmann::json& offset) const override {
    SLUICE_ASSIGN_OR_RETURN(BinlogPosition p, BinlogPosition::FromDebeziumOffset(offset));
    return core::SourcePosition{p.ToJson()};
  }

  // Moving a binlog position needs no force: the server keeps its binlogs whatever a reader
  // stored, so a later PATCH can move it back.
  core::Status CheckOffset(const core::SourcePosition& proposed,
                           const std::optional<core::SourcePosition>& /*stored*/,
                           bool /*force*/) override {
    const std::string shape = "a mysql offset is {\"file\": \"binlog.000001\", \"pos\": 4, "
                              "\"gtid\": \"…\"}";
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(proposed.value);
    } catch (const std::exception& e) {
      return core::InvalidArgumentError("the offset position is not JSON (" +
                                        std::string(e.what()) + "); " + shape);
    }
    if (!j.is_object()) return core::InvalidArgumentError("the offset is not an object; " + shape);
    for (const auto& [key, value] : j.items()) {
      if (key == "snapshot") {
        return core::InvalidArgumentError(
            "an offset inside a running snapshot cannot be set; reset the offsets to take a "
            "new snapshot");
      }
      if (key != "file" && key != "pos" && key != "gtid") {
        return core::InvalidArgumentError("the offset has an unknown key '" + key + "'; " + shape);
      }
    }
    SLUICE_ASSIGN_OR_RETURN(BinlogPosition position, BinlogPosition::Parse(proposed.value));
    MysqlConnection conn;
    core::Status connected = conn.Connect(config_.params);
    if (!connected.ok()) {
      return core::UnavailableError("cannot check the offset against " + config_.params.host + ":" +
                                    std::to_string(config_.params.port) + ": " + connected.message() +
                                    "; retry when the server is reachable");
    }
    SLUICE_ASSIGN_OR_RETURN(auto logs, conn.Query("SHOW BINARY LOGS"));
    for (const auto& r : logs) {
      if (r.size() < 2 || r[0].value_or("") != position.file) continue;
      SLUICE_ASSIGN_OR_RETURN(uint64_t size, core::ParseNumber<uint64_t>(
                                                 r[1].value_or(""), "mysql SHOW BINARY LOGS "
                                                                    "size of " + position.file));
      if (position.pos > size) {
        return core::InvalidArgumentError(
            "the offset's pos " + std::to_string(position.pos) + " is beyond the end of binlog " +
            position.file + " (" + std::to_string(size) + " bytes) on the server");
      }
      return core::Status::Ok();
    }
    return core::InvalidArgumentError("binlog file '" + position.file +
                                      "' is not on the server (SHOW BINARY LOGS): it was purged "
                                      "or never existed; choose a listed file");
  }

 private:
  // PhaseIo.
  core::Result<bool> BinlogFileOnServer(const std::string& file) override {
    MysqlConnection conn;
    SLUICE_RETURN_IF_ERROR(conn.Connect(config_.params));
    SLUICE_ASSIGN_OR_RETURN(auto logs, conn.Query("SHOW BINARY LOGS"));
    for (const auto& r : logs) {
      if (!r.empty() && r[0].value_or("") == file) return true;
    }
    return false;
  }

  core::Result<BinlogPosition> ServerPosition() override {
    MysqlConnection conn;
    SLUICE_RETURN_IF_ERROR(conn.Connect(config_.params));
    SLUICE_ASSIGN_OR_RETURN(auto master, conn.Query("SHOW MASTER STATUS"));
    return PositionFromMasterStatus(master);
  }

  core::Result<OpenedSnapshot> OpenSnapshot(bool restarted) override {
    // A snapshot (with truncates when restarted) supersedes whatever a stream handed over.
    emitted_ = {};
    auto reader = std::make_unique<SnapshotReader>(config_.params, &config_.filter,
                                                   config_.snapshot, logger_, ctx_.progress);
    SLUICE_RETURN_IF_ERROR(reader->Open(restarted));
    BinlogPosition at = reader->position();
    return OpenedSnapshot{std::make_unique<core::ReaderRows<SnapshotReader>>(std::move(reader)),
                          std::move(at)};
  }

  void SnapshotOnlyFinished() override {
    if (ctx_.progress) ctx_.progress->SetPhase("finished");
  }

  core::Status OpenStream(StreamFrom from, const BinlogPosition& at) override {
    if (from == StreamFrom::kStoredPosition && (config_.mode == core::SnapshotMode::kInitial ||
                                                config_.mode == core::SnapshotMode::kWhenNeeded)) {
      // Tables the filter captures now and did not when the position was taken.
      incremental_->RequestNewTables(at.incremental, ctx_.config);
    }
    auto reader =
        std::make_unique<StreamReader>(config_.params, &config_.filter, config_.stream, logger_);
    reader->SkipEmitted(emitted_);
    reader->ContinueSchemaVersions(schema_version_);
    reader->TrackRetention(retention_.get());
    reader->SetObserver(incremental_.get());
    SLUICE_RETURN_IF_ERROR(reader->Open(at));
    if (ctx_.progress) ctx_.progress->SetPhase("streaming");
    retention_->SetNeeded(at.file, at.pos);
    {
      std::lock_guard lock(mu_);
      stream_ = std::move(reader);
    }
    health_ = std::make_unique<BinlogHealthMonitor>(HealthOptions(config_.params), retention_,
                                                    ctx_.metrics, ctx_.progress, logger_);
    health_->Start();
    return core::Status::Ok();
  }

  core::Result<core::PollStatus> PollStream(core::EventBatch& batch,
                                            const core::PollLimits& limits) override {
    if (!stream_) return core::UnavailableError("mysql source is not started");
    return core::PollStreaming(*incremental_, *pacer_, *stream_,
                               {heartbeat_.get(), &config_.signal_table, logger_.get(), "mysql"},
                               std::chrono::steady_clock::now(), batch, limits, stop_);
  }

  BinlogHealthOptions HealthOptions(const ConnectionParams& params) const {
    return {params, ctx_.config.name(), config_.health_interval_ms, config_.retained_warn_bytes};
  }

  core::ConnectorContext ctx_;
  std::shared_ptr<spdlog::logger> logger_;
  SourceConfig config_;
  std::mutex mu_;  // guards stream_ against RequestStop from another thread
  StreamReader::Emitted emitted_;  // by the streams of this process (source thread)
  uint64_t schema_version_ = 1;    // the last schema version a stream of this process gave
  std::unique_ptr<StreamReader> stream_;
  // Retention guardrails: what the source needs (any thread), sampled while streaming.
  std::shared_ptr<BinlogRetention> retention_ = std::make_shared<BinlogRetention>();
  std::unique_ptr<BinlogHealthMonitor> health_;  // source thread
  std::unique_ptr<MysqlIncrementalSnapshot> incremental_;  // created by Configure()
  std::atomic<bool> stop_{false};
  std::unique_ptr<core::ChunkPacer> pacer_;  // created by Configure()
  std::unique_ptr<core::HeartbeatAction> heartbeat_;  // heartbeat.action.query, streaming
  SourcePhases phases_;  // last: it calls back into the members above
};

}  // namespace

std::vector<std::string> CheckedServerVariables() {
  return {"log_bin", "binlog_format", "binlog_row_image", "log_bin_compress",
          "binlog_transaction_compression", "binlog_row_value_options",
          "binlog_annotate_row_events", "binlog_rows_query_log_events"};
}

core::Status CheckBinlogSettings(const std::map<std::string, std::string>& v, bool include_query) {
  auto get = [&](const char* name) -> std::string {
    auto it = v.find(name);
    return it == v.end() ? std::string() : it->second;
  };
  auto on = [](const std::string& value) { return value == "ON" || value == "1"; };
  if (!on(get("log_bin"))) {
    return core::FailedPreconditionError(
        "mysql server has binary logging off: start it with log_bin (e.g. --log-bin=mysql-bin) "
        "and binlog_format=ROW, binlog_row_image=FULL");
  }
  if (get("binlog_format") != "ROW") {
    return core::FailedPreconditionError(
        "mysql server has binlog_format=" + get("binlog_format") +
        "; set binlog_format=ROW (SET GLOBAL binlog_format='ROW' and in the server config)");
  }
  if (get("binlog_row_image") != "FULL") {
    return core::FailedPreconditionError(
        "mysql server has binlog_row_image=" + get("binlog_row_image") +
        "; set binlog_row_image=FULL (SET GLOBAL binlog_row_image='FULL' and in the server "
        "config)");
  }
  if (on(get("log_bin_compress"))) {
    return core::FailedPreconditionError(
        "mysql server has log_bin_compress=ON: its compressed binlog events cannot be read; set "
        "log_bin_compress=OFF (SET GLOBAL log_bin_compress=OFF and in the server config)");
  }
  if (on(get("binlog_transaction_compression"))) {
    return core::FailedPreconditionError(
        "mysql server has binlog_transaction_compression=ON: its compressed transactions "
        "(TRANSACTION_PAYLOAD events) cannot be read; set binlog_transaction_compression=OFF "
        "(SET GLOBAL binlog_transaction_compression=OFF and in the server config)");
  }
  std::string value_options = get("binlog_row_value_options");
  if (!value_options.empty()) {
    return core::FailedPreconditionError(
        "mysql server has binlog_row_value_options=" + value_options +
        ": partial JSON updates (PARTIAL_UPDATE_ROWS events) cannot be read; set "
        "binlog_row_value_options='' (SET GLOBAL binlog_row_value_options='' and in the server "
        "config)");
  }
  if (include_query) {
    // MariaDB logs the statement as ANNOTATE_ROWS (binlog_annotate_row_events), MySQL as
    // ROWS_QUERY (binlog_rows_query_log_events); each server has only its own variable.
    const char* variable = v.count("binlog_annotate_row_events") != 0 ? "binlog_annotate_row_events"
                           : v.count("binlog_rows_query_log_events") != 0
                               ? "binlog_rows_query_log_events"
                               : nullptr;
    if (variable == nullptr) {
      return core::FailedPreconditionError(
          "include.query=true needs the server to log each row change's SQL statement, but it "
          "has neither binlog_annotate_row_events (MariaDB) nor binlog_rows_query_log_events "
          "(MySQL 5.6+); set include.query=false");
    }
    if (!on(get(variable))) {
      return core::FailedPreconditionError(
          std::string("include.query=true needs the SQL statements in the binlog, but the mysql "
                      "server has ") + variable + "=" + get(variable) + "; set " + variable +
          "=ON (SET GLOBAL " + variable + "=ON and in the server config; sessions opened "
          "before keep their own setting), or set include.query=false");
    }
  }
  return core::Status::Ok();
}

core::Result<std::unique_ptr<core::Source>> MakeMysqlSource(const core::ConnectorContext& context) {
  auto source = std::make_unique<MysqlSource>(context);
  SLUICE_RETURN_IF_ERROR(source->Configure());
  return std::unique_ptr<core::Source>(std::move(source));
}

}  // namespace sluice::mysql
