#include "connectors/postgres/postgres_source.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "connectors/postgres/incremental_snapshot.h"
#include "connectors/postgres/pg_admin.h"
#include "connectors/postgres/pg_connection.h"
#include "connectors/postgres/pg_names.h"
#include "connectors/postgres/pg_position.h"
#include "connectors/postgres/pg_schema.h"
#include "connectors/postgres/slot_health.h"
#include "connectors/postgres/slot_manager.h"
#include "connectors/postgres/slot_xmin.h"
#include "connectors/postgres/source_config.h"
#include "connectors/postgres/source_phases.h"
#include "connectors/postgres/start_decision.h"
#include "connectors/postgres/snapshot_reader.h"
#include "connectors/postgres/stream_reader.h"
#include "core/debezium_offsets.h"
#include "core/heartbeat_action.h"
#include "core/incremental_poll.h"
#include "core/progress.h"
#include "core/snapshot_mode.h"

namespace sluice::pg {
namespace {

// The phases' moves (source_phases.h) run here on the server; this class owns the slot, the
// connections, the stream reader and the monitors.
class PostgresSource final : public core::DebeziumOffsetSource<PgPosition>, private PhaseIo {
 public:
  explicit PostgresSource(const core::ConnectorContext& ctx)
      : DebeziumOffsetSource(ctx.config.Get("topic.prefix", "sluice")),
        ctx_(ctx),
        logger_(ctx.logger),
        slots_(&config_, ctx.config.name(), ctx.logger),
        phases_(this, &stop_, ctx.logger) {}
  ~PostgresSource() override { Close(); }

  core::Status Configure() {
    SLUICE_ASSIGN_OR_RETURN(config_, ParseSourceConfig(ctx_.config));
    slots_.UseNames(ResolveServerObjectNames(ctx_.config, ""));
    incremental_ = std::make_unique<PgIncrementalSnapshot>(
        config_.params, &config_.filter, &schemas_, config_.incremental_chunk_rows, logger_);
    pacer_ = std::make_unique<core::ChunkPacer>(config_.incremental_chunk_rows);
    return core::Status::Ok();
  }

  core::Status Start(const std::optional<core::SourcePosition>& resume) override {
    Close();
    stop_.store(false);
    std::optional<PgPosition> from;
    if (resume && !resume->empty()) {
      SLUICE_ASSIGN_OR_RETURN(PgPosition p, PgPosition::Parse(resume->value));
      from = p;
    }
    slots_.UseNames(ResolveServerObjectNames(ctx_.config, from ? from->slot : ""));
    incremental_->SetPublication(slots_.publication());
    SLUICE_RETURN_IF_ERROR(incremental_->Restart(from ? from->incremental : ""));
    // The check's connections serve the start: its regular one becomes Start()'s (and then the
    // stream's relation catalog's), its replication one the stream's or the snapshot's
    // (ReplicationConnection). A resumed stream opens two connections instead of five.
    SlotManager::CheckedConnections checked;
    SLUICE_RETURN_IF_ERROR(slots_.CheckServer(/*for_start=*/true, &checked));
    spare_repl_ = std::move(checked.repl);
    start_conn_ = std::move(checked.conn);
    PgConnection& conn = *start_conn_;
    ControlScope control(this, &conn, from ? &*from : nullptr);
    SLUICE_RETURN_IF_ERROR(
        ApplyReplicaIdentities(conn, config_.replica_identity_rules, config_.filter, *logger_));
    SLUICE_ASSIGN_OR_RETURN(SlotState slot, slots_.WaitSlotInactive(conn, stop_));
    SLUICE_ASSIGN_OR_RETURN(StartDecision decision,
                            DecideStart(from, slot, config_.mode, slots_.slot(), ctx_.config.name()));
    if (!decision.warning.empty()) logger_->warn("{}", decision.warning);
    if (decision.drop_slot) SLUICE_RETURN_IF_ERROR(slots_.DropSlot(conn));
    core::Status begun = phases_.Begin(decision, from.has_value(),
                                       config_.mode == core::SnapshotMode::kInitialOnly);
    // What the start did not take (a snapshot's start, a failure) is closed, as before.
    spare_repl_.reset();
    start_conn_.reset();
    return begun;
  }

