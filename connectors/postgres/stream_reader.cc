#include "connectors/postgres/stream_reader.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "connectors/postgres/pg_position.h"

namespace sluice::pg {
namespace {

constexpr std::chrono::milliseconds kAckReportDelay{50};

}  // namespace

StreamReader::StreamReader(std::unique_ptr<ReplicationStream> stream,
                           std::unique_ptr<RelationCatalog> catalog, StreamOptions options,
                           std::shared_ptr<spdlog::logger> logger, core::Clock* clock)
    : stream_(std::move(stream)),
      catalog_(std::move(catalog)),
      options_(std::move(options)),
      logger_(std::move(logger)),
      clock_(clock) {
  auto source = std::make_shared<core::TableSchema>();
  source->database = options_.database;
  message_source_ = std::move(source);
}

StreamReader::~StreamReader() = default;

core::Status StreamReader::Open(uint64_t start_lsn) {
  start_lsn_ = start_lsn;
  last_checkpoint_lsn_ = start_lsn;
  received_lsn_ = start_lsn;
  reported_lsn_ = 0;
  acked_lsn_.store(start_lsn);
  SLUICE_RETURN_IF_ERROR(catalog_->Open());
  std::string sql = "START_REPLICATION SLOT " + QuoteIdent(options_.slot) + " LOGICAL " +
                    LsnToString(start_lsn) + " (proto_version '1', publication_names " +
                    QuoteReplicationLiteral(QuoteIdent(options_.publication)) +
                    (options_.messages ? ", messages 'true')" : ")");
  if (core::Status st = stream_->Start(sql); !st.ok()) {
    std::string msg = st.message();
    if (msg.find("does not exist") != std::string::npos && msg.find("publication") != std::string::npos) {
      return core::FailedPreconditionError(msg + "; create the publication or set "
                                           "publication.autocreate.mode");
    }
    if (msg.find("is active") != std::string::npos) {
      return core::UnavailableError(msg + " (another client is using the slot)");
    }
    if (msg.find("invalidated") != std::string::npos || msg.find("can no longer") != std::string::npos) {
      return core::FailedPreconditionError(
          msg + "; the slot lost required WAL (max_slot_wal_keep_size): drop it and take a new "
                "snapshot (snapshot.mode=when_needed does this)");
    }
    return st;
  }
  logger_->info("postgres streaming from slot {} at {}", options_.slot, LsnToString(start_lsn));
  last_status_ = clock_->Now();
  last_idle_checkpoint_ = last_status_;
  return core::Status::Ok();
}

void StreamReader::Acknowledge(uint64_t lsn) {
  uint64_t cur = acked_lsn_.load();
  while (lsn > cur && !acked_lsn_.compare_exchange_weak(cur, lsn)) {
  }
  // Wake a reader waiting for data, so that it reports the position (SendStatus).
  if (lsn > cur) stream_->Wake();
}

void StreamReader::Cancel() {
  stop_.store(true);
  stream_->Wake();
}

core::Status StreamReader::SendStatus(bool force, bool reply_requested) {
  auto now = clock_->Now();
  uint64_t acked = acked_lsn_.load();
  auto since = now - last_status_;
  // A newly acknowledged position goes out within kAckReportDelay while a backlog streams in
  // (one update per 50 ms, not one per sink flush), and at once when it covers everything
  // received: the stream has caught up, and whoever waits for the slot to confirm it (the
  // server recycling WAL, an operator or benchmark watching confirmed_flush_lsn) should not
  // wait up to 50 ms more — a catch-up of 20k pgbench transactions takes well under a second.
  const bool acked_new = acked > reported_lsn_;
  bool due = force || since >= std::chrono::milliseconds(options_.status_interval_ms) ||
             (acked_new && (since >= kAckReportDelay || acked >= received_lsn_));
  if (!due) return core::Status::Ok();
  uint64_t write_lsn = std::max(received_lsn_, acked);
  const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             clock_->WallNow().time_since_epoch())
                             .count();
  SLUICE_RETURN_IF_ERROR(
      stream_->Send(EncodeStandbyStatus(write_lsn, acked, acked, now_us, reply_requested)));
  reported_lsn_ = acked;
  last_status_ = now;
  return core::Status::Ok();
}

core::Status StreamReader::WaitReadable(core::Clock::TimePoint deadline, bool& timed_out) {
  timed_out = false;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_->Now());
  // Wake in time to send due status updates: soon when an acknowledgement is waiting.
  int64_t wake_ms = acked_lsn_.load() > reported_lsn_ ? kAckReportDelay.count() : 1000;
  SLUICE_ASSIGN_OR_RETURN(
      bool woke,
      stream_->Wait(std::chrono::milliseconds(std::clamp<int64_t>(left.count(), 0, wake_ms))));
  if (!woke && clock_->Now() >= deadline) timed_out = true;
  return core::Status::Ok();
}

