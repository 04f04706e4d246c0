#include "sinks/postgres/postgres_sink.h"

#include <spdlog/spdlog.h>

#include <cctype>

#include "core/parse_number.h"
#include "sinks/postgres/pg_applier.h"
#include "sinks/postgres/pg_connection.h"

namespace sluice::sinks {

using core::Status;

namespace {

constexpr const char* kDropColumnsKey = "sink.columns.drop";
constexpr const char* kOffsetsTableKey = "sink.offsets.table";
constexpr const char* kKeyBuildMemoryKey = "sink.postgres.key.build.memory";

}  // namespace

std::vector<core::ConfigKey> PostgresSinkConfigKeys() {
  std::vector<core::ConfigKey> keys;
  core::ConfigKey drop;
  drop.name = kDropColumnsKey;
  drop.type = core::ConfigType::kEnum;
  drop.default_value = "keep";
  drop.allowed = {"drop", "keep"};
  drop.doc =
      "database sinks: a column dropped at the source is dropped at the target (drop) or kept "
      "and made nullable (keep)";
  keys.push_back(drop);
  core::ConfigKey offsets;
  offsets.name = kOffsetsTableKey;
  offsets.type = core::ConfigType::kString;
  offsets.default_value = "sluice_offsets";
  offsets.doc =
      "database sinks: table holding each connector's committed source position (exactly-once); "
      "PostgreSQL accepts schema.table";
  keys.push_back(offsets);
  keys.push_back(core::MakeConfigKey(
      kKeyBuildMemoryKey, core::ConfigType::kString, "256MB",
      "postgres sink: maintenance_work_mem for building the primary key of a table it created "
      "for a snapshot, once the table's rows are loaded"));
  return keys;
}

core::Result<std::unique_ptr<core::Sink>> MakePostgresSink(const core::ConnectorContext& context) {
  const core::ConnectorConfig& config = context.config;
  PostgresSinkOptions options;
  options.url = config.Get("sink.url");
  if (options.url.empty()) {
    return core::InvalidArgumentError(
        "sink.url: the postgres sink needs a target, e.g. postgresql://user:pw@host:5432/db");
  }
  if (options.url.rfind("postgresql://", 0) != 0 && options.url.rfind("postgres://", 0) != 0) {
    return core::InvalidArgumentError("sink.url: the postgres sink needs a postgresql:// URL, got " +
                                      core::RedactUrl(options.url));
  }
  options.connector_name = config.name().empty() ? "sluice" : config.name();
  options.offsets_table = config.Get(kOffsetsTableKey, "sluice_offsets");
  if (options.offsets_table.empty()) {
    return core::InvalidArgumentError(std::string(kOffsetsTableKey) + ": must not be empty");
  }
  options.table_name_format = config.Get("sink.table.name.format");
  std::string drop = config.Get(kDropColumnsKey, "keep");
  if (drop != "drop" && drop != "keep") {
    return core::InvalidArgumentError(std::string(kDropColumnsKey) + ": expected drop or keep, got " +
                                      drop);
  }
  options.drop_columns = drop == "drop";
  options.key_build_memory = config.Get(kKeyBuildMemoryKey, "256MB");
  for (char c : options.key_build_memory) {
    if (!std::isalnum(static_cast<unsigned char>(c))) {
      return core::InvalidArgumentError(std::string(kKeyBuildMemoryKey) +
                                        ": expected a size such as 256MB or 1GB, got " +
                                        options.key_build_memory);
    }
  }
  options.pg_source = config.connector_class() == "postgres";
  options.defer_snapshot_keys =
      config.connector_class() == "postgres" || config.connector_class() == "mysql";
  return std::unique_ptr<core::Sink>(new PostgresSink(std::move(options), context.logger));
}

PostgresSink::PostgresSink(PostgresSinkOptions options, std::shared_ptr<spdlog::logger> logger)
    : options_(std::move(options)), logger_(std::move(logger)) {}

PostgresSink::~PostgresSink() { Close(); }

Status PostgresSink::Open() {
  applier_ = std::make_unique<pgsink::PgApplier>(options_, logger_);
  pending_checkpoint_.reset();
  return applier_->Connect();
}

core::Result<std::optional<core::SourcePosition>> PostgresSink::LoadCommittedPosition() {
  if (!applier_ || !applier_->connected()) {
    return core::UnavailableError("postgres sink: not connected (Open first)");
  }
  SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> value, applier_->LoadOffset());
  if (!value) return std::optional<core::SourcePosition>();
  std::optional<core::SourcePosition> position(core::SourcePosition{std::move(*value)});
  commit_.Committed(position);
  return position;
}

