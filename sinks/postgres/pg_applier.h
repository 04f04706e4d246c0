// PgApplier: the PostgreSQL sink's engine. Owns the session (connection and its one open
// transaction) and the three roles that write through it, each with its own state:
//
//   TableCatalog    create and evolve target tables; deferred primary keys   (table_catalog.h)
//   SnapshotLoader  snapshot rows by COPY; staging of replayed rows          (snapshot_loader.h)
//   ChangeWriter    change events as pipelined prepared statements           (change_writer.h)
//
// PgApplier alone decides which role may use the session (Activate: a COPY and the pipeline
// are never open together, and DDL runs with neither) and which mode applies (ApplyMode: fast
// or precise); the roles only report what they saw (PgSession::RequestPreciseReplay, staging
// inside the loader).
//
// Lifecycle: Connect() -> (Apply()* Commit())* -> Disconnect(). After any error the transaction
// is lost: the owner calls Connect() again (Reset) before applying; the table cache and prepared
// statements are cleared then, since the DDL of the lost transaction was rolled back too.
// Thread-safety: none; one thread at a time (the sink thread).
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>

#include <spdlog/logger.h>

#include "core/event.h"
#include "core/status.h"
#include "sinks/postgres/change_writer.h"
#include "sinks/postgres/pg_session.h"
#include "sinks/postgres/pg_sink_options.h"
#include "sinks/postgres/postgres_sql.h"
#include "sinks/postgres/snapshot_loader.h"
#include "sinks/postgres/table_catalog.h"

namespace sluice::sinks::pgsink {

// Fast or precise, and why. Fast: changes grouped into multi-row statements whose results are
// read at the commit, snapshot rows streamed into one COPY. Precise: one statement per event
// and one COPY per batch, results read before the next batch, so that a failure names its row.
// A failure that named no row switches to precise for the replay (it survives Reset); the next
// commit switches back.
class ApplyMode {
 public:
  bool precise() const { return precise_; }
  // After a call that returned an error: `row_unnamed` when the failure asked for a replay that
  // names the row (PgSession::TakePreciseReplayRequest).
  void AfterFailure(bool row_unnamed) { precise_ = precise_ || row_unnamed; }
  void AfterCommit() { precise_ = false; }

 private:
  bool precise_ = false;
};

// Who uses the session next (PgApplier::Activate).
enum class Role : uint8_t {
  kCommit,   // the position and COMMIT: no COPY open (the pipeline may be)
  kCatalog,  // plain statements: no COPY, no pipeline
  kLoader,   // COPY: no pipeline (the loader ends or keeps its own COPY)
  kWriter,   // pipelined statements: no COPY, deferred keys built first (changes go by key)
};

// What the session must end before `role` may use it, in this order.
struct RoleSwitch {
  // The change writer's open runs go out (in the pipeline) before anything else uses the
  // session: DDL, a COPY, the position and COMMIT all must follow the changes before them.
  bool send_runs = false;
  bool build_deferred_keys = false;
  bool end_copy = false;
  bool exit_pipeline = false;
};
RoleSwitch SwitchTo(Role role, bool keys_deferred);

class PgApplier final : private TableResolver {
 public:
  PgApplier(const PostgresSinkOptions& options, std::shared_ptr<spdlog::logger> logger);
  ~PgApplier();

  // Connects and creates the offsets table when missing (autocommit).
  core::Status Connect();
  void Disconnect();
  bool connected() const { return session_.connected(); }
  // True when a statement failed in the open transaction (it can only be rolled back).
  bool transaction_failed() const { return session_.transaction_failed(); }

  // The position stored for this connector, nullopt when none.
  core::Result<std::optional<std::string>> LoadOffset();

  // Applies every event of `batch` inside the open transaction (begun when none is open).
  core::Status Apply(const core::EventBatch& batch);

  // Stores `checkpoint` (when given) in the offsets table and commits.
  core::Status Commit(const std::optional<core::SourcePosition>& checkpoint);

  // From now on every table a snapshot announces that this run did not create is emptied
  // (TRUNCATE, in the announcing transaction) before its rows arrive, once per run
  // (core::Sink::ReplaceSnapshotTables).
  void ReplaceSnapshotTables() { replace_tables_ = true; }

  // Adds the primary keys of tables created without them for a snapshot load (the snapshot
  // ended, a change for them arrived, or the sink closes), in the open transaction or, when
  // none is open, in one of its own.
  core::Status BuildDeferredKeys();

 private:
  core::Status ApplyBatch(const core::EventBatch& batch);
  // ReplaceSnapshotTables: empties announced table `t` unless done already in this run.
  core::Status EmptyForReplacement(const TableState& t, const core::EventBatch& batch);
  core::Status CommitTransaction(const std::optional<core::SourcePosition>& checkpoint);
  // `batch`: the batch being applied (names a failed row), nullptr outside Apply().
  core::Status BuildKeys(const core::EventBatch* batch);
  // Ends whatever the session holds that `role` may not meet (the writer's open runs, the open
  // COPY, the pipeline, deferred keys): the one place where the sink switches between its roles.
  core::Status Activate(Role role, const core::EventBatch* batch);
  // The mode after a public call: a failure may have asked for a precise replay.
  core::Status Settle(core::Status status);
  // TableResolver: the loaded table for `schema`, running the catalog when it must.
  core::Result<const TableState*> Resolve(const core::TableSchemaPtr& schema,
                                          const core::EventBatch& batch) override;
  core::Result<const TableState*> Ensure(const core::TableSchemaPtr& schema,
                                         const core::EventBatch& batch, bool for_snapshot);

  PostgresSinkOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  TargetName offsets_;
  PgSession session_;
  TableCatalog catalog_;
  SnapshotLoader loader_;
  ChangeWriter writer_;
  ApplyMode mode_;
  bool replace_tables_ = false;
  // Target tables (qualified names: two source tables may map to one) emptied for
  // ReplaceSnapshotTables: committed, and in the open transaction (lost with it: the replay
  // empties them again).
  std::set<std::string> emptied_;
  std::set<std::string> emptying_;
};

}  // namespace sluice::sinks::pgsink
