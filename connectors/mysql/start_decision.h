// What the MySQL/MariaDB source does at Start(), decided from the stored position, whether its
// binlog file is still on the server and snapshot.mode: a pure function, so that every
// combination is unit-tested without a server (tests/connectors/mysql/start_decision_test.cc).
// MysqlSource carries the decision out.
//
//   stored position      its binlog file       mode                  decision
//   "snapshot running"   (not looked up)       any                   snapshot again at once,
//                                                                    each table truncated first
//   streaming            any                   always                snapshot again with
//                                                                    truncates (warning)
//   streaming            on the server         other                 stream from the stored
//                                                                    file:pos (GTID state kept)
//   streaming            purged                when_needed           snapshot again with
//                                                                    truncates (warning)
//   streaming            purged                other                 kFailedPrecondition naming
//                                                                    the file and what to do
//   none                 -                     never/no_data         stream from the server's
//                                                                    current position
//   none                 -                     recovery              kFailedPrecondition: there
//                                                                    is nothing to recover
//   none                 -                     initial, initial_only, when_needed, always
//                                                                    snapshot
//
// A file purged after this decision (between the look-up and the dump) is caught again by
// StreamReader::Open with the same error (PurgedBinlogError), and with when_needed the source
// then decides again with the file gone.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>

#include "connectors/mysql/mysql_position.h"
#include "core/snapshot_mode.h"
#include "core/status.h"

namespace sluice::mysql {

enum class StartAction {
  kSnapshot,          // a consistent snapshot, then stream from its position
  kStream,            // stream from `from`
  kStreamFromServer,  // no snapshot: stream from SHOW MASTER STATUS
};

struct StartDecision {
  StartAction action = StartAction::kSnapshot;
  bool restarted = false;  // kSnapshot: truncate every table first (the target converges)
  BinlogPosition from;     // kStream
  std::string warning;     // to log, when not empty
};

// `file_on_server`: whether the stored position's binlog file is in SHOW BINARY LOGS (ignored
// when there is no streaming position). kFailedPrecondition (with what to do) when the
// connector cannot start as configured.
core::Result<StartDecision> DecideStart(const std::optional<BinlogPosition>& stored,
                                        bool file_on_server, core::SnapshotMode mode);

// kFailedPrecondition: the binlog file of `from` is no longer on the server.
core::Status PurgedBinlogError(const BinlogPosition& from);

}  // namespace sluice::mysql
