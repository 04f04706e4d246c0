// PgApplier: the PostgreSQL sink's engine. Owns the target connection and one open transaction,
// keeps each target table in step with its source schema (create, add/drop columns), and turns
// a batch's events into COPY (snapshot rows) or pipelined prepared statements (changes).
//
// Lifecycle: Connect() -> (Apply()* Commit())* -> Disconnect(). After any error the transaction
// is lost: the owner calls Disconnect() + Connect() (Reset) before applying again; the table
// cache is cleared then, since DDL of the lost transaction was rolled back too.
// Thread-safety: none; one thread at a time (the sink thread).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "sinks/postgres/pg_connection.h"
#include "sinks/postgres/postgres_sink.h"
#include "sinks/postgres/postgres_sql.h"
#include "sinks/postgres/postgres_types.h"

namespace sluice::sinks::pgsink {

class PgApplier {
 public:
  PgApplier(const PostgresSinkOptions& options, std::shared_ptr<spdlog::logger> logger);
  ~PgApplier();

  // Connects and creates the offsets table when missing (autocommit).
  core::Status Connect();
  void Disconnect();
  bool connected() const { return conn_.connected(); }
  // True when a statement failed in the open transaction (it can only be rolled back).
  bool transaction_failed() const;

  // The position stored for this connector, nullopt when none.
  core::Result<std::optional<std::string>> LoadOffset();

  // Applies every event of `batch` inside the open transaction (begun when none is open).
  core::Status Apply(const core::EventBatch& batch);

  // Stores `checkpoint` (when given) in the offsets table and commits.
  core::Status Commit(const std::optional<core::SourcePosition>& checkpoint);

  // Adds the primary keys of tables created without them for a snapshot load (the snapshot
  // ended, a change for them arrived, or the sink closes), in the open transaction or, when
  // none is open, in one of its own.
  core::Status BuildDeferredKeys();

 private:
  struct TableState {
    core::TableSchemaPtr schema;
    TargetName target;
    std::string qualified;
    std::vector<ValueKind> kinds;
    std::vector<char> delimiters;  // per column: array element delimiter (pg_type.typdelim)
    std::vector<std::string> types;  // per column: the target type (TargetType)
    std::vector<uint32_t> all_columns;
    std::map<std::string, std::string> statements;  // variant key -> prepared statement name
    std::string stage;            // temporary staging table for replayed snapshot rows
    bool stage_created = false;   // in the current transaction
    // Binary COPY encoders by the target columns' types (pg_applier_copy.cc), looked up at the
    // first snapshot COPY; empty when some column has none (text COPY).
    std::vector<BinaryKind> binary;
    bool binary_checked = false;
  };
  struct PendingResult {
    enum Kind : uint8_t { kPrepare, kExec, kExecMany, kSync } kind;
    uint32_t event;      // in the batch of Apply() call `seq`; kNoEvent for BEGIN/offset/COMMIT
    TableState* table;
    uint64_t seq = 0;
  };
  static constexpr uint32_t kNoEvent = UINT32_MAX;
  // Rows of one table collected for multi-row statements (fast mode).
  enum class RunKind : uint8_t { kNone, kUpsert, kDelete, kAppend };
  struct RunRow {
    uint32_t event;
    uint32_t row;
  };
  struct Run {
    TableState* table = nullptr;
    RunKind kind = RunKind::kNone;
    std::vector<RunRow> rows;
    std::unordered_map<uint64_t, uint32_t> slots;  // key hash -> index in rows
  };

  core::Status Begin();
  core::Result<TableState*> Ensure(const core::TableSchemaPtr& schema,
                                   const core::EventBatch& batch);
  core::Status CreateOrEvolve(TableState& state);
  core::Status ChangeColumnTypes(TableState& state, const std::vector<std::string>& types);
  core::Status ChangePrimaryKey(TableState& state);
  core::Status EnsureEnumType(const core::Column& column);
  core::Status LoadArrayDelimiters(TableState& t);
  core::Status CheckTypesExist(const TableState& t, const std::vector<size_t>& columns,
                               const std::vector<std::string>& types);

