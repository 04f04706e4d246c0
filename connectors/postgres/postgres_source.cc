#include "connectors/postgres/postgres_source.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "connectors/postgres/pg_admin.h"
#include "connectors/postgres/pg_connection.h"
#include "connectors/postgres/pg_names.h"
#include "connectors/postgres/pg_position.h"
#include "connectors/postgres/pg_schema.h"
#include "connectors/postgres/snapshot_reader.h"
#include "connectors/postgres/stream_reader.h"
#include "core/progress.h"
#include "core/snapshot_mode.h"
#include "core/table_filter.h"

namespace sluice::pg {
namespace {

class PostgresSource final : public core::Source {
 public:
  explicit PostgresSource(const core::ConnectorContext& ctx) : ctx_(ctx), logger_(ctx.logger) {}
  ~PostgresSource() override { Close(); }

  core::Status Configure() {
    const auto& c = ctx_.config;
    params_.host = c.Get("database.hostname", "127.0.0.1");
    SLUICE_ASSIGN_OR_RETURN(int64_t port, c.GetInt("database.port", 5432));
    params_.port = static_cast<int>(port);
    params_.user = c.Get("database.user", "postgres");
    params_.password = c.Get("database.password");
    params_.dbname = c.Get("database.dbname");
    if (params_.dbname.empty()) {
      return core::InvalidArgumentError("database.dbname is required for connector.class=postgres");
    }
    params_.sslmode = c.Get("database.sslmode");
    SLUICE_ASSIGN_OR_RETURN(int64_t timeout, c.GetInt("connect.timeout.ms", 30000));
    params_.connect_timeout_s = static_cast<int>(std::max<int64_t>(2, timeout / 1000));
    params_.application_name = DeriveServerObjectName("sluice_", c.name());
    pub_mode_ = c.Get("publication.autocreate.mode", "filtered");
    UseNames(ResolveServerObjectNames(c, ""));
    SLUICE_ASSIGN_OR_RETURN(mode_, core::ParseSnapshotMode(c.Get("snapshot.mode", "initial")));
    SLUICE_ASSIGN_OR_RETURN(int64_t threads, c.GetInt("snapshot.max.threads", 2));
    snap_options_.threads = static_cast<int>(threads);
    SLUICE_ASSIGN_OR_RETURN(int64_t pages, c.GetInt("snapshot.chunk.pages", 16384));
    snap_options_.chunk_pages = static_cast<uint64_t>(pages);
    snap_options_.binary = c.Get("snapshot.copy.format", "binary") == "binary";
    SLUICE_ASSIGN_OR_RETURN(drop_on_stop_, c.GetBool("slot.drop.on.stop", false));
    SLUICE_ASSIGN_OR_RETURN(int64_t interval, c.GetInt("status.update.interval.ms", 10000));
    stream_options_.status_interval_ms = interval;
    stream_options_.database = params_.dbname;
    SLUICE_ASSIGN_OR_RETURN(filter_, core::TableFilter::FromConfig(c));
    return core::Status::Ok();
  }