  // A logical replication connection: the one the start-up check left idle, else a new one.
  core::Result<std::unique_ptr<PgConnection>> ReplicationConnection() {
    if (spare_repl_ && spare_repl_->connected()) return std::move(spare_repl_);
    spare_repl_.reset();
    auto repl = std::make_unique<PgConnection>();
    SLUICE_RETURN_IF_ERROR(repl->Connect(config_.params, true));
    return repl;
  }

  core::Result<core::PollStatus> Poll(core::EventBatch& batch,
                                      const core::PollLimits& limits) override {
    auto result = phases_.Poll(batch, limits);
    if (result.ok()) {
      core::CarryIncrementalState<PgPosition>(batch, *incremental_, ctx_.config,
                                              [](const PgPosition& p) { return p.ToSource(); });
    }
    return result;
  }

  std::shared_ptr<core::IncrementalSnapshots> incremental_snapshots() const override {
    return incremental_->tracker();
  }

  // PhaseIo::PollStream: the stream, with the slot's health, the heartbeat action, the catalog
  // xmin, incremental snapshots and signals.
  core::Result<core::PollStatus> PollStream(core::EventBatch& batch,
                                            const core::PollLimits& limits) override {
    StreamReader* stream = stream_.get();
    if (!stream) return core::UnavailableError("postgres source is not started");
    if (health_ && health_->lost()) return SlotLostWhileStreaming();
    const auto now = std::chrono::steady_clock::now();
    if (xmin_) stream->SetSlotXmin(xmin_->Current(now));
    return core::PollStreaming(*incremental_, *pacer_, *stream,
                               {heartbeat_.get(), &config_.signal_table, logger_.get(), "postgres"},
                               now, batch, limits, stop_);
  }

  void Acknowledge(const core::SourcePosition& position) override {
    auto p = PgPosition::Parse(position.value);
    if (!p.ok()) return;
    if (p->snapshot_running) {
      phases_.AnnouncementAcknowledged();
      return;
    }
    acked_lsn_.store(p->lsn);
    std::lock_guard lock(mu_);
    if (stream_) stream_->Acknowledge(p->lsn);
  }

  core::Status KeepAlive() override {
    // On the source thread, which alone replaces stream_ (as in Poll): no lock, so that a
    // status update that waits on the socket never holds up Acknowledge() on the sink thread.
    StreamReader* stream = stream_.get();
    return stream ? stream->KeepAlive() : core::Status::Ok();
  }

  void RequestStop() override {
    stop_.store(true);
    incremental_->Cancel();
    std::lock_guard lock(mu_);
    if (stream_) stream_->Cancel();
    phases_.Cancel();
  }

  void Close() override {
    phases_.Close();
    std::unique_ptr<StreamReader> stream;
    {
      std::lock_guard lock(mu_);
      stream = std::move(stream_);
    }
    if (incremental_) incremental_->Close();
    health_.reset();  // stops its thread
    // What the stream handed over stays ours: a restart in this process skips it (the
    // pipeline still holds it), see StreamReader::Emitted.
    if (stream) {
      emitted_ = stream->emitted();
      if (core::Status reported = stream->ReportAcknowledged(); !reported.ok()) {
        logger_->debug("postgres: the last acknowledged position was not reported to slot {}: {}",
                       config_.stream.slot, reported.ToString());
      }
    }
    stream.reset();
    snapshot_repl_.reset();
    spare_repl_.reset();
    start_conn_.reset();
    if (config_.drop_on_stop && stop_.load() && !slot_dropped_) {
      slots_.DropWhenReleased();
      slot_dropped_ = true;
    }
  }

