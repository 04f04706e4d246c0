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
  d.action = core::SkipsSnapshot(mode) ? StartAction::kStreamFromServer : StartAction::kSnapshot;
  return d;
}

}  // namespace sluice::mysql