  core::Status Start(const std::optional<core::SourcePosition>& resume) override {
    Close();
    stop_.store(false);
    finished_ = false;
    announce_ = Announce::kNone;
    std::optional<PgPosition> from;
    if (resume && !resume->empty()) {
      SLUICE_ASSIGN_OR_RETURN(PgPosition p, PgPosition::Parse(resume->value));
      from = p;
    }
    UseNames(ResolveServerObjectNames(ctx_.config, from ? from->slot : ""));
    SLUICE_RETURN_IF_ERROR(CheckServer(/*for_start=*/true));
    PgConnection conn;
    SLUICE_RETURN_IF_ERROR(conn.Connect(params_, false));
    SLUICE_ASSIGN_OR_RETURN(SlotState slot, WaitSlotInactive(conn));
    if (from && from->snapshot_running) {
      // The exported snapshot died with the previous replication connection: restart the
      // snapshot on a new slot and truncate every table first, so the target converges.
      logger_->warn("postgres: the previous snapshot did not finish; starting a new one (each "
                    "table is truncated in the target, then re-read)");
      if (slot.exists) SLUICE_RETURN_IF_ERROR(DropSlot(conn));
      return StartSnapshot(conn, /*restarted=*/true);
    }
    if (from) {
      bool lost = slot.exists && slot.wal_status == "lost";
      if (!slot.exists || lost) {
        std::string why = !slot.exists
            ? "replication slot '" + slot_ + "' does not exist, so the changes after the stored "
              "position " + LsnToString(from->lsn) + " are gone"
            : "replication slot '" + slot_ + "' was invalidated (it fell behind "
              "max_slot_wal_keep_size), so the changes after " + LsnToString(from->lsn) +
              " are gone";
        if (mode_ == core::SnapshotMode::kWhenNeeded) {
          logger_->warn("{}; snapshot.mode=when_needed: taking a new snapshot", why);
          if (slot.exists) SLUICE_RETURN_IF_ERROR(DropSlot(conn));
          return AnnounceSnapshot(conn, /*restarted=*/true);
        }
        return core::FailedPreconditionError(
            why + ": reset the connector's offsets (or set snapshot.mode=when_needed) to take a "
                  "new snapshot");
      }
      SLUICE_RETURN_IF_ERROR(EnsurePublication(conn));
      return StartStream(from->lsn, nullptr);
    }
    if (core::SkipsSnapshot(mode_)) {
      SLUICE_RETURN_IF_ERROR(EnsurePublication(conn));
      if (slot.exists) return StartStream(slot.confirmed_flush, nullptr);
      auto repl = std::make_unique<PgConnection>();
      SLUICE_RETURN_IF_ERROR(repl->Connect(params_, true));
      SLUICE_ASSIGN_OR_RETURN(PgRows rows,
                              repl->Query("CREATE_REPLICATION_SLOT " + QuoteIdent(slot_) +
                                          " LOGICAL pgoutput NOEXPORT_SNAPSHOT"));
      uint64_t lsn = 0;
      if (rows.empty() || !ParseLsn(rows[0][1].value_or(""), lsn)) {
        return core::InternalError("postgres CREATE_REPLICATION_SLOT returned no consistent point");
      }
      return StartStream(lsn, std::move(repl));
    }
    if (slot.exists && mode_ != core::SnapshotMode::kInitialOnly) {
      return core::FailedPreconditionError(
          "replication slot '" + slot_ + "' already exists but connector '" + ctx_.config.name() +
          "' has no stored position, so a snapshot cannot line up with it: drop it (SELECT "
          "pg_drop_replication_slot('" + slot_ + "')) or choose another slot.name");
    }
    return AnnounceSnapshot(conn, /*restarted=*/false);
  }

  core::Result<core::PollStatus> Poll(core::EventBatch& batch,
                                      const core::PollLimits& limits) override {
    if (stop_.load()) return core::PollStatus::kIdle;
    if (finished_) return core::PollStatus::kFinished;
    if (announce_ != Announce::kNone) {
      SLUICE_ASSIGN_OR_RETURN(bool ready, PollAnnounce(batch, limits));
      if (!ready) return batch.checkpoint().empty() ? core::PollStatus::kIdle
                                                    : core::PollStatus::kHaveMore;
    }
    if (snapshot_) {
      auto done = snapshot_->Next(batch, limits);
      if (!done.ok()) {
        if (stop_.load()) return core::PollStatus::kIdle;
        return done.status();
      }
      if (!*done) return core::PollStatus::kHaveMore;
      {
        std::lock_guard lock(mu_);
        snapshot_.reset();
      }
      PgPosition pos;
      pos.lsn = consistent_lsn_;
      pos.slot = slot_;
      if (mode_ == core::SnapshotMode::kInitialOnly) {
        logger_->info("postgres snapshot finished (snapshot.mode=initial_only)");
        if (ctx_.progress) ctx_.progress->SetPhase("finished");
        snapshot_repl_.reset();  // drops the temporary slot
        finished_ = true;
        return core::PollStatus::kFinished;
      }
      // The snapshot is complete: from here on a restart streams from the consistent point.
      batch.set_checkpoint(pos.ToSource());
      SLUICE_RETURN_IF_ERROR(StartStream(consistent_lsn_, std::move(snapshot_repl_)));
      return core::PollStatus::kHaveMore;
    }
    StreamReader* stream = stream_.get();
    if (!stream) return core::UnavailableError("postgres source is not started");
    auto res = stream->Poll(batch, limits);
    if (!res.ok() && stop_.load()) return core::PollStatus::kIdle;
    return res;
  }

