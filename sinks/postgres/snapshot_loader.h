// SnapshotLoader: snapshot rows (op=r) into the target, kept replay-safe. Owns the streaming
// COPY, the binary/text choice per table, and the staging tables.
//
// Fast mode: the rows of consecutive batches stream into one open COPY (the server parses and
// indexes while the next batch is read); PgApplier ends it (EndStream) before any other
// statement and at commit. If it fails with a unique violation the rows were there already (a
// snapshot replayed after a restart): the table is staged and kAborted makes the pipeline write
// the batches again, this time through a temporary staging table and INSERT … SELECT … ON
// CONFLICT DO UPDATE. Any other COPY error (or a value with no binary form) asks for a precise
// replay (one COPY per batch inside a savepoint, errors mapped to the failing row), which then
// names the row.
//
// Lifecycle: Load()* / EndStream() within a transaction; Committed() after each commit;
// SessionLost() when the session is gone (Reset).
// Thread-safety: none; one thread at a time (the sink thread).
#pragma once

#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <spdlog/logger.h>

#include "core/event.h"
#include "core/status.h"
#include "sinks/postgres/pg_session.h"
#include "sinks/postgres/table_catalog.h"

namespace sluice::sinks::pgsink {

// How a run of snapshot rows of one table is loaded.
enum class SnapshotRoute : uint8_t {
  kStream,           // fast mode: into the open streaming COPY
  kCopy,             // precise mode, keyless table: one COPY per batch (no replay-safe path)
  kCopyInSavepoint,  // precise mode: one COPY per batch; a unique violation stages the table
  kStaged,           // rows already there: COPY into a staging table, then upsert
};
SnapshotRoute RouteSnapshotRows(bool precise, bool has_key, bool staged);

// What a failed streaming COPY means for the replay.
enum class CopyFailure : uint8_t {
  kAsIs,     // the connection is gone, or the failure is retriable: replay as it is
  kStage,    // rows already there (unique violation on a keyed table): stage the table
  kPrecise,  // the server rejected a row: replay one batch at a time, which names it
};
CopyFailure ClassifyCopyFailure(bool unavailable, bool retriable, bool unique_violation,
                                bool has_key);

// Tables whose snapshot rows go through the staging upsert. A staged chunk in which every row
// was new puts the table back on the COPY path — once the transaction commits: until then a
// later batch of it may still repeat rows (the source was restarted and re-reads from the
// committed position), and going back to COPY at once would abort and replay the same batches
// forever. Staging survives a lost session (the replay needs it); the pending unstaging does not.
class StagedTables {
 public:
  bool staged(const core::TableId& id) const { return staged_.count(id) > 0; }
  void Stage(const core::TableId& id) { staged_.insert(id); }
  // A staged chunk of `rows` rows inserted `inserted` of them as new.
  void ChunkUpserted(const core::TableId& id, uint64_t inserted, uint64_t rows);
  void Committed();
  void SessionLost() { unstage_.clear(); }

 private:
  std::set<core::TableId> staged_;
  std::set<core::TableId> unstage_;
};

class SnapshotLoader {
 public:
  SnapshotLoader(std::shared_ptr<spdlog::logger> logger, PgSession& session);

  // Loads snapshot rows [begin, end) of `batch` (all of table `t`), by RouteSnapshotRows.
  // kAborted when the pipeline must replay (the table was staged, or a precise replay was
  // requested from the session).
  core::Status Load(const core::EventBatch& batch, const TableState& t, size_t begin, size_t end,
                    bool precise);
  bool streaming() const { return copy_table_ != nullptr; }
  // Ends the open streaming COPY: a unique violation stages the table, another server error
  // requests a precise replay; both return kAborted so that the pipeline replays.
  core::Status EndStream();
  void Committed();
  void SessionLost();
  // The table state `table_id` was replaced (a new schema version): its state goes.
  void Forget(uint64_t table_id) { targets_.erase(table_id); }

 private:
  // Per table state (by TableState::id).
  struct CopyTarget {
    std::string stage;           // temporary staging table for replayed snapshot rows
    bool stage_created = false;  // in the current transaction
    // Binary COPY encoders by the target columns' types, looked up at the first streaming COPY;
    // empty when some column has none (text COPY).
    std::vector<BinaryKind> binary;
    bool binary_checked = false;
  };

  CopyTarget& TargetOf(const TableState& t);
  core::Status StreamRows(const core::EventBatch& batch, const TableState& t, size_t begin,
                          size_t end);
  core::Status StagedRows(const core::EventBatch& batch, const TableState& t, size_t begin,
                          size_t end);
  core::Status CopyRows(const core::EventBatch& batch, const TableState& t,
                        const std::string& into, size_t begin, size_t end);
  // Appends rows [begin, end) in COPY text format to copy_buf_, sending full chunks.
  core::Status FormatRows(const core::EventBatch& batch, const TableState& t, size_t begin,
                          size_t end);
  // The same in COPY binary format; kAborted + a precise replay request when a value has no
  // binary form here (the replay loads it as text, where the server names what is wrong).
  core::Status FormatRowsBinary(const core::EventBatch& batch, const TableState& t,
                                const std::vector<BinaryKind>& binary, size_t begin, size_t end);
  // Fills target.binary from the target's column types and marks it checked; an error leaves
  // it unchecked, to be tried again.
  core::Status CheckBinaryCopy(const TableState& t, CopyTarget& target);

  std::shared_ptr<spdlog::logger> logger_;
  PgSession& session_;
  PgConnection& conn_;
  std::unordered_map<uint64_t, CopyTarget> targets_;
  StagedTables staged_;
  const TableState* copy_table_ = nullptr;  // the table of the open streaming COPY
  bool copy_binary_ = false;                // ... in binary format
  std::string copy_buf_;
  std::string value_buf_;
};

}  // namespace sluice::sinks::pgsink
