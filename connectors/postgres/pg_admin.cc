#include "connectors/postgres/pg_admin.h"

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "connectors/postgres/pg_position.h"
#include "connectors/postgres/pgoutput_decoder.h"

namespace sluice::pg {
namespace {

std::string Server(const ConnectionParams& p) {
  return p.host + ":" + std::to_string(p.port);
}

std::string DropSlotSql(const std::string& slot) {
  return "SELECT pg_drop_replication_slot(" + QuoteLiteral(slot) + ")";
}

std::string DropPublicationSql(const std::string& publication) {
  return "DROP PUBLICATION IF EXISTS " + QuoteIdent(publication);
}

// What is left on the server when nothing could be dropped, with the SQL to drop it by hand.
std::string LeftBehind(const AdminTarget& t) {
  return "replication slot '" + t.names.slot + "' (it keeps WAL on " + Server(t.params) +
         " until dropped: " + DropSlotSql(t.names.slot) + ") and publication '" +
         t.names.publication + "' in database " + t.params.dbname + " (" +
         DropPublicationSql(t.names.publication) + ")";
}

// How to start over with a new snapshot: without a stored position a connector whose slot exists
// refuses to start (the snapshot could not line up with the slot), so the slot goes too.
std::string NewSnapshotHint(const AdminTarget& t) {
  return "to read everything again, reset the offsets (DELETE /connectors/" + t.connector +
         "/offsets) and drop the slot (" + DropSlotSql(t.names.slot) +
         ") so that the connector takes a new snapshot";
}

}  // namespace

core::Result<SlotState> ReadSlot(PgConnection& conn, const std::string& slot) {
  SLUICE_ASSIGN_OR_RETURN(
      PgRows rows,
      conn.Query("SELECT active, coalesce(active_pid::text, ''), coalesce(wal_status, ''), "
                 "coalesce(plugin, ''), coalesce(database, ''), "
                 "coalesce(confirmed_flush_lsn::text, '0/0'), slot_type FROM "
                 "pg_replication_slots WHERE slot_name = " + QuoteLiteral(slot)));
  SlotState s;
  if (rows.empty()) return s;
  s.exists = true;
  s.active = rows[0][0].value_or("f") == "t";
  s.active_pid = rows[0][1].value_or("");
  s.wal_status = rows[0][2].value_or("");
  s.plugin = rows[0][3].value_or("");
  s.database = rows[0][4].value_or("");
  s.slot_type = rows[0][6].value_or("");
  if (!ParseLsn(rows[0][5].value_or("0/0"), s.confirmed_flush)) {
    return core::InternalError("postgres slot '" + slot + "': unreadable confirmed_flush_lsn '" +
                               rows[0][5].value_or("") + "'");
  }
  return s;
}

core::Status CheckSlotOwner(const SlotState& slot, const std::string& dbname,
                            const std::string& slot_name) {
  if (!slot.exists) return core::Status::Ok();
  std::string what;
  if (slot.slot_type != "logical") {
    what = "is a " + (slot.slot_type.empty() ? std::string("non-logical") : slot.slot_type) +
           " replication slot (a standby's or a backup tool's), not a logical one";
  } else if (slot.database != dbname) {
    what = "is a logical slot of database '" + slot.database + "', not of " + dbname;
  } else if (slot.plugin != "pgoutput") {
    what = "is a logical slot of plugin '" + slot.plugin + "', not pgoutput";
  } else {
    return core::Status::Ok();
  }
  return core::FailedPreconditionError(
      "replication slot '" + slot_name + "' " + what +
      ", so it is not this connector's and Sluice neither uses nor drops it: set a different "
      "slot.name, or, if nothing needs that slot any more, drop it yourself with " +
      DropSlotSql(slot_name) + " (this discards the WAL it retains)");
}

std::string PublicationComment(const std::string& connector) {
  return "created by sluice for connector " + connector;
}

std::vector<std::string> ExclusiveKeys(const AdminTarget& t) {
  std::vector<std::string> keys = {"replication slot '" + t.names.slot + "' on " +
                                   Server(t.params)};
  if (t.publication_mode != "disabled") {
    keys.push_back("publication '" + t.names.publication + "' in " + Server(t.params) + "/" +
                   t.params.dbname);
  }
  return keys;
}

core::Status CheckOffsetOnServer(const AdminTarget& t, const core::SourcePosition& proposed,
                                 bool force) {
  const std::string shape =
      "a postgres offset is {\"lsn\": \"X/Y\", \"slot\": \"" + t.names.slot + "\"}";
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(proposed.value);
  } catch (const std::exception& e) {
    return core::InvalidArgumentError("the offset position is not JSON (" + std::string(e.what()) +
                                      "); " + shape);
  }
  if (!j.is_object()) return core::InvalidArgumentError("the offset position is not an object; " + shape);
  for (const auto& [key, value] : j.items()) {
    if (key == "snapshot") {
      return core::InvalidArgumentError(
          "an offset inside a running snapshot cannot be set; " + NewSnapshotHint(t));
    }
    if (key == "txid" || key == "ts_usec") {
      if (!value.is_number_integer()) {
        return core::InvalidArgumentError("the offset's '" + key + "' must be an integer; " +
                                          shape);
      }
      continue;
    }
    if (key == "incremental") {  // incremental snapshots' progress and table filter, as stored
      if (!value.is_object()) {
        return core::InvalidArgumentError("the offset's 'incremental' must be an object, as GET "
                                          "…/offsets shows it; " + shape);
      }
      continue;
    }
    if (key != "lsn" && key != "slot") {
      return core::InvalidArgumentError("the offset has an unknown key '" + key + "'; " + shape);
    }
    if (!value.is_string()) {
      return core::InvalidArgumentError("the offset's '" + key + "' must be a string; " + shape);
    }
  }
  if (!j.contains("slot") || j["slot"].get<std::string>() != t.names.slot) {
    return core::InvalidArgumentError(
        "the offset names slot '" + (j.contains("slot") ? j["slot"].get<std::string>() : "") +
        "', but connector " + t.connector + " streams from slot '" + t.names.slot + "'; " + shape);
  }
  SLUICE_ASSIGN_OR_RETURN(PgPosition position, PgPosition::Parse(proposed.value));