core::Result<core::PollStatus> StreamReader::Poll(core::EventBatch& batch,
                                                  const core::PollLimits& limits) {
  // The pipeline drops the batch of a failed Poll: only a successful one hands events over.
  auto result = PollFrames(batch, limits);
  if (result.ok()) emitted_ = progress_;
  return result;
}

bool StreamReader::AlreadyEmitted() {
  ++txn_messages_;
  if (txn_final_lsn_ <= skip_.done_final_lsn) return true;
  if (txn_final_lsn_ == skip_.open_final_lsn && txn_messages_ <= skip_.open_messages) return true;
  progress_.open_final_lsn = txn_final_lsn_;
  progress_.open_messages = txn_messages_;
  return false;
}

core::Result<core::PollStatus> StreamReader::PollFrames(core::EventBatch& batch,
                                                        const core::PollLimits& limits) {
  txn_added_ = false;
  keepalive_arrived_ = false;
  auto deadline = clock_->Now() + limits.max_wait;
  while (!stop_.load()) {
    SLUICE_RETURN_IF_ERROR(SendStatus(false, false));
    std::string_view bytes;
    SLUICE_ASSIGN_OR_RETURN(bool got, stream_->TryRead(bytes));
    if (got) {
      CopyDataFrame frame;
      SLUICE_RETURN_IF_ERROR(DecodeCopyData(bytes, frame));
      SLUICE_RETURN_IF_ERROR(Handle(frame, batch));
      if (batch.size() >= limits.max_events || batch.ByteSize() >= limits.max_bytes) {
        return core::PollStatus::kHaveMore;
      }
      continue;
    }
    // Nothing more is buffered. Inside a transaction its commit is on the way (kHaveMore).
    // Between transactions, when nothing more comes within core::kCaughtUpProbe, the stream has
    // caught up (kIdle), which lets the pipeline flush now instead of waiting for a quiet gap
    // that a steady trickle never leaves; when more comes, it was a pause in a backlog, and the
    // batch goes on filling. The pipeline's floor (sink.batch.idle.ms between caught-up
    // flushes, and nothing queued behind) bounds what a longer pause costs.
    if (!batch.empty() || !batch.checkpoint().empty()) {
      if (in_txn_) return core::PollStatus::kHaveMore;
      SLUICE_ASSIGN_OR_RETURN(bool woke, stream_->Wait(core::kCaughtUpProbe));
      if (!woke || stop_.load()) return core::PollStatus::kIdle;
      continue;
    }
    auto now = clock_->Now();
    if (!in_txn_ && server_wal_end_ > last_checkpoint_lsn_ &&
        (commit_since_idle_checkpoint_ ||
         now - last_idle_checkpoint_ >= std::chrono::milliseconds(options_.idle_checkpoint_ms))) {
      // Nothing in flight and every transaction committed before the keepalive's WAL end has
      // been received: confirming that position loses nothing (pg_recvlogical does the same).
      last_checkpoint_lsn_ = server_wal_end_;
      last_idle_checkpoint_ = now;
      commit_since_idle_checkpoint_ = false;
      PgPosition pos;
      pos.lsn = server_wal_end_;
      pos.slot = options_.slot;
      pos.txid = last_commit_txid_;
      pos.ts_usec = last_commit_ts_usec_;
      batch.set_checkpoint(pos.ToSource());
      return core::PollStatus::kIdle;
    }
    // The keepalive the caller asked for came and nothing else is there: its WAL end is what
    // the caller waits for.
    if (keepalive_arrived_) return core::PollStatus::kIdle;
    bool timed_out = false;
    SLUICE_RETURN_IF_ERROR(WaitReadable(deadline, timed_out));
    if (timed_out) return core::PollStatus::kIdle;
  }
  return core::PollStatus::kIdle;
}

core::Status StreamReader::AtMessage(core::Status status, const CopyDataFrame& frame) const {
  if (status.ok()) return status;
  return {status.code(), status.message() + " (message at lsn " + LsnToString(frame.wal_start) +
                             ", slot " + options_.slot + ")"};
}

uint32_t StreamReader::CurrentTxn(core::EventBatch& batch) {
  if (!txn_added_) {
    txn_index_ = batch.AddTxn(txn_);
    txn_added_ = true;
  }
  return txn_index_;
}