  core::Status Check() override { return slots_.CheckServer(/*for_start=*/false); }

  std::vector<std::string> ExclusiveServerObjects(
      const std::optional<core::SourcePosition>& stored) const override {
    return ExclusiveKeys(Admin(stored));
  }

  core::Status CheckOffset(const core::SourcePosition& proposed,
                           const std::optional<core::SourcePosition>& stored,
                           bool force) override {
    return CheckOffsetOnServer(Admin(stored), proposed, force);
  }

  // Debezium's offsets do not name the slot: the imported position is for this connector's.
  core::Result<core::SourcePosition> ImportOffset(const nlohmann::json& offset) const override {
    SLUICE_ASSIGN_OR_RETURN(PgPosition p, PgPosition::FromDebeziumOffset(
                                              offset, ResolveServerObjectNames(ctx_.config, "").slot));
    return p.ToSource();
  }

  core::Result<std::string> ReleaseServerObjects(const std::optional<core::SourcePosition>& stored,
                                                 bool drop) override {
    return ReleaseOnServer(Admin(stored), drop, logger_);
  }

  // The slot of the stored position: none before the connector has one, nor for a temporary
  // slot (initial_only), which ends with the session that made it.
  std::unique_ptr<core::RetentionWatch> WatchRetention(
      const std::optional<core::SourcePosition>& stored,
      core::ProgressTracker* progress) override {
    if (!stored || stored->empty() || config_.mode == core::SnapshotMode::kInitialOnly) {
      return nullptr;
    }
    AdminTarget t = Admin(stored);
    return WatchSlot(HealthOptions(t.params, t.names.slot), ctx_.metrics, progress, logger_);
  }

 private:
  SlotHealthOptions HealthOptions(const ConnectionParams& params, const std::string& slot) const {
    return {params, ctx_.config.name(), slot, config_.slot_health_interval_ms,
            config_.slot_warn_bytes, config_.slot_max_retained_bytes};
  }

  // Samples the slot's retention from its creation on: through the snapshot (a long one makes
  // the slot retain WAL too), then while streaming, with one monitor and its rate window.
  void StartHealth() {
    if (health_) return;
    health_ = std::make_unique<SlotHealthMonitor>(HealthOptions(config_.params, slots_.slot()),
                                                  ctx_.metrics, ctx_.progress, logger_);
    health_->Start();
  }

  // The names as they are for a connector whose committed position is `stored`.
  AdminTarget Admin(const std::optional<core::SourcePosition>& stored) const {
    std::string stored_slot;
    if (stored && !stored->empty()) {
      auto p = PgPosition::Parse(stored->value);
      if (p.ok()) stored_slot = p->slot;
    }
    // These calls run while a request waits (DELETE, PATCH offsets): a server that does not
    // answer must not hold it for the whole connect.timeout.ms.
    ConnectionParams params = config_.params;
    params.connect_timeout_s = std::min(params.connect_timeout_s, 5);
    return {params, ctx_.config.name(), ResolveServerObjectNames(ctx_.config, stored_slot),
            config_.publication_mode, config_.mode == core::SnapshotMode::kInitialOnly};
  }

  // The connection Start() runs on, and its stored position, for the moves Begin() makes.
  struct ControlScope {
    ControlScope(PostgresSource* source, PgConnection* conn, const PgPosition* from)
        : source_(source) {
      source_->control_ = conn;
      source_->from_ = from;
    }
    ~ControlScope() {
      source_->control_ = nullptr;
      source_->from_ = nullptr;
    }
    PostgresSource* source_;
  };

  // PhaseIo.
  std::string slot() const override { return slots_.slot(); }

  core::Status PreparePublication() override { return slots_.EnsurePublication(*control_); }

