// StreamReader: tails the binlog through a BinlogStream (binlog_stream.h: libmariadb's
// mariadb_rpl_* in production, a replayed capture in unit tests) and turns ROWS events into
// change events with our own BinlogDecoder (mariadb_rpl_extract_rows is not used: see
// ENVIRONMENT.md).
//
// The connection is registered as a replica with its own server id (database.server.id), with
// @master_binlog_checksum and @mariadb_slave_capability=4 set first, and a heartbeat period
// (heartbeat.interval.ms): an idle server sends a heartbeat after each quiet period, and the
// connection's read timeout is kMissedHeartbeats periods, so that a half-open connection
// (nothing arrives, not even a heartbeat) is reported as kUnavailable instead of blocking
// forever. Transactions: GTID (MariaDB) or BEGIN opens one, XID or COMMIT closes it (each also a
// core::TxnBoundary of the batch, with Debezium's id, core::BinlogTransactionId); the batch
// checkpoint is the position after the last closing event, never inside a transaction. ROTATE
// events switch files. DDL on captured tables (QUERY events) invalidates the cached schema,
// which is re-read from information_schema at the next TABLE_MAP (or rebuilt from the
// TABLE_MAP's own metadata when the server's current schema no longer matches an old event);
// TRUNCATE emits a truncate event. With include_schema_changes a table DDL on a captured table
// also adds a core::SchemaChange at its place among the batch's events (before the truncate a
// CREATE TABLE emits); the checkpoint after the DDL covers it, so a restart from an earlier
// position reads it again (at-least-once), and a reader told SkipEmitted() does not repeat it.
//
// Poll returns kHaveMore with events, kIdle when caught up (a heartbeat came, or the wait ran
// out with nothing to send). The deadline (PollLimits::max_wait) is checked after every event,
// so Poll returns in time however many non-captured events stream by; an idle server answers
// within one heartbeat period. A batch may carry only a checkpoint: the position after
// transactions that touched no captured table (at most one such batch per heartbeat period), so
// that the committed position advances on a server busy with other tables. A fetch that
// returns no event (end-of-stream packet, lost connection, a client-library replication error)
// is never taken for "idle": see FetchFailureStatus.
//
// Restarted in the same process (the pipeline reopens a failed stream from the last committed
// position while the batches read since are still on their way to the sink), a reader must not
// hand those over a second time: a keyless table would get its rows twice. `Emitted` is the
// binlog location of the last change-producing event (ROWS, a TRUNCATE/CREATE query, a table
// DDL published as a schema change) or transaction boundary (GTID/BEGIN, XID/COMMIT) that a
// successful Poll returned; a reader given it with SkipEmitted() reads that far without emitting
// (TABLE_MAPs, DDL and commits still count).
// A ROWS event is never split between batches.
//
// Lifecycle: Open() then Poll()*; Cancel() from any thread unblocks a blocked fetch.
// Thread-safety: the source thread only, except Cancel().
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "connectors/mysql/binlog_decoder.h"
#include "connectors/mysql/binlog_stream.h"
#include "connectors/mysql/mysql_connection.h"
#include "connectors/mysql/mysql_position.h"
#include "connectors/mysql/mysql_schema.h"
#include "core/clock.h"
#include "core/source.h"