void StreamReader::AddBoundary(core::EventBatch& batch, bool begin, uint64_t lsn) {
  batch.AddBoundary({static_cast<uint32_t>(batch.size()), begin, txn_.txid, lsn, txn_.ts_ms});
}

core::Status StreamReader::Handle(const CopyDataFrame& frame, core::EventBatch& batch) {
  if (frame.kind == 'k') {
    server_wal_end_ = std::max(server_wal_end_, frame.wal_end);
    if (keepalive_wanted_) {
      keepalive_wanted_ = false;
      keepalive_arrived_ = true;
    }
    if (frame.reply_requested) return SendStatus(true, false);
    return core::Status::Ok();
  }
  received_lsn_ = std::max(received_lsn_, frame.wal_start);
  SLUICE_RETURN_IF_ERROR(DecodePgoutput(frame.payload, frame.wal_start, msg_));
  switch (msg_.type) {
    case 'B':
      in_txn_ = true;
      skip_txn_ = msg_.final_lsn < start_lsn_;
      txn_final_lsn_ = msg_.final_lsn;
      txn_messages_ = 0;
      txn_ = core::TxnInfo{};
      txn_.ts_us = msg_.commit_time_us + kPgEpochUnixMicros;
      txn_.ts_ms = txn_.ts_us / 1000;
      txn_.txid = msg_.xid;
      txn_.lsn = msg_.final_lsn;
      txn_.last_commit_lsn = last_commit_lsn_;
      txn_.xmin = slot_xmin_;
      txn_added_ = false;
      if (observer_) {
        bool handed_over = txn_final_lsn_ <= skip_.done_final_lsn ||
                           txn_final_lsn_ == skip_.open_final_lsn;
        // A held incremental-snapshot chunk goes in before this transaction's BEGIN boundary.
        SLUICE_RETURN_IF_ERROR(
            observer_->BeforeTransaction(msg_.xid, !skip_txn_ && !handed_over, batch));
      }
      if (!skip_txn_) AddBoundary(batch, true, frame.wal_start);
      return core::Status::Ok();
    case 'C': {
      if (!skip_txn_) AddBoundary(batch, false, frame.wal_start);
      // Debezium's lsn_commit: the Commit message's XLogData start, where its record ends.
      last_commit_lsn_ = frame.wal_start;
      in_txn_ = false;
      skip_txn_ = false;
      txn_added_ = false;
      progress_.done_final_lsn = std::max(progress_.done_final_lsn, txn_final_lsn_);
      progress_.open_final_lsn = 0;
      progress_.open_messages = 0;
      PgPosition pos;
      pos.lsn = msg_.end_lsn;
      pos.slot = options_.slot;
      pos.txid = last_commit_txid_ = static_cast<uint32_t>(txn_.txid);
      pos.ts_usec = last_commit_ts_usec_ = msg_.commit_time_us + kPgEpochUnixMicros;
      last_checkpoint_lsn_ = std::max(last_checkpoint_lsn_, msg_.end_lsn);
      commit_since_idle_checkpoint_ = true;
      received_lsn_ = std::max(received_lsn_, msg_.end_lsn);
      batch.set_checkpoint(pos.ToSource());
      return core::Status::Ok();
    }
    case 'R': {
      auto relation = catalog_->Describe(msg_);
      if (!relation.ok()) return AtMessage(relation.status(), frame);
      RelationInfo info = std::move(*relation);
      auto it = relations_.find(msg_.relid);
      if (info.captured && (it == relations_.end() || it->second.schema != info.schema)) {
        logger_->info("postgres relation {} (version {}): {} columns", info.schema->id.ToString(),
                      info.schema->version, info.schema->columns.size());
      }
      relations_[msg_.relid] = std::move(info);
      return core::Status::Ok();
    }
    case 'Y':
      catalog_->TypesChanged();  // a type was (re)defined; look it up again
      return core::Status::Ok();
    case 'I':
    case 'U':
    case 'D':
      if (skip_txn_ || AlreadyEmitted()) return core::Status::Ok();
      return AtMessage(HandleRow(batch, frame.wal_start), frame);
    case 'T': {
      if (skip_txn_ || AlreadyEmitted()) return core::Status::Ok();
      for (uint32_t relid : msg_.relids) {
        auto it = relations_.find(relid);
        if (it == relations_.end()) {
          return core::DataLossError("pgoutput Truncate at lsn " + LsnToString(frame.wal_start) +
                                     " names relation " + std::to_string(relid) +
                                     " without a Relation message");
        }
        if (!it->second.captured) continue;
        batch.AddEvent({.op = core::Op::kTruncate, .txn = CurrentTxn(batch),
                        .table = it->second.schema, .lsn = frame.wal_start});
      }
      return core::Status::Ok();
    }
    case 'M':
      if (msg_.message_transactional && (skip_txn_ || AlreadyEmitted())) return core::Status::Ok();
      HandleLogicalMessage(batch);
      return core::Status::Ok();
    default:
      return core::Status::Ok();  // Origin
  }
}

