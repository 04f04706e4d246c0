// StreamReader: tails a logical replication slot with pgoutput (proto_version 1) on a
// replication connection and turns the decoded messages into change events.
//
//   Begin            opens a transaction (TxnInfo: commit time, xid, commit LSN)
//   Relation         (re)builds the table's schema through the catalog (SchemaCache bumps the
//                    version when columns change)
//   Insert/Update/Delete  events; 'u' values become CellState::kUnchanged; a key-only old tuple
//                    ('K') carries the key columns and marks the others unchanged
//   Truncate         one Op::kTruncate event per captured table
//   Message          a core::LogicalMessage (StreamOptions::messages), placed among the
//                    transaction's changes, or alone when not transactional
//   Commit           the batch checkpoint {lsn: commit end LSN}
//
// A batch that fills up mid-transaction keeps the checkpoint of the last commit it holds (or
// none). When idle (nothing in flight) the reader emits an empty batch checkpointed at the
// keepalive's WAL end, so the slot advances on an idle database: at once after a commit (the
// stream has caught up: WAL written after the last captured commit — other databases, a
// checkpoint record — is confirmed with it), then at most every `idle_checkpoint_ms` (a
// database sink in the same cluster writes WAL for each position it stores, which would
// otherwise feed itself). Standby status updates report flush = the acknowledged LSN, on
// keepalives that ask for a reply, within 50 ms of an acknowledgement (at once when it covers
// everything received) and at least every `status_interval_ms`.
//
// Poll returns kHaveMore when the batch filled up, or when nothing more is buffered in the
// middle of a transaction (its commit is on the way); kIdle when nothing more came within
// 5 ms (core::kCaughtUpProbe, core/source.h) of emptying the socket between transactions
// (caught up, whether or not the batch holds events: the pipeline may flush it at once,
// core/pipeline.h) or the wait ran out.
//
// Restarted in the same process (the pipeline reopens a failed stream from the last committed
// position while the batches read since are still on their way to the sink), a reader must not
// hand those over a second time: a keyless table would get its rows twice, and a replay into
// the sink's open transaction is not harmless even by key. `Emitted` records what successful
// Polls returned (whole transactions by commit LSN, then the change messages of one in part);
// a reader given it with SkipEmitted() drops exactly that on the way. pgoutput (proto 1) sends
// committed transactions whole, in commit order, so a re-read repeats them message by message.
//
// I/O goes through two seams, so that unit tests replay captured bytes without a server
// (tests/connectors/postgres/stream_reader_test.cc): ReplicationStream (replication_stream.h:
// start, read a CopyData message, wait, send a status update) and RelationCatalog (pg_schema.h:
// a Relation message's schema). Time comes from a core::Clock.
//
// Lifecycle: Open() (START_REPLICATION) -> Poll()* -> destroy. Acknowledge() and Cancel() from
// any thread; everything else from the source thread.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "connectors/postgres/replication_stream.h"
#include "connectors/postgres/pg_schema.h"
#include "connectors/postgres/pg_types.h"
#include "connectors/postgres/pgoutput_decoder.h"
#include "core/clock.h"
#include "core/event.h"
#include "core/source.h"
#include "core/user_regex.h"

namespace spdlog {
class logger;
}

namespace sluice::pg {

struct StreamOptions {
  std::string slot;
  std::string publication;
  std::string database;
  int64_t status_interval_ms = 10000;
  int64_t idle_checkpoint_ms = 2000;
  // Logical decoding messages (pg_logical_emit_message): asked for with messages 'true' when
  // set (PostgreSQL 14+). A message is captured when its prefix fully matches none of
  // `message_prefix_exclude` and, if `message_prefix_include` is not empty, one of those
  // (Debezium's message.prefix.include.list / exclude.list; at most one of them is set).
  bool messages = false;
  std::vector<core::UserRegex> message_prefix_include;
  std::vector<core::UserRegex> message_prefix_exclude;
};

// Told about every transaction the reader meets, at its Begin, before any of its changes are
// appended (an incremental snapshot places its chunks there: connectors/postgres/
// incremental_snapshot.h). Called on the source thread, inside StreamReader::Poll.
class TransactionObserver {
 public:
  virtual ~TransactionObserver() = default;
  // Transaction `xid` (top-level, 32 bits) begins. `may_emit`: the observer may append events
  // to `batch` now, before the transaction's; false for a transaction that an earlier reader
  // handed over already, in whole or in part (it is being skipped). An error fails the Poll.
  virtual core::Status BeforeTransaction(uint32_t xid, bool may_emit, core::EventBatch& batch) = 0;
};

class StreamReader {
 public:
  struct Emitted {
    uint64_t done_final_lsn = 0;  // commit LSN of the last transaction handed over whole
    uint64_t open_final_lsn = 0;  // the transaction handed over in part (0: none)
    uint64_t open_messages = 0;   // its change messages (I/U/D/T) handed over
  };

  // `stream`: over a connected replication connection (possibly the one that created the
  // slot); `catalog`: describes Relation messages. `clock` must outlive the reader.
  StreamReader(std::unique_ptr<ReplicationStream> stream, std::unique_ptr<RelationCatalog> catalog,
               StreamOptions options, std::shared_ptr<spdlog::logger> logger,
               core::Clock* clock = &core::SteadyClock::Get());
  ~StreamReader();

