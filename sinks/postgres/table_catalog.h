// TableCatalog: the target tables as the sink knows them. Creates a missing table (schema, enum
// types, generated columns), brings an existing one in step with a new source schema version
// (add/drop/keep columns, column types, primary key), and owns the deferred primary keys of
// tables created for a snapshot load (built after the rows are in; table_catalog.cc says why
// that never meets a duplicate).
//
// It runs plain statements in the open transaction: PgApplier activates it (no COPY, no
// pipeline in flight) before Load() and BuildDeferredKeys(). Lookup() does no I/O.
// Lifecycle: Load()* ... Clear() when the session is lost (the DDL of the lost transaction was
// rolled back; the deferral is forgotten and a restart adds missing keys at once).
// Thread-safety: none; one thread at a time (the sink thread).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "core/event.h"
#include "core/status.h"
#include "sinks/postgres/pg_session.h"
#include "sinks/postgres/pg_sink_options.h"
#include "sinks/postgres/postgres_sql.h"
#include "sinks/postgres/postgres_types.h"

namespace sluice::sinks::pgsink {

// One target table for one source schema version. Immutable once loaded, except `schema`,
// which follows an equal version's newer pointer. The other roles keep their own per-table
// state keyed by `id` (a new id for every load, never reused in a process).
struct TableState {
  uint64_t id = 0;
  core::TableSchemaPtr schema;
  TargetName target;
  std::string qualified;
  std::vector<ValueKind> kinds;
  std::vector<char> delimiters;    // per column: array element delimiter (pg_type.typdelim)
  std::vector<std::string> types;  // per column: the target type (TargetType)
  std::vector<uint32_t> all_columns;
  bool created = false;  // CREATE TABLE ran for this state (in the open transaction)
};

// Whether a table created now gets its primary key only after its snapshot rows are loaded:
// created for a snapshot's announcement, from a source that reads each row once per snapshot
// attempt (PostgresSinkOptions::defer_snapshot_keys), and the source table has a key.
bool DeferKeyOfNewTable(bool for_snapshot, bool defer_snapshot_keys, bool has_key);

class TableCatalog {
 public:
  TableCatalog(const PostgresSinkOptions& options, std::shared_ptr<spdlog::logger> logger,
               PgSession& session);

  // The loaded state for `schema` when it is current (same schema, or same version); nullptr
  // when Load() must run. No I/O.
  TableState* Lookup(const core::TableSchemaPtr& schema);
  // Creates or evolves the target table for `schema` in the open transaction (begun when none
  // is open). `for_snapshot`: a snapshot announced the table (a new table may defer its key).
  // Errors: kFailedPrecondition naming the table and column when the target refuses a change
  // or lacks a type; the server's status otherwise.
  core::Result<TableState*> Load(const core::TableSchemaPtr& schema, bool for_snapshot);
  // The id of the state loaded for `table` (which the next Load() of it replaces), 0 when none.
  uint64_t LoadedId(const core::TableId& table) const;

  bool has_deferred_keys() const { return !deferred_keys_.empty(); }
  bool key_deferred(const core::TableId& id) const { return deferred_keys_.count(id) > 0; }
  // Adds every deferred primary key in the open transaction (the caller began it).
  core::Status BuildDeferredKeys();

  // The session was lost: forget every table and the deferral.
  void Clear();

 private:
  core::Status CreateOrEvolve(TableState& state, bool for_snapshot);
  core::Status ChangeColumnTypes(TableState& state);
  core::Status ChangePrimaryKey(TableState& state);
  core::Status EnsureEnumType(const core::Column& column);
  core::Status LoadArrayDelimiters(TableState& t);
  core::Status CheckTypesExist(const TableState& t, const std::vector<size_t>& columns);

  const PostgresSinkOptions& options_;
  std::shared_ptr<spdlog::logger> logger_;
  PgSession& session_;
  PgConnection& conn_;
  std::map<core::TableId, std::unique_ptr<TableState>> tables_;
  TableState* last_table_ = nullptr;
  uint64_t load_counter_ = 0;
  // Tables created in this session for a snapshot, without their primary key yet. A restart
  // adds a missing key at once (ChangePrimaryKey), before any row: rows committed by one run
  // are unique, so that succeeds.
  std::set<core::TableId> deferred_keys_;
};

}  // namespace sluice::sinks::pgsink
