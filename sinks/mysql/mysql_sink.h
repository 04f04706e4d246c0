// MysqlSink: applies change events to a MySQL/MariaDB database (mysql-connector-c++ 1.1), kept
// exactly in sync with the source, exactly-once.
//
// Every source table goes into the database of sink.url, named per sink.table.name.format
// (default ${table}); the database and missing tables are created with the types of
// mysql_types.h, columns added at the source are added, dropped ones kept (nullable) or dropped
// per sink.columns.drop.
// Write() applies a batch inside one open transaction, table by table and in order within each
// table: runs of inserts/updates/snapshot rows of a table become one multi-row
// INSERT ... ON DUPLICATE KEY UPDATE, runs of deletes one DELETE; an update with unchanged
// (TOAST) cells becomes an UPDATE that leaves those columns out; a truncate is a DELETE (TRUNCATE would commit). Flush() writes the batch checkpoint into
// the offsets table and commits, so rows and position become durable together.
//
// Errors: connection lost, deadlock, lock wait timeout -> kUnavailable (the pipeline calls
// Reset(), which rolls back and reconnects, and writes every batch since the last Flush again);
// a value the target rejects -> kFailedPrecondition naming the table, key and reason.
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
#include "sinks/mysql/mysql_client.h"
#include "sinks/mysql/mysql_sql.h"
#include "sinks/mysql/mysql_types.h"

namespace sluice::sinks {

std::vector<core::ConfigKey> MysqlSinkConfigKeys();
core::Result<std::unique_ptr<core::Sink>> MakeMysqlSink(const core::ConnectorContext& context);

namespace mysql_sink {

enum class DropColumns { kKeep, kDrop };

struct MysqlSinkOptions {
  MysqlUrl url;
  std::string connector_name = "sluice";   // row key in the offsets table
  std::string offsets_table = "sluice_offsets";
  std::string table_name_format;           // empty: ${table}
  DropColumns drop_columns = DropColumns::kKeep;
  TypeOptions types;
  size_t max_statement_bytes = 4u << 20;   // lowered to max_allowed_packet / 2 when smaller
};

// Reads the options from a connector config; kInvalidArgument naming the key.
core::Result<MysqlSinkOptions> MysqlSinkOptionsFromConfig(const core::ConnectorConfig& config);

class MysqlSink final : public core::Sink {
 public:
  // `logger` may be null (a quiet sink, as in tests).
  explicit MysqlSink(MysqlSinkOptions options, std::shared_ptr<spdlog::logger> logger = nullptr);
  ~MysqlSink() override;

  core::Status Open() override;
  core::Result<std::optional<core::SourcePosition>> LoadCommittedPosition() override;
  core::Status Write(const core::EventBatch& batch) override;
  core::Result<std::optional<core::SourcePosition>> Flush() override;
  core::Status Reset() override;
  core::Status Check() override;
  void Close() override;

  // The server connection id of the sink's session (tests KILL it), 0 when not connected.
  uint64_t connection_id() const { return client_.connection_id(); }

 private:
  // What the target holds for one source table.
  struct TargetTable {
    std::string name;                                  // target table name
    bool loaded = false;                               // columns read from the server
    struct Column {
      std::string type;  // COLUMN_TYPE, e.g. "varchar(10)"
      bool nullable = true;
    };
    std::map<std::string, Column> columns;             // the target's columns
    core::TableSchemaPtr applied;                      // newest schema whose DDL was applied
    bool touched = false;                              // written in the open transaction
    std::unordered_map<const core::TableSchema*, std::unique_ptr<TablePlan>> plans;
  };
  enum class Pending { kNone, kUpsert, kDelete };

  core::Status Connect();
  core::Status EnsureDatabase();
  core::Result<const TablePlan*> PlanFor(const core::EventBatch& batch,
                                         const core::TableSchemaPtr& schema);
  core::Status ApplySchema(const core::EventBatch& batch, TargetTable& target,
                           const core::TableSchemaPtr& schema);
  core::Status ApplyTypeAndKeyChanges(TargetTable& target, const core::TableSchema& schema);
  // The first schema seen for an existing table: modify columns whose type differs from the
  // mapped one and replace a different primary key (changes made while the connector was down).
  core::Status ReconcileTypesAndKey(TargetTable& target, const core::TableSchema& schema);
  // The position the offsets table holds for this connector (none: no row).
  core::Result<std::optional<std::string>> StoredPosition();
  core::Status LoadTargetColumns(TargetTable& target);
  // `target`: the table the DDL changes (nullptr for the database/offsets set-up).
  core::Status ExecuteDdl(const std::string& sql, const std::string& what,
                          const TargetTable* target = nullptr);
  void ClearTouched();
  core::Status RunUpdate(const core::EventBatch& batch, const TablePlan& plan, uint32_t row,
                         uint32_t key_row, bool set_key);

  core::Status ApplyEvent(const core::EventBatch& batch, const core::ChangeEvent& event);
  core::Status AddUpsert(const core::EventBatch& batch, const TablePlan& plan, uint32_t row);
  core::Status AddDelete(const core::EventBatch& batch, const TablePlan& plan, uint32_t row);
  core::Status ExecutePending(const core::EventBatch& batch);
  core::Status ExecuteStatement(const std::string& sql, const core::EventBatch& batch,
                                const TablePlan& plan, const std::vector<uint32_t>& rows);
  core::Status ValueFailure(const TablePlan& plan, const core::RowView& row, ValueError error);

  MysqlSinkOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  MysqlClient client_;
  MysqlClient ddl_client_;  // DDL for tables the open transaction has not written
  std::vector<TargetTable*> touched_;
  std::string collation_;
  std::string offsets_qualified_;
  size_t max_packet_bytes_ = 16u << 20;  // the server's max_allowed_packet
  std::map<core::TableId, TargetTable> targets_;
  // The plan of the previous event (most events follow one of the same table).
  const core::TableSchema* last_schema_ = nullptr;
  const TablePlan* last_plan_ = nullptr;
  TargetTable* last_target_ = nullptr;

  // The statement being built (always for the batch in Write()).
  Pending pending_ = Pending::kNone;
  const TablePlan* pending_plan_ = nullptr;
  std::string sql_;
  std::vector<uint32_t> sql_rows_;
  std::string scratch_;
  // Grouping of a batch's events by table (reused between batches).
  std::vector<const core::TableSchema*> group_tables_;
  std::vector<uint32_t> event_group_;
  std::vector<uint32_t> group_start_;
  std::vector<uint32_t> order_;

  bool in_transaction_ = false;
  std::optional<core::SourcePosition> pending_checkpoint_;
  // The last commit, and whether the batches written since Reset() replay one that did commit
  // (its reply was lost): they are then not applied again (commit_.replaying()).
  core::CommitOutcome commit_;
};

}  // namespace mysql_sink
}  // namespace sluice::sinks