  // Start()'s connection, or (after an announcement) a new one.
  core::Result<OpenedSnapshot> OpenSnapshot(bool restarted) override {
    if (control_) return StartSnapshot(*control_, restarted);
    PgConnection conn;
    SLUICE_RETURN_IF_ERROR(conn.Connect(config_.params, false));
    return StartSnapshot(conn, restarted);
  }

  core::Status SnapshotSlotHealthy() override {
    if (health_ && health_->lost()) return SlotLostDuringSnapshot();
    return core::Status::Ok();
  }

  void SnapshotOnlyFinished() override {
    logger_->info("postgres snapshot finished (snapshot.mode=initial_only)");
    if (ctx_.progress) ctx_.progress->SetPhase("finished");
    health_.reset();  // before the slot goes, so that no sample reports it missing
    snapshot_repl_.reset();  // drops the temporary slot
  }

  core::Status OpenStream(StreamFrom from, uint64_t lsn, uint64_t last_commit_lsn) override {
    switch (from) {
      case StreamFrom::kStoredPosition:
        SLUICE_RETURN_IF_ERROR(slots_.EnsurePublication(*control_));
        if (from_ && (config_.mode == core::SnapshotMode::kInitial ||
                      config_.mode == core::SnapshotMode::kWhenNeeded)) {
          // Tables the filter captures now and did not when the position was taken.
          incremental_->RequestNewTables(*control_, from_->incremental, ctx_.config);
        }
        return StartStream(lsn, nullptr, last_commit_lsn);
      case StreamFrom::kNewSlot: {
        SLUICE_RETURN_IF_ERROR(slots_.EnsurePublication(*control_));
        SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> repl, ReplicationConnection());
        SLUICE_ASSIGN_OR_RETURN(SlotManager::CreatedSlot created,
                                slots_.CreateSlot(*repl, SlotManager::SlotKind::kNoSnapshot));
        return StartStream(created.consistent_lsn, std::move(repl), 0);
      }
      case StreamFrom::kSnapshotEnd:
        return StartStream(lsn, std::move(snapshot_repl_), last_commit_lsn);
    }
    return core::InternalError("postgres: unknown stream start");
  }

  core::Result<OpenedSnapshot> StartSnapshot(PgConnection& conn, bool restarted) {
    // A snapshot (with truncates when restarted) supersedes whatever a stream handed over.
    emitted_ = {};
    SLUICE_RETURN_IF_ERROR(slots_.EnsurePublication(conn));
    SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> repl, ReplicationConnection());
    // Waits for every transaction running now to end; the snapshot it exports is the state at
    // the consistent point, from which streaming continues.
    SLUICE_ASSIGN_OR_RETURN(
        SlotManager::CreatedSlot created,
        slots_.CreateSlot(*repl, config_.mode == core::SnapshotMode::kInitialOnly
                                     ? SlotManager::SlotKind::kTemporaryExportSnapshot
                                     : SlotManager::SlotKind::kExportSnapshot));
    const uint64_t consistent_lsn = created.consistent_lsn;
    const std::string& snapshot_name = created.snapshot_name;
    logger_->info("postgres: created slot {} at {} with snapshot {}", slots_.slot(),
                  LsnToString(consistent_lsn), snapshot_name);
    // Tables and their columns as the snapshot sees them.
    const ConnectionParams& params = config_.params;
    auto cat_conn = std::make_unique<PgConnection>();
    PgConnection& cat = *cat_conn;
    SLUICE_RETURN_IF_ERROR(cat.Connect(params, false));
    SLUICE_RETURN_IF_ERROR(cat.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    SLUICE_RETURN_IF_ERROR(cat.Exec("SET TRANSACTION SNAPSHOT " + QuoteLiteral(snapshot_name)));
    SLUICE_ASSIGN_OR_RETURN(std::vector<TableEntry> entries,
                            ListCapturedTables(cat, config_.filter));
    if (!config_.snapshot.include_tables.empty()) {  // snapshot.include.collection.list
      std::erase_if(entries, [&](const TableEntry& e) {
        return !core::AnyFullMatch(config_.snapshot.include_tables, e.id.ToString());
      });
    }
    TypeResolver types(&cat);
    std::vector<SnapshotTable> tables;
    for (auto& e : entries) {
      SLUICE_ASSIGN_OR_RETURN(RelationInfo rel, LoadRelation(cat, types, e, params.dbname,
                                                             config_.filter, schemas_));
      tables.push_back({e, std::move(rel)});
    }
    SnapshotOptions opts = config_.snapshot;
    opts.emit_truncates = restarted;
    auto reader = std::make_unique<SnapshotReader>(params, std::move(tables), snapshot_name,
                                                   consistent_lsn, slots_.slot(), opts, logger_,
                                                   ctx_.progress, ctx_.metrics, ctx_.config.name());
    // The catalog's connection, in the snapshot already, becomes the first reader's.
    SLUICE_RETURN_IF_ERROR(reader->Open(std::move(cat_conn)));
    snapshot_repl_ = std::move(repl);
    StartHealth();
    return OpenedSnapshot{std::make_unique<core::ReaderRows<SnapshotReader>>(std::move(reader)),
                          consistent_lsn};
  }