  // Snapshot rows [begin, end) of one table (pg_applier_copy.cc). Fast mode streams them into
  // one COPY that stays open across batches; a table whose rows are (partly) there already
  // goes through the staging upsert; precise mode copies each batch on its own (savepoint).
  core::Status ApplyReads(const core::EventBatch& batch, TableState& t, size_t begin, size_t end);
  core::Status StreamReads(const core::EventBatch& batch, TableState& t, size_t begin, size_t end);
  core::Status StagedReads(const core::EventBatch& batch, TableState& t, size_t begin, size_t end);
  core::Status CopyRows(const core::EventBatch& batch, TableState& t, const std::string& into,
                        size_t begin, size_t end);
  // Appends rows [begin, end) in COPY text format to copy_buf_, sending full chunks.
  core::Status FormatCopyRows(const core::EventBatch& batch, TableState& t, size_t begin,
                              size_t end);
  // The same in COPY binary format (t.binary); kAborted + precise mode when a value has no
  // binary form here (the replay loads it as text, where the server names what is wrong).
  core::Status FormatCopyRowsBinary(const core::EventBatch& batch, TableState& t, size_t begin,
                                    size_t end);
  // Fills t.binary from the target's column types and marks the table checked (the caller
  // calls it once per table state); an error leaves it unchecked, to be tried again.
  core::Status CheckBinaryCopy(TableState& t);
  // Ends the open streaming COPY: a unique violation marks the table staged, another server
  // error switches to precise mode; both return kAborted so that the pipeline replays.
  core::Status EndStreamingCopy();

  // One change event as one statement, in source order (precise mode).
  core::Status ApplyOne(const core::EventBatch& batch, TableState& t, uint32_t event_index);
  // Change events [begin, end) grouped per table (source order kept within each table), same-key
  // rows coalesced and sent as multi-row statements (fast mode; pg_applier_grouped.cc).
  core::Status ApplyGrouped(const core::EventBatch& batch, size_t begin, size_t end);
  core::Status AddToRun(const core::EventBatch& batch, TableState& t, RunKind kind,
                        uint32_t event_index, uint32_t row);
  core::Status FlushRun(const core::EventBatch& batch);
  uint64_t KeyHash(const core::RowView& row, const core::TableSchema& schema) const;

  // Change events, pipelined.
  core::Status SendUpsert(const core::EventBatch& batch, TableState& t, uint32_t event_index,
                          uint32_t row);
  core::Status SendUpdate(const core::EventBatch& batch, TableState& t, uint32_t event_index);
  core::Status SendDelete(const core::EventBatch& batch, TableState& t, uint32_t event_index);
  core::Status SendTruncate(TableState& t, uint32_t event_index);
  // Sends the statement `key` of table `t` (prepared from `sql` on first use) with the
  // parameters collected in params_.
  template <typename MakeSql>
  core::Status SendCached(TableState& t, const std::string& key, MakeSql make_sql,
                          uint32_t event_index, bool many = false);

  // Parameters: NUL-terminated values in one buffer, pointers computed at send time.
  void ClearParams();
  core::Status AddParam(const core::EventBatch& batch, const TableState& t, uint32_t row,
                        uint32_t column, uint32_t event_index);

  core::Status EnterPipeline();
  // Sends a statement without parameters into the pipeline (BEGIN, COMMIT).
  core::Status SendPlain(const char* sql);
  // Syncs, reads every pending result and leaves pipeline mode; the first failure, described
  // with the event it belongs to when that event is in `batch` (the batch being applied;
  // nullptr at commit, when earlier batches are gone).
  core::Status SyncAndDrain(const core::EventBatch* batch);
  core::Status ExitPipeline(const core::EventBatch* batch);

  // "table s.t, key (a=1, b=x)" for error messages.
  std::string Describe(const core::EventBatch& batch, uint32_t event_index) const;

  static constexpr size_t kStatementsPerSync = 1000;
  static constexpr uint32_t kNullParam = UINT32_MAX;

  PostgresSinkOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  PgConnection conn_;
  TargetName offsets_;
  bool in_txn_ = false;
  bool in_pipeline_ = false;
  // Statements sent and not yet read. In fast mode the pipeline stays open from the first
  // change of a transaction to its COMMIT, across Apply() calls: the server executes one batch
  // while the next is decoded and sent, and results are read once, at the commit.
  std::vector<PendingResult> pending_;
  uint64_t apply_seq_ = 0;  // Apply() calls so far: tells whose events pending_ names
  size_t sent_since_sync_ = 0;
  uint64_t statement_counter_ = 0;
  uint64_t stage_counter_ = 0;

  // After a multi-row statement failed: one statement per event (which names the failing row)
  // until the next commit. Survives Connect() so that the pipeline's replay runs precise.
  bool precise_ = false;
  // Tables whose snapshot rows go through the staging upsert (some were there already); a
  // staged chunk that inserted every row puts the table back on the COPY path. Survives
  // Connect() like precise_.
  std::set<core::TableId> staged_;
  // Staged tables whose last staged chunk inserted only new rows: back to COPY after the commit.
  std::set<core::TableId> unstage_;
  // Tables created in this run for a snapshot, without their primary key yet (see
  // PostgresSinkOptions::defer_snapshot_keys). A restart adds a missing key at once
  // (ChangePrimaryKey), before any row: rows committed by one run are unique, so that succeeds.
  std::set<core::TableId> deferred_keys_;
  bool announcing_ = false;  // Ensure() runs for a snapshot's announced tables
  TableState* copy_table_ = nullptr;  // the table of the open streaming COPY
  bool copy_binary_ = false;          // ... in binary format
  Run run_;
  std::vector<std::pair<const core::TableSchema*, std::vector<uint32_t>>> groups_;

  std::map<core::TableId, std::unique_ptr<TableState>> tables_;
  TableState* last_table_ = nullptr;

  // Reused scratch buffers (no allocation per value once warm).
  std::string param_buf_;
  std::vector<uint32_t> param_offsets_;  // UINT32_MAX = NULL
  std::vector<const char*> param_values_;
  std::vector<uint32_t> columns_;
  std::vector<uint32_t> columns2_;
  std::string key_;
  std::string copy_buf_;
  std::string value_buf_;
};

// Sends prepared statement `key` of table `t` (prepared from make_sql() on first use) with the
// parameters collected by AddParam().
template <typename MakeSql>
core::Status PgApplier::SendCached(TableState& t, const std::string& key, MakeSql make_sql,
                                     uint32_t event_index, bool many) {
  SLUICE_RETURN_IF_ERROR(EnterPipeline());
  auto it = t.statements.find(key);
  if (it == t.statements.end()) {
    std::string name = "sluice_" + std::to_string(++statement_counter_);
    std::string sql = make_sql();
    if (PQsendPrepare(conn_.raw(), name.c_str(), sql.c_str(), 0, nullptr) != 1) {
      return conn_.ConnectionError("postgres sink: preparing for " + t.qualified);
    }
    pending_.push_back({PendingResult::kPrepare, event_index, &t, apply_seq_});
    it = t.statements.emplace(key, std::move(name)).first;
  }
  param_values_.clear();
  for (uint32_t off : param_offsets_) {
    param_values_.push_back(off == kNullParam ? nullptr : param_buf_.data() + off);
  }
  if (PQsendQueryPrepared(conn_.raw(), it->second.c_str(), static_cast<int>(param_values_.size()),
                          param_values_.data(), nullptr, nullptr, 0) != 1) {
    return conn_.ConnectionError("postgres sink: sending to " + t.qualified);
  }
  pending_.push_back(
      {many ? PendingResult::kExecMany : PendingResult::kExec, event_index, &t, apply_seq_});
  if (++sent_since_sync_ >= kStatementsPerSync) {
    // Bounded in-flight results: the server never blocks on a full socket we do not read.
    if (PQpipelineSync(conn_.raw()) != 1) return conn_.ConnectionError("postgres sink pipeline");
    pending_.push_back({PendingResult::kSync, 0, nullptr});
    sent_since_sync_ = 0;
  }
  return core::Status::Ok();
}

}  // namespace sluice::sinks::pgsink
