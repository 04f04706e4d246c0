// The MySQL/MariaDB source's phases and the moves between them, apart from the I/O behind each
// move, so that the moves are unit-tested without a server (tests/connectors/mysql/
// source_phases_test.cc):
//
//   Begin(stored, mode)  looks up the stored position's binlog file (PhaseIo::BinlogFileOnServer),
//                        then DecideStart (start_decision.h):
//                        kSnapshot         -> snapshotting (truncates first when restarted)
//                        kStream           -> streaming from the stored file:pos and GTID state;
//                                             a file purged between the look-up and the dump is
//                                             kFailedPrecondition, or with when_needed a new
//                                             snapshot once a second look-up confirms it is gone
//                        kStreamFromServer -> streaming from the server's current position
//   snapshotting         rows (checkpointed "snapshot running" by the reader) until the
//                        snapshot is read; then a batch checkpointed at the snapshot's binlog
//                        position (file, pos and GTID state), and for snapshot.mode=initial_only
//                        finished; otherwise the stream opens there -> streaming
//   streaming            PhaseIo::PollStream
//
// Ownership: SourcePhases owns the phase, the snapshot's rows and their binlog position
// (core::SnapshotInProgress); the stream reader, the connections and the retention monitors
// belong to the PhaseIo (MysqlSource), which it calls and never outlives.
//
// Thread-safety: the source thread, except Cancel(), which may be called from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "connectors/mysql/mysql_position.h"
#include "core/snapshot_mode.h"
#include "core/snapshot_phase.h"
#include "core/source.h"
#include "core/status.h"

namespace spdlog {
class logger;
}

namespace sluice::mysql {

// Where a stream starts.
enum class StreamFrom {
  kStoredPosition,  // the stored position: the end of the last committed transaction
  kServerPosition,  // the server's current position, without a snapshot (never / no_data)
  kSnapshotEnd,     // the snapshot's binlog position
};

// The I/O behind the moves. Each call blocks on the server; errors are returned as they are to
// the pipeline, which restarts the source for kUnavailable.
class PhaseIo {
 public:
  virtual ~PhaseIo() = default;

  // The rows, and the snapshot's binlog position where the stream continues once they are read.
  using OpenedSnapshot = core::OpenedSnapshot<BinlogPosition>;

  // Whether SHOW BINARY LOGS still lists `file`.
  virtual core::Result<bool> BinlogFileOnServer(const std::string& file) = 0;
  // The server's current binlog position (SHOW MASTER STATUS); kFailedPrecondition when binary
  // logging is off.
  virtual core::Result<BinlogPosition> ServerPosition() = 0;
  // Starts the consistent snapshot(s), notes their binlog position and opens the reader of their
  // rows; `restarted`: the rows start with a truncate of each table.
  virtual core::Result<OpenedSnapshot> OpenSnapshot(bool restarted) = 0;
  // snapshot.mode=initial_only read every row.
  virtual void SnapshotOnlyFinished() = 0;
  // Opens the stream at `at`. kFailedPrecondition when its binlog file is not on the server.
  virtual core::Status OpenStream(StreamFrom from, const BinlogPosition& at) = 0;
  // One Poll of the open stream.
  virtual core::Result<core::PollStatus> PollStream(core::EventBatch& batch,
                                                    const core::PollLimits& limits) = 0;
};

class SourcePhases {
 public:
  // `io` and `stop` outlive this; `stop` set makes Poll return kIdle.
  SourcePhases(PhaseIo* io, const std::atomic<bool>* stop, std::shared_ptr<spdlog::logger> logger);

  // Decides how to start from the stored position (none: a first start) and carries it out.
  // kFailedPrecondition (naming the file and what to do) when the stored position's binlog is
  // purged and the mode does not allow a new snapshot.
  core::Status Begin(const std::optional<BinlogPosition>& stored, core::SnapshotMode mode);
  // kFinished once an initial_only snapshot is read; kIdle while stopping.
  core::Result<core::PollStatus> Poll(core::EventBatch& batch, const core::PollLimits& limits);
  // Whether the stream is open (the snapshot, if any, is read).
  bool streaming() const { return streaming_; }
  // A blocked snapshot read returns soon.
  void Cancel() { snapshot_.Cancel(); }
  // Cancels and drops the snapshot's rows; the phase is forgotten (Begin starts afresh).
  void Close();

 private:
  core::Status BeginSnapshot(bool restarted);
  core::Status OpenStream(StreamFrom from, const BinlogPosition& at);

  PhaseIo* io_;
  const std::atomic<bool>* stop_;
  std::shared_ptr<spdlog::logger> logger_;
  bool initial_only_ = false;
  bool finished_ = false;
  bool streaming_ = false;
  core::SnapshotInProgress<BinlogPosition> snapshot_;  // the rows and their binlog position
};

}  // namespace sluice::mysql
