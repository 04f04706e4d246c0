// ChangeWriter: change events (c, u, d, t) as prepared statements in libpq pipeline mode.
//
// Grouped (fast) mode: within one target transaction only the final state is visible, so events
// of different tables may be applied in any order; within a table the source order is kept.
// Each table has at most one open run (change_run.h) of upserts, deletes or keyless appends,
// which stays open across the batches of the transaction: it coalesces the rows of one key (the
// last full row wins) and is sent as one statement as soon as it fills one (256 rows, fewer for
// wide tables), the rest when the transaction commits or the session changes role
// (SendRuns). A change that needs its own statement — partial update, key change, keyless
// change, truncate — or a change of the other run kind sends its table's run first. Precise
// mode: one statement per event in source order, so that a failure names its row.
//
// Owns the statement text cache (per table state, prepared once per session), the open runs
// and the parameter buffers (no allocation per value once warm). PgApplier activates it (no
// COPY open; deferred keys built) before each call, and calls SendRuns() before anything else
// uses the session (DDL, COPY, the position and COMMIT): a run points at its TableState, so
// it is sent before the catalog may replace that state.
// Lifecycle: Write*() … SendRuns() … SessionLost() when the session is gone (prepared
// statements and open runs with it).
// Thread-safety: none; one thread at a time (the sink thread).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "sinks/postgres/change_run.h"
#include "sinks/postgres/pg_session.h"
#include "sinks/postgres/table_catalog.h"

namespace sluice::sinks::pgsink {

// Gives the change writer the target table of an event's schema (created or evolved as
// needed, which ends the pipeline first). One call per table switch, not per value.
class TableResolver {
 public:
  virtual core::Result<const TableState*> Resolve(const core::TableSchemaPtr& schema,
                                                  const core::EventBatch& batch) = 0;

 protected:
  ~TableResolver() = default;
};

class ChangeWriter {
 public:
  explicit ChangeWriter(PgSession& session) : session_(session) {}

  // Change events [begin, end) grouped per table (fast mode).
  core::Status WriteGrouped(const core::EventBatch& batch, size_t begin, size_t end,
                            TableResolver& tables);
  // Change events [begin, end), one statement each in source order (precise mode).
  core::Status WriteEach(const core::EventBatch& batch, size_t begin, size_t end,
                         TableResolver& tables);
  // Snapshot rows [begin, end) of table `t` as upserts (rows with unchanged cells).
  core::Status UpsertRows(const core::EventBatch& batch, const TableState& t, size_t begin,
                          size_t end);
  // Sends every open run (still in the pipeline; results are read at the commit).
  core::Status SendRuns();
  bool has_open_runs() const;
  void SessionLost();
  // The table state `table_id` was replaced (a new schema version): its statements go.
  void Forget(uint64_t table_id) { statements_.erase(table_id); }

 private:
  core::Status WriteOne(const core::EventBatch& batch, const TableState& t, uint32_t event);
  // The open run of table `t` (one is made when it has none).
  ChangeRun& RunOf(const TableState& t);
  core::Status AddToRun(const core::EventBatch& batch, const TableState& t, RunKind kind,
                        uint32_t event, uint32_t row);
  // Sends `run` as multi-row statements and empties it.
  core::Status SendRun(ChangeRun& run);
  // Sends the open run of table `t`, if any (before a statement of its own for the table).
  core::Status SendRunOf(const TableState& t);

  core::Status SendUpsert(const core::EventBatch& batch, const TableState& t, uint32_t event,
                          uint32_t row);
  core::Status SendUpdate(const core::EventBatch& batch, const TableState& t, uint32_t event);
  core::Status SendDelete(const core::EventBatch& batch, const TableState& t, uint32_t event);
  // A keyless table's update or delete: one row equal to the before image.
  core::Status SendKeyless(const core::EventBatch& batch, const TableState& t, uint32_t event,
                           bool update);
  // Sends statement key_ of table `t` (prepared from make_sql() on first use) with the
  // parameters collected by AddParams().
  template <typename MakeSql>
  core::Status Send(const TableState& t, MakeSql make_sql, uint32_t event, bool many = false);
  // The same with param_values_ filled by the caller.
  template <typename MakeSql>
  core::Status SendParams(const TableState& t, MakeSql make_sql, uint32_t event, bool many);

  // Parameters: NUL-terminated values in one buffer, pointers computed at send time.
  void ClearParams();
  core::Status AddParams(const core::EventBatch& batch, const TableState& t, uint32_t row,
                         const std::vector<uint32_t>& columns, uint32_t event);


  PgSession& session_;
  // Prepared statement names by table state id, then by statement shape (key_).
  std::unordered_map<uint64_t, std::map<std::string, std::string>> statements_;
  // Open runs, one per table (a handful: looked up by a scan); empty runs are reused.
  std::vector<std::unique_ptr<ChangeRun>> runs_;

  // Reused scratch buffers.
  std::string param_buf_;
  std::vector<uint32_t> param_offsets_;  // kParamNull = NULL
  std::vector<const char*> param_values_;
  std::vector<uint32_t> columns_;
  std::vector<uint32_t> columns2_;
  std::string key_;
};

}  // namespace sluice::sinks::pgsink
