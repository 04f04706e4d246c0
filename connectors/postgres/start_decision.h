// What the PostgreSQL source does at Start(), decided from the stored position, the slot's state
// on the server and snapshot.mode: a pure function, so that every combination is unit-tested
// without a server (tests/connectors/postgres/start_decision_test.cc). PostgresSource carries
// the decision out with the SlotManager.
//
//   stored position        slot                 mode           decision
//   "snapshot running"     any                  any            drop the slot (if any), snapshot
//                                                              again at once with truncates
//   streaming              any                  always         drop the slot (if any), announce a
//                                                              new snapshot with truncates
//   streaming              exists, not lost     any            stream from the stored LSN
//   streaming              missing or lost      when_needed    drop (if lost), announce a new
//                                                              snapshot with truncates
//   streaming              missing or lost      other          kFailedPrecondition
//   none                   exists               never/no_data  stream from confirmed_flush_lsn
//   none                   missing              never/no_data  create a slot, stream from it
//   none                   exists               initial/when_needed/always  kFailedPrecondition
//   none                   missing (or initial_only)  initial, always… announce a new snapshot
//
// Thread-safety: a pure function.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "connectors/postgres/pg_admin.h"
#include "connectors/postgres/pg_position.h"
#include "core/snapshot_mode.h"
#include "core/status.h"

namespace sluice::pg {

enum class StartAction {
  kSnapshotNow,       // the previous snapshot did not finish: its exported snapshot is gone
  kAnnounceSnapshot,  // a new snapshot, announced (made durable) before its slot is created
  kStream,            // stream from `lsn` on the existing slot
  kStreamNewSlot,     // create a slot without a snapshot and stream from its consistent point
};

struct StartDecision {
  StartAction action = StartAction::kAnnounceSnapshot;
  bool drop_slot = false;  // drop the existing slot first
  bool restarted = false;  // the snapshot truncates every table first
  uint64_t lsn = 0;        // kStream
  std::string warning;     // to log, when not empty
};

// kFailedPrecondition (with what to do) when the connector cannot start as configured.
core::Result<StartDecision> DecideStart(const std::optional<PgPosition>& stored,
                                        const SlotState& slot, core::SnapshotMode mode,
                                        const std::string& slot_name,
                                        const std::string& connector);

}  // namespace sluice::pg