Status PostgresSink::Write(const core::EventBatch& batch) {
  if (!applier_ || !applier_->connected()) {
    return core::UnavailableError("postgres sink: not connected");
  }
  if (commit_.replaying()) {
    if (!batch.checkpoint().empty()) pending_checkpoint_ = batch.checkpoint();
    return Status::Ok();
  }
  if (!batch.empty() || !batch.announced_tables().empty()) {
    SLUICE_RETURN_IF_ERROR(applier_->Apply(batch));
  } else if (!batch.checkpoint().empty()) {
    // A position without rows may lie past the snapshot (a snapshot's end, an idle stream):
    // keys deferred for the snapshot load are built before it commits (table_catalog.cc).
    SLUICE_RETURN_IF_ERROR(applier_->BuildDeferredKeys());
  }
  if (!batch.checkpoint().empty()) pending_checkpoint_ = batch.checkpoint();
  return Status::Ok();
}

core::Result<std::optional<core::SourcePosition>> PostgresSink::Flush() {
  if (!applier_ || !applier_->connected()) {
    return core::UnavailableError("postgres sink: not connected");
  }
  if (!commit_.replaying()) {
    if (Status s = applier_->Commit(pending_checkpoint_); !s.ok()) {
      commit_.Failed(pending_checkpoint_);
      return s;
    }
  }
  commit_.Committed(pending_checkpoint_);
  std::optional<core::SourcePosition> done = std::move(pending_checkpoint_);
  pending_checkpoint_.reset();
  return done;
}

void PostgresSink::ReplaceSnapshotTables() {
  if (applier_) applier_->ReplaceSnapshotTables();
}

Status PostgresSink::Reset() {
  pending_checkpoint_.reset();
  if (!applier_) applier_ = std::make_unique<pgsink::PgApplier>(options_, logger_);
  // A fresh session: the lost transaction (and any DDL in it) is gone, caches with it.
  SLUICE_RETURN_IF_ERROR(applier_->Connect());
  // The connection broke during a commit: if the target holds its checkpoint, it went through,
  // and the batches the pipeline writes again must not be applied twice.
  SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> went_through,
                          commit_.SettleAfterReconnect([this] { return applier_->LoadOffset(); }));
  if (went_through && logger_) {
    logger_->info("postgres sink: the commit at {} went through before its connection was "
                  "lost; not applying it again", *went_through);
  }
  return Status::Ok();
}

Status PostgresSink::Check() {
  pgsink::PgConnection conn;
  SLUICE_RETURN_IF_ERROR(conn.Connect(options_.url));
  auto r = conn.Exec(
      "SELECT current_setting('server_version_num')::int, "
      "has_database_privilege(current_database(), 'CREATE')");
  if (!r.ok()) return r.status().WithContext("postgres sink check");
  SLUICE_ASSIGN_OR_RETURN(int version,
                          core::ParseNumber<int>(PQgetvalue(r->get(), 0, 0),
                                                 "postgres sink: server_version_num"));
  if (version < 140000) {
    return core::FailedPreconditionError(
        "postgres sink: the target runs PostgreSQL " + std::to_string(version) +
        "; version 14 or newer is needed (pipeline mode)");
  }
  if (std::string_view(PQgetvalue(r->get(), 0, 1)) != "t" && logger_) {
    logger_->warn(
        "postgres sink: the target user may not create schemas in this database; tables must "
        "exist already");
  }
  return Status::Ok();
}

void PostgresSink::Close() {
  // After a failed statement the open transaction is aborted and rolls back anyway: building
  // keys in it would only add a misleading "current transaction is aborted" warning.
  if (applier_ && applier_->connected() && !applier_->transaction_failed()) {
    // A snapshot of empty tables has no final row to trigger the key build: do it now.
    core::Status s = applier_->BuildDeferredKeys();
    if (!s.ok() && logger_) logger_->warn("{}", s.message());
  }
  if (applier_) applier_->Disconnect();
  applier_.reset();
  pending_checkpoint_.reset();
}

}  // namespace sluice::sinks