  // START_REPLICATION from `start_lsn` (transactions committed before it are skipped).
  core::Status Open(uint64_t start_lsn);
  // Where the last transaction committed before the start ends (the source's "sequence" starts
  // with it until the first commit streamed); 0 when unknown. Call before the first Poll.
  void SetLastCommitLsn(uint64_t lsn) { last_commit_lsn_ = lsn; }
  // The slot's catalog_xmin (xmin.fetch.interval.ms) for the transactions that begin from now
  // on: TxnInfo::xmin, Debezium's source.xmin; 0: null.
  void SetSlotXmin(uint64_t xmin) { slot_xmin_ = xmin; }
  // Before Open(): what an earlier reader of this source handed over (see above).
  void SkipEmitted(const Emitted& emitted) { skip_ = emitted_ = progress_ = emitted; }
  // What this reader (and, before it, the readers it was told to skip for) handed over.
  const Emitted& emitted() const { return emitted_; }
  core::Result<core::PollStatus> Poll(core::EventBatch& batch, const core::PollLimits& limits);
  void Acknowledge(uint64_t lsn);
  void Cancel();
  // Not owned; null: none. Before Poll().
  void SetObserver(TransactionObserver* observer) { observer_ = observer; }
  // True when the last Poll ended between transactions (not inside one).
  bool between_transactions() const { return !in_txn_; }
  // The server's WAL end as its last keepalive reported it: every transaction that committed
  // before it has been received (and handled, when the last Poll read everything).
  uint64_t server_wal_end() const { return server_wal_end_; }
  // Sends a standby status update that asks the server for a keepalive at once (which reports
  // its current WAL end). The next Poll that receives a keepalive returns once it has read what
  // was there (kIdle when that was nothing), instead of waiting out its max_wait: the caller
  // is waiting for the WAL end (an incremental snapshot's chunk). Source thread, while not
  // polling.
  core::Status RequestKeepalive() {
    keepalive_wanted_ = true;
    return SendStatus(true, true);
  }
  // Sends a standby status update when one is due (the acknowledgement advanced, or
  // status.update.interval.ms passed), from the source thread while it is not polling; the
  // server's wal_sender_timeout counts from the last one.
  core::Status KeepAlive() { return SendStatus(false, false); }
  // Reports an acknowledged position the server has not been told yet, at once: called when the
  // source closes, so that a stopped connector's slot shows what its target committed (an
  // offset export then matches the slot). An error only means the slot lags; nothing is lost.
  core::Status ReportAcknowledged() {
    return acked_lsn_.load() > reported_lsn_ ? SendStatus(true, false) : core::Status::Ok();
  }

 private:
  core::Result<core::PollStatus> PollFrames(core::EventBatch& batch,
                                            const core::PollLimits& limits);
  core::Status Handle(const CopyDataFrame& frame, core::EventBatch& batch);
  // For a change message: true when an earlier reader handed it over already; else records it
  // as handed over (once this Poll succeeds).
  bool AlreadyEmitted();
  // `status` with the frame's WAL position and the slot appended, for the errors of handling a
  // message whose own text does not name them (rows and Relation messages).
  core::Status AtMessage(core::Status status, const CopyDataFrame& frame) const;
  core::Status HandleRow(core::EventBatch& batch, uint64_t lsn);
  // A Message ('M'): a transactional one among its transaction's changes, a non-transactional
  // one on its own (a TxnInfo of its own: no xid, the time it was received).
  void HandleLogicalMessage(core::EventBatch& batch);
  // Records the BEGIN (or COMMIT) of txn_, at message LSN `lsn`, for transaction metadata.
  void AddBoundary(core::EventBatch& batch, bool begin, uint64_t lsn);
  core::Status AppendTuple(core::EventBatch& batch, const RelationInfo& rel,
                           const std::vector<TupleValue>& tuple, bool key_only, uint32_t& row);
  uint32_t CurrentTxn(core::EventBatch& batch);
  core::Status SendStatus(bool force, bool reply_requested);
  core::Status WaitReadable(core::Clock::TimePoint deadline, bool& timed_out);

  std::unique_ptr<ReplicationStream> stream_;
  std::unique_ptr<RelationCatalog> catalog_;
  StreamOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  core::Clock* clock_;

  std::map<uint32_t, RelationInfo> relations_;
  PgoutputMessage msg_;
  core::TableSchemaPtr message_source_;  // LogicalMessage::source: the database, no table
  std::string scratch_;
  uint64_t start_lsn_ = 0;
  uint64_t received_lsn_ = 0;
  uint64_t server_wal_end_ = 0;
  bool keepalive_wanted_ = false;   // RequestKeepalive() asked for one that has not come yet
  bool keepalive_arrived_ = false;  // it came during this Poll
  uint64_t last_checkpoint_lsn_ = 0;
  uint64_t slot_xmin_ = 0;             // SetSlotXmin
  uint64_t last_commit_lsn_ = 0;       // XLogData start of the last Commit message (its end)
  uint32_t last_commit_txid_ = 0;      // of the last committed transaction, kept in idle
  int64_t last_commit_ts_usec_ = 0;    // checkpoints as Debezium's offsets keep txId/ts_usec
  std::atomic<uint64_t> acked_lsn_{0};
  uint64_t reported_lsn_ = 0;
  core::Clock::TimePoint last_status_{};
  core::Clock::TimePoint last_idle_checkpoint_{};
  bool commit_since_idle_checkpoint_ = true;  // the next idle checkpoint need not wait

  bool in_txn_ = false;
  bool skip_txn_ = false;
  Emitted skip_;      // what earlier readers handed over
  Emitted emitted_;   // as of the last successful Poll
  Emitted progress_;  // as of the frames handled so far (becomes emitted_ when Poll succeeds)
  uint64_t txn_final_lsn_ = 0;
  uint64_t txn_messages_ = 0;  // change messages of the current transaction seen so far
  core::TxnInfo txn_;
  bool txn_added_ = false;  // txn_ is in the batch being filled (at txn_index_)
  uint32_t txn_index_ = 0;
  std::atomic<bool> stop_{false};
  TransactionObserver* observer_ = nullptr;
};

}  // namespace sluice::pg