  PgConnection conn;
  core::Status connected = conn.Connect(t.params, false);
  if (!connected.ok()) {
    return core::UnavailableError("cannot check the offset against " + Server(t.params) + ": " +
                                  connected.message() + "; retry when the server is reachable");
  }
  SLUICE_ASSIGN_OR_RETURN(PgRows rows, conn.Query("SELECT pg_current_wal_lsn()::text"));
  uint64_t current = 0;
  if (rows.empty() || !ParseLsn(rows[0][0].value_or(""), current)) {
    return core::InternalError("postgres pg_current_wal_lsn() returned no LSN");
  }
  if (position.lsn > current) {
    return core::InvalidArgumentError(
        "the offset's lsn " + LsnToString(position.lsn) + " is beyond the server's current WAL "
        "position " + LsnToString(current) + "; choose a position the server has written");
  }
  SLUICE_ASSIGN_OR_RETURN(SlotState slot, ReadSlot(conn, t.names.slot));
  if (!slot.exists) {
    return core::InvalidArgumentError(
        "replication slot '" + t.names.slot + "' does not exist on " + Server(t.params) +
        ", so no position in it can be resumed; reset the offsets to take a new snapshot");
  }
  if (core::Status owner = CheckSlotOwner(slot, t.params.dbname, t.names.slot); !owner.ok()) {
    return core::InvalidArgumentError(owner.message());
  }
  if (position.lsn < slot.confirmed_flush) {
    return core::InvalidArgumentError(
        "the offset's lsn " + LsnToString(position.lsn) + " is before the slot's confirmed "
        "position " + LsnToString(slot.confirmed_flush) + ": the server no longer has the "
        "changes in between and would resume from " + LsnToString(slot.confirmed_flush) +
        " anyway; " + NewSnapshotHint(t));
  }
  if (position.lsn > slot.confirmed_flush && !force) {
    return core::InvalidArgumentError(
        "moving replication slot '" + t.names.slot + "' forward from " +
        LsnToString(slot.confirmed_flush) + " to " + LsnToString(position.lsn) +
        " skips every change in between and is irreversible (the server discards that WAL once "
        "the connector resumes); send \"force\": true with the request to do it");
  }
  return core::Status::Ok();
}

core::Result<std::string> ReleaseOnServer(const AdminTarget& t, bool drop,
                                          const std::shared_ptr<spdlog::logger>& logger) {
  if (!drop) {
    return "slot.drop.on.delete=false: kept " + LeftBehind(t);
  }
  PgConnection conn;
  core::Status connected = conn.Connect(t.params, false);
  if (!connected.ok()) {
    return core::UnavailableError("cannot reach " + Server(t.params) + " (" +
                                  connected.message() + "); left behind " + LeftBehind(t));
  }
  std::string report;
  // The pipeline has stopped, but the walsender may take a moment to release the slot.
  SlotState slot;
  for (int i = 0; !t.temporary_slot; ++i) {
    SLUICE_ASSIGN_OR_RETURN(slot, ReadSlot(conn, t.names.slot));
    if (!slot.exists || !slot.active || i >= 40) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  if (t.temporary_slot) {
    report = "the temporary replication slot ended with the snapshot";
  } else if (!slot.exists) {
    report = "replication slot '" + t.names.slot + "' did not exist";
  } else if (slot.active) {
    report = "left replication slot '" + t.names.slot + "': it is in use by pid " +
             slot.active_pid + " (drop it when that ends: " + DropSlotSql(t.names.slot) + ")";
  } else if (core::Status owner = CheckSlotOwner(slot, t.params.dbname, t.names.slot);
             !owner.ok()) {
    report = "left replication slot '" + t.names.slot + "': " + owner.message();
  } else if (core::Status s = conn.Exec(DropSlotSql(t.names.slot)); !s.ok()) {
    report = "could not drop replication slot '" + t.names.slot + "' (" + s.message() +
             "): drop it with " + DropSlotSql(t.names.slot);
  } else {
    report = "dropped replication slot '" + t.names.slot + "'";
  }
  SLUICE_ASSIGN_OR_RETURN(
      PgRows pub, conn.Query("SELECT coalesce(obj_description(oid, 'pg_publication'), '') FROM "
                             "pg_publication WHERE pubname = " +
                             QuoteLiteral(t.names.publication)));
  if (pub.empty()) {
    report += "; publication '" + t.names.publication + "' did not exist";
  } else {
    bool ours = pub[0][0].value_or("") == PublicationComment(t.connector) ||
                (!t.names.publication_configured && t.publication_mode != "disabled");
    if (!ours) {
      report += "; left publication '" + t.names.publication +
                "': Sluice did not create it (drop it if nothing else uses it: " +
                DropPublicationSql(t.names.publication) + ")";
    } else if (core::Status s = conn.Exec(DropPublicationSql(t.names.publication)); !s.ok()) {
      report += "; could not drop publication '" + t.names.publication + "' (" + s.message() +
                "): drop it with " + DropPublicationSql(t.names.publication);
    } else {
      report += "; dropped publication '" + t.names.publication + "'";
    }
  }
  if (logger) logger->info("postgres: {}", report);
  return report;
}

}  // namespace sluice::pg