void StreamReader::HandleLogicalMessage(core::EventBatch& batch) {
  const std::string& prefix = msg_.message_prefix;
  if (core::AnyFullMatch(options_.message_prefix_exclude, prefix)) return;
  if (!options_.message_prefix_include.empty() &&
      !core::AnyFullMatch(options_.message_prefix_include, prefix)) {
    return;
  }
  core::LogicalMessage m{.event_index = static_cast<uint32_t>(batch.size()),
                         .transactional = msg_.message_transactional,
                         .lsn = msg_.message_lsn,
                         .source = message_source_};
  if (m.transactional && in_txn_) {
    m.txn = CurrentTxn(batch);
  } else {
    core::TxnInfo info;
    info.ts_us = std::chrono::duration_cast<std::chrono::microseconds>(
                     clock_->WallNow().time_since_epoch())
                     .count();
    info.ts_ms = info.ts_us / 1000;
    info.lsn = msg_.message_lsn;
    info.last_commit_lsn = last_commit_lsn_;
    info.xmin = slot_xmin_;
    m.txn = batch.AddTxn(info);
    // The transaction's own TxnInfo, if already in the batch, stays the current one.
  }
  batch.AddLogicalMessage(m, prefix, msg_.message_content);
}

core::Status StreamReader::HandleRow(core::EventBatch& batch, uint64_t lsn) {
  auto it = relations_.find(msg_.relid);
  if (it == relations_.end()) {
    return core::DataLossError("pgoutput change for relation " + std::to_string(msg_.relid) +
                               " without a Relation message (malformed replication data)");
  }
  const RelationInfo& rel = it->second;
  if (!rel.captured) return core::Status::Ok();
  uint32_t before = core::kNoRow, after = core::kNoRow;
  if (msg_.old_kind != 0) {
    SLUICE_RETURN_IF_ERROR(AppendTuple(batch, rel, msg_.old_tuple, msg_.old_kind == 'K', before));
  }
  if (msg_.has_new) {
    SLUICE_RETURN_IF_ERROR(AppendTuple(batch, rel, msg_.new_tuple, false, after));
  }
  core::Op op = msg_.type == 'I' ? core::Op::kCreate
                : msg_.type == 'U' ? core::Op::kUpdate
                                   : core::Op::kDelete;
  batch.AddEvent(
      {.op = op, .before = before, .after = after, .txn = CurrentTxn(batch), .table = rel.schema, .lsn = lsn});
  return core::Status::Ok();
}

core::Status StreamReader::AppendTuple(core::EventBatch& batch, const RelationInfo& rel,
                                       const std::vector<TupleValue>& tuple, bool key_only,
                                       uint32_t& row) {
  if (tuple.size() != rel.column_of.size()) {
    return core::DataLossError("pgoutput tuple of " + rel.schema->id.ToString() + " has " +
                               std::to_string(tuple.size()) + " columns, its Relation message " +
                               std::to_string(rel.column_of.size()));
  }
  row = batch.BeginRow();
  for (size_t i = 0; i < tuple.size(); ++i) {
    int idx = rel.column_of[i];
    if (idx < 0) continue;
    const TupleValue& v = tuple[i];
    switch (v.kind) {
      case 'n':
        if (key_only && !rel.source_key[i]) {
          batch.AppendUnchanged();  // not part of the replica identity: not sent
        } else {
          batch.AppendNull();
        }
        break;
      case 'u':
        batch.AppendUnchanged();
        break;
      case 't':
        if (!AppendCanonical(batch, rel.codecs[idx], v.data, scratch_)) {
          batch.AbandonRow();
          const core::Column& c = rel.schema->columns[idx];
          return core::DataLossError("pgoutput value of " + rel.schema->id.ToString() + "." +
                                     c.name + " (" + c.source_type + ") is malformed");
        }
        break;
      default:
        batch.AbandonRow();
        return core::DataLossError("pgoutput binary value in " + rel.schema->id.ToString() +
                                   " (binary mode is not requested)");
    }
  }
  batch.EndRow();
  return core::Status::Ok();
}

}  // namespace sluice::pg
