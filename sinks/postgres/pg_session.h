// PgSession: the PostgreSQL sink's connection and its one open transaction — BEGIN and COMMIT,
// libpq pipeline mode, and the results in flight, each tied to the event it was sent for, so
// that a failure names the row while its batch is still here. The three roles of the sink
// (TableCatalog, SnapshotLoader, ChangeWriter) send through it; PgApplier owns it and decides
// when each role may (PgApplier::Activate).
//
// A failure whose row cannot be named leaves a request for a precise replay here
// (TakePreciseReplayRequest); only PgApplier acts on it.
//
// Lifecycle: Connect() -> (Begin() … Commit())* -> Close(). After any error the transaction is
// lost: the owner closes and connects again.
// Thread-safety: none; one thread at a time (the sink thread).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "sinks/postgres/pg_connection.h"

namespace sluice::sinks::pgsink {

// "table s.t, key (a=1, b=x)" for error messages ("batch" for an index past the batch).
std::string DescribeEvent(const core::EventBatch& batch, uint32_t event_index);

// What a result in flight answers.
enum class PendingKind : uint8_t { kPrepare, kExec, kExecMany, kSync };

// The replay decision for a statement that failed in the pipeline: true when its row is not
// named (a multi-row statement, or a one-row statement whose batch was gone when its result was
// read) and the failure is not retriable: the replay then writes one statement per event, which
// names it. A retriable failure (deadlock, serialization failure, lost connection) replays as
// it is; so does one already named or not tied to an event (BEGIN, the position, COMMIT).
bool FailureNeedsPreciseReplay(PendingKind kind, bool for_event, bool named, bool retriable);

class PgSession {
 public:
  static constexpr uint32_t kNoEvent = UINT32_MAX;

  PgSession() = default;
  PgSession(const PgSession&) = delete;
  PgSession& operator=(const PgSession&) = delete;

  core::Status Connect(const std::string& url);
  // Drops the connection and forgets the transaction and the results in flight.
  void Close();
  bool connected() const { return conn_.connected(); }
  // True when a statement failed in the open transaction (it can only be rolled back).
  bool transaction_failed() const;
  bool in_transaction() const { return in_txn_; }
  bool in_pipeline() const { return in_pipeline_; }
  PgConnection& conn() { return conn_; }

  // An Apply() call starts: results sent from now on name events of its batch.
  void NextBatch() { ++batch_seq_; }
  // The Apply() call in progress (its events are the ones a failure can name).
  uint64_t batch_seq() const { return batch_seq_; }

  // BEGIN when no transaction is open (queued in the pipeline when in pipeline mode).
  core::Status Begin();
  core::Status EnterPipeline();
  // Pushes what was queued in the pipeline to the server without waiting.
  core::Status Flush();
  // Sends a statement without parameters into the pipeline (BEGIN, COMMIT).
  core::Status SendPlain(const char* sql);
  // Prepares `sql` in the pipeline under a new name, returned; `table` (a qualified name that
  // outlives the results) and `event` name a failure.
  core::Result<std::string> Prepare(const std::string& sql, uint32_t event,
                                    const std::string* table);
  // Runs prepared statement `name` with `values` (nullptr = NULL) in the pipeline; `many`: a
  // multi-row statement (a failure cannot name its row).
  core::Status SendPrepared(const std::string& name, const std::vector<const char*>& values,
                            uint32_t event, const std::string* table, bool many);
  // Reads every result in flight and leaves pipeline mode; the first failure, described with
  // the event it belongs to when that event is in `batch` (the batch being applied; nullptr
  // when earlier batches are gone, e.g. at commit).
  core::Status ExitPipeline(const core::EventBatch* batch);
  // Stores the position (`save_sql` with `save_params`; none when `save_sql` is empty) and
  // commits, in the pipeline when it is open (one round trip reads every result).
  core::Status Commit(const std::string& save_sql, const std::vector<const char*>& save_params);

  // Asks for the replay to run one statement per event (the failure just returned names no
  // row). Read and cleared by PgApplier only.
  void RequestPreciseReplay() { precise_requested_ = true; }
  bool TakePreciseReplayRequest() { return std::exchange(precise_requested_, false); }

 private:
  struct Pending {
    PendingKind kind;
    uint32_t event;  // in the batch of Apply() call `seq`; kNoEvent for BEGIN/position/COMMIT
    const std::string* table;
    uint64_t seq = 0;
  };
  static constexpr size_t kStatementsPerSync = 1000;

  core::Status SyncAndDrain(const core::EventBatch* batch);

  PgConnection conn_;
  bool in_txn_ = false;
  bool in_pipeline_ = false;
  // Statements sent and not yet read. In fast mode the pipeline stays open from the first
  // change of a transaction to its COMMIT, across Apply() calls: the server executes one batch
  // while the next is decoded and sent, and results are read once, at the commit.
  std::vector<Pending> pending_;
  uint64_t batch_seq_ = 0;  // Apply() calls so far: tells whose events pending_ names
  size_t sent_since_sync_ = 0;
  uint64_t statement_counter_ = 0;
  bool precise_requested_ = false;
};

}  // namespace sluice::sinks::pgsink