  // `last_commit_lsn`: where the transaction committed before `lsn` ends; 0 when unknown (after
  // a snapshot, on a new slot), as Debezium's lsn_commit is then.
  core::Status StartStream(uint64_t lsn, std::unique_ptr<PgConnection> repl,
                           uint64_t last_commit_lsn) {
    if (!repl) {
      SLUICE_ASSIGN_OR_RETURN(repl, ReplicationConnection());
    }
    // Start()'s connection, when this runs inside Start() (nothing uses it after the stream
    // opens), becomes the relation catalog's instead of a new one.
    std::unique_ptr<PgConnection> catalog_conn;
    if (start_conn_ && control_ == start_conn_.get()) {
      catalog_conn = std::move(start_conn_);
      control_ = nullptr;
    }
    StreamOptions options = config_.stream;
    options.slot = slots_.slot();
    options.publication = slots_.publication();
    options.messages = PQserverVersion(repl->raw()) >= 140000;  // pgoutput's messages option: 14+
    auto reader = std::make_unique<StreamReader>(
        std::make_unique<PgReplicationStream>(std::move(repl), options.slot),
        std::make_unique<PgRelationCatalog>(config_.params, &config_.filter, &schemas_,
                                            std::move(catalog_conn)),
        options,
        logger_);
    reader->SkipEmitted(emitted_);
    reader->SetObserver(incremental_.get());
    reader->SetLastCommitLsn(last_commit_lsn);
    if (!config_.heartbeat.query.empty()) {
      auto conn = std::make_shared<PgConnection>();
      heartbeat_ = std::make_unique<core::HeartbeatAction>(
          config_.heartbeat.query, std::chrono::milliseconds(config_.heartbeat.interval_ms),
          [conn, params = config_.params](const std::string& query) {
            core::Status s = conn->connected() ? core::Status::Ok() : conn->Connect(params, false);
            if (s.ok()) s = conn->Exec(query);
            if (!s.ok()) conn->Close();  // a new connection at the next run
            return s;
          });
    }
    if (config_.xmin_fetch_interval_ms > 0) {
      xmin_ = std::make_unique<SlotXminFetcher>(
          std::chrono::milliseconds(config_.xmin_fetch_interval_ms),
          CatalogXminQuery(config_.params, options.slot), logger_);
    }
    SLUICE_RETURN_IF_ERROR(reader->Open(lsn));
    if (ctx_.progress) ctx_.progress->SetPhase("streaming");
    acked_lsn_.store(lsn);
    {
      std::lock_guard lock(mu_);
      stream_ = std::move(reader);
    }
    StartHealth();  // running already after a snapshot
    return core::Status::Ok();
  }

