// PostgresSink: applies change events to a PostgreSQL database (libpq), exactly-once.
//
// Every batch written between two Flush() calls goes into ONE target transaction, together with
// the batch's checkpoint in the offsets table (sink.offsets.table, one row per connector name);
// Flush() commits it. LoadCommittedPosition() reads that row back, so a restart after kill -9
// resumes exactly after the last committed transaction and a replay changes nothing.
//
//   snapshot rows (r)   COPY (text) straight into the target inside a savepoint; when it hits
//                       rows already there (a snapshot replayed after a crash), the savepoint
//                       is rolled back and the rows go through a temporary staging table and
//                       INSERT … SELECT … ON CONFLICT DO UPDATE.
//   c / u               upsert by primary key (prepared statements, libpq pipeline mode); an
//                       update with unchanged (TOAST) cells or a changed key is an UPDATE of
//                       the present columns only.
//   d / t               DELETE by key (before image) / TRUNCATE.
// Tables are created when missing (PG -> PG keeps each column's source type text), columns added
// at the source are added, dropped ones are dropped or kept (sink.columns.drop).
// Tables without a primary key: inserts append; updates and deletes change one row equal to the
// before image (needs REPLICA IDENTITY FULL at the source); a replayed snapshot may duplicate.
//
// Errors: connection loss -> kUnavailable, deadlock / serialization failure -> kAborted (the
// pipeline calls Reset() and writes the batches again); a row the target rejects ->
// kFailedPrecondition naming the table, the key and the server's reason.
//
// Thread-safety: one thread at a time (the sink thread).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/commit_outcome.h"
#include "core/sink.h"
#include "sinks/postgres/pg_sink_options.h"

namespace sluice::sinks {

std::vector<core::ConfigKey> PostgresSinkConfigKeys();
core::Result<std::unique_ptr<core::Sink>> MakePostgresSink(const core::ConnectorContext& context);

namespace pgsink {
class PgApplier;
}

class PostgresSink final : public core::Sink {
 public:
  PostgresSink(PostgresSinkOptions options, std::shared_ptr<spdlog::logger> logger);
  ~PostgresSink() override;

  core::Status Open() override;
  core::Result<std::optional<core::SourcePosition>> LoadCommittedPosition() override;
  bool StoresPosition() const override { return true; }  // the offsets row, with the data
  core::Status Write(const core::EventBatch& batch) override;
  core::Result<std::optional<core::SourcePosition>> Flush() override;
  void ReplaceSnapshotTables() override;
  core::Status Reset() override;
  core::Status Check() override;
  void Close() override;

 private:
  PostgresSinkOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  std::unique_ptr<pgsink::PgApplier> applier_;
  std::optional<core::SourcePosition> pending_checkpoint_;
  // The last commit, and whether the batches written since Reset() replay one that did commit
  // (its reply was lost): they are then not applied again (commit_.replaying()).
  core::CommitOutcome commit_;
};

}  // namespace sluice::sinks