namespace sluice::mysql {

class BinlogRetention;

struct StreamOptions {
  uint32_t server_id = 5400;
  int heartbeat_ms = 1000;
  ZeroDateMode zero_dates = ZeroDateMode::kFail;  // zero.date.handling.mode
  // include.query: give each row event its statement's SQL (ROWS_QUERY / ANNOTATE_ROWS events;
  // MariaDB sends the latter only when the dump asks for them).
  bool include_query = false;
  // include.schema.changes: a core::SchemaChange for each table DDL (CREATE/ALTER/DROP/RENAME
  // TABLE) naming a captured table, at the DDL's position, with the tables as information_schema
  // shows them when the DDL is read. Off here; the connector's config defaults it on.
  bool include_schema_changes = false;
  // include.schema.comments: the column and table comments in tableChanges.
  bool include_schema_comments = false;
};

// A connection that delivers nothing, not even a heartbeat, for this many heartbeat periods
// (and at least kMinReadTimeoutS seconds) counts as lost.
inline constexpr int kMissedHeartbeats = 4;
inline constexpr int kMinReadTimeoutS = 2;
// The read timeout (seconds) of the binlog connection for a heartbeat period.
int BinlogReadTimeoutSeconds(int heartbeat_ms);

// Pure: the status Poll reports for a fetch that returned no event at `at` (the last committed
// position). Never OK: a NULL fetch is never "idle".
//   kCancelled           Cancel() was called (the source is stopping);
//   kUnavailable         lost connection, read timeout (missed heartbeats), an end-of-stream
//                        packet (dump thread killed, server shutting down, another replica with
//                        the same server id): reconnect with backoff from the committed position;
//   kFailedPrecondition  the server cannot send the binlog from here (error 1236: purged,
//                        unknown file), an event type the client cannot read: tell the operator;
//   kDataLoss            a checksum the client library verified did not match.
// Every message names the binlog position.
core::Status FetchFailureStatus(const FetchFailure& failure, const BinlogLocation& at);

// Told about every transaction the reader meets, at its start (MariaDB's GTID event, or BEGIN),
// before any of its changes are appended: an incremental snapshot places its chunks there
// (connectors/mysql/incremental_placement.h). Called on the source thread, inside Poll.
class TransactionObserver {
 public:
  virtual ~TransactionObserver() = default;
  // A transaction starts at `start` (its first event). `may_emit`: the observer may append
  // events to `batch` now, before the transaction's; false for a transaction an earlier reader
  // handed over already, in whole or in part (it is being skipped). An error fails the Poll.
  virtual core::Status BeforeTransaction(const BinlogLocation& start, bool may_emit,
                                         core::EventBatch& batch) = 0;
};

class StreamReader {
 public:
  struct Emitted {
    std::string file;  // empty: nothing
    uint64_t pos = 0;
  };

  // Over the server: a MariadbBinlogStream and a MysqlBinlogCatalog.
  StreamReader(ConnectionParams params, const CaptureFilter* filter, StreamOptions options,
               std::shared_ptr<spdlog::logger> logger);
  // Over the given seams (unit tests: fakes replaying captured binlogs, a manual clock, which
  // is read once per event for Poll's deadline and the checkpoint-only rate).
  StreamReader(std::unique_ptr<BinlogStream> stream, std::unique_ptr<BinlogCatalog> catalog,
               const CaptureFilter* filter, StreamOptions options,
               std::shared_ptr<spdlog::logger> logger, core::Clock* clock);
  ~StreamReader();

  // Starts reading at `from` (the end of a committed transaction). kFailedPrecondition when the
  // binlog file is gone (purged) or replication privileges are missing.
  core::Status Open(const BinlogPosition& from);
  // Before Open(): what an earlier reader of this source handed over (see above).
  void SkipEmitted(const Emitted& emitted) { skip_ = emitted_ = progress_ = emitted; }
  const Emitted& emitted() const { return emitted_; }
  // Schema versions: a reader numbers the schemas it loads after `last` (before Open(): the
  // last version an earlier reader of this source gave, so that a version never names two
  // shapes of a table within one process; sinks reuse what they know for a version).
  void ContinueSchemaVersions(uint64_t last) { schema_version_ = std::max(schema_version_, last); }
  uint64_t schema_version() const { return schema_version_; }
  // Before Open(): where to report when each binlog file was last written (the ROTATE that
  // closes it, once per file; the newest event of the file being read, once per Poll), for the
  // retention guardrails (binlog_health.h). Not owned; may be null.
  void TrackRetention(BinlogRetention* retention) { retention_ = retention; }
  core::Result<core::PollStatus> Poll(core::EventBatch& batch, const core::PollLimits& limits);
  void Cancel();
  // Incremental snapshots (see TransactionObserver). Not owned; may be null.
  void SetObserver(TransactionObserver* observer) { observer_ = observer; }
  bool between_transactions() const { return !in_txn_; }
  // The end of the last committed transaction the stream read (a position to resume from).
  BinlogPosition committed() const;
  // The schema the stream gives table `id` (loaded now when it has none), so that snapshot rows
  // of an incremental snapshot share it; kNotFound when the table is gone.
  core::Result<std::shared_ptr<const LoadedTable>> CapturedSchema(const core::TableId& id) {
    return Schema(id);
  }
  // A schema version no other schema of this process has (for a schema loaded elsewhere).
  uint64_t TakeSchemaVersion() { return ++schema_version_; }
  // How far the stream has read: the end of the last event, or the server's binlog position a
  // heartbeat reported (the stream is caught up to it). The file view lives until the next Poll.
  BinlogLocation read_to() const { return {file_, read_to_}; }
  uint64_t events_decoded() const { return events_decoded_; }

