#include "connectors/mysql/start_decision.h"

namespace sluice::mysql {

core::Status PurgedBinlogError(const BinlogPosition& from) {
  const std::string at = from.file + ":" + std::to_string(from.pos);
  return core::FailedPreconditionError(
      "mysql binlog " + from.file + " (resume position " + at + ") is no longer on the server "
      "(purged); changes since then are lost: re-snapshot with snapshot.mode=when_needed or "
      "reset the connector's offsets");
}

core::Result<StartDecision> DecideStart(const std::optional<BinlogPosition>& stored,
                                        bool file_on_server, core::SnapshotMode mode) {
  StartDecision d;
  if (stored && stored->snapshot_running) {
    // A snapshot's transaction dies with its connection: it cannot be continued.
    d.action = StartAction::kSnapshot;
    d.restarted = true;
    d.warning = "mysql: the previous snapshot did not finish; starting a new one (each table is "
                "truncated then re-read)";
    return d;
  }
  if (stored && mode == core::SnapshotMode::kAlways) {
    d.action = StartAction::kSnapshot;
    d.restarted = true;
    d.warning = "mysql: snapshot.mode=always: taking a new snapshot (each table is truncated "
                "then re-read)";
    return d;
  }
  if (stored) {
    if (file_on_server) {
      d.action = StartAction::kStream;
      d.from = *stored;
      return d;
    }
    core::Status purged = PurgedBinlogError(*stored);
    if (mode != core::SnapshotMode::kWhenNeeded) return purged;
    d.action = StartAction::kSnapshot;
    d.restarted = true;
    d.warning = purged.message() + "; snapshot.mode=when_needed: taking a new snapshot";
    return d;
  }
  if (mode == core::SnapshotMode::kRecovery) {
    // Debezium's recovery rebuilds the schema history of a connector that has offsets; sluice
    // reads schemas from the server and keeps no history, so there is nothing to recover.
    return core::FailedPreconditionError(
        "snapshot.mode=recovery resumes a connector from its stored position, and this one has "
        "none: use initial (snapshot, then stream) or no_data (stream from now)");
  }
  d.action = core::SkipsSnapshot(mode) ? StartAction::kStreamFromServer : StartAction::kSnapshot;
  return d;
}

}  // namespace sluice::mysql