  void Acknowledge(const core::SourcePosition& position) override {
    auto p = PgPosition::Parse(position.value);
    if (!p.ok()) return;
    if (p->snapshot_running) {
      announce_acked_.store(true);
      return;
    }
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
    std::lock_guard lock(mu_);
    if (stream_) stream_->Cancel();
    if (snapshot_) snapshot_->Cancel();
  }

  void Close() override {
    std::unique_ptr<SnapshotReader> snap;
    std::unique_ptr<StreamReader> stream;
    {
      std::lock_guard lock(mu_);
      snap = std::move(snapshot_);
      stream = std::move(stream_);
    }
    if (snap) snap->Cancel();
    snap.reset();
    // What the stream handed over stays ours: a restart in this process skips it (the
    // pipeline still holds it), see StreamReader::Emitted.
    if (stream) emitted_ = stream->emitted();
    stream.reset();
    snapshot_repl_.reset();
    if (drop_on_stop_ && stop_.load() && !slot_dropped_) {
      PgConnection conn;
      if (conn.Connect(params_, false).ok()) {
        for (int i = 0; i < 20; ++i) {
          auto s = ReadSlot(conn, slot_);
          if (!s.ok() || !s->exists) break;
          if (!s->active) {
            if (DropSlot(conn).ok()) logger_->info("postgres: dropped slot {} (slot.drop.on.stop)", slot_);
            break;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(250));
        }
      }
      slot_dropped_ = true;
    }
  }

  core::Status Check() override { return CheckServer(/*for_start=*/false); }

  std::vector<std::string> ExclusiveServerObjects(
      const std::optional<core::SourcePosition>& stored) const override {
    return ExclusiveKeys(Admin(stored));
  }

  core::Status CheckOffset(const core::SourcePosition& proposed,
                           const std::optional<core::SourcePosition>& stored,
                           bool force) override {
    return CheckOffsetOnServer(Admin(stored), proposed, force);
  }

  core::Result<std::string> ReleaseServerObjects(const std::optional<core::SourcePosition>& stored,
                                                 bool drop) override {
    return ReleaseOnServer(Admin(stored), drop, logger_);
  }

 private:
  void UseNames(const ServerObjectNames& names) {
    slot_ = names.slot;
    publication_ = names.publication;
    stream_options_.slot = slot_;
    stream_options_.publication = publication_;
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
    ConnectionParams params = params_;
    params.connect_timeout_s = std::min(params.connect_timeout_s, 5);
    return {params, ctx_.config.name(), ResolveServerObjectNames(ctx_.config, stored_slot),
            pub_mode_, mode_ == core::SnapshotMode::kInitialOnly};
  }

