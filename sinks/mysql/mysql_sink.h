// MysqlSink: applies change events to a MySQL/MariaDB database (libmariadb through the shared
// client layer), kept exactly in sync with the source, exactly-once.
//
// Every source table goes into the database of sink.url, named per sink.table.name.format
// (default ${table}). The sink orchestrates and owns the transaction; each part owns its state:
//   TableCatalog (table_catalog.h): the target tables and their DDL (create, evolve, keys);
//   ChangeWriter (change_writer.h): a batch's events as grouped multi-row statements or precise
//     single-row ones.
// Write() applies a batch inside one open transaction; Flush() writes the batch checkpoint into
// the offsets table and commits, so rows and position become durable together.
//
// Errors: connection lost -> kUnavailable, deadlock or lock wait timeout -> kAborted (the
// pipeline retries both: it calls Reset(), which rolls back and reconnects, and writes every
// batch since the last Flush again); a value the target rejects -> kFailedPrecondition naming
// the table, key and reason.
// Thread-safety: one thread at a time (the sink thread).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/config.h"
#include "core/commit_outcome.h"
#include "core/sink.h"
#include "core/source.h"
#include "sinks/mysql/change_writer.h"
#include "sinks/mysql/mysql_client.h"
#include "sinks/mysql/mysql_sink_options.h"
#include "sinks/mysql/mysql_sql.h"
#include "sinks/mysql/mysql_types.h"
#include "sinks/mysql/table_catalog.h"

namespace sluice::sinks {

std::vector<core::ConfigKey> MysqlSinkConfigKeys();
core::Result<std::unique_ptr<core::Sink>> MakeMysqlSink(const core::ConnectorContext& context);

namespace mysql_sink {

// Reads the options from a connector config; kInvalidArgument naming the key.
core::Result<MysqlSinkOptions> MysqlSinkOptionsFromConfig(const core::ConnectorConfig& config);

class MysqlSink final : public core::Sink {
 public:
  // `logger` may be null (a quiet sink, as in tests).
  explicit MysqlSink(MysqlSinkOptions options, std::shared_ptr<spdlog::logger> logger = nullptr);
  ~MysqlSink() override;

  core::Status Open() override;
  core::Result<std::optional<core::SourcePosition>> LoadCommittedPosition() override;
  bool StoresPosition() const override { return true; }  // the offsets row, with the data
  core::Status Write(const core::EventBatch& batch) override;
  core::Result<std::optional<core::SourcePosition>> Flush() override;
  void ReplaceSnapshotTables() override;
  core::Status Reset() override;
  core::Status Check() override;
  void Close() override;

  // The server connection id of the sink's session (tests KILL it), 0 when not connected.
  uint64_t connection_id() const { return client_.connection_id(); }

 private:
  core::Status Connect();
  // The position the offsets table holds for this connector (none: no row).
  core::Result<std::optional<std::string>> StoredPosition();

  MysqlSinkOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  MysqlClient client_;      // the connection of the open transaction
  size_t max_packet_bytes_ = 16u << 20;  // the server's max_allowed_packet
  TableCatalog catalog_;    // target tables and their DDL (borrows client_)
  ChangeWriter writer_;     // the statements of a batch (borrows client_ and catalog_)

  bool in_transaction_ = false;
  std::optional<core::SourcePosition> pending_checkpoint_;
  // The last commit, and whether the batches written since Reset() replay one that did commit
  // (its reply was lost): they are then not applied again (commit_.replaying()).
  core::CommitOutcome commit_;
};

}  // namespace mysql_sink
}  // namespace sluice::sinks
