// SlotManager: the PostgreSQL source's server objects during its lifecycle — the read-only
// server checks (`sluice validate`, start), the replication slot (inspect, wait until free,
// create, drop, the slot.drop.on.stop cleanup) and the publication (create / update to the
// captured tables). Administration outside the pipeline (offset checks, DELETE) is pg_admin.h.
//
// Lifecycle: one per source, given the parsed config (which must outlive it); UseNames() at each
// start, once the names are resolved against the stored position.
// Thread-safety: single-threaded (the source thread); each call uses the connection it is given
// or opens its own.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "connectors/postgres/pg_admin.h"
#include "connectors/postgres/pg_connection.h"
#include "connectors/postgres/pg_names.h"
#include "connectors/postgres/source_config.h"
#include "core/status.h"

namespace sluice::pg {

// Whether a publication that lists `have` already publishes exactly `want` (order and
// duplicates aside), compared as names, not as quoted SQL: EnsurePublication then leaves it
// alone instead of running ALTER PUBLICATION … SET TABLE, which needs ownership of the
// publication and takes a lock on every table at each start.
bool SamePublicationTables(std::vector<core::TableId> have, std::vector<core::TableId> want);

class SlotManager {
 public:
  SlotManager(const SourceConfig* config, std::string connector,
              std::shared_ptr<spdlog::logger> logger)
      : config_(config), connector_(std::move(connector)), logger_(std::move(logger)) {}

  void UseNames(const ServerObjectNames& names) { names_ = names; }
  const std::string& slot() const { return names_.slot; }
  const std::string& publication() const { return names_.publication; }

  // Read-only checks: credentials, wal_level, REPLICATION privilege, a replication connection,
  // the include list; for `sluice validate` (for_start=false) also the slot's state (its owner
  // as CheckSlotOwner sees it, in use, invalidated) and a
  // publication that must exist. kFailedPrecondition / kInvalidArgument say what to change;
  // with for_start, a table without a primary key is logged as a warning.
  // `keep` (non-null): after checks that pass, the check's regular connection and its
  // replication connection (nothing sent on it yet) are handed over instead of closed, for the
  // start that follows: each connection is a backend start and an authentication on the server,
  // and a resumed stream opened five of them one after the other before its first change.
  struct CheckedConnections {
    std::unique_ptr<PgConnection> conn;  // regular
    std::unique_ptr<PgConnection> repl;  // logical replication, idle
  };
  core::Status CheckServer(bool for_start, CheckedConnections* keep = nullptr);

  // The slot's state once it is not in use: a slot still marked active right after our own
  // connection dropped is released within moments, so it waits about 10 s (or until `stop`)
  // before calling it a clash (kFailedPrecondition). Also kFailedPrecondition for a slot that
  // is not a connector's (CheckSlotOwner: physical, another database or plugin).
  core::Result<SlotState> WaitSlotInactive(PgConnection& conn, const std::atomic<bool>& stop);

  core::Status DropSlot(PgConnection& conn);

  // Creates or updates the publication (publication.autocreate.mode); with `disabled` it must
  // exist (kFailedPrecondition). Run before the slot is created: pgoutput reads it through the
  // historic catalog at each change, so it must exist at the slot's consistent point.
  core::Status EnsurePublication(PgConnection& conn);

  struct CreatedSlot {
    uint64_t consistent_lsn = 0;
    std::string snapshot_name;  // empty without an exported snapshot
  };
  enum class SlotKind { kExportSnapshot, kTemporaryExportSnapshot, kNoSnapshot };
  // CREATE_REPLICATION_SLOT on the replication connection `repl`. With an exported snapshot it
  // waits for every transaction running now to end; the snapshot stays valid while `repl` is
  // open and runs nothing else.
  core::Result<CreatedSlot> CreateSlot(PgConnection& repl, SlotKind kind);

  // slot.drop.on.stop: drops the slot once the walsender has released it (a few seconds at
  // most), never one CheckSlotOwner refuses; failures are logged, not returned (the source is
  // stopping).
  void DropWhenReleased();

  core::Status SlotActiveError(const SlotState& slot) const;
  core::Status MissingPublicationError() const;

 private:
  const SourceConfig* config_;
  std::string connector_;
  std::shared_ptr<spdlog::logger> logger_;
  ServerObjectNames names_;
};

}  // namespace sluice::pg
