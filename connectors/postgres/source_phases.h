// The PostgreSQL source's phases and the moves between them, apart from the I/O behind each move,
// so that the moves are unit-tested without a server (tests/connectors/postgres/
// source_phases_test.cc):
//
//   Begin(decision)  kAnnounceSnapshot -> announcing: Poll emits an empty batch checkpointed with a
//                                         "snapshot running" position, then waits (up to 30 s)
//                                         until it is acknowledged (durable) -> snapshotting
//                    kSnapshotNow      -> snapshotting (the slot is created now)
//                    kStream           -> streaming from the stored LSN on the existing slot
//                    kStreamNewSlot    -> streaming from a slot created now without a snapshot
//   snapshotting     rows until the snapshot is read; then, for snapshot.mode=initial_only,
//                    finished; otherwise a batch checkpointed at the consistent point, and the
//                    stream opens there on the snapshot's exporting connection -> streaming
//   streaming        PhaseIo::PollStream
//
// Ownership: SourcePhases owns the phase, the snapshot's rows and its consistent LSN
// (core::SnapshotInProgress); the stream reader, the slot and every connection belong to the
// PhaseIo (PostgresSource), which it calls and never outlives.
//
// Thread-safety: the source thread, except AnnouncementAcknowledged() and Cancel(), which may be
// called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "connectors/postgres/start_decision.h"
#include "core/snapshot_phase.h"
#include "core/source.h"
#include "core/status.h"

namespace spdlog {
class logger;
}

namespace sluice::pg {

// The rows of an initial snapshot (SnapshotReader on a server): the skeleton both sources share.
using SnapshotRows = core::SnapshotRows;

// Where a stream starts.
enum class StreamFrom {
  kStoredPosition,  // the existing slot, at `lsn` (the stored position's, or the slot's)
  kNewSlot,         // a slot created now without a snapshot, at its consistent point
  kSnapshotEnd,     // the snapshot's consistent point, on the connection that exported it
};

// The I/O behind the moves. Each call blocks on the server; errors are returned as they are to
// the pipeline, which restarts the source for kUnavailable.
class PhaseIo {
 public:
  virtual ~PhaseIo() = default;

  // The rows, and the consistent LSN where the stream continues once they are read.
  using OpenedSnapshot = core::OpenedSnapshot<uint64_t>;

  // The replication slot's name, for the checkpoints.
  virtual std::string slot() const = 0;
  // Makes sure the publication exists, before an announcement writes anything.
  virtual core::Status PreparePublication() = 0;
  // Creates the slot with an exported snapshot (a temporary one for initial_only) and opens the
  // reader of its rows; `restarted`: the rows start with a truncate of each table.
  virtual core::Result<OpenedSnapshot> OpenSnapshot(bool restarted) = 0;
  // Ok while the slot the snapshot lines up with is usable; otherwise the error to return.
  virtual core::Status SnapshotSlotHealthy() = 0;
  // snapshot.mode=initial_only read every row: releases the snapshot's temporary slot.
  virtual void SnapshotOnlyFinished() = 0;
  // Opens the stream. `last_commit_lsn`: where the transaction before `lsn` ends, 0 when unknown.
  virtual core::Status OpenStream(StreamFrom from, uint64_t lsn, uint64_t last_commit_lsn) = 0;
  // One Poll of the open stream.
  virtual core::Result<core::PollStatus> PollStream(core::EventBatch& batch,
                                                    const core::PollLimits& limits) = 0;
};

class SourcePhases {
 public:
  // `io` and `stop` outlive this; `stop` set makes Poll return kIdle.
  SourcePhases(PhaseIo* io, const std::atomic<bool>* stop, std::shared_ptr<spdlog::logger> logger);

  // Carries out Start()'s decision. `resumed`: the source started from a stored position.
  core::Status Begin(const StartDecision& decision, bool resumed, bool initial_only);
  // kFinished once an initial_only snapshot is read; kIdle while stopping.
  core::Result<core::PollStatus> Poll(core::EventBatch& batch, const core::PollLimits& limits);
  // The pipeline acknowledged the announcement's "snapshot running" position.
  void AnnouncementAcknowledged() { announce_acked_.store(true); }
  // A blocked snapshot read returns soon.
  void Cancel() { snapshot_.Cancel(); }
  // Cancels and drops the snapshot's rows; the phase is forgotten (Begin starts afresh).
  void Close();

 private:
  enum class Announce { kNone, kPending, kSent };

  core::Status BeginSnapshot(bool restarted);
  // True when the snapshot is now open; false with the announcing checkpoint in `batch`, or an
  // empty batch while the acknowledgement is awaited.
  core::Result<bool> PollAnnounce(core::EventBatch& batch, const core::PollLimits& limits);

  PhaseIo* io_;
  const std::atomic<bool>* stop_;
  std::shared_ptr<spdlog::logger> logger_;
  bool initial_only_ = false;
  bool finished_ = false;
  Announce announce_ = Announce::kNone;
  bool announce_restarted_ = false;
  std::atomic<bool> announce_acked_{false};
  std::chrono::steady_clock::time_point announce_started_{};
  core::SnapshotInProgress<uint64_t> snapshot_;  // the rows and the consistent LSN
};

}  // namespace sluice::pg