 private:
  struct TableState {
    TableMap map;
    std::shared_ptr<const RowsPlan> plan;  // null: table not captured
  };
  core::Result<core::PollStatus> PollEvents(core::EventBatch& batch,
                                            const core::PollLimits& limits);
  // For a change-producing event at `at`: true when an earlier reader handed it over already;
  // else records it as handed over (once this Poll succeeds).
  bool AlreadyEmitted(const BinlogLocation& at);
  // A transaction starts at `start`: tells the observer, if any.
  core::Status NotifyObserver(const BinlogLocation& start, core::EventBatch& batch);
  core::Status HandleTableMap(std::string_view body, const BinlogLocation& at);
  core::Status HandleQuery(const EventHeader& h, std::string_view body, const BinlogLocation& at,
                           core::EventBatch& batch);
  // include.schema.changes: the tableChanges entry of captured table `id` after DDL `ddl`
  // (loaded now; nullopt when the table is gone and the DDL is no DROP), or an error to retry.
  core::Result<std::optional<core::SchemaChangeTable>> TableChange(const DdlInfo& ddl,
                                                                   const core::TableId& id,
                                                                   const BinlogLocation& at);
  uint32_t CurrentTxn(core::EventBatch& batch, const EventHeader& h, uint64_t event_pos);
  // Reports the BEGIN (GTID event or BEGIN query) or COMMIT (XID, COMMIT, the end of a DDL
  // group) of a transaction for Debezium's transaction metadata; a COMMIT only when its BEGIN was.
  void AddBoundary(core::EventBatch& batch, bool begin, const EventHeader& h,
                   const BinlogLocation& at);
  void Commit(core::EventBatch& batch, uint64_t next_pos);
  // Decides whether the batch's checkpoint is sent now (see the class comment) and returns
  // `status`.
  core::PollStatus Finish(core::EventBatch& batch, core::PollStatus status);
  core::Status FetchFailed();
  core::Result<std::shared_ptr<const LoadedTable>> Schema(const core::TableId& id);

  std::unique_ptr<BinlogStream> stream_;    // the replication connection
  std::unique_ptr<BinlogCatalog> catalog_;  // information_schema lookups
  const CaptureFilter* filter_;
  StreamOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  core::Clock* clock_;
  bool checksum_ = true;
  std::atomic<bool> cancelled_{false};
  int read_timeout_s_ = 0;
  std::chrono::steady_clock::time_point last_event_at_{};
  // A checkpoint held back from a checkpoint-only batch, and when one was last sent.
  core::SourcePosition pending_checkpoint_;
  std::chrono::steady_clock::time_point last_checkpoint_only_at_{};

  Emitted skip_;      // what earlier readers handed over
  Emitted emitted_;   // as of the last successful Poll
  Emitted progress_;  // as of the events handled so far

  std::string file_;
  uint64_t pos_ = 0;
  std::map<uint32_t, std::pair<uint32_t, uint64_t>> gtid_state_;  // domain -> (server, seq)
  std::string gtid_;        // GTID of the open transaction
  bool in_txn_ = false;
  uint64_t txn_pos_ = 0;
  int64_t txn_ts_ms_ = 0;
  uint32_t txn_server_id_ = 0;  // of the event that opened the transaction
  int64_t txn_thread_ = -1;     // of its BEGIN (or DDL) query event; -1: none (MariaDB GTID)
  uint32_t txn_index_ = UINT32_MAX;  // index in the current batch, or UINT32_MAX
  bool boundary_open_ = false;       // a BEGIN boundary was reported, its COMMIT not yet
  bool standalone_group_ = false;    // the open transaction came from a standalone GTID (DDL)
  std::map<uint64_t, TableState> tables_;  // by table_id
  std::map<core::TableId, std::shared_ptr<const LoadedTable>> schemas_;
  uint64_t schema_version_ = 1;
  DecodeStats stats_;
  uint64_t zero_dates_warned_ = 0;
  uint64_t events_decoded_ = 0;
  BinlogRetention* retention_ = nullptr;
  int64_t file_last_event_unix_s_ = 0;  // newest event timestamp read from file_
  TransactionObserver* observer_ = nullptr;
  uint64_t read_to_ = 0;  // in file_, see read_to()
  // include.query: the SQL of the statement whose ROWS events follow (empty: none), and its
  // EventBatch::AddQuery index in the current batch (kNoQuery: not added to it yet). One copy
  // per statement and batch, shared by its rows.
  std::string statement_query_;
  uint32_t statement_query_index_ = core::kNoQuery;
};

}  // namespace sluice::mysql