  // The health monitor found the slot invalidated or missing while the initial snapshot ran:
  // the stream cannot start at the snapshot's consistent point. kUnavailable, so that the
  // pipeline restarts the source, which finds the "snapshot running" position and takes a new
  // snapshot on a new slot (as after any unfinished snapshot).
  core::Status SlotLostDuringSnapshot() {
    std::optional<SlotSample> sample = health_->TakeLost();
    const bool missing = !sample || !sample->exists;
    std::string why =
        "postgres: replication slot '" + slots_.slot() + "' " +
        (missing ? std::string("disappeared")
                 : "was invalidated (wal_status=lost, it fell behind max_slot_wal_keep_size)") +
        " during the initial snapshot, so the snapshot cannot line up with the stream; "
        "restarting the snapshot on a new slot (raise max_slot_wal_keep_size, or shorten the "
        "snapshot with snapshot.max.threads or table.include.list, if this repeats)";
    logger_->warn("{}", why);
    return core::UnavailableError(why);
  }

  // The health monitor found the slot invalidated or missing while streaming: the same
  // decision as at start (DecideStart). By default FAILED, naming the slot and the fix; with
  // snapshot.mode=when_needed, kUnavailable, so that the pipeline restarts the source and
  // Start() takes a new snapshot.
  core::Status SlotLostWhileStreaming() {
    std::optional<SlotSample> sample = health_->TakeLost();
    SlotState state;
    state.exists = sample && sample->exists;
    state.wal_status = sample ? sample->wal_status : "";
    PgPosition stored;
    stored.lsn = acked_lsn_.load();
    stored.slot = slots_.slot();
    auto decision = DecideStart(stored, state, config_.mode, slots_.slot(), ctx_.config.name());
    if (!decision.ok()) return decision.status();
    logger_->warn("{}", decision->warning);
    return core::UnavailableError("postgres: " + decision->warning);
  }

  core::ConnectorContext ctx_;
  std::shared_ptr<spdlog::logger> logger_;
  SourceConfig config_;
  SlotManager slots_;  // points at config_
  bool slot_dropped_ = false;
  SchemaCache schemas_;
  std::unique_ptr<PgConnection> snapshot_repl_;  // the exporting connection, idle while snapshotting
  // From the start-up check (SlotManager::CheckServer), for Start() only: its replication
  // connection until the stream or snapshot takes it, and Start()'s own connection.
  std::unique_ptr<PgConnection> spare_repl_;
  std::unique_ptr<PgConnection> start_conn_;
  std::mutex mu_;  // guards stream_ against calls from other threads
  std::unique_ptr<StreamReader> stream_;
  std::unique_ptr<SlotHealthMonitor> health_;  // from the slot's creation on (source thread)
  std::unique_ptr<SlotXminFetcher> xmin_;      // xmin.fetch.interval.ms > 0, while streaming
  std::unique_ptr<core::HeartbeatAction> heartbeat_;  // heartbeat.action.query, streaming
  std::atomic<uint64_t> acked_lsn_{0};          // the last acknowledged LSN, for messages
  StreamReader::Emitted emitted_;  // by the streams of this process (source thread)
  std::atomic<bool> stop_{false};
  std::unique_ptr<PgIncrementalSnapshot> incremental_;  // created by Configure()
  std::unique_ptr<core::ChunkPacer> pacer_;              // created by Configure()
  PgConnection* control_ = nullptr;    // Start()'s connection, while it runs (ControlScope)
  const PgPosition* from_ = nullptr;    // Start()'s stored position, while it runs
  SourcePhases phases_;  // last: it calls back into the members above
};

}  // namespace

core::Result<std::unique_ptr<core::Source>> MakePostgresSource(const core::ConnectorContext& context) {
  auto source = std::make_unique<PostgresSource>(context);
  SLUICE_RETURN_IF_ERROR(source->Configure());
  return std::unique_ptr<core::Source>(std::move(source));
}

}  // namespace sluice::pg
