// Administration of a PostgreSQL connector's server objects outside the pipeline: reading its
// replication slot, checking a position an operator wants to store (PATCH offsets), and
// dropping the slot and publication when the connector is deleted.
//
// Publications: Sluice drops only a publication it created. It marks the ones it creates with a
// comment (PublicationComment); a publication under a derived name (sluice_pub_…) with
// publication.autocreate.mode other than disabled is Sluice's too (earlier versions did not
// comment). Anything else is left, and the log says so.
//
// Thread-safety: free functions; each opens its own connection.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "connectors/postgres/pg_connection.h"
#include "connectors/postgres/pg_names.h"
#include "core/event.h"
#include "core/status.h"

namespace sluice::pg {

struct SlotState {
  bool exists = false;
  bool active = false;
  std::string active_pid;
  std::string wal_status;
  std::string slot_type;  // "logical" or "physical"
  std::string plugin;     // "" for a physical slot
  std::string database;   // "" for a physical slot
  uint64_t confirmed_flush = 0;
};

core::Result<SlotState> ReadSlot(PgConnection& conn, const std::string& slot);

// Whether `slot` (named `slot_name`) can be a connector's on database `dbname`: Ok when it does
// not exist or is a logical pgoutput slot of `dbname`. A physical slot, a logical slot of
// another database or of another plugin belongs to something else: kFailedPrecondition naming
// the slot, what it is, and what to do (another slot.name, or the SQL to drop it). Every path
// that uses, checks or drops a slot it did not just create goes through this.
core::Status CheckSlotOwner(const SlotState& slot, const std::string& dbname,
                            const std::string& slot_name);

// What the administration functions need to know of one connector.
struct AdminTarget {
  ConnectionParams params;
  std::string connector;
  ServerObjectNames names;
  std::string publication_mode;  // publication.autocreate.mode
  // snapshot.mode=initial_only: the slot is TEMPORARY and ends with its session, so a slot of
  // that name found later is someone else's and is never dropped.
  bool temporary_slot = false;
};

// The comment Sluice puts on a publication it creates for `connector`.
std::string PublicationComment(const std::string& connector);

// Keys of the slot (per server) and, unless publication.autocreate.mode=disabled (a publication
// the user made may be shared read-only), the publication (per database).
std::vector<std::string> ExclusiveKeys(const AdminTarget& target);

// See core::Source::CheckOffset. A position moving the slot forward (past its
// confirmed_flush_lsn) needs `force`: the server then discards the WAL in between for good.
core::Status CheckOffsetOnServer(const AdminTarget& target, const core::SourcePosition& proposed,
                                 bool force);

// See core::Source::ReleaseServerObjects.
core::Result<std::string> ReleaseOnServer(const AdminTarget& target, bool drop,
                                          const std::shared_ptr<spdlog::logger>& logger);

}  // namespace sluice::pg