  // Read-only checks: credentials, wal_level, REPLICATION privilege, include list, slot state,
  // publication. Nothing is created or changed.
  core::Status CheckServer(bool for_start) {
    PgConnection conn;
    SLUICE_RETURN_IF_ERROR(conn.Connect(params_, false));
    SLUICE_ASSIGN_OR_RETURN(PgRows rows,
                            conn.Query("SELECT current_setting('wal_level'), "
                                       "(SELECT rolreplication OR rolsuper FROM pg_roles WHERE "
                                       "rolname = current_user), "
                                       "current_setting('server_version_num')::int"));
    std::string wal_level = rows.at(0)[0].value_or("");
    if (wal_level != "logical") {
      return core::FailedPreconditionError(
          "postgres server has wal_level=" + wal_level +
          "; logical replication needs wal_level=logical: ALTER SYSTEM SET wal_level = logical "
          "and restart the server");
    }
    if (rows[0][1].value_or("f") != "t") {
      return core::FailedPreconditionError(
          "postgres user '" + params_.user + "' lacks the REPLICATION privilege: ALTER ROLE " +
          QuoteIdent(params_.user) + " REPLICATION (or use a superuser)");
    }
    {
      PgConnection repl;
      SLUICE_RETURN_IF_ERROR(repl.Connect(params_, true));
    }
    SLUICE_ASSIGN_OR_RETURN(std::vector<TableEntry> tables, ListCapturedTables(conn, filter_));
    if (!for_start) {
      SLUICE_ASSIGN_OR_RETURN(SlotState slot, ReadSlot(conn, slot_));
      if (slot.exists && slot.active) return SlotActiveError(slot);
      if (slot.exists && slot.wal_status == "lost" && mode_ != core::SnapshotMode::kWhenNeeded) {
        return core::FailedPreconditionError(
            "replication slot '" + slot_ + "' was invalidated: drop it and take a new snapshot");
      }
      if (pub_mode_ == "disabled") {
        SLUICE_ASSIGN_OR_RETURN(PgRows pub, conn.Query("SELECT 1 FROM pg_publication WHERE pubname = " +
                                                       QuoteLiteral(publication_)));
        if (pub.empty()) return MissingPublicationError();
      }
    }
    for (const auto& t : tables) {
      if (!t.has_primary_key && for_start) {
        logger_->warn("postgres table {} has no primary key: {}", t.id.ToString(),
                      t.replident == 'f'
                          ? "REPLICA IDENTITY FULL sends whole before images, but the target "
                            "has no key to apply updates and deletes by"
                          : "its UPDATEs and DELETEs fail at the source unless it gets a "
                            "REPLICA IDENTITY (USING INDEX or FULL); add a primary key");
      }
    }
    return core::Status::Ok();
  }

  core::Status SlotActiveError(const SlotState& slot) {
    return core::FailedPreconditionError(
        "replication slot '" + slot_ + "' is in use by another process (pid " + slot.active_pid +
        "): stop the other connector or client, or set a different slot.name");
  }

  core::Status MissingPublicationError() {
    return core::FailedPreconditionError(
        "postgres publication '" + publication_ + "' does not exist and "
        "publication.autocreate.mode=disabled: create it (CREATE PUBLICATION ...) or change the "
        "mode");
  }

