#include "connectors/postgres/start_decision.h"

#include "connectors/postgres/pgoutput_decoder.h"

namespace sluice::pg {

core::Result<StartDecision> DecideStart(const std::optional<PgPosition>& stored,
                                        const SlotState& slot, core::SnapshotMode mode,
                                        const std::string& slot_name,
                                        const std::string& connector) {
  StartDecision d;
  // A new snapshot over a target that holds rows already: on a new slot, each table truncated
  // first so that the target converges (rows deleted meanwhile go too).
  auto resnapshot = [&](StartAction action, std::string why) {
    d.action = action;
    d.drop_slot = slot.exists;
    d.restarted = true;
    d.warning = "postgres: " + why + " (each table is truncated in the target, then re-read)";
    return d;
  };
  if (stored && stored->snapshot_running) {
    // The exported snapshot died with the previous replication connection.
    return resnapshot(StartAction::kSnapshotNow,
                      "the previous snapshot did not finish; starting a new one");
  }
  if (stored && mode == core::SnapshotMode::kAlways) {
    return resnapshot(StartAction::kAnnounceSnapshot,
                      "snapshot.mode=always: taking a new snapshot");
  }
  if (stored) {
    const bool lost = slot.exists && slot.wal_status == "lost";
    if (!slot.exists || lost) {
      std::string why =
          !slot.exists
              ? "replication slot '" + slot_name + "' does not exist, so the changes after the "
                "stored position " + LsnToString(stored->lsn) + " are gone"
              : "replication slot '" + slot_name + "' was invalidated (it fell behind "
                "max_slot_wal_keep_size), so the changes after " + LsnToString(stored->lsn) +
                " are gone";
      if (mode != core::SnapshotMode::kWhenNeeded) {
        return core::FailedPreconditionError(
            why + ": reset the connector's offsets (or set snapshot.mode=when_needed) to take a "
                  "new snapshot");
      }
      d.action = StartAction::kAnnounceSnapshot;
      d.drop_slot = slot.exists;
      d.restarted = true;
      d.warning = why + "; snapshot.mode=when_needed: taking a new snapshot";
      return d;
    }
    d.action = StartAction::kStream;
    d.lsn = stored->lsn;
    return d;
  }
  if (core::SkipsSnapshot(mode)) {
    if (slot.exists) {
      d.action = StartAction::kStream;
      d.lsn = slot.confirmed_flush;
    } else {
      d.action = StartAction::kStreamNewSlot;
    }
    return d;
  }
  if (slot.exists && mode != core::SnapshotMode::kInitialOnly) {
    return core::FailedPreconditionError(
        "replication slot '" + slot_name + "' already exists but connector '" + connector +
        "' has no stored position, so a snapshot cannot line up with it: drop it (SELECT "
        "pg_drop_replication_slot('" + slot_name + "')) or choose another slot.name");
  }
  d.action = StartAction::kAnnounceSnapshot;
  return d;
}

}  // namespace sluice::pg
