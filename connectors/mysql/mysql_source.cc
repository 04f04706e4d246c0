#include "connectors/mysql/mysql_source.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
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
#include "connectors/mysql/start_decision.h"
#include "connectors/mysql/stream_reader.h"
#include "core/heartbeat_action.h"
#include "core/incremental_poll.h"
#include "core/parse_number.h"
#include "core/progress.h"
#include "core/snapshot_mode.h"

namespace sluice::mysql {
namespace {

class MysqlSource final : public core::Source {
 public:
  explicit MysqlSource(const core::ConnectorContext& ctx) : ctx_(ctx), logger_(ctx.logger) {}
  ~MysqlSource() override { Close(); }

  core::Status Configure() {
    SLUICE_ASSIGN_OR_RETURN(SourceConfig config, ParseSourceConfig(ctx_.config));
    params_ = std::move(config.params);
    stream_options_ = config.stream;
    snapshot_options_ = config.snapshot;
    mode_ = config.mode;
    filter_ = std::move(config.filter);
    health_interval_ms_ = config.health_interval_ms;
    retained_warn_bytes_ = config.retained_warn_bytes;
    signal_table_ = config.signal_table;
    if (!config.heartbeat.query.empty()) {
      auto conn = std::make_shared<std::unique_ptr<MysqlConnection>>();
      heartbeat_ = std::make_unique<core::HeartbeatAction>(
          config.heartbeat.query, std::chrono::milliseconds(config.heartbeat.interval_ms),
          [conn, params = params_](const std::string& query) {
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
    pacer_ = std::make_unique<core::ChunkPacer>(config.incremental_chunk_rows);
    incremental_ = std::make_unique<MysqlIncrementalSnapshot>(
        params_, &filter_, stream_options_.zero_dates, config.incremental_chunk_rows, logger_);
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
    bool file_on_server = false;
    if (from && !from->snapshot_running) {
      SLUICE_ASSIGN_OR_RETURN(file_on_server, BinlogFileOnServer(from->file));
    }
    SLUICE_ASSIGN_OR_RETURN(StartDecision d, DecideStart(from, file_on_server, mode_));
    if (!d.warning.empty()) logger_->warn("{}", d.warning);
    switch (d.action) {
      case StartAction::kSnapshot:
        return StartSnapshot(d.restarted);
      case StartAction::kStream: {
        if (from && (mode_ == core::SnapshotMode::kInitial ||
                     mode_ == core::SnapshotMode::kWhenNeeded)) {
          // Tables the filter captures now and did not when the position was taken.
          incremental_->RequestNewTables(from->incremental, ctx_.config);
        }
        core::Status st = StartStream(d.from);
        if (st.code() == core::StatusCode::kFailedPrecondition &&
            mode_ == core::SnapshotMode::kWhenNeeded) {
          // Purged since the look-up above: decide again with the file gone.
          SLUICE_ASSIGN_OR_RETURN(bool still_there, BinlogFileOnServer(d.from.file));
          if (still_there) return st;
          SLUICE_ASSIGN_OR_RETURN(d, DecideStart(from, false, mode_));
          logger_->warn("{}", d.warning);
          return StartSnapshot(d.restarted);
        }
        return st;
      }
      case StartAction::kStreamFromServer:
        break;
    }
    MysqlConnection conn;
    SLUICE_RETURN_IF_ERROR(conn.Connect(params_));
    SLUICE_ASSIGN_OR_RETURN(auto master, conn.Query("SHOW MASTER STATUS"));
    if (master.empty()) return core::FailedPreconditionError("mysql: binary logging is off");
    BinlogPosition p;
    p.file = master[0][0].value_or("");
    SLUICE_ASSIGN_OR_RETURN(p.pos, core::ParseNumber<uint64_t>(
                                       master[0][1].value_or(""), "mysql SHOW MASTER STATUS position"));
    return StartStream(p);
  }

  core::Result<core::PollStatus> Poll(core::EventBatch& batch, const core::PollLimits& limits) override {
    auto result = PollInner(batch, limits);
    if (result.ok() && stream_) {
      core::CarryIncrementalState<BinlogPosition>(
          batch, *incremental_, ctx_.config,
          [](const BinlogPosition& p) { return core::SourcePosition{p.ToJson()}; });
    }
    return result;
  }

  std::shared_ptr<core::IncrementalSnapshots> incremental_snapshots() const override {
    return incremental_->tracker();
  }

  core::Result<core::PollStatus> PollInner(core::EventBatch& batch, const core::PollLimits& limits) {
    if (stop_.load()) return core::PollStatus::kIdle;
    if (snapshot_) {
      SLUICE_ASSIGN_OR_RETURN(bool done, snapshot_->Next(batch, limits));
      if (!done) return core::PollStatus::kHaveMore;
      BinlogPosition at = snapshot_->position();
      logger_->info("mysql snapshot finished at {}:{}", at.file, at.pos);
      {
        std::lock_guard lock(mu_);
        snapshot_.reset();
      }
      if (mode_ == core::SnapshotMode::kInitialOnly) {
        if (ctx_.progress) ctx_.progress->SetPhase("finished");
        finished_ = true;
        return core::PollStatus::kFinished;
      }
      SLUICE_RETURN_IF_ERROR(StartStream(at));
      return core::PollStatus::kHaveMore;
    }
    if (finished_) return core::PollStatus::kFinished;
    if (!stream_) return core::UnavailableError("mysql source is not started");
    return core::PollStreaming(*incremental_, *pacer_, *stream_,
                               {heartbeat_.get(), &signal_table_, logger_.get(), "mysql"},
                               std::chrono::steady_clock::now(), batch, limits, stop_);
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
    ConnectionParams params = params_;
    params.connect_timeout_s = std::min(params.connect_timeout_s, 5);
    return WatchBinlog({params, ctx_.config.name(), health_interval_ms_, retained_warn_bytes_},
                       std::move(needed), ctx_.metrics, progress, logger_);
  }

  void RequestStop() override {
    stop_.store(true);
    incremental_->Cancel();
    std::lock_guard lock(mu_);
    if (stream_) stream_->Cancel();
    if (snapshot_) snapshot_->Cancel();
  }

  void Close() override {
    health_.reset();  // stops its thread
    std::lock_guard lock(mu_);
    // What the stream handed over stays ours: a restart in this process skips it (the
    // pipeline still holds it), see StreamReader::Emitted.
    if (stream_) {
      emitted_ = stream_->emitted();
      schema_version_ = stream_->schema_version();
    }
    stream_.reset();
    snapshot_.reset();
    if (incremental_) incremental_->Close();
  }

  core::Status Check() override {
    MysqlConnection conn;
    SLUICE_RETURN_IF_ERROR(conn.Connect(params_));
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
    SLUICE_RETURN_IF_ERROR(CheckBinlogSettings(variables, stream_options_.include_query));
    auto master = conn.Query("SHOW MASTER STATUS");
    if (!master.ok()) return master.status();
    return core::Status::Ok();
  }

  // Two binlog readers with one server id evict each other on the server, each reconnect
  // ending the other's stream: no two connectors of a service may share one.
  std::vector<std::string> ExclusiveServerObjects(
      const std::optional<core::SourcePosition>& /*stored*/) const override {
    return {"replica server id " + std::to_string(stream_options_.server_id) +
            " (database.server.id) on " + params_.host + ":" + std::to_string(params_.port)};
  }

  nlohmann::json OffsetPartition(const std::string& /*connector*/) const override {
    return {{"server", ctx_.config.Get("topic.prefix", "sluice")}};
  }

  core::Result<nlohmann::json> ExportOffset(const core::SourcePosition& position) const override {
    SLUICE_ASSIGN_OR_RETURN(BinlogPosition p, BinlogPosition::Parse(position.value));
    return p.ToDebeziumOffset();
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
    core::Status connected = conn.Connect(params_);
    if (!connected.ok()) {
      return core::UnavailableError("cannot check the offset against " + params_.host + ":" +
                                    std::to_string(params_.port) + ": " + connected.message() +
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
  core::Status StartSnapshot(bool restarted) {
    // A snapshot (with truncates when restarted) supersedes whatever a stream handed over.
    emitted_ = {};
    auto reader = std::make_unique<SnapshotReader>(params_, &filter_, snapshot_options_, logger_,
                                                   ctx_.progress);
    SLUICE_RETURN_IF_ERROR(reader->Open(restarted));
    std::lock_guard lock(mu_);
    snapshot_ = std::move(reader);
    return core::Status::Ok();
  }

  // Whether SHOW BINARY LOGS still lists `file`.
  core::Result<bool> BinlogFileOnServer(const std::string& file) {
    MysqlConnection conn;
    SLUICE_RETURN_IF_ERROR(conn.Connect(params_));
    SLUICE_ASSIGN_OR_RETURN(auto logs, conn.Query("SHOW BINARY LOGS"));
    for (const auto& r : logs) {
      if (!r.empty() && r[0].value_or("") == file) return true;
    }
    return false;
  }

  core::Status StartStream(const BinlogPosition& from) {
    auto reader = std::make_unique<StreamReader>(params_, &filter_, stream_options_, logger_);
    reader->SkipEmitted(emitted_);
    reader->ContinueSchemaVersions(schema_version_);
    reader->TrackRetention(retention_.get());
    reader->SetObserver(incremental_.get());
    SLUICE_RETURN_IF_ERROR(reader->Open(from));
    if (ctx_.progress) ctx_.progress->SetPhase("streaming");
    retention_->SetNeeded(from.file, from.pos);
    {
      std::lock_guard lock(mu_);
      stream_ = std::move(reader);
    }
    BinlogHealthOptions health{params_, ctx_.config.name(), health_interval_ms_,
                               retained_warn_bytes_};
    health_ = std::make_unique<BinlogHealthMonitor>(std::move(health), retention_, ctx_.metrics,
                                                    ctx_.progress, logger_);
    health_->Start();
    return core::Status::Ok();
  }

  core::ConnectorContext ctx_;
  std::shared_ptr<spdlog::logger> logger_;
  ConnectionParams params_;
  StreamOptions stream_options_;
  SnapshotOptions snapshot_options_;
  core::SnapshotMode mode_ = core::SnapshotMode::kInitial;
  CaptureFilter filter_;
  std::mutex mu_;  // guards the reader pointers against RequestStop from another thread
  StreamReader::Emitted emitted_;  // by the streams of this process (source thread)
  uint64_t schema_version_ = 1;    // the last schema version a stream of this process gave
  std::unique_ptr<SnapshotReader> snapshot_;
  std::unique_ptr<StreamReader> stream_;
  // Retention guardrails: what the source needs (any thread), sampled while streaming.
  std::shared_ptr<BinlogRetention> retention_ = std::make_shared<BinlogRetention>();
  std::unique_ptr<BinlogHealthMonitor> health_;  // source thread
  int64_t health_interval_ms_ = 10000;
  int64_t retained_warn_bytes_ = int64_t{1} << 30;
  std::unique_ptr<MysqlIncrementalSnapshot> incremental_;  // created by Configure()
  std::atomic<bool> stop_{false};
  bool finished_ = false;
  std::unique_ptr<core::ChunkPacer> pacer_;  // created by Configure()
  std::unique_ptr<core::HeartbeatAction> heartbeat_;  // heartbeat.action.query, streaming
  std::optional<core::TableId> signal_table_;         // signal.data.collection
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