  // A slot still marked active right after our own connection dropped is released within
  // moments; wait a little before calling it a clash.
  core::Result<SlotState> WaitSlotInactive(PgConnection& conn) {
    for (int i = 0;; ++i) {
      SLUICE_ASSIGN_OR_RETURN(SlotState slot, ReadSlot(conn, slot_));
      if (slot.exists && !slot.database.empty() && slot.database != params_.dbname) {
        return core::FailedPreconditionError("replication slot '" + slot_ + "' belongs to database '" +
                                             slot.database + "': set a different slot.name");
      }
      if (slot.exists && !slot.plugin.empty() && slot.plugin != "pgoutput") {
        return core::FailedPreconditionError("replication slot '" + slot_ + "' uses plugin '" +
                                             slot.plugin + "', not pgoutput: set a different slot.name");
      }
      if (!slot.exists || !slot.active) return slot;
      if (i >= 20 || stop_.load()) return SlotActiveError(slot);
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }

  core::Status DropSlot(PgConnection& conn) {
    return conn.Exec("SELECT pg_drop_replication_slot(" + QuoteLiteral(slot_) + ")")
        .WithContext("dropping replication slot " + slot_);
  }

  // Creates or updates the publication before the slot is created: pgoutput reads it through
  // the historic catalog at each change, so it must exist at the slot's consistent point.
  core::Status EnsurePublication(PgConnection& conn) {
    SLUICE_ASSIGN_OR_RETURN(PgRows pub, conn.Query("SELECT puballtables FROM pg_publication WHERE "
                                                   "pubname = " + QuoteLiteral(publication_)));
    if (pub_mode_ == "disabled") {
      if (pub.empty()) return MissingPublicationError();
      return core::Status::Ok();
    }
    std::string name = QuoteIdent(publication_);
    // The comment marks the publication as Sluice's, to be dropped with the connector.
    const std::string comment = "COMMENT ON PUBLICATION " + name + " IS " +
                                QuoteLiteral(PublicationComment(ctx_.config.name()));
    if (pub_mode_ == "all_tables") {
      if (pub.empty()) {
        SLUICE_RETURN_IF_ERROR(
            conn.Exec("CREATE PUBLICATION " + name + " FOR ALL TABLES")
                .WithContext("creating publication " + publication_ + " (needs a superuser)"));
        return conn.Exec(comment).WithContext("commenting publication " + publication_);
      }
      return core::Status::Ok();
    }
    SLUICE_ASSIGN_OR_RETURN(std::vector<TableEntry> tables, ListCapturedTables(conn, filter_));
    std::string list;
    for (const auto& t : tables) {
      if (!list.empty()) list += ", ";
      list += QuoteIdent(t.id.schema) + "." + QuoteIdent(t.id.table);
    }
    if (pub.empty()) {
      SLUICE_RETURN_IF_ERROR(
          conn.Exec("CREATE PUBLICATION " + name + (list.empty() ? "" : " FOR TABLE " + list))
              .WithContext("creating publication " + publication_));
      return conn.Exec(comment).WithContext("commenting publication " + publication_);
    }
    if (pub[0][0].value_or("f") == "t") return core::Status::Ok();
    SLUICE_ASSIGN_OR_RETURN(
        PgRows have, conn.Query("SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) "
                                "FROM pg_publication_tables WHERE pubname = " +
                                QuoteLiteral(publication_) + " ORDER BY 1"));
    std::vector<std::string> want_v, have_v;
    for (const auto& t : tables) want_v.push_back(QuoteIdent(t.id.schema) + "." + QuoteIdent(t.id.table));
    for (const auto& r : have) have_v.push_back(r[0].value_or(""));
    std::sort(want_v.begin(), want_v.end());
    if (want_v == have_v || list.empty()) return core::Status::Ok();
    return conn.Exec("ALTER PUBLICATION " + name + " SET TABLE " + list)
        .WithContext("updating publication " + publication_);
  }

  // A new snapshot (no stored position, or snapshot.mode=when_needed replacing a lost slot) is
  // first announced: Poll emits an empty batch checkpointed with a "snapshot running" position
  // and waits until the pipeline acknowledges it (it is durable) before the slot is created.
  // Without this, a crash between creating the slot and the first durable checkpoint would
  // leave a slot behind and no stored position (a restart then reports a slot clash) or, for
  // when_needed, a new slot under an old streaming position (a restart would stream from the
  // new slot and miss the snapshot). With it, any restart after the slot exists resumes from a
  // "running" position: the slot is dropped and the snapshot restarts with truncates.
  core::Status AnnounceSnapshot(PgConnection& conn, bool restarted) {
    // Fail early (before anything is written) when the publication cannot be made.
    SLUICE_RETURN_IF_ERROR(EnsurePublication(conn));
    announce_ = Announce::kPending;
    announce_restarted_ = restarted;
    announce_acked_.store(false);
    announce_started_ = std::chrono::steady_clock::now();
    return core::Status::Ok();
  }

  // True when the slot and snapshot are now set up; false with a checkpointed empty batch (the
  // announcement) or an empty batch (still waiting for its acknowledgement).
  core::Result<bool> PollAnnounce(core::EventBatch& batch, const core::PollLimits& limits) {
    if (announce_ == Announce::kPending) {
      PgPosition pos;
      pos.slot = slot_;
      pos.snapshot_running = true;
      batch.set_checkpoint(pos.ToSource());
      announce_ = Announce::kSent;
      return false;
    }
    auto deadline = std::chrono::steady_clock::now() + limits.max_wait;
    while (!announce_acked_.load() && !stop_.load() &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (stop_.load()) return false;
    if (!announce_acked_.load()) {
      // A sink that never reports positions would wait forever: go ahead after a while.
      if (std::chrono::steady_clock::now() - announce_started_ < std::chrono::seconds(30)) {
        return false;
      }
      logger_->warn("postgres: the snapshot's start position was not acknowledged within 30 s; "
                    "starting anyway");
    }
    announce_ = Announce::kNone;
    PgConnection conn;
    SLUICE_RETURN_IF_ERROR(conn.Connect(params_, false));
    SLUICE_RETURN_IF_ERROR(StartSnapshot(conn, announce_restarted_));
    return true;
  }

  core::Status StartSnapshot(PgConnection& conn, bool restarted) {
    // A snapshot (with truncates when restarted) supersedes whatever a stream handed over.
    emitted_ = {};
    SLUICE_RETURN_IF_ERROR(EnsurePublication(conn));
    auto repl = std::make_unique<PgConnection>();
    SLUICE_RETURN_IF_ERROR(repl->Connect(params_, true));
    bool temporary = mode_ == core::SnapshotMode::kInitialOnly;
    // Waits for every transaction running now to end; the snapshot it exports is the state at
    // the consistent point, from which streaming continues.
    SLUICE_ASSIGN_OR_RETURN(PgRows rows,
                            repl->Query("CREATE_REPLICATION_SLOT " + QuoteIdent(slot_) +
                                        (temporary ? " TEMPORARY" : "") +
                                        " LOGICAL pgoutput EXPORT_SNAPSHOT"));
    if (rows.empty() || !rows[0][2] || !ParseLsn(rows[0][1].value_or(""), consistent_lsn_)) {
      return core::InternalError("postgres CREATE_REPLICATION_SLOT returned no snapshot");
    }
    std::string snapshot_name = *rows[0][2];
    logger_->info("postgres: created slot {} at {} with snapshot {}", slot_,
                  LsnToString(consistent_lsn_), snapshot_name);
    // Tables and their columns as the snapshot sees them.
    PgConnection cat;
    SLUICE_RETURN_IF_ERROR(cat.Connect(params_, false));
    SLUICE_RETURN_IF_ERROR(cat.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    SLUICE_RETURN_IF_ERROR(cat.Exec("SET TRANSACTION SNAPSHOT " + QuoteLiteral(snapshot_name)));
    SLUICE_ASSIGN_OR_RETURN(std::vector<TableEntry> entries, ListCapturedTables(cat, filter_));
    TypeResolver types(&cat);
    std::vector<SnapshotTable> tables;
    for (auto& e : entries) {
      SLUICE_ASSIGN_OR_RETURN(RelationInfo rel,
                              LoadRelation(cat, types, e, params_.dbname, filter_, schemas_));
      tables.push_back({e, std::move(rel)});
    }
    SnapshotOptions opts = snap_options_;
    opts.emit_truncates = restarted;
    auto reader = std::make_unique<SnapshotReader>(params_, std::move(tables), snapshot_name,
                                                   consistent_lsn_, slot_, opts, logger_,
                                                   ctx_.progress, ctx_.metrics, ctx_.config.name());
    SLUICE_RETURN_IF_ERROR(reader->Open());
    cat.Exec("COMMIT").ok();
    snapshot_repl_ = std::move(repl);
    std::lock_guard lock(mu_);
    snapshot_ = std::move(reader);
    return core::Status::Ok();
  }

  core::Status StartStream(uint64_t lsn, std::unique_ptr<PgConnection> repl) {
    if (!repl) {
      repl = std::make_unique<PgConnection>();
      SLUICE_RETURN_IF_ERROR(repl->Connect(params_, true));
    }
    auto reader = std::make_unique<StreamReader>(std::move(repl), params_, stream_options_,
                                                 &filter_, &schemas_, logger_);
    reader->SkipEmitted(emitted_);
    SLUICE_RETURN_IF_ERROR(reader->Open(lsn));
    if (ctx_.progress) ctx_.progress->SetPhase("streaming");
    std::lock_guard lock(mu_);
    stream_ = std::move(reader);
    return core::Status::Ok();
  }

  core::ConnectorContext ctx_;
  std::shared_ptr<spdlog::logger> logger_;
  ConnectionParams params_;
  std::string slot_;
  std::string publication_;
  std::string pub_mode_;
  core::SnapshotMode mode_ = core::SnapshotMode::kInitial;
  bool drop_on_stop_ = false;
  bool slot_dropped_ = false;
  SnapshotOptions snap_options_;
  StreamOptions stream_options_;
  core::TableFilter filter_;
  SchemaCache schemas_;
  uint64_t consistent_lsn_ = 0;
  std::unique_ptr<PgConnection> snapshot_repl_;  // the exporting connection, idle while snapshotting
  std::mutex mu_;  // guards the reader pointers against calls from other threads
  std::unique_ptr<SnapshotReader> snapshot_;
  std::unique_ptr<StreamReader> stream_;
  StreamReader::Emitted emitted_;  // by the streams of this process (source thread)
  std::atomic<bool> stop_{false};
  bool finished_ = false;
  enum class Announce { kNone, kPending, kSent };
  Announce announce_ = Announce::kNone;
  bool announce_restarted_ = false;
  std::atomic<bool> announce_acked_{false};
  std::chrono::steady_clock::time_point announce_started_{};
};

}  // namespace

std::vector<core::ConfigKey> SourceConfigKeys() {
  using core::ConfigType;
  std::vector<core::ConfigKey> keys;
  keys.push_back(core::MakeConfigKey("database.hostname", ConfigType::kString, "127.0.0.1", "PostgreSQL host"));
  auto port = core::MakeConfigKey("database.port", ConfigType::kInt, "5432", "PostgreSQL port");
  port.min = 1;
  port.max = 65535;
  keys.push_back(port);
  keys.push_back(core::MakeConfigKey("database.user", ConfigType::kString, "postgres",
                     "user with LOGIN and REPLICATION (and SELECT on the captured tables)"));
  keys.push_back(core::MakeConfigKey("database.password", ConfigType::kPassword, "", "password of database.user"));
  auto db = core::MakeConfigKey("database.dbname", ConfigType::kString, "", "the database to capture");
  db.required = true;
  keys.push_back(db);
  auto ssl = core::MakeConfigKey("database.sslmode", ConfigType::kEnum, "prefer",
                 "libpq sslmode: disable, allow, prefer, require, verify-ca, verify-full");
  ssl.allowed = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"};
  keys.push_back(ssl);
  keys.push_back(core::MakeConfigKey("slot.name", ConfigType::kString, "",
                     "logical replication slot (pgoutput); default sluice_<connector name>"));
  keys.push_back(core::MakeConfigKey("publication.name", ConfigType::kString, "",
                     "publication to stream; default sluice_pub_<connector name>"));
  auto pub = core::MakeConfigKey("publication.autocreate.mode", ConfigType::kEnum, "filtered",
                 "filtered: create/update the publication for the included tables; all_tables: "
                 "FOR ALL TABLES (superuser); disabled: it must exist");
  pub.allowed = {"filtered", "all_tables", "disabled"};
  keys.push_back(pub);
  auto threads = core::MakeConfigKey("snapshot.max.threads", ConfigType::kInt, "2",
                     "connections reading the snapshot in parallel (tables and chunks)");
  threads.min = 1;
  threads.max = 64;
  keys.push_back(threads);
  auto pages = core::MakeConfigKey("snapshot.chunk.pages", ConfigType::kInt, "16384",
                   "a table larger than this many 8 KiB pages is read in ctid-range chunks in "
                   "parallel; 0 reads every table whole");
  pages.min = 0;
  keys.push_back(pages);
  auto format = core::MakeConfigKey("snapshot.copy.format", ConfigType::kEnum, "binary",
                    "binary: COPY in binary format (cheaper for the server) for every table whose "
                    "column types all have a binary decoder, text COPY for the others; text: "
                    "text COPY for every table");
  format.allowed = {"binary", "text"};
  keys.push_back(format);
  keys.push_back(core::MakeConfigKey("slot.drop.on.stop", ConfigType::kBool, "false",
                     "drop the replication slot when the connector stops (testing only: changes "
                     "made while stopped are lost)"));
  auto interval = core::MakeConfigKey("status.update.interval.ms", ConfigType::kInt, "10000",
                      "longest interval between standby status updates to the server");
  interval.min = 100;
  interval.max = 3600000;
  keys.push_back(interval);
  auto ct = core::MakeConfigKey("connect.timeout.ms", ConfigType::kInt, "30000", "connection timeout");
  ct.min = 1000;
  keys.push_back(ct);
  return keys;
}

core::Result<std::unique_ptr<core::Source>> MakePostgresSource(const core::ConnectorContext& context) {
  auto source = std::make_unique<PostgresSource>(context);
  SLUICE_RETURN_IF_ERROR(source->Configure());
  return std::unique_ptr<core::Source>(std::move(source));
}

}  // namespace sluice::pg
