// TableCatalog: what the MySQL sink knows of its target tables, and the DDL that keeps them in
// step with the source: creates the database, the offsets table and missing tables; adds the
// columns added at the source, keeps (nullable) or drops the dropped ones per sink.columns.drop;
// applies type and primary key changes; and hands out the statement plan (TablePlan) for each
// source schema version.
//
// DDL commits the open transaction implicitly in MySQL. For a table the open transaction has not
// written (`touched`), DDL runs on a second connection of its own, so rows written so far stay
// uncommitted until Flush() commits them with their checkpoint.
//
// Lifecycle: owned by MysqlSink; SetCollation() once connected, EnsureDatabase() on Open(),
// PlanFor() per event, ClearTouched() after each commit, Invalidate() on Reset().
// Thread-safety: one thread at a time (the sink thread), as the connection it borrows.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/event.h"
#include "core/status.h"
#include "sinks/mysql/mysql_client.h"
#include "sinks/mysql/mysql_sink_options.h"
#include "sinks/mysql/mysql_sql.h"
#include "sinks/mysql/mysql_types.h"

namespace sluice::sinks::mysql_sink {

// The narrow seam through which ChangeWriter gets statement plans (TableCatalog in production,
// plans built in memory in unit tests). Called per event; the virtual call is per event, never
// per value.
class PlanSource {
 public:
  virtual ~PlanSource() = default;
  // The plan for `schema`; `before_ddl` runs before any DDL the plan needs (it ends the
  // statement being built); `touch`: the open transaction writes the table.
  virtual core::Result<const TablePlan*> PlanFor(
      const core::TableSchemaPtr& schema, bool touch,
      const std::function<core::Status()>& before_ddl) = 0;
};

class TableCatalog final : public PlanSource {
 public:
  // `client` is the sink's connection (its open transaction); `options` and `client` outlive
  // the catalog. `logger` may be null.
  TableCatalog(const MysqlSinkOptions& options, MysqlClient& client,
               std::shared_ptr<spdlog::logger> logger);

  // The collation of the tables it creates: a binary, no-pad one so keys compare as the source.
  void SetCollation(std::string collation) { collation_ = std::move(collation); }
  bool has_collation() const { return !collation_.empty(); }

  // CREATE DATABASE / offsets table IF NOT EXISTS.
  core::Status EnsureDatabase();
  // `db`.`offsets table`, known after EnsureDatabase().
  const std::string& offsets_qualified() const { return offsets_qualified_; }

  // The plan for `schema`, its table created or brought up to date first when the schema is new
  // to this session; `before_ddl` runs before any DDL (it ends the statement being built).
  // `touch`: the open transaction writes the table (DDL for it then runs on the sink's own
  // connection). kFailedPrecondition for a name MySQL cannot take or DDL the target refuses.
  core::Result<const TablePlan*> PlanFor(const core::TableSchemaPtr& schema, bool touch,
                                         const std::function<core::Status()>& before_ddl) override;

  // core::Sink::ReplaceSnapshotTables: a one-shot sync over an earlier run's rows empties each
  // existing table once, when this run first writes it (a table this run creates has nothing
  // to replace). A table that a foreign key references keeps its rows (TRUNCATE refuses it,
  // and a DELETE would cascade into tables the sync does not copy): logged.
  void ReplaceExistingTables() { replace_ = true; }

  // After a commit: no table is written by an open transaction.
  void ClearTouched();
  // After a reset: a DDL statement may have completed on the server while its reply was lost,
  // so every table is read again before its next change; the DDL connection is closed.
  void Invalidate();
  void Close() { ddl_client_.Close(); }

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

  core::Status ApplySchema(TargetTable& target, const core::TableSchemaPtr& schema);
  core::Status ApplyTypeAndKeyChanges(TargetTable& target, const core::TableSchema& schema);
  // The first schema seen for an existing table: modify columns whose type differs from the
  // mapped one and replace a different primary key (changes made while the connector was down).
  core::Status ReconcileTypesAndKey(TargetTable& target, const core::TableSchema& schema);
  core::Status LoadTargetColumns(TargetTable& target);
  core::Status EmptyForReplacement(const TargetTable& target, const std::string& qualified);
  // `target`: the table the DDL changes (nullptr for the database/offsets set-up).
  core::Status ExecuteDdl(const std::string& sql, const std::string& what,
                          const TargetTable* target = nullptr);
  void Touch(TargetTable& target);

  const MysqlSinkOptions& options_;
  MysqlClient& client_;
  std::shared_ptr<spdlog::logger> logger_;
  MysqlClient ddl_client_;  // DDL for tables the open transaction has not written
  std::string collation_;
  std::string offsets_qualified_;
  bool replace_ = false;
  std::set<std::string> replaced_;  // target tables emptied (or created) in this run
  std::map<core::TableId, TargetTable> targets_;
  std::vector<TargetTable*> touched_;
  // The plan of the previous event (most events follow one of the same table).
  const core::TableSchema* last_schema_ = nullptr;
  const TablePlan* last_plan_ = nullptr;
  TargetTable* last_target_ = nullptr;
};

}  // namespace sluice::sinks::mysql_sink
