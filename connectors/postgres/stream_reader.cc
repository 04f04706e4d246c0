#include "connectors/postgres/stream_reader.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "connectors/postgres/pg_position.h"

namespace sluice::pg {
namespace {

constexpr std::chrono::milliseconds kAckReportDelay{50};

// Wakeups while a backlog streams in. The walsender sends every pgoutput message on its own
// (a few hundred bytes); a reader that sleeps in poll() after each read is woken for each, and
// every such wakeup costs the walsender a cross-CPU wakeup — on a small machine most of the
// walsender's time, which bounds the whole stream. In bulk mode the socket's SO_RCVLOWAT makes
// the kernel wake the reader only once kBulkLowat bytes are queued, or at the latest after
// kBulkWait (poll timeout, then whatever is there is read). A wait that brings nothing means
// the stream is idle: the threshold goes back to one byte, so the next change wakes the reader
// at once. Added latency: at most kBulkWait, only while data is flowing.
constexpr int kBulkLowat = 64 * 1024;
constexpr int kBulkWaitMs = 2;

using Clock = std::chrono::steady_clock;

int64_t UnixMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

StreamReader::StreamReader(std::unique_ptr<PgConnection> repl, ConnectionParams catalog_params,
                           StreamOptions options, const core::TableFilter* filter,
                           SchemaCache* schemas, std::shared_ptr<spdlog::logger> logger)
    : repl_(std::move(repl)),
      catalog_params_(std::move(catalog_params)),
      options_(std::move(options)),
      filter_(filter),
      schemas_(schemas),
      logger_(std::move(logger)) {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

StreamReader::~StreamReader() {
  if (wake_fd_ >= 0) close(wake_fd_);
}

core::Status StreamReader::Open(uint64_t start_lsn) {
  start_lsn_ = start_lsn;
  last_checkpoint_lsn_ = start_lsn;
  received_lsn_ = start_lsn;
  reported_lsn_ = 0;
  acked_lsn_.store(start_lsn);
  SLUICE_RETURN_IF_ERROR(catalog_.Connect(catalog_params_, false));
  std::string sql = "START_REPLICATION SLOT " + QuoteIdent(options_.slot) + " LOGICAL " +
                    LsnToString(start_lsn) + " (proto_version '1', publication_names " +
                    QuoteReplicationLiteral(QuoteIdent(options_.publication)) + ")";
  PgResultPtr res(PQexec(repl_->raw(), sql.c_str()));
  if (PQresultStatus(res.get()) != PGRES_COPY_BOTH) {
    core::Status st = StatusFromPg(repl_->raw(), res.get(),
                                   "postgres START_REPLICATION on slot " + options_.slot);
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
  last_status_ = Clock::now();
  last_idle_checkpoint_ = Clock::now();
  return core::Status::Ok();
}

void StreamReader::Acknowledge(uint64_t lsn) {
  uint64_t cur = acked_lsn_.load();
  while (lsn > cur && !acked_lsn_.compare_exchange_weak(cur, lsn)) {
  }
  // Wake a reader waiting for data, so that it reports the position (SendStatus).
  if (lsn > cur && wake_fd_ >= 0) {
    uint64_t one = 1;
    ssize_t ignored = write(wake_fd_, &one, sizeof(one));
    (void)ignored;
  }
}

void StreamReader::Cancel() {
  stop_.store(true);
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    ssize_t ignored = write(wake_fd_, &one, sizeof(one));
    (void)ignored;
  }
}

core::Status StreamReader::SendStatus(bool force, bool reply_requested) {
  auto now = Clock::now();
  uint64_t acked = acked_lsn_.load();
  auto since = now - last_status_;
  // A newly acknowledged position goes out within kAckReportDelay: the server can then advance
  // the slot (and recycle WAL) at once, and a caught-up connector is seen as caught up.
  bool due = force || since >= std::chrono::milliseconds(options_.status_interval_ms) ||
             (acked > reported_lsn_ && since >= kAckReportDelay);
  if (!due) return core::Status::Ok();
  uint64_t write_lsn = std::max(received_lsn_, acked);
  std::string msg = EncodeStandbyStatus(write_lsn, acked, acked, UnixMicros(), reply_requested);
  if (PQputCopyData(repl_->raw(), msg.data(), static_cast<int>(msg.size())) != 1 ||
      PQflush(repl_->raw()) != 0) {
    return core::UnavailableError("postgres standby status update on slot " + options_.slot +
                                  ": " + repl_->LastError());
  }
  reported_lsn_ = acked;
  last_status_ = now;
  return core::Status::Ok();
}

core::Status StreamReader::WaitReadable(Clock::time_point deadline, bool& timed_out) {
  timed_out = false;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  // Wake in time to send due status updates: soon when an acknowledgement is waiting.
  int64_t wake_ms = acked_lsn_.load() > reported_lsn_
                        ? std::chrono::duration_cast<std::chrono::milliseconds>(kAckReportDelay).count()
                        : 1000;
  int timeout = static_cast<int>(std::clamp<int64_t>(left.count(), 0, wake_ms));
  if (bulk_) timeout = std::min(timeout, kBulkWaitMs);
  int fd = PQsocket(repl_->raw());
  pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  int r = ::poll(fds, 2, timeout);
  if (r < 0 && errno != EINTR) {
    return core::UnavailableError("postgres replication connection: poll failed");
  }
  if (r == 0 && Clock::now() >= deadline) timed_out = true;
  if (fds[1].revents & POLLIN) {  // an acknowledgement (or a stop): drain the eventfd
    uint64_t count = 0;
    ssize_t ignored = read(wake_fd_, &count, sizeof(count));
    (void)ignored;
  }
  int queued = 0;
  if (ioctl(fd, FIONREAD, &queued) != 0) queued = 0;
  if (queued > 0 && !bulk_) {
    SetBulk(true);
  } else if (queued == 0 && bulk_ && !fds[0].revents) {
    SetBulk(false);  // a wait without data: idle
  }
  if (fds[0].revents || queued > 0) {
    if (PQconsumeInput(repl_->raw()) != 1) {
      return core::UnavailableError("postgres replication connection of slot " + options_.slot +
                                    " lost: " + repl_->LastError());
    }
  }
  return core::Status::Ok();
}

void StreamReader::SetBulk(bool on) {
  int lowat = on ? kBulkLowat : 1;
  if (setsockopt(PQsocket(repl_->raw()), SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof(lowat)) == 0) {
    bulk_ = on;
  }
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
  auto deadline = Clock::now() + limits.max_wait;
  while (!stop_.load()) {
    SLUICE_RETURN_IF_ERROR(SendStatus(false, false));
    char* buf = nullptr;
    int n = PQgetCopyData(repl_->raw(), &buf, 1);
    if (n > 0) {
      std::unique_ptr<char, void (*)(void*)> hold(buf, PQfreemem);
      CopyDataFrame frame;
      SLUICE_RETURN_IF_ERROR(DecodeCopyData(std::string_view(buf, n), frame));
      SLUICE_RETURN_IF_ERROR(Handle(frame, batch));
      if (batch.size() >= limits.max_events || batch.ByteSize() >= limits.max_bytes) {
        return core::PollStatus::kHaveMore;
      }
      continue;
    }
    if (n == 0) {
      if (!batch.empty() || !batch.checkpoint().empty()) return core::PollStatus::kHaveMore;
      auto now = Clock::now();
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
        batch.set_checkpoint(pos.ToSource());
        return core::PollStatus::kIdle;
      }
      bool timed_out = false;
      SLUICE_RETURN_IF_ERROR(WaitReadable(deadline, timed_out));
      if (timed_out) return core::PollStatus::kIdle;
      continue;
    }
    if (n == -1) {
      PgResultPtr res(PQgetResult(repl_->raw()));
      return core::UnavailableError("postgres replication stream of slot " + options_.slot +
                                    " ended: " + repl_->LastError());
    }
    return core::UnavailableError("postgres replication connection of slot " + options_.slot +
                                  " lost: " + repl_->LastError());
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

core::Status StreamReader::Handle(const CopyDataFrame& frame, core::EventBatch& batch) {
  if (frame.kind == 'k') {
    server_wal_end_ = std::max(server_wal_end_, frame.wal_end);
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
      txn_.ts_ms = (msg_.commit_time_us + kPgEpochUnixMicros) / 1000;
      txn_.txid = msg_.xid;
      txn_.lsn = msg_.final_lsn;
      txn_added_ = false;
      return core::Status::Ok();
    case 'C': {
      in_txn_ = false;
      skip_txn_ = false;
      txn_added_ = false;
      progress_.done_final_lsn = std::max(progress_.done_final_lsn, txn_final_lsn_);
      progress_.open_final_lsn = 0;
      progress_.open_messages = 0;
      PgPosition pos;
      pos.lsn = msg_.end_lsn;
      pos.slot = options_.slot;
      last_checkpoint_lsn_ = std::max(last_checkpoint_lsn_, msg_.end_lsn);
      commit_since_idle_checkpoint_ = true;
      received_lsn_ = std::max(received_lsn_, msg_.end_lsn);
      batch.set_checkpoint(pos.ToSource());
      return core::Status::Ok();
    }
    case 'R': {
      auto relation =
          RelationFromMessage(catalog_, types_, msg_, options_.database, *filter_, *schemas_);
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
      types_.Clear();  // a type was (re)defined; look it up again
      return core::Status::Ok();
    case 'I':
    case 'U':
    case 'D':
      if (skip_txn_ || AlreadyEmitted()) return core::Status::Ok();
      return AtMessage(HandleRow(batch), frame);
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
        batch.AddEvent({core::Op::kTruncate, core::kNoRow, core::kNoRow, CurrentTxn(batch),
                        it->second.schema});
      }
      return core::Status::Ok();
    }
    default:
      return core::Status::Ok();  // Origin, Message
  }
}

core::Status StreamReader::HandleRow(core::EventBatch& batch) {
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
  batch.AddEvent({op, before, after, CurrentTxn(batch), rel.schema});
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
